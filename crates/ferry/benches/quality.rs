//! Retrieval quality benchmark on real text with judged queries: BM25 keyword search alone,
//! each dense text extractor alone (v1 and v2 hashing, v3 all-MiniLM-L6-v2), and hybrid
//! search (each dense extractor fused with keywords by reciprocal rank fusion), all through
//! Ferry's retriever engine and search indexes. Reports recall@10, MRR@10 and NDCG@10 over
//! every judged query, with query latency.
//!
//! The evaluation set is built from the Linux man-pages (Debian's `manpages` and
//! `manpages-dev`) by `scripts/eval-corpus`: each page's NAME summary ("open and possibly
//! create a file") is a query whose relevant document is that page's text. The script
//! downloads and renders the pinned packages once into a cache; nothing of it is committed.
//!
//! `scripts/fetch-models`, then `FERRY_MODELS_DIR=… cargo bench --bench quality` (SQLite in
//! a temp dir). `FERRY_EVAL_DIR=…` uses an already built set; `FERRY_EVAL_QUERIES=N` keeps
//! the first N queries (default: all); without the model, v3 is left out and said so.

mod common;

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use common::{create_text_collection, env_usize, namespace, peak_rss_mb};
use ferry_extract::{Extractor, ExtractorInput, Registry, RemoteEmbeddingConfig};
use ferry_retrieve::{Engine, IndexConfig, IndexedSearch, Pipeline};
use ferry_store::{Lineage, NamespaceKey, NewDocument, SourceKind, Store};
use ferry_wire::retriever::StageConfig;
use serde::Deserialize;
use serde_json::{json, Map, Value};

/// Documents embedded per extractor call.
const BATCH: usize = 32;
/// Results per search. The extractors' default parameters do not chunk, so each page is one
/// document and ten results are ten pages.
const TOP_K: usize = 10;

#[derive(Deserialize)]
struct EvalDocument {
    id: String,
    title: String,
    text: String,
}

#[derive(Deserialize)]
struct EvalQuery {
    text: String,
    /// Relevant document ids with their grades.
    relevant: HashMap<String, f64>,
}

fn read_jsonl<T: for<'de> Deserialize<'de>>(path: PathBuf) -> anyhow::Result<Vec<T>> {
    let text =
        std::fs::read_to_string(&path).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| Ok(serde_json::from_str(l)?))
        .collect()
}

/// The evaluation set's directory: `FERRY_EVAL_DIR`, or what `scripts/eval-corpus` builds.
fn eval_dir() -> anyhow::Result<PathBuf> {
    if let Ok(dir) = std::env::var("FERRY_EVAL_DIR") {
        return Ok(dir.into());
    }
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../scripts/eval-corpus");
    let output = std::process::Command::new(&script).output()?;
    anyhow::ensure!(
        output.status.success(),
        "{} failed: {}",
        script.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    Ok(String::from_utf8(output.stdout)?.trim().into())
}

/// recall@k, reciprocal rank and NDCG@k of one ranking of document ids.
fn judge(ranked: &[String], relevant: &HashMap<String, f64>, k: usize) -> (f64, f64, f64) {
    let top = &ranked[..ranked.len().min(k)];
    let found = top.iter().filter(|id| relevant.contains_key(*id)).count();
    let recall = found as f64 / relevant.len().max(1) as f64;
    let reciprocal = top
        .iter()
        .position(|id| relevant.contains_key(id))
        .map_or(0.0, |p| 1.0 / (p as f64 + 1.0));
    let dcg: f64 = top
        .iter()
        .enumerate()
        .map(|(i, id)| relevant.get(id).copied().unwrap_or(0.0) / (i as f64 + 2.0).log2())
        .sum();
    let mut ideal: Vec<f64> = relevant.values().copied().collect();
    ideal.sort_by(|a, b| b.total_cmp(a));
    let idcg: f64 = ideal
        .iter()
        .take(k)
        .enumerate()
        .map(|(i, g)| g / (i as f64 + 2.0).log2())
        .sum();
    (
        recall,
        reciprocal,
        if idcg > 0.0 { dcg / idcg } else { 0.0 },
    )
}

/// Writes every evaluation document into a new collection of `extractor`; returns its id.
async fn load(
    store: &Store,
    ns: NamespaceKey,
    extractor: &dyn Extractor,
    documents: &[EvalDocument],
) -> anyhow::Result<String> {
    let collection =
        create_text_collection(store, ns, &extractor.id(), &["eval"], extractor).await?;
    let params = extractor
        .resolve_parameters(&Map::new())
        .map_err(|e| anyhow::anyhow!("{e:?}"))?;
    let started = Instant::now();
    for batch in documents.chunks(BATCH) {
        let inputs: Vec<ExtractorInput> = batch
            .iter()
            .map(|d| ExtractorInput::Text(d.text.clone()))
            .collect();
        let extracted = extractor.extract(&inputs, &params).await?;
        let mut docs = Vec::new();
        for (document, chunks) in batch.iter().zip(extracted) {
            for chunk in chunks {
                let mut fields = Map::new();
                fields.insert("text".into(), chunk.text.clone().unwrap_or_default().into());
                fields.insert("title".into(), document.title.clone().into());
                docs.push(NewDocument {
                    document_id: format!("{}_{}", document.id, chunk.chunk_index),
                    lineage: Lineage {
                        source_object_id: Some(document.id.clone()),
                        ..Lineage::default()
                    },
                    chunk_index: i64::from(chunk.chunk_index),
                    fields,
                    vectors: chunk
                        .vectors
                        .into_iter()
                        .map(|(name, v)| (extractor.storage_name(&name), v))
                        .collect(),
                });
            }
        }
        let sources: Vec<String> = batch.iter().map(|d| d.id.clone()).collect();
        store
            .replace_documents(
                ns,
                &collection.collection_id,
                SourceKind::Object,
                &sources,
                &docs,
                None,
            )
            .await?;
    }
    println!(
        "loaded {} documents with {} in {:.1}s",
        documents.len(),
        extractor.id(),
        started.elapsed().as_secs_f64()
    );
    Ok(collection.collection_id)
}

fn search(feature_uri: &str) -> Value {
    json!({"feature_uri": feature_uri, "top_k": TOP_K,
           "query": {"input_mode": "text", "value": "{{INPUT.query}}"}})
}

fn pipeline(searches: Vec<Value>) -> anyhow::Result<Pipeline> {
    let stages: Vec<StageConfig> = serde_json::from_value(json!([
        {"stage_name": "search", "config": {"stage_id": "feature_search",
            "parameters": {"searches": searches, "fusion": "rrf", "final_top_k": TOP_K}}}]))?;
    Pipeline::parse(&stages).map_err(|e| anyhow::anyhow!("{e:?}"))
}

/// One method's figures: mean recall@10, MRR@10, NDCG@10, and p50 latency in ms.
struct Figures {
    recall: f64,
    mrr: f64,
    ndcg: f64,
    p50_ms: f64,
}

/// Runs `pipeline` for every query, one at a time as a user would, and judges the pages it
/// ranks (a page's first chunk stands for it).
async fn evaluate(
    engine: &Engine,
    ns: NamespaceKey,
    collection_id: &str,
    pipeline: &Pipeline,
    queries: &[EvalQuery],
) -> anyhow::Result<Figures> {
    let (mut recall, mut mrr, mut ndcg) = (0.0, 0.0, 0.0);
    let mut latencies = Vec::with_capacity(queries.len());
    let collections = [collection_id.to_owned()];
    for query in queries {
        let mut input = Map::new();
        input.insert("query".into(), query.text.clone().into());
        let started = Instant::now();
        let run = engine
            .run(
                ns,
                &collections,
                pipeline,
                std::slice::from_ref(&input),
                None,
            )
            .await?;
        latencies.push(started.elapsed().as_secs_f64() * 1000.0);
        let mut seen = HashSet::new();
        let ranked: Vec<String> = run.outcomes[0]
            .results
            .iter()
            .filter_map(|s| s.document.lineage.source_object_id.clone())
            .filter(|page| seen.insert(page.clone()))
            .collect();
        let (r, m, n) = judge(&ranked, &query.relevant, 10);
        recall += r;
        mrr += m;
        ndcg += n;
    }
    latencies.sort_by(f64::total_cmp);
    let count = queries.len().max(1) as f64;
    Ok(Figures {
        recall: recall / count,
        mrr: mrr / count,
        ndcg: ndcg / count,
        p50_ms: latencies.get(latencies.len() / 2).copied().unwrap_or(0.0),
    })
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let dir = eval_dir()?;
    let documents: Vec<EvalDocument> = read_jsonl(dir.join("documents.jsonl"))?;
    let mut queries: Vec<EvalQuery> = read_jsonl(dir.join("queries.jsonl"))?;
    queries.truncate(env_usize("FERRY_EVAL_QUERIES", queries.len()));
    println!(
        "evaluation set {}: {} documents, {} judged queries",
        dir.display(),
        documents.len(),
        queries.len()
    );

    let models: PathBuf = std::env::var("FERRY_MODELS_DIR").unwrap_or_default().into();
    let registry = Arc::new(Registry::builtin(RemoteEmbeddingConfig::default(), models));
    let temp = tempfile::tempdir()?;
    let (store, _) = common::bench_store(temp.path()).await?;
    let tag = std::process::id();
    let org = store.ensure_organization(&format!("quality-{tag}")).await?;
    let ns = namespace(&store, &org.internal_id, &format!("eval-{tag}"))
        .await?
        .key;
    let indexed = IndexedSearch::new(
        store.clone(),
        IndexConfig {
            dir: Some(temp.path().join("indexes")),
            ..IndexConfig::default()
        },
    );
    let engine = Engine::new(store.clone(), registry.clone(), Arc::new(indexed));

    let mut rows: Vec<(String, Figures)> = Vec::new();
    let mut keywords_done = false;
    for version in ["v1", "v2", "v3"] {
        let extractor = registry
            .get("text_extractor", version)
            .ok_or_else(|| anyhow::anyhow!("text_extractor {version} is not registered"))?;
        let collection_id = match load(&store, ns, extractor.as_ref(), &documents).await {
            Ok(id) => id,
            Err(e) => {
                println!("text_extractor {version} left out: {e}");
                continue;
            }
        };
        let dense_uri = extractor.feature_uri("text_embedding");
        let keyword_uri = extractor.feature_uri(ferry_extract::KEYWORD_OUTPUT);
        if !keywords_done {
            let figures = evaluate(
                &engine,
                ns,
                &collection_id,
                &pipeline(vec![search(&keyword_uri)])?,
                &queries,
            )
            .await?;
            rows.push(("BM25 (keywords)".into(), figures));
            keywords_done = true;
        }
        let dense = pipeline(vec![search(&dense_uri)])?;
        let figures = evaluate(&engine, ns, &collection_id, &dense, &queries).await?;
        rows.push((format!("text_extractor {version} (dense)"), figures));
        let hybrid = pipeline(vec![search(&dense_uri), search(&keyword_uri)])?;
        let figures = evaluate(&engine, ns, &collection_id, &hybrid, &queries).await?;
        rows.push((format!("hybrid: {version} + BM25, rrf"), figures));
    }

    println!();
    println!("| method | recall@10 | MRR@10 | NDCG@10 | p50 ms |");
    println!("|---|---:|---:|---:|---:|");
    for (name, f) in &rows {
        println!(
            "| {name} | {:.3} | {:.3} | {:.3} | {:.1} |",
            f.recall, f.mrr, f.ndcg, f.p50_ms
        );
    }
    println!("peak RSS: {:.0} MB", peak_rss_mb());
    Ok(())
}
