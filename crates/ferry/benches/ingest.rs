//! Ingest benchmark: a collection trigger processing N text objects with `text_extractor` v1,
//! end to end (read objects, extract, write documents and progress), against the extractor
//! alone over the same texts in the same run; then the same trigger into a collection whose
//! search graph is live, kept up to date by the index maintainer as documents land, against
//! the trigger without one. Reports objects/s, the ratios, and peak RSS.
//!
//! `cargo bench --bench ingest` (SQLite in a temp dir); `FERRY_BENCH_OBJECTS=N` sets N
//! (default 100000); `FERRY_BENCH_DATABASE_URL=postgres://…` runs it on PostgreSQL.

mod common;

use common::{bucket_with_texts, create_text_collection, namespace, run_task, text};

use std::sync::Arc;
use std::time::{Duration, Instant};

use ferry_extract::{ExtractorInput, Registry, RemoteEmbeddingConfig};
use ferry_pipeline::{Pipeline, PipelineConfig, TRIGGER_TASK};
use ferry_retrieve::engine::dense_request;
use ferry_retrieve::index::{IndexId, IndexState};
use ferry_retrieve::{IndexConfig, IndexedSearch, VectorSearch};
use ferry_store::blobs::BlobStore;
use ferry_store::{Namespace, Store};
use ferry_wire::collection::CollectionVectorIndex;
use serde_json::{json, Map};

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let n: usize = std::env::var("FERRY_BENCH_OBJECTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let dir = tempfile::tempdir()?;
    let (store, _) = common::bench_store(dir.path()).await?;
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

    // The trigger three times over the same objects, each into a new collection: without a
    // search index, with one kept up to date as the documents land (the maintainer that
    // `ferry serve` runs, applying the change feed to a live graph), and without again (the
    // two runs without bracket the one with, so a drift over the run shows).
    let blobs = BlobStore::local(&dir.path().join("objects"))?;
    let trigger = Trigger {
        store: &store,
        org: &org.internal_id,
        ns: &ns,
        bucket_id: &bucket.bucket_id,
        blobs: &blobs,
        registry: &registry,
    };
    let plain = trigger.run("plain", None).await?;
    let search = IndexedSearch::new(
        store.clone(),
        IndexConfig {
            dir: Some(dir.path().join("indexes")),
            exact_below: 0,
            ..IndexConfig::default()
        },
    );
    let upkept = trigger.run("indexed", Some(&search)).await?;
    let plain_again = trigger.run("plain_again", None).await?;

    let rate = |seconds: f64| n as f64 / seconds;
    let without = (rate(plain) + rate(plain_again)) / 2.0;
    println!("store: {:?}", store.backend());
    println!("extractor alone:   {baseline:>10.0} objects/s");
    println!(
        "collection trigger:{without:>10.0} objects/s ({plain:.1}s and {plain_again:.1}s for {n} objects)"
    );
    println!("ratio trigger / extractor alone: {:.2}", without / baseline);
    println!(
        "trigger with a live search index: {:>10.0} objects/s ({upkept:.1}s); ratio to without: {:.2}",
        rate(upkept),
        rate(upkept) / without
    );
    println!("peak RSS: {:.0} MB", common::peak_rss_mb());
    store.close().await;
    Ok(())
}

/// Runs a collection trigger over the bench bucket into a new collection.
struct Trigger<'a> {
    store: &'a Store,
    org: &'a str,
    ns: &'a Namespace,
    bucket_id: &'a str,
    blobs: &'a BlobStore,
    registry: &'a Arc<Registry>,
}

impl Trigger<'_> {
    /// Creates collection `name` (text_extractor v1) and runs its trigger to the end: the
    /// trigger's seconds. With `search`, the collection's graph is built (empty) first and
    /// kept up to date by the maintainer while the trigger runs; once it ends, how long the
    /// graph took to catch up is printed.
    async fn run(&self, name: &str, search: Option<&IndexedSearch>) -> anyhow::Result<f64> {
        let extractor = self
            .registry
            .get("text_extractor", "v1")
            .expect("text_extractor v1");
        let collection = create_text_collection(
            self.store,
            self.ns.key,
            name,
            &[self.bucket_id],
            extractor.as_ref(),
        )
        .await?;
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let index = match search {
            Some(search) => Some(live_index(search, self.ns, &collection, stopped).await?),
            None => None,
        };
        let task = self
            .store
            .create_task(
                self.org,
                Some(self.ns.key),
                TRIGGER_TASK,
                &json!({"collection_id": collection.collection_id}),
            )
            .await?;
        let pipeline = Pipeline::new(
            self.store.clone(),
            self.blobs.clone(),
            self.registry.clone(),
            PipelineConfig::default(),
        );
        let elapsed = run_task(self.store, pipeline, self.org, &task.task_id).await?;
        let written = self
            .store
            .get_collection(self.ns.key, &collection.collection_id)
            .await?
            .document_count;
        if let (Some(search), Some(id)) = (search, index) {
            let started = Instant::now();
            while !matches!(search.state(&id), IndexState::Ready { vectors, .. } if vectors as i64 == written)
            {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            println!(
                "live index: {written} vectors in the graph {:.1}s after the trigger ended",
                started.elapsed().as_secs_f64()
            );
        }
        let _ = stop.send(true);
        Ok(elapsed)
    }
}

/// Builds the (empty) graph of `collection`'s dense index with a first search, and starts
/// the maintainer that keeps it up to date until `stopped`.
async fn live_index(
    search: &IndexedSearch,
    ns: &Namespace,
    collection: &ferry_store::Collection,
    stopped: tokio::sync::watch::Receiver<bool>,
) -> anyhow::Result<IndexId> {
    let indexes: Vec<CollectionVectorIndex> =
        serde_json::from_value(collection.fields.vector_indexes.clone())?;
    let dense = indexes
        .iter()
        .find(|i| i.is_dense())
        .ok_or_else(|| anyhow::anyhow!("no dense index"))?;
    let query = vec![vec![1.0; dense.index.dimensions.unwrap_or(0) as usize]];
    search
        .search(dense_request(
            ns.key,
            &collection.collection_id,
            dense,
            &query,
            10,
        ))
        .await?;
    let id = IndexId {
        ns: ns.key,
        collection_id: collection.collection_id.clone(),
        vector_name: dense.index.name.clone(),
    };
    while !matches!(search.state(&id), IndexState::Ready { .. }) {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::spawn(search.clone().maintain(stopped));
    Ok(id)
}
