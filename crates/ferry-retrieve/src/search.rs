//! Nearest-neighbour search over one collection's stored vectors, behind [`VectorSearch`] so an
//! approximate index can replace the exact scan without touching the stages.
//!
//! [`ExactScan`] streams the collection in keyset pages (memory bounded by the page and by
//! `k` per query, never by the collection) and scores every stored vector against every query
//! of the call: several queries (a taxonomy's batch of documents) share one pass over the data.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

use ferry_extract::Metric;
use ferry_store::{DocumentRecord, NamespaceKey, Store, StoreResult};

/// Documents read per round trip.
const SCAN_PAGE: i64 = 512;

/// One collection's vectors of one feature, and the queries against them.
#[derive(Debug, Clone, Copy)]
pub struct SearchRequest<'a> {
    pub ns: NamespaceKey,
    pub collection_id: &'a str,
    /// The name documents store the feature's vectors under.
    pub vector_name: &'a str,
    pub metric: Metric,
    pub queries: &'a [Vec<f32>],
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

#[async_trait::async_trait]
pub trait VectorSearch: Send + Sync {
    async fn search(&self, request: SearchRequest<'_>) -> StoreResult<SearchResult>;
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

#[async_trait::async_trait]
impl VectorSearch for ExactScan {
    async fn search(&self, request: SearchRequest<'_>) -> StoreResult<SearchResult> {
        let norms: Vec<f32> = request.queries.iter().map(|q| norm(q)).collect();
        let mut heaps: Vec<BinaryHeap<Kept>> = request
            .queries
            .iter()
            .map(|_| BinaryHeap::with_capacity(request.k + 1))
            .collect();
        let mut scanned = 0i64;
        let mut pages = self
            .store
            .document_pages(request.ns, request.collection_id, SCAN_PAGE);
        while let Some(page) = pages.next().await? {
            for doc in page {
                scanned += 1;
                let Some((_, stored)) = doc.vectors.iter().find(|(n, _)| n == request.vector_name)
                else {
                    continue;
                };
                for (i, query) in request.queries.iter().enumerate() {
                    let s = score(request.metric, query, norms[i], stored);
                    let heap = &mut heaps[i];
                    if heap.len() == request.k {
                        let worst = heap.peek().map_or(f64::NEG_INFINITY, |w| w.0.score);
                        if s <= worst {
                            continue;
                        }
                    }
                    heap.push(Kept(Hit {
                        score: s,
                        document: doc.clone(),
                    }));
                    if heap.len() > request.k {
                        heap.pop();
                    }
                }
            }
        }
        let hits = heaps
            .into_iter()
            .map(|heap| heap.into_sorted_vec().into_iter().map(|k| k.0).collect())
            .collect();
        Ok(SearchResult { hits, scanned })
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
