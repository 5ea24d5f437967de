//! Collections of clustered vectors for the search-index tests: a collection and a retriever
//! over it, documents written through the store, the exact answer the test expects, and the
//! collection's index report.

use std::time::Duration;

use ferry::IndexOptions;
use ferry_store::{Lineage, NamespaceKey, NewDocument, Store};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use reqwest::Method;
use serde_json::{json, Value};

use super::{send, Backend, TestDatabase, TestServer, TEST_KEY};

pub const FEATURE: &str = "mixpeek://text_extractor@v1/text_embedding";

/// Every collection gets a graph, however small.
pub fn always_indexed() -> IndexOptions {
    IndexOptions {
        exact_below: 0,
        ..IndexOptions::default()
    }
}

/// A unit vector near one of `centres`: real embeddings cluster, and uniformly random
/// vectors (which no graph index searches well) would test nothing a user meets. The noise
/// is about as long as the centre.
pub fn clustered(rng: &mut StdRng, centres: &[Vec<f32>]) -> Vec<f32> {
    let centre = &centres[rng.gen_range(0..centres.len())];
    let spread = 1.7 / (centre.len() as f32).sqrt();
    let v: Vec<f32> = centre
        .iter()
        .map(|c| c + rng.gen_range(-spread..spread))
        .collect();
    normalized(v)
}

pub fn normalized(v: Vec<f32>) -> Vec<f32> {
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    v.into_iter().map(|x| x / norm).collect()
}

pub fn centres(rng: &mut StdRng, count: usize, dimensions: usize) -> Vec<Vec<f32>> {
    (0..count)
        .map(|_| {
            normalized(
                (0..dimensions)
                    .map(|_| rng.gen_range(-1.0f32..1.0))
                    .collect(),
            )
        })
        .collect()
}

/// The corpus the test holds: ids and vectors, as written.
#[derive(Default)]
pub struct Corpus {
    pub vectors: Vec<(String, Vec<f32>)>,
    /// The number of the next document written.
    pub next: usize,
}

impl Corpus {
    /// The exact top `k` ids by cosine (vectors are unit length), ties by id as Ferry breaks
    /// them.
    pub fn exact_top(&self, query: &[f32], k: usize) -> Vec<String> {
        let mut scored: Vec<(f32, &str)> = self
            .vectors
            .iter()
            .map(|(id, v)| (v.iter().zip(query).map(|(a, b)| a * b).sum(), id.as_str()))
            .collect();
        scored.sort_by(|a, b| b.0.total_cmp(&a.0).then_with(|| a.1.cmp(b.1)));
        scored
            .into_iter()
            .take(k)
            .map(|(_, id)| id.to_owned())
            .collect()
    }

    pub fn remove(&mut self, id: &str) {
        self.vectors.retain(|(i, _)| i != id);
    }
}

/// Namespace `data`, collection `vectors` (text extractor v1 with `parameters`, not
/// triggered: the test writes its documents) and retriever `nearest` searching it by vector;
/// returns the namespace key, collection id, vector name and dimension.
pub async fn setup(
    base: &str,
    http: &reqwest::Client,
    store: &Store,
    parameters: Value,
) -> (NamespaceKey, String, String, usize) {
    let call = |method: Method, path: &str| {
        http.request(method, format!("{base}{path}"))
            .bearer_auth(TEST_KEY)
            .header("X-Namespace", "data")
    };
    let (status, body) = send(
        http.post(format!("{base}/v1/namespaces"))
            .bearer_auth(TEST_KEY)
            .json(&json!({"namespace_name": "data"})),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let (status, bucket) = send(call(Method::POST, "/v1/buckets").json(&json!({
        "bucket_name": "docs",
        "bucket_schema": {"properties": {"content": {"type": "text"}}}
    })))
    .await;
    assert_eq!(status, 200, "{bucket}");
    let (status, collection) = send(call(Method::POST, "/v1/collections").json(&json!({
        "collection_name": "vectors",
        "source": {"type": "bucket", "bucket_ids": ["docs"]},
        "feature_extractor": {"feature_extractor_name": "text_extractor", "version": "v1",
            "input_mappings": {"text": "content"}, "parameters": parameters}
    })))
    .await;
    assert_eq!(status, 200, "{collection}");
    let (status, retriever) = send(call(Method::POST, "/v1/retrievers").json(&json!({
        "retriever_name": "nearest",
        "collection_identifiers": ["vectors"],
        "input_schema": {"vector": {"type": "array"}},
        "stages": [{"stage_name": "search", "config": {"stage_id": "feature_search",
            "parameters": {"searches": [{"feature_uri": FEATURE, "top_k": 10,
                "query": {"input_mode": "vector", "value": "{{INPUT.vector}}"}}]}}}]
    })))
    .await;
    assert_eq!(status, 200, "{retriever}");
    let index = &collection["vector_indexes"][0]["index"];
    let org = store
        .ensure_organization(ferry_store::DEFAULT_ORGANIZATION)
        .await
        .expect("organization");
    let namespace = store
        .get_namespace(&org.internal_id, "data")
        .await
        .expect("namespace");
    (
        namespace.key,
        collection["collection_id"].as_str().unwrap().to_owned(),
        index["name"].as_str().unwrap().to_owned(),
        index["dimensions"].as_u64().unwrap() as usize,
    )
}

/// Writes `count` documents with vectors from `next` through the store, in batches of 500,
/// as a trigger would.
pub async fn write(
    store: &Store,
    (ns, collection_id, vector_name): (NamespaceKey, &str, &str),
    corpus: &mut Corpus,
    count: usize,
    mut next: impl FnMut() -> Vec<f32>,
) {
    let start = corpus.next;
    corpus.next += count;
    let docs: Vec<NewDocument> = (start..start + count)
        .map(|i| {
            let id = format!("doc_{i:06}");
            let vector = next();
            corpus.vectors.push((id.clone(), vector.clone()));
            NewDocument {
                document_id: id.clone(),
                lineage: Lineage {
                    source_object_id: Some(format!("obj_{i:06}")),
                    ..Lineage::default()
                },
                chunk_index: 0,
                // One document in ten is "rare", for filtered searches.
                fields: serde_json::Map::from_iter([(
                    "group".to_owned(),
                    json!(if i % 10 == 0 { "rare" } else { "common" }),
                )]),
                vectors: vec![(vector_name.to_owned(), vector)],
            }
        })
        .collect();
    for batch in docs.chunks(500) {
        store
            .load_object_documents(ns, collection_id, batch)
            .await
            .expect("write documents");
    }
}

/// The retriever's answer for `query`: document ids, best first.
pub async fn nearest(base: &str, http: &reqwest::Client, query: &[f32]) -> Vec<String> {
    let (status, body) = send(
        http.post(format!("{base}/v1/retrievers/nearest/execute"))
            .bearer_auth(TEST_KEY)
            .header("X-Namespace", "data")
            .json(&json!({"inputs": {"vector": query}})),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    body["documents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["document_id"].as_str().unwrap().to_owned())
        .collect()
}

/// The collection's index report.
pub async fn indexes(base: &str, http: &reqwest::Client, collection_id: &str) -> Value {
    let (status, body) = send(
        http.get(format!("{base}/v1/collections/{collection_id}/indexes"))
            .bearer_auth(TEST_KEY)
            .header("X-Namespace", "data"),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    body
}

/// Waits until the collection's index is ready and has applied every change.
pub async fn until_caught_up(base: &str, http: &reqwest::Client, collection_id: &str) -> Value {
    for _ in 0..1200 {
        let report = indexes(base, http, collection_id).await;
        let index = &report["indexes"][0];
        if index["state"] == "ready" && index["changes_behind"] == 0 {
            return report;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the index of {collection_id} never caught up");
}

/// A test server that gives every collection a graph, collection `vectors` holding `count`
/// clustered documents written through the store, and what the test needs to check answers.
pub struct Seeded {
    pub server: TestServer,
    pub base: String,
    pub http: reqwest::Client,
    pub target: (NamespaceKey, String, String),
    pub rng: StdRng,
    pub centres: Vec<Vec<f32>>,
    pub corpus: Corpus,
}

impl Seeded {
    pub async fn start(backend: Backend, seed: u64, clusters: usize, count: usize) -> Seeded {
        Seeded::start_with(backend, (seed, clusters, count), json!({})).await
    }

    /// [`Seeded::start`] with the collection's extractor `parameters`.
    pub async fn start_with(
        backend: Backend,
        (seed, clusters, count): (u64, usize, usize),
        parameters: Value,
    ) -> Seeded {
        let server =
            TestServer::start_with_indexes(TestDatabase::new(backend).await, always_indexed())
                .await;
        let (base, http) = (server.url(""), reqwest::Client::new());
        let (ns, collection_id, vector_name, dimensions) =
            setup(&base, &http, &server.store, parameters).await;
        let mut rng = StdRng::seed_from_u64(seed);
        let centres = centres(&mut rng, clusters, dimensions);
        let mut seeded = Seeded {
            server,
            base,
            http,
            target: (ns, collection_id, vector_name),
            rng,
            centres,
            corpus: Corpus::default(),
        };
        seeded.write(count).await;
        seeded
    }

    pub fn vector(&mut self) -> Vec<f32> {
        clustered(&mut self.rng, &self.centres)
    }

    /// Writes `count` more clustered documents.
    pub async fn write(&mut self, count: usize) {
        let vectors: Vec<Vec<f32>> = (0..count).map(|_| self.vector()).collect();
        let mut vectors = vectors.into_iter();
        let (ns, collection, vector) = &self.target;
        write(
            &self.server.store,
            (*ns, collection, vector),
            &mut self.corpus,
            count,
            || vectors.next().unwrap(),
        )
        .await;
    }
}
