//! Collections turn objects into documents: extractors, triggers as tasks, lineage across
//! tiers, idempotent reprocessing, and precise errors.

mod common;

use std::time::Duration;

use base64::Engine;
use common::{assert_error, assert_invalid, send, Backend, TestServer};
use reqwest::{Method, RequestBuilder};
use serde_json::{json, Value};

fn scoped(server: &TestServer, method: Method, path: &str) -> RequestBuilder {
    server.request(method, path).header("X-Namespace", "data")
}

fn png(colour: [u8; 3], stripes: bool) -> String {
    let img = image::RgbImage::from_fn(24, 16, |x, _| {
        if stripes && x % 4 < 2 {
            image::Rgb([255 - colour[0], 255 - colour[1], 255 - colour[2]])
        } else {
            image::Rgb(colour)
        }
    });
    let mut bytes = std::io::Cursor::new(Vec::new());
    img.write_to(&mut bytes, image::ImageFormat::Png).unwrap();
    base64::engine::general_purpose::STANDARD.encode(bytes.into_inner())
}

/// A namespace `data` with bucket `docs` holding `n` text objects and bucket `pics` holding
/// three images.
async fn seed(server: &TestServer, n: usize) {
    server.create_namespace("data").await;
    let (status, _) = send(scoped(server, Method::POST, "/v1/buckets").json(&json!({
        "bucket_name": "docs",
        "bucket_schema": {"properties": {"title": {"type": "string"}, "content": {"type": "text"},
                                         "rank": {"type": "integer"}}}
    })))
    .await;
    assert_eq!(status, 200);
    for start in (0..n).step_by(100) {
        let objects: Vec<Value> = (start..n.min(start + 100))
            .map(|i| json!({"title": format!("doc {i}"), "rank": i, "blobs": [{"property": "content", "type": "text",
                "data": format!("Document number {i} talks about topic {}. It has a second sentence.", i % 7)}]}))
            .collect();
        let (status, body) = send(
            scoped(server, Method::POST, "/v1/buckets/docs/objects/batch")
                .json(&json!({"objects": objects})),
        )
        .await;
        assert_eq!(status, 200);
        assert_eq!(body["failed_count"], 0, "{body}");
    }
    let (status, _) = send(scoped(server, Method::POST, "/v1/buckets").json(&json!({
        "bucket_name": "pics", "bucket_schema": {"properties": {"photo": {"type": "image"}}}
    })))
    .await;
    assert_eq!(status, 200);
    let images: Vec<Value> = [([200, 30, 30], false), ([30, 30, 200], true), ([40, 200, 40], false)]
        .iter()
        .map(|(c, s)| json!({"blobs": [{"property": "photo", "type": "image", "data": {"base64": png(*c, *s)}}]}))
        .collect();
    let (status, _) = send(
        scoped(server, Method::POST, "/v1/buckets/pics/objects/batch")
            .json(&json!({"objects": images})),
    )
    .await;
    assert_eq!(status, 200);
}

async fn create_collection(server: &TestServer, body: Value) -> Value {
    let (status, collection) =
        send(scoped(server, Method::POST, "/v1/collections").json(&body)).await;
    assert_eq!(status, 200, "{collection}");
    collection
}

/// Triggers the collection and waits for its task to finish; returns the final task.
async fn trigger_and_wait(server: &TestServer, collection: &str) -> Value {
    let (status, trigger) = send(scoped(
        server,
        Method::POST,
        &format!("/v1/collections/{collection}/trigger"),
    ))
    .await;
    assert_eq!(status, 202, "{trigger}");
    let task_id = trigger["task_id"].as_str().unwrap().to_owned();
    for _ in 0..600 {
        let (status, task) =
            send(server.request(Method::GET, &format!("/v1/tasks/{task_id}"))).await;
        assert_eq!(status, 200);
        match task["status"].as_str().unwrap() {
            "COMPLETED" | "COMPLETED_WITH_ERRORS" | "FAILED" => return task,
            _ => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
    panic!("task {task_id} did not finish");
}

async fn all_documents(server: &TestServer, collection: &str) -> Vec<Value> {
    let mut docs = Vec::new();
    let mut query = "?limit=1000".to_owned();
    loop {
        let (status, page) = send(
            scoped(server, Method::POST, &format!("/v1/collections/{collection}/documents/list{query}"))
                .json(&json!({"return_vectors": true, "sort": {"field": "created_at", "direction": "asc"}})),
        )
        .await;
        assert_eq!(status, 200, "{page}");
        docs.extend(page["results"].as_array().unwrap().iter().cloned());
        match page["pagination"]["next_cursor"].as_str() {
            Some(c) => query = format!("?limit=1000&cursor={c}"),
            None => return docs,
        }
    }
}

async fn text_and_image_collections_turn_objects_into_documents(backend: Backend) {
    let server = TestServer::start(backend).await;
    seed(&server, 120).await;
    let texts = create_collection(&server, json!({
        "collection_name": "texts",
        "source": {"type": "bucket", "bucket_ids": ["docs"]},
        "feature_extractor": {"feature_extractor_name": "text_extractor", "version": "v1",
            "input_mappings": {"text": "content"}, "field_passthrough": [{"source_path": "title"}]}
    }))
    .await;
    assert_eq!(texts["vector_indexes"][0]["index"]["dimensions"], 384);
    assert_eq!(
        texts["vector_indexes"][0]["feature_uri"],
        "mixpeek://text_extractor@v1/text_embedding"
    );
    assert_eq!(
        texts["feature_extractor"]["parameters"]["split_by"], "none",
        "defaults resolved"
    );
    assert!(texts["output_schema"]["properties"]["title"].is_object());

    let task = trigger_and_wait(&server, "texts").await;
    assert_eq!(task["status"], "COMPLETED", "{task}");
    assert_eq!(task["task_type"], "api_collections_trigger");
    assert_eq!(task["additional_data"]["processed"], 120);
    assert_eq!(task["additional_data"]["progress_percent"], 100.0);

    let docs = all_documents(&server, "texts").await;
    assert_eq!(docs.len(), 120);
    let first = &docs[0];
    assert_eq!(
        first["text_extractor_v1_text_embedding"]
            .as_array()
            .unwrap()
            .len(),
        384
    );
    assert!(first["title"].as_str().unwrap().starts_with("doc "));
    assert!(first["text"]
        .as_str()
        .unwrap()
        .starts_with("Document number"));
    let lineage = &first["_internal"]["lineage"];
    assert_eq!(lineage["source_type"], "bucket");
    assert!(lineage["source_object_id"]
        .as_str()
        .unwrap()
        .starts_with("obj_"));
    // Filters over document fields, paged, with the count of all matches.
    let topic_3 = json!({"AND": [{"field": "text", "operator": "phrase", "value": "topic 3"}]});
    let (status, page) = send(
        scoped(
            &server,
            Method::POST,
            "/v1/collections/texts/documents/list?limit=5",
        )
        .json(&json!({"filters": topic_3, "include_total": true,
                          "sort": {"field": "title", "direction": "desc"}})),
    )
    .await;
    assert_eq!(status, 200, "{page}");
    let results = page["results"].as_array().unwrap();
    assert_eq!(
        page["pagination"]["total"], 17,
        "i % 7 == 3 for 17 of 0..120"
    );
    assert_eq!(results.len(), 5);
    assert!(results
        .iter()
        .all(|d| d["text"].as_str().unwrap().contains("topic 3.")));
    assert_eq!(
        results[0]["title"], "doc 94",
        "titles sort as strings, descending"
    );
    assert!(results[0].get("text_extractor_v1_text_embedding").is_none());
    let (status, by_query) = send(scoped(
        &server,
        Method::GET,
        &format!(
            "/v1/collections/texts/documents?limit=100&filters={}",
            urlencode(&json!({"title": "doc 10"}).to_string())
        ),
    ))
    .await;
    assert_eq!(status, 200, "{by_query}");
    assert_eq!(by_query["results"].as_array().unwrap().len(), 1);
    assert_eq!(by_query["results"][0]["title"], "doc 10");
    // Each object knows how many documents were made from it.
    let source = lineage["source_object_id"].as_str().unwrap();
    let (status, object) = send(scoped(
        &server,
        Method::GET,
        &format!("/v1/buckets/docs/objects/{source}"),
    ))
    .await;
    assert_eq!(status, 200, "{object}");
    assert_eq!(object["document_count"], 1);
    let (_, collection) = send(scoped(&server, Method::GET, "/v1/collections/texts")).await;
    assert_eq!(collection["document_count"], 120);
    let (_, ns) = send(server.request(Method::GET, "/v1/namespaces/data")).await;
    assert_eq!(ns["document_count"], 120);
    assert_eq!(ns["collection_count"], 1);

    // The same trigger again rewrites the same documents: no duplicates.
    let ids: std::collections::BTreeSet<String> = docs
        .iter()
        .map(|d| d["document_id"].as_str().unwrap().to_owned())
        .collect();
    trigger_and_wait(&server, "texts").await;
    let again = all_documents(&server, "texts").await;
    let ids_again: std::collections::BTreeSet<String> = again
        .iter()
        .map(|d| d["document_id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(ids, ids_again);
    let (_, collection) = send(scoped(&server, Method::GET, "/v1/collections/texts")).await;
    assert_eq!(collection["document_count"], 120);

    create_collection(
        &server,
        json!({
            "collection_name": "images",
            "source": {"type": "bucket", "bucket_ids": ["pics"]},
            "feature_extractor": {"feature_extractor_name": "image_extractor", "version": "v1",
                "input_mappings": {"image": "photo"}}
        }),
    )
    .await;
    let task = trigger_and_wait(&server, "images").await;
    assert_eq!(task["status"], "COMPLETED", "{task}");
    let images = all_documents(&server, "images").await;
    assert_eq!(images.len(), 3);
    for doc in &images {
        assert_eq!(
            doc["image_extractor_v1_image_embedding"]
                .as_array()
                .unwrap()
                .len(),
            128
        );
        assert_eq!(
            (doc["width"].clone(), doc["height"].clone()),
            (json!(24), json!(16))
        );
    }
    let hashes: std::collections::BTreeSet<&str> = images
        .iter()
        .map(|d| d["phash"].as_str().unwrap())
        .collect();
    assert_eq!(
        hashes.len(),
        2,
        "the striped image's layout hash differs from the solid ones'"
    );
    let vectors: std::collections::BTreeSet<String> = images
        .iter()
        .map(|d| d["image_extractor_v1_image_embedding"].to_string())
        .collect();
    assert_eq!(vectors.len(), 3, "different colours, different vectors");
}

async fn a_second_tier_collection_processes_the_first_ones_documents(backend: Backend) {
    let server = TestServer::start(backend).await;
    seed(&server, 20).await;
    create_collection(&server, json!({
        "collection_name": "sentences",
        "source": {"type": "bucket", "bucket_ids": ["docs"]},
        "feature_extractor": {"feature_extractor_name": "text_extractor", "version": "v1",
            "input_mappings": {"text": "content"}, "parameters": {"split_by": "sentences", "chunk_size": 1},
            "field_passthrough": [{"source_path": "rank"}]}
    }))
    .await;
    trigger_and_wait(&server, "sentences").await;
    let tier1 = all_documents(&server, "sentences").await;
    assert_eq!(tier1.len(), 40, "two sentences per object");

    let tier2 = create_collection(
        &server,
        json!({
            "collection_name": "rewritten",
            "source": {"type": "collection", "collection_id": "sentences"},
            "feature_extractor": {"feature_extractor_name": "text_extractor", "version": "v2",
                "input_mappings": {"text": "text"}, "field_passthrough": [{"source_path": "rank"}]}
        }),
    )
    .await;
    assert_eq!(tier2["vector_indexes"][0]["index"]["dimensions"], 768);
    let (status, trigger) = send(scoped(
        &server,
        Method::POST,
        "/v1/collections/rewritten/trigger",
    ))
    .await;
    assert_eq!(status, 202);
    assert_eq!(trigger["total_tiers"], 2);
    assert_eq!(trigger["document_count"], 40);
    tokio::time::sleep(Duration::from_millis(10)).await;
    let task = trigger_and_wait(&server, "rewritten").await;
    assert_eq!(task["status"], "COMPLETED");
    let docs = all_documents(&server, "rewritten").await;
    assert_eq!(docs.len(), 40);
    let upstream: std::collections::HashMap<&str, &Value> = tier1
        .iter()
        .map(|d| (d["document_id"].as_str().unwrap(), d))
        .collect();
    for doc in &docs {
        let lineage = &doc["_internal"]["lineage"];
        assert_eq!(lineage["source_type"], "collection");
        let parent = upstream[lineage["source_document_id"].as_str().unwrap()];
        assert_eq!(
            lineage["root_object_id"],
            parent["_internal"]["lineage"]["source_object_id"]
        );
        assert_eq!(doc["rank"], parent["rank"]);
        assert_eq!(
            doc["text_extractor_v2_text_embedding"]
                .as_array()
                .unwrap()
                .len(),
            768
        );
    }
    let (status, body) = send(scoped(&server, Method::DELETE, "/v1/collections/sentences")).await;
    assert_error(status, &body, 400, "BadRequestError", "collection_in_use");
    let (status, _) = send(scoped(&server, Method::DELETE, "/v1/collections/rewritten")).await;
    assert_eq!(status, 200);
    let (_, ns) = send(server.request(Method::GET, "/v1/namespaces/data")).await;
    assert_eq!(
        ns["document_count"], 40,
        "the deleted collection's documents are gone"
    );
}

async fn bad_collections_are_refused_naming_the_problem(backend: Backend) {
    let server = TestServer::start(backend).await;
    seed(&server, 1).await;
    let create = |body: Value| send(scoped(&server, Method::POST, "/v1/collections").json(&body));
    let extractor = |name: &str, version: &str| {
        json!({"collection_name": "coll", "source": {"type": "bucket", "bucket_ids": ["docs"]},
               "feature_extractor": {"feature_extractor_name": name, "version": version,
                                     "input_mappings": {"text": "content"}}})
    };
    let (status, body) = create(extractor("no_such_extractor", "v1")).await;
    assert_error(
        status,
        &body,
        400,
        "BadRequestError",
        "feature_extractor_not_found",
    );
    let (status, body) = create(extractor("text_extractor", "v9")).await;
    assert_error(
        status,
        &body,
        400,
        "BadRequestError",
        "feature_extractor_not_found",
    );
    assert_eq!(
        body["error"]["details"]["known_versions"],
        json!(["v1", "v2", "v3"])
    );

    let (status, body) = create(json!({"collection_name": "coll",
        "source": {"type": "bucket", "bucket_ids": ["bkt_missing"]},
        "feature_extractor": {"feature_extractor_name": "text_extractor", "version": "v1"}}))
    .await;
    assert_error(
        status,
        &body,
        400,
        "BadRequestError",
        "source_bucket_not_found",
    );
    assert_eq!(body["error"]["details"]["bucket_id"], "bkt_missing");

    let (status, body) = create(json!({"collection_name": "coll",
        "source": {"type": "bucket", "bucket_ids": ["docs"]},
        "feature_extractor": {"feature_extractor_name": "text_extractor", "version": "v1",
                              "input_mappings": {"text": "content"}, "parameters": {"chunk_size": 0}}})).await;
    assert_invalid(
        status,
        &body,
        json!(["body", "feature_extractor", "parameters", "chunk_size"]),
        "greater_than_equal",
    );

    let (status, body) = create(json!({"collection_name": "coll",
        "source": {"type": "bucket", "bucket_ids": ["docs"]},
        "feature_extractor": {"feature_extractor_name": "text_extractor", "version": "v1",
                              "input_mappings": {"text": "nowhere"}}}))
    .await;
    assert_invalid(
        status,
        &body,
        json!(["body", "feature_extractor", "input_mappings", "text"]),
        "value_error",
    );

    let (status, body) = send(
        server
            .request(Method::POST, "/v1/collections")
            .header("X-Namespace", "nope")
            .json(&extractor("text_extractor", "v1")),
    )
    .await;
    assert_error(status, &body, 404, "NotFoundError", "namespace_not_found");
    let (status, body) = send(scoped(
        &server,
        Method::POST,
        "/v1/collections/nope/trigger",
    ))
    .await;
    assert_error(status, &body, 404, "NotFoundError", "collection_not_found");

    let (status, list) = send(scoped(&server, Method::POST, "/v1/collections/list")).await;
    assert_eq!(status, 200);
    assert_eq!(
        list["total_count"], 0,
        "nothing was created by refused requests"
    );

    let (status, registry) =
        send(server.request(Method::GET, "/v1/collections/features/extractors")).await;
    assert_eq!(status, 200);
    let ids: Vec<&str> = registry
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["feature_extractor_id"].as_str().unwrap())
        .collect();
    for id in [
        "text_extractor_v1",
        "text_extractor_v2",
        "image_extractor_v1",
        "openai_embedding_extractor_v1",
    ] {
        assert!(ids.contains(&id), "{id} in {ids:?}");
    }
    let (status, one) = send(server.request(
        Method::GET,
        "/v1/collections/features/extractors/text_extractor_v2",
    ))
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        one["required_vector_indexes"][0]["index"]["dimensions"],
        768
    );
}

store_tests!(
    text_and_image_collections_turn_objects_into_documents,
    a_second_tier_collection_processes_the_first_ones_documents,
    bad_collections_are_refused_naming_the_problem,
);

fn urlencode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}
