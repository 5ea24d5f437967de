//! Scale benchmark: N documents of 384-d vectors loaded through the store, a raw SQL copy of
//! them in the same store, then a `copy` migration run by a `ferry serve` process that is
//! killed (SIGKILL) partway and started again. Reports the load rate per million, disk per
//! document, the copy rate of each leg against raw, what the restart redid and cost, and the
//! peak RSS of the loader and of each `ferry` process.
//!
//! The raw copy is `INSERT … SELECT` in statements of 100,000 rows in document order: one
//! statement over millions of rows would hold all of them in the write-ahead log until it
//! commits (tens of GB on SQLite at 10M), and the engine commits its batches one by one too.
//! On SQLite its rows are deleted again (in the same steps) before the migration, so the disk
//! holds two copies of the collection, not three.
//!
//! `cargo bench --bench scale` (not in CI); `FERRY_BENCH_DOCUMENTS=N` (default 1000000),
//! `FERRY_BENCH_KILL_AT=F` (default 0.5: the share of documents copied when the process is
//! killed), `FERRY_BENCH_DIR=…` (where the SQLite database goes: about 2 KB a document, twice;
//! a temporary directory by default), `FERRY_BENCH_DATABASE_URL=postgres://…` (a new database on
//! that server instead, dropped at the end).

mod common;

use std::collections::BTreeMap;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::Context;
use common::server::{listening_on, with_database, Api, Process, KEY};
use common::{create_text_collection, env_usize, load_documents, namespace, DIMENSION};
use ferry_store::{Store, StoreLocation, DEFAULT_ORGANIZATION};
use reqwest::Method;
use serde_json::{json, Value};
use sqlx::any::AnyPoolOptions;
use sqlx::Connection;

/// Rows per statement of the raw copy and of its deletion.
const RAW_STEP: i64 = 100_000;
/// Documents per migration batch (the spec's default is 1000 too).
const BATCH_SIZE: usize = 1000;
/// The lease of the `ferry` processes: the restarted one claims pending batches at once,
/// and the killed one's leased batches and task once this has passed.
const LEASE_SECONDS: u64 = 10;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let n = env_usize("FERRY_BENCH_DOCUMENTS", 1_000_000);
    let kill_at: f64 = std::env::var("FERRY_BENCH_KILL_AT")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.5);
    let data = match std::env::var("FERRY_BENCH_DIR") {
        Ok(dir) if !dir.is_empty() => tempfile::tempdir_in(dir)?,
        _ => tempfile::tempdir()?,
    };
    let admin = std::env::var("FERRY_BENCH_DATABASE_URL")
        .ok()
        .filter(|url| !url.is_empty());
    let database = format!("ferry_bench_scale_{}", std::process::id());
    let url = match &admin {
        Some(admin) => {
            let mut conn = sqlx::PgConnection::connect(admin).await?;
            sqlx::query(&format!("CREATE DATABASE {database}"))
                .execute(&mut conn)
                .await?;
            with_database(admin, &database)
        }
        None => format!("sqlite://{}", data.path().join("ferry.db").display()),
    };
    let outcome = run(n, kill_at, &url, data.path()).await;
    if let Some(admin) = &admin {
        let mut conn = sqlx::PgConnection::connect(admin).await?;
        sqlx::query(&format!("DROP DATABASE IF EXISTS {database} WITH (FORCE)"))
            .execute(&mut conn)
            .await?;
    }
    outcome
}

async fn run(n: usize, kill_at: f64, url: &str, data: &std::path::Path) -> anyhow::Result<()> {
    let store = Store::connect(&StoreLocation::resolve(Some(url), data)?).await?;
    println!(
        "store: {:?}, {n} documents of {DIMENSION}-d vectors",
        store.backend()
    );
    // The organization `ferry serve` gives FERRY_API_KEY, so the API sees what is loaded here.
    let org = store.ensure_organization(DEFAULT_ORGANIZATION).await?;
    let registry = ferry_extract::Registry::builtin(Default::default(), Default::default());
    let v1 = registry
        .get("text_extractor", "v1")
        .expect("text_extractor v1");
    let source = namespace(&store, &org.internal_id, "scale_src").await?;
    let collection = create_text_collection(&store, source.key, "docs", &[], v1.as_ref()).await?;

    // Load, reporting each million's rate: a write path that slowed with the table's size
    // would show as falling rates.
    let started = Instant::now();
    let mut step_started = Instant::now();
    for start in (0..n).step_by(100_000) {
        let end = n.min(start + 100_000);
        load_documents(&store, source.key, &collection.collection_id, start..end).await?;
        if end.is_multiple_of(1_000_000) || end == n {
            let step = (end - 1) % 1_000_000 + 1;
            println!(
                "load: {end} documents in {:.0}s; the last {step} at {:.0} documents/s; \
                 loader peak RSS {:.0} MB",
                started.elapsed().as_secs_f64(),
                step as f64 / step_started.elapsed().as_secs_f64(),
                common::peak_rss_mb()
            );
            step_started = Instant::now();
        }
    }
    let load_rate = n as f64 / started.elapsed().as_secs_f64();
    println!("load: {load_rate:.0} documents/s over all {n}");

    sqlx::any::install_default_drivers();
    let pool = AnyPoolOptions::new()
        .max_connections(1)
        .connect(url)
        .await?;
    let postgres = url.starts_with("postgres");
    let bytes = database_bytes(&pool, postgres, data).await?;
    println!(
        "disk: {:.2} GB, {:.0} bytes per document (every table and index)",
        bytes as f64 / 1e9,
        bytes as f64 / n as f64
    );

    let raw = namespace(&store, &org.internal_id, "scale_raw").await?;
    let raw_collection = create_text_collection(&store, raw.key, "docs", &[], v1.as_ref()).await?;
    let from = (
        common::ns_key(&pool, &source.namespace_id).await?,
        collection.collection_id.as_str(),
    );
    let to = (
        common::ns_key(&pool, &raw.namespace_id).await?,
        raw_collection.collection_id.as_str(),
    );
    let started = Instant::now();
    let copied = raw_copy(&pool, from, to).await?;
    let raw_seconds = started.elapsed().as_secs_f64();
    anyhow::ensure!(copied == n as u64, "the raw copy wrote {copied} rows");
    let raw_rate = n as f64 / raw_seconds;
    println!("raw INSERT … SELECT: {raw_rate:.0} documents/s ({raw_seconds:.1}s)");
    if !postgres {
        // SQLite puts the migration's rows in the pages this frees; PostgreSQL, with
        // autovacuum off, would not reuse them, and has the room.
        raw_delete(&pool, to).await?;
    }
    pool.close().await;

    let copy = Copy {
        url,
        data,
        n,
        store: &store,
        org: &org.internal_id,
    };
    copy.run(kill_at, raw_rate).await?;
    store.close().await;
    Ok(())
}

/// Copies a collection's rows `from` one `(ns_key, collection_id)` `to` another, in
/// statements of [`RAW_STEP`] rows in document order: rows copied.
async fn raw_copy(pool: &sqlx::AnyPool, from: (i64, &str), to: (i64, &str)) -> anyhow::Result<u64> {
    let mut copied = 0;
    let mut after = String::new();
    loop {
        let step = sqlx::query(&format!(
            "INSERT INTO documents ({columns}) SELECT $1, $2, {rest} FROM documents \
             WHERE ns_key = $3 AND collection_id = $4 AND document_id > $5 \
             ORDER BY document_id LIMIT $6",
            columns = common::DOCUMENT_COLUMNS,
            rest = common::copied_columns(),
        ))
        .bind(to.0)
        .bind(to.1)
        .bind(from.0)
        .bind(from.1)
        .bind(&after)
        .bind(RAW_STEP)
        .execute(pool)
        .await?
        .rows_affected();
        copied += step;
        if step < RAW_STEP as u64 {
            return Ok(copied);
        }
        after = sqlx::query_scalar(
            "SELECT MAX(document_id) FROM documents WHERE ns_key = $1 AND collection_id = $2",
        )
        .bind(to.0)
        .bind(to.1)
        .fetch_one(pool)
        .await?;
    }
}

/// Deletes what [`raw_copy`] wrote, [`RAW_STEP`] rows a statement, so the space is free for
/// the migration's copy.
async fn raw_delete(pool: &sqlx::AnyPool, of: (i64, &str)) -> anyhow::Result<()> {
    loop {
        let deleted = sqlx::query(
            "DELETE FROM documents WHERE ns_key = $1 AND collection_id = $2 AND document_id IN \
             (SELECT document_id FROM documents WHERE ns_key = $1 AND collection_id = $2 \
             ORDER BY document_id LIMIT $3)",
        )
        .bind(of.0)
        .bind(of.1)
        .bind(RAW_STEP)
        .execute(pool)
        .await?
        .rows_affected();
        if deleted < RAW_STEP as u64 {
            return Ok(());
        }
    }
}

/// The store's size on disk: the SQLite file and its log, or the PostgreSQL database.
async fn database_bytes(
    pool: &sqlx::AnyPool,
    postgres: bool,
    data: &std::path::Path,
) -> anyhow::Result<u64> {
    if postgres {
        let bytes: i64 = sqlx::query_scalar("SELECT pg_database_size(current_database())")
            .fetch_one(pool)
            .await?;
        return Ok(bytes as u64);
    }
    let size = |name: &str| std::fs::metadata(data.join(name)).map_or(0, |m| m.len());
    Ok(size("ferry.db") + size("ferry.db-wal"))
}

/// The copy migration, through `ferry serve` processes.
struct Copy<'a> {
    url: &'a str,
    data: &'a std::path::Path,
    n: usize,
    store: &'a Store,
    org: &'a str,
}

impl Copy<'_> {
    fn serve(&self) -> anyhow::Result<(Process, Api)> {
        let mut child = Command::new(env!("CARGO_BIN_EXE_ferry"))
            .args(["serve", "--bind", "127.0.0.1:0"])
            .env("DATABASE_URL", self.url)
            .env("FERRY_DATA_DIR", self.data)
            .env("FERRY_API_KEY", KEY)
            .env("FERRY_TASK_LEASE_SECONDS", LEASE_SECONDS.to_string())
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .context("spawn ferry serve")?;
        let base = listening_on(&mut child)?;
        Ok((Process(child), Api::new(base)))
    }

    /// Documents in the copy's target collection (0 before it exists).
    async fn copied(&self) -> anyhow::Result<i64> {
        let Ok(target) = self.store.get_namespace(self.org, "scale_copy").await else {
            return Ok(0);
        };
        Ok(self
            .store
            .get_collection(target.key, "docs")
            .await
            .map_or(0, |c| c.document_count))
    }

    async fn run(&self, kill_at: f64, raw_rate: f64) -> anyhow::Result<()> {
        let n = self.n;
        let (first, api) = self.serve()?;
        let started = Instant::now();
        let id = api
            .start_migration(
                json!({"migration_type": "copy", "source_namespace_id": "scale_src",
                       "target_namespace_name": "scale_copy",
                       "batch_options": {"batch_size": BATCH_SIZE, "max_workers": 4}}),
                false,
            )
            .await?;
        let path = format!("/v1/namespaces/migrations/{id}");
        let kill_after = (kill_at * n as f64) as i64;
        while self.copied().await? < kill_after {
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        let first_rss = first.peak_rss_mb();
        drop(first); // SIGKILL, then reaped
        let first_seconds = started.elapsed().as_secs_f64();
        let at_kill = self.copied().await?;
        let key = self.store.get_migration(self.org, &id).await?.key;
        let by_first: BTreeMap<String, i64> = self
            .store
            .migration_batches_done_by(&key)
            .await?
            .into_iter()
            .collect();
        println!(
            "copy, first process: {at_kill} documents in {first_seconds:.1}s, {:.0} documents/s \
             ({:.2}x raw); killed (SIGKILL); peak RSS {first_rss:.0} MB",
            at_kill as f64 / first_seconds,
            at_kill as f64 / first_seconds / raw_rate
        );

        let restarted = Instant::now();
        let (second, api) = self.serve()?;
        let mut resumed = None;
        let done = loop {
            let migration = api.call(Method::GET, &path, None, Value::Null).await?;
            if resumed.is_none() && self.copied().await? > at_kill {
                resumed = Some(restarted.elapsed().as_secs_f64());
            }
            match migration["status"].as_str() {
                Some("completed") => break migration,
                Some("failed" | "cancelled") => anyhow::bail!("the migration ended: {migration}"),
                _ => tokio::time::sleep(Duration::from_millis(200)).await,
            }
        };
        let second_seconds = restarted.elapsed().as_secs_f64();
        let resumed = resumed.unwrap_or(second_seconds);
        let second_rss = second.peak_rss_mb();
        drop(second);
        let written = self.copied().await?;
        anyhow::ensure!(written == n as i64, "{written} documents copied of {n}");
        // Batches marked done by the engines of the killed process, and by the new one's; a
        // batch done twice carries its last engine's mark.
        let by_second: i64 = self
            .store
            .migration_batches_done_by(&key)
            .await?
            .into_iter()
            .filter(|(engine, _)| !by_first.contains_key(engine))
            .map(|(_, count)| count)
            .sum();
        let by_first: i64 = by_first.values().sum();
        let remaining = n as i64 - at_kill;
        // What the new process copied beyond what the killed one had left: work done twice.
        let redone = (by_second * BATCH_SIZE as i64).min(n as i64) - remaining;
        println!(
            "copy, restarted process: copying again {resumed:.1}s after its start (it claims \
             pending batches at once; the killed process's leased batches and its task pass \
             after their {LEASE_SECONDS}s lease), done {second_seconds:.1}s after it; \
             {remaining} documents at {:.0} documents/s ({:.2}x raw); peak RSS {second_rss:.0} MB",
            remaining as f64 / (second_seconds - resumed),
            remaining as f64 / (second_seconds - resumed) / raw_rate
        );
        println!(
            "resume: batches committed by the killed process {by_first} ({at_kill} documents in \
             the target at the kill), by the new one {by_second}; documents copied twice: \
             {redone}; target holds {written} of {n}; status {}",
            done["status"]
        );
        Ok(())
    }
}
