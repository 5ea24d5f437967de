//! Migration benchmark: a `copy` of a namespace holding N documents with 384-d vectors, run by
//! the engine end to end (plan, batches, leased batch copies, verification), against a raw SQL
//! `INSERT … SELECT` of the same rows in the same store, measured in the same run. Then list
//! latency with M migrations in the organization. Reports documents/s, the ratio, list
//! milliseconds and peak RSS.
//!
//! `cargo bench --bench migrate` (SQLite in a temp dir); `FERRY_BENCH_DOCUMENTS=N` (default
//! 100000), `FERRY_BENCH_MIGRATIONS=M` (default 100000), `FERRY_BENCH_BATCH_SIZE=B` (default
//! 1000), `FERRY_BENCH_DATABASE_URL=postgres://…` for PostgreSQL. `FERRY_BENCH_BALLAST=M`
//! then loads M more documents into another namespace and runs the same copy again: the
//! copy rate into a full database against the first. Each timed phase starts after a checkpoint
//! ([`common::checkpoint`]), so none pays for the write-back of what the phase before loaded.

mod common;

use common::{
    create_text_collection, env_usize, load_documents, namespace, run_migration, DIMENSION,
};

use std::time::Instant;

use ferry_store::blobs::BlobStore;
use ferry_store::{MigrationListQuery, NewMigration};
use ferry_wire::migration::{MigrationConfig, MigrationProgress, MigrationStatus, MigrationType};
use serde_json::json;
use sqlx::any::AnyPoolOptions;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let n = env_usize("FERRY_BENCH_DOCUMENTS", 100_000);
    let migrations = env_usize("FERRY_BENCH_MIGRATIONS", 100_000);
    let dir = tempfile::tempdir()?;
    let (store, url) = common::bench_store(dir.path()).await?;
    let tag = std::process::id();
    let org = store.ensure_organization(&format!("bench-{tag}")).await?;
    let source = namespace(&store, &org.internal_id, &format!("src-{tag}")).await?;
    let registry = std::sync::Arc::new(ferry_extract::Registry::builtin(
        Default::default(),
        std::path::PathBuf::new(),
    ));
    let v1 = registry
        .get("text_extractor", "v1")
        .expect("text_extractor v1");
    let collection = create_text_collection(&store, source.key, "docs", &[], v1.as_ref()).await?;

    let started = Instant::now();
    load_documents(&store, source.key, &collection.collection_id, 0..n).await?;
    println!(
        "setup: {n} documents ({DIMENSION}-d) inserted in {:.1}s",
        started.elapsed().as_secs_f64()
    );

    // Baseline: the same rows copied by one INSERT … SELECT in the same store.
    let raw_target = namespace(&store, &org.internal_id, &format!("raw-{tag}")).await?;
    let raw_collection =
        create_text_collection(&store, raw_target.key, "docs", &[], v1.as_ref()).await?;
    sqlx::any::install_default_drivers();
    let pool = AnyPoolOptions::new()
        .max_connections(1)
        .connect(&url)
        .await?;
    let raw_key = common::ns_key(&pool, &raw_target.namespace_id).await?;
    let source_key = common::ns_key(&pool, &source.namespace_id).await?;
    common::checkpoint(&url).await?;
    let started = Instant::now();
    let copied = sqlx::query(&format!(
        "INSERT INTO documents ({columns}) SELECT $1, $2, {rest} FROM documents \
         WHERE ns_key = $3 AND collection_id = $4",
        columns = common::DOCUMENT_COLUMNS,
        rest = common::copied_columns(),
    ))
    .bind(raw_key)
    .bind(&raw_collection.collection_id)
    .bind(source_key)
    .bind(&collection.collection_id)
    .execute(&pool)
    .await?
    .rows_affected();
    let raw_seconds = started.elapsed().as_secs_f64();
    anyhow::ensure!(copied == n as u64, "raw copy wrote {copied} rows");
    pool.close().await;

    // The engine: a copy migration, from start to completed.
    let blobs = BlobStore::local(&dir.path().join("objects"))?;
    let copy = |target: String| {
        let (store, registry, blobs) = (store.clone(), registry.clone(), blobs.clone());
        let (org, source) = (org.internal_id.clone(), source.namespace_id.clone());
        async move {
            let mut config = MigrationConfig::new(MigrationType::Copy, source);
            config.target_namespace_name = Some(target.clone());
            let mut batch = config.batch_options_or_default();
            batch.batch_size = env_usize("FERRY_BENCH_BATCH_SIZE", 1000) as i64;
            batch.max_workers = 4;
            config.batch_options = Some(batch);
            let (_, seconds) = run_migration(&store, &registry, blobs, &org, config, false).await?;
            let target = store.get_namespace(&org, &target).await?;
            let written = store
                .get_collection(target.key, "docs")
                .await?
                .document_count;
            anyhow::ensure!(written == n as i64, "{written} documents copied of {n}");
            anyhow::Ok(seconds)
        }
    };
    common::checkpoint(&url).await?;
    let engine_seconds = copy(format!("copy-{tag}")).await?;

    let raw = n as f64 / raw_seconds;
    let engine = n as f64 / engine_seconds;
    println!("store: {:?}", store.backend());
    println!("raw INSERT … SELECT: {raw:>10.0} documents/s ({raw_seconds:.2}s)");
    println!("copy migration:      {engine:>10.0} documents/s ({engine_seconds:.2}s, end to end)");
    println!("ratio migration / raw copy: {:.2}", engine / raw);
    println!("peak RSS after the copy: {:.0} MB", common::peak_rss_mb());

    // The same copy again once the database holds `ballast` more documents (in a namespace
    // of their own): a store whose write path depended on the table's size would slow down.
    let ballast = env_usize("FERRY_BENCH_BALLAST", 0);
    if ballast > 0 {
        let filler = namespace(&store, &org.internal_id, &format!("ballast-{tag}")).await?;
        let filler_collection =
            create_text_collection(&store, filler.key, "docs", &[], v1.as_ref()).await?;
        let started = Instant::now();
        for start in (0..ballast).step_by(100_000) {
            let end = ballast.min(start + 100_000);
            load_documents(
                &store,
                filler.key,
                &filler_collection.collection_id,
                start..end,
            )
            .await?;
            println!(
                "ballast: {end} documents in {:.0}s ({:.0} documents/s)",
                started.elapsed().as_secs_f64(),
                end as f64 / started.elapsed().as_secs_f64()
            );
        }
        println!(
            "checkpoint after the ballast: {:.0}s",
            common::checkpoint(&url).await?
        );
        let full_seconds = copy(format!("copy-full-{tag}")).await?;
        let full = n as f64 / full_seconds;
        println!(
            "copy migration with {ballast} more documents in the store: {full:>10.0} documents/s \
             ({full_seconds:.2}s); ratio to the first copy: {:.2}",
            full / engine
        );
    }

    // List latency with M migrations in the organization.
    let progress = serde_json::to_value(MigrationProgress::new(MigrationStatus::Draft))?;
    let statuses = [
        MigrationStatus::Draft,
        MigrationStatus::Completed,
        MigrationStatus::Failed,
        MigrationStatus::Cancelled,
    ];
    let started = Instant::now();
    for i in 0..migrations {
        store
            .insert_migration(
                &org.internal_id,
                NewMigration {
                    migration_id: format!("mig_b{tag}x{i:08}"),
                    source_namespace_id: format!("ns_src{}", i % 10),
                    migration_type: MigrationType::Copy,
                    status: statuses[i % 4],
                    config: json!({"migration_type": "copy", "source_namespace_id": "x"}),
                    validation_result: None,
                    dependency_graph: None,
                    progress: progress.clone(),
                    created_at: i as i64,
                },
            )
            .await?;
    }
    println!(
        "setup: {migrations} migrations inserted in {:.1}s",
        started.elapsed().as_secs_f64()
    );
    for (label, query) in [
        ("no filter", MigrationListQuery::default()),
        (
            "status",
            MigrationListQuery {
                status: Some(MigrationStatus::Failed),
                ..Default::default()
            },
        ),
        (
            "source",
            MigrationListQuery {
                source_namespace_id: Some("ns_src3".into()),
                ..Default::default()
            },
        ),
    ] {
        let query = MigrationListQuery { limit: 20, ..query };
        let mut times: Vec<f64> = Vec::new();
        for _ in 0..50 {
            let t = Instant::now();
            let (page, total) = store.list_migrations(&org.internal_id, &query).await?;
            times.push(t.elapsed().as_secs_f64() * 1000.0);
            anyhow::ensure!(page.len() == 20 && total > 0);
        }
        times.sort_by(f64::total_cmp);
        println!(
            "list ({label}, page of 20 with total): median {:.2} ms, p95 {:.2} ms",
            times[times.len() / 2],
            times[times.len() * 95 / 100]
        );
    }
    println!("peak RSS: {:.0} MB", common::peak_rss_mb());
    store.close().await;
    Ok(())
}
