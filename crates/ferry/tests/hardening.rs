//! Regressions for the defects fuzzing and fault probing found (issue #12): each test failed
//! before its fix, and each runs on both stores, which must answer alike.

mod common;

use std::time::Duration;

use common::corpus::{create_and_trigger, scoped, seed};
use common::migration::{post, MIGRATIONS};
use common::{assert_error, assert_invalid, send, Backend, TestServer};
use reqwest::Method;
use serde_json::{json, Value};

/// The task of a migration deleted after a cancel ends (`CANCELED`) instead of staying
/// `IN_PROGRESS` and being claimed again at every lease expiry.
async fn a_deleted_migrations_task_ends(backend: Backend) {
    let server = TestServer::start(backend).await;
    seed(&server).await;
    let source = "data";
    let (status, created) = post(
        &server,
        MIGRATIONS,
        json!({"config": {"source_namespace_id": source, "migration_type": "copy",
                          "batch_options": {"batch_size": 1, "max_workers": 1}}}),
    )
    .await;
    assert_eq!(status, 200, "{created}");
    let id = created["migration_id"].as_str().unwrap();
    let (status, started) = post(&server, &format!("{MIGRATIONS}/{id}/start"), json!({})).await;
    assert_eq!(status, 200, "{started}");
    let task_id = started["task_id"].as_str().unwrap().to_owned();
    let (status, body) = post(&server, &format!("{MIGRATIONS}/{id}/cancel"), json!({})).await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = send(server.request(Method::DELETE, &format!("{MIGRATIONS}/{id}"))).await;
    assert_eq!(status, 204, "{body}");

    // Well within one lease (30 s): the bug left the task IN_PROGRESS for good.
    let mut task = Value::Null;
    for _ in 0..200 {
        let (status, body) =
            send(server.request(Method::GET, &format!("/v1/tasks/{task_id}"))).await;
        assert_eq!(status, 200, "{body}");
        task = body;
        if task["status"] == "CANCELED" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(task["status"], "CANCELED", "{task}");
}

/// PostgreSQL refuses U+0000 in text; no request carrying one reaches it. A NUL in a path
/// identifier names nothing (the resource's 404); in a body or query value it is a 422 there.
async fn nul_characters_get_the_same_answer_on_both_stores(backend: Backend) {
    let server = TestServer::start(backend).await;
    seed(&server).await;
    for (path, resource) in [
        ("/v1/namespaces/a%00b", "namespace"),
        ("/v1/buckets/a%00b", "bucket"),
        ("/v1/collections/a%00b", "collection"),
        ("/v1/tasks/a%00b", "task"),
        ("/v1/retrievers/a%00b", "retriever"),
        ("/v1/taxonomies/a%00b", "taxonomy"),
        ("/v1/clusters/a%00b", "cluster"),
        ("/v1/namespaces/migrations/mig_a%00b", "migration"),
        ("/v1/buckets/docs/objects/a%00b", "object"),
    ] {
        let (status, body) = send(scoped(&server, Method::GET, path)).await;
        let code = format!("{resource}_not_found");
        assert_error(status, &body, 404, "NotFoundError", &code);
    }
    for path in [
        "/v1/namespaces/migrations/mig_a%00b/start",
        "/v1/namespaces/migrations/mig_a%00b/cancel",
    ] {
        let (status, body) = post(&server, path, json!({})).await;
        assert_error(status, &body, 404, "NotFoundError", "migration_not_found");
    }
    let (status, body) =
        send(server.request(Method::DELETE, "/v1/namespaces/migrations/mig_a%00b")).await;
    assert_error(status, &body, 404, "NotFoundError", "migration_not_found");

    let (status, body) = send(
        scoped(&server, Method::POST, "/v1/retrievers/list").json(&json!({"search": "a\u{0}b"})),
    )
    .await;
    assert_invalid(
        status,
        &body,
        json!(["body", "search"]),
        "string_contains_nul",
    );
    for path in [format!("{MIGRATIONS}/validate"), MIGRATIONS.to_owned()] {
        let (status, body) = post(
            &server,
            &path,
            json!({"config": {"source_namespace_id": "da\u{0}ta", "migration_type": "copy"}}),
        )
        .await;
        assert_invalid(
            status,
            &body,
            json!(["body", "config", "source_namespace_id"]),
            "string_contains_nul",
        );
    }
    let (status, body) = send(
        scoped(&server, Method::POST, "/v1/buckets/docs/objects")
            .json(&json!({"metadata": {"k\u{0}": 1}, "blobs": []})),
    )
    .await;
    assert_invalid(
        status,
        &body,
        json!(["body", "metadata", "k\u{0}"]),
        "string_contains_nul",
    );
    // Text that arrives encoded (base64 `AGI=` is "\0b") is checked once decoded.
    let (status, body) = send(
        scoped(&server, Method::POST, "/v1/buckets/docs/objects").json(&json!({
            "topic": "x", "blobs": [{"property": "content", "type": "text",
                                      "data": {"base64": "AGI="}}]})),
    )
    .await;
    assert_invalid(
        status,
        &body,
        json!(["body", "blobs", 0, "data"]),
        "value_error",
    );
    let (status, body) = send(scoped(&server, Method::GET, "/v1/buckets?cursor=a%00b")).await;
    assert_invalid(
        status,
        &body,
        json!(["query", "cursor"]),
        "string_contains_nul",
    );
    // Nothing was written by the refused requests.
    let (status, docs) =
        send(scoped(&server, Method::POST, "/v1/buckets/docs/objects/list").json(&json!({}))).await;
    assert_eq!(status, 200, "{docs}");
    assert_eq!(docs["results"].as_array().unwrap().len(), 18, "{docs}");
}

/// A `page` near `i64::MAX` is a page past the end, not an overflowed offset (a 500 on
/// PostgreSQL, page 1's rows on SQLite).
async fn a_huge_page_is_past_the_end(backend: Backend) {
    let server = TestServer::start(backend).await;
    seed(&server).await;
    let huge = 9_223_372_036_854_775_806_i64;
    let (status, body) = send(
        scoped(&server, Method::POST, "/v1/buckets/list")
            .json(&json!({"page": huge, "limit": 100})),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["results"], json!([]), "{body}");
    assert_eq!(body["pagination"]["page"], huge, "{body}");
    assert!(body["pagination"]["next_cursor"].is_null(), "{body}");

    for path in [
        format!("/v1/buckets?page={huge}&limit=100"),
        format!("/v1/buckets/docs/objects?page={huge}"),
        format!("/v1/collections/texts/documents?page={huge}"),
        format!("/v1/namespaces?page={huge}"),
    ] {
        let (status, body) = send(scoped(&server, Method::GET, &path)).await;
        assert_eq!(status, 200, "{path}: {body}");
        assert_eq!(body["results"], json!([]), "{path}: {body}");
    }
    let (status, body) = send(
        scoped(
            &server,
            Method::POST,
            &format!("/v1/collections/texts/documents/list?page={huge}"),
        )
        .json(&json!({"filters": {"topic": "astronomy"}})),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["results"], json!([]), "{body}");
}

/// A copy's target id and name follow the rules `POST /v1/namespaces` enforces, so a run
/// cannot create a namespace the API would refuse, nor an id that shadows a name.
async fn migration_targets_follow_the_namespace_rules(backend: Backend) {
    let server = TestServer::start(backend).await;
    seed(&server).await;
    let validate = |config: Value| {
        let server = &server;
        async move {
            let mut config = config;
            config["source_namespace_id"] = json!("data");
            config["migration_type"] = json!("copy");
            let (status, body) = post(
                server,
                &format!("{MIGRATIONS}/validate"),
                json!({"config": config}),
            )
            .await;
            assert_eq!(status, 200, "{body}");
            body
        }
    };
    let long = "a".repeat(10_000);
    for name in [
        "名前空間_ünï",
        "ns😀x",
        long.as_str(),
        "ns_abc",
        "x'; DROP TABLE namespaces;--",
        "ab",
    ] {
        let result = validate(json!({"target_namespace_name": name})).await;
        let errors = &result["validation_result"]["errors"];
        assert_eq!(
            result["validation_result"]["valid"], false,
            "{name}: {result}"
        );
        assert!(
            errors
                .as_array()
                .unwrap()
                .iter()
                .any(|e| e["error_code"] == "invalid_target_namespace_name"
                    && e["loc"] == json!(["config", "target_namespace_name"])),
            "{name}: {errors}"
        );
        let (status, body) = post(
            &server,
            MIGRATIONS,
            json!({"config": {"source_namespace_id": "data", "migration_type": "copy",
                              "target_namespace_name": name}}),
        )
        .await;
        assert_error(
            status,
            &body,
            400,
            "MigrationValidationError",
            "migration_validation_failed",
        );
    }
    let result = validate(json!({"target_namespace_id": "dupe1"})).await;
    assert_eq!(result["validation_result"]["valid"], false, "{result}");
    assert_eq!(
        result["validation_result"]["errors"][0]["error_code"], "invalid_target_namespace_id",
        "{result}"
    );
    let result =
        validate(json!({"target_namespace_id": "ns_copy_1", "target_namespace_name": "copy-1"}))
            .await;
    assert_eq!(result["validation_result"]["valid"], true, "{result}");

    // A generated name stays within the longest name allowed.
    let source = "s".repeat(64);
    server.create_namespace(&source).await;
    let (status, created) = post(
        &server,
        MIGRATIONS,
        json!({"config": {"source_namespace_id": source, "migration_type": "copy"}}),
    )
    .await;
    assert_eq!(status, 200, "{created}");
    let id = created["migration_id"].as_str().unwrap();
    // Forced: an empty source warns `EMPTY_SELECTION`.
    let (status, body) = post(
        &server,
        &format!("{MIGRATIONS}/{id}/start"),
        json!({"force": true}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let settled = common::migration::wait_until_settled(&server, id).await;
    assert_eq!(settled["status"], "completed", "{settled}");
    let expected = format!("{}_copy_1", "s".repeat(64 - "_copy_1".len()));
    let (status, ns) =
        send(server.request(Method::GET, &format!("/v1/namespaces/{expected}"))).await;
    assert_eq!(status, 200, "{ns}");
    assert_eq!(ns["namespace_name"], expected.as_str(), "{ns}");
}

/// A number or `null` where an enum belongs is a 422 at that field, of type `enum`, naming
/// the accepted values (it was a `json_invalid` at a column).
async fn a_wrong_typed_enum_is_located(backend: Backend) {
    let server = TestServer::start(backend).await;
    for value in [json!(5), Value::Null, json!([]), json!(true)] {
        let (status, body) = post(
            &server,
            &format!("{MIGRATIONS}/validate"),
            json!({"config": {"source_namespace_id": "x", "migration_type": value}}),
        )
        .await;
        assert_invalid(
            status,
            &body,
            json!(["body", "config", "migration_type"]),
            "enum",
        );
        let msg = body["detail"][0]["msg"].as_str().unwrap();
        assert!(
            msg.contains("'copy'") && msg.contains("'re_extract'"),
            "{msg}"
        );
    }
    let (status, body) = post(&server, &format!("{MIGRATIONS}/list"), json!({"status": 5})).await;
    assert_invalid(status, &body, json!(["body", "status"]), "enum");
}

/// `POST /v1/clusters` needs only `clustering_method` (as the reference spec says): the one
/// vector feature of the collections is used; several are a 422 listing them.
async fn a_cluster_without_feature_uris_uses_the_only_feature(backend: Backend) {
    let server = TestServer::start(backend).await;
    seed(&server).await;
    let (status, cluster) = send(scoped(&server, Method::POST, "/v1/clusters").json(&json!({
        "collection_ids": ["texts"], "cluster_name": "inferred",
        "vector_config": {"clustering_method": "kmeans",
                          "kmeans_parameters": {"n_clusters": 3}}})))
    .await;
    assert_eq!(status, 200, "{cluster}");
    assert_eq!(
        cluster["feature_uris"],
        json!(["mixpeek://text_extractor@v1/text_embedding"]),
        "{cluster}"
    );

    create_and_trigger(
        &server,
        json!({
            "collection_name": "texts_v2",
            "source": {"type": "bucket", "bucket_ids": ["docs"]},
            "feature_extractor": {"feature_extractor_name": "text_extractor", "version": "v2",
                "input_mappings": {"text": "content"}}
        }),
    )
    .await;
    let (status, body) = send(scoped(&server, Method::POST, "/v1/clusters").json(&json!({
        "collection_ids": ["texts", "texts_v2"], "cluster_name": "ambiguous",
        "vector_config": {"clustering_method": "kmeans"}})))
    .await;
    assert_invalid(
        status,
        &body,
        json!(["body", "vector_config", "feature_uris"]),
        "missing",
    );
    let msg = body["detail"][0]["msg"].as_str().unwrap();
    assert!(
        msg.contains("text_extractor@v1") && msg.contains("text_extractor@v2"),
        "{msg}"
    );
}

/// The served document is loadable and says what the server does: every reference resolves,
/// a 422's `loc` holds strings and integers, every keyed operation documents 401, and the
/// public ones need no key.
async fn the_openapi_document_matches_the_server(backend: Backend) {
    let server = TestServer::start(backend).await;
    let (status, doc) = send(server.anonymous(Method::GET, "/openapi.json")).await;
    assert_eq!(status, 200);
    let text = doc.to_string();
    for reference in text.split("\"$ref\":\"#/components/schemas/").skip(1) {
        let name = &reference[..reference.find('"').unwrap()];
        assert!(
            doc["components"]["schemas"].get(name).is_some(),
            "unresolvable reference {name}"
        );
    }
    assert_eq!(
        doc["components"]["schemas"]["ValidationError"]["properties"]["loc"]["items"],
        json!({"anyOf": [{"type": "string"}, {"type": "integer"}]})
    );
    let interaction = &doc["components"]["schemas"]["InteractionResponse"];
    assert!(interaction.get("allOf").is_none(), "{interaction}");
    for field in ["interaction_id", "feature_id", "timestamp"] {
        assert!(
            interaction["properties"].get(field).is_some(),
            "{interaction}"
        );
    }
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            let public = path.starts_with("/v1/health")
                || path.starts_with("/v1/collections/features/extractors");
            let responses = &operation["responses"];
            if public {
                assert_eq!(operation["security"], json!([]), "{method} {path}");
            } else {
                assert!(responses.get("401").is_some(), "{method} {path} lacks 401");
            }
            assert!(responses.get("422").is_some(), "{method} {path} lacks 422");
            if path.contains('{') {
                assert!(responses.get("404").is_some(), "{method} {path} lacks 404");
            }
        }
    }
}

store_tests!(
    a_deleted_migrations_task_ends,
    nul_characters_get_the_same_answer_on_both_stores,
    a_huge_page_is_past_the_end,
    migration_targets_follow_the_namespace_rules,
    a_wrong_typed_enum_is_located,
    a_cluster_without_feature_uris_uses_the_only_feature,
    the_openapi_document_matches_the_server,
);
