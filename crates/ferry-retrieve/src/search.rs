//! Search over one collection, behind [`VectorSearch`] so indexes can replace the exact scan
//! without touching the stages: nearest neighbours of stored vectors, and BM25 keyword
//! search over the documents' text.
//!
//! [`ExactScan`] streams the collection in keyset pages (memory bounded by the page and by
//! `k` per query, never by the collection) and scores every stored vector against every query
//! of the call: several queries (a taxonomy's batch of documents) share one pass over the data.
//! Its keyword search makes two passes, one counting the collection statistics BM25 needs and
//! one scoring.

use std::cmp::Ordering;
use std::collections::{BTreeSet, BinaryHeap};

use ferry_extract::vector_storage::VectorStorage;
use ferry_extract::Metric;
use ferry_store::{DocumentRecord, NamespaceKey, Store, StoreError, StoreResult};

use crate::bm25;

/// Documents read per round trip.
const SCAN_PAGE: i64 = 512;

/// One collection's vectors of one feature, and the queries against them.
#[derive(Debug, Clone, Copy)]
pub struct SearchRequest<'a> {
    pub ns: NamespaceKey,
    pub collection_id: &'a str,
    /// The name documents store the feature's vectors under.
    pub vector_name: &'a str,
    /// The vector index's dimension (0 when unknown: searched exactly).
    pub dimensions: usize,
    pub metric: Metric,
    /// How an approximate index keeps its graph (`datatype`, `on_disk`).
    pub storage: VectorStorage,
    pub queries: &'a [Vec<f32>],
    pub k: usize,
}

/// One collection's keyword index, and the text queries against it.
#[derive(Debug, Clone, Copy)]
pub struct KeywordRequest<'a> {
    pub ns: NamespaceKey,
    pub collection_id: &'a str,
    /// The keyword index's storage name (e.g. `text_extractor_v3_keywords`).
    pub index_name: &'a str,
    pub queries: &'a [String],
    pub k: usize,
}

/// A scored document.
#[derive(Debug, Clone)]
pub struct Hit {
    /// Higher is better: cosine similarity, dot product, or negated euclidean distance.
    pub score: f64,
    pub document: DocumentRecord,
}

/// The best `k` documents per query, best first, and how many documents were examined.
#[derive(Debug, Clone, Default)]
pub struct SearchResult {
    pub hits: Vec<Vec<Hit>>,
    pub scanned: i64,
}

/// The per-collection search seam: dense vectors and keywords, which an index accelerates
/// and the exact scan answers by definition.
#[async_trait::async_trait]
pub trait VectorSearch: Send + Sync {
    async fn search(&self, request: SearchRequest<'_>) -> StoreResult<SearchResult>;

    /// The best `k` documents per text query by BM25 over the documents' `text`.
    async fn keywords(&self, request: KeywordRequest<'_>) -> StoreResult<SearchResult>;
}

/// Exact (brute-force) search over the store.
#[derive(Clone)]
pub struct ExactScan {
    store: Store,
}

impl ExactScan {
    pub fn new(store: Store) -> Self {
        ExactScan { store }
    }
}

/// Dot product in eight independent lanes, which the compiler turns into SIMD adds and
/// multiplies; a plain fold would be one serial dependency chain.
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    let mut lanes = [0f32; 8];
    let chunks = n / 8;
    for c in 0..chunks {
        let (x, y) = (&a[c * 8..c * 8 + 8], &b[c * 8..c * 8 + 8]);
        for i in 0..8 {
            lanes[i] += x[i] * y[i];
        }
    }
    let tail: f32 = a[chunks * 8..]
        .iter()
        .zip(&b[chunks * 8..])
        .map(|(x, y)| x * y)
        .sum();
    lanes.iter().sum::<f32>() + tail
}

fn norm(v: &[f32]) -> f32 {
    dot(v, v).sqrt()
}

/// The score of `stored` for `query` under `metric`; `query_norm` is precomputed.
pub fn score(metric: Metric, query: &[f32], query_norm: f32, stored: &[f32]) -> f64 {
    match metric {
        Metric::Cosine => {
            let denominator = query_norm * norm(stored);
            if denominator == 0.0 {
                0.0
            } else {
                f64::from(dot(query, stored) / denominator)
            }
        }
        Metric::Dot => f64::from(dot(query, stored)),
        Metric::Euclidean => {
            let squared: f32 = query
                .iter()
                .zip(stored)
                .map(|(x, y)| (x - y) * (x - y))
                .sum();
            -f64::from(squared.sqrt())
        }
    }
}

/// Heap entry ordered so the heap's top is the *worst* kept hit.
struct Kept(Hit);

impl PartialEq for Kept {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Kept {}
impl PartialOrd for Kept {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Kept {
    fn cmp(&self, other: &Self) -> Ordering {
        // Better = higher score, then smaller id (a deterministic tie-break); the heap keeps
        // the worse on top, so "greater" here means "worse".
        other.0.score.total_cmp(&self.0.score).then_with(|| {
            self.0
                .document
                .document_id
                .cmp(&other.0.document.document_id)
        })
    }
}

/// The best `k` scored documents of each query seen so far: what every search strategy
/// feeds candidates into, so exact and indexed search rank and break ties identically.
pub(crate) struct TopK<'a> {
    queries: &'a [Vec<f32>],
    norms: Vec<f32>,
    metric: Metric,
    k: usize,
    heaps: Vec<BinaryHeap<Kept>>,
}

impl<'a> TopK<'a> {
    pub(crate) fn new(request: &SearchRequest<'a>) -> Self {
        TopK {
            queries: request.queries,
            norms: request.queries.iter().map(|q| norm(q)).collect(),
            metric: request.metric,
            k: request.k,
            heaps: request
                .queries
                .iter()
                .map(|_| BinaryHeap::with_capacity(request.k + 1))
                .collect(),
        }
    }

    /// The best `k` of `queries` lists whose scores the caller computes (keywords).
    pub(crate) fn scored(queries: usize, k: usize) -> TopK<'static> {
        TopK {
            queries: &[],
            norms: Vec::new(),
            metric: Metric::Dot,
            k,
            heaps: (0..queries)
                .map(|_| BinaryHeap::with_capacity(k + 1))
                .collect(),
        }
    }

    /// Keeps `doc` for query `i` if `score` is among the best `k` so far.
    pub(crate) fn push(&mut self, i: usize, score: f64, doc: &DocumentRecord) {
        let heap = &mut self.heaps[i];
        if heap.len() == self.k {
            let worst = heap.peek().map_or(f64::NEG_INFINITY, |w| w.0.score);
            if score <= worst {
                return;
            }
        }
        heap.push(Kept(Hit {
            score,
            document: doc.clone(),
        }));
        if heap.len() > self.k {
            heap.pop();
        }
    }

    /// Scores `doc`'s `vector_name` vector against query `i` (every query when `None`).
    pub(crate) fn offer(&mut self, doc: &DocumentRecord, vector_name: &str, only: Option<usize>) {
        let Some((_, stored)) = doc.vectors.iter().find(|(n, _)| n == vector_name) else {
            return;
        };
        let range = match only {
            Some(i) => i..i + 1,
            None => 0..self.queries.len(),
        };
        for i in range {
            let s = score(self.metric, &self.queries[i], self.norms[i], stored);
            self.push(i, s, doc);
        }
    }

    /// Each query's hits, best first.
    pub(crate) fn into_hits(self) -> Vec<Vec<Hit>> {
        self.heaps
            .into_iter()
            .map(|heap| heap.into_sorted_vec().into_iter().map(|k| k.0).collect())
            .collect()
    }
}

#[async_trait::async_trait]
impl VectorSearch for ExactScan {
    async fn search(&self, request: SearchRequest<'_>) -> StoreResult<SearchResult> {
        let mut top = TopK::new(&request);
        let mut scanned = 0i64;
        let mut pages = self
            .store
            .document_pages(request.ns, request.collection_id, SCAN_PAGE);
        while let Some(page) = pages.next().await? {
            for doc in page {
                scanned += 1;
                top.offer(&doc, request.vector_name, None);
            }
        }
        Ok(SearchResult {
            hits: top.into_hits(),
            scanned,
        })
    }

    async fn keywords(&self, request: KeywordRequest<'_>) -> StoreResult<SearchResult> {
        let mut analyzer = bm25::analyzer();
        let terms: Vec<Vec<String>> = request
            .queries
            .iter()
            .map(|q| bm25::query_terms(&mut analyzer, q))
            .collect();
        let wanted: BTreeSet<String> = terms.iter().flatten().cloned().collect();
        if wanted.is_empty() {
            // No query has a word to look for: nothing matches, and nothing need be read.
            return Ok(SearchResult {
                hits: vec![Vec::new(); request.queries.len()],
                scanned: 0,
            });
        }
        let mut stats = bm25::ScanStats::default();
        let mut pages = self
            .store
            .document_pages(request.ns, request.collection_id, SCAN_PAGE);
        while let Some(page) = pages.next().await? {
            for doc in &page {
                stats.count(&bm25::analyze(&mut analyzer, bm25::text_of(doc)), &wanted);
            }
        }
        let field = bm25::KeywordSchema::new().text;
        let weights = terms
            .iter()
            .map(|t| bm25::QueryWeights::new(&stats, field, t))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| StoreError::Corrupt(format!("keyword scoring: {e}")))?;
        let mut top = TopK::scored(request.queries.len(), request.k);
        let mut pages = self
            .store
            .document_pages(request.ns, request.collection_id, SCAN_PAGE);
        while let Some(page) = pages.next().await? {
            for doc in &page {
                let analyzed = bm25::analyze(&mut analyzer, bm25::text_of(doc));
                for (i, weights) in weights.iter().enumerate() {
                    let Some(weights) = weights else { continue };
                    let score = weights.score(&analyzed);
                    if score > 0.0 {
                        top.push(i, score, doc);
                    }
                }
            }
        }
        Ok(SearchResult {
            hits: top.into_hits(),
            scanned: 2 * i64::try_from(stats.documents).unwrap_or(i64::MAX),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lane_dot_matches_the_plain_sum() {
        let a: Vec<f32> = (0..37).map(|i| i as f32 * 0.5).collect();
        let b: Vec<f32> = (0..37).map(|i| 1.0 - i as f32 * 0.25).collect();
        let plain: f32 = a.iter().zip(&b).map(|(x, y)| x * y).sum();
        assert!((dot(&a, &b) - plain).abs() < 1e-3);
    }

    #[test]
    fn scores_rank_closer_vectors_higher_under_every_metric() {
        let q = [1.0, 0.0];
        let near = [0.9, 0.1];
        let far = [0.0, 1.0];
        for metric in [Metric::Cosine, Metric::Dot, Metric::Euclidean] {
            assert!(score(metric, &q, 1.0, &near) > score(metric, &q, 1.0, &far));
        }
    }
}
