//! Buckets and objects as a client sees them: schemas enforced, blobs stored by content,
//! counts kept true.

mod common;

use common::{assert_error, assert_invalid, send, Backend, TestServer};
use reqwest::{Method, RequestBuilder};
use serde_json::{json, Value};

/// A 1×1 PNG, as an SDK user would send an image.
const PNG_BASE64: &str =
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==";

fn scoped(server: &TestServer, ns: &str, method: Method, path: &str) -> RequestBuilder {
    server.request(method, path).header("X-Namespace", ns)
}

async fn make_bucket(server: &TestServer, ns: &str) -> Value {
    let (status, bucket) = send(
        scoped(server, ns, Method::POST, "/v1/buckets").json(&json!({
            "bucket_name": "articles",
            "description": "news",
            "bucket_schema": {"properties": {
                "title": {"type": "string", "required": true},
                "views": {"type": "integer"},
                "category": {"type": "string", "enum": ["news", "sport"], "default": "news"},
                "body": {"type": "text"},
                "photo": {"type": "image"},
                "extra": {"type": "object"}
            }},
            "unique_key": {"fields": ["title"]}
        })),
    )
    .await;
    assert_eq!(status, 200, "{bucket}");
    bucket
}

async fn bucket_lifecycle_and_counts(backend: Backend) {
    let server = TestServer::start(backend).await;
    server.create_namespace("media").await;
    let bucket = make_bucket(&server, "media").await;
    let bucket_id = bucket["bucket_id"].as_str().unwrap();
    assert!(bucket_id.starts_with("bkt_"));
    assert_eq!(bucket["object_count"], 0);
    assert_eq!(bucket["status"], "ACTIVE");
    assert_eq!(
        bucket["bucket_schema"]["properties"]["title"]["required"],
        true
    );

    for identifier in [bucket_id, "articles"] {
        let (status, got) = send(scoped(
            &server,
            "media",
            Method::GET,
            &format!("/v1/buckets/{identifier}"),
        ))
        .await;
        assert_eq!(status, 200);
        assert_eq!(got, bucket);
    }
    let (status, body) = send(
        scoped(&server, "media", Method::POST, "/v1/buckets")
            .json(&json!({"bucket_name": "articles", "bucket_schema": {"properties": {}}})),
    )
    .await;
    assert_error(status, &body, 400, "BadRequestError", "bucket_name_taken");

    let (status, patched) = send(
        scoped(&server, "media", Method::PATCH, "/v1/buckets/articles")
            .json(&json!({"description": "all the news", "metadata": {"owner": "desk"}})),
    )
    .await;
    assert_eq!(status, 200, "{patched}");
    assert_eq!(patched["description"], "all the news");
    assert_eq!(patched["metadata"], json!({"owner": "desk"}));
    assert_eq!(patched["bucket_schema"], bucket["bucket_schema"]);

    // Namespace-scoped: another namespace, or none, cannot see it.
    server.create_namespace("other").await;
    let (status, _) = send(scoped(
        &server,
        "other",
        Method::GET,
        "/v1/buckets/articles",
    ))
    .await;
    assert_eq!(status, 404);
    let (status, body) = send(server.request(Method::GET, "/v1/buckets/articles")).await;
    assert_error(status, &body, 400, "BadRequestError", "namespace_required");
    let (status, body) = send(scoped(&server, "nope", Method::GET, "/v1/buckets/articles")).await;
    assert_error(status, &body, 404, "NotFoundError", "namespace_not_found");

    let objects: Vec<Value> = (0..3)
        .map(|i| json!({"title": format!("story {i}"), "views": i}))
        .collect();
    let (status, batch) = send(
        scoped(
            &server,
            "media",
            Method::POST,
            "/v1/buckets/articles/objects/batch",
        )
        .json(&json!({"objects": objects})),
    )
    .await;
    assert_eq!(status, 200, "{batch}");
    let (_, list) = send(scoped(&server, "media", Method::POST, "/v1/buckets/list")).await;
    assert_eq!(list["total_count"], 1);
    assert_eq!(list["results"][0]["object_count"], 3);
    assert_eq!(list["stats"]["total_objects"], 3);
    let (_, ns) = send(server.request(Method::GET, "/v1/namespaces/media")).await;
    assert_eq!(
        (ns["bucket_count"].clone(), ns["object_count"].clone()),
        (json!(1), json!(3))
    );

    let (status, deleted) = send(scoped(
        &server,
        "media",
        Method::DELETE,
        "/v1/buckets/articles",
    ))
    .await;
    assert_eq!(status, 200, "{deleted}");
    assert_eq!(deleted["deleted_object_count"], 3);
    let (_, ns) = send(server.request(Method::GET, "/v1/namespaces/media")).await;
    assert_eq!(
        (ns["bucket_count"].clone(), ns["object_count"].clone()),
        (json!(0), json!(0))
    );
    let (status, _) = send(scoped(
        &server,
        "media",
        Method::GET,
        &format!(
            "/v1/buckets/articles/objects/{}",
            batch["succeeded"][0]["object_id"].as_str().unwrap()
        ),
    ))
    .await;
    assert_eq!(status, 404, "objects went with their bucket");
}

async fn objects_carry_fields_and_blobs_stored_by_content(backend: Backend) {
    let server = TestServer::start(backend).await;
    server.create_namespace("media").await;
    make_bucket(&server, "media").await;
    let create = |body: Value| {
        scoped(
            &server,
            "media",
            Method::POST,
            "/v1/buckets/articles/objects",
        )
        .json(&body)
    };
    let (status, object) = send(create(json!({
        "title": "Rust 2026",
        "views": 10,
        "key_prefix": "2026/11",
        "blobs": [
            {"property": "body", "type": "text", "data": "Ferry moves namespaces."},
            {"property": "photo", "type": "image", "data": {"base64": PNG_BASE64, "filename": "dot.png"}},
            {"property": "extra", "type": "object", "data": {"k": [1, 2]}}
        ]
    })))
    .await;
    assert_eq!(status, 200, "{object}");
    assert!(object["object_id"].as_str().unwrap().starts_with("obj_"));
    assert_eq!(object["title"], "Rust 2026", "custom fields at the root");
    assert_eq!(object["category"], "news", "schema default filled in");
    assert_eq!(object["status"], "PENDING");
    assert_eq!(object["key_prefix"], "2026/11");
    let blobs = object["blobs"].as_array().unwrap();
    assert_eq!(blobs.len(), 3);
    assert_eq!(blobs[0]["properties"]["text"], "Ferry moves namespaces.");
    assert_eq!(blobs[0]["details"]["mime_type"], "text/plain");
    assert_eq!(blobs[1]["details"]["mime_type"], "image/png");
    assert_eq!(blobs[1]["details"]["filename"], "dot.png");
    assert_eq!(blobs[2]["details"]["mime_type"], "application/json");
    let text_hash = blobs[0]["details"]["hash"].as_str().unwrap().to_owned();
    let size: i64 = blobs
        .iter()
        .map(|b| b["details"]["size_bytes"].as_i64().unwrap())
        .sum();

    // The bytes are in the blob store under their hash; the same text shares one blob.
    let stored = server
        .db
        .storage
        .blobs()
        .unwrap()
        .get(&text_hash)
        .await
        .unwrap();
    assert_eq!(&stored[..], b"Ferry moves namespaces.");
    let (_, twin) = send(create(json!({
        "title": "Same words",
        "blobs": [{"property": "body", "type": "text", "data": "Ferry moves namespaces."}]
    })))
    .await;
    assert_eq!(twin["blobs"][0]["details"]["hash"], text_hash.as_str());

    let (_, bucket) = send(scoped(
        &server,
        "media",
        Method::GET,
        "/v1/buckets/articles",
    ))
    .await;
    assert_eq!(bucket["object_count"], 2);
    assert_eq!(bucket["total_size_bytes"], size + 23);

    let id = object["object_id"].as_str().unwrap();
    let path = format!("/v1/buckets/articles/objects/{id}");
    let (status, got) = send(scoped(&server, "media", Method::GET, &path)).await;
    assert_eq!(status, 200);
    assert_eq!(got, object);

    let (status, patched) =
        send(scoped(&server, "media", Method::PATCH, &path).json(&json!({"views": 11}))).await;
    assert_eq!(status, 200, "{patched}");
    assert_eq!(
        (patched["views"].clone(), patched["title"].clone()),
        (json!(11), json!("Rust 2026"))
    );
    let (status, put) = send(
        scoped(&server, "media", Method::PUT, &path)
            .json(&json!({"metadata": {"category": "sport"}, "key_prefix": "moved"})),
    )
    .await;
    assert_eq!(status, 200, "{put}");
    assert_eq!(
        (put["category"].clone(), put["key_prefix"].clone()),
        (json!("sport"), json!("moved"))
    );
    let (status, body) =
        send(scoped(&server, "media", Method::PATCH, &path).json(&json!({"views": "many"}))).await;
    assert_invalid(status, &body, json!(["body", "views"]), "int_type");

    let (status, _) = send(scoped(&server, "media", Method::DELETE, &path)).await;
    assert_eq!(status, 200);
    let (status, body) = send(scoped(&server, "media", Method::GET, &path)).await;
    assert_error(status, &body, 404, "NotFoundError", "object_not_found");
    let (_, bucket) = send(scoped(
        &server,
        "media",
        Method::GET,
        "/v1/buckets/articles",
    ))
    .await;
    assert_eq!(bucket["object_count"], 1);
    assert_eq!(bucket["total_size_bytes"], 23);
}

async fn objects_violating_the_schema_are_refused_naming_the_field(backend: Backend) {
    let server = TestServer::start(backend).await;
    server.create_namespace("media").await;
    make_bucket(&server, "media").await;
    let create = |body: Value| {
        scoped(
            &server,
            "media",
            Method::POST,
            "/v1/buckets/articles/objects",
        )
        .json(&body)
    };
    let cases = vec![
        (
            json!({"title": "t", "colour": "red"}),
            json!(["body", "colour"]),
            "extra_forbidden",
        ),
        (json!({"title": 5}), json!(["body", "title"]), "string_type"),
        (json!({"views": 1}), json!(["body", "title"]), "missing"),
        (
            json!({"title": "t", "category": "gossip"}),
            json!(["body", "category"]),
            "enum",
        ),
        (
            json!({"title": "t", "blobs": [{"property": "cover", "type": "image", "data": PNG_BASE64}]}),
            json!(["body", "blobs", 0, "property"]),
            "value_error",
        ),
        (
            json!({"title": "t", "blobs": [{"property": "photo", "type": "text", "data": "hi"}]}),
            json!(["body", "blobs", 0, "type"]),
            "value_error",
        ),
        (
            json!({"title": "t", "blobs": [{"property": "photo", "type": "image", "data": "%%%"}]}),
            json!(["body", "blobs", 0, "data"]),
            "value_error",
        ),
        (
            json!({"title": "t", "blobs": [{"property": "photo", "type": "image", "data": "https://example.com/a.png"}]}),
            json!(["body", "blobs", 0, "data"]),
            "value_error",
        ),
        (
            json!({"title": "t", "blobs": [{"property": "body", "type": "text", "data": "x", "checksum": "00"}]}),
            json!(["body", "blobs", 0, "checksum"]),
            "value_error",
        ),
        (
            json!({"title": "t", "blobs": [{"property": "body", "type": "text"}]}),
            json!(["body", "blobs", 0, "data"]),
            "missing",
        ),
    ];
    for (body, loc, kind) in cases {
        let (status, response) = send(create(body.clone())).await;
        assert_invalid(status, &response, loc, kind);
    }
    let (status, body) = send(
        scoped(&server, "media", Method::POST, "/v1/buckets/nope/objects")
            .json(&json!({"title": "t"})),
    )
    .await;
    assert_error(status, &body, 404, "NotFoundError", "bucket_not_found");
    assert_eq!(body["error"]["details"]["id"], "nope");
    let (_, bucket) = send(scoped(
        &server,
        "media",
        Method::GET,
        "/v1/buckets/articles",
    ))
    .await;
    assert_eq!(
        bucket["object_count"], 0,
        "nothing was stored by refused requests"
    );

    // A bucket schema itself is checked too.
    let (status, body) = send(
        scoped(&server, "media", Method::POST, "/v1/buckets").json(&json!({
            "bucket_name": "bad", "bucket_schema": {"properties": {"x": {"type": "colour"}}}
        })),
    )
    .await;
    assert_invalid(
        status,
        &body,
        json!(["body", "bucket_schema", "properties", "x", "type"]),
        "enum",
    );
    let (status, body) = send(
        scoped(&server, "media", Method::POST, "/v1/buckets").json(&json!({
            "bucket_name": "bad", "bucket_schema": {"properties": {"a": {"type": "string"}}},
            "unique_key": {"fields": ["b"]}
        })),
    )
    .await;
    assert_invalid(
        status,
        &body,
        json!(["body", "unique_key", "fields", 0]),
        "value_error",
    );
}

async fn batches_succeed_per_object_and_idempotency_keys_replay(backend: Backend) {
    let server = TestServer::start(backend).await;
    server.create_namespace("media").await;
    make_bucket(&server, "media").await;
    let batch = |objects: Value| {
        scoped(
            &server,
            "media",
            Method::POST,
            "/v1/buckets/articles/objects/batch",
        )
        .json(&json!({"objects": objects}))
    };
    let (status, result) = send(batch(json!([
        {"title": "one", "idempotency_key": "k1"},
        {"title": 2},
        {"title": "three"}
    ])))
    .await;
    assert_eq!(status, 200, "{result}");
    assert_eq!(result["total_requested"], 3);
    assert_eq!(result["succeeded_count"], 2);
    assert_eq!(result["failed_count"], 1);
    assert_eq!(result["failed"][0]["object_index"], 1);
    assert!(result["failed"][0]["error"]
        .as_str()
        .unwrap()
        .contains("objects.1.title"));
    let indexes: Vec<i64> = result["succeeded"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["object_index"].as_i64().unwrap())
        .collect();
    assert_eq!(indexes, [0, 2]);
    let first_id = result["succeeded"][0]["object_id"].clone();

    let (_, again) = send(batch(
        json!([{"title": "one again", "idempotency_key": "k1"}]),
    ))
    .await;
    assert_eq!(again["succeeded"][0]["replayed"], true);
    assert_eq!(again["succeeded"][0]["object_id"], first_id);
    assert_eq!(
        again["succeeded"][0]["title"], "one",
        "the first object, unchanged"
    );
    let (status, single) = send(
        scoped(
            &server,
            "media",
            Method::POST,
            "/v1/buckets/articles/objects",
        )
        .json(&json!({"title": "x", "idempotency_key": "k1"})),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(single["object_id"], first_id);

    let (_, bucket) = send(scoped(
        &server,
        "media",
        Method::GET,
        "/v1/buckets/articles",
    ))
    .await;
    assert_eq!(bucket["object_count"], 2, "replays add nothing");

    let too_many: Vec<Value> = (0..101)
        .map(|i| json!({"title": format!("t{i}")}))
        .collect();
    let (status, body) = send(batch(Value::Array(too_many))).await;
    assert_invalid(status, &body, json!(["body", "objects"]), "too_long");
}

async fn object_lists_page_sort_and_search(backend: Backend) {
    let server = TestServer::start(backend).await;
    server.create_namespace("media").await;
    make_bucket(&server, "media").await;
    let objects: Vec<Value> = ["delta", "alpha", "charlie", "bravo"]
        .iter()
        .enumerate()
        .map(|(i, t)| {
            json!({"title": t, "key_prefix": format!("docs/{t}"), "views": i * 10,
                   "category": if i % 2 == 0 { "news" } else { "sport" }})
        })
        .collect();
    let (status, _) = send(
        scoped(
            &server,
            "media",
            Method::POST,
            "/v1/buckets/articles/objects/batch",
        )
        .json(&json!({"objects": objects})),
    )
    .await;
    assert_eq!(status, 200);
    let list = |query: &str, body: Value| {
        send(
            scoped(
                &server,
                "media",
                Method::POST,
                &format!("/v1/buckets/articles/objects/list{query}"),
            )
            .json(&body),
        )
    };
    let titles = |v: &Value| -> Vec<String> {
        v["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| o["title"].as_str().unwrap().to_owned())
            .collect()
    };
    let (status, by_prefix) = list(
        "?include_total=true&limit=3",
        json!({"sort": {"field": "key_prefix", "direction": "asc"}}),
    )
    .await;
    assert_eq!(status, 200, "{by_prefix}");
    assert_eq!(titles(&by_prefix), ["alpha", "bravo", "charlie"]);
    assert_eq!(by_prefix["pagination"]["total"], 4);
    assert_eq!(by_prefix["stats"]["total_objects"], 3);
    let cursor = by_prefix["pagination"]["next_cursor"].as_str().unwrap();
    let (_, rest) = list(
        &format!("?limit=3&cursor={cursor}"),
        json!({"sort": {"field": "key_prefix", "direction": "asc"}}),
    )
    .await;
    assert_eq!(titles(&rest), ["delta"]);
    let (_, found) = list("", json!({"search": "CHAR"})).await;
    assert_eq!(titles(&found), ["charlie"]);

    // Filters on custom fields, with a custom-field sort, paged; `total` counts all matches.
    let views_at_least_10 = json!({"AND": [
        {"field": "views", "operator": "gte", "value": 10, "case_sensitive": false}]});
    let (status, page1) = list(
        "?include_total=true&limit=2",
        json!({"filters": views_at_least_10, "sort": {"field": "views", "direction": "desc"}}),
    )
    .await;
    assert_eq!(status, 200, "{page1}");
    assert_eq!(titles(&page1), ["bravo", "charlie"]);
    assert_eq!(page1["pagination"]["total"], 3);
    let (_, page2) = list(
        "?limit=2&offset=2",
        json!({"filters": views_at_least_10, "sort": {"field": "views", "direction": "desc"}}),
    )
    .await;
    assert_eq!(titles(&page2), ["alpha"]);
    // Shorthand equality, OR/NOT, and the search together.
    let (_, sport) = list(
        "",
        json!({"filters": {"category": "SPORT"},
                                     "sort": {"field": "title"}}),
    )
    .await;
    assert_eq!(titles(&sport), ["alpha", "bravo"]);
    let (_, either) = list(
        "",
        json!({"filters": {"OR": [
        {"field": "title", "operator": "starts_with", "value": "d"},
        {"field": "title", "operator": "in", "value": ["bravo"]}]},
        "sort": {"field": "title", "direction": "asc"}}),
    )
    .await;
    assert_eq!(titles(&either), ["bravo", "delta"]);
    let (_, not_news) = list(
        "",
        json!({"filters": {"NOT": [{"field": "category", "value": "news"}]},
                                        "search": "alp"}),
    )
    .await;
    assert_eq!(titles(&not_news), ["alpha"]);
    // System fields filter too: everything was created before now, nothing after.
    let (_, before) = list(
        "",
        json!({"filters": {"AND": [
        {"field": "created_at", "operator": "lt", "value": "2999-01-01T00:00:00"}]}}),
    )
    .await;
    assert_eq!(before["results"].as_array().unwrap().len(), 4);
    let (_, after) = list(
        "",
        json!({"filters": {"AND": [
        {"field": "created_at", "operator": "gt", "value": "2999-01-01T00:00:00Z"}]}}),
    )
    .await;
    assert_eq!(after["results"], json!([]));
    // A bad filter is located at the offending value.
    let (status, body) = list(
        "",
        json!({"filters": {"AND": [
        {"field": "title", "operator": "regex", "value": "(unclosed"}]}}),
    )
    .await;
    assert_invalid(
        status,
        &body,
        json!(["body", "filters", "AND", 0, "value"]),
        "value_error",
    );
    let (status, body) = list(
        "",
        json!({"filters": {"AND": [
        {"field": "title", "operator": "like", "value": "x"}]}}),
    )
    .await;
    assert_eq!(status, 422, "{body}");
    let (status, via_get) = send(scoped(
        &server,
        "media",
        Method::GET,
        "/v1/buckets/articles/objects?limit=2",
    ))
    .await;
    assert_eq!(status, 200);
    assert_eq!(via_get["results"].as_array().unwrap().len(), 2);
}

store_tests!(
    bucket_lifecycle_and_counts,
    objects_carry_fields_and_blobs_stored_by_content,
    objects_violating_the_schema_are_refused_naming_the_field,
    batches_succeed_per_object_and_idempotency_keys_replay,
    object_lists_page_sort_and_search,
);
