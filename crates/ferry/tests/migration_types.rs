//! The `re_extract` and `extend` migrations end to end: validation of what they need,
//! `start` refusing warnings unless forced, a re-extraction from text_extractor v1 to v2
//! (collections, the downstream collection, the cluster and the taxonomy rebuilt, the
//! retriever re-pointed and benchmarked), and extends that bring over exactly what is new,
//! refresh what changed and apply deletions when forced.

mod common;

use common::corpus::{
    cluster_texts, create_and_trigger, create_retriever, scoped, search_stage, seed,
    seed_reference, taxonomy_body, wait_for_task,
};
use common::migration::{post, wait_until_settled, MIGRATIONS};
use common::{assert_error, send, Backend, TestServer};
use reqwest::Method;
use serde_json::{json, Value};

/// A request scoped to namespace `ns`.
fn within(server: &TestServer, ns: &str, method: Method, path: &str) -> reqwest::RequestBuilder {
    server.request(method, path).header("X-Namespace", ns)
}

async fn validate(server: &TestServer, config: Value) -> Value {
    let (status, body) = post(
        server,
        &format!("{MIGRATIONS}/validate"),
        json!({"config": config}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    body["validation_result"].clone()
}

fn codes(issues: &Value) -> Vec<String> {
    issues
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["error_code"].as_str().unwrap().to_owned())
        .collect()
}

async fn create(server: &TestServer, config: Value) -> String {
    let (status, created) =
        post(server, &format!("{MIGRATIONS}/"), json!({"config": config})).await;
    assert_eq!(status, 200, "{created}");
    created["migration_id"].as_str().unwrap().to_owned()
}

async fn start(server: &TestServer, id: &str, force: bool) -> (u16, Value) {
    post(
        server,
        &format!("{MIGRATIONS}/{id}/start"),
        json!({"force": force}),
    )
    .await
}

async fn run_to_completion(server: &TestServer, config: Value, force: bool) -> Value {
    let id = create(server, config).await;
    let (status, started) = start(server, &id, force).await;
    assert_eq!(status, 200, "{started}");
    let done = wait_until_settled(server, &id).await;
    assert_eq!(done["status"], "completed", "{done}");
    done
}

async fn all_documents(server: &TestServer, ns: &str, collection: &str) -> Vec<Value> {
    let (status, page) = send(
        within(
            server,
            ns,
            Method::POST,
            &format!("/v1/collections/{collection}/documents/list?limit=1000"),
        )
        .json(&json!({"return_vectors": true})),
    )
    .await;
    assert_eq!(status, 200, "{page}");
    page["results"].as_array().unwrap().clone()
}

async fn get(server: &TestServer, ns: &str, path: &str) -> Value {
    let (status, body) = send(within(server, ns, Method::GET, path)).await;
    assert_eq!(status, 200, "{path}: {body}");
    body
}

/// The namespace of the shared corpus, plus a downstream collection over `texts`, a
/// retriever with one recorded query and interaction, a taxonomy applied to `texts`, and a
/// clustered `texts`.
async fn seed_full(server: &TestServer) {
    seed(server).await;
    seed_reference(server).await;
    create_and_trigger(
        server,
        json!({
            "collection_name": "texts_again",
            "source": {"type": "collection", "collection_ids": ["texts"]},
            "feature_extractor": {"feature_extractor_name": "text_extractor", "version": "v1",
                "input_mappings": {"text": "text"},
                "field_passthrough": [{"source_path": "topic"}],
                "parameters": {"datatype": "uint8", "on_disk": true}}
        }),
    )
    .await;
    create_retriever(
        server,
        json!({"retriever_name": "semantic", "collection_identifiers": ["texts"],
               "stages": [search_stage(10)]}),
    )
    .await;
    let (status, results) = send(
        scoped(server, Method::POST, "/v1/retrievers/semantic/execute").json(&json!({
            "inputs": {"query": "goalkeeper penalty striker stadium referee midfield"}})),
    )
    .await;
    assert_eq!(status, 200, "{results}");
    let first = results["documents"][0]["document_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let execution_id = results["execution_id"].as_str().unwrap().to_owned();
    let (status, interaction) = send(
        scoped(server, Method::POST, "/v1/retrievers/interactions").json(&json!({
            "feature_id": first, "interaction_type": ["click"], "position": 0,
            "execution_id": execution_id})),
    )
    .await;
    assert_eq!(status, 200, "{interaction}");
    let (status, taxonomy) =
        send(scoped(server, Method::POST, "/v1/taxonomies").json(&taxonomy_body())).await;
    assert_eq!(status, 200, "{taxonomy}");
    let (status, body) = send(
        scoped(server, Method::PATCH, "/v1/collections/texts").json(&json!({
            "taxonomy_applications": [{"taxonomy_id": taxonomy["taxonomy_id"]}]})),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    cluster_texts(server, true).await;
}

async fn re_extract_rebuilds_what_the_new_version_changes(backend: Backend) {
    let server = TestServer::start(backend).await;
    seed_full(&server).await;
    let v2 = json!([{"feature_extractor_name": "text_extractor", "version": "v2"}]);

    // What a re_extract needs, and what only it may have.
    let missing = validate(
        &server,
        json!({"migration_type": "re_extract", "source_namespace_id": "data"}),
    )
    .await;
    assert_eq!(codes(&missing["errors"]), ["feature_extractors_required"]);
    let unknown = validate(
        &server,
        json!({"migration_type": "re_extract",
        "source_namespace_id": "data",
        "feature_extractors": [{"feature_extractor_name": "text_extractor", "version": "v9"}]}),
    )
    .await;
    assert_eq!(
        codes(&unknown["errors"]),
        ["extractor_not_found"],
        "{unknown}"
    );
    assert_eq!(
        unknown["errors"][0]["loc"],
        json!(["config", "feature_extractors", 0, "version"])
    );
    let unused = validate(
        &server,
        json!({"migration_type": "re_extract",
        "source_namespace_id": "data",
        "feature_extractors": [{"feature_extractor_name": "image_extractor", "version": "v1"}]}),
    )
    .await;
    assert_eq!(codes(&unused["errors"]), ["extractor_not_used"], "{unused}");
    let copy_with = validate(
        &server,
        json!({"migration_type": "copy", "source_namespace_id": "data",
               "feature_extractors": v2}),
    )
    .await;
    assert_eq!(
        codes(&copy_with["errors"]),
        ["feature_extractors_not_allowed"]
    );

    let config = json!({"migration_type": "re_extract", "source_namespace_id": "data",
                        "target_namespace_name": "data_v2", "feature_extractors": v2,
                        "batch_options": {"batch_size": 5, "max_workers": 3}});
    let result = validate(&server, config.clone()).await;
    assert_eq!(result["valid"], true, "{result}");
    assert_eq!(codes(&result["warnings"]), ["RE_EXTRACT_COST"]);
    let cost = result["warnings"][0]["message"].as_str().unwrap();
    // texts (18), texts_again (18) and label_texts (3) are reprocessed.
    assert!(cost.contains("39 documents in 3 collections"), "{cost}");

    // A dry run plans the extraction and writes nothing.
    let mut dry = config.clone();
    dry["dry_run"] = json!(true);
    dry["target_namespace_name"] = json!("data_dry");
    let dry_id = create(&server, dry).await;
    let (status, _) = start(&server, &dry_id, true).await;
    assert_eq!(status, 200);
    let planned = wait_until_settled(&server, &dry_id).await;
    assert_eq!(planned["status"], "completed", "{planned}");
    let plan = &planned["additional_data"]["plan"];
    assert_eq!(
        plan["items"]["extracted"], 21,
        "texts and label_texts read 21 objects: {plan}"
    );
    let deferred: Vec<&Value> = plan["resources"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["planned_after_upstream"] == true)
        .collect();
    assert_eq!(deferred.len(), 1, "texts_again waits for texts: {plan}");
    let (status, _) = send(server.request(Method::GET, "/v1/namespaces/data_dry")).await;
    assert_eq!(status, 404, "a dry run creates no namespace");

    // Warnings refuse start_immediately and an unforced start.
    let (status, refused) = post(
        &server,
        &format!("{MIGRATIONS}/"),
        json!({"config": config, "start_immediately": true}),
    )
    .await;
    assert_error(
        status,
        &refused,
        400,
        "MigrationValidationError",
        "migration_validation_failed",
    );
    let id = create(&server, config.clone()).await;
    let (status, refused) = start(&server, &id, false).await;
    assert_eq!(status, 400, "{refused}");
    assert_eq!(refused["error"]["type"], "MigrationValidationError");
    let (status, started) = start(&server, &id, true).await;
    assert_eq!(status, 200, "{started}");
    let done = wait_until_settled(&server, &id).await;
    assert_eq!(done["status"], "completed", "{done}");
    let data = &done["additional_data"];

    // The rebuilt collections carry v2's 768-dimensional vectors, as many documents as the
    // source, and every one was extracted again.
    let texts = get(&server, "data_v2", "/v1/collections/texts").await;
    assert_eq!(texts["feature_extractor"]["version"], "v2", "{texts}");
    assert_eq!(texts["vector_indexes"][0]["index"]["dimensions"], 768);
    // Each rebuilt collection keeps its own vector storage choices.
    assert_eq!(texts["vector_indexes"][0]["index"]["datatype"], "float32");
    let again = get(&server, "data_v2", "/v1/collections/texts_again").await;
    assert_eq!(again["feature_extractor"]["version"], "v2", "{again}");
    assert_eq!(again["vector_indexes"][0]["index"]["datatype"], "uint8");
    assert_eq!(again["vector_indexes"][0]["index"]["on_disk"], true);
    assert_eq!(again["feature_extractor"]["parameters"]["on_disk"], true);
    assert_eq!(
        texts["vector_indexes"][0]["feature_uri"],
        "mixpeek://text_extractor@v2/text_embedding"
    );
    let docs = all_documents(&server, "data_v2", "texts").await;
    assert_eq!(docs.len(), 18);
    for doc in &docs {
        let vector = doc["text_extractor_v2_text_embedding"]
            .as_array()
            .unwrap_or_else(|| panic!("no v2 vector: {doc}"));
        assert_eq!(vector.len(), 768);
        assert!(
            doc.get("text_extractor_v1_text_embedding").is_none(),
            "{doc}"
        );
    }
    let downstream = all_documents(&server, "data_v2", "texts_again").await;
    assert_eq!(downstream.len(), 18);
    let target_text_ids: Vec<&str> = docs
        .iter()
        .map(|d| d["document_id"].as_str().unwrap())
        .collect();
    for doc in &downstream {
        let parent = doc["_internal"]["lineage"]["source_document_id"]
            .as_str()
            .or(doc["source_document_id"].as_str())
            .unwrap_or_else(|| panic!("no lineage: {doc}"));
        assert!(
            target_text_ids.contains(&parent),
            "read the rebuilt texts: {doc}"
        );
        assert_eq!(
            doc["text_extractor_v2_text_embedding"]
                .as_array()
                .map(Vec::len),
            Some(768)
        );
    }
    let rebuilt = data["re_extracted"]["collections"].as_array().unwrap();
    assert_eq!(rebuilt.len(), 3, "{data}");
    assert!(
        rebuilt.iter().all(|c| c["to"] == "text_extractor@v2"),
        "{data}"
    );

    // The cluster ran again over the new vectors; the taxonomy ran again on the new docs.
    let clusters = data["clusters_recomputed"].as_array().unwrap();
    assert_eq!(clusters.len(), 1, "{data}");
    let cluster_id = clusters[0]["cluster_id"].as_str().unwrap();
    let cluster = get(&server, "data_v2", &format!("/v1/clusters/{cluster_id}")).await;
    assert_eq!(cluster["status"], "COMPLETED", "{cluster}");
    assert_eq!(cluster["num_documents_clustered"], 18, "{cluster}");
    assert_eq!(
        cluster["feature_uris"],
        json!(["mixpeek://text_extractor@v2/text_embedding"])
    );
    assert!(docs.iter().all(|d| d["cluster_id"].is_string()), "{docs:?}");
    let taxonomy_fields = docs
        .iter()
        .filter(|d| {
            d.as_object()
                .unwrap()
                .keys()
                .any(|k| k.starts_with("_taxonomy_"))
        })
        .count();
    assert_eq!(
        taxonomy_fields, 18,
        "every rebuilt document was enriched again"
    );

    // The retriever searches v2 now, and the benchmark compared it with the source's.
    let retriever = get(&server, "data_v2", "/v1/retrievers/semantic").await;
    assert!(
        retriever.to_string().contains("text_extractor@v2"),
        "{retriever}"
    );
    let (status, results) = send(
        within(
            &server,
            "data_v2",
            Method::POST,
            "/v1/retrievers/semantic/execute",
        )
        .json(&json!({"inputs": {"query": "goalkeeper penalty striker"}})),
    )
    .await;
    assert_eq!(status, 200, "{results}");
    assert_eq!(results["documents"][0]["topic"], "football", "{results}");
    let benchmark = data["benchmark"].as_array().unwrap();
    assert_eq!(benchmark.len(), 1, "{data}");
    assert!(
        benchmark[0].to_string().contains("overlap"),
        "{benchmark:?}"
    );

    // The source is untouched.
    let source = get(&server, "data", "/v1/collections/texts").await;
    assert_eq!(source["feature_extractor"]["version"], "v1");
    assert_eq!(source["document_count"], 18);

    // Extending v1 documents into the v2 target would mix vector spaces: refused.
    let mixed = validate(
        &server,
        json!({"migration_type": "extend", "source_namespace_id": "data",
               "target_namespace_name": "data_v2"}),
    )
    .await;
    assert_eq!(mixed["valid"], false, "{mixed}");
    assert!(
        codes(&mixed["errors"])
            .iter()
            .all(|c| c == "extractor_version_mismatch"),
        "{mixed}"
    );
    assert_eq!(codes(&mixed["errors"]).len(), 3, "{mixed}");
}

/// `n` new objects in the source's `docs` bucket, then `texts` triggered over them.
async fn add_objects(server: &TestServer, n: usize) {
    let objects: Vec<Value> = (0..n)
        .map(|i| {
            json!({"topic": "extra", "blobs": [
                {"property": "content", "type": "text", "data": format!("extra text number {i}")}]})
        })
        .collect();
    for chunk in objects.chunks(100) {
        let (status, body) = send(
            scoped(server, Method::POST, "/v1/buckets/docs/objects/batch")
                .json(&json!({"objects": chunk})),
        )
        .await;
        assert_eq!(status, 200, "{body}");
    }
    let (status, trigger) = send(scoped(
        server,
        Method::POST,
        "/v1/collections/texts/trigger",
    ))
    .await;
    assert_eq!(status, 202, "{trigger}");
    let task = wait_for_task(server, trigger["task_id"].as_str().unwrap()).await;
    assert_eq!(task["status"], "COMPLETED", "{task}");
}

async fn counts(server: &TestServer, ns: &str) -> (i64, i64) {
    let bucket = get(server, ns, "/v1/buckets/docs").await;
    let collection = get(server, ns, "/v1/collections/texts").await;
    (
        bucket["object_count"].as_i64().unwrap(),
        collection["document_count"].as_i64().unwrap(),
    )
}

async fn extend_brings_over_only_what_is_new_or_changed(backend: Backend) {
    let server = TestServer::start(backend).await;
    seed(&server).await;

    // Where an extend may go.
    let to = |target: Value| {
        let mut config = json!({"migration_type": "extend", "source_namespace_id": "data"});
        config
            .as_object_mut()
            .unwrap()
            .extend(target.as_object().cloned().unwrap_or_default());
        config
    };
    let none = validate(&server, to(json!({}))).await;
    assert_eq!(codes(&none["errors"]), ["target_namespace_required"]);
    let missing = validate(&server, to(json!({"target_namespace_name": "nowhere"}))).await;
    assert_eq!(codes(&missing["errors"]), ["target_namespace_not_found"]);
    let itself = validate(&server, to(json!({"target_namespace_name": "data"}))).await;
    assert_eq!(codes(&itself["errors"]), ["target_is_source"]);
    server.create_namespace("other").await;
    let (status, body) = send(
        within(&server, "other", Method::POST, "/v1/buckets")
            .json(&json!({"bucket_name": "docs", "bucket_schema": {"properties": {}}})),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let clash = validate(&server, to(json!({"target_namespace_name": "other"}))).await;
    assert_eq!(codes(&clash["errors"]), ["resource_name_taken"], "{clash}");

    // A copy, then 200 new objects (and their documents) in the source: the extend brings
    // exactly those over.
    run_to_completion(
        &server,
        json!({"migration_type": "copy", "source_namespace_id": "data",
               "target_namespace_name": "data_copy"}),
        false,
    )
    .await;
    assert_eq!(counts(&server, "data_copy").await, (18, 18));
    add_objects(&server, 200).await;
    assert_eq!(counts(&server, "data").await, (218, 218));
    let extend = to(json!({"target_namespace_name": "data_copy",
                           "batch_options": {"batch_size": 50, "max_workers": 4}}));
    let checked = validate(&server, extend.clone()).await;
    assert_eq!(checked["valid"], true, "{checked}");
    assert_eq!(checked["warnings"], json!([]), "nothing was deleted yet");
    let done = run_to_completion(&server, extend.clone(), false).await;
    let data = &done["additional_data"];
    assert_eq!(
        data["items"],
        json!({"selected": 436, "written": 400, "failed": 0, "skipped": 36}),
        "{data}"
    );
    assert_eq!(counts(&server, "data_copy").await, (218, 218));
    assert_eq!(data["deletions"]["detected"], 0, "{data}");
    // The extend continued into the copy's resources instead of making new ones.
    let (status, buckets) =
        send(within(&server, "data_copy", Method::POST, "/v1/buckets/list").json(&json!({}))).await;
    assert_eq!(status, 200, "{buckets}");
    assert_eq!(buckets["results"].as_array().unwrap().len(), 1, "{buckets}");

    // Run again with nothing new: nothing is written.
    let again = run_to_completion(&server, extend.clone(), false).await;
    assert_eq!(again["additional_data"]["items"]["written"], 0, "{again}");

    // One object changed and two deleted in the source: the change is brought over; the
    // deletions are a warning, reported, and applied only by a forced start.
    let objects = {
        let (status, page) = send(
            scoped(
                &server,
                Method::POST,
                "/v1/buckets/docs/objects/list?limit=3",
            )
            .json(&json!({})),
        )
        .await;
        assert_eq!(status, 200, "{page}");
        page["results"].as_array().unwrap().clone()
    };
    let (status, patched) = send(
        scoped(
            &server,
            Method::PATCH,
            &format!(
                "/v1/buckets/docs/objects/{}",
                objects[0]["object_id"].as_str().unwrap()
            ),
        )
        .json(&json!({"topic": "reviewed"})),
    )
    .await;
    assert_eq!(status, 200, "{patched}");
    for object in &objects[1..3] {
        let (status, body) = send(scoped(
            &server,
            Method::DELETE,
            &format!(
                "/v1/buckets/docs/objects/{}",
                object["object_id"].as_str().unwrap()
            ),
        ))
        .await;
        assert!(status == 200 || status == 204, "{status} {body}");
    }
    let warned = validate(&server, extend.clone()).await;
    assert_eq!(codes(&warned["warnings"]), ["SOURCE_DELETIONS"], "{warned}");
    let id = create(&server, extend.clone()).await;
    let (status, refused) = start(&server, &id, false).await;
    assert_eq!(status, 400, "{refused}");
    let (status, _) = start(&server, &id, true).await;
    assert_eq!(status, 200);
    let done = wait_until_settled(&server, &id).await;
    assert_eq!(done["status"], "completed", "{done}");
    let data = &done["additional_data"];
    assert_eq!(data["deletions"]["applied"], true, "{data}");
    let gone = data["deletions"]["detected"].as_i64().unwrap();
    assert!(gone >= 2, "two objects (and their documents): {data}");
    assert_eq!(
        data["items"]["written"].as_i64().unwrap(),
        1,
        "the change: {data}"
    );
    let (objects_left, documents_left) = counts(&server, "data_copy").await;
    assert_eq!(objects_left, 216);
    assert_eq!(
        (objects_left, documents_left),
        counts(&server, "data").await,
        "the target mirrors the source"
    );
}

async fn a_copy_can_run_its_clusters_again(backend: Backend) {
    let server = TestServer::start(backend).await;
    seed(&server).await;
    cluster_texts(&server, false).await;
    let done = run_to_completion(
        &server,
        json!({"migration_type": "copy", "source_namespace_id": "data",
               "target_namespace_name": "data_copy",
               "cluster_options": {"recompute_clusters": true}}),
        false,
    )
    .await;
    let recomputed = done["additional_data"]["clusters_recomputed"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(recomputed.len(), 1, "{done}");
    let target_cluster = get(
        &server,
        "data_copy",
        &format!(
            "/v1/clusters/{}",
            recomputed[0]["cluster_id"].as_str().unwrap()
        ),
    )
    .await;
    assert_eq!(target_cluster["status"], "COMPLETED", "{target_cluster}");
    assert_eq!(
        target_cluster["last_execution_task_id"], recomputed[0]["task_id"],
        "{target_cluster}"
    );
    assert_eq!(target_cluster["num_documents_clustered"], 18);
    let docs = all_documents(&server, "data_copy", "texts").await;
    assert!(docs.iter().all(|d| d["cluster_id"].is_string()), "{docs:?}");
    // The source cluster never ran; only the target's did.
    let source_cluster = get(&server, "data", "/v1/clusters/topics").await;
    assert!(source_cluster["last_run_id"].is_null(), "{source_cluster}");
}

/// An OpenAI-compatible `/embeddings` stub answering `dimensions`-long vectors; its first
/// answer is a 429 with `Retry-After: 1`. Returns its base URL and how many calls it took.
async fn throttling_embeddings(
    dimensions: usize,
) -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    use axum::response::IntoResponse;

    let calls = Arc::new(AtomicUsize::new(0));
    let counter = calls.clone();
    let app = axum::Router::new().route(
        "/embeddings",
        axum::routing::post(move |axum::Json(body): axum::Json<Value>| {
            let n = counter.fetch_add(1, Ordering::SeqCst);
            async move {
                if n == 0 {
                    return (
                        axum::http::StatusCode::TOO_MANY_REQUESTS,
                        [("retry-after", "1")],
                        "slow down",
                    )
                        .into_response();
                }
                let data: Vec<Value> = body["input"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .enumerate()
                    .map(|(i, text)| {
                        let len = text.as_str().unwrap().len() as f32;
                        json!({"index": i, "embedding": vec![len; dimensions]})
                    })
                    .collect();
                axum::Json(json!({"data": data})).into_response()
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, calls)
}

/// A re_extract to a remote extractor's new parameters runs it in the batch workers; the
/// endpoint's 429 is waited out (`Retry-After`) and the migration completes.
async fn re_extract_through_a_remote_extractor_waits_out_a_429(backend: Backend) {
    let server = TestServer::start(backend).await;
    seed(&server).await;
    let (old_endpoint, _) = throttling_embeddings(4).await;
    // The source collection's own endpoint throttles once too; its trigger waits it out.
    let remote = create_and_trigger(
        &server,
        json!({
            "collection_name": "remote",
            "source": {"type": "bucket", "bucket_ids": ["docs"]},
            "feature_extractor": {"feature_extractor_name": "openai_embedding_extractor",
                "version": "v1", "input_mappings": {"text": "content"},
                "parameters": {"base_url": old_endpoint, "model": "small", "dimensions": 4}}
        }),
    )
    .await;
    let (new_endpoint, calls) = throttling_embeddings(8).await;
    let done = run_to_completion(
        &server,
        json!({"migration_type": "re_extract", "source_namespace_id": "data",
               "target_namespace_name": "remote_v2",
               "filters": {"collection_ids": [remote]},
               "feature_extractors": [{"feature_extractor_name": "openai_embedding_extractor",
                   "parameters": {"base_url": new_endpoint, "model": "large", "dimensions": 8}}],
               "batch_options": {"batch_size": 6, "max_workers": 2}}),
        true,
    )
    .await;
    // 18 objects in 3 extraction batches, and the one call answered 429.
    assert_eq!(calls.load(std::sync::atomic::Ordering::SeqCst), 4, "{done}");
    let remote = get(&server, "remote_v2", "/v1/collections/remote").await;
    assert_eq!(remote["vector_indexes"][0]["index"]["dimensions"], 8);
    assert_eq!(remote["feature_extractor"]["parameters"]["model"], "large");
    let docs = all_documents(&server, "remote_v2", "remote").await;
    assert_eq!(docs.len(), 18);
    for doc in &docs {
        let vector = doc
            .as_object()
            .unwrap()
            .iter()
            .find(|(k, _)| k.starts_with("openai_embedding_extractor_v1_"))
            .map(|(_, v)| v.as_array().unwrap().len());
        assert_eq!(vector, Some(8), "{doc}");
    }
}

store_tests!(
    re_extract_through_a_remote_extractor_waits_out_a_429,
    a_copy_can_run_its_clusters_again,
    re_extract_rebuilds_what_the_new_version_changes,
    extend_brings_over_only_what_is_new_or_changed,
);
