//! A small corpus shared by tests that search or group documents: namespace `data`, bucket
//! `docs` with 18 texts in three topics of disjoint vocabulary, and collection `texts`
//! (text extractor v1, `topic` passed through).

use std::time::Duration;

use reqwest::{Method, RequestBuilder};
use serde_json::{json, Value};

use super::{send, TestServer};

/// A request scoped to namespace `data`.
pub fn scoped(server: &TestServer, method: Method, path: &str) -> RequestBuilder {
    server.request(method, path).header("X-Namespace", "data")
}

/// Three topics with disjoint vocabularies; each text is a rotation of its topic's words, so
/// texts of one topic share almost every n-gram and texts of different topics share none.
pub const TOPICS: [(&str, &[&str]); 3] = [
    (
        "football",
        &[
            "goalkeeper",
            "penalty",
            "striker",
            "stadium",
            "referee",
            "midfield",
            "tackle",
            "league",
        ],
    ),
    (
        "baking",
        &[
            "flour",
            "yeast",
            "dough",
            "oven",
            "knead",
            "butter",
            "crust",
            "sourdough",
        ],
    ),
    (
        "astronomy",
        &[
            "telescope",
            "galaxy",
            "nebula",
            "comet",
            "orbit",
            "quasar",
            "pulsar",
            "supernova",
        ],
    ),
];
pub const PER_TOPIC: usize = 6;

/// Namespace `data`, bucket `docs` with 18 texts in 3 topics, collection `texts` (text
/// extractor v1) triggered to completion.
pub async fn seed(server: &TestServer) {
    seed_with_extractor(server, "v1").await;
}

/// [`seed`], with collection `texts` on text extractor `version`.
pub async fn seed_with_extractor(server: &TestServer, version: &str) {
    server.create_namespace("data").await;
    let (status, body) = send(scoped(server, Method::POST, "/v1/buckets").json(&json!({
        "bucket_name": "docs",
        "bucket_schema": {"properties": {"topic": {"type": "string"}, "content": {"type": "text"}}}
    })))
    .await;
    assert_eq!(status, 200, "{body}");
    let mut objects = Vec::new();
    for (topic, words) in TOPICS {
        for i in 0..PER_TOPIC {
            let mut rotated = words.to_vec();
            rotated.rotate_left(i % words.len());
            let text = rotated[..6].join(" ");
            objects.push(json!({"topic": topic, "blobs": [
                {"property": "content", "type": "text", "data": text}]}));
        }
    }
    let (status, body) = send(
        scoped(server, Method::POST, "/v1/buckets/docs/objects/batch")
            .json(&json!({"objects": objects})),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    create_and_trigger(
        server,
        json!({
            "collection_name": "texts",
            "source": {"type": "bucket", "bucket_ids": ["docs"]},
            "feature_extractor": {"feature_extractor_name": "text_extractor",
                "version": version, "input_mappings": {"text": "content"},
                "field_passthrough": [{"source_path": "topic"}]}
        }),
    )
    .await;
}

/// Triggers collection `collection` of namespace `data` and waits for its task to end.
pub async fn trigger(server: &TestServer, collection: &str) -> Value {
    let (status, trigger) = send(scoped(
        server,
        Method::POST,
        &format!("/v1/collections/{collection}/trigger"),
    ))
    .await;
    assert_eq!(status, 202, "{trigger}");
    wait_for_task(server, trigger["task_id"].as_str().unwrap()).await
}

pub async fn wait_for_task(server: &TestServer, task_id: &str) -> Value {
    for _ in 0..600 {
        let (status, task) =
            send(server.request(Method::GET, &format!("/v1/tasks/{task_id}"))).await;
        assert_eq!(status, 200, "{task}");
        match task["status"].as_str().unwrap() {
            "COMPLETED" | "COMPLETED_WITH_ERRORS" | "FAILED" => return task,
            _ => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
    panic!("task {task_id} did not finish");
}

/// Every document of `collection` in namespace `data` (at most 1,000).
pub async fn documents(server: &TestServer, collection: &str) -> Vec<Value> {
    let (status, page) = send(
        scoped(
            server,
            Method::POST,
            &format!("/v1/collections/{collection}/documents/list?limit=1000"),
        )
        .json(&json!({})),
    )
    .await;
    assert_eq!(status, 200, "{page}");
    page["results"].as_array().unwrap().clone()
}

/// The feature the corpus's text collections carry.
pub const FEATURE: &str = "mixpeek://text_extractor@v1/text_embedding";

pub fn search_stage(top_k: i64) -> Value {
    json!({"stage_name": "search", "config": {"stage_id": "feature_search", "parameters": {
        "searches": [{"feature_uri": FEATURE, "query": {"input_mode": "text",
                      "value": "{{INPUT.query}}"}, "top_k": top_k}]}}})
}

pub async fn create_retriever(server: &TestServer, body: Value) -> Value {
    let (status, retriever) =
        send(scoped(server, Method::POST, "/v1/retrievers").json(&body)).await;
    assert_eq!(status, 200, "{retriever}");
    retriever
}

/// Bucket `labels` with one short text per topic, carrying its `label`, in collection
/// `label_texts`; retriever `labeler` searches it with the document's text.
pub async fn seed_reference(server: &TestServer) {
    let (status, body) = send(scoped(server, Method::POST, "/v1/buckets").json(&json!({
        "bucket_name": "labels",
        "bucket_schema": {"properties": {"label": {"type": "string"}, "content": {"type": "text"}}}
    })))
    .await;
    assert_eq!(status, 200, "{body}");
    let objects: Vec<Value> = TOPICS
        .iter()
        .map(|(topic, words)| {
            json!({"label": topic, "blobs": [
                {"property": "content", "type": "text", "data": words[2..8].join(" ")}]})
        })
        .collect();
    let (status, body) = send(
        scoped(server, Method::POST, "/v1/buckets/labels/objects/batch")
            .json(&json!({"objects": objects})),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    create_and_trigger(
        server,
        json!({
            "collection_name": "label_texts",
            "source": {"type": "bucket", "bucket_ids": ["labels"]},
            "feature_extractor": {"feature_extractor_name": "text_extractor",
                "version": "v1", "input_mappings": {"text": "content"},
                "field_passthrough": [{"source_path": "label"}]}
        }),
    )
    .await;
    create_retriever(
        server,
        json!({"retriever_name": "labeler", "collection_identifiers": ["label_texts"],
               "stages": [search_stage(3)]}),
    )
    .await;
}

pub fn taxonomy_body() -> Value {
    json!({"taxonomy_name": "topics", "config": {
        "taxonomy_type": "flat", "retriever_id": "labeler",
        "input_mappings": [{"input_key": "query", "source_type": "payload", "path": "text"}],
        "source_collection": {"collection_id": "label_texts",
            "enrichment_fields": [{"field_path": "label", "target_field": "topic_label"}]}}})
}

/// Creates a collection in namespace `data` from `body` and triggers it to completion;
/// returns its id.
pub async fn create_and_trigger(server: &TestServer, body: Value) -> String {
    let (status, created) = send(scoped(server, Method::POST, "/v1/collections").json(&body)).await;
    assert_eq!(status, 200, "{created}");
    let name = body["collection_name"].as_str().unwrap();
    let (status, trigger) = send(scoped(
        server,
        Method::POST,
        &format!("/v1/collections/{name}/trigger"),
    ))
    .await;
    assert_eq!(status, 202, "{trigger}");
    let task = wait_for_task(server, trigger["task_id"].as_str().unwrap()).await;
    assert_eq!(task["status"], "COMPLETED", "{task}");
    created["collection_id"].as_str().unwrap().to_owned()
}

/// Cluster `topics` over `texts` (3 clusters of [`FEATURE`]); executed to completion when
/// `execute`. Returns its id.
pub async fn cluster_texts(server: &TestServer, execute: bool) -> String {
    let (status, cluster) = send(scoped(server, Method::POST, "/v1/clusters").json(&json!({
        "collection_ids": ["texts"], "cluster_name": "topics",
        "vector_config": {"feature_uris": [FEATURE], "clustering_method": "kmeans",
                          "kmeans_parameters": {"n_clusters": 3, "random_state": 7}}})))
    .await;
    assert_eq!(status, 200, "{cluster}");
    let cluster_id = cluster["cluster_id"].as_str().unwrap().to_owned();
    if execute {
        let (status, run) = send(scoped(
            server,
            Method::POST,
            &format!("/v1/clusters/{cluster_id}/execute"),
        ))
        .await;
        assert_eq!(status, 200, "{run}");
        let run = wait_for_task(server, run["task_id"].as_str().unwrap()).await;
        assert_eq!(run["status"], "COMPLETED", "{run}");
    }
    cluster_id
}

/// Checks the filters of the execution history at `path` (a list of namespace `data`), whose
/// count is at the JSON pointer `total` and which holds `completed` executions, all of them
/// `completed`: `{"status": "completed"}` finds them all, one `eq` on `failed` under `AND`
/// finds none, and a filter on anything but the status alone is a 422 at `body.filters`.
pub async fn assert_history_filters(server: &TestServer, path: &str, total: &str, completed: i64) {
    let eq_failed = json!({"AND": [{"field": "status", "operator": "eq", "value": "failed"}]});
    for (filters, expected) in [(json!({"status": "completed"}), completed), (eq_failed, 0)] {
        let (status, listed) =
            send(scoped(server, Method::POST, path).json(&json!({"filters": filters}))).await;
        assert_eq!(status, 200, "{filters}: {listed}");
        assert_eq!(
            listed.pointer(total),
            Some(&json!(expected)),
            "{filters}: {listed}"
        );
    }
    for filters in [
        json!({"name": "semantic"}),
        json!({"status": "completed", "num_points": 18}),
    ] {
        let (status, refused) =
            send(scoped(server, Method::POST, path).json(&json!({"filters": filters}))).await;
        assert_eq!(status, 422, "{filters}: {refused}");
        assert_eq!(
            refused["detail"][0]["loc"],
            json!(["body", "filters"]),
            "{refused}"
        );
    }
}
