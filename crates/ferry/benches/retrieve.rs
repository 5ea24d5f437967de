//! Retrieval benchmark: N documents of 384-d vectors in one collection, searched through the
//! HNSW index against exact search (every stored vector scored) in the same run. Reports the
//! load rate, index build rate and size, p50/p99 latency of both searches, recall@10 of the
//! index against exact, retriever execute end to end over HTTP, and peak RSS. Then keyword
//! search over the same documents' short texts (12 words drawn by Zipf's law from 50,000):
//! the tantivy index's build time and latency against the exact BM25 scan.
//!
//! `cargo bench --bench retrieve` (SQLite in a temp dir); `FERRY_BENCH_DOCUMENTS=N` (default
//! 1000000), `FERRY_BENCH_QUERIES=Q` (default 200), `FERRY_BENCH_EF=96,192,384` (the HNSW
//! search expansions to sweep on the one built graph; default the configured one),
//! `FERRY_BENCH_DATABASE_URL=postgres://…` for PostgreSQL, `FERRY_BENCH_PHASES=keywords` (or
//! `vectors`) to run one phase after the load, `FERRY_BENCH_DATATYPE=uint8` and
//! `FERRY_BENCH_ON_DISK=true` for the collection's vector storage parameters.
//!
//! Vectors are clustered (1,000 centres, noise about as long as the centre): embeddings of
//! real text cluster, and uniformly random vectors are a case no graph index serves well.

mod common;

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{env_usize, peak_rss_mb};
use ferry_extract::vector_storage::VectorStorage;
use ferry_extract::Metric;
use ferry_retrieve::index::IndexState;
use ferry_retrieve::{
    ExactScan, IndexConfig, IndexedSearch, KeywordRequest, SearchRequest, VectorSearch,
};
use ferry_store::{Lineage, NewDocument, Store};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};

const DIMENSION: usize = 384;
const KEY: &str = "sk_bench_retrieve_key_000000000000000001";
const VECTOR_NAME: &str = "text_extractor_v1_text_embedding";

struct Vectors {
    rng: StdRng,
    centres: Vec<Vec<f32>>,
}

impl Vectors {
    fn new(seed: u64) -> Vectors {
        let mut rng = StdRng::seed_from_u64(seed);
        let centres = (0..1000)
            .map(|_| {
                unit(
                    (0..DIMENSION)
                        .map(|_| rng.gen_range(-1.0f32..1.0))
                        .collect(),
                )
            })
            .collect();
        Vectors { rng, centres }
    }

    fn next(&mut self) -> Vec<f32> {
        let centre = &self.centres[self.rng.gen_range(0..self.centres.len())];
        let spread = 1.7 / (DIMENSION as f32).sqrt();
        unit(
            centre
                .iter()
                .map(|c| c + self.rng.gen_range(-spread..spread))
                .collect(),
        )
    }
}

fn unit(v: Vec<f32>) -> Vec<f32> {
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    v.into_iter().map(|x| x / norm).collect()
}

fn search_request<'a>(
    ns: ferry_store::NamespaceKey,
    collection_id: &'a str,
    storage: VectorStorage,
    queries: &'a [Vec<f32>],
) -> SearchRequest<'a> {
    SearchRequest {
        ns,
        collection_id,
        vector_name: VECTOR_NAME,
        dimensions: DIMENSION,
        metric: Metric::Cosine,
        storage,
        queries,
        k: 10,
    }
}

/// Words per document of the keyword phase: short documents, as titles or captions are.
const WORDS_PER_DOCUMENT: usize = 12;
/// The vocabulary of the keyword phase.
const VOCABULARY: f64 = 50_000.0;

/// Words drawn by Zipf's law (the word of rank r with probability about 1/r), as words of
/// real text are: a few in most documents, most in very few. Latency depends on how long
/// the posting lists of the query's words are, which a uniform draw would misstate.
struct Words {
    rng: StdRng,
}

impl Words {
    fn new(seed: u64) -> Words {
        Words {
            rng: StdRng::seed_from_u64(seed),
        }
    }

    fn word(&mut self) -> String {
        let rank = VOCABULARY.powf(self.rng.gen_range(0.0..1.0)) as u64;
        format!("w{rank}")
    }

    fn sentence(&mut self, words: usize) -> String {
        (0..words)
            .map(|_| self.word())
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// Keyword search over the same documents' text: the tantivy index (built by the first
/// query) against the exact two-pass BM25 scan, latency and agreement of the top 10.
async fn keywords(
    store: &Store,
    search: &IndexedSearch,
    ns: ferry_store::NamespaceKey,
    collection_id: &str,
    words: &mut Words,
    queries: usize,
) -> anyhow::Result<()> {
    let probes: Vec<String> = (0..queries).map(|_| words.sentence(3)).collect();
    fn request<'a>(
        ns: ferry_store::NamespaceKey,
        collection_id: &'a str,
        queries: &'a [String],
    ) -> KeywordRequest<'a> {
        KeywordRequest {
            ns,
            collection_id,
            index_name: "text_extractor_v1_keywords",
            queries,
            k: 10,
        }
    }
    let started = Instant::now();
    search
        .keywords(request(ns, collection_id, &probes[..1]))
        .await?;
    let build = started.elapsed().as_secs_f64();
    let mut indexed_ms = Vec::new();
    let mut answers = Vec::new();
    for probe in &probes {
        let started = Instant::now();
        let result = search
            .keywords(request(ns, collection_id, std::slice::from_ref(probe)))
            .await?;
        indexed_ms.push(started.elapsed().as_secs_f64() * 1000.0);
        answers.push(result.hits.into_iter().next().unwrap_or_default());
    }
    let exact = ExactScan::new(store.clone());
    let exact_runs = queries.min(3);
    // Documents of 12 words and queries of 3 tie often: an answer agrees where it holds the
    // exact answer's document, and is as good where its exact score reaches the exact 10th.
    let (mut exact_ms, mut agree, mut as_good, mut expected) = (Vec::new(), 0, 0, 0usize);
    for (probe, answer) in probes.iter().zip(&answers).take(exact_runs) {
        let started = Instant::now();
        let truth = exact
            .keywords(request(ns, collection_id, std::slice::from_ref(probe)))
            .await?;
        exact_ms.push(started.elapsed().as_secs_f64() * 1000.0);
        let floor = truth.hits[0].last().map_or(0.0, |h| h.score);
        let truth: HashSet<&str> = truth.hits[0]
            .iter()
            .map(|h| h.document.document_id.as_str())
            .collect();
        expected += truth.len();
        for hit in answer {
            let same = truth.contains(hit.document.document_id.as_str());
            agree += usize::from(same);
            as_good += usize::from(same || hit.score >= floor - 1e-4 * floor.abs());
        }
    }
    println!("keyword index: built in {build:.1}s (first query included)");
    println!("| keyword search | p50 ms | p99 ms | same documents as exact | as good as exact |");
    println!("|---|---|---|---|---|");
    println!(
        "| exact BM25 scan ({exact_runs} queries) | {:.0} | {:.0} | 1.000 | 1.000 |",
        percentile(&mut exact_ms, 0.5),
        percentile(&mut exact_ms, 0.99)
    );
    println!(
        "| tantivy index ({queries} queries) | {:.2} | {:.2} | {:.3} | {:.3} |",
        percentile(&mut indexed_ms, 0.5),
        percentile(&mut indexed_ms, 0.99),
        agree as f64 / expected.max(1) as f64,
        as_good as f64 / expected.max(1) as f64
    );
    Ok(())
}

fn percentile(samples: &mut [f64], p: f64) -> f64 {
    samples.sort_by(f64::total_cmp);
    let rank = ((samples.len() as f64 - 1.0) * p).round() as usize;
    samples[rank.min(samples.len() - 1)]
}

fn dir_bytes(dir: &std::path::Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .map_while(Result::ok)
                .map(|e| {
                    let path = e.path();
                    if path.is_dir() {
                        dir_bytes(&path)
                    } else {
                        e.metadata().map_or(0, |m| m.len())
                    }
                })
                .sum()
        })
        .unwrap_or(0)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let n = env_usize("FERRY_BENCH_DOCUMENTS", 1_000_000);
    let queries = env_usize("FERRY_BENCH_QUERIES", 200);
    let dir = tempfile::tempdir()?;
    let (store, _) = common::bench_store(dir.path()).await?;
    ferry::bootstrap(&store, Some(KEY)).await?;
    let index_dir = dir.path().join("indexes");
    let search = IndexedSearch::new(
        store.clone(),
        IndexConfig {
            dir: Some(index_dir.clone()),
            exact_below: 0,
            ..IndexConfig::default()
        },
    );
    let state = ferry_api::AppState {
        store: store.clone(),
        blobs: ferry_store::blobs::BlobStore::local(&dir.path().join("objects"))?,
        registry: Arc::new(ferry_extract::Registry::builtin(
            Default::default(),
            std::path::PathBuf::new(),
        )),
        search: search.clone(),
    };
    let listener = ferry::bind("127.0.0.1:0".parse()?).await?;
    let base = format!("http://{}", listener.local_addr()?);
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let maintainer = tokio::spawn(search.clone().maintain(stopped));
    tokio::spawn(async move { axum::serve(listener, ferry_api::router(state)).await });
    let http = reqwest::Client::new();
    let call = |method: reqwest::Method, path: &str, body: Value| {
        http.request(method, format!("{base}{path}"))
            .bearer_auth(KEY)
            .header("X-Namespace", "bench")
            .json(&body)
    };
    http.post(format!("{base}/v1/namespaces"))
        .bearer_auth(KEY)
        .json(&json!({"namespace_name": "bench"}))
        .send()
        .await?
        .error_for_status()?;
    call(
        reqwest::Method::POST,
        "/v1/buckets",
        json!({"bucket_name": "docs",
        "bucket_schema": {"properties": {"content": {"type": "text"}}}}),
    )
    .send()
    .await?
    .error_for_status()?;
    let parameters = json!({
        "datatype": std::env::var("FERRY_BENCH_DATATYPE").unwrap_or_else(|_| "float32".into()),
        "on_disk": std::env::var("FERRY_BENCH_ON_DISK").is_ok_and(|v| v == "true"),
    });
    let storage = VectorStorage::of(parameters.as_object().expect("parameters are an object"));
    let collection: Value = call(
        reqwest::Method::POST,
        "/v1/collections",
        json!({
        "collection_name": "vectors", "source": {"type": "bucket", "bucket_ids": ["docs"]},
        "feature_extractor": {"feature_extractor_name": "text_extractor", "version": "v1",
            "input_mappings": {"text": "content"}, "parameters": parameters}}),
    )
    .send()
    .await?
    .error_for_status()?
    .json()
    .await?;
    let collection_id = collection["collection_id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    call(reqwest::Method::POST, "/v1/retrievers", json!({
        "retriever_name": "nearest", "collection_identifiers": ["vectors"],
        "input_schema": {"vector": {"type": "array"}},
        "stages": [{"stage_name": "search", "config": {"stage_id": "feature_search",
            "parameters": {"searches": [{"feature_uri": "mixpeek://text_extractor@v1/text_embedding",
                "top_k": 10, "query": {"input_mode": "vector", "value": "{{INPUT.vector}}"}}]}}}]}))
    .send()
    .await?
    .error_for_status()?;
    let org = store
        .ensure_organization(ferry_store::DEFAULT_ORGANIZATION)
        .await?;
    let ns = store.get_namespace(&org.internal_id, "bench").await?.key;

    // Load.
    let mut vectors = Vectors::new(20261130);
    let mut words = Words::new(20261201);
    let started = Instant::now();
    for start in (0..n).step_by(1000) {
        let docs: Vec<NewDocument> = (start..n.min(start + 1000))
            .map(|i| NewDocument {
                document_id: format!("doc_{i:012}"),
                lineage: Lineage {
                    source_object_id: Some(format!("obj_{i:012}")),
                    ..Lineage::default()
                },
                chunk_index: 0,
                fields: serde_json::Map::from_iter([(
                    "text".to_owned(),
                    Value::String(words.sentence(WORDS_PER_DOCUMENT)),
                )]),
                vectors: vec![(VECTOR_NAME.into(), vectors.next())],
            })
            .collect();
        store
            .load_object_documents(ns, &collection_id, &docs)
            .await?;
    }
    let load = started.elapsed().as_secs_f64();
    println!(
        "load: {n} documents ({DIMENSION}-d) in {load:.1}s = {:.0} documents/s",
        n as f64 / load
    );

    // FERRY_BENCH_PHASES picks what runs after the load (both by default).
    let phases = std::env::var("FERRY_BENCH_PHASES").unwrap_or_else(|_| "vectors,keywords".into());
    if phases.contains("vectors") {
        let probes: Vec<Vec<f32>> = (0..queries).map(|_| vectors.next()).collect();
        let request = |queries| search_request(ns, &collection_id, storage, queries);

        // Exact: the ground truth in one pass over the collection, then single-query latency.
        let exact = ExactScan::new(store.clone());
        let started = Instant::now();
        let truth = exact.search(request(&probes)).await?;
        println!(
            "exact: ground truth of {queries} queries in one pass over {} documents: {:.1}s",
            truth.scanned,
            started.elapsed().as_secs_f64()
        );
        let exact_runs = queries.min(10);
        let mut exact_ms = Vec::new();
        for probe in probes.iter().take(exact_runs) {
            let started = Instant::now();
            exact.search(request(std::slice::from_ref(probe))).await?;
            exact_ms.push(started.elapsed().as_secs_f64() * 1000.0);
        }

        // Build: the first indexed search starts it; answers are exact meanwhile.
        let started = Instant::now();
        search.search(request(&probes[..1])).await?;
        let id = ferry_retrieve::index::IndexId {
            ns,
            collection_id: collection_id.clone(),
            vector_name: VECTOR_NAME.into(),
        };
        while !matches!(search.state(&id), IndexState::Ready { .. }) {
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        let build = started.elapsed().as_secs_f64();
        println!(
            "index: built and saved in {build:.1}s = {:.0} documents/s; {:.1} MB on disk",
            n as f64 / build,
            dir_bytes(&index_dir) as f64 / 1e6
        );

        // Indexed search: latency and recall@10 against the ground truth, at each ef swept (the
        // last is kept for the figures below).
        let sweep: Vec<usize> = std::env::var("FERRY_BENCH_EF")
            .unwrap_or_else(|_| search.config().ef_search.to_string())
            .split(',')
            .filter_map(|ef| ef.trim().parse().ok())
            .collect();
        let (mut indexed_ms, mut recall) = (Vec::new(), 0.0);
        for ef in sweep {
            search.set_ef_search(ef);
            indexed_ms.clear();
            let mut found = 0usize;
            for (probe, exact_hits) in probes.iter().zip(&truth.hits) {
                let started = Instant::now();
                let result = search.search(request(std::slice::from_ref(probe))).await?;
                indexed_ms.push(started.elapsed().as_secs_f64() * 1000.0);
                let expected: HashSet<&str> = exact_hits
                    .iter()
                    .map(|h| h.document.document_id.as_str())
                    .collect();
                found += result.hits[0]
                    .iter()
                    .filter(|h| expected.contains(h.document.document_id.as_str()))
                    .count();
            }
            recall = found as f64 / (queries * 10) as f64;
            println!(
                "ef {ef}: recall@10 {recall:.3}, p50 {:.2} ms, p99 {:.2} ms",
                percentile(&mut indexed_ms, 0.5),
                percentile(&mut indexed_ms, 0.99)
            );
        }

        // End to end: retriever execute over HTTP.
        let mut execute_ms = Vec::new();
        for probe in &probes {
            let started = Instant::now();
            call(
                reqwest::Method::POST,
                "/v1/retrievers/nearest/execute",
                json!({"inputs": {"vector": probe}}),
            )
            .send()
            .await?
            .error_for_status()?
            .bytes()
            .await?;
            execute_ms.push(started.elapsed().as_secs_f64() * 1000.0);
        }

        println!("| search | p50 ms | p99 ms | recall@10 vs exact |");
        println!("|---|---|---|---|");
        println!(
            "| exact ({exact_runs} queries) | {:.1} | {:.1} | 1.000 |",
            percentile(&mut exact_ms, 0.5),
            percentile(&mut exact_ms, 0.99)
        );
        println!(
            "| HNSW index ({queries} queries) | {:.2} | {:.2} | {recall:.3} |",
            percentile(&mut indexed_ms, 0.5),
            percentile(&mut indexed_ms, 0.99)
        );
        println!(
            "| retriever execute over HTTP ({queries} queries) | {:.2} | {:.2} | — |",
            percentile(&mut execute_ms, 0.5),
            percentile(&mut execute_ms, 0.99)
        );
        println!(
            "exact p50 / index p50: {:.0}x",
            percentile(&mut exact_ms, 0.5) / percentile(&mut indexed_ms, 0.5)
        );
    }
    if phases.contains("keywords") {
        keywords(&store, &search, ns, &collection_id, &mut words, queries).await?;
    }
    println!("peak RSS: {:.0} MB", peak_rss_mb());
    let _ = stop.send(true);
    let _ = maintainer.await;
    Ok(())
}
