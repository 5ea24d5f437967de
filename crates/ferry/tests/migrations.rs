//! Namespace migrations: validate, create, start, and the copy engine end to end; the
//! lifecycle's illegal transitions; listing across organizations; failure and retry.

mod common;

use std::time::Duration;

use common::corpus::{documents, scoped, seed, PER_TOPIC, TOPICS};
use common::{assert_error, send, Backend, TestServer};
use reqwest::Method;
use serde_json::{json, Value};

const MIGRATIONS: &str = "/v1/namespaces/migrations";

async fn post(server: &TestServer, path: &str, body: Value) -> (u16, Value) {
    send(server.request(Method::POST, path).json(&body)).await
}

async fn wait_until_settled(server: &TestServer, id: &str) -> Value {
    for _ in 0..1200 {
        let (status, m) = send(server.request(Method::GET, &format!("{MIGRATIONS}/{id}"))).await;
        assert_eq!(status, 200, "{m}");
        if ["completed", "failed", "cancelled"].contains(&m["status"].as_str().unwrap()) {
            return m;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("migration {id} did not settle");
}

async fn copy_reproduces_the_namespace(backend: Backend) {
    let server = TestServer::start(backend).await;
    seed(&server).await;
    let config = json!({"migration_type": "copy", "source_namespace_id": "data",
                        "target_namespace_name": "data_copy",
                        "batch_options": {"batch_size": 4, "max_workers": 3}});

    let (status, validated) = post(
        &server,
        &format!("{MIGRATIONS}/validate"),
        json!({"config": config}),
    )
    .await;
    assert_eq!(status, 200, "{validated}");
    assert_eq!(validated["validation_result"]["valid"], true, "{validated}");
    assert_eq!(
        validated["dependency_graph"]["execution_order"]
            .as_array()
            .unwrap()
            .len(),
        2
    );

    let (status, created) = post(
        &server,
        &format!("{MIGRATIONS}/"),
        json!({"config": config}),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["status"], "draft");
    let id = created["migration_id"].as_str().unwrap().to_owned();
    let (status, started) = post(&server, &format!("{MIGRATIONS}/{id}/start"), json!({})).await;
    assert_eq!(status, 200, "{started}");
    assert_eq!(started["status"], "pending");
    let task_id = started["task_id"].as_str().unwrap().to_owned();

    let done = wait_until_settled(&server, &id).await;
    assert_eq!(done["status"], "completed", "{done}");
    assert_eq!(done["progress"]["overall_progress_percent"], 100.0);
    let stages = done["progress"]["stages"].as_array().unwrap();
    assert_eq!(stages.len(), 7);
    assert!(stages.iter().all(|s| s["status"] == "completed"), "{done}");
    assert_eq!(
        stages[2]["items_total"], 36,
        "18 objects and 18 documents: {done}"
    );
    assert_eq!(stages[2]["items_completed"], 36);
    let (status, task) = send(server.request(Method::GET, &format!("/v1/tasks/{task_id}"))).await;
    assert_eq!(status, 200, "{task}");
    assert_eq!(task["status"], "COMPLETED", "{task}");

    // The target holds the same documents, ids and lineage remapped.
    let source_docs = documents(&server, "texts").await;
    let (status, target_docs) = send(
        server
            .request(
                Method::POST,
                "/v1/collections/texts/documents/list?limit=1000",
            )
            .header("X-Namespace", "data_copy")
            .json(&json!({})),
    )
    .await;
    assert_eq!(status, 200, "{target_docs}");
    let target_docs = target_docs["results"].as_array().unwrap();
    assert_eq!(target_docs.len(), TOPICS.len() * PER_TOPIC);
    let mut source_texts: Vec<&str> = source_docs
        .iter()
        .map(|d| d["text"].as_str().unwrap())
        .collect();
    let mut target_texts: Vec<&str> = target_docs
        .iter()
        .map(|d| d["text"].as_str().unwrap())
        .collect();
    source_texts.sort();
    target_texts.sort();
    assert_eq!(source_texts, target_texts);
    let source_ids: Vec<&str> = source_docs
        .iter()
        .map(|d| d["document_id"].as_str().unwrap())
        .collect();
    for doc in target_docs {
        assert!(
            !source_ids.contains(&doc["document_id"].as_str().unwrap()),
            "{doc}"
        );
    }
    let (status, bucket) = send(
        server
            .request(Method::GET, "/v1/buckets/docs")
            .header("X-Namespace", "data_copy"),
    )
    .await;
    assert_eq!(status, 200, "{bucket}");
    assert_eq!(bucket["object_count"], 18, "{bucket}");
    let _ = scoped;
}

async fn illegal_transitions_are_refused_with_a_code(backend: Backend) {
    let server = TestServer::start(backend).await;
    seed(&server).await;
    let config = json!({"migration_type": "copy", "source_namespace_id": "data"});
    let (status, created) = post(
        &server,
        &format!("{MIGRATIONS}/"),
        json!({"config": config}),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    let id = created["migration_id"].as_str().unwrap().to_owned();
    let (status, body) = send(server.request(Method::DELETE, &format!("{MIGRATIONS}/{id}"))).await;
    assert_eq!(status, 204, "{body}");
    let (status, body) = send(server.request(Method::GET, &format!("{MIGRATIONS}/{id}"))).await;
    assert_error(status, &body, 404, "NotFoundError", "migration_not_found");

    let (_, created) = post(
        &server,
        &format!("{MIGRATIONS}/"),
        json!({"config": config}),
    )
    .await;
    let id = created["migration_id"].as_str().unwrap().to_owned();
    let (status, cancelled) = post(
        &server,
        &format!("{MIGRATIONS}/{id}/cancel"),
        json!({"reason": "no"}),
    )
    .await;
    assert_eq!(status, 200, "{cancelled}");
    assert_eq!(cancelled["status"], "cancelled");
    for (path, code) in [
        ("start", "migration_cancelled"),
        ("cancel", "migration_already_cancelled"),
    ] {
        let (status, body) = post(&server, &format!("{MIGRATIONS}/{id}/{path}"), json!({})).await;
        assert_error(status, &body, 400, "InvalidStateError", code);
    }
}

store_tests!(
    copy_reproduces_the_namespace,
    illegal_transitions_are_refused_with_a_code,
);
