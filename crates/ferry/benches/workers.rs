//! Scale-out benchmark: one CPU-bound migration (a `re_extract` from text_extractor v1 to v3,
//! whose neural inference is the whole cost) on PostgreSQL, run by one `ferry` process and then
//! by two sharing its batches. Each process is pinned to a core of its own (`taskset`) with one
//! inference thread (`RAYON_NUM_THREADS=1`): one core's worth of extraction each. PostgreSQL
//! runs unpinned, so with two processes it competes with them for the two cores.
//!
//! Each leg runs on a fresh database: `ferry serve` seeds namespace `bench` (N text objects,
//! a v1 collection triggered over them), the second process (`ferry worker`) starts when the
//! leg has two, and the re_extract runs in batches of B with `max_workers` 4, each process
//! running at most 2 batches at once. Reports objects/s of each leg from the migration's own
//! `started_at`/`completed_at`, the batches each process committed, and the ratio.
//!
//! `FERRY_BENCH_DATABASE_URL=postgres://… FERRY_MODELS_DIR=… cargo bench --bench workers`;
//! `FERRY_BENCH_OBJECTS` (default 2000) and `FERRY_BENCH_BATCH_SIZE` (default 20) vary it.

mod common;

use std::collections::BTreeMap;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::Context;
use common::server::{listening_on, seconds_between, with_database, Api, Process, KEY};
use common::{env_usize, text};
use ferry_store::{Store, StoreLocation};
use reqwest::Method;
use serde_json::{json, Value};
use sqlx::Connection;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let admin_url = std::env::var("FERRY_BENCH_DATABASE_URL")
        .context("set FERRY_BENCH_DATABASE_URL=postgres://…: this bench runs on PostgreSQL")?;
    let models =
        std::env::var("FERRY_MODELS_DIR").context("set FERRY_MODELS_DIR (scripts/fetch-models)")?;
    let n = env_usize("FERRY_BENCH_OBJECTS", 2000);
    let batch_size = env_usize("FERRY_BENCH_BATCH_SIZE", 20);
    let bench = Bench {
        admin_url,
        models,
        n,
        batch_size,
    };
    let one = bench.leg(1).await?;
    let two = bench.leg(2).await?;
    println!("re_extract v1 -> v3 of {n} objects, batches of {batch_size}, PostgreSQL");
    println!("| processes | seconds | objects/s | batches per process |");
    println!("|---:|---:|---:|---|");
    for (processes, leg) in [(1, &one), (2, &two)] {
        println!(
            "| {processes} | {:.1} | {:.1} | {:?} |",
            leg.seconds,
            n as f64 / leg.seconds,
            leg.batches_by.values().collect::<Vec<_>>()
        );
    }
    println!(
        "ratio two processes / one: {:.2}",
        one.seconds / two.seconds
    );
    Ok(())
}

struct Bench {
    admin_url: String,
    models: String,
    n: usize,
    batch_size: usize,
}

struct Leg {
    seconds: f64,
    batches_by: BTreeMap<String, i64>,
}

impl Bench {
    async fn leg(&self, processes: usize) -> anyhow::Result<Leg> {
        let name = format!("ferry_bench_workers_{}_{processes}", std::process::id());
        let mut admin = sqlx::PgConnection::connect(&self.admin_url).await?;
        sqlx::query(&format!("DROP DATABASE IF EXISTS {name}"))
            .execute(&mut admin)
            .await?;
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&mut admin)
            .await?;
        let url = with_database(&self.admin_url, &name);
        let data = tempfile::tempdir()?;
        let result = self.run(processes, &url, data.path()).await;
        sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .execute(&mut admin)
            .await?;
        result
    }

    async fn run(
        &self,
        processes: usize,
        url: &str,
        data: &std::path::Path,
    ) -> anyhow::Result<Leg> {
        // `taskset -c core ferry args…`: one core, one inference thread.
        let ferry = |core: usize, args: &[&str], stdout: Stdio| -> anyhow::Result<Process> {
            let child = Command::new("taskset")
                .arg("-c")
                .arg(core.to_string())
                .arg(env!("CARGO_BIN_EXE_ferry"))
                .args(args)
                .env("DATABASE_URL", url)
                .env("FERRY_DATA_DIR", data)
                .env("FERRY_API_KEY", KEY)
                .env("FERRY_MODELS_DIR", &self.models)
                .env("FERRY_MIGRATION_BATCH_CONCURRENCY", "2")
                .env("RAYON_NUM_THREADS", "1")
                .env("RUST_LOG", "warn")
                .stdout(stdout)
                .stderr(Stdio::null())
                .spawn()
                .context("spawn `taskset -c N ferry` (taskset is in util-linux)")?;
            Ok(Process(child))
        };
        let mut serve = ferry(0, &["serve", "--bind", "127.0.0.1:0"], Stdio::piped())?;
        let base = listening_on(&mut serve.0)?;
        let api = Api::new(base);
        let started = Instant::now();
        seed(&api, self.n).await?;
        println!(
            "[{processes} process(es)] seeded {} objects and their v1 documents in {:.1}s",
            self.n,
            started.elapsed().as_secs_f64()
        );
        let _worker = match processes {
            1 => None,
            _ => Some(ferry(1, &["worker"], Stdio::null())?),
        };
        // A re_extract warns of its cost: started with force, as a user who read it would.
        let id = api
            .start_migration(
                json!({"migration_type": "re_extract", "source_namespace_id": "bench",
                       "target_namespace_name": "bench_v3",
                       "feature_extractors": [{"feature_extractor_name": "text_extractor",
                                               "version": "v3"}],
                       "batch_options": {"batch_size": self.batch_size, "max_workers": 4}}),
                true,
            )
            .await?;
        let path = format!("/v1/namespaces/migrations/{id}");
        let done = loop {
            let migration = api.call(Method::GET, &path, None, Value::Null).await?;
            match migration["status"].as_str() {
                Some("completed") => break migration,
                Some("failed" | "cancelled") => anyhow::bail!("the migration ended: {migration}"),
                _ => tokio::time::sleep(Duration::from_millis(200)).await,
            }
        };
        let seconds = seconds_between(&done["started_at"], &done["completed_at"])?;
        let store = Store::connect(&StoreLocation::Postgres(url.to_owned())).await?;
        let org = done["internal_id"].as_str().context("internal_id")?;
        let key = store.get_migration(org, &id).await?.key;
        let batches_by = store
            .migration_batches_done_by(&key)
            .await?
            .into_iter()
            .collect();
        store.close().await;
        Ok(Leg {
            seconds,
            batches_by,
        })
    }
}

/// Namespace `bench`: bucket `texts` of `n` objects whose `body` is [`text`], and
/// collection `texts` (text_extractor v1) triggered over them, to the end.
async fn seed(api: &Api, n: usize) -> anyhow::Result<()> {
    api.call(
        Method::POST,
        "/v1/namespaces",
        None,
        json!({"namespace_name": "bench"}),
    )
    .await?;
    let ns = Some("bench");
    api.call(
        Method::POST,
        "/v1/buckets",
        ns,
        json!({"bucket_name": "texts",
               "bucket_schema": {"properties": {"body": {"type": "text"}}}}),
    )
    .await?;
    // The batch endpoint takes at most 100 objects a call.
    for start in (0..n).step_by(100) {
        let objects: Vec<Value> = (start..n.min(start + 100))
            .map(|i| json!({"body": text(i)}))
            .collect();
        api.call(
            Method::POST,
            "/v1/buckets/texts/objects/batch",
            ns,
            json!({"objects": objects}),
        )
        .await?;
    }
    api.call(
        Method::POST,
        "/v1/collections",
        ns,
        json!({"collection_name": "texts",
               "source": {"type": "bucket", "bucket_ids": ["texts"]},
               "feature_extractor": {"feature_extractor_name": "text_extractor",
                                     "version": "v1", "input_mappings": {"text": "body"}}}),
    )
    .await?;
    let trigger = api
        .call(Method::POST, "/v1/collections/texts/trigger", ns, json!({}))
        .await?;
    let task = trigger["task_id"].as_str().context("a task id")?;
    loop {
        let t = api
            .call(Method::GET, &format!("/v1/tasks/{task}"), None, Value::Null)
            .await?;
        match t["status"].as_str() {
            Some("COMPLETED") => return Ok(()),
            Some("FAILED" | "CANCELED") => anyhow::bail!("the trigger ended: {t}"),
            _ => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
}
