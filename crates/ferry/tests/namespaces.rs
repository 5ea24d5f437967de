//! `/v1/namespaces…` as a client sees it.

mod common;

use common::{assert_error, assert_invalid, send, Backend, TestServer};
use reqwest::Method;
use serde_json::{json, Value};

async fn create_get_patch_put_delete_round_trip(backend: Backend) {
    let server = TestServer::start(backend).await;
    let (status, created) = send(server.request(Method::POST, "/v1/namespaces").json(&json!({
        "namespace_name": "catalog",
        "description": "product images",
        "feature_extractors": [{"feature_extractor_name": "text_extractor", "version": "v1"}],
        "payload_indexes": [{"field_name": "sku", "type": "keyword"}],
        "auto_create_indexes": true,
        "infrastructure": {"ignored": true}
    })))
    .await;
    assert_eq!(status, 200, "{created}");
    let id = created["namespace_id"].as_str().unwrap().to_owned();
    assert!(id.starts_with("ns_"), "{id}");
    assert_eq!(created["object"], "namespace");
    assert_eq!(created["namespace_name"], "catalog");
    assert_eq!(created["description"], "product images");
    assert_eq!(created["namespace_type"], "standard");
    assert_eq!(created["mode"], "managed");
    assert_eq!(created["auto_create_indexes"], true);
    assert_eq!(created["payload_index_count"], 1);
    assert_eq!(
        created["feature_extractors"],
        json!([{"feature_extractor_name": "text_extractor", "version": "v1", "params": null,
                "feature_extractor_id": "text_extractor_v1"}])
    );
    for count in [
        "document_count",
        "bucket_count",
        "collection_count",
        "object_count",
    ] {
        assert_eq!(created[count], 0, "{count}");
    }

    for identifier in [id.as_str(), "catalog"] {
        let (status, got) =
            send(server.request(Method::GET, &format!("/v1/namespaces/{identifier}"))).await;
        assert_eq!(status, 200);
        assert_eq!(
            got, created,
            "get by {identifier} returns what create returned"
        );
    }

    let (status, patched) = send(
        server
            .request(Method::PATCH, &format!("/v1/namespaces/{id}"))
            .json(&json!({
                "namespace_name": "catalog-2",
                "description": "renamed",
                "feature_extractors": [
                    {"feature_extractor_name": "text_extractor", "version": "v1"},
                    {"feature_extractor_name": "image_extractor", "version": "v1"}
                ]
            })),
    )
    .await;
    assert_eq!(status, 200, "{patched}");
    assert_eq!(patched["namespace_name"], "catalog-2");
    assert_eq!(patched["description"], "renamed");
    let extractor_ids: Vec<&str> = patched["feature_extractors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["feature_extractor_id"].as_str().unwrap())
        .collect();
    assert_eq!(
        extractor_ids,
        ["text_extractor_v1", "image_extractor_v1"],
        "appended once"
    );
    assert_eq!(
        patched["auto_create_indexes"], true,
        "untouched fields kept"
    );
    assert_eq!(patched["created_at"], created["created_at"]);
    assert!(patched["updated_at"].as_str() > created["updated_at"].as_str());
    let (status, _) = send(server.request(Method::GET, "/v1/namespaces/catalog")).await;
    assert_eq!(status, 404, "the old name no longer resolves");

    let (status, put) = send(
        server
            .request(Method::PUT, "/v1/namespaces/catalog-2")
            .json(
                &json!({"payload_indexes": [{"field_name": "price", "type": "float"},
                                              {"field_name": "tags", "type": "keyword"}]}),
            ),
    )
    .await;
    assert_eq!(status, 200, "{put}");
    assert_eq!(put["payload_index_count"], 2);
    assert_eq!(put["payload_indexes"][0]["field_name"], "price");
    assert_eq!(put["description"], "renamed");

    let (status, deleted) =
        send(server.request(Method::DELETE, &format!("/v1/namespaces/{id}"))).await;
    assert_eq!(status, 200, "{deleted}");
    assert_eq!(deleted["namespace_id"], id.as_str());
    let (status, body) = send(server.request(Method::GET, &format!("/v1/namespaces/{id}"))).await;
    assert_error(status, &body, 404, "NotFoundError", "namespace_not_found");
    let (status, body) =
        send(server.request(Method::DELETE, &format!("/v1/namespaces/{id}"))).await;
    assert_error(status, &body, 404, "NotFoundError", "namespace_not_found");
}

async fn names_are_unique_per_organization(backend: Backend) {
    let server = TestServer::start(backend).await;
    server.create_namespace("alpha").await;
    let beta = server.create_namespace("beta").await;

    let (status, body) = send(
        server
            .request(Method::POST, "/v1/namespaces")
            .json(&json!({"namespace_name": "alpha"})),
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
            .request(Method::PATCH, "/v1/namespaces/beta")
            .json(&json!({"namespace_name": "alpha"})),
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
            .request(Method::PUT, "/v1/namespaces/beta")
            .json(&json!({"namespace_name": "alpha"})),
    )
    .await;
    assert_error(
        status,
        &body,
        400,
        "BadRequestError",
        "namespace_name_taken",
    );

    let (status, body) = send(server.request(Method::POST, "/v1/namespaces").json(&json!({
        "namespace_name": "gamma", "namespace_id": beta["namespace_id"]
    })))
    .await;
    assert_error(status, &body, 400, "BadRequestError", "namespace_id_taken");

    let (status, pinned) = send(server.request(Method::POST, "/v1/namespaces").json(&json!({
        "namespace_name": "gamma", "namespace_id": "ns_chosen_by_caller"
    })))
    .await;
    assert_eq!(status, 200, "{pinned}");
    assert_eq!(pinned["namespace_id"], "ns_chosen_by_caller");

    let (_, list) = send(server.request(Method::POST, "/v1/namespaces/list")).await;
    assert_eq!(
        list["total_count"], 3,
        "refused creates left nothing behind: {list}"
    );
    let (status, body) = send(server.request(Method::POST, "/v1/namespaces").json(&json!({
        "namespace_name": "ns_looks_like_an_id"
    })))
    .await;
    assert_invalid(
        status,
        &body,
        json!(["body", "namespace_name"]),
        "value_error",
    );
}

fn names(list: &Value) -> Vec<String> {
    list["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["namespace_name"].as_str().unwrap().to_owned())
        .collect()
}

async fn list_filters_sorts_searches_and_pages(backend: Backend) {
    let server = TestServer::start(backend).await;
    for name in ["delta", "alpha", "charlie", "bravo", "echo"] {
        server.create_namespace(name).await;
    }
    send(
        server
            .request(Method::PATCH, "/v1/namespaces/charlie")
            .json(&json!({"description": "The Searchable One"})),
    )
    .await;
    let list = |query: &str, body: Value| {
        send(
            server
                .request(Method::POST, &format!("/v1/namespaces/list{query}"))
                .json(&body),
        )
    };

    let (status, newest_first) = list("", json!({})).await;
    assert_eq!(status, 200);
    assert_eq!(
        names(&newest_first),
        ["echo", "bravo", "charlie", "alpha", "delta"]
    );
    assert_eq!(newest_first["total_count"], 5);
    assert_eq!(
        newest_first["pagination"]["total"],
        Value::Null,
        "total only on request"
    );

    let (_, by_name) = list(
        "",
        json!({"sort": {"field": "namespace_name", "direction": "asc"}}),
    )
    .await;
    assert_eq!(
        names(&by_name),
        ["alpha", "bravo", "charlie", "delta", "echo"]
    );
    let (_, sorts_win) = list(
        "",
        json!({"sort": {"field": "namespace_name", "direction": "asc"},
               "sorts": [{"field": "namespace_name", "direction": "desc"}]}),
    )
    .await;
    assert_eq!(
        names(&sorts_win),
        ["echo", "delta", "charlie", "bravo", "alpha"]
    );

    let (_, page2) = list(
        "?include_total=true",
        json!({"limit": 2, "page": 2, "sort": {"field": "namespace_name", "direction": "asc"}}),
    )
    .await;
    assert_eq!(names(&page2), ["charlie", "delta"]);
    assert_eq!(page2["pagination"]["total"], 5);
    assert_eq!(page2["pagination"]["total_pages"], 3);
    assert_eq!(page2["pagination"]["page"], 2);
    assert_eq!(page2["pagination"]["page_size"], 2);
    assert_eq!(page2["total_count"], 5);

    // Following next_cursor walks every namespace exactly once.
    let mut seen = Vec::new();
    let mut query = "?limit=2".to_owned();
    loop {
        let (status, page) = list(&query, json!({})).await;
        assert_eq!(status, 200, "{page}");
        seen.extend(names(&page));
        match page["pagination"]["next_cursor"].as_str() {
            Some(cursor) => query = format!("?limit=2&cursor={cursor}"),
            None => break,
        }
    }
    assert_eq!(seen, names(&newest_first));

    let (_, found) = list("", json!({"search": "searchable"})).await;
    assert_eq!(names(&found), ["charlie"]);
    let (_, case_sensitive) =
        list("", json!({"search": "searchable", "case_sensitive": true})).await;
    assert_eq!(names(&case_sensitive), Vec::<String>::new());
    let (_, by_part_of_name) = list("", json!({"search": "LPH"})).await;
    assert_eq!(names(&by_part_of_name), ["alpha"]);

    let (_, filtered) = list("", json!({"filters": {"namespace_name": "bravo"}})).await;
    assert_eq!(names(&filtered), ["bravo"]);
    assert_eq!(filtered["total_count"], 1);

    let (_, summary) = list("?view=summary", json!({})).await;
    let first = &summary["results"][0];
    assert!(first.get("feature_extractors").is_none() && first.get("payload_indexes").is_none());
    assert_eq!(first["payload_index_count"], 0);

    let (status, via_get) = send(server.request(Method::GET, "/v1/namespaces?limit=3")).await;
    assert_eq!(status, 200);
    assert_eq!(names(&via_get), ["echo", "bravo", "charlie"]);
}

store_tests!(
    create_get_patch_put_delete_round_trip,
    names_are_unique_per_organization,
    list_filters_sorts_searches_and_pages,
);
