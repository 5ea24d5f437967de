//! Search indexes: [`IndexedSearch`], the [`VectorSearch`] every retriever, taxonomy and
//! migration benchmark of a process searches through. See docs/ARCHITECTURE.md, "Search
//! indexes". Keyword features have a tantivy index each ([`keywords`]); the rest of this
//! page is about the HNSW graphs of dense features.
//!
//! Each process keeps its own HNSW graph per vector index of a collection ([`collection`]),
//! saved under its index directory ([`persist`]) and kept current from the store's change
//! feed by a maintainer task ([`maintain`]). A query never waits for the maintainer and never
//! trusts the graph beyond its watermark: the documents changed or deleted since (the
//! *tail*) are read from the store, left out of the graph's answer, and scored exactly. A
//! collection below [`IndexConfig::exact_below`] documents, or whose graph is still being
//! built, or whose tail is larger than [`TAIL_LIMIT`], is searched exactly instead.

pub mod ann;
mod collection;
mod keys;
mod keywords;
mod maintain;
mod persist;

use std::collections::{HashMap, HashSet};
use std::fs::{self, File, OpenOptions, TryLockError};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use ferry_store::{ChangePage, DocumentRecord, NamespaceKey, Store, StoreError, StoreResult};
use ferry_wire::collection::VectorDataType;

pub use collection::{CollectionIndex, IndexId, IndexSettings};
pub use keywords::KeywordIndex;

use crate::search::{ExactScan, KeywordRequest, SearchRequest, SearchResult, TopK, VectorSearch};

/// The most changed documents a query scores exactly beside the graph; past it (a bulk
/// write the maintainer has not caught up with) the query scans the collection instead,
/// which keeps its memory bounded.
pub const TAIL_LIMIT: usize = 20_000;
/// Rows read per round trip from the change feed.
pub(crate) const FEED_PAGE: i64 = 512;
/// How long a collection found too small for a graph is searched exactly before its size
/// is looked at again.
const RECHECK_SMALL: Duration = Duration::from_secs(5);

/// How a process keeps its indexes.
#[derive(Debug, Clone)]
pub struct IndexConfig {
    /// Where graphs are saved; `None` keeps them in memory only (rebuilt after a restart).
    pub dir: Option<PathBuf>,
    /// Collections with fewer documents are searched exactly, without a graph.
    pub exact_below: i64,
    /// How often the maintainer brings graphs up to the store's change feed.
    pub refresh: Duration,
    /// Changes applied after which a graph is saved again.
    pub save_after: usize,
    /// Changes after which a mapped (`on_disk`) graph is merged into a new file; well
    /// below [`TAIL_LIMIT`], so queries keep using the graph meanwhile.
    pub merge_after: usize,
    /// Candidates an HNSW search keeps (ef): higher finds more of the true neighbours, slower.
    pub ef_search: usize,
}

impl Default for IndexConfig {
    fn default() -> Self {
        IndexConfig {
            dir: None,
            exact_below: 5_000,
            refresh: Duration::from_millis(250),
            save_after: 50_000,
            merge_after: 5_000,
            ef_search: ann::EXPANSION_SEARCH,
        }
    }
}

/// Where one index stands in this process.
#[derive(Clone)]
enum Slot {
    /// Too few documents for a graph when last looked at.
    Small(Instant),
    /// Being loaded or built in the background; searched exactly meanwhile.
    Building,
    Ready(Arc<CollectionIndex>),
}

/// What `GET …/indexes` reports of one index (a Ferry extension).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IndexState {
    /// Searched exactly: the collection is small, or no query has needed a graph yet.
    Exact,
    Building,
    Ready {
        vectors: usize,
        watermark: i64,
        /// Loaded from this process's saved index (rather than built from the store).
        loaded: bool,
        /// Searched from its file, mapped into memory (`on_disk`).
        mapped: bool,
    },
}

/// [`VectorSearch`] through per-collection HNSW graphs, exact where that is cheaper or the
/// graph is not ready. Cheap to clone.
#[derive(Clone)]
pub struct IndexedSearch {
    inner: Arc<Inner>,
}

struct Inner {
    store: Store,
    config: IndexConfig,
    exact: ExactScan,
    slots: Mutex<HashMap<IndexId, Slot>>,
    keyword_slots: Mutex<HashMap<IndexId, keywords::KeywordSlot>>,
    /// Permits to call into a graph (see [`ann::CONCURRENT_CALLERS`]).
    callers: tokio::sync::Semaphore,
    /// The graphs' search expansion, [`IndexConfig::ef_search`] until changed.
    ef_search: std::sync::atomic::AtomicUsize,
    /// The lock on the index directory, held while the process lives.
    _claim: Option<File>,
}

/// Takes the index directory for this process: two processes saving into one directory
/// would overwrite each other's generations.
fn claim(dir: &Path) -> io::Result<File> {
    fs::create_dir_all(dir)?;
    let lock = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(dir.join("LOCK"))?;
    lock.try_lock().map_err(|e| match e {
        TryLockError::WouldBlock => io::Error::other("another process holds it"),
        TryLockError::Error(e) => e,
    })?;
    Ok(lock)
}

impl IndexedSearch {
    /// Searches `store`; when `config.dir` can be claimed, graphs are saved there,
    /// otherwise they are kept in memory only (and the log says why).
    pub fn new(store: Store, mut config: IndexConfig) -> Self {
        let claimed = config.dir.as_deref().and_then(|dir| match claim(dir) {
            Ok(lock) => Some(lock),
            Err(e) => {
                tracing::warn!(dir = %dir.display(), error = %e,
                    "vector index directory unavailable; indexes are kept in memory only");
                None
            }
        });
        if claimed.is_none() {
            config.dir = None;
        }
        let ef_search = config.ef_search;
        IndexedSearch {
            inner: Arc::new(Inner {
                exact: ExactScan::new(store.clone()),
                store,
                config,
                slots: Mutex::default(),
                keyword_slots: Mutex::default(),
                callers: tokio::sync::Semaphore::new(ann::CONCURRENT_CALLERS),
                ef_search: std::sync::atomic::AtomicUsize::new(ef_search),
                _claim: claimed,
            }),
        }
    }

    pub fn config(&self) -> &IndexConfig {
        &self.inner.config
    }

    /// Changes the search expansion (HNSW's ef) of every graph, ready or to come: what the
    /// retrieve bench sweeps to chart recall against latency on one built graph.
    pub fn set_ef_search(&self, ef: usize) {
        self.inner
            .ef_search
            .store(ef, std::sync::atomic::Ordering::Relaxed);
        for index in self.ready_indexes() {
            index.set_expansion_search(ef);
        }
    }

    /// Permits for `n` concurrent calls into a graph.
    async fn callers(&self, n: usize) -> StoreResult<tokio::sync::SemaphorePermit<'_>> {
        self.inner
            .callers
            .acquire_many(n as u32)
            .await
            .map_err(|e| StoreError::Corrupt(format!("vector index closed: {e}")))
    }

    fn slots(&self) -> std::sync::MutexGuard<'_, HashMap<IndexId, Slot>> {
        self.inner
            .slots
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn keyword_slots(&self) -> std::sync::MutexGuard<'_, HashMap<IndexId, keywords::KeywordSlot>> {
        self.inner
            .keyword_slots
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Keyword indexes that are open, for the maintainer and `GET …/indexes`.
    fn ready_keyword_indexes(&self) -> Vec<Arc<KeywordIndex>> {
        self.keyword_slots()
            .values()
            .filter_map(|slot| slot.get().cloned())
            .collect()
    }

    /// Where the keyword index `id` stands in this process: `Exact` until a query opens it.
    pub fn keyword_state(&self, id: &IndexId) -> IndexState {
        match self.keyword_slots().get(id) {
            Some(slot) => match slot.get() {
                Some(index) => IndexState::Ready {
                    vectors: usize::try_from(index.document_count()).unwrap_or(usize::MAX),
                    watermark: index.watermark(),
                    loaded: index.loaded,
                    mapped: false,
                },
                None => IndexState::Building,
            },
            None => IndexState::Exact,
        }
    }

    /// Where `id` stands in this process.
    pub fn state(&self, id: &IndexId) -> IndexState {
        match self.slots().get(id) {
            Some(Slot::Ready(index)) => IndexState::Ready {
                vectors: index.vector_count(),
                watermark: index.watermark(),
                loaded: index.loaded,
                mapped: index.mapped,
            },
            Some(Slot::Building) => IndexState::Building,
            Some(Slot::Small(_)) | None => IndexState::Exact,
        }
    }

    /// The graph for the request's index if it is ready; otherwise starts loading or
    /// building it when the collection is large enough, and returns `None`.
    async fn ready(
        &self,
        request: &SearchRequest<'_>,
    ) -> StoreResult<Option<Arc<CollectionIndex>>> {
        let id = IndexId {
            ns: request.ns,
            collection_id: request.collection_id.to_owned(),
            vector_name: request.vector_name.to_owned(),
        };
        let settings = IndexSettings {
            dimensions: request.dimensions,
            metric: request.metric,
            storage: request.storage,
        };
        match self.slots().get(&id) {
            Some(Slot::Ready(index)) if index.settings == settings => {
                return Ok(Some(index.clone()))
            }
            Some(Slot::Building) => return Ok(None),
            Some(Slot::Small(at)) if at.elapsed() < RECHECK_SMALL => return Ok(None),
            _ => {}
        }
        if settings.dimensions == 0 {
            return Ok(None);
        }
        let documents = match self
            .inner
            .store
            .get_collection(request.ns, request.collection_id)
            .await
        {
            Ok(collection) => collection.document_count,
            Err(StoreError::NotFound { .. }) => return Ok(None),
            Err(e) => return Err(e),
        };
        if documents < self.inner.config.exact_below {
            self.slots().insert(id, Slot::Small(Instant::now()));
            return Ok(None);
        }
        {
            let mut slots = self.slots();
            if matches!(slots.get(&id), Some(Slot::Building)) {
                return Ok(None);
            }
            slots.insert(id.clone(), Slot::Building);
        }
        let search = self.clone();
        tokio::spawn(async move {
            match search.open(id.clone(), settings).await {
                Ok(index) => {
                    let ef = search
                        .inner
                        .ef_search
                        .load(std::sync::atomic::Ordering::Relaxed);
                    index.set_expansion_search(ef);
                    search.slots().insert(id, Slot::Ready(Arc::new(index)));
                }
                Err(e) => {
                    tracing::warn!(collection = %id.collection_id, vector = %id.vector_name,
                        error = %e, "vector index could not be built; searching exactly");
                    search.slots().remove(&id);
                }
            }
        });
        Ok(None)
    }

    /// Graphs that are ready, for the maintainer.
    fn ready_indexes(&self) -> Vec<Arc<CollectionIndex>> {
        self.slots()
            .values()
            .filter_map(|slot| match slot {
                Slot::Ready(index) => Some(index.clone()),
                _ => None,
            })
            .collect()
    }

    /// The collection's latest change; `NotFound` once the collection is gone.
    async fn latest_change(&self, id: &IndexId) -> StoreResult<i64> {
        self.inner
            .store
            .collection_change_seq(id.ns, &id.collection_id)
            .await?
            .ok_or_else(|| StoreError::NotFound {
                resource: "collection",
                id: id.collection_id.clone(),
            })
    }

    fn forget(&self, id: &IndexId) {
        self.slots().remove(id);
    }

    fn forget_keywords(&self, id: &IndexId) {
        self.keyword_slots().remove(id);
    }

    /// The graph answers for `request`, merged with the exactly scored tail; `None` when
    /// the tail is too long to hold or the graph fails (the caller scans instead).
    async fn search_indexed(
        &self,
        index: Arc<CollectionIndex>,
        request: &SearchRequest<'_>,
    ) -> StoreResult<Option<SearchResult>> {
        let store = &self.inner.store;
        let from = index.watermark();
        let Some(through) = store
            .collection_change_seq(request.ns, request.collection_id)
            .await?
        else {
            return Ok(Some(SearchResult::default()));
        };
        let range = (from, through);
        let Some((tail, deleted)) =
            read_tail(store, request.ns, request.collection_id, range).await?
        else {
            return Ok(None);
        };
        let mut excluded: HashSet<String> = deleted.into_iter().collect();
        excluded.extend(tail.iter().map(|d| d.document_id.clone()));
        // Quantized graphs rank approximately: ask for more, the exact rescoring sorts them.
        let wanted = match index.settings.storage.datatype {
            VectorDataType::Float32 => request.k,
            VectorDataType::Uint8 => request.k * 2,
        };
        let queries = request.queries.to_vec();
        let graph = index.clone();
        let caller = self.callers(1).await?;
        let outcome = tokio::task::spawn_blocking(move || {
            let excluded: HashSet<&str> = excluded.iter().map(String::as_str).collect();
            queries
                .iter()
                .map(|q| graph.candidates(q, wanted, &excluded))
                .collect::<Result<Vec<_>, _>>()
        })
        .await;
        drop(caller);
        // A graph that fails a search costs the query its speed, never its answer.
        let candidates = match outcome {
            Ok(Ok(candidates)) => candidates,
            Ok(Err(e)) => {
                tracing::warn!(collection = %index.id.collection_id, error = %e,
                    "vector index search failed; searching exactly");
                return Ok(None);
            }
            Err(e) => {
                tracing::warn!(collection = %index.id.collection_id, error = %e,
                    "vector index search stopped; searching exactly");
                return Ok(None);
            }
        };
        let ids = candidates.iter().flatten().map(String::as_str);
        let by_id = documents_by_id(store, request.ns, request.collection_id, ids).await?;
        let mut top = TopK::new(request);
        for (i, ids) in candidates.iter().enumerate() {
            for doc in ids.iter().filter_map(|id| by_id.get(id.as_str())) {
                top.offer(doc, request.vector_name, Some(i));
            }
        }
        for doc in &tail {
            top.offer(doc, request.vector_name, None);
        }
        Ok(Some(SearchResult {
            hits: top.into_hits(),
            scanned: (by_id.len() + tail.len()) as i64,
        }))
    }
}

/// The documents changed and the ids deleted in `(from, through]`, or `None` past
/// [`TAIL_LIMIT`].
async fn read_tail(
    store: &Store,
    ns: NamespaceKey,
    collection_id: &str,
    range: (i64, i64),
) -> StoreResult<Option<(Vec<DocumentRecord>, Vec<String>)>> {
    let (mut changed, mut deleted) = (Vec::new(), Vec::new());
    let mut pages = store.change_pages(ns, collection_id, range, FEED_PAGE);
    while let Some(page) = pages.next().await? {
        match page {
            ChangePage::Deleted(ids) => deleted.extend(ids),
            ChangePage::Written(docs) => changed.extend(docs),
        }
        if deleted.len() + changed.len() > TAIL_LIMIT {
            return Ok(None);
        }
    }
    Ok(Some((changed, deleted)))
}

#[async_trait::async_trait]
impl VectorSearch for IndexedSearch {
    async fn search(&self, request: SearchRequest<'_>) -> StoreResult<SearchResult> {
        if !request.queries.is_empty() {
            if let Some(index) = self.ready(&request).await? {
                if let Some(result) = self.search_indexed(index, &request).await? {
                    return Ok(result);
                }
            }
        }
        self.inner.exact.search(request).await
    }

    async fn keywords(&self, request: KeywordRequest<'_>) -> StoreResult<SearchResult> {
        if request.queries.is_empty() {
            return Ok(SearchResult::default());
        }
        self.keyword_search(request).await
    }
}

/// The documents an index named, by id: each read from the store once, however many queries
/// named it.
async fn documents_by_id<'a>(
    store: &Store,
    ns: NamespaceKey,
    collection_id: &str,
    ids: impl Iterator<Item = &'a str>,
) -> StoreResult<HashMap<String, DocumentRecord>> {
    let mut distinct: Vec<&str> = ids.collect();
    distinct.sort_unstable();
    distinct.dedup();
    let fetched = store.documents_by_ids(ns, collection_id, &distinct).await?;
    Ok(fetched
        .into_iter()
        .map(|(_, d)| (d.document_id.clone(), d))
        .collect())
}
