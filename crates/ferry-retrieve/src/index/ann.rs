//! The approximate nearest-neighbour graph of one vector index: usearch's HNSW, the library
//! chosen by measurement (README, "Search indexes"). Everything usearch-specific lives here.
//!
//! Keys are `u64`s ([`super::keys`]); vectors are `f32` in and out. The graph only proposes
//! candidates: callers score them again against the stored vectors, so quantized storage
//! changes which candidates are found, never the scores reported.

use std::path::Path;

use ferry_extract::Metric;
use ferry_wire::collection::VectorDataType;
use usearch::{Index, IndexOptions, MetricKind, ScalarKind};

/// Graph degree (usearch's `connectivity`, HNSW's M). At 1M 384-d vectors of the retrieve
/// bench, M 16 (with 64 below) flattened at recall@10 0.91 whatever the search expansion
/// (README, "Search indexes"): too sparse a graph to reach every neighbourhood.
const CONNECTIVITY: usize = 32;
/// Candidates kept while inserting (HNSW's efConstruction).
const EXPANSION_ADD: usize = 128;
/// Candidates kept while searching (HNSW's ef) unless configured otherwise; raised to the
/// request's `k` when larger. Measured at 1M 384-d vectors on the M 32 graph (README,
/// "Search indexes"): recall@10 1.000 at 384 and 768, p50 7.0 and 7.4 ms; 21 ms at 1536.
pub const EXPANSION_SEARCH: usize = 768;
/// Callers one graph serves at once. usearch keeps a scratch slot per concurrent caller and
/// fails a call that finds none free instead of waiting, so callers take a permit of
/// [`super::IndexedSearch`]'s semaphore, sized to this, first.
pub const CONCURRENT_CALLERS: usize = 16;

#[derive(Debug, thiserror::Error)]
#[error("vector index: {0}")]
pub struct AnnError(String);

impl AnnError {
    pub(super) fn panicked() -> AnnError {
        AnnError("an insert thread panicked".into())
    }
}

fn ann_error(e: impl std::fmt::Display) -> AnnError {
    AnnError(e.to_string())
}

/// How the graph stores vectors (the vector index's `datatype`).
fn scalar(datatype: VectorDataType) -> ScalarKind {
    match datatype {
        VectorDataType::Float32 => ScalarKind::F32,
        // usearch quantizes to signed bytes; "uint8" is the spec's name for 8-bit storage.
        VectorDataType::Uint8 => ScalarKind::I8,
    }
}

fn metric_kind(metric: Metric) -> MetricKind {
    match metric {
        Metric::Cosine => MetricKind::Cos,
        Metric::Dot => MetricKind::IP,
        Metric::Euclidean => MetricKind::L2sq,
    }
}

/// One HNSW graph.
pub struct Ann {
    index: Index,
}

impl Ann {
    fn options(dimensions: usize, metric: Metric, datatype: VectorDataType) -> IndexOptions {
        IndexOptions {
            dimensions,
            metric: metric_kind(metric),
            quantization: scalar(datatype),
            connectivity: CONNECTIVITY,
            expansion_add: EXPANSION_ADD,
            expansion_search: EXPANSION_SEARCH,
            multi: false,
        }
    }

    pub fn new(
        dimensions: usize,
        metric: Metric,
        datatype: VectorDataType,
    ) -> Result<Self, AnnError> {
        let index = Index::new(&Self::options(dimensions, metric, datatype)).map_err(ann_error)?;
        index
            .reserve_capacity_and_threads(1024, CONCURRENT_CALLERS)
            .map_err(ann_error)?;
        Ok(Ann { index })
    }

    /// Opens a graph saved by [`Ann::save`], refusing one built for other settings: read
    /// into memory, or (`mapped`) mapped from the file, searchable but read-only (usearch's
    /// view: the pages are the operating system's cache, not the process's memory).
    pub fn open(
        path: &Path,
        dimensions: usize,
        metric: Metric,
        datatype: VectorDataType,
        mapped: bool,
    ) -> Result<Self, AnnError> {
        // The scratch slots reserved here survive a view; a load keeps them too.
        let ann = Ann::new(dimensions, metric, datatype)?;
        let path = path
            .to_str()
            .ok_or_else(|| ann_error("index path is not UTF-8"))?;
        if mapped {
            ann.index.view(path).map_err(ann_error)?;
        } else {
            ann.index.load(path).map_err(ann_error)?;
            // A loaded graph has exactly its size as capacity.
            let capacity = ann.index.size().max(1024);
            ann.index
                .reserve_capacity_and_threads(capacity, CONCURRENT_CALLERS)
                .map_err(ann_error)?;
        }
        if ann.index.dimensions() != dimensions
            || ann.index.metric_kind() != metric_kind(metric)
            || ann.index.scalar_kind() != scalar(datatype)
        {
            return Err(ann_error("saved index was built with other settings"));
        }
        Ok(ann)
    }

    /// How many candidates a search keeps (HNSW's ef): recall against latency.
    pub fn set_expansion_search(&self, ef: usize) {
        self.index.change_expansion_search(ef.max(1));
    }

    pub fn save(&self, path: &Path) -> Result<(), AnnError> {
        let path = path
            .to_str()
            .ok_or_else(|| ann_error("index path is not UTF-8"))?;
        self.index.save(path).map_err(ann_error)
    }

    pub fn dimensions(&self) -> usize {
        self.index.dimensions()
    }

    /// Vectors the graph holds.
    pub fn size(&self) -> usize {
        self.index.size()
    }

    /// Whether `additional` more vectors fit without [`Ann::grow`].
    pub fn has_room(&self, additional: usize) -> bool {
        self.index.size() + additional <= self.index.capacity()
    }

    /// Makes room for `additional` more vectors (doubling, so growth is amortized). usearch
    /// must not add or search while it reallocates: callers hold the graph exclusively.
    pub fn grow(&mut self, additional: usize) -> Result<(), AnnError> {
        let needed = self.index.size() + additional;
        let capacity = needed.max(self.index.capacity() * 2);
        self.index
            .reserve_capacity_and_threads(capacity, CONCURRENT_CALLERS)
            .map_err(ann_error)
    }

    /// Inserts or replaces `key`'s vector; needs room ([`Ann::has_room`]).
    pub fn upsert(&self, key: u64, vector: &[f32]) -> Result<(), AnnError> {
        if self.index.contains(key) {
            self.index.remove(key).map_err(ann_error)?;
        }
        self.index.add(key, vector).map_err(ann_error)
    }

    pub fn remove(&self, key: u64) -> Result<(), AnnError> {
        if self.index.contains(key) {
            self.index.remove(key).map_err(ann_error)?;
        }
        Ok(())
    }

    /// The stored (possibly quantized) vector of `key`, if present.
    pub fn vector(&self, key: u64) -> Option<Vec<f32>> {
        let mut out = Vec::new();
        match self.index.export(key, &mut out) {
            Ok(1) => Some(out),
            _ => None,
        }
    }

    /// The `k` nearest keys to `query` by brute force over the graph's vectors, nearest first.
    pub fn exact(&self, query: &[f32], k: usize) -> Result<Vec<u64>, AnnError> {
        if self.index.size() == 0 || k == 0 {
            return Ok(Vec::new());
        }
        Ok(self.index.exact_search(query, k).map_err(ann_error)?.keys)
    }

    /// Up to `k` nearest keys to `query` that `keep` accepts, nearest first.
    pub fn search(
        &self,
        query: &[f32],
        k: usize,
        keep: impl Fn(u64) -> bool,
    ) -> Result<Vec<u64>, AnnError> {
        if self.index.size() == 0 || k == 0 {
            return Ok(Vec::new());
        }
        let matches = self
            .index
            .filtered_search(query, k, keep)
            .map_err(ann_error)?;
        Ok(matches.keys)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn removed_keys_leave_and_new_keys_enter() {
        let ann = Ann::new(4, Metric::Cosine, VectorDataType::Float32).unwrap();
        for key in 0..3u64 {
            ann.upsert(key, &[1.0, key as f32, 0.5, 0.25]).unwrap();
        }
        ann.remove(1).unwrap();
        assert_eq!(ann.size(), 2);
        ann.upsert(7, &[0.0, 1.0, 0.0, 0.0]).unwrap();
        assert_eq!(ann.size(), 3);
        ann.upsert(7, &[0.0, 0.0, 1.0, 0.0]).unwrap();
        assert_eq!(ann.size(), 3);
        let found = ann.search(&[0.0, 0.0, 1.0, 0.0], 3, |_| true).unwrap();
        assert_eq!(found[0], 7);
        assert!(!found.contains(&1));
    }

    #[test]
    fn a_mapped_graph_answers_like_the_saved_one_and_refuses_changes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("graph.usearch");
        for datatype in [VectorDataType::Float32, VectorDataType::Uint8] {
            let ann = Ann::new(4, Metric::Cosine, datatype).unwrap();
            for key in 0..50u64 {
                let k = key as f32;
                ann.upsert(key, &[1.0, k, (k * 0.7).sin(), (k * 1.3).cos()])
                    .unwrap();
            }
            ann.save(&path).unwrap();
            let mapped = Ann::open(&path, 4, Metric::Cosine, datatype, true).unwrap();
            assert_eq!(mapped.size(), 50);
            let query = [1.0, 20.0, 0.5, -0.5];
            assert_eq!(
                mapped.search(&query, 5, |_| true).unwrap(),
                ann.search(&query, 5, |_| true).unwrap()
            );
            assert!(
                mapped.upsert(99, &query).is_err(),
                "a mapped graph is read-only"
            );
            let wrong = Ann::open(&path, 4, Metric::Dot, datatype, true);
            assert!(wrong.is_err(), "settings are checked");
        }
    }
}
