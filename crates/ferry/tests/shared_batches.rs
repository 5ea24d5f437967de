//! One migration on two `ferry serve` processes sharing a PostgreSQL store: the engine that
//! holds the migration's task runs its stages; the other, idle, claims the same batches, so
//! both write part of it (each runs one batch at a time; the migration allows four). Killed with SIGKILL mid-run, either one's leased batches (and, if
//! it held it, the task) pass to the other once their short lease runs out, and the copy is
//! exact. A cancel stops both within the batches they were running. Each batch is slowed by
//! an injected delay so the run lasts long enough to watch.

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use common::process::ServeProcess;
use common::{postgres_url, Backend, TestDatabase, TEST_KEY};
use ferry_store::{MigrationKey, Store};
use reqwest::{Client, Method};
use serde_json::{json, Value};

const OBJECTS: usize = 60;
const MAX_WORKERS: i64 = 4;

struct Api {
    base: String,
    http: Client,
}

impl Api {
    async fn call(&self, method: Method, path: &str, ns: Option<&str>, body: Value) -> Value {
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(TEST_KEY);
        if !body.is_null() {
            request = request.json(&body);
        }
        if let Some(ns) = ns {
            request = request.header("X-Namespace", ns);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let body: Value = response.json().await.unwrap();
        assert!(status < 300, "{path}: {status} {body}");
        body
    }

    /// The total a list reports (`include_total`).
    async fn count(&self, path: &str, ns: &str) -> i64 {
        let listed = self
            .call(
                Method::POST,
                &format!("{path}?include_total=true"),
                Some(ns),
                json!({}),
            )
            .await;
        listed["pagination"]["total"].as_i64().unwrap()
    }
}

/// Two processes on a fresh PostgreSQL database, each batch slowed by 250 ms, leases of 2 s;
/// namespace `shared` with a bucket of `OBJECTS` texts and a collection over it.
async fn two_processes() -> Option<(TestDatabase, ServeProcess, ServeProcess, Api)> {
    postgres_url()?;
    let db = TestDatabase::new(Backend::Postgres).await;
    // One batch at a time per process, so the engine holding the task leaves room (the
    // migration allows 4 at once) for the other.
    let env = [
        ("FERRY_MIGRATION_FAULT_INJECT", "slow_batches:250"),
        ("FERRY_TASK_LEASE_SECONDS", "2"),
        ("FERRY_MIGRATION_BATCH_CONCURRENCY", "1"),
    ];
    let mut first = ServeProcess::start_with(&db, Some(TEST_KEY), &env);
    let api = Api {
        base: first.base_url(),
        http: Client::new(),
    };
    api.call(
        Method::POST,
        "/v1/namespaces",
        None,
        json!({"namespace_name": "shared"}),
    )
    .await;
    let ns = Some("shared");
    api.call(
        Method::POST,
        "/v1/buckets",
        ns,
        json!({"bucket_name": "b",
        "bucket_schema": {"properties": {"body": {"type": "text"}}}}),
    )
    .await;
    let objects: Vec<Value> = (0..OBJECTS)
        .map(|i| json!({"body": format!("object {i} text")}))
        .collect();
    api.call(
        Method::POST,
        "/v1/buckets/b/objects/batch",
        ns,
        json!({"objects": objects}),
    )
    .await;
    api.call(
        Method::POST,
        "/v1/collections",
        ns,
        json!({"collection_name": "col",
        "source": {"type": "bucket", "bucket_ids": ["b"]},
        "feature_extractor": {"feature_extractor_name": "text_extractor", "version": "v1",
                              "input_mappings": {"text": "body"}}}),
    )
    .await;
    let trigger = api
        .call(Method::POST, "/v1/collections/col/trigger", ns, json!({}))
        .await;
    let task = trigger["task_id"].as_str().unwrap();
    for _ in 0..600 {
        let t = api
            .call(Method::GET, &format!("/v1/tasks/{task}"), None, Value::Null)
            .await;
        if t["status"] == "COMPLETED" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        api.count("/v1/collections/col/documents/list", "shared")
            .await,
        OBJECTS as i64
    );
    let mut second = ServeProcess::start_with(&db, Some(TEST_KEY), &env);
    second.base_url();
    Some((db, first, second, api))
}

/// Starts a copy of `shared` in batches of 4 (30 batches), `MAX_WORKERS` at once.
async fn start_copy(api: &Api, store: &Store) -> (String, MigrationKey) {
    let created = api
        .call(
            Method::POST,
            "/v1/namespaces/migrations/",
            None,
            json!({"config": {
            "migration_type": "copy", "source_namespace_id": "shared",
            "target_namespace_name": "shared_copy",
            "batch_options": {"batch_size": 4, "max_workers": MAX_WORKERS}}}),
        )
        .await;
    let id = created["migration_id"].as_str().unwrap().to_owned();
    api.call(
        Method::POST,
        &format!("/v1/namespaces/migrations/{id}/start"),
        None,
        json!({}),
    )
    .await;
    let org = status(api, &id).await["internal_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let record = store.get_migration(&org, &id).await.unwrap();
    (id, record.key)
}

/// Batches done, by worker.
async fn done_by(store: &Store, key: &MigrationKey) -> BTreeMap<String, i64> {
    store
        .migration_batches_done_by(key)
        .await
        .unwrap()
        .into_iter()
        .collect()
}

/// Waits until two workers have each written at least one batch of the migration.
async fn until_both_wrote(store: &Store, key: &MigrationKey) -> BTreeMap<String, i64> {
    for _ in 0..1200 {
        let by = done_by(store, key).await;
        if by.len() >= 2 {
            return by;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("the second process never took a batch");
}

async fn status(api: &Api, id: &str) -> Value {
    api.call(
        Method::GET,
        &format!("/v1/namespaces/migrations/{id}"),
        None,
        Value::Null,
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_share_a_migration_and_one_dies() {
    let Some((db, first, second, api)) = two_processes().await else {
        eprintln!("FERRY_TEST_DATABASE_URL unset: PostgreSQL-only test skipped");
        return;
    };
    let store = db.open().await;
    let (id, key) = start_copy(&api, &store).await;
    let before = until_both_wrote(&store, &key).await;
    second.kill();

    let mut done = status(&api, &id).await;
    for _ in 0..2400 {
        if ["completed", "failed", "cancelled"].contains(&done["status"].as_str().unwrap()) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        done = status(&api, &id).await;
    }
    assert_eq!(done["status"], "completed", "{done}");
    // Exact counts: nothing the dead process held was lost, nothing written twice (ids are
    // derived and inserts skip existing ones, so a duplicate would show as a count over).
    for path in [
        "/v1/buckets/b/objects/list",
        "/v1/collections/col/documents/list",
    ] {
        assert_eq!(
            api.count(path, "shared_copy").await,
            OBJECTS as i64,
            "{path}"
        );
    }
    let items = &done["additional_data"]["items"];
    assert_eq!(items["written"], 2 * OBJECTS, "{done}");
    assert_eq!(items["failed"], 0, "{done}");
    let after = done_by(&store, &key).await;
    assert_eq!(
        after.values().sum::<i64>(),
        30,
        "every batch written once: {after:?}"
    );
    for (worker, n) in &before {
        assert!(
            after[worker] >= *n,
            "{worker} wrote batches before the kill"
        );
    }
    first.terminate();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_stops_both_processes() {
    let Some((db, first, second, api)) = two_processes().await else {
        eprintln!("FERRY_TEST_DATABASE_URL unset: PostgreSQL-only test skipped");
        return;
    };
    let store = db.open().await;
    let (id, key) = start_copy(&api, &store).await;
    until_both_wrote(&store, &key).await;
    api.call(
        Method::POST,
        &format!("/v1/namespaces/migrations/{id}/cancel"),
        None,
        json!({}),
    )
    .await;
    let at_cancel: i64 = done_by(&store, &key).await.values().sum();
    // Let the batches in flight at the cancel finish (each is one transaction), then watch
    // the count hold still for several batch durations.
    let mut last = at_cancel;
    let mut still = 0;
    while still < 4 {
        tokio::time::sleep(Duration::from_millis(400)).await;
        let now: i64 = done_by(&store, &key).await.values().sum();
        still = if now == last { still + 1 } else { 0 };
        last = now;
    }
    assert!(
        last <= at_cancel + MAX_WORKERS,
        "after the cancel only the batches then in flight were written: {at_cancel} → {last}"
    );
    assert!(last < 30, "the copy did not run to its end");
    assert_eq!(status(&api, &id).await["status"], "cancelled");
    second.terminate();
    first.terminate();
}
