//! The contract every endpoint shares: authentication, tenant isolation, the error shapes,
//! health, the OpenAPI document, and durability across restarts.

mod common;

use common::{assert_error, assert_invalid, send, Backend, TestServer, TEST_KEY};
use reqwest::Method;
use serde_json::{json, Value};

async fn health_answers_without_a_key(backend: Backend) {
    let server = TestServer::start(backend).await;
    let (status, body) = send(server.anonymous(Method::GET, "/v1/health")).await;
    assert_eq!(status, 200);
    assert_eq!(body["status"], "OK");
    assert_eq!(body["data"]["metadata"], true);
    let store = match backend {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgres",
    };
    assert_eq!(body["meta"]["store"], store);
}

async fn requests_without_a_valid_key_get_401(backend: Backend) {
    let server = TestServer::start(backend).await;
    let (status, body) = send(server.anonymous(Method::GET, "/v1/namespaces/anything")).await;
    assert_error(status, &body, 401, "AuthenticationError", "missing_api_key");

    let (status, body) = send(
        server
            .anonymous(Method::POST, "/v1/namespaces")
            .bearer_auth("sk_not_a_key")
            .json(&json!({"namespace_name": "nope"})),
    )
    .await;
    assert_error(status, &body, 401, "AuthenticationError", "invalid_api_key");

    // Authentication is checked before the body: a bad body without a key is still a 401.
    let (status, body) = send(
        server
            .anonymous(Method::POST, "/v1/namespaces")
            .header("content-type", "application/json")
            .body("{not json"),
    )
    .await;
    assert_error(status, &body, 401, "AuthenticationError", "missing_api_key");

    let (status, _) = send(server.request(Method::POST, "/v1/namespaces/list")).await;
    assert_eq!(status, 200, "the test key itself works");
}

async fn another_organizations_namespace_is_indistinguishable_from_absent(backend: Backend) {
    let server = TestServer::start(backend).await;
    let ours = server.create_namespace("ours").await;
    let other_key = server.key_for("acme").await;
    let id = ours["namespace_id"].as_str().unwrap();

    let other = |method: Method, path: &str| server.anonymous(method, path).bearer_auth(&other_key);
    for identifier in [id, "ours"] {
        let path = format!("/v1/namespaces/{identifier}");
        let (status, body) = send(other(Method::GET, &path)).await;
        assert_error(status, &body, 404, "NotFoundError", "namespace_not_found");
        let (absent_status, absent) =
            send(other(Method::GET, "/v1/namespaces/never_existed")).await;
        assert_eq!(absent_status, 404);
        assert_eq!(
            body["error"]["type"], absent["error"]["type"],
            "foreign and absent look alike"
        );
        let (status, _) =
            send(other(Method::PATCH, &path).json(&json!({"description": "hijack"}))).await;
        assert_eq!(status, 404);
        let (status, _) = send(other(Method::DELETE, &path)).await;
        assert_eq!(status, 404);
    }
    let (status, list) = send(other(Method::POST, "/v1/namespaces/list")).await;
    assert_eq!(status, 200);
    assert_eq!(list["total_count"], 0, "{list}");

    // The other organization may use the same name: names are unique per organization.
    let (status, theirs) =
        send(other(Method::POST, "/v1/namespaces").json(&json!({"namespace_name": "ours"}))).await;
    assert_eq!(status, 200, "{theirs}");
    assert_ne!(theirs["namespace_id"], ours["namespace_id"]);

    let (status, still) = send(server.request(Method::GET, &format!("/v1/namespaces/{id}"))).await;
    assert_eq!(status, 200);
    assert_eq!(
        still["description"],
        Value::Null,
        "untouched by the other org"
    );
}

async fn malformed_requests_get_422_with_loc_msg_type(backend: Backend) {
    let server = TestServer::start(backend).await;
    let create = |body: &str| {
        server
            .request(Method::POST, "/v1/namespaces")
            .header("content-type", "application/json")
            .body(body.to_owned())
    };
    let cases: Vec<(&str, Value, &str)> = vec![
        ("{\"namespace_name\": ", json!(["body", 18]), "json_invalid"),
        ("{}", json!(["body", "namespace_name"]), "missing"),
        ("{\"namespace_name\": 7}", json!(["body", "namespace_name"]), "string_type"),
        ("{\"namespace_name\": \"ab\"}", json!(["body", "namespace_name"]), "string_too_short"),
        (
            "{\"namespace_name\": \"has space\"}",
            json!(["body", "namespace_name"]),
            "string_pattern_mismatch",
        ),
        (
            "{\"namespace_name\": \"okay\", \"colour\": \"red\"}",
            json!(["body", "colour"]),
            "extra_forbidden",
        ),
        (
            "{\"namespace_name\": \"okay\", \"namespace_type\": \"weird\"}",
            json!(["body", "namespace_type"]),
            "enum",
        ),
        (
            "{\"namespace_name\": \"okay\", \"ttl_seconds\": 5}",
            json!(["body", "ttl_seconds"]),
            "greater_than_equal",
        ),
        (
            "{\"namespace_name\": \"okay\", \"feature_extractors\": [{\"version\": \"v1\"}]}",
            json!(["body", "feature_extractors", 0, "feature_extractor_name"]),
            "missing",
        ),
        (
            "{\"namespace_name\": \"okay\", \"payload_indexes\": [{\"field_name\": \"\", \"type\": \"keyword\"}]}",
            json!(["body", "payload_indexes", 0, "field_name"]),
            "string_too_short",
        ),
        ("[1, 2]", json!(["body"]), "model_attributes_type"),
    ];
    for (body, loc, kind) in cases {
        let (status, response) = send(create(body)).await;
        assert_invalid(status, &response, loc, kind);
    }

    let (status, body) = send(create("{\"namespace_name\": \"okay\", \"colour\": 1}")).await;
    assert_invalid(status, &body, json!(["body", "colour"]), "extra_forbidden");
    let msg = body["detail"][0]["msg"].as_str().unwrap();
    assert!(
        msg.contains("namespace_name") && msg.contains("feature_extractors"),
        "{msg}"
    );

    let list = |query: &str, body: Value| {
        server
            .request(Method::POST, &format!("/v1/namespaces/list{query}"))
            .json(&body)
    };
    let (status, body) = send(list("", json!({"limit": 0}))).await;
    assert_invalid(
        status,
        &body,
        json!(["body", "limit"]),
        "greater_than_equal",
    );
    let (status, body) = send(list("", json!({"limit": 1001}))).await;
    assert_invalid(status, &body, json!(["body", "limit"]), "less_than_equal");
    let (status, body) = send(list("", json!({"offset": -1}))).await;
    assert_invalid(
        status,
        &body,
        json!(["body", "offset"]),
        "greater_than_equal",
    );
    let (status, body) = send(list("?limit=abc", json!({}))).await;
    assert_invalid(status, &body, json!(["query", "limit"]), "int_parsing");
    let (status, body) = send(list("?cursor=garbage", json!({}))).await;
    assert_invalid(status, &body, json!(["query", "cursor"]), "value_error");
    let (status, body) = send(list("", json!({"sort": {"field": "colour"}}))).await;
    assert_invalid(status, &body, json!(["body", "sort", "field"]), "enum");

    // Nothing was created by any of the rejected requests.
    let (_, all) = send(list("", json!({}))).await;
    assert_eq!(all["total_count"], 0, "{all}");
}

async fn unknown_routes_methods_and_huge_bodies_use_the_error_shape(backend: Backend) {
    let server = TestServer::start(backend).await;
    let (status, body) = send(server.request(Method::GET, "/v1/no/such/route")).await;
    assert_error(status, &body, 404, "NotFoundError", "route_not_found");
    let (status, body) = send(server.request(Method::PUT, "/v1/namespaces/list")).await;
    assert_error(
        status,
        &body,
        405,
        "MethodNotAllowedError",
        "method_not_allowed",
    );

    let huge = format!(
        "{{\"namespace_name\": \"big\", \"description\": \"{}\"}}",
        "x".repeat(ferry_api::MAX_BODY_BYTES + 1)
    );
    let (status, body) = send(
        server
            .request(Method::POST, "/v1/namespaces")
            .header("content-type", "application/json")
            .body(huge),
    )
    .await;
    assert_error(
        status,
        &body,
        413,
        "PayloadTooLargeError",
        "payload_too_large",
    );
    let (_, all) = send(server.request(Method::POST, "/v1/namespaces/list")).await;
    assert_eq!(all["total_count"], 0);
}

async fn openapi_document_describes_the_served_routes(backend: Backend) {
    let server = TestServer::start(backend).await;
    let (status, doc) = send(server.anonymous(Method::GET, "/openapi.json")).await;
    assert_eq!(status, 200);
    let paths = doc["paths"].as_object().expect("paths");
    for path in [
        "/v1/health",
        "/v1/namespaces",
        "/v1/namespaces/list",
        "/v1/namespaces/{namespace_identifier}",
    ] {
        assert!(paths.contains_key(path), "{path} missing from openapi.json");
    }
    let item = &doc["paths"]["/v1/namespaces/{namespace_identifier}"];
    for method in ["get", "patch", "put", "delete"] {
        assert!(item.get(method).is_some(), "{method} missing");
    }
    let schemas = doc["components"]["schemas"].as_object().expect("schemas");
    for name in [
        "NamespaceModel",
        "ErrorResponse",
        "HTTPValidationError",
        "CreateNamespaceRequest",
    ] {
        assert!(schemas.contains_key(name), "schema {name} missing");
    }

    // Every schema of the normative migrations spec is served under its name, with the same
    // properties and enum values (DESIGN §5).
    let spec: Value = serde_json::from_str(include_str!(
        "../../../../shared/spec/migrations.openapi.json"
    ))
    .unwrap();
    let names = |schema: &Value, key: &str| -> std::collections::BTreeSet<String> {
        match key {
            "properties" => schema["properties"]
                .as_object()
                .map(|p| p.keys().cloned().collect())
                .unwrap_or_default(),
            _ => schema[key]
                .as_array()
                .map(|r| r.iter().map(|v| v.as_str().unwrap().to_owned()).collect())
                .unwrap_or_default(),
        }
    };
    for (name, expected) in spec["components"]["schemas"].as_object().unwrap() {
        let served = schemas
            .get(name)
            .unwrap_or_else(|| panic!("migration schema {name} missing from openapi.json"));
        if name == "ValidationError" || name == "HTTPValidationError" {
            // These also carry the SDK's error fields (README, design notes): supersets.
            assert!(names(served, "properties").is_superset(&names(expected, "properties")));
            continue;
        }
        assert_eq!(
            names(served, "properties"),
            names(expected, "properties"),
            "properties of {name}"
        );
        if expected.get("enum").is_some() {
            assert_eq!(served["enum"], expected["enum"], "values of {name}");
        }
    }
}

async fn data_survives_a_restart(backend: Backend) {
    let server = TestServer::start(backend).await;
    let created = server.create_namespace("durable").await;
    let (status, _) = send(
        server
            .request(Method::PATCH, "/v1/namespaces/durable")
            .json(&json!({"description": "kept"})),
    )
    .await;
    assert_eq!(status, 200);
    let other_key = server.key_for("acme").await;
    let db = server.stop().await;

    let server = TestServer::start_on(db).await;
    let (status, body) = send(server.request(Method::GET, "/v1/namespaces/durable")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["namespace_id"], created["namespace_id"]);
    assert_eq!(body["description"], "kept");
    assert_eq!(body["created_at"], created["created_at"]);
    let (status, _) = send(
        server
            .anonymous(Method::POST, "/v1/namespaces/list")
            .bearer_auth(&other_key),
    )
    .await;
    assert_eq!(status, 200, "keys of other organizations survive too");
}

async fn x_namespace_header_resolves_by_id_or_name(backend: Backend) {
    use axum::routing::get;
    use ferry_api::extract::NamespaceScope;

    let server = TestServer::start(backend).await;
    let created = server.create_namespace("scoped").await;
    // A probe route using the shared extractor, served like the real API.
    let app = axum::Router::new()
        .route(
            "/probe",
            get(|scope: NamespaceScope| async move { scope.namespace.namespace_id }),
        )
        .with_state(server.state.clone());
    let listener = ferry::bind("127.0.0.1:0".parse().unwrap()).await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    let client = reqwest::Client::new();
    let probe = |header: Option<&str>, key: &str| {
        let mut req = client.get(format!("http://{addr}/probe")).bearer_auth(key);
        if let Some(h) = header {
            req = req.header("X-Namespace", h);
        }
        req
    };
    let id = created["namespace_id"].as_str().unwrap();
    for header in [id, "scoped"] {
        let response = probe(Some(header), TEST_KEY).send().await.unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(response.text().await.unwrap(), id);
    }
    let (status, body) = send(probe(Some("missing"), TEST_KEY)).await;
    assert_error(status, &body, 404, "NotFoundError", "namespace_not_found");
    assert_eq!(body["error"]["details"]["id"], "missing");
    let (status, body) = send(probe(None, TEST_KEY)).await;
    assert_error(status, &body, 400, "BadRequestError", "namespace_required");
    let other_key = server.key_for("acme").await;
    let (status, body) = send(probe(Some(id), &other_key)).await;
    assert_error(status, &body, 404, "NotFoundError", "namespace_not_found");
}

store_tests!(
    health_answers_without_a_key,
    requests_without_a_valid_key_get_401,
    another_organizations_namespace_is_indistinguishable_from_absent,
    malformed_requests_get_422_with_loc_msg_type,
    unknown_routes_methods_and_huge_bodies_use_the_error_shape,
    openapi_document_describes_the_served_routes,
    data_survives_a_restart,
    x_namespace_header_resolves_by_id_or_name,
);
