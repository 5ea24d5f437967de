//! One vector index of one collection, held by this process: the HNSW graph, its key table,
//! and the watermark (a `change_seq` of the store's change feed) up to which the graph
//! reflects the collection. See docs/ARCHITECTURE.md, "Search indexes".
//!
//! The graph is changed only by [`CollectionIndex::apply`]; queries read it concurrently
//! (usearch allows searches during inserts) and take it exclusively only while it grows.

use std::collections::HashSet;
use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};
use std::sync::{Mutex, PoisonError, RwLock};

use ferry_extract::vector_storage::VectorStorage;
use ferry_extract::Metric;
use ferry_store::{DocumentRecord, NamespaceKey};

use super::ann::{Ann, AnnError};
use super::keys::KeyMap;

/// Graphs holding at most this many vectors are searched by brute force over their vectors
/// (a millisecond at 384 dimensions): exact answers where exact is as cheap.
pub const EXACT_IN_GRAPH_BELOW: usize = 20_000;

/// Which index: one vector name of one collection.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct IndexId {
    pub ns: NamespaceKey,
    pub collection_id: String,
    pub vector_name: String,
}

/// How the index is built: fixed for its lifetime (a change means a rebuild).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IndexSettings {
    pub dimensions: usize,
    pub metric: Metric,
    /// The vector index's `datatype` and `on_disk`.
    pub storage: VectorStorage,
}

pub struct CollectionIndex {
    pub id: IndexId,
    pub settings: IndexSettings,
    graph: RwLock<Ann>,
    keys: Mutex<KeyMap>,
    /// Documents whose vector the graph cannot hold (another dimension, or a key that could
    /// not be assigned): searched exactly with the tail, so no document is ever missed.
    unindexed: Mutex<HashSet<String>>,
    watermark: AtomicI64,
    /// Whether the graph was loaded from a save (rather than built from the store).
    pub loaded: bool,
    /// Whether the graph is mapped from its saved file (`on_disk`): searchable, never
    /// changed; the maintainer merges changes into a new file instead ([`super::maintain`]).
    pub mapped: bool,
    /// Changes applied since the index was last saved.
    unsaved: AtomicUsize,
}

impl CollectionIndex {
    pub fn new(id: IndexId, settings: IndexSettings) -> Result<Self, AnnError> {
        let graph = Ann::new(
            settings.dimensions,
            settings.metric,
            settings.storage.datatype,
        )?;
        let parts = (graph, KeyMap::default(), HashSet::new());
        Ok(Self::from_parts(id, settings, parts, None, false))
    }

    /// An index of `parts`, loaded (or `mapped`) from a save at `saved_at` (`None`: built
    /// here).
    pub(super) fn from_parts(
        id: IndexId,
        settings: IndexSettings,
        (graph, keys, unindexed): (Ann, KeyMap, HashSet<String>),
        saved_at: Option<i64>,
        mapped: bool,
    ) -> Self {
        CollectionIndex {
            id,
            settings,
            graph: RwLock::new(graph),
            keys: Mutex::new(keys),
            unindexed: Mutex::new(unindexed),
            watermark: AtomicI64::new(saved_at.unwrap_or(0)),
            loaded: saved_at.is_some(),
            mapped,
            unsaved: AtomicUsize::new(0),
        }
    }

    /// The change up to which the graph reflects the store.
    pub fn watermark(&self) -> i64 {
        self.watermark.load(Ordering::Acquire)
    }

    /// Vectors the graph holds.
    pub fn vector_count(&self) -> usize {
        self.graph
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .size()
    }

    pub fn unsaved(&self) -> usize {
        self.unsaved.load(Ordering::Relaxed)
    }

    /// Applies one step of the change feed: `deleted` documents leave the graph, then
    /// `upserted` ones enter it (the feed's order within a range: see ferry_store's
    /// `changes` module). `through`, when given, becomes the watermark once applied.
    pub fn apply(
        &self,
        deleted: &[String],
        upserted: &[DocumentRecord],
        through: Option<i64>,
    ) -> Result<(), AnnError> {
        let vector_name = self.id.vector_name.as_str();
        {
            let mut unindexed = self
                .unindexed
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            for id in deleted {
                unindexed.remove(id);
            }
        }
        let released: Vec<u64> = {
            let mut keys = self.keys.lock().unwrap_or_else(PoisonError::into_inner);
            deleted.iter().filter_map(|id| keys.release(id)).collect()
        };
        {
            let graph = self.graph.read().unwrap_or_else(PoisonError::into_inner);
            for key in released {
                graph.remove(key)?;
            }
        }
        if !self
            .graph
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .has_room(upserted.len())
        {
            self.graph
                .write()
                .unwrap_or_else(PoisonError::into_inner)
                .grow(upserted.len())?;
        }
        let graph = self.graph.read().unwrap_or_else(PoisonError::into_inner);
        let mut inserts: Vec<(u64, &[f32])> = Vec::with_capacity(upserted.len());
        for doc in upserted {
            let vector = doc
                .vectors
                .iter()
                .find(|(name, _)| name == vector_name)
                .map(|(_, v)| v);
            let fits = vector.filter(|v| v.len() == self.settings.dimensions);
            let key = {
                let mut keys = self.keys.lock().unwrap_or_else(PoisonError::into_inner);
                match fits {
                    Some(_) => keys.assign(&doc.document_id),
                    None => {
                        // The document lost the vector, or carries one of another
                        // dimension: it leaves the graph.
                        if let Some(key) = keys.release(&doc.document_id) {
                            graph.remove(key)?;
                        }
                        None
                    }
                }
            };
            let mut unindexed = self
                .unindexed
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            match (key, fits) {
                (Some(key), Some(v)) => {
                    inserts.push((key, v));
                    unindexed.remove(&doc.document_id);
                }
                _ if vector.is_some() => {
                    unindexed.insert(doc.document_id.clone());
                }
                _ => {
                    unindexed.remove(&doc.document_id);
                }
            }
        }
        insert_in_parallel(&graph, &inserts)?;
        drop(graph);
        self.unsaved
            .fetch_add(deleted.len() + upserted.len(), Ordering::Relaxed);
        if let Some(through) = through {
            self.watermark.fetch_max(through, Ordering::AcqRel);
        }
        Ok(())
    }

    /// Sets the graph's search expansion (HNSW's ef), between searches.
    pub fn set_expansion_search(&self, ef: usize) {
        self.graph
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .set_expansion_search(ef);
    }

    /// Up to `k` document ids near `query`, skipping `excluded` ones (documents whose
    /// indexed version is stale), plus every document the graph could not hold.
    pub fn candidates(
        &self,
        query: &[f32],
        k: usize,
        excluded: &HashSet<&str>,
    ) -> Result<Vec<String>, AnnError> {
        let excluded_keys: HashSet<u64> = {
            let keys = self.keys.lock().unwrap_or_else(PoisonError::into_inner);
            excluded.iter().filter_map(|id| keys.key(id)).collect()
        };
        let graph = self.graph.read().unwrap_or_else(PoisonError::into_inner);
        let found = if query.len() != self.settings.dimensions {
            Vec::new()
        } else if graph.size() <= EXACT_IN_GRAPH_BELOW {
            // Small graphs answer exactly: every excluded key could rank above the k kept.
            let mut keys = graph.exact(query, k + excluded_keys.len())?;
            keys.retain(|key| !excluded_keys.contains(key));
            keys.truncate(k);
            keys
        } else {
            graph.search(query, k, |key| !excluded_keys.contains(&key))?
        };
        drop(graph);
        let keys = self.keys.lock().unwrap_or_else(PoisonError::into_inner);
        let mut ids: Vec<String> = found
            .into_iter()
            .filter_map(|key| keys.id(key).map(str::to_owned))
            .collect();
        drop(keys);
        ids.extend(
            self.unindexed
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .iter()
                .filter(|id| !excluded.contains(id.as_str()))
                .cloned(),
        );
        Ok(ids)
    }

    /// Up to `n` ids the graph holds, in no particular order.
    pub fn sample_ids(&self, n: usize) -> Vec<String> {
        self.keys
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .ids()
            .take(n)
            .map(str::to_owned)
            .collect()
    }

    /// The indexed vector of `document_id`, as the graph stores it.
    pub fn indexed_vector(&self, document_id: &str) -> Option<Vec<f32>> {
        let key = self
            .keys
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .key(document_id)?;
        self.graph
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .vector(key)
    }

    /// Saves graph, key table and unindexed ids through `save`, holding off changes
    /// meanwhile, with the watermark they reflect.
    pub(super) fn snapshot<T>(
        &self,
        save: impl FnOnce(&Ann, &KeyMap, &HashSet<String>, i64) -> std::io::Result<T>,
    ) -> std::io::Result<T> {
        // The write lock waits out any apply in progress, so graph, keys and watermark
        // agree with each other.
        let graph = self.graph.write().unwrap_or_else(PoisonError::into_inner);
        let keys = self.keys.lock().unwrap_or_else(PoisonError::into_inner);
        let unindexed = self
            .unindexed
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let unsaved = self.unsaved.load(Ordering::Relaxed);
        let saved = save(&graph, &keys, &unindexed, self.watermark())?;
        self.unsaved.fetch_sub(unsaved, Ordering::Relaxed);
        Ok(saved)
    }
}

/// Threads one [`CollectionIndex::apply`] inserts with (and graph callers it counts as).
pub const INSERT_THREADS: usize = 2;

/// The nice value insert threads run at. An insert into the graph costs several times the
/// CPU of the write it follows (HNSW at M 32 searches the graph for each vector's
/// neighbours), so upkeep at normal priority takes a busy writer's cores from it (README,
/// "Search indexes"). At 10 it takes the CPU the writers and queries leave: the
/// graph falls behind under load and catches up when it eases, and queries meanwhile score
/// the not-yet-indexed tail exactly, so answers stay right.
const INSERT_NICE: i32 = 10;

/// Inserts `(key, vector)`s at background priority, split over [`INSERT_THREADS`] threads
/// when there are enough to share (usearch inserts concurrently); a key listed twice keeps
/// its last vector.
fn insert_in_parallel(graph: &Ann, inserts: &[(u64, &[f32])]) -> Result<(), AnnError> {
    let mut seen = HashSet::with_capacity(inserts.len());
    let mut distinct: Vec<(u64, &[f32])> = inserts
        .iter()
        .rev()
        .filter(|(key, _)| seen.insert(*key))
        .copied()
        .collect();
    distinct.reverse();
    if distinct.is_empty() {
        return Ok(());
    }
    let threads = if distinct.len() < 64 {
        1
    } else {
        INSERT_THREADS
    };
    let share = distinct.len().div_ceil(threads);
    // Threads of their own, never the async runtime's blocking pool: a nice value set on a
    // pooled thread would stay with whatever task it runs next.
    std::thread::scope(|scope| {
        let workers: Vec<_> = distinct
            .chunks(share)
            .map(|part| {
                scope.spawn(move || {
                    run_in_background();
                    part.iter().try_for_each(|(key, v)| graph.upsert(*key, v))
                })
            })
            .collect();
        workers
            .into_iter()
            .try_for_each(|w| w.join().unwrap_or_else(|_| Err(AnnError::panicked())))
    })
}

/// Lowers the calling thread to [`INSERT_NICE`]. On Linux a nice value belongs to a thread
/// (`setpriority(PRIO_PROCESS, 0, …)` sets the caller's); elsewhere inserts keep the
/// process's priority. A refusal (raising priority back is what needs privilege, never
/// lowering it) only costs the writers their share, so it is ignored.
fn run_in_background() {
    #[cfg(target_os = "linux")]
    // SAFETY: setpriority takes plain integers and touches no memory of ours.
    unsafe {
        libc::setpriority(libc::PRIO_PROCESS, 0, INSERT_NICE);
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    fn nice() -> i32 {
        // SAFETY: getpriority takes plain integers and touches no memory of ours.
        unsafe { libc::getpriority(libc::PRIO_PROCESS, 0) }
    }

    #[test]
    fn insert_threads_run_at_background_priority_and_leave_the_caller_alone() {
        let before = nice();
        let background = std::thread::spawn(|| {
            run_in_background();
            nice()
        })
        .join()
        .unwrap();
        assert_eq!(background, INSERT_NICE.max(before));
        assert_eq!(nice(), before, "only the insert thread is lowered");
    }
}
