//! A dense vector index's storage as a user chooses it: the extractor parameters `datatype`
//! (float32, uint8) and `on_disk` show on the collection's vector indexes. A graph mapped
//! from its file answers exactly as a scan does, finds writes and misses deletes at once,
//! merges them into a new file in the background, and is mapped again after a restart. A
//! uint8 graph finds nearly every true neighbour and reports exact scores. Bad values get a
//! 422 naming the parameter, and nothing is created.

mod common;

use common::corpus::scoped;
use common::vectors::{always_indexed, indexes, nearest, until_caught_up, write, Seeded};
use common::{assert_invalid, send, Backend, TestServer};
use reqwest::Method;
use serde_json::{json, Value};

/// Documents after which a mapped graph is merged (the default `merge_after`).
const MERGE_AFTER: usize = 5_000;

async fn collection(s: &Seeded) -> Value {
    let path = format!("/v1/collections/{}", s.target.1);
    let (status, body) = send(scoped(&s.server, Method::GET, &path)).await;
    assert_eq!(status, 200, "{body}");
    body
}

/// Every query's answer equals the exact top 10 of what the test wrote.
async fn answers_are_exact(s: &Seeded, queries: &[Vec<f32>]) {
    for query in queries {
        assert_eq!(
            nearest(&s.base, &s.http, query).await,
            s.corpus.exact_top(query, 10)
        );
    }
}

async fn a_graph_on_disk_answers_exactly_and_merges_changes(backend: Backend) {
    let parameters = json!({"on_disk": true});
    let mut s = Seeded::start_with(backend, (17, 12, 600), parameters).await;
    let index = &collection(&s).await["vector_indexes"][0]["index"];
    assert_eq!(index["datatype"], "float32", "{index}");
    assert_eq!(index["on_disk"], true, "{index}");
    let queries: Vec<Vec<f32>> = (0..20).map(|_| s.vector()).collect();
    let collection_id = s.target.1.clone();

    // The first query starts the build; once built, the graph is mapped from its file.
    answers_are_exact(&s, &queries).await;
    let ready = until_caught_up(&s.base, &s.http, &collection_id).await;
    let report = &ready["indexes"][0];
    assert_eq!(report["memory_mapped"], true, "{ready}");
    assert_eq!(report["indexed_vectors"], 600, "{ready}");
    answers_are_exact(&s, &queries).await;

    // A mapped graph never changes: a write and a delete are read from the change feed.
    let planted = queries[1].clone();
    let (ns, vector) = (s.target.0, s.target.2.clone());
    write(
        &s.server.store,
        (ns, &collection_id, &vector),
        &mut s.corpus,
        1,
        || planted.clone(),
    )
    .await;
    let best = s.corpus.exact_top(&queries[0], 1)[0].clone();
    let path = format!("/v1/collections/{collection_id}/documents/{best}");
    let (status, body) = send(scoped(&s.server, Method::DELETE, &path)).await;
    assert_eq!(status, 200, "{body}");
    s.corpus.remove(&best);
    let answer = nearest(&s.base, &s.http, &queries[1]).await;
    assert_eq!(answer[0], s.corpus.vectors.last().unwrap().0);
    answers_are_exact(&s, &queries).await;
    let behind = indexes(&s.base, &s.http, &collection_id).await;
    assert_eq!(behind["indexes"][0]["changes_behind"], 2, "{behind}");
    assert_eq!(behind["indexes"][0]["indexed_vectors"], 600, "{behind}");

    // Past `merge_after` changes the maintainer merges them into a new file and maps it.
    s.write(MERGE_AFTER).await;
    let merged = until_caught_up(&s.base, &s.http, &collection_id).await;
    let report = &merged["indexes"][0];
    assert_eq!(report["memory_mapped"], true, "{merged}");
    assert_eq!(
        report["indexed_vectors"],
        600 + 1 - 1 + MERGE_AFTER,
        "{merged}"
    );
    answers_are_exact(&s, &queries).await;

    // After a restart the saved graph is mapped again, not rebuilt.
    let Seeded { server, .. } = s;
    let server = TestServer::start_with_indexes(server.stop().await, always_indexed()).await;
    let base = server.url("");
    let http = reqwest::Client::new();
    nearest(&base, &http, &queries[0]).await;
    let restarted = until_caught_up(&base, &http, &collection_id).await;
    let report = &restarted["indexes"][0];
    assert_eq!(report["memory_mapped"], true, "{restarted}");
    assert_eq!(report["loaded_from_disk"], true, "{restarted}");
    assert_eq!(report["indexed_vectors"], 600 + MERGE_AFTER, "{restarted}");
    server.stop().await;
}

async fn a_uint8_graph_finds_nearly_every_true_neighbour(backend: Backend) {
    let parameters = json!({"datatype": "uint8"});
    let mut s = Seeded::start_with(backend, (23, 12, 2_000), parameters).await;
    let index = &collection(&s).await["vector_indexes"][0]["index"];
    assert_eq!(index["datatype"], "uint8", "{index}");
    assert_eq!(index["on_disk"], false, "{index}");
    let queries: Vec<Vec<f32>> = (0..50).map(|_| s.vector()).collect();
    nearest(&s.base, &s.http, &queries[0]).await;
    let ready = until_caught_up(&s.base, &s.http, &s.target.1).await;
    assert_eq!(ready["indexes"][0]["memory_mapped"], false, "{ready}");
    assert_eq!(ready["indexes"][0]["indexed_vectors"], 2_000, "{ready}");
    let mut found = 0;
    for query in &queries {
        let exact = s.corpus.exact_top(query, 10);
        let answer = nearest(&s.base, &s.http, query).await;
        // Ranked by the stored vectors: whatever the graph proposes comes back in exact order.
        assert_eq!(answer[0], exact[0]);
        found += answer.iter().filter(|id| exact.contains(id)).count();
    }
    let recall = found as f64 / (queries.len() * 10) as f64;
    assert!(recall >= 0.95, "recall@10 {recall:.3} of a uint8 graph");
    s.server.stop().await;
}

async fn storage_parameters_are_listed_checked_and_refused_when_wrong(backend: Backend) {
    let server = TestServer::start(backend).await;
    server.create_namespace("data").await;
    let (status, extractors) = send(scoped(
        &server,
        Method::GET,
        "/v1/collections/features/extractors",
    ))
    .await;
    assert_eq!(status, 200, "{extractors}");
    for extractor in extractors.as_array().expect("a list of extractors") {
        let schema = &extractor["parameter_schema"]["properties"];
        assert_eq!(schema["datatype"]["enum"], json!(["float32", "uint8"]));
        assert_eq!(schema["on_disk"]["default"], false);
        let dense = &extractor["required_vector_indexes"][0]["index"];
        assert_eq!(dense["datatype"], "float32", "{extractor}");
        assert_eq!(dense["on_disk"], false, "{extractor}");
    }
    let (status, body) = send(scoped(&server, Method::POST, "/v1/buckets").json(&json!({
        "bucket_name": "docs",
        "bucket_schema": {"properties": {"content": {"type": "text"}}}
    })))
    .await;
    assert_eq!(status, 200, "{body}");
    for (parameters, field, kind) in [
        (json!({"datatype": "float16"}), "datatype", "enum"),
        (json!({"on_disk": "yes"}), "on_disk", "bool_type"),
    ] {
        let (status, body) = send(
            scoped(&server, Method::POST, "/v1/collections").json(&json!({
                "collection_name": "vectors",
                "source": {"type": "bucket", "bucket_ids": ["docs"]},
                "feature_extractor": {"feature_extractor_name": "text_extractor", "version": "v1",
                    "input_mappings": {"text": "content"}, "parameters": parameters}
            })),
        )
        .await;
        let loc = json!(["body", "feature_extractor", "parameters", field]);
        assert_invalid(status, &body, loc, kind);
    }
    let (status, list) = send(scoped(&server, Method::POST, "/v1/collections/list")).await;
    assert_eq!(status, 200, "{list}");
    assert_eq!(list["results"], json!([]), "{list}");
    server.stop().await;
}

store_tests!(
    a_graph_on_disk_answers_exactly_and_merges_changes,
    a_uint8_graph_finds_nearly_every_true_neighbour,
    storage_parameters_are_listed_checked_and_refused_when_wrong,
);
