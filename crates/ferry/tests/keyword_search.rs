//! Keyword search and hybrid search as a user sees them: every text collection carries a
//! BM25 keyword feature (`mixpeek://{extractor}@{version}/keywords`), a retriever searches it
//! with text and gets the scores an independent BM25 computation gives, sees writes and
//! deletes at once, keeps its index across a restart and a damaged file, and fuses it with a
//! dense search by reciprocal rank fusion.

mod common;

use std::collections::HashMap;
use std::path::PathBuf;

use common::corpus::{create_and_trigger, create_retriever, scoped, wait_for_task};
use common::{assert_error, send, Backend, TestServer};
use ferry_retrieve::{ExactScan, KeywordRequest, VectorSearch};
use reqwest::Method;
use serde_json::{json, Value};

const KEYWORDS: &str = "mixpeek://text_extractor@v1/keywords";
const DENSE: &str = "mixpeek://text_extractor@v1/text_embedding";
const INDEX_NAME: &str = "text_extractor_v1_keywords";

/// Man-page summaries: short real sentences (under 40 words, so BM25's document lengths are
/// exact) in which "socket" appears only as itself.
const TEXTS: [&str; 12] = [
    "open and possibly create a file",
    "read from a file descriptor",
    "write to a file descriptor",
    "close a file descriptor",
    "create an endpoint for communication: a socket",
    "bind a name to a socket",
    "listen for connections on a socket, accept a connection on a socket",
    "allocate and free dynamic memory",
    "map or unmap files or devices into memory",
    "get the current working directory",
    "change working directory",
    "terminate the calling process",
];

/// Namespace `data`, bucket `pages` holding [`TEXTS`] (each with its `number`), collection
/// `pages` (text extractor v1) triggered to completion; returns the collection.
async fn seed(server: &TestServer) -> Value {
    server.create_namespace("data").await;
    let (status, body) = send(scoped(server, Method::POST, "/v1/buckets").json(&json!({
        "bucket_name": "pages",
        "bucket_schema": {"properties": {"number": {"type": "integer"},
                                         "content": {"type": "text"}}}
    })))
    .await;
    assert_eq!(status, 200, "{body}");
    let objects: Vec<Value> = TEXTS
        .iter()
        .enumerate()
        .map(|(i, text)| {
            json!({"number": i, "blobs": [{"property": "content", "type": "text", "data": text}]})
        })
        .collect();
    add_objects(server, objects).await;
    let id = create_and_trigger(
        server,
        json!({
            "collection_name": "pages",
            "source": {"type": "bucket", "bucket_ids": ["pages"]},
            "feature_extractor": {"feature_extractor_name": "text_extractor", "version": "v1",
                "input_mappings": {"text": "content"},
                "field_passthrough": [{"source_path": "number"}]}
        }),
    )
    .await;
    let (status, collection) = send(scoped(
        server,
        Method::GET,
        &format!("/v1/collections/{id}"),
    ))
    .await;
    assert_eq!(status, 200, "{collection}");
    collection
}

async fn add_objects(server: &TestServer, objects: Vec<Value>) -> Value {
    let (status, body) = send(
        scoped(server, Method::POST, "/v1/buckets/pages/objects/batch")
            .json(&json!({"objects": objects})),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    body
}

async fn trigger(server: &TestServer) {
    let (status, trigger) = send(scoped(
        server,
        Method::POST,
        "/v1/collections/pages/trigger",
    ))
    .await;
    assert_eq!(status, 202, "{trigger}");
    let task = wait_for_task(server, trigger["task_id"].as_str().unwrap()).await;
    assert_eq!(task["status"], "COMPLETED", "{task}");
}

fn search(feature_uri: &str) -> Value {
    json!({"feature_uri": feature_uri, "top_k": 10,
           "query": {"input_mode": "text", "value": "{{INPUT.query}}"}})
}

/// Retriever `name` over `pages` with one feature_search stage of `searches`.
async fn retriever(server: &TestServer, name: &str, searches: Vec<Value>) {
    create_retriever(
        server,
        json!({"retriever_name": name, "collection_identifiers": ["pages"],
               "stages": [{"stage_name": "search", "config": {"stage_id": "feature_search",
                   "parameters": {"searches": searches, "fusion": "rrf"}}}]}),
    )
    .await;
}

/// `(text, score)` of each result of retriever `name` for `query`, best first.
async fn execute(server: &TestServer, name: &str, query: &str) -> Vec<(String, f64)> {
    let (status, body) = send(
        scoped(
            server,
            Method::POST,
            &format!("/v1/retrievers/{name}/execute"),
        )
        .json(&json!({"inputs": {"query": query}})),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    body["documents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["text"].as_str().unwrap().to_owned(),
                d["score"].as_f64().unwrap(),
            )
        })
        .collect()
}

/// Okapi BM25 (k1 1.2, b 0.75, Lucene's idf) of one single-word query over `texts`, worked
/// out here from the words themselves: the scores a user would compute by hand.
fn independent_bm25(texts: &[&str], word: &str) -> Vec<(String, f64)> {
    let words = |t: &str| -> Vec<String> {
        t.split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
            .map(str::to_lowercase)
            .collect()
    };
    let n = texts.len() as f64;
    let average = texts.iter().map(|t| words(t).len()).sum::<usize>() as f64 / n;
    let holding = texts
        .iter()
        .filter(|t| words(t).contains(&word.to_owned()))
        .count() as f64;
    let idf = (1.0 + (n - holding + 0.5) / (holding + 0.5)).ln();
    let mut scored: Vec<(String, f64)> = texts
        .iter()
        .filter_map(|t| {
            let w = words(t);
            let tf = w.iter().filter(|x| *x == word).count() as f64;
            (tf > 0.0).then(|| {
                let norm = 1.2 * (1.0 - 0.75 + 0.75 * w.len() as f64 / average);
                (t.to_string(), idf * 2.2 * tf / (tf + norm))
            })
        })
        .collect();
    scored.sort_by(|a, b| b.1.total_cmp(&a.1));
    scored
}

fn assert_scores_close(got: &[(String, f64)], want: &[(String, f64)]) {
    assert_eq!(
        got.iter().map(|g| &g.0).collect::<Vec<_>>(),
        want.iter().map(|w| &w.0).collect::<Vec<_>>(),
        "{got:?} vs {want:?}"
    );
    for (g, w) in got.iter().zip(want) {
        assert!(
            (g.1 - w.1).abs() <= 1e-4 * w.1.abs().max(1.0),
            "{got:?} vs {want:?}"
        );
    }
}

async fn keyword_search_scores_as_bm25_and_as_the_exact_scan(backend: Backend) {
    let server = TestServer::start(backend).await;
    let collection = seed(&server).await;
    let keyword_index = collection["vector_indexes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["feature_uri"] == KEYWORDS)
        .unwrap_or_else(|| panic!("no keyword feature in {collection}"));
    assert_eq!(keyword_index["name"], "keywords");
    assert_eq!(keyword_index["index"]["type"], "sparse");
    assert_eq!(keyword_index["index"]["name"], INDEX_NAME);
    assert!(keyword_index["index"].get("dimensions").is_none());

    retriever(&server, "keywords", vec![search(KEYWORDS)]).await;
    let got = execute(&server, "keywords", "socket").await;
    assert_scores_close(&got, &independent_bm25(&TEXTS, "socket"));
    assert_eq!(got.len(), 3, "only the documents holding the word: {got:?}");

    // Stemming: "files" finds "file" and "files"; case does not matter.
    let files = execute(&server, "keywords", "FILES").await;
    assert!(
        files.iter().any(|(t, _)| t == "close a file descriptor"),
        "{files:?}"
    );
    assert!(
        files.iter().any(|(t, _)| t.contains("unmap files")),
        "{files:?}"
    );

    // The index and the exact two-pass scan agree, document for document.
    let (ns, collection_id) = namespace_and_collection(&server, &collection).await;
    let queries = ["working directory".to_owned(), "a file".to_owned()];
    let exact = ExactScan::new(server.store.clone())
        .keywords(KeywordRequest {
            ns,
            collection_id: &collection_id,
            index_name: INDEX_NAME,
            queries: &queries,
            k: 10,
        })
        .await
        .expect("exact keyword scan");
    for (query, hits) in queries.iter().zip(exact.hits) {
        let want: Vec<(String, f64)> = hits
            .into_iter()
            .map(|h| {
                (
                    h.document.fields["text"].as_str().unwrap().to_owned(),
                    h.score,
                )
            })
            .collect();
        assert_scores_close(&execute(&server, "keywords", query).await, &want);
    }

    // A query with no indexed word finds nothing; a vector query is refused clearly.
    assert!(execute(&server, "keywords", "zzzz !!").await.is_empty());
    let (status, body) = send(
        scoped(&server, Method::POST, "/v1/retrievers").json(&json!({
        "retriever_name": "by_vector", "collection_identifiers": ["pages"],
        "stages": [{"stage_name": "search", "config": {"stage_id": "feature_search",
            "parameters": {"searches": [{"feature_uri": KEYWORDS, "top_k": 5,
                "query": {"input_mode": "vector", "value": [0.1, 0.2]}}]}}}]})),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) =
        send(scoped(&server, Method::POST, "/v1/retrievers/by_vector/execute").json(&json!({})))
            .await;
    assert_error(status, &body, 400, "BadRequestError", "invalid_query");
}

/// The namespace key and collection id behind `collection`, for calling the engine directly.
async fn namespace_and_collection(
    server: &TestServer,
    collection: &Value,
) -> (ferry_store::NamespaceKey, String) {
    let org = server
        .store
        .ensure_organization(ferry_store::DEFAULT_ORGANIZATION)
        .await
        .expect("organization");
    let namespace = server
        .store
        .get_namespace(&org.internal_id, "data")
        .await
        .expect("namespace");
    (
        namespace.key,
        collection["collection_id"].as_str().unwrap().to_owned(),
    )
}

/// The keyword index's directory under the server's data directory.
fn keyword_dir(server: &TestServer) -> PathBuf {
    fn find(dir: &std::path::Path) -> Option<PathBuf> {
        for entry in std::fs::read_dir(dir).ok()?.flatten() {
            let path = entry.path();
            if path.is_dir() {
                if path.file_name().is_some_and(|n| n == INDEX_NAME) {
                    return Some(path);
                }
                if let Some(found) = find(&path) {
                    return Some(found);
                }
            }
        }
        None
    }
    let root = server.db.storage.data_dir.join("indexes");
    find(&root).unwrap_or_else(|| panic!("no keyword index under {}", root.display()))
}

async fn keyword_state(server: &TestServer, collection_id: &str) -> Value {
    let (status, report) = send(scoped(
        server,
        Method::GET,
        &format!("/v1/collections/{collection_id}/indexes"),
    ))
    .await;
    assert_eq!(status, 200, "{report}");
    report["indexes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["feature_uri"] == KEYWORDS)
        .cloned()
        .unwrap_or_else(|| panic!("{report}"))
}

async fn the_keyword_index_sees_writes_and_survives_restart_and_damage(backend: Backend) {
    let server = TestServer::start(backend).await;
    let collection = seed(&server).await;
    let collection_id = collection["collection_id"].as_str().unwrap().to_owned();
    retriever(&server, "keywords", vec![search(KEYWORDS)]).await;
    assert_eq!(
        keyword_state(&server, &collection_id).await["state"],
        "exact"
    );
    let before = execute(&server, "keywords", "memory").await;
    assert_eq!(before.len(), 2, "{before:?}");
    let state = keyword_state(&server, &collection_id).await;
    assert_eq!(state["state"], "ready", "{state}");
    assert_eq!(state["indexed_vectors"], 12, "{state}");
    assert_eq!(state["loaded_from_disk"], false, "{state}");

    // A write is found at once, a delete is missed at once.
    add_objects(
        &server,
        vec![
            json!({"number": 99, "blobs": [{"property": "content", "type": "text",
            "data": "memory memory: lock and unlock memory"}]}),
        ],
    )
    .await;
    trigger(&server).await;
    let after_write = execute(&server, "keywords", "memory").await;
    assert_eq!(
        after_write[0].0, "memory memory: lock and unlock memory",
        "{after_write:?}"
    );
    let (status, page) = send(
        scoped(
            &server,
            Method::POST,
            &format!("/v1/collections/{collection_id}/documents/list?limit=100"),
        )
        .json(&json!({})),
    )
    .await;
    assert_eq!(status, 200, "{page}");
    let ids: HashMap<String, String> = page["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["text"].as_str().unwrap().to_owned(),
                d["document_id"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let gone = &ids["allocate and free dynamic memory"];
    let (status, body) = send(scoped(
        &server,
        Method::DELETE,
        &format!("/v1/collections/{collection_id}/documents/{gone}"),
    ))
    .await;
    assert_eq!(status, 200, "{body}");
    let answer = execute(&server, "keywords", "memory").await;
    assert!(
        answer
            .iter()
            .all(|(t, _)| t != "allocate and free dynamic memory"),
        "{answer:?}"
    );
    assert_eq!(answer.len(), 2, "{answer:?}");

    // A restart opens the saved index, at the same answers. (Scores may move slightly: BM25's
    // statistics count a deleted document until tantivy merges it away.)
    let texts = |found: Vec<(String, f64)>| found.into_iter().map(|f| f.0).collect::<Vec<_>>();
    let answer = texts(answer);
    let db = server.stop().await;
    let server = TestServer::start_on(db).await;
    assert_eq!(texts(execute(&server, "keywords", "memory").await), answer);
    let state = keyword_state(&server, &collection_id).await;
    assert_eq!(state["loaded_from_disk"], true, "{state}");

    // A damaged index file is caught by its checksum and the index rebuilt from the store.
    let dir = keyword_dir(&server);
    let db = server.stop().await;
    let mut damaged = 0;
    for entry in std::fs::read_dir(&dir).unwrap().flatten() {
        let path = entry.path();
        if path.extension().is_some_and(|e| e == "term" || e == "idx") {
            let mut bytes = std::fs::read(&path).unwrap();
            let middle = bytes.len() / 2;
            bytes[middle] ^= 0xff;
            std::fs::write(&path, bytes).unwrap();
            damaged += 1;
        }
    }
    assert!(damaged > 0, "no segment files in {}", dir.display());
    let server = TestServer::start_on(db).await;
    assert_eq!(texts(execute(&server, "keywords", "memory").await), answer);
    let state = keyword_state(&server, &collection_id).await;
    assert_eq!(state["loaded_from_disk"], false, "rebuilt: {state}");
}

async fn hybrid_search_fuses_dense_and_keyword_ranks(backend: Backend) {
    let server = TestServer::start(backend).await;
    seed(&server).await;
    retriever(&server, "keywords", vec![search(KEYWORDS)]).await;
    retriever(&server, "dense", vec![search(DENSE)]).await;
    retriever(&server, "hybrid", vec![search(DENSE), search(KEYWORDS)]).await;
    let query = "socket connection";
    let keywords = execute(&server, "keywords", query).await;
    let dense = execute(&server, "dense", query).await;
    let mut want: HashMap<String, f64> = HashMap::new();
    for list in [&dense, &keywords] {
        for (rank, (text, _)) in list.iter().enumerate() {
            *want.entry(text.clone()).or_default() += 1.0 / (60.0 + rank as f64 + 1.0);
        }
    }
    let mut want: Vec<(String, f64)> = want.into_iter().collect();
    want.sort_by(|a, b| b.1.total_cmp(&a.1));
    let got = execute(&server, "hybrid", query).await;
    assert_eq!(got.len(), want.len().min(10), "{got:?}");
    for (text, score) in &got {
        let expected = want.iter().find(|(t, _)| t == text).unwrap().1;
        assert!(
            (score - expected).abs() < 1e-9,
            "{text}: {score} vs {expected}"
        );
    }
    assert!(
        got.windows(2).all(|w| w[0].1 >= w[1].1),
        "best first: {got:?}"
    );
    // The fusion holds what only the keywords found and what only the dense search found.
    let only_keywords = keywords.iter().find(|k| dense.iter().all(|d| d.0 != k.0));
    let only_dense = dense.iter().find(|d| keywords.iter().all(|k| k.0 != d.0));
    assert!(
        only_dense.is_some(),
        "dense {dense:?} keywords {keywords:?}"
    );
    for found in only_keywords.into_iter().chain(only_dense) {
        assert!(
            got.iter().any(|g| g.0 == found.0),
            "{found:?} missing from {got:?}"
        );
    }
}

async fn a_filter_then_a_keyword_search_ranks_the_matches(backend: Backend) {
    let server = TestServer::start(backend).await;
    seed(&server).await;
    create_retriever(
        &server,
        json!({"retriever_name": "filtered", "collection_identifiers": ["pages"],
               "stages": [
                   {"stage_name": "early", "config": {"stage_id": "attribute_filter",
                       "parameters": {"field": "number", "operator": "lt", "value": 5}}},
                   {"stage_name": "search", "config": {"stage_id": "feature_search",
                       "parameters": {"searches": [search(KEYWORDS)]}}}]}),
    )
    .await;
    let got = execute(&server, "filtered", "file descriptor").await;
    // BM25 among the five documents that passed the filter, computed independently.
    let kept = &TEXTS[..5];
    let mut want: HashMap<String, f64> = HashMap::new();
    for word in ["file", "descriptor"] {
        for (text, score) in independent_bm25(kept, word) {
            *want.entry(text).or_default() += score;
        }
    }
    let mut want: Vec<(String, f64)> = want.into_iter().collect();
    want.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    let got_texts: Vec<&str> = got.iter().map(|g| g.0.as_str()).collect();
    assert!(got_texts.iter().all(|t| kept.contains(t)), "{got:?}");
    let mut got_sorted = got.clone();
    got_sorted.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    assert_scores_close(&got_sorted, &want);
}

store_tests!(
    keyword_search_scores_as_bm25_and_as_the_exact_scan,
    the_keyword_index_sees_writes_and_survives_restart_and_damage,
    hybrid_search_fuses_dense_and_keyword_ranks,
    a_filter_then_a_keyword_search_ranks_the_matches,
);
