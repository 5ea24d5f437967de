//! Clusters group a collection's documents by their vectors: k-means runs as a task, writes
//! `cluster_id` onto each document, keeps its centroids with the execution, and leaves a
//! Parquet artifact of assignments; bad references are refused naming what is wrong.

mod common;

use std::collections::{HashMap, HashSet};

use common::corpus::{
    assert_history_filters, documents, scoped, seed, wait_for_task, PER_TOPIC, TOPICS,
};
use common::{assert_error, send, Backend, TestServer};
use parquet::file::reader::{FileReader, SerializedFileReader};
use parquet::record::RowAccessor;
use reqwest::Method;
use serde_json::{json, Value};

const FEATURE: &str = "mixpeek://text_extractor@v1/text_embedding";

/// Every document carries one of k cluster ids, shared by its whole topic and no other.
fn assert_topics_have_their_own_clusters(run: &str, docs: &[Value]) {
    assert_eq!(docs.len(), TOPICS.len() * PER_TOPIC);
    let mut by_topic: HashMap<String, HashSet<String>> = HashMap::new();
    for doc in docs {
        let label = doc["cluster_id"]
            .as_str()
            .unwrap_or_else(|| panic!("{doc}"));
        assert!(["cl_0", "cl_1", "cl_2"].contains(&label), "{doc}");
        assert!(doc["topic"].is_string(), "other fields kept: {doc}");
        by_topic
            .entry(doc["topic"].as_str().unwrap().to_owned())
            .or_default()
            .insert(label.to_owned());
    }
    let labels: HashSet<String> = by_topic
        .values()
        .map(|set| {
            assert_eq!(
                set.len(),
                1,
                "{run}: a topic split across clusters: {by_topic:?}"
            );
            set.iter().next().unwrap().clone()
        })
        .collect();
    assert_eq!(labels.len(), 3, "{run}: topics merged: {by_topic:?}");
}

fn kmeans_cluster(collection_ids: Value, k: i64) -> Value {
    json!({
        "collection_ids": collection_ids,
        "cluster_name": "topics",
        "vector_config": {"feature_uris": [FEATURE], "clustering_method": "kmeans",
                          "kmeans_parameters": {"n_clusters": k, "random_state": 7}}
    })
}

async fn k_means_assigns_each_topic_to_its_own_cluster(backend: Backend) {
    let server = TestServer::start(backend).await;
    seed(&server).await;

    let (status, cluster) = send(
        scoped(&server, Method::POST, "/v1/clusters").json(&kmeans_cluster(json!(["texts"]), 3)),
    )
    .await;
    assert_eq!(status, 200, "{cluster}");
    let cluster_id = cluster["cluster_id"].as_str().unwrap().to_owned();
    assert!(cluster_id.starts_with("clust_"), "{cluster}");
    assert_eq!(cluster["cluster_name"], "topics");
    assert_eq!(cluster["cluster_type"], "vector");
    assert_eq!(cluster["feature_uris"], json!([FEATURE]));
    assert_eq!(cluster["algorithm"], "kmeans");
    assert_eq!(cluster["algorithm_params"]["n_clusters"], 3);
    assert_eq!(cluster["input_collections"].as_array().unwrap().len(), 1);
    assert!(cluster["input_collections"][0]
        .as_str()
        .unwrap()
        .starts_with("col_"));

    let (status, task) = send(scoped(
        &server,
        Method::POST,
        &format!("/v1/clusters/{cluster_id}/execute"),
    ))
    .await;
    assert_eq!(status, 200, "{task}");
    assert_eq!(task["task_type"], "engine_cluster_build", "{task}");
    let task = wait_for_task(&server, task["task_id"].as_str().unwrap()).await;
    assert_eq!(task["status"], "COMPLETED", "{task}");
    let run_id = task["outputs"][0]["run_id"].as_str().unwrap().to_owned();

    let docs = documents(&server, "texts").await;
    assert_topics_have_their_own_clusters("first run", &docs);
    // The execution is listed, with its centroids and metrics.
    let (status, latest) = send(scoped(
        &server,
        Method::GET,
        &format!("/v1/clusters/{cluster_id}/executions?include_vectors=true"),
    ))
    .await;
    assert_eq!(status, 200, "{latest}");
    assert_eq!(latest["run_id"], run_id.as_str());
    assert_eq!(latest["status"], "completed");
    assert_eq!(latest["num_clusters"], 3);
    assert_eq!(latest["num_points"], 18);
    let centroids = latest["centroids"].as_array().unwrap();
    assert_eq!(centroids.len(), 3);
    for c in centroids {
        assert_eq!(c["num_members"], PER_TOPIC as i64, "{c}");
        assert_eq!(c["centroid_vector"].as_array().unwrap().len(), 384);
    }
    assert!(
        latest["metrics"]["davies_bouldin_index"].is_number(),
        "{latest}"
    );
    let (status, list) = send(
        scoped(
            &server,
            Method::POST,
            &format!("/v1/clusters/{cluster_id}/executions/list?include_total=true"),
        )
        .json(&json!({})),
    )
    .await;
    assert_eq!(status, 200, "{list}");
    assert_eq!(list["total_count"], 1);
    assert_eq!(list["results"][0]["run_id"], run_id.as_str());
    assert!(list["results"][0]["centroids"][0]
        .get("centroid_vector")
        .is_none());
    assert_eq!(list["stats"]["executions_by_status"]["completed"], 1);

    let (status, got) = send(scoped(
        &server,
        Method::GET,
        &format!("/v1/clusters/{cluster_id}"),
    ))
    .await;
    assert_eq!(status, 200, "{got}");
    assert_eq!(got["status"], "COMPLETED");
    assert_eq!(got["num_clusters"], 3);
    assert_eq!(got["num_documents_clustered"], 18);
    assert_eq!(got["last_run_id"], run_id.as_str());
    let (status, listed) =
        send(scoped(&server, Method::POST, "/v1/clusters/list").json(&json!({}))).await;
    assert_eq!(status, 200, "{listed}");
    assert_eq!(listed["total_count"], 1);
    assert_eq!(listed["results"][0]["cluster_id"], cluster_id.as_str());

    // The Parquet artifact holds one row per document, agreeing with the documents.
    let key = task["outputs"][0]["artifact_key"]
        .as_str()
        .unwrap()
        .to_owned();
    let bytes = server
        .db
        .storage
        .blobs()
        .unwrap()
        .get_artifact(&key)
        .await
        .unwrap();
    let reader = SerializedFileReader::new(bytes).unwrap();
    let mut rows = HashMap::new();
    for row in reader.get_row_iter(None).unwrap() {
        let row = row.unwrap();
        let document_id = row.get_string(0).unwrap().clone();
        let label = row.get_string(2).unwrap().clone();
        let distance = row.get_double(3).unwrap();
        assert!(distance.is_finite() && distance >= 0.0);
        assert!(
            rows.insert(document_id, label).is_none(),
            "one row per document"
        );
    }
    assert_eq!(rows.len(), docs.len());
    for doc in &docs {
        assert_eq!(
            rows[doc["document_id"].as_str().unwrap()],
            doc["cluster_id"].as_str().unwrap()
        );
    }

    // A run trained on a 12-document sample is refined over the whole stream (multi-pass
    // Lloyd) and finds the same grouping; the history then holds both runs, newest first.
    let (status, task) = send(
        scoped(
            &server,
            Method::POST,
            &format!("/v1/clusters/{cluster_id}/execute"),
        )
        .json(&json!({"sample_size": 12})),
    )
    .await;
    assert_eq!(status, 200, "{task}");
    let task = wait_for_task(&server, task["task_id"].as_str().unwrap()).await;
    assert_eq!(task["status"], "COMPLETED", "{task}");
    let second_run = task["outputs"][0]["run_id"].as_str().unwrap().to_owned();
    assert_ne!(second_run, run_id);
    assert_topics_have_their_own_clusters("sampled run", &documents(&server, "texts").await);
    let (status, list) = send(
        scoped(
            &server,
            Method::POST,
            &format!("/v1/clusters/{cluster_id}/executions/list"),
        )
        .json(&json!({})),
    )
    .await;
    assert_eq!(status, 200, "{list}");
    assert_eq!(list["total_count"], 2);
    assert_eq!(list["results"][0]["run_id"], second_run.as_str());
    assert_eq!(list["results"][1]["run_id"], run_id.as_str());
    let executions = format!("/v1/clusters/{cluster_id}/executions/list");
    assert_history_filters(&server, &executions, "/total_count", 2).await;
    let (status, first) = send(scoped(
        &server,
        Method::GET,
        &format!("/v1/clusters/{cluster_id}/executions/{run_id}"),
    ))
    .await;
    assert_eq!(status, 200, "{first}");
    assert_eq!(first["num_points"], 18);
    let key = task["outputs"][0]["artifact_key"]
        .as_str()
        .unwrap()
        .to_owned();

    // Patch renames and re-parameterizes; delete removes.
    let (status, patched) = send(
        scoped(
            &server,
            Method::PATCH,
            &format!("/v1/clusters/{cluster_id}"),
        )
        .json(&json!({"cluster_name": "topics-2", "algorithm_params": {"n_clusters": 2}})),
    )
    .await;
    assert_eq!(status, 200, "{patched}");
    assert_eq!(patched["cluster_name"], "topics-2");
    assert_eq!(
        patched["vector_config"]["kmeans_parameters"]["n_clusters"],
        2
    );
    assert_eq!(patched["parquet_path"], key.as_str());
    let (status, deleted) = send(scoped(
        &server,
        Method::DELETE,
        &format!("/v1/clusters/{cluster_id}"),
    ))
    .await;
    assert_eq!(status, 200, "{deleted}");
    let (status, body) = send(scoped(
        &server,
        Method::GET,
        &format!("/v1/clusters/{cluster_id}"),
    ))
    .await;
    assert_error(status, &body, 404, "NotFoundError", "cluster_not_found");
}

async fn bad_references_are_refused_naming_the_id(backend: Backend) {
    let server = TestServer::start(backend).await;
    seed(&server).await;

    let (status, body) = send(
        scoped(&server, Method::POST, "/v1/clusters")
            .json(&kmeans_cluster(json!(["texts", "col_missing"]), 3)),
    )
    .await;
    assert_error(
        status,
        &body,
        400,
        "BadRequestError",
        "collection_not_found",
    );
    assert_eq!(body["error"]["details"]["collection_id"], "col_missing");
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("col_missing"));

    let mut wrong_feature = kmeans_cluster(json!(["texts"]), 3);
    wrong_feature["vector_config"]["feature_uris"] =
        json!(["mixpeek://image_extractor@v1/image_embedding"]);
    let (status, body) =
        send(scoped(&server, Method::POST, "/v1/clusters").json(&wrong_feature)).await;
    assert_error(status, &body, 400, "BadRequestError", "feature_not_found");
    let texts_id = body["error"]["details"]["collection_id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .contains(&texts_id));

    // A collection that was never triggered has no vectors yet.
    let (status, body) = send(
        scoped(&server, Method::POST, "/v1/collections").json(&json!({
            "collection_name": "empty",
            "source": {"type": "bucket", "bucket_ids": ["docs"]},
            "feature_extractor": {"feature_extractor_name": "text_extractor", "version": "v1",
                "input_mappings": {"text": "content"}}
        })),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let empty_id = body["collection_id"].as_str().unwrap().to_owned();
    let (status, body) = send(
        scoped(&server, Method::POST, "/v1/clusters").json(&kmeans_cluster(json!([empty_id]), 3)),
    )
    .await;
    assert_error(
        status,
        &body,
        400,
        "BadRequestError",
        "collection_has_no_vectors",
    );
    assert_eq!(body["error"]["details"]["collection_id"], empty_id.as_str());

    let mut too_few = kmeans_cluster(json!(["texts"]), 1);
    too_few["cluster_name"] = json!("one");
    let (status, body) = send(scoped(&server, Method::POST, "/v1/clusters").json(&too_few)).await;
    common::assert_invalid(
        status,
        &body,
        json!(["body", "vector_config", "kmeans_parameters", "n_clusters"]),
        "greater_than_equal",
    );

    // Another namespace's cluster is not found, by id or name.
    let (status, cluster) = send(
        scoped(&server, Method::POST, "/v1/clusters").json(&kmeans_cluster(json!(["texts"]), 3)),
    )
    .await;
    assert_eq!(status, 200, "{cluster}");
    let cluster_id = cluster["cluster_id"].as_str().unwrap();
    server.create_namespace("other").await;
    for path in [
        format!("/v1/clusters/{cluster_id}"),
        format!("/v1/clusters/{cluster_id}/executions"),
        "/v1/clusters/topics".to_owned(),
    ] {
        let (status, body) = send(
            server
                .request(Method::GET, &path)
                .header("X-Namespace", "other"),
        )
        .await;
        assert_error(status, &body, 404, "NotFoundError", "cluster_not_found");
    }
    let (status, body) = send(
        server
            .request(Method::POST, &format!("/v1/clusters/{cluster_id}/execute"))
            .header("X-Namespace", "other"),
    )
    .await;
    assert_error(status, &body, 404, "NotFoundError", "cluster_not_found");
    let (status, body) = send(scoped(
        &server,
        Method::GET,
        &format!("/v1/clusters/{cluster_id}/executions"),
    ))
    .await;
    assert_error(status, &body, 404, "NotFoundError", "execution_not_found");
}

store_tests!(
    k_means_assigns_each_topic_to_its_own_cluster,
    bad_references_are_refused_naming_the_id,
);
