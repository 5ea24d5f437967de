//! Neural extraction benchmark: `text_extractor` v3 (all-MiniLM-L6-v2 from FERRY_MODELS_DIR)
//! alone, in texts/s, on texts of 64 and of 256 word-pieces; then, in the same run, a
//! collection trigger of N 64-piece texts and a `re_extract` of the same N objects from
//! `text_extractor` v1 to v3, each end to end and as a ratio against the model alone. Reports
//! peak RSS.
//!
//! `scripts/fetch-models` then `FERRY_MODELS_DIR=… cargo bench --bench neural` (SQLite in a
//! temp dir). `FERRY_BENCH_TEXTS=N` (default 10000), `FERRY_BENCH_LONG_TEXTS=M` (256-piece
//! texts for the model-alone figure, default N/4), `FERRY_BENCH_BATCH_SIZE=B` (the trigger's
//! and the re_extract's batch size, default 500 as the pipeline's), `FERRY_BENCH_WORKERS=W`
//! (re_extract max_workers, default 2), `FERRY_BENCH_DATABASE_URL=postgres://…` for
//! PostgreSQL.

mod common;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use common::{bucket_with, create_text_collection, env_usize, namespace, run_migration, run_task};
use ferry_extract::encoder::Encoder;
use ferry_extract::{Extractor, ExtractorInput, Registry, RemoteEmbeddingConfig};
use ferry_pipeline::{Pipeline, PipelineConfig, TRIGGER_TASK};
use ferry_store::blobs::BlobStore;
use ferry_wire::migration::{FeatureExtractorConfig, MigrationConfig, MigrationType};
use serde_json::{json, Map, Value};

const MODEL: &str = "all-MiniLM-L6-v2";

/// Common English words, each one word-piece in BERT's uncased vocabulary.
const WORDS: [&str; 48] = [
    "the", "river", "boat", "carries", "goods", "from", "one", "town", "to", "another", "while",
    "people", "watch", "water", "move", "slowly", "under", "old", "bridge", "and", "children",
    "play", "near", "green", "fields", "where", "farmers", "grow", "wheat", "corn", "during",
    "summer", "months", "before", "rain", "comes", "back", "again", "with", "strong", "wind",
    "that", "makes", "trees", "bend", "over", "small", "houses",
];

/// Text `i` of `words` words (plus `[CLS]`/`[SEP]`: `words + 2` word-pieces), different per
/// `i`, so no two batches are alike.
fn sentence(i: usize, words: usize) -> String {
    (0..words)
        .map(|k| WORDS[(i * 7 + k * 13 + k * k) % WORDS.len()])
        .collect::<Vec<_>>()
        .join(" ")
}

/// Texts/s of `extractor` alone over `texts`, in batches of `batch`.
async fn alone(
    extractor: &dyn Extractor,
    params: &Map<String, Value>,
    texts: impl Fn(usize) -> String,
    n: usize,
    batch: usize,
) -> anyhow::Result<(f64, f64)> {
    let started = Instant::now();
    let mut chunks = 0;
    for start in (0..n).step_by(batch) {
        let inputs: Vec<ExtractorInput> = (start..n.min(start + batch))
            .map(|i| ExtractorInput::Text(texts(i)))
            .collect();
        chunks += extractor
            .extract(&inputs, params)
            .await?
            .iter()
            .map(Vec::len)
            .sum::<usize>();
    }
    let seconds = started.elapsed().as_secs_f64();
    anyhow::ensure!(chunks == n, "{chunks} chunks of {n} texts");
    Ok((n as f64 / seconds, seconds))
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let n = env_usize("FERRY_BENCH_TEXTS", 10_000);
    let long_n = env_usize("FERRY_BENCH_LONG_TEXTS", (n / 4).max(1));
    let batch_size = env_usize("FERRY_BENCH_BATCH_SIZE", 500);
    let workers = env_usize("FERRY_BENCH_WORKERS", 2);
    let models = std::env::var_os("FERRY_MODELS_DIR")
        .map(PathBuf::from)
        .filter(|d| d.join(MODEL).join("config.json").is_file())
        .ok_or_else(|| {
            anyhow::anyhow!("FERRY_MODELS_DIR must hold {MODEL}: run scripts/fetch-models")
        })?;
    let registry = Arc::new(Registry::builtin(
        RemoteEmbeddingConfig::default(),
        models.clone(),
    ));
    let v3 = registry.get("text_extractor", "v3").expect("v3");
    let params = v3
        .resolve_parameters(&Map::new())
        .map_err(|e| anyhow::anyhow!("{e:?}"))?;
    let short = |i: usize| sentence(i, 62);
    let long = |i: usize| sentence(i, 254);
    let spec = ferry_extract::models::read_spec(&models, MODEL)?;
    let encoder = Encoder::shared(&spec)?;
    let pieces = encoder
        .token_counts(&[short(0).as_str(), long(0).as_str()])
        .map_err(anyhow::Error::msg)?;
    println!(
        "model {MODEL}: {} dimensions, {} word-pieces at most; texts of {} and {} word-pieces; \
         {} inference threads",
        spec.dimension,
        spec.max_seq_length,
        pieces[0],
        pieces[1],
        Encoder::threads()
    );

    // The model alone, warmed up first so loading is not counted.
    alone(v3.as_ref(), &params, short, 64.min(n), 64).await?;
    let (short_rate, short_seconds) = alone(v3.as_ref(), &params, short, n, batch_size).await?;
    let (long_rate, long_seconds) = alone(v3.as_ref(), &params, long, long_n, batch_size).await?;

    // Setup: N objects of the short texts, and a v1 collection over them (the re_extract's
    // source; it holds no documents, since a re_extract extracts from the objects).
    let dir = tempfile::tempdir()?;
    let (store, _) = common::bench_store(dir.path()).await?;
    let tag = std::process::id();
    let org = store.ensure_organization(&format!("bench-{tag}")).await?;
    let source = namespace(&store, &org.internal_id, &format!("src-{tag}")).await?;
    let bucket = bucket_with(&store, &source, n, short).await?;
    let v1 = registry.get("text_extractor", "v1").expect("v1");
    let bucket_ids = [bucket.bucket_id.as_str()];
    create_text_collection(&store, source.key, "texts", &bucket_ids, v1.as_ref()).await?;
    let blobs = BlobStore::local(&dir.path().join("objects"))?;

    // A trigger of a v3 collection over the bucket.
    let collection =
        create_text_collection(&store, source.key, "neural", &bucket_ids, v3.as_ref()).await?;
    let task = store
        .create_task(
            &org.internal_id,
            Some(source.key),
            TRIGGER_TASK,
            &json!({"collection_id": collection.collection_id}),
        )
        .await?;
    let config = PipelineConfig {
        batch_size,
        ..PipelineConfig::default()
    };
    let pipeline = Pipeline::new(store.clone(), blobs.clone(), registry.clone(), config);
    let trigger_seconds = run_task(&store, pipeline, &org.internal_id, &task.task_id).await?;
    let written = store
        .get_collection(source.key, &collection.collection_id)
        .await?
        .document_count;
    anyhow::ensure!(written == n as i64, "{written} documents for {n} objects");

    // A re_extract of the v1 collection to v3 (the trigger's collection is already on v3 and
    // is left out, so both runs extract the same N texts).
    let mut config = MigrationConfig::new(MigrationType::ReExtract, source.namespace_id.clone());
    config.target_namespace_name = Some(format!("v3-{tag}"));
    config.feature_extractors = Some(vec![FeatureExtractorConfig {
        feature_extractor_name: "text_extractor".into(),
        version: Some("v3".into()),
        parameters: Some(params.clone()),
    }]);
    let mut batch = config.batch_options_or_default();
    batch.batch_size = batch_size as i64;
    batch.max_workers = workers as i64;
    config.batch_options = Some(batch);
    store
        .delete_collection(source.key, &collection.collection_id)
        .await?;
    let (_, re_extract_seconds) =
        run_migration(&store, &registry, blobs, &org.internal_id, config, true).await?;
    let target = store
        .get_namespace(&org.internal_id, &format!("v3-{tag}"))
        .await?;
    let rebuilt = store.get_collection(target.key, "texts").await?;
    anyhow::ensure!(rebuilt.document_count == n as i64);
    anyhow::ensure!(rebuilt.fields.extractor_version == "v3");

    let trigger_rate = n as f64 / trigger_seconds;
    let re_extract_rate = n as f64 / re_extract_seconds;
    let cores = std::thread::available_parallelism().map_or(1, |c| c.get());
    println!(
        "store: {:?}; batch_size {batch_size}, re_extract max_workers {workers}, {cores} cores",
        store.backend()
    );
    println!(
        "model alone, {} pieces: {short_rate:>8.1} texts/s ({n} in {short_seconds:.1}s; {:.1}/s per core)",
        pieces[0],
        short_rate / cores as f64
    );
    println!(
        "model alone, {} pieces: {long_rate:>8.1} texts/s ({long_n} in {long_seconds:.1}s; {:.1}/s per core)",
        pieces[1],
        long_rate / cores as f64
    );
    println!(
        "trigger of {n} texts:     {trigger_rate:>8.1} texts/s ({trigger_seconds:.1}s, end to end)"
    );
    println!(
        "re_extract v1 -> v3:     {re_extract_rate:>8.1} objects/s ({re_extract_seconds:.1}s, end to end)"
    );
    println!(
        "ratio trigger / model alone: {:.2}",
        trigger_rate / short_rate
    );
    println!(
        "ratio re_extract / model alone: {:.2}",
        re_extract_rate / short_rate
    );
    println!("peak RSS: {:.0} MB", common::peak_rss_mb());
    store.close().await;
    Ok(())
}
