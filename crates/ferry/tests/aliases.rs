//! Namespace aliases (Ferry's extension) as a client sees them: created, read, listed,
//! repointed and deleted under `/v1/namespaces/aliases`; resolved wherever a namespace is
//! named (`X-Namespace`, namespace paths, a migration's source), so data calls land in the
//! namespace the alias points to at the time; one name space with namespace names, race-free;
//! a history of targets; other organizations see nothing of them.

mod common;

use common::migration::{post, MIGRATIONS};
use common::{assert_error, assert_invalid, send, Backend, TestServer};
use reqwest::{Method, RequestBuilder};
use serde_json::{json, Value};

const ALIASES: &str = "/v1/namespaces/aliases";

fn alias_path(name: &str) -> String {
    format!("{ALIASES}/{name}")
}

async fn create_alias(server: &TestServer, name: &str, target: &str) -> Value {
    let (status, body) = send(
        server
            .request(Method::POST, ALIASES)
            .json(&json!({"alias_name": name, "namespace": target})),
    )
    .await;
    assert_eq!(status, 200, "create alias {name}: {body}");
    body
}

async fn repoint(server: &TestServer, name: &str, target: &str) -> (u16, Value) {
    send(
        server
            .request(Method::PATCH, &alias_path(name))
            .json(&json!({"namespace": target})),
    )
    .await
}

fn scoped(server: &TestServer, ns: &str, method: Method, path: &str) -> RequestBuilder {
    server.request(method, path).header("X-Namespace", ns)
}

async fn create_bucket(server: &TestServer, ns: &str, name: &str) -> (u16, Value) {
    send(
        scoped(server, ns, Method::POST, "/v1/buckets").json(&json!({
            "bucket_name": name,
            "bucket_schema": {"properties": {"title": {"type": "string"}}}
        })),
    )
    .await
}

fn names(list: &Value) -> Vec<&str> {
    list["results"]
        .as_array()
        .expect("results[]")
        .iter()
        .map(|a| a["alias_name"].as_str().unwrap())
        .collect()
}

async fn aliases_are_created_read_listed_and_deleted(backend: Backend) {
    let server = TestServer::start(backend).await;
    let v1 = server.create_namespace("catalog_v1").await;
    let v1_id = v1["namespace_id"].as_str().unwrap();
    server.create_namespace("other").await;

    let created = create_alias(&server, "catalog", "catalog_v1").await;
    assert_eq!(created["object"], "namespace_alias");
    assert_eq!(created["alias_name"], "catalog");
    assert_eq!(created["namespace_id"], v1_id);
    assert_eq!(created["namespace_name"], "catalog_v1");
    assert_eq!(created["created_at"], created["updated_at"]);
    let history = created["history"].as_array().unwrap();
    assert_eq!(history.len(), 1, "{created}");
    assert_eq!(history[0]["namespace_id"], v1_id);
    assert_eq!(history[0]["namespace_name"], "catalog_v1");
    assert_eq!(history[0]["started_by"], "create");
    assert_eq!(history[0]["started_at"], created["created_at"]);
    assert_eq!(history[0]["ended_at"], Value::Null);
    assert_eq!(history[0]["ended_by"], Value::Null);

    // A target given by id, and one given by another alias (resolved to its namespace).
    let by_id = create_alias(&server, "by-id", v1_id).await;
    assert_eq!(by_id["namespace_id"], v1_id);
    let chained = create_alias(&server, "chained", "catalog").await;
    assert_eq!(
        chained["namespace_id"], v1_id,
        "aliases never point at aliases"
    );
    create_alias(&server, "elsewhere", "other").await;

    let (status, got) = send(server.request(Method::GET, &alias_path("catalog"))).await;
    assert_eq!(status, 200, "{got}");
    assert_eq!(got, created);

    let (status, all) =
        send(server.request(Method::GET, &format!("{ALIASES}?include_total=true"))).await;
    assert_eq!(status, 200, "{all}");
    assert_eq!(names(&all), ["by-id", "catalog", "chained", "elsewhere"]);
    assert_eq!(all["pagination"]["total"], 4, "{all}");
    assert_eq!(all["results"][1], created);

    let list = |body: Value| {
        server
            .request(Method::POST, &format!("{ALIASES}/list?include_total=true"))
            .json(&body)
    };
    let (status, page) = send(list(json!({"limit": 2, "offset": 1}))).await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(names(&page), ["catalog", "chained"]);
    assert_eq!(page["pagination"]["total"], 4);
    let (_, found) = send(list(json!({"search": "CAT"}))).await;
    assert_eq!(names(&found), ["catalog"]);
    let (_, pointing) = send(list(json!({"namespace": "other"}))).await;
    assert_eq!(names(&pointing), ["elsewhere"]);
    let (_, pointing) = send(server.request(
        Method::GET,
        &format!("{ALIASES}?namespace={v1_id}&search=c"),
    ))
    .await;
    assert_eq!(names(&pointing), ["catalog", "chained"]);
    let (status, body) = send(list(json!({"namespace": "nowhere"}))).await;
    assert_error(status, &body, 404, "NotFoundError", "namespace_not_found");

    let (status, deleted) = send(server.request(Method::DELETE, &alias_path("catalog"))).await;
    assert_eq!(status, 200, "{deleted}");
    assert_eq!(deleted["alias_name"], "catalog");
    assert_eq!(deleted["namespace_id"], v1_id);
    assert_eq!(deleted["deleted"], true);
    let (status, body) = send(server.request(Method::GET, &alias_path("catalog"))).await;
    assert_error(status, &body, 404, "NotFoundError", "alias_not_found");
    assert_eq!(body["error"]["details"]["id"], "catalog");
    let (status, body) = send(server.request(Method::DELETE, &alias_path("catalog"))).await;
    assert_error(status, &body, 404, "NotFoundError", "alias_not_found");
    // The namespace is untouched, and the alias no longer resolves.
    let (status, _) = send(server.request(Method::GET, "/v1/namespaces/catalog_v1")).await;
    assert_eq!(status, 200);
    let (status, body) = send(server.request(Method::GET, "/v1/namespaces/catalog")).await;
    assert_error(status, &body, 404, "NotFoundError", "namespace_not_found");
    let (_, all) = send(server.request(Method::GET, ALIASES)).await;
    assert_eq!(names(&all), ["by-id", "chained", "elsewhere"]);
}

async fn an_alias_reaches_its_namespace_in_headers_and_paths(backend: Backend) {
    let server = TestServer::start(backend).await;
    let real = server.create_namespace("shop_v1").await;
    let real_id = real["namespace_id"].as_str().unwrap();
    create_alias(&server, "shop", "shop_v1").await;

    // Written through the alias, read back through the real name and id.
    let (status, bucket) = create_bucket(&server, "shop", "products").await;
    assert_eq!(status, 200, "{bucket}");
    let (status, object) = send(
        scoped(
            &server,
            "shop",
            Method::POST,
            "/v1/buckets/products/objects",
        )
        .json(&json!({"title": "kettle"})),
    )
    .await;
    assert_eq!(status, 200, "{object}");
    let object_path = format!(
        "/v1/buckets/products/objects/{}",
        object["object_id"].as_str().unwrap()
    );
    for ns in ["shop_v1", real_id, "shop"] {
        let (status, got) = send(scoped(&server, ns, Method::GET, &object_path)).await;
        assert_eq!(status, 200, "{ns}: {got}");
        assert_eq!(got["title"], "kettle");
    }
    let (_, buckets) = send(scoped(&server, "shop_v1", Method::GET, "/v1/buckets")).await;
    assert_eq!(buckets["results"][0]["bucket_id"], bucket["bucket_id"]);

    // A namespace path takes the alias: read, patch and put reach the namespace.
    let (status, got) = send(server.request(Method::GET, "/v1/namespaces/shop")).await;
    assert_eq!(status, 200, "{got}");
    assert_eq!(got["namespace_id"], real_id);
    assert_eq!(got["namespace_name"], "shop_v1");
    assert_eq!(got["bucket_count"], 1);
    let (status, patched) = send(
        server
            .request(Method::PATCH, "/v1/namespaces/shop")
            .json(&json!({"description": "through the alias"})),
    )
    .await;
    assert_eq!(status, 200, "{patched}");
    let (_, got) = send(server.request(Method::GET, &format!("/v1/namespaces/{real_id}"))).await;
    assert_eq!(got["description"], "through the alias");

    // Renaming the namespace through its alias keeps the alias on it.
    let (status, renamed) = send(
        server
            .request(Method::PUT, "/v1/namespaces/shop")
            .json(&json!({"namespace_name": "shop_v1b"})),
    )
    .await;
    assert_eq!(status, 200, "{renamed}");
    let (_, alias) = send(server.request(Method::GET, &alias_path("shop"))).await;
    assert_eq!(alias["namespace_name"], "shop_v1b");
    assert_eq!(alias["history"][0]["namespace_name"], "shop_v1b");
    let (status, _) = send(scoped(&server, "shop", Method::GET, &object_path)).await;
    assert_eq!(status, 200);

    // A migration takes the alias as its source, fixed to the namespace's id when created.
    let (status, created) = post(
        &server,
        &format!("{MIGRATIONS}/"),
        json!({"config": {"migration_type": "copy", "source_namespace_id": "shop",
                          "target_namespace_name": "shop_copy"}}),
    )
    .await;
    assert_eq!(status, 200, "{created}");
    let (status, listed) = post(
        &server,
        &format!("{MIGRATIONS}/list"),
        json!({"source_namespace_id": real_id}),
    )
    .await;
    assert_eq!(status, 200, "{listed}");
    assert_eq!(
        listed["results"][0]["migration_id"], created["migration_id"],
        "{listed}"
    );
    // And counts an alias's name as taken for its target.
    let (status, validated) = post(
        &server,
        &format!("{MIGRATIONS}/validate"),
        json!({"config": {"migration_type": "copy", "source_namespace_id": "shop_v1b",
                          "target_namespace_name": "shop"}}),
    )
    .await;
    assert_eq!(status, 200, "{validated}");
    assert_eq!(validated["validation_result"]["valid"], false);
    let codes: Vec<&Value> = validated["validation_result"]["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| &e["error_code"])
        .collect();
    assert!(
        codes.contains(&&json!("namespace_name_taken")),
        "{validated}"
    );
}

async fn repointing_moves_data_calls_and_records_both_targets(backend: Backend) {
    let server = TestServer::start(backend).await;
    let v1 = server.create_namespace("live_v1").await;
    let v2 = server.create_namespace("live_v2").await;
    let created = create_alias(&server, "live", "live_v1").await;
    let (status, _) = create_bucket(&server, "live", "old_only").await;
    assert_eq!(status, 200);

    let (status, moved) = repoint(&server, "live", "live_v2").await;
    assert_eq!(status, 200, "{moved}");
    assert_eq!(moved["namespace_id"], v2["namespace_id"]);
    assert_eq!(moved["namespace_name"], "live_v2");
    assert_eq!(moved["created_at"], created["created_at"]);
    assert_ne!(moved["updated_at"], created["updated_at"]);
    let history = moved["history"].as_array().unwrap();
    assert_eq!(history.len(), 2, "{moved}");
    assert_eq!(history[0]["namespace_id"], v1["namespace_id"]);
    assert_eq!(history[0]["started_by"], "create");
    assert_eq!(history[0]["ended_by"], "repoint");
    assert_eq!(history[0]["ended_at"], moved["updated_at"]);
    assert_eq!(history[1]["namespace_id"], v2["namespace_id"]);
    assert_eq!(history[1]["started_by"], "repoint");
    assert_eq!(history[1]["started_at"], moved["updated_at"]);
    assert_eq!(history[1]["ended_at"], Value::Null);
    let (_, got) = send(server.request(Method::GET, &alias_path("live"))).await;
    assert_eq!(got, moved, "GET returns the history");

    // Data calls through the alias now land in v2: v1's bucket is not there, a new one is.
    let (status, body) = send(scoped(&server, "live", Method::GET, "/v1/buckets/old_only")).await;
    assert_error(status, &body, 404, "NotFoundError", "bucket_not_found");
    let (status, _) = create_bucket(&server, "live", "new_only").await;
    assert_eq!(status, 200);
    let (status, _) = send(scoped(
        &server,
        "live_v2",
        Method::GET,
        "/v1/buckets/new_only",
    ))
    .await;
    assert_eq!(status, 200);
    let (status, _) = send(scoped(
        &server,
        "live_v1",
        Method::GET,
        "/v1/buckets/new_only",
    ))
    .await;
    assert_eq!(status, 404);
    let (status, _) = send(scoped(
        &server,
        "live_v1",
        Method::GET,
        "/v1/buckets/old_only",
    ))
    .await;
    assert_eq!(status, 200);

    // Onto the namespace it already points to: nothing changes, no history entry.
    let (status, same) = repoint(&server, "live", "live_v2").await;
    assert_eq!(status, 200, "{same}");
    assert_eq!(same, moved);
    // Back to v1, by id: a third entry.
    let (status, back) = repoint(&server, "live", v1["namespace_id"].as_str().unwrap()).await;
    assert_eq!(status, 200, "{back}");
    let history = back["history"].as_array().unwrap();
    assert_eq!(history.len(), 3, "{back}");
    assert_eq!(history[1]["ended_by"], "repoint");
    assert_eq!(history[2]["namespace_name"], "live_v1");
    let (status, _) = send(scoped(&server, "live", Method::GET, "/v1/buckets/old_only")).await;
    assert_eq!(status, 200);

    // Nowhere to go, or no such alias: 404 naming which, and nothing moved.
    let (status, body) = repoint(&server, "live", "missing_ns").await;
    assert_error(status, &body, 404, "NotFoundError", "namespace_not_found");
    assert_eq!(body["error"]["details"]["id"], "missing_ns");
    let (status, body) = repoint(&server, "nope", "live_v2").await;
    assert_error(status, &body, 404, "NotFoundError", "alias_not_found");
    let (_, got) = send(server.request(Method::GET, &alias_path("live"))).await;
    assert_eq!(got, back);
}

async fn aliases_and_namespace_names_share_one_name_space(backend: Backend) {
    let server = TestServer::start(backend).await;
    server.create_namespace("taken").await;
    server.create_namespace("second").await;
    create_alias(&server, "nick", "taken").await;

    // An alias may not take a namespace's name, nor another alias's.
    let (status, body) = send(
        server
            .request(Method::POST, ALIASES)
            .json(&json!({"alias_name": "second", "namespace": "taken"})),
    )
    .await;
    assert_error(
        status,
        &body,
        400,
        "BadRequestError",
        "namespace_name_taken",
    );
    let (status, body) = send(
        server
            .request(Method::POST, ALIASES)
            .json(&json!({"alias_name": "nick", "namespace": "second"})),
    )
    .await;
    assert_error(status, &body, 400, "BadRequestError", "alias_name_taken");
    // A namespace may not take an alias's name, created or renamed (PATCH and PUT).
    let (status, body) = send(
        server
            .request(Method::POST, "/v1/namespaces")
            .json(&json!({"namespace_name": "nick"})),
    )
    .await;
    assert_error(status, &body, 400, "BadRequestError", "alias_name_taken");
    for method in [Method::PATCH, Method::PUT] {
        let (status, body) = send(
            server
                .request(method, "/v1/namespaces/second")
                .json(&json!({"namespace_name": "nick"})),
        )
        .await;
        assert_error(status, &body, 400, "BadRequestError", "alias_name_taken");
    }
    // The namespace-to-namespace rule is unchanged.
    let (status, body) = send(
        server
            .request(Method::PATCH, "/v1/namespaces/second")
            .json(&json!({"namespace_name": "taken"})),
    )
    .await;
    assert_error(
        status,
        &body,
        400,
        "BadRequestError",
        "namespace_name_taken",
    );
    let (_, list) = send(server.request(Method::GET, "/v1/namespaces")).await;
    assert_eq!(list["total_count"], 2, "nothing was created: {list}");

    // Names come free: a renamed namespace's old name, a deleted alias's name.
    let (status, _) = send(
        server
            .request(Method::PATCH, "/v1/namespaces/second")
            .json(&json!({"namespace_name": "second_renamed"})),
    )
    .await;
    assert_eq!(status, 200);
    create_alias(&server, "second", "second_renamed").await;
    let (status, _) = send(server.request(Method::DELETE, &alias_path("nick"))).await;
    assert_eq!(status, 200);
    server.create_namespace("nick").await;

    // Both writers of one name at once: exactly one wins, the other is told who has it.
    for round in 0..8 {
        let name = format!("race_{round}");
        let namespace = send(
            server
                .request(Method::POST, "/v1/namespaces")
                .json(&json!({"namespace_name": name})),
        );
        let alias = send(
            server
                .request(Method::POST, ALIASES)
                .json(&json!({"alias_name": name, "namespace": "taken"})),
        );
        let ((ns_status, ns_body), (alias_status, alias_body)) = tokio::join!(namespace, alias);
        match (ns_status, alias_status) {
            (200, 400) => assert_eq!(alias_body["error"]["code"], "namespace_name_taken"),
            (400, 200) => assert_eq!(ns_body["error"]["code"], "alias_name_taken"),
            other => panic!("round {round}: {other:?} {ns_body} {alias_body}"),
        }
    }

    // Names are per organization: another one may use ours for either kind.
    let acme = server.key_for("acme").await;
    let (status, body) = send(
        server
            .anonymous(Method::POST, "/v1/namespaces")
            .bearer_auth(&acme)
            .json(&json!({"namespace_name": "second"})),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = send(
        server
            .anonymous(Method::POST, ALIASES)
            .bearer_auth(&acme)
            .json(&json!({"alias_name": "taken", "namespace": "second"})),
    )
    .await;
    assert_eq!(status, 200, "{body}");
}

async fn an_aliased_namespace_is_not_deleted(backend: Backend) {
    let server = TestServer::start(backend).await;
    let old = server.create_namespace("old_ns").await;
    server.create_namespace("new_ns").await;
    create_alias(&server, "front", "old_ns").await;
    create_alias(&server, "back", "old_ns").await;

    for path in ["/v1/namespaces/old_ns", "/v1/namespaces/front"] {
        let (status, body) = send(server.request(Method::DELETE, path)).await;
        assert_error(status, &body, 400, "BadRequestError", "namespace_aliased");
        let message = body["error"]["message"].as_str().unwrap();
        assert!(
            message.contains("'back'") && message.contains("'front'"),
            "{message}"
        );
    }
    let (status, _) = send(server.request(Method::GET, "/v1/namespaces/old_ns")).await;
    assert_eq!(status, 200, "still there");

    // Moved off it (and the other alias deleted), it can go; the history remembers it.
    let (status, _) = repoint(&server, "front", "new_ns").await;
    assert_eq!(status, 200);
    let (status, _) = send(server.request(Method::DELETE, &alias_path("back"))).await;
    assert_eq!(status, 200);
    let (status, body) = send(server.request(Method::DELETE, "/v1/namespaces/old_ns")).await;
    assert_eq!(status, 200, "{body}");
    let (_, alias) = send(server.request(Method::GET, &alias_path("front"))).await;
    assert_eq!(alias["history"][0]["namespace_id"], old["namespace_id"]);
    assert_eq!(
        alias["history"][0]["namespace_name"],
        Value::Null,
        "{alias}"
    );
    assert_eq!(alias["history"][1]["namespace_name"], "new_ns");
    // Its name is free again, for a namespace or an alias.
    server.create_namespace("old_ns").await;
}

async fn bad_alias_requests_get_422_and_unknown_names_404(backend: Backend) {
    let server = TestServer::start(backend).await;
    server.create_namespace("target").await;
    create_alias(&server, "exists", "target").await;
    let create = |body: &str| {
        server
            .request(Method::POST, ALIASES)
            .header("content-type", "application/json")
            .body(body.to_owned())
    };
    let cases: Vec<(&str, Value, &str)> = vec![
        (
            "{\"namespace\": \"target\"}",
            json!(["body", "alias_name"]),
            "missing",
        ),
        (
            "{\"alias_name\": \"okay\"}",
            json!(["body", "namespace"]),
            "missing",
        ),
        (
            "{\"alias_name\": 5, \"namespace\": \"target\"}",
            json!(["body", "alias_name"]),
            "string_type",
        ),
        (
            "{\"alias_name\": \"ab\", \"namespace\": \"target\"}",
            json!(["body", "alias_name"]),
            "string_too_short",
        ),
        (
            "{\"alias_name\": \"has space\", \"namespace\": \"target\"}",
            json!(["body", "alias_name"]),
            "string_pattern_mismatch",
        ),
        (
            "{\"alias_name\": \"ns_fake\", \"namespace\": \"target\"}",
            json!(["body", "alias_name"]),
            "value_error",
        ),
        (
            "{\"alias_name\": \"list\", \"namespace\": \"target\"}",
            json!(["body", "alias_name"]),
            "value_error",
        ),
        (
            "{\"alias_name\": \"okay\", \"namespace\": \"\"}",
            json!(["body", "namespace"]),
            "string_too_short",
        ),
        (
            "{\"alias_name\": \"okay\", \"namespace\": \"target\", \"colour\": 1}",
            json!(["body", "colour"]),
            "extra_forbidden",
        ),
    ];
    for (body, loc, kind) in cases {
        let (status, response) = send(create(body)).await;
        assert_invalid(status, &response, loc, kind);
    }
    let (status, body) = send(
        server
            .request(Method::PATCH, &alias_path("exists"))
            .json(&json!({"namespace": "target", "alias_name": "renamed"})),
    )
    .await;
    assert_invalid(
        status,
        &body,
        json!(["body", "alias_name"]),
        "extra_forbidden",
    );
    let (status, body) = send(
        server
            .request(Method::POST, &format!("{ALIASES}/list"))
            .json(&json!({"limit": 0})),
    )
    .await;
    assert_invalid(
        status,
        &body,
        json!(["body", "limit"]),
        "greater_than_equal",
    );

    // A target that does not exist is its 404; so is an alias that does not.
    let (status, body) = send(create(
        "{\"alias_name\": \"okay\", \"namespace\": \"no_such_ns\"}",
    ))
    .await;
    assert_error(status, &body, 404, "NotFoundError", "namespace_not_found");
    assert_eq!(body["error"]["details"]["id"], "no_such_ns");
    let (status, body) = send(server.request(Method::GET, &alias_path("unknown"))).await;
    assert_error(status, &body, 404, "NotFoundError", "alias_not_found");
    let (status, body) = send(scoped(&server, "unknown", Method::GET, "/v1/buckets")).await;
    assert_error(status, &body, 404, "NotFoundError", "namespace_not_found");
    let (_, all) = send(server.request(Method::GET, ALIASES)).await;
    assert_eq!(names(&all), ["exists"], "nothing was created");
}

async fn other_organizations_cannot_see_or_use_an_alias(backend: Backend) {
    let server = TestServer::start(backend).await;
    let ours = server.create_namespace("private").await;
    create_alias(&server, "mine", "private").await;
    let (status, _) = create_bucket(&server, "mine", "secrets").await;
    assert_eq!(status, 200);
    let acme = server.key_for("acme").await;
    let theirs = |method: Method, path: &str| server.anonymous(method, path).bearer_auth(&acme);

    let (status, body) = send(theirs(Method::GET, &alias_path("mine"))).await;
    assert_error(status, &body, 404, "NotFoundError", "alias_not_found");
    let (status, list) = send(theirs(Method::GET, ALIASES)).await;
    assert_eq!(status, 200);
    assert_eq!(list["results"], json!([]), "{list}");
    let (status, body) =
        send(theirs(Method::GET, "/v1/buckets").header("X-Namespace", "mine")).await;
    assert_error(status, &body, 404, "NotFoundError", "namespace_not_found");
    let (status, body) = send(theirs(Method::GET, "/v1/namespaces/mine")).await;
    assert_error(status, &body, 404, "NotFoundError", "namespace_not_found");
    for (method, path) in [
        (Method::PATCH, alias_path("mine")),
        (Method::DELETE, alias_path("mine")),
    ] {
        let (status, body) =
            send(theirs(method, &path).json(&json!({"namespace": "private"}))).await;
        assert_error(status, &body, 404, "NotFoundError", "alias_not_found");
    }
    // Nor can it alias our namespace, by name or id.
    for target in ["private", ours["namespace_id"].as_str().unwrap()] {
        let (status, body) = send(
            theirs(Method::POST, ALIASES).json(&json!({"alias_name": "grab", "namespace": target})),
        )
        .await;
        assert_error(status, &body, 404, "NotFoundError", "namespace_not_found");
    }
    // Ours is as it was.
    let (_, alias) = send(server.request(Method::GET, &alias_path("mine"))).await;
    assert_eq!(alias["namespace_name"], "private");
    assert_eq!(alias["history"].as_array().unwrap().len(), 1);
}

async fn openapi_marks_alias_operations_as_extensions(backend: Backend) {
    let server = TestServer::start(backend).await;
    let (status, doc) = send(server.anonymous(Method::GET, "/openapi.json")).await;
    assert_eq!(status, 200);
    let expected = [
        (ALIASES.to_owned(), vec!["get", "post"]),
        (format!("{ALIASES}/list"), vec!["post"]),
        (
            format!("{ALIASES}/{{alias_name}}"),
            vec!["get", "patch", "delete"],
        ),
    ];
    for (path, methods) in expected {
        let item = doc["paths"][&path]
            .as_object()
            .unwrap_or_else(|| panic!("{path} missing"));
        assert_eq!(item.len(), methods.len(), "{path}: {item:?}");
        for method in methods {
            assert_eq!(
                item[method]["x-ferry-extension"], true,
                "{method} {path} is not marked"
            );
        }
    }
    for name in [
        "CreateAliasRequest",
        "UpdateAliasRequest",
        "NamespaceAlias",
        "AliasTarget",
        "AliasAction",
        "ListAliasesRequest",
        "ListAliasesResponse",
        "DeleteAliasResponse",
    ] {
        assert_eq!(
            doc["components"]["schemas"][name]["x-ferry-extension"], true,
            "schema {name}"
        );
    }
    // The spec's own operations stay unmarked.
    for path in [
        "/v1/namespaces/{namespace_identifier}",
        "/v1/namespaces/migrations/list",
    ] {
        for (_, operation) in doc["paths"][path].as_object().unwrap() {
            assert!(operation.get("x-ferry-extension").is_none(), "{path}");
        }
    }
}

store_tests!(
    aliases_are_created_read_listed_and_deleted,
    an_alias_reaches_its_namespace_in_headers_and_paths,
    repointing_moves_data_calls_and_records_both_targets,
    aliases_and_namespace_names_share_one_name_space,
    an_aliased_namespace_is_not_deleted,
    bad_alias_requests_get_422_and_unknown_names_404,
    other_organizations_cannot_see_or_use_an_alias,
    openapi_marks_alias_operations_as_extensions,
);
