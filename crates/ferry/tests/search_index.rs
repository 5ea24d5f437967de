//! Vector indexes as a user sees them: a retriever answers the same through an HNSW index as
//! by scanning every document, finds writes and misses deletes the moment they commit,
//! reaches its recall target against exact search, and keeps answering right across a
//! restart, a SIGKILL and a damaged index file.

mod common;

use std::collections::HashSet;
use std::time::Duration;

use common::corpus::scoped;
use common::process::ServeProcess;
use common::vectors::{
    centres, clustered, indexes, nearest, setup, until_caught_up, write, Corpus, Seeded, FEATURE,
};
use common::{send, Backend, TestDatabase, TEST_KEY};
use rand::rngs::StdRng;
use rand::SeedableRng;
use reqwest::Method;
use serde_json::{json, Value};

async fn indexed_answers_equal_exact_answers_and_see_every_write(backend: Backend) {
    let mut s = Seeded::start(backend, 7, 12, 400).await;
    let queries: Vec<Vec<f32>> = (0..20).map(|_| s.vector()).collect();
    let collection_id = s.target.1.clone();
    let before = indexes(&s.base, &s.http, &collection_id).await;
    assert_eq!(before["indexes"][0]["state"], "exact", "{before}");
    for query in &queries {
        assert_eq!(
            nearest(&s.base, &s.http, query).await,
            s.corpus.exact_top(query, 10)
        );
    }
    let ready = until_caught_up(&s.base, &s.http, &collection_id).await;
    assert_eq!(ready["indexes"][0]["indexed_vectors"], 400, "{ready}");
    assert_eq!(ready["indexes"][0]["loaded_from_disk"], false, "{ready}");
    for query in &queries {
        assert_eq!(
            nearest(&s.base, &s.http, query).await,
            s.corpus.exact_top(query, 10)
        );
    }

    // A delete is missed at once: the next query reads it from the change feed.
    let best = s.corpus.exact_top(&queries[0], 1)[0].clone();
    let (status, body) = send(scoped(
        &s.server,
        Method::DELETE,
        &format!("/v1/collections/{collection_id}/documents/{best}"),
    ))
    .await;
    assert_eq!(status, 200, "{body}");
    s.corpus.remove(&best);
    let answer = nearest(&s.base, &s.http, &queries[0]).await;
    assert!(!answer.contains(&best), "{answer:?}");
    assert_eq!(answer, s.corpus.exact_top(&queries[0], 10));

    // A write is found at once: a document equal to a query ranks first.
    let planted = queries[1].clone();
    let (ns, collection, vector) = (s.target.0, s.target.1.as_str(), s.target.2.as_str());
    write(
        &s.server.store,
        (ns, collection, vector),
        &mut s.corpus,
        1,
        || planted.clone(),
    )
    .await;
    let answer = nearest(&s.base, &s.http, &queries[1]).await;
    assert_eq!(answer[0], s.corpus.vectors.last().unwrap().0);
    assert_eq!(answer, s.corpus.exact_top(&queries[1], 10));

    // Once the maintainer applies them, the index itself holds both changes.
    let caught_up = until_caught_up(&s.base, &s.http, &collection_id).await;
    assert_eq!(
        caught_up["indexes"][0]["indexed_vectors"], 400,
        "{caught_up}"
    );
    for query in &queries {
        assert_eq!(
            nearest(&s.base, &s.http, query).await,
            s.corpus.exact_top(query, 10)
        );
    }
    s.server.stop().await;
}

async fn recall_at_10_against_exact_meets_the_target(backend: Backend) {
    // Past the size below which a graph is searched by brute force.
    let mut s = Seeded::start(backend, 20261130, 64, 25_000).await;
    let probe = s.vector();
    nearest(&s.base, &s.http, &probe).await;
    until_caught_up(&s.base, &s.http, &s.target.1).await;
    let (base, http) = (s.base.clone(), s.http.clone());

    let queries = 100;
    let mut found = 0;
    for _ in 0..queries {
        let query = s.vector();
        let exact: HashSet<String> = s.corpus.exact_top(&query, 10).into_iter().collect();
        let answer = nearest(&base, &http, &query).await;
        assert_eq!(answer.len(), 10);
        found += answer.iter().filter(|id| exact.contains(*id)).count();
    }
    let recall = found as f64 / (queries * 10) as f64;
    eprintln!("recall@10 against exact over 25,000 documents: {recall:.3}");
    assert!(recall >= 0.95, "recall@10 {recall:.3} is below 0.95");
    // The answers came through the graph: each search examined its candidates, not the
    // collection.
    let (status, history) = send(
        http.post(format!(
            "{base}/v1/retrievers/nearest/executions/list?limit=5"
        ))
        .bearer_auth(TEST_KEY)
        .header("X-Namespace", "data")
        .json(&json!({})),
    )
    .await;
    assert_eq!(status, 200, "{history}");
    for execution in history["results"].as_array().unwrap() {
        let examined = execution["total_processed"].as_i64().unwrap();
        assert!((1..=50).contains(&examined), "{execution}");
    }
    s.server.stop().await;
}

/// The graph file of the collection's one index, under `data_dir/indexes`.
fn graph_file(db: &TestDatabase) -> std::path::PathBuf {
    let mut found = Vec::new();
    let mut dirs = vec![db.storage.data_dir.join("indexes")];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir)
            .expect("index dir")
            .map_while(Result::ok)
        {
            let path = entry.path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "usearch") {
                found.push(path);
            }
        }
    }
    assert_eq!(found.len(), 1, "{found:?}");
    found.remove(0)
}

async fn a_saved_index_survives_restart_sigkill_and_damage(backend: Backend) {
    let db = TestDatabase::new(backend).await;
    let env = [("FERRY_INDEX_EXACT_BELOW", "0"), ("FERRY_WORKERS", "0")];
    let mut server = ServeProcess::start_with(&db, Some(TEST_KEY), &env);
    let (base, http) = (server.base_url(), reqwest::Client::new());
    let store = db.open().await;
    let (ns, collection_id, vector_name, dimensions) = setup(&base, &http, &store, json!({})).await;
    let target = (ns, collection_id.as_str(), vector_name.as_str());
    let mut rng = StdRng::seed_from_u64(11);
    let centres = centres(&mut rng, 8, dimensions);
    let mut corpus = Corpus::default();
    write(&store, target, &mut corpus, 600, || {
        clustered(&mut rng, &centres)
    })
    .await;
    let queries: Vec<Vec<f32>> = (0..10).map(|_| clustered(&mut rng, &centres)).collect();
    nearest(&base, &http, &queries[0]).await;
    until_caught_up(&base, &http, &collection_id).await;
    let saved = graph_file(&db);

    // SIGKILL, then writes and deletes while the server is down.
    server.kill();
    write(&store, target, &mut corpus, 40, || {
        clustered(&mut rng, &centres)
    })
    .await;
    for i in [3usize, 50, 99] {
        let id = format!("doc_{i:06}");
        store
            .delete_document(ns, &collection_id, &id)
            .await
            .expect("delete");
        corpus.remove(&id);
    }
    let mut server = ServeProcess::start_with(&db, Some(TEST_KEY), &env);
    let base = server.base_url();
    for query in &queries {
        assert_eq!(
            nearest(&base, &http, query).await,
            corpus.exact_top(query, 10)
        );
    }
    let report = until_caught_up(&base, &http, &collection_id).await;
    assert_eq!(report["indexes"][0]["indexed_vectors"], 637, "{report}");
    assert_eq!(report["indexes"][0]["loaded_from_disk"], true, "{report}");

    // A damaged graph is not trusted: it is rebuilt, and answers stay exact meanwhile.
    server.kill();
    let mut bytes = std::fs::read(&saved).expect("read graph");
    let middle = bytes.len() / 2;
    for byte in &mut bytes[middle..middle + 64] {
        *byte ^= 0x5a;
    }
    std::fs::write(&saved, &bytes).expect("damage graph");
    let damaged = bytes;
    let mut server = ServeProcess::start_with(&db, Some(TEST_KEY), &env);
    let base = server.base_url();
    for query in &queries {
        assert_eq!(
            nearest(&base, &http, query).await,
            corpus.exact_top(query, 10)
        );
    }
    let report = until_caught_up(&base, &http, &collection_id).await;
    assert_eq!(report["indexes"][0]["indexed_vectors"], 637, "{report}");
    assert_eq!(report["indexes"][0]["loaded_from_disk"], false, "{report}");
    let rebuilt = std::fs::read(graph_file(&db)).expect("read rebuilt graph");
    assert_ne!(rebuilt, damaged, "the damaged graph was replaced");
    for query in &queries {
        assert_eq!(
            nearest(&base, &http, query).await,
            corpus.exact_top(query, 10)
        );
    }
    let (stopped, _) = server.terminate();
    assert!(stopped);
    store.close().await;
}

async fn a_filter_then_a_search_ranks_every_match(backend: Backend) {
    let mut s = Seeded::start(backend, 5, 12, 1_000).await;
    let (status, body) = send(
        scoped(&s.server, Method::POST, "/v1/retrievers").json(&json!({
            "retriever_name": "rare_nearest",
            "collection_identifiers": ["vectors"],
            "input_schema": {"vector": {"type": "array"}},
            "stages": [
                {"stage_name": "rare", "config": {"stage_id": "attribute_filter",
                    "parameters": {"field": "group", "operator": "eq", "value": "rare"}}},
                {"stage_name": "search", "config": {"stage_id": "feature_search",
                    "parameters": {"searches": [{"feature_uri": FEATURE, "top_k": 10,
                        "query": {"input_mode": "vector", "value": "{{INPUT.vector}}"}}]}}}]
        })),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let rare = Corpus {
        vectors: s
            .corpus
            .vectors
            .iter()
            .filter(|(id, _)| id[4..].parse::<usize>().unwrap() % 10 == 0)
            .cloned()
            .collect(),
        next: 0,
    };
    for _ in 0..10 {
        let query = s.vector();
        let (status, body) = send(
            scoped(
                &s.server,
                Method::POST,
                "/v1/retrievers/rare_nearest/execute",
            )
            .json(&json!({"inputs": {"vector": query}})),
        )
        .await;
        assert_eq!(status, 200, "{body}");
        let answer: Vec<&str> = body["documents"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["document_id"].as_str().unwrap())
            .collect();
        assert_eq!(answer, rare.exact_top(&query, 10));
    }
    s.server.stop().await;
}

/// `POST`/`GET` `path` on `base` in namespace `data`.
async fn data_call(base: &str, method: Method, path: &str, body: Option<Value>) -> Value {
    let mut request = reqwest::Client::new()
        .request(method, format!("{base}{path}"))
        .bearer_auth(TEST_KEY)
        .header("X-Namespace", "data");
    if let Some(body) = body {
        request = request.json(&body);
    }
    let (status, answer) = send(request).await;
    assert!((200..300).contains(&status), "{path}: {status} {answer}");
    answer
}

/// Adds `texts` to bucket `docs` and triggers collection `texts` to completion (the worker
/// process does the work).
async fn add_and_trigger(base: &str, texts: &[String]) {
    let objects: Vec<Value> = texts
        .iter()
        .map(|t| json!({"blobs": [{"property": "content", "type": "text", "data": t}]}))
        .collect();
    data_call(
        base,
        Method::POST,
        "/v1/buckets/docs/objects/batch",
        Some(json!({"objects": objects})),
    )
    .await;
    let trigger = data_call(base, Method::POST, "/v1/collections/texts/trigger", None).await;
    let task_id = trigger["task_id"].as_str().unwrap().to_owned();
    for _ in 0..1200 {
        let task = data_call(base, Method::GET, &format!("/v1/tasks/{task_id}"), None).await;
        match task["status"].as_str().unwrap() {
            "COMPLETED" => return,
            "FAILED" | "COMPLETED_WITH_ERRORS" => panic!("{task}"),
            _ => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
    panic!("trigger {task_id} did not finish");
}

/// The best document's `document_id` for `query`, and the text it holds.
async fn best_text(base: &str, query: &str) -> String {
    let answer = data_call(
        base,
        Method::POST,
        "/v1/retrievers/texts_search/execute",
        Some(json!({"inputs": {"query": query}})),
    )
    .await;
    answer["documents"][0]["text"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

async fn a_document_written_by_a_worker_process_is_found_by_a_serve_process(backend: Backend) {
    let db = TestDatabase::new(backend).await;
    let env = [("FERRY_INDEX_EXACT_BELOW", "0"), ("FERRY_WORKERS", "0")];
    let mut server = ServeProcess::start_with(&db, Some(TEST_KEY), &env);
    let base = server.base_url();
    let http = reqwest::Client::new();
    let (status, body) = send(
        http.post(format!("{base}/v1/namespaces"))
            .bearer_auth(TEST_KEY)
            .json(&json!({"namespace_name": "data"})),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    data_call(
        &base,
        Method::POST,
        "/v1/buckets",
        Some(json!({"bucket_name": "docs",
        "bucket_schema": {"properties": {"content": {"type": "text"}}}})),
    )
    .await;
    let collection = data_call(
        &base,
        Method::POST,
        "/v1/collections",
        Some(json!({
        "collection_name": "texts", "source": {"type": "bucket", "bucket_ids": ["docs"]},
        "feature_extractor": {"feature_extractor_name": "text_extractor", "version": "v1",
            "input_mappings": {"text": "content"}}})),
    )
    .await;
    let collection_id = collection["collection_id"].as_str().unwrap().to_owned();
    data_call(
        &base,
        Method::POST,
        "/v1/retrievers",
        Some(json!({
        "retriever_name": "texts_search", "collection_identifiers": ["texts"],
        "input_schema": {"query": {"type": "text"}},
        "stages": [{"stage_name": "search", "config": {"stage_id": "feature_search",
            "parameters": {"searches": [{"feature_uri": FEATURE, "top_k": 5,
                "query": {"input_mode": "text", "value": "{{INPUT.query}}"}}]}}}]})),
    )
    .await;

    let mut worker = common::process::ferry(&db)
        .args(["worker"])
        .env("FERRY_API_KEY", TEST_KEY)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawn ferry worker");
    let first: Vec<String> = (0..50)
        .map(|i| format!("harbour ferry timetable number {i} with crossings and piers"))
        .collect();
    add_and_trigger(&base, &first).await;
    assert_eq!(best_text(&base, &first[7]).await, first[7]);
    let ready = until_caught_up(&base, &http, &collection_id).await;
    assert_eq!(ready["indexes"][0]["indexed_vectors"], 50, "{ready}");

    // The worker writes; the serve process finds the document at its next query.
    let late = "lighthouse keeper logbook of the northern storm season".to_owned();
    add_and_trigger(&base, std::slice::from_ref(&late)).await;
    assert_eq!(best_text(&base, &late).await, late);
    let caught_up = until_caught_up(&base, &http, &collection_id).await;
    assert_eq!(
        caught_up["indexes"][0]["indexed_vectors"], 51,
        "{caught_up}"
    );
    assert_eq!(best_text(&base, &late).await, late);

    worker.kill().expect("stop worker");
    worker.wait().expect("reap worker");
    let (stopped, _) = server.terminate();
    assert!(stopped);
}

store_tests!(
    a_document_written_by_a_worker_process_is_found_by_a_serve_process,
    a_filter_then_a_search_ranks_every_match,
    indexed_answers_equal_exact_answers_and_see_every_write,
    recall_at_10_against_exact_meets_the_target,
    a_saved_index_survives_restart_sigkill_and_damage,
);
