//! Crash windows and cancel, stepped in process. The server's workers and migration engines are
//! held at a breakpoint (batch N committed, or batch N read but nothing of it committed); the
//! test acts there and resumes them, or aborts them there — a crash — and a second server
//! takes the task over once its short lease runs out. Every outcome is an exact count; no
//! sleep lines anything up. `cli.rs` proves the same windows with real process death.

mod common;

use std::collections::BTreeSet;
use std::time::Duration;

use common::migration::{post, wait_until_settled, MIGRATIONS};
use common::{send, Backend, TestDatabase, TestServer};
use ferry::TaskConfig;
use ferry_pipeline::{Breakpoint, Breakpoints, Pause};
use reqwest::Method;
use serde_json::{json, Value};

/// Batches of 10 (55 items: 6 batches) and a 1 s lease, so a crashed task is taken over soon.
fn tasks() -> TaskConfig {
    TaskConfig {
        batch_size: 10,
        lease: Duration::from_secs(1),
        ..TaskConfig::default()
    }
}

/// A request scoped to namespace `ns`.
fn scoped(server: &TestServer, method: Method, ns: &str, path: &str) -> reqwest::RequestBuilder {
    server.request(method, path).header("X-Namespace", ns)
}

/// Namespace `crash`: bucket `b` with 55 text objects, collection `col` over it (text
/// extractor v1). Returns the collection trigger's task id.
async fn seed_and_trigger(server: &TestServer) -> String {
    server.create_namespace("crash").await;
    let (status, body) = send(
        scoped(server, Method::POST, "crash", "/v1/buckets").json(&json!({
        "bucket_name": "b", "bucket_schema": {"properties": {"body": {"type": "text"}}}})),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let objects: Vec<_> = (0..55)
        .map(|i| json!({"body": format!("object {i} text")}))
        .collect();
    let (status, body) = send(
        scoped(server, Method::POST, "crash", "/v1/buckets/b/objects/batch")
            .json(&json!({"objects": objects})),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = send(
        scoped(server, Method::POST, "crash", "/v1/collections").json(&json!({
        "collection_name": "col", "source": {"type": "bucket", "bucket_ids": ["b"]},
        "feature_extractor": {"feature_extractor_name": "text_extractor", "version": "v1",
                              "input_mappings": {"text": "body"}}})),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let (status, trigger) = send(scoped(
        server,
        Method::POST,
        "crash",
        "/v1/collections/col/trigger",
    ))
    .await;
    assert_eq!(status, 202, "{trigger}");
    trigger["task_id"].as_str().unwrap().to_owned()
}

async fn task(server: &TestServer, task_id: &str) -> Value {
    let (status, task) = send(server.request(Method::GET, &format!("/v1/tasks/{task_id}"))).await;
    assert_eq!(status, 200, "{task}");
    task
}

/// The task once its status is `want` (polled for up to a minute).
async fn wait_for_task(server: &TestServer, task_id: &str, want: &str) -> Value {
    let mut last = Value::Null;
    for _ in 0..1200 {
        last = task(server, task_id).await;
        if last["status"] == want {
            return last;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("task {task_id} never became {want}: {last}");
}

/// Seeds `crash` and waits for its 55 documents.
async fn seed(server: &TestServer) {
    let task_id = seed_and_trigger(server).await;
    wait_for_task(server, &task_id, "COMPLETED").await;
}

/// The results of a list in namespace `ns`.
async fn list(server: &TestServer, ns: &str, path: &str) -> Vec<Value> {
    let (status, body) = send(scoped(server, Method::POST, ns, path).json(&json!({}))).await;
    assert_eq!(status, 200, "{body}");
    body["results"].as_array().unwrap().clone()
}

async fn objects(server: &TestServer, ns: &str) -> Vec<Value> {
    list(server, ns, "/v1/buckets/b/objects/list?limit=1000").await
}

async fn documents(server: &TestServer, ns: &str) -> Vec<Value> {
    list(server, ns, "/v1/collections/col/documents/list?limit=1000").await
}

/// `ns`'s collection holds 55 documents, each once, made from 55 distinct objects; returns
/// those objects' ids.
async fn assert_documents_once(server: &TestServer, ns: &str) -> BTreeSet<String> {
    let docs = documents(server, ns).await;
    assert_eq!(docs.len(), 55, "no document lost, none duplicated");
    let ids: BTreeSet<&str> = docs
        .iter()
        .map(|d| d["document_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), 55);
    let sources: BTreeSet<String> = docs
        .iter()
        .map(|d| d["_internal"]["lineage"]["source_object_id"].to_string())
        .collect();
    assert_eq!(sources.len(), 55, "every object exactly once");
    let (_, collection) = send(scoped(server, Method::GET, ns, "/v1/collections/col")).await;
    assert_eq!(collection["document_count"], 55, "{collection}");
    sources
}

/// `ns` holds 55 objects, and 55 documents made from them, each once.
async fn assert_complete(server: &TestServer, ns: &str) {
    let sources = assert_documents_once(server, ns).await;
    let objects: BTreeSet<String> = objects(server, ns)
        .await
        .iter()
        .map(|o| o["object_id"].to_string())
        .collect();
    assert_eq!(objects.len(), 55);
    assert_eq!(sources, objects, "lineage names {ns}'s objects");
}

/// Creates and starts a copy of `crash` to `crash_copy` in batches of 10, one at a time (12
/// batches: 6 of objects, then 6 of documents).
async fn start_copy(server: &TestServer) -> String {
    let (status, created) = post(
        server,
        &format!("{MIGRATIONS}/"),
        json!({"start_immediately": true, "config": {
            "migration_type": "copy", "source_namespace_id": "crash",
            "target_namespace_name": "crash_copy",
            "batch_options": {"batch_size": 10, "max_workers": 1, "retry_failed": true}}}),
    )
    .await;
    assert_eq!(status, 200, "{created}");
    created["migration_id"].as_str().unwrap().to_owned()
}

/// A trigger's worker crashes at `at`; a second server finishes the task with every object
/// processed exactly once.
async fn trigger_crash_window(backend: Backend, at: Breakpoint, committed_before_crash: i64) {
    let (breakpoints, pause) = Breakpoints::pause_at(at);
    let server = TestServer::start_with(
        TestDatabase::new(backend).await,
        TaskConfig {
            pipeline_breakpoints: breakpoints,
            ..tasks()
        },
    )
    .await;
    let task_id = seed_and_trigger(&server).await;
    pause.reached().await;
    let held = task(&server, &task_id).await;
    assert_eq!(held["status"], "IN_PROGRESS", "{held}");
    assert_eq!(
        held["additional_data"]["processed"], committed_before_crash,
        "{held}"
    );
    let db = server.crash().await;

    let server = TestServer::start_with(db, tasks()).await;
    let done = wait_for_task(&server, &task_id, "COMPLETED").await;
    assert_eq!(done["additional_data"]["processed"], 55, "{done}");
    assert_eq!(
        done["additional_data"]["attempts"], 2,
        "taken over by the second server: {done}"
    );
    assert_documents_once(&server, "crash").await;
    server.stop().await;
}

async fn trigger_crashed_after_a_commit_resumes_from_the_next_batch(backend: Backend) {
    trigger_crash_window(backend, Breakpoint::AfterCommit(2), 20).await;
}

async fn trigger_crashed_before_a_commit_redoes_only_that_batch(backend: Backend) {
    trigger_crash_window(backend, Breakpoint::BeforeCommit(3), 20).await;
}

/// A fresh server with `crash` seeded and a copy of it started, once its engine is held at
/// `at`; returns the server, the hold and the migration id.
async fn copy_held_at(backend: Backend, at: Breakpoint) -> (TestServer, Pause, String) {
    let (breakpoints, pause) = Breakpoints::pause_at(at);
    let server = TestServer::start_with(
        TestDatabase::new(backend).await,
        TaskConfig {
            migration_breakpoints: breakpoints,
            ..tasks()
        },
    )
    .await;
    seed(&server).await;
    let id = start_copy(&server).await;
    pause.reached().await;
    (server, pause, id)
}

/// A copy's engine crashes at `at`, with exactly `objects_copied` objects and
/// `documents_copied` documents in the target; a second server resumes the migration, which
/// completes with the target whole.
async fn copy_crash_window(
    backend: Backend,
    at: Breakpoint,
    objects_copied: usize,
    documents_copied: usize,
) {
    let (server, _held, id) = copy_held_at(backend, at).await;
    assert_eq!(objects(&server, "crash_copy").await.len(), objects_copied);
    assert_eq!(
        documents(&server, "crash_copy").await.len(),
        documents_copied
    );
    let db = server.crash().await;

    let server = TestServer::start_with(db, tasks()).await;
    let done = wait_until_settled(&server, &id).await;
    assert_eq!(done["status"], "completed", "{done}");
    assert_eq!(
        done["progress"]["stages"][2]["items_completed"], 110,
        "{done}"
    );
    // The migration completes with its task, in one transaction: no wait for the task.
    let settled = task(&server, done["task_id"].as_str().unwrap()).await;
    assert_eq!(settled["status"], "COMPLETED", "{settled}");
    assert_eq!(
        settled["additional_data"]["attempts"], 2,
        "resumed by the second server: {settled}"
    );
    assert_complete(&server, "crash_copy").await;
    server.stop().await;
}

async fn copy_crashed_after_its_second_batch_resumes(backend: Backend) {
    copy_crash_window(backend, Breakpoint::AfterCommit(2), 20, 0).await;
}

async fn copy_crashed_between_read_and_commit_redoes_the_batch(backend: Backend) {
    copy_crash_window(backend, Breakpoint::BeforeCommit(7), 55, 0).await;
}

async fn copy_crashed_after_its_last_batch_finishes_the_stages(backend: Backend) {
    copy_crash_window(backend, Breakpoint::AfterCommit(12), 55, 55).await;
}

/// A copy held at `at` is cancelled over HTTP, then let go: it stops within that batch, with
/// exactly `objects_copied` objects in the partial target.
async fn cancel_while_held(backend: Backend, at: Breakpoint, objects_copied: usize) {
    let (server, pause, id) = copy_held_at(backend, at).await;
    let (status, cancelled) = post(
        &server,
        &format!("{MIGRATIONS}/{id}/cancel"),
        json!({"reason": "changed my mind"}),
    )
    .await;
    assert_eq!(status, 200, "{cancelled}");
    assert_eq!(cancelled["status"], "cancelled", "{cancelled}");
    pause.resume();

    let m = wait_until_settled(&server, &id).await;
    let task_id = m["task_id"].as_str().unwrap().to_owned();
    wait_for_task(&server, &task_id, "CANCELED").await;
    let (_, m) = send(server.request(Method::GET, &format!("{MIGRATIONS}/{id}"))).await;
    assert_eq!(m["status"], "cancelled", "{m}");
    assert_eq!(m["additional_data"]["cancel_reason"], "changed my mind");
    assert_eq!(m["additional_data"]["target_state"], "partial");
    assert_eq!(
        objects(&server, "crash_copy").await.len(),
        objects_copied,
        "the engine stopped after the batch it held"
    );
    assert!(documents(&server, "crash_copy").await.is_empty());
    server.stop().await;
}

async fn cancel_after_a_commit_stops_before_the_next_batch(backend: Backend) {
    cancel_while_held(backend, Breakpoint::AfterCommit(2), 20).await;
}

async fn cancel_during_a_batch_lets_it_commit_and_stops(backend: Backend) {
    cancel_while_held(backend, Breakpoint::BeforeCommit(3), 30).await;
}

store_tests!(
    trigger_crashed_after_a_commit_resumes_from_the_next_batch,
    trigger_crashed_before_a_commit_redoes_only_that_batch,
    copy_crashed_after_its_second_batch_resumes,
    copy_crashed_between_read_and_commit_redoes_the_batch,
    copy_crashed_after_its_last_batch_finishes_the_stages,
    cancel_after_a_commit_stops_before_the_next_batch,
    cancel_during_a_batch_lets_it_commit_and_stops,
);
