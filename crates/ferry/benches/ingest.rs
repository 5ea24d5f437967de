//! Ingest benchmark: a collection trigger processing N text objects with `text_extractor` v1,
//! end to end (read objects, extract, write documents and progress), against the extractor
//! alone over the same texts in the same run. Reports objects/s, the ratio, and peak RSS.
//!
//! `cargo bench --bench ingest` (SQLite in a temp dir); `FERRY_BENCH_OBJECTS=N` sets N
//! (default 100000); `FERRY_BENCH_DATABASE_URL=postgres://…` runs it on PostgreSQL.

mod common;

use common::{bucket_with_texts, namespace, run_task, text, text_collection};

use std::sync::Arc;
use std::time::Instant;

use ferry_extract::{ExtractorInput, Registry, RemoteEmbeddingConfig};
use ferry_pipeline::{Pipeline, PipelineConfig, TRIGGER_TASK};
use ferry_store::blobs::BlobStore;
use ferry_store::{Store, StoreLocation};
use serde_json::{json, Map};

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let n: usize = std::env::var("FERRY_BENCH_OBJECTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let dir = tempfile::tempdir()?;
    let location = match std::env::var("FERRY_BENCH_DATABASE_URL") {
        Ok(url) if !url.is_empty() => StoreLocation::Postgres(url),
        _ => StoreLocation::SqliteFile(dir.path().join("ferry.db")),
    };
    let store = Store::connect(&location).await?;
    let org = store
        .ensure_organization(&format!("bench-{}", std::process::id()))
        .await?;
    let ns = namespace(
        &store,
        &org.internal_id,
        &format!("bench-{}", std::process::id()),
    )
    .await?;
    let started = Instant::now();
    let bucket = bucket_with_texts(&store, &ns, n).await?;
    println!(
        "setup: {n} objects inserted in {:.1}s",
        started.elapsed().as_secs_f64()
    );

    // Baseline: the extractor alone over the same texts, in batches of the same size.
    let registry = Arc::new(Registry::builtin(
        RemoteEmbeddingConfig::default(),
        std::path::PathBuf::new(),
    ));
    let extractor = registry
        .get("text_extractor", "v1")
        .expect("text_extractor v1");
    let params = extractor.resolve_parameters(&Map::new()).expect("defaults");
    let started = Instant::now();
    let mut chunks = 0usize;
    for start in (0..n).step_by(500) {
        let inputs: Vec<ExtractorInput> = (start..n.min(start + 500))
            .map(|i| ExtractorInput::Text(text(i)))
            .collect();
        chunks += extractor
            .extract(&inputs, &params)
            .await?
            .iter()
            .map(Vec::len)
            .sum::<usize>();
    }
    let baseline = n as f64 / started.elapsed().as_secs_f64();
    assert_eq!(chunks, n);

    let collection = store
        .create_collection(
            ns.key,
            None,
            text_collection("bench", &[&bucket.bucket_id], extractor.as_ref())?,
        )
        .await?;
    let task = store
        .create_task(
            &org.internal_id,
            Some(ns.key),
            TRIGGER_TASK,
            &json!({"collection_id": collection.collection_id}),
        )
        .await?;
    let blobs = BlobStore::local(&dir.path().join("objects"))?;
    let pipeline = Pipeline::new(store.clone(), blobs, registry, PipelineConfig::default());
    let elapsed = run_task(&store, pipeline, &org.internal_id, &task.task_id).await?;
    let written = store
        .get_collection(ns.key, &collection.collection_id)
        .await?
        .document_count;
    anyhow::ensure!(written == n as i64, "{written} documents for {n} objects");

    let throughput = n as f64 / elapsed;
    println!("store: {:?}", store.backend());
    println!("extractor alone:   {baseline:>10.0} objects/s");
    println!("collection trigger:{throughput:>10.0} objects/s ({elapsed:.1}s for {n} objects)");
    println!(
        "ratio trigger / extractor alone: {:.2}",
        throughput / baseline
    );
    println!("peak RSS: {:.0} MB", common::peak_rss_mb());
    store.close().await;
    Ok(())
}
