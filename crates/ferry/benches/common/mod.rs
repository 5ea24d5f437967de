//! What the benchmarks share.
#![allow(dead_code)] // each bench uses its own part

pub mod server;

use std::time::{Duration, Instant};

use ferry_extract::{Extractor, Registry};
use ferry_migrate::engine::{Engine, EngineConfig};
use ferry_migrate::service;
use ferry_store::blobs::BlobStore;
use ferry_store::{
    Bucket, BucketFields, Collection, CollectionFields, Lineage, MigrationRecord, Namespace,
    NewDocument, NewObject, Store, StoreLocation,
};
use ferry_wire::migration::{MigrationConfig, MigrationStatus};
use serde_json::{json, Map, Value};

/// `name` from the environment as a number, or `default`.
pub fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// A new empty namespace of the organization.
pub async fn namespace(store: &Store, org: &str, name: &str) -> anyhow::Result<Namespace> {
    Ok(store
        .create_namespace(
            org,
            ferry_store::NewNamespace {
                namespace_id: None,
                namespace_type: "standard".into(),
                mode: "managed".into(),
                fields: ferry_store::NamespaceFields {
                    namespace_name: name.into(),
                    description: None,
                    feature_extractors: json!([]),
                    payload_indexes: json!([]),
                    auto_create_indexes: false,
                    adaptive_indexing: false,
                },
            },
        )
        .await?)
}

/// Peak resident set size of this process, from the kernel (`VmHWM`), in MB.
pub fn peak_rss_mb() -> f64 {
    vm_hwm_mb("/proc/self/status")
}

/// The `VmHWM` (peak resident memory) of a `/proc/…/status` file, in MB.
fn vm_hwm_mb(status: &str) -> f64 {
    std::fs::read_to_string(status)
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

/// Object `i`'s text: 20 words drawn from a 64-word vocabulary by a hash of `i`, so texts
/// differ as documents do. (An earlier text repeated 16 sentences over the whole bucket: 16
/// distinct vectors, each held thousands of times, which halves usearch's insert rate
/// against distinct vectors and is nothing like a real collection.)
pub fn text(i: usize) -> String {
    const WORDS: &str = "namespace migration vector document extractor bucket object query \
        retriever cluster taxonomy ferry copy index search batch schema tenant lease worker \
        stage progress webhook alias cutover rollback feature embedding keyword graph recall \
        latency store table column row change feed watermark merge segment token model weight \
        layer pooling cosine distance filter sort limit page cursor status task retry failure \
        crash resume commit snapshot replica partition throughput";
    let words: Vec<&str> = WORDS.split_whitespace().collect();
    // splitmix64: a cheap, well-mixed hash, so neighbouring objects share no pattern.
    let mut state = i as u64;
    (0..20)
        .map(|_| {
            state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = state;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            words[((z ^ (z >> 31)) % words.len() as u64) as usize]
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Creates collection `name` of namespace `ns`, reading the `body` of the objects of
/// `bucket_ids` with `extractor` at its default parameters.
pub async fn create_text_collection(
    store: &Store,
    ns: ferry_store::NamespaceKey,
    name: &str,
    bucket_ids: &[&str],
    extractor: &dyn Extractor,
) -> anyhow::Result<Collection> {
    let params = extractor
        .resolve_parameters(&Map::new())
        .map_err(|e| anyhow::anyhow!("default parameters: {e:?}"))?;
    let indexes = ferry_extract::collection::vector_indexes(extractor, &params);
    let fields = CollectionFields {
        collection_name: name.into(),
        description: None,
        source: json!({"type": "bucket", "bucket_ids": bucket_ids}),
        feature_extractor: json!({"feature_extractor_name": extractor.name(),
            "version": extractor.version(), "parameters": params,
            "input_mappings": {"text": "body"}}),
        extractor_name: extractor.name().into(),
        extractor_version: extractor.version().into(),
        input_schema: None,
        output_schema: json!({"properties": {}}),
        vector_indexes: serde_json::to_value(indexes)?,
        taxonomy_applications: None,
        cluster_applications: None,
        metadata: None,
        enabled: true,
    };
    Ok(store.create_collection(ns, None, fields).await?)
}

/// Bucket `bench` of namespace `ns` holding `n` objects whose `body` field is [`text`].
pub async fn bucket_with_texts(store: &Store, ns: &Namespace, n: usize) -> anyhow::Result<Bucket> {
    bucket_with(store, ns, n, text).await
}

/// Bucket `bench` of namespace `ns` holding `n` objects whose `body` field is `text(i)`.
pub async fn bucket_with(
    store: &Store,
    ns: &Namespace,
    n: usize,
    text: impl Fn(usize) -> String,
) -> anyhow::Result<Bucket> {
    let bucket = store
        .create_bucket(
            ns.key,
            None,
            BucketFields {
                bucket_name: "bench".into(),
                description: None,
                bucket_schema: json!({"properties": {"body": {"type": "text"}}}),
                unique_key: None,
                metadata: None,
                storage_class: None,
            },
        )
        .await?;
    for start in (0..n).step_by(1000) {
        let objects = (start..n.min(start + 1000))
            .map(|i| {
                let mut fields = Map::new();
                fields.insert("body".into(), Value::String(text(i)));
                NewObject {
                    fields,
                    blobs: json!([]),
                    ..Default::default()
                }
            })
            .collect();
        store
            .insert_objects(ns.key, &bucket.bucket_id, objects)
            .await?;
    }
    Ok(bucket)
}

/// Creates the migration, runs it on an engine worker of this process from `start` to its
/// end, and returns it settled with the seconds that took. `force` starts it despite
/// warnings.
pub async fn run_migration(
    store: &Store,
    registry: &std::sync::Arc<Registry>,
    blobs: BlobStore,
    org: &str,
    config: MigrationConfig,
    force: bool,
) -> anyhow::Result<(MigrationRecord, f64)> {
    let record = service::create(store, registry, org, config, false).await?;
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let engine = Engine::new(
        store.clone(),
        blobs,
        registry.clone(),
        EngineConfig::default(),
    );
    let worker = tokio::spawn(engine.run(stopped));
    let started = Instant::now();
    service::start(store, registry, org, record.migration_id(), force).await?;
    let done = loop {
        let m = store.get_migration(org, record.migration_id()).await?;
        if m.status.is_terminal() {
            break m;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let seconds = started.elapsed().as_secs_f64();
    let _ = stop.send(true);
    worker.await?;
    anyhow::ensure!(
        done.status == MigrationStatus::Completed,
        "migration ended {}: {:?}",
        done.status,
        done.error_message
    );
    Ok((done, seconds))
}

/// Runs `pipeline` in this process until the task `task_id` ends, and returns the seconds
/// that took; a task that did not complete is an error.
pub async fn run_task(
    store: &Store,
    pipeline: ferry_pipeline::Pipeline,
    org: &str,
    task_id: &str,
) -> anyhow::Result<f64> {
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let started = Instant::now();
    let worker = tokio::spawn(pipeline.run(stopped));
    let task = loop {
        let task = store.get_task(org, task_id).await?;
        if !task.status.is_active() {
            break task;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let seconds = started.elapsed().as_secs_f64();
    let _ = stop.send(true);
    worker.await?;
    anyhow::ensure!(
        task.status == ferry_wire::task::TaskStatusEnum::Completed,
        "task ended {}: {:?}",
        task.status,
        task.error
    );
    Ok(seconds)
}

/// The columns a raw SQL copy of documents writes, the target's `ns_key` and `collection_id`
/// first.
pub const DOCUMENT_COLUMNS: &str = "ns_key, collection_id, document_id, source_object_id, \
    root_object_id, source_document_id, root_bucket_id, chunk_index, fields, vectors, \
    created_at, updated_at";

/// The [`DOCUMENT_COLUMNS`] a raw copy reads from the source row (all but the first two).
pub fn copied_columns() -> &'static str {
    DOCUMENT_COLUMNS
        .split_once(", collection_id, ")
        .map_or("", |(_, rest)| rest)
}

/// The dimension of the benches' document vectors.
pub const DIMENSION: usize = 384;

/// Document `i`'s vector.
pub fn vector(i: usize) -> Vec<f32> {
    (0..DIMENSION)
        .map(|k| (((i * 31 + k * 17) % 1000) as f32 / 1000.0) - 0.5)
        .collect()
}

/// Loads documents `range` (ids `doc_…`, 384-d vectors) into a collection, 1,000 a write.
pub async fn load_documents(
    store: &Store,
    ns: ferry_store::NamespaceKey,
    collection_id: &str,
    range: std::ops::Range<usize>,
) -> anyhow::Result<()> {
    for start in range.clone().step_by(1000) {
        let docs: Vec<NewDocument> = (start..range.end.min(start + 1000))
            .map(|i| {
                let mut fields = Map::new();
                fields.insert("text".into(), Value::from(format!("document number {i}")));
                NewDocument {
                    document_id: format!("doc_{i:012}"),
                    lineage: Lineage {
                        source_object_id: Some(format!("obj_{i:012}")),
                        root_object_id: Some(format!("obj_{i:012}")),
                        source_document_id: None,
                        root_bucket_id: None,
                    },
                    chunk_index: 0,
                    fields,
                    vectors: vec![("text_extractor_v1_text_embedding".into(), vector(i))],
                }
            })
            .collect();
        store
            .load_object_documents(ns, collection_id, &docs)
            .await?;
    }
    Ok(())
}

/// A namespace's internal key, read as any SQL client would: the store keeps keys to itself.
pub async fn ns_key(pool: &sqlx::AnyPool, namespace_id: &str) -> anyhow::Result<i64> {
    Ok(
        sqlx::query_scalar("SELECT ns_key FROM namespaces WHERE namespace_id = $1")
            .bind(namespace_id)
            .fetch_one(pool)
            .await?,
    )
}

/// The store a bench runs on: PostgreSQL at `FERRY_BENCH_DATABASE_URL` when it is set, else
/// a SQLite file in `dir`; with the URL a raw SQL client would connect to.
pub async fn bench_store(dir: &std::path::Path) -> anyhow::Result<(Store, String)> {
    let (location, url) = match std::env::var("FERRY_BENCH_DATABASE_URL") {
        Ok(url) if !url.is_empty() => (StoreLocation::Postgres(url.clone()), url),
        _ => {
            let path = dir.join("ferry.db");
            let url = format!("sqlite://{}", path.display());
            (StoreLocation::SqliteFile(path), url)
        }
    };
    Ok((Store::connect(&location).await?, url))
}

/// Writes the store's dirty pages out (PostgreSQL's `CHECKPOINT`, SQLite's WAL checkpoint), so
/// that a timed phase starts from a settled database instead of competing with the write-back of
/// whatever the phase before it loaded. Returns the seconds it took.
pub async fn checkpoint(url: &str) -> anyhow::Result<f64> {
    sqlx::any::install_default_drivers();
    let started = Instant::now();
    let pool = sqlx::any::AnyPoolOptions::new()
        .max_connections(1)
        .connect(url)
        .await?;
    let statement = if url.starts_with("sqlite:") {
        "PRAGMA wal_checkpoint(TRUNCATE)"
    } else {
        "CHECKPOINT"
    };
    sqlx::query(statement).execute(&pool).await?;
    pool.close().await;
    Ok(started.elapsed().as_secs_f64())
}
