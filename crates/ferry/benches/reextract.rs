//! Re-extraction benchmark: a `re_extract` migration rebuilding a collection of N text
//! objects from `text_extractor` v1 to v2 (768-d), run by the engine end to end (plan, copy
//! the bucket's objects, extraction batches through `max_workers`, writes, verification),
//! against v2 alone over the same texts in the same run, and against v2 plus writing its
//! documents straight into a collection (what the engine's extraction cannot avoid). Reports
//! objects/s, both ratios, and peak RSS.
//!
//! The source collection holds no v1 documents: a re_extract never reads them (it extracts
//! from the source objects), so building them would only lengthen the setup.
//!
//! `cargo bench --bench reextract` (SQLite in a temp dir); `FERRY_BENCH_OBJECTS=N` (default
//! 100000), `FERRY_BENCH_BATCH_SIZE=B` (default 500), `FERRY_BENCH_WORKERS=W` (default 2),
//! `FERRY_BENCH_DATABASE_URL=postgres://…` for PostgreSQL.

mod common;

use std::sync::Arc;
use std::time::Instant;

use common::{
    bucket_with_texts, create_text_collection, env_usize, namespace, run_migration, text,
};
use ferry_extract::{ExtractorInput, Registry, RemoteEmbeddingConfig};
use ferry_store::blobs::BlobStore;
use ferry_store::{Lineage, NewDocument, SourceKind};
use ferry_wire::migration::{FeatureExtractorConfig, MigrationConfig, MigrationType};
use serde_json::{json, Map};

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let n = env_usize("FERRY_BENCH_OBJECTS", 100_000);
    let batch_size = env_usize("FERRY_BENCH_BATCH_SIZE", 500);
    let workers = env_usize("FERRY_BENCH_WORKERS", 2);
    let dir = tempfile::tempdir()?;
    let (store, _) = common::bench_store(dir.path()).await?;
    let tag = std::process::id();
    let org = store.ensure_organization(&format!("bench-{tag}")).await?;
    let source = namespace(&store, &org.internal_id, &format!("src-{tag}")).await?;
    let started = Instant::now();
    let bucket = bucket_with_texts(&store, &source, n).await?;
    let registry = Arc::new(Registry::builtin(
        RemoteEmbeddingConfig::default(),
        std::path::PathBuf::new(),
    ));
    let v1 = registry.get("text_extractor", "v1").expect("v1");
    let bucket_ids = [bucket.bucket_id.as_str()];
    create_text_collection(&store, source.key, "texts", &bucket_ids, v1.as_ref()).await?;
    println!(
        "setup: {n} objects inserted in {:.1}s",
        started.elapsed().as_secs_f64()
    );

    // Baseline: v2 alone over the same texts, in batches of the same size.
    let v2 = registry.get("text_extractor", "v2").expect("v2");
    let v2_params = v2.resolve_parameters(&Map::new()).expect("defaults");
    let started = Instant::now();
    let mut chunks = 0usize;
    for start in (0..n).step_by(batch_size) {
        let inputs: Vec<ExtractorInput> = (start..n.min(start + batch_size))
            .map(|i| ExtractorInput::Text(text(i)))
            .collect();
        chunks += v2
            .extract(&inputs, &v2_params)
            .await?
            .iter()
            .map(Vec::len)
            .sum::<usize>();
    }
    let extractor_seconds = started.elapsed().as_secs_f64();
    anyhow::ensure!(chunks == n, "{chunks} chunks of {n} texts");

    // Second baseline: v2 and the document writes without the engine: each batch extracted
    // and written straight into a collection, one after the other, as a trigger writes them.
    let scratch = namespace(&store, &org.internal_id, &format!("scratch-{tag}")).await?;
    let scratch_collection =
        create_text_collection(&store, scratch.key, "texts", &[], v2.as_ref()).await?;
    let started = Instant::now();
    for (batch_no, start) in (0..n).step_by(batch_size).enumerate() {
        // As triggers do: PostgreSQL plans each batch's delete from fresh statistics.
        if batch_no as u64 % ferry_pipeline::STATISTICS_EVERY_BATCHES == 1 {
            store.refresh_document_statistics().await?;
        }
        let ids: Vec<String> = (start..n.min(start + batch_size))
            .map(|i| format!("obj_{i:012}"))
            .collect();
        let inputs: Vec<ExtractorInput> = (start..n.min(start + batch_size))
            .map(|i| ExtractorInput::Text(text(i)))
            .collect();
        let outputs = v2.extract(&inputs, &v2_params).await?;
        let extractor = &v2;
        let docs: Vec<NewDocument> = ids
            .iter()
            .zip(outputs)
            .flat_map(|(id, chunks)| {
                chunks.into_iter().map(move |chunk| {
                    let mut fields = Map::new();
                    fields.insert("text".into(), json!(chunk.text));
                    NewDocument {
                        document_id: format!("doc_{id}_{}", chunk.chunk_index),
                        lineage: Lineage {
                            source_object_id: Some(id.clone()),
                            root_object_id: Some(id.clone()),
                            source_document_id: None,
                            root_bucket_id: None,
                        },
                        chunk_index: chunk.chunk_index as i64,
                        fields,
                        vectors: chunk
                            .vectors
                            .into_iter()
                            .map(|(output, v)| (extractor.storage_name(&output), v))
                            .collect(),
                    }
                })
            })
            .collect();
        store
            .replace_documents(
                scratch.key,
                &scratch_collection.collection_id,
                SourceKind::Object,
                &ids,
                &docs,
                None,
            )
            .await?;
    }
    let extract_and_write_seconds = started.elapsed().as_secs_f64();

    // The engine: a re_extract to v2, from start to completed.
    let mut config = MigrationConfig::new(MigrationType::ReExtract, source.namespace_id.clone());
    config.target_namespace_name = Some(format!("v2-{tag}"));
    config.feature_extractors = Some(vec![FeatureExtractorConfig {
        feature_extractor_name: "text_extractor".into(),
        version: Some("v2".into()),
        parameters: None,
    }]);
    let mut batch = config.batch_options_or_default();
    batch.batch_size = batch_size as i64;
    batch.max_workers = workers as i64;
    config.batch_options = Some(batch);
    let blobs = BlobStore::local(&dir.path().join("objects"))?;
    // `force`: a re_extract always carries its RE_EXTRACT_COST warning.
    let (_, engine_seconds) =
        run_migration(&store, &registry, blobs, &org.internal_id, config, true).await?;
    let target = store
        .get_namespace(&org.internal_id, &format!("v2-{tag}"))
        .await?;
    let written = store.get_collection(target.key, "texts").await?;
    anyhow::ensure!(
        written.document_count == n as i64,
        "{} documents of {n}",
        written.document_count
    );
    anyhow::ensure!(written.fields.extractor_version == "v2");

    let alone = n as f64 / extractor_seconds;
    let extract_and_write = n as f64 / extract_and_write_seconds;
    let engine = n as f64 / engine_seconds;
    println!(
        "store: {:?}; batch_size {batch_size}, max_workers {workers}",
        store.backend()
    );
    println!("text_extractor v2 alone: {alone:>10.0} texts/s ({extractor_seconds:.2}s)");
    println!(
        "re_extract migration:    {engine:>10.0} objects/s ({engine_seconds:.2}s, end to end: \
         objects copied, extracted, written, verified)"
    );
    println!(
        "v2 + document writes:    {extract_and_write:>10.0} texts/s \
         ({extract_and_write_seconds:.2}s, no engine, one batch after another)"
    );
    println!("ratio re_extract / extractor alone: {:.2}", engine / alone);
    println!(
        "ratio re_extract / (extractor + writes): {:.2}",
        engine / extract_and_write
    );
    println!("peak RSS: {:.0} MB", common::peak_rss_mb());
    Ok(())
}
