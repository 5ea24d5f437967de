//! Retrievers search collections through stages (feature search, attribute filter, sort,
//! limit); every execution is recorded and interactions are recorded against it. Taxonomies
//! run a retriever for each document of a collection against a reference collection and write
//! the best match onto the document. Bad references are refused naming the id.

mod common;

use common::corpus::{
    assert_history_filters, create_retriever, documents, scoped, search_stage, seed,
    seed_reference, taxonomy_body, wait_for_task, PER_TOPIC, TOPICS,
};
use common::{assert_error, assert_invalid, send, Backend, TestServer};
use reqwest::Method;
use serde_json::{json, Value};

async fn execute(server: &TestServer, retriever: &str, body: Value) -> Value {
    let (status, result) = send(
        scoped(
            server,
            Method::POST,
            &format!("/v1/retrievers/{retriever}/execute"),
        )
        .json(&body),
    )
    .await;
    assert_eq!(status, 200, "{result}");
    result
}

async fn search_ranks_the_matching_document_first(backend: Backend) {
    let server = TestServer::start(backend).await;
    seed(&server).await;
    let retriever = create_retriever(
        &server,
        json!({"retriever_name": "semantic", "collection_identifiers": ["texts"],
               "stages": [search_stage(10)],
               "input_schema": {"query": {"type": "text", "required": true}}}),
    )
    .await;
    let retriever_id = retriever["retriever_id"].as_str().unwrap().to_owned();
    assert!(retriever_id.starts_with("ret_"), "{retriever}");
    assert_eq!(retriever["version"], 1);
    assert_eq!(retriever["stages"][0]["stage_type"], "filter");
    assert_eq!(
        retriever["stages"][0]["parameters"]["searches"][0]["top_k"],
        10
    );
    assert_eq!(
        retriever["feature_dependencies"],
        json!([{"scheme": "mixpeek", "extractor": "text_extractor", "version": "v1",
                "output": "text_embedding"}])
    );
    assert_eq!(
        retriever["collection_identifiers"],
        retriever["collection_ids"]
    );

    // The exact text of one astronomy document: it ranks first, its topic fills the top.
    let query = "telescope galaxy nebula comet orbit quasar";
    let result = execute(&server, "semantic", json!({"inputs": {"query": query}})).await;
    let docs = result["documents"].as_array().unwrap();
    assert_eq!(docs.len(), 10, "{result}");
    assert_eq!(docs[0]["text"], query, "{result}");
    assert!(
        docs[0]["score"].as_f64().unwrap() > 0.999,
        "{}",
        docs[0]["score"]
    );
    for doc in &docs[..PER_TOPIC] {
        assert_eq!(doc["topic"], "astronomy", "{result}");
    }
    let scores: Vec<f64> = docs.iter().map(|d| d["score"].as_f64().unwrap()).collect();
    assert!(scores.windows(2).all(|w| w[0] >= w[1]), "{scores:?}");
    assert_eq!(result["status"], "completed");
    assert_eq!(
        result["stage_statistics"]["stages"]["search"]["output_count"],
        10
    );
    let execution_id = result["execution_id"].as_str().unwrap().to_owned();

    // Pages: cursor pagination walks the same ranking.
    let first = execute(
        &server,
        &retriever_id,
        json!({"inputs": {"query": query}, "pagination": {"method": "cursor", "limit": 4}}),
    )
    .await;
    assert_eq!(first["documents"].as_array().unwrap().len(), 4);
    assert_eq!(first["pagination"]["has_next"], true);
    let cursor = first["pagination"]["next_cursor"].as_str().unwrap();
    let second = execute(
        &server,
        &retriever_id,
        json!({"inputs": {"query": query},
               "pagination": {"method": "cursor", "limit": 4, "cursor": cursor}}),
    )
    .await;
    assert_eq!(
        second["documents"][0]["document_id"], docs[4]["document_id"],
        "{second}"
    );

    // Executions are recorded with their inputs and results.
    let (status, listed) = send(
        scoped(
            &server,
            Method::POST,
            &format!("/v1/retrievers/{retriever_id}/executions/list"),
        )
        .json(&json!({})),
    )
    .await;
    assert_eq!(status, 200, "{listed}");
    assert_eq!(listed["pagination"]["total"], 3, "{listed}");
    // The history is filtered by status only, as shorthand or as one `eq` under `AND`.
    let executions = format!("/v1/retrievers/{retriever_id}/executions/list");
    assert_history_filters(&server, &executions, "/pagination/total", 3).await;
    let oldest = &listed["results"][2];
    assert_eq!(oldest["execution_id"], execution_id.as_str());
    assert_eq!(oldest["total_returned"], 10);
    assert!(oldest["query_summary"].as_str().unwrap().contains(query));
    let (status, detail) = send(scoped(
        &server,
        Method::GET,
        &format!("/v1/retrievers/semantic/executions/{execution_id}"),
    ))
    .await;
    assert_eq!(status, 200, "{detail}");
    assert_eq!(detail["documents"], result["documents"]);

    // Interactions are recorded against an execution; the retriever is taken from it.
    let clicked = docs[0]["document_id"].as_str().unwrap();
    let (status, interaction) = send(
        scoped(&server, Method::POST, "/v1/retrievers/interactions").json(&json!({
            "feature_id": clicked, "interaction_type": ["click", "positive_feedback"],
            "position": 0, "execution_id": execution_id, "session_id": "s1"})),
    )
    .await;
    assert_eq!(status, 200, "{interaction}");
    assert_eq!(interaction["retriever_id"], retriever_id.as_str());
    let interaction_id = interaction["interaction_id"].as_str().unwrap();
    for (filter, expected) in [
        (json!({"execution_id": execution_id}), 1),
        (json!({"retriever_id": retriever_id}), 1),
        (json!({"interaction_type": "click"}), 1),
        (json!({"interaction_type": "purchase"}), 0),
        (json!({"session_id": "other"}), 0),
    ] {
        let (status, page) = send(
            scoped(
                &server,
                Method::POST,
                "/v1/retrievers/interactions/list?include_total=true",
            )
            .json(&filter),
        )
        .await;
        assert_eq!(status, 200, "{page}");
        assert_eq!(
            page["results"].as_array().unwrap().len(),
            expected,
            "{filter}"
        );
        assert_eq!(page["items"], page["results"]);
    }
    let path = format!("/v1/retrievers/interactions/{interaction_id}");
    let (status, got) = send(scoped(&server, Method::GET, &path)).await;
    assert_eq!(status, 200, "{got}");
    assert_eq!(got["feature_id"], clicked);
    let (status, _) = send(scoped(&server, Method::DELETE, &path)).await;
    assert_eq!(status, 200);
    let (status, body) = send(scoped(&server, Method::GET, &path)).await;
    assert_error(status, &body, 404, "NotFoundError", "interaction_not_found");
}

async fn filter_sort_and_limit_stages_shape_the_results(backend: Backend) {
    let server = TestServer::start(backend).await;
    seed(&server).await;
    create_retriever(
        &server,
        json!({"retriever_name": "filtered", "collection_identifiers": ["texts"],
               "stages": [
                   search_stage(18),
                   {"stage_name": "topic", "config": {"stage_id": "attribute_filter",
                     "parameters": {"field": "topic", "operator": "eq",
                                    "value": "{{INPUT.topic}}"}}},
                   {"stage_name": "by_text", "config": {"stage_id": "sort_attribute",
                     "parameters": {"field": "text", "direction": "asc"}}},
                   {"stage_name": "top", "config": {"stage_id": "limit",
                     "parameters": {"limit": 3}}}]}),
    )
    .await;
    let result = execute(
        &server,
        "filtered",
        json!({"inputs": {"query": "flour yeast dough", "topic": "football"}}),
    )
    .await;
    let docs = result["documents"].as_array().unwrap();
    assert_eq!(docs.len(), 3, "{result}");
    let texts: Vec<&str> = docs.iter().map(|d| d["text"].as_str().unwrap()).collect();
    let mut sorted = texts.clone();
    sorted.sort();
    assert_eq!(texts, sorted);
    assert!(docs.iter().all(|d| d["topic"] == "football"), "{result}");
    let stats = &result["stage_statistics"]["stages"];
    assert_eq!(stats["search"]["output_count"], 18, "{stats}");
    assert_eq!(stats["topic"]["output_count"], PER_TOPIC as i64, "{stats}");
    assert_eq!(stats["top"]["output_count"], 3, "{stats}");

    // The execution's own filters narrow the final results further.
    let narrowed = execute(
        &server,
        "filtered",
        json!({"inputs": {"query": "x", "topic": "baking"},
               "filters": {"AND": [{"field": "text", "operator": "contains", "value": "zzz"}]}}),
    )
    .await;
    assert_eq!(narrowed["documents"], json!([]));

    // A filter-only retriever scans the collection.
    create_retriever(
        &server,
        json!({"retriever_name": "scan", "collection_identifiers": ["texts"],
               "stages": [{"stage_name": "only", "config": {"stage_id": "attribute_filter",
                           "parameters": {"filters": {"topic": "baking"}}}}]}),
    )
    .await;
    let scanned = execute(&server, "scan", json!({"limit": 100})).await;
    assert_eq!(scanned["documents"].as_array().unwrap().len(), PER_TOPIC);

    // Patching the stages bumps the version; a name patch alone does not.
    let (status, patched) = send(
        scoped(&server, Method::PATCH, "/v1/retrievers/scan")
            .json(&json!({"description": "scan only"})),
    )
    .await;
    assert_eq!(status, 200, "{patched}");
    assert_eq!(patched["retriever"]["version"], 1);
    let (status, patched) = send(
        scoped(&server, Method::PATCH, "/v1/retrievers/scan")
            .json(&json!({"stages": [search_stage(5)]})),
    )
    .await;
    assert_eq!(status, 200, "{patched}");
    assert_eq!(patched["retriever"]["version"], 2);
    let (status, listed) = send(
        scoped(
            &server,
            Method::POST,
            "/v1/retrievers/list?include_total=true",
        )
        .json(&json!({"search": "scan"})),
    )
    .await;
    assert_eq!(status, 200, "{listed}");
    assert_eq!(listed["total"], 1, "{listed}");
    let (status, _) = send(scoped(&server, Method::DELETE, "/v1/retrievers/scan")).await;
    assert_eq!(status, 200);
    let (status, body) = send(scoped(&server, Method::GET, "/v1/retrievers/scan")).await;
    assert_error(status, &body, 404, "NotFoundError", "retriever_not_found");
}

/// Every document of `texts` carries its own topic as `topic_label`, and one match.
fn assert_enriched(docs: &[Value], taxonomy_id: &str) {
    assert_eq!(docs.len(), TOPICS.len() * PER_TOPIC);
    let field = format!("_taxonomy_{taxonomy_id}");
    for doc in docs {
        assert_eq!(doc["topic_label"], doc["topic"], "{doc}");
        let matches = doc[&field]["matches"]
            .as_array()
            .unwrap_or_else(|| panic!("{doc}"));
        assert_eq!(matches.len(), 1, "{doc}");
        assert_eq!(matches[0]["label"], doc["topic"], "{doc}");
        assert!(matches[0]["document_id"]
            .as_str()
            .unwrap()
            .starts_with("doc_"));
        assert_eq!(doc[&field]["taxonomy_id"], taxonomy_id);
    }
}

async fn a_taxonomy_enriches_every_document(backend: Backend) {
    let server = TestServer::start(backend).await;
    seed(&server).await;
    seed_reference(&server).await;
    let (status, taxonomy) =
        send(scoped(&server, Method::POST, "/v1/taxonomies").json(&taxonomy_body())).await;
    assert_eq!(status, 200, "{taxonomy}");
    let taxonomy_id = taxonomy["taxonomy_id"].as_str().unwrap().to_owned();
    assert!(taxonomy_id.starts_with("tax_"), "{taxonomy}");
    assert!(taxonomy["retriever_id"]
        .as_str()
        .unwrap()
        .starts_with("ret_"));
    assert_eq!(taxonomy["config"]["top_k"], 1);

    let (status, applied) = send(
        scoped(
            &server,
            Method::POST,
            "/v1/collections/texts/apply-taxonomy",
        )
        .json(&json!({"taxonomy_id": "topics"})),
    )
    .await;
    assert_eq!(status, 200, "{applied}");
    assert_eq!(applied["estimated_documents"], 18);
    let task = wait_for_task(&server, applied["task_id"].as_str().unwrap()).await;
    assert_eq!(task["status"], "COMPLETED", "{task}");
    assert_eq!(task["task_type"], "api_taxonomies_materialize");
    assert_eq!(task["outputs"][0]["documents_enriched"], 18, "{task}");
    assert_enriched(&documents(&server, "texts").await, &taxonomy_id);

    // Attached to the collection, the taxonomy re-runs after each trigger: re-processing
    // rewrites the documents, and the application enriches them again.
    let (status, body) = send(
        scoped(&server, Method::PATCH, "/v1/collections/texts")
            .json(&json!({"taxonomy_applications": [{"taxonomy_id": taxonomy_id}]})),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let (status, trigger) = send(scoped(
        &server,
        Method::POST,
        "/v1/collections/texts/trigger",
    ))
    .await;
    assert_eq!(status, 202, "{trigger}");
    wait_for_task(&server, trigger["task_id"].as_str().unwrap()).await;
    let mut enriched = Vec::new();
    for _ in 0..400 {
        let (status, tasks) = send(
            server
                .request(Method::POST, "/v1/tasks/list")
                .json(&json!({"task_type": "api_taxonomies_materialize", "status": "COMPLETED"})),
        )
        .await;
        assert_eq!(status, 200, "{tasks}");
        if tasks["results"].as_array().unwrap().len() == 2 {
            enriched = documents(&server, "texts").await;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_enriched(&enriched, &taxonomy_id);

    // Versions: a new version keeps the old one listed.
    let (status, v2) = send(
        scoped(
            &server,
            Method::POST,
            &format!("/v1/taxonomies/{taxonomy_id}/versions"),
        )
        .json(&json!({"description": "second"})),
    )
    .await;
    assert_eq!(status, 200, "{v2}");
    assert_eq!(v2["version"], 2);
    let (status, versions) = send(scoped(
        &server,
        Method::GET,
        &format!("/v1/taxonomies/{taxonomy_id}/versions"),
    ))
    .await;
    assert_eq!(status, 200, "{versions}");
    let listed: Vec<i64> = versions["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["version"].as_i64().unwrap())
        .collect();
    assert_eq!(listed, vec![2, 1]);
    let (status, page) =
        send(scoped(&server, Method::POST, "/v1/taxonomies/list").json(&json!({}))).await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["total_count"], 1);
}

async fn bad_references_are_refused_naming_the_id(backend: Backend) {
    let server = TestServer::start(backend).await;
    seed(&server).await;
    seed_reference(&server).await;
    let post = |path: &str, body: Value| {
        let request = scoped(&server, Method::POST, path).json(&body);
        send(request)
    };

    let (status, body) = post(
        "/v1/retrievers",
        json!({"retriever_name": "r", "collection_identifiers": ["col_missing"],
               "stages": [search_stage(3)]}),
    )
    .await;
    assert_error(
        status,
        &body,
        400,
        "BadRequestError",
        "collection_not_found",
    );
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("col_missing"),
        "{body}"
    );
    let other_feature = json!({"stage_name": "s", "config": {"stage_id": "feature_search",
        "parameters": {"searches": [{"feature_uri": "mixpeek://text_extractor@v2/text_embedding",
                                     "query": "{{INPUT.query}}"}]}}});
    let (status, body) = post(
        "/v1/retrievers",
        json!({"retriever_name": "r", "collection_identifiers": ["texts"],
               "stages": [other_feature]}),
    )
    .await;
    assert_error(status, &body, 400, "BadRequestError", "feature_not_found");
    let (status, body) = post(
        "/v1/retrievers",
        json!({"retriever_name": "r", "collection_identifiers": ["texts"],
               "stages": [{"stage_name": "s", "config": {"stage_id": "llm_filter"}}]}),
    )
    .await;
    assert_invalid(
        status,
        &body,
        json!(["body", "stages", 0, "config", "stage_id"]),
        "value_error",
    );
    let (status, body) = post(
        "/v1/retrievers",
        json!({"retriever_name": "r", "collection_identifiers": ["texts"],
               "stages": [{"stage_name": "s", "config": {"stage_id": "attribute_filter",
                           "parameters": {"field": "n", "value": "{{20 * INPUT.x}}"}}}]}),
    )
    .await;
    assert_invalid(
        status,
        &body,
        json!(["body", "stages", 0, "config", "parameters"]),
        "value_error",
    );

    // A required input left out of an execution is named.
    create_retriever(
        &server,
        json!({"retriever_name": "needs_query", "collection_identifiers": ["texts"],
               "stages": [search_stage(3)],
               "input_schema": {"query": {"type": "text", "required": true}}}),
    )
    .await;
    let (status, body) = post("/v1/retrievers/needs_query/execute", json!({"inputs": {}})).await;
    assert_error(status, &body, 400, "BadRequestError", "missing_input");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("'query'"),
        "{body}"
    );

    let (status, body) = post(
        "/v1/retrievers/interactions",
        json!({"feature_id": "doc_x", "interaction_type": ["click"], "position": 0,
               "execution_id": "exec_missing"}),
    )
    .await;
    assert_error(status, &body, 400, "BadRequestError", "execution_not_found");
    assert_eq!(body["error"]["details"]["execution_id"], "exec_missing");

    let mut missing_retriever = taxonomy_body();
    missing_retriever["config"]["retriever_id"] = json!("ret_missing");
    let (status, body) = post("/v1/taxonomies", missing_retriever).await;
    assert_error(status, &body, 400, "BadRequestError", "retriever_not_found");
    assert_eq!(body["error"]["details"]["retriever_id"], "ret_missing");
    let mut missing_source = taxonomy_body();
    missing_source["config"]["source_collection"]["collection_id"] = json!("col_missing");
    let (status, body) = post("/v1/taxonomies", missing_source).await;
    assert_error(
        status,
        &body,
        400,
        "BadRequestError",
        "collection_not_found",
    );
    assert_eq!(body["error"]["details"]["collection_id"], "col_missing");
    let mut unmapped = taxonomy_body();
    unmapped["config"]["input_mappings"][0]["input_key"] = json!("other");
    let (status, body) = post("/v1/taxonomies", unmapped).await;
    assert_error(status, &body, 400, "BadRequestError", "unmapped_input");

    let (status, body) = post(
        "/v1/collections/texts/apply-taxonomy",
        json!({"taxonomy_id": "tax_missing"}),
    )
    .await;
    assert_error(status, &body, 400, "BadRequestError", "taxonomy_not_found");
    let (status, body) = send(
        scoped(&server, Method::PATCH, "/v1/collections/texts")
            .json(&json!({"taxonomy_applications": [{"taxonomy_id": "tax_missing"}]})),
    )
    .await;
    assert_error(status, &body, 400, "BadRequestError", "taxonomy_not_found");

    // A retriever a taxonomy uses cannot be deleted from under it.
    let (status, body) = post("/v1/taxonomies", taxonomy_body()).await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = send(scoped(&server, Method::DELETE, "/v1/retrievers/labeler")).await;
    assert_error(status, &body, 400, "BadRequestError", "retriever_in_use");
    let (status, _) = send(scoped(&server, Method::GET, "/v1/retrievers/labeler")).await;
    assert_eq!(
        status, 200,
        "the refused delete left the retriever in place"
    );
}

store_tests!(
    search_ranks_the_matching_document_first,
    filter_sort_and_limit_stages_shape_the_results,
    a_taxonomy_enriches_every_document,
    bad_references_are_refused_naming_the_id,
);
