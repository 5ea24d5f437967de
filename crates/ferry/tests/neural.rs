//! `text_extractor` v3 through the API: a missing model is named wherever it is needed
//! (registry listing, collection create, re_extract validation) and never a 500; with the
//! model installed, a collection on it searches by meaning, an empty query is a 400, and a
//! re_extract from v1 moves a namespace (and its retriever) onto the model.
//!
//! The installed model comes from `FERRY_MODELS_DIR` (see [`common::installed_model`]).

mod common;

use common::corpus::{create_and_trigger, create_retriever, scoped, search_stage, seed};
use common::migration::{post, wait_until_settled, MIGRATIONS};
use common::{assert_invalid, send, Backend, TestDatabase, TestServer};
use reqwest::Method;
use serde_json::{json, Value};

fn v3_collection(name: &str, params: Value) -> Value {
    json!({
        "collection_name": name,
        "source": {"type": "bucket", "bucket_ids": ["docs"]},
        "feature_extractor": {"feature_extractor_name": "text_extractor", "version": "v3",
            "parameters": params,
            "input_mappings": {"text": "content"},
            "field_passthrough": [{"source_path": "topic"}]}
    })
}

async fn a_missing_model_is_named_wherever_it_is_needed(backend: Backend) {
    let models = tempfile::tempdir().unwrap();
    let dir = models.path().display().to_string();
    let db = TestDatabase::new(backend).await;
    let server = TestServer::start_with_models(db, models.path().to_path_buf()).await;

    // The registry lists v3 and says why it is not usable yet.
    let (status, listing) =
        send(server.anonymous(Method::GET, "/v1/collections/features/extractors")).await;
    assert_eq!(status, 200, "{listing}");
    let v3 = listing
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["feature_extractor_id"] == "text_extractor_v3")
        .unwrap_or_else(|| panic!("v3 listed: {listing}"));
    let description = v3["description"].as_str().unwrap();
    assert!(description.contains("not installed"), "{description}");
    assert!(description.contains(&dir), "{description}");
    let (status, one) = send(server.anonymous(
        Method::GET,
        "/v1/collections/features/extractors/text_extractor_v3",
    ))
    .await;
    assert_eq!(status, 200, "{one}");

    // Collection create: a 422 at the parameter, naming directory, model and install.
    seed(&server).await;
    let (status, body) = send(
        scoped(&server, Method::POST, "/v1/collections")
            .json(&v3_collection("neural", json!({"model": "e5-small-v2"}))),
    )
    .await;
    assert_invalid(
        status,
        &body,
        json!(["body", "feature_extractor", "parameters", "model"]),
        "model_not_installed",
    );
    let msg = body["detail"][0]["msg"].as_str().unwrap();
    for part in [dir.as_str(), "e5-small-v2", "scripts/fetch-models"] {
        assert!(msg.contains(part), "{msg}");
    }

    // re_extract validation: an error with the model's own code, at the parameter.
    let (status, validated) = post(
        &server,
        &format!("{MIGRATIONS}/validate"),
        json!({"config": {"migration_type": "re_extract", "source_namespace_id": "data",
               "target_namespace_name": "data_v3",
               "feature_extractors": [{"feature_extractor_name": "text_extractor"}]}}),
    )
    .await;
    assert_eq!(status, 200, "{validated}");
    let errors = validated["validation_result"]["errors"].as_array().unwrap();
    let issue = errors
        .iter()
        .find(|e| e["error_code"] == "model_not_installed")
        .unwrap_or_else(|| panic!("{validated}"));
    assert_eq!(
        issue["loc"],
        json!(["config", "feature_extractors", 0, "parameters", "model"])
    );
    assert!(issue["message"].as_str().unwrap().contains(&dir), "{issue}");
}

async fn a_neural_collection_searches_by_meaning_and_re_extract_moves_onto_it(backend: Backend) {
    let Some(models) = common::installed_model() else {
        return;
    };
    let db = TestDatabase::new(backend).await;
    let server = TestServer::start_with_models(db, models).await;
    seed(&server).await;

    // A collection on v3: 384-dimensional vectors, from the model's config.
    create_and_trigger(&server, v3_collection("neural", json!({}))).await;
    let (status, neural) = send(scoped(&server, Method::GET, "/v1/collections/neural")).await;
    assert_eq!(status, 200, "{neural}");
    assert_eq!(
        neural["feature_extractor"]["parameters"]["model"],
        "all-MiniLM-L6-v2"
    );
    let index = &neural["vector_indexes"][0];
    assert_eq!(
        index["feature_uri"],
        "mixpeek://text_extractor@v3/text_embedding"
    );
    assert_eq!(index["index"]["dimensions"], 384, "{neural}");

    // Searched with words none of the documents contain, it still finds the topic.
    let search = |feature: &str| {
        json!({"stage_name": "search", "config": {"stage_id": "feature_search", "parameters": {
            "searches": [{"feature_uri": feature, "query": {"input_mode": "text",
                          "value": "{{INPUT.query}}"}, "top_k": 6}]}}})
    };
    create_retriever(
        &server,
        json!({"retriever_name": "meaning", "collection_identifiers": ["neural"],
               "stages": [search("mixpeek://text_extractor@v3/text_embedding")]}),
    )
    .await;
    let (status, results) = send(
        scoped(&server, Method::POST, "/v1/retrievers/meaning/execute")
            .json(&json!({"inputs": {"query": "stars and planets seen at night"}})),
    )
    .await;
    assert_eq!(status, 200, "{results}");
    let topics: Vec<&str> = results["documents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["topic"].as_str().unwrap())
        .collect();
    assert_eq!(topics.len(), 6, "{results}");
    assert!(topics.iter().all(|t| *t == "astronomy"), "{topics:?}");

    // An empty query is the caller's mistake: a 400 that says so.
    let (status, body) = send(
        scoped(&server, Method::POST, "/v1/retrievers/meaning/execute")
            .json(&json!({"inputs": {"query": "  "}})),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"]["code"], "invalid_query", "{body}");
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("empty text"));

    // re_extract v1 → v3 (no version: the newest), the v1 retriever re-pointed.
    create_retriever(
        &server,
        json!({"retriever_name": "words", "collection_identifiers": ["texts"],
               "stages": [search_stage(6)]}),
    )
    .await;
    let config = json!({"migration_type": "re_extract", "source_namespace_id": "data",
        "target_namespace_name": "data_v3",
        "feature_extractors": [{"feature_extractor_name": "text_extractor"}]});
    let (status, created) = post(
        &server,
        &format!("{MIGRATIONS}/"),
        json!({"config": config}),
    )
    .await;
    assert_eq!(status, 200, "{created}");
    let id = created["migration_id"].as_str().unwrap();
    let (status, started) = post(
        &server,
        &format!("{MIGRATIONS}/{id}/start"),
        json!({"force": true}),
    )
    .await;
    assert_eq!(status, 200, "{started}");
    let done = wait_until_settled(&server, id).await;
    assert_eq!(done["status"], "completed", "{done}");
    assert!(done["additional_data"]["benchmark"].is_array(), "{done}");
    let (status, texts) = send(
        server
            .request(Method::GET, "/v1/collections/texts")
            .header("X-Namespace", "data_v3"),
    )
    .await;
    assert_eq!(status, 200, "{texts}");
    assert_eq!(texts["feature_extractor"]["version"], "v3", "{texts}");
    assert_eq!(texts["vector_indexes"][0]["index"]["dimensions"], 384);
    let (status, results) = send(
        server
            .request(Method::POST, "/v1/retrievers/words/execute")
            .header("X-Namespace", "data_v3")
            .json(&json!({"inputs": {"query": "bread in the oven"}})),
    )
    .await;
    assert_eq!(status, 200, "{results}");
    assert_eq!(results["documents"][0]["topic"], "baking", "{results}");
}

store_tests!(
    a_missing_model_is_named_wherever_it_is_needed,
    a_neural_collection_searches_by_meaning_and_re_extract_moves_onto_it,
);
