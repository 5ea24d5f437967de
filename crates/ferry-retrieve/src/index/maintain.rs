//! Opening (load or build), catching up and saving graphs: the lifecycle of an index in a
//! process. See docs/ARCHITECTURE.md, "Search indexes".
//!
//! A graph held in memory takes each change as the maintainer reads it. A mapped graph
//! (`on_disk`) is read-only: queries score the changes since its file was written as the
//! tail, and once [`super::IndexConfig::merge_after`] have gathered (or the graph has been
//! idle [`SAVE_IDLE`]) the maintainer merges them: it reads the file into memory, applies the
//! changes, saves a new file and maps that instead. Memory holds the whole graph only
//! during a build or a merge.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ferry_store::{ChangePage, StoreError, StoreResult};
use tokio::sync::watch;

use super::collection::{CollectionIndex, IndexId, IndexSettings};
use super::{persist, IndexedSearch, Slot, FEED_PAGE};
use ferry_wire::collection::VectorDataType;

/// A graph with unsaved changes is saved once it has been idle this long, even below
/// [`super::IndexConfig::save_after`] changes.
const SAVE_IDLE: Duration = Duration::from_secs(30);
/// Saved vectors checked against the store before a loaded graph is trusted.
const SPOT_CHECKS: usize = 16;

fn index_error(e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(format!("vector index: {e}"))
}

impl IndexedSearch {
    /// Runs [`CollectionIndex::apply`] on the blocking pool (inserting is CPU-bound), as one
    /// of the graph's concurrent callers.
    async fn apply(
        &self,
        index: &Arc<CollectionIndex>,
        deleted: Vec<String>,
        upserted: Vec<ferry_store::DocumentRecord>,
        through: Option<i64>,
    ) -> StoreResult<()> {
        let _callers = self.callers(super::collection::INSERT_THREADS).await?;
        let index = index.clone();
        tokio::task::spawn_blocking(move || index.apply(&deleted, &upserted, through))
            .await
            .map_err(index_error)?
            .map_err(index_error)
    }

    /// The saved graph of `id` if it passes every check, brought up to date; otherwise a
    /// graph built from the store.
    pub(super) async fn open(
        &self,
        id: IndexId,
        settings: IndexSettings,
    ) -> StoreResult<CollectionIndex> {
        let mapped = settings.storage.on_disk;
        if let Some(root) = self.inner.config.dir.clone() {
            let loaded = self.load(&root, &id, settings, mapped).await?;
            match loaded {
                Ok(Some(index)) => {
                    let index = Arc::new(index);
                    match self.spot_check(&index).await {
                        Ok(()) => {
                            // A mapped graph takes its changes at the next merge.
                            if !index.mapped {
                                self.catch_up(&index).await?;
                            }
                            return Arc::try_unwrap(index)
                                .map_err(|_| index_error("graph still shared after loading"));
                        }
                        Err(e) => tracing::warn!(collection = %id.collection_id, error = %e,
                            "saved vector index disagrees with the store; rebuilding"),
                    }
                }
                Ok(None) => {}
                Err(e) => tracing::warn!(collection = %id.collection_id, error = %e,
                    "saved vector index is unusable; rebuilding"),
            }
            let _ = persist::remove(&root, &id);
        }
        let index = Arc::new(self.build(id.clone(), settings).await?);
        self.catch_up(&index).await?;
        if let Some(root) = self.inner.config.dir.clone() {
            let (saved, save_root) = (index.clone(), root.clone());
            tokio::task::spawn_blocking(move || persist::save(&save_root, &saved))
                .await
                .map_err(index_error)?
                .map_err(index_error)?;
            if mapped {
                drop(index);
                return self.mapped(&root, &id, settings).await;
            }
        }
        // Without an index directory there is no file to map: the graph stays in memory.
        Arc::try_unwrap(index).map_err(|_| index_error("graph still shared after building"))
    }

    /// The index saved for `id` under `root`, read on the blocking pool (mapped or read
    /// into memory); the outer error is the task's, the inner one the load's.
    async fn load(
        &self,
        root: &std::path::Path,
        id: &IndexId,
        settings: IndexSettings,
        mapped: bool,
    ) -> StoreResult<std::io::Result<Option<CollectionIndex>>> {
        let (root, id) = (root.to_owned(), id.clone());
        tokio::task::spawn_blocking(move || persist::load(&root, &id, settings, mapped))
            .await
            .map_err(index_error)
    }

    /// The graph just saved for `id`, mapped from its file.
    async fn mapped(
        &self,
        root: &std::path::Path,
        id: &IndexId,
        settings: IndexSettings,
    ) -> StoreResult<CollectionIndex> {
        self.load(root, id, settings, true)
            .await?
            .map_err(index_error)?
            .ok_or_else(|| index_error("the graph saved a moment ago is gone"))
    }

    /// Merges the changes since a mapped graph's file into a new file, and maps that in its
    /// place. Queries go on with the old mapping until the new one replaces it.
    async fn merge(&self, index: &Arc<CollectionIndex>) -> StoreResult<()> {
        let Some(root) = self.inner.config.dir.clone() else {
            return Ok(());
        };
        let (id, settings) = (&index.id, index.settings);
        let in_memory = self
            .load(&root, id, settings, false)
            .await?
            .map_err(index_error)?
            .ok_or_else(|| index_error("the mapped graph's file is gone"))?;
        let in_memory = Arc::new(in_memory);
        self.catch_up(&in_memory).await?;
        let saved = in_memory.clone();
        let save_root = root.clone();
        tokio::task::spawn_blocking(move || persist::save(&save_root, &saved))
            .await
            .map_err(index_error)?
            .map_err(index_error)?;
        drop(in_memory);
        let merged = Arc::new(self.mapped(&root, id, settings).await?);
        merged.set_expansion_search(
            self.inner
                .ef_search
                .load(std::sync::atomic::Ordering::Relaxed),
        );
        let mut slots = self.slots();
        if let Some(slot @ Slot::Ready(_)) = slots.get_mut(id) {
            *slot = Slot::Ready(merged);
        }
        Ok(())
    }

    /// Whether a mapped graph's changes should be merged now: enough of them, or some and
    /// no merge for [`SAVE_IDLE`].
    async fn merge_due(&self, index: &CollectionIndex, last: Instant) -> StoreResult<bool> {
        let through = self.latest_change(&index.id).await?;
        // Each change takes the collection's next number, so the gap counts changes.
        let behind = usize::try_from(through - index.watermark()).unwrap_or(0);
        Ok(behind >= self.inner.config.merge_after || (behind > 0 && last.elapsed() >= SAVE_IDLE))
    }

    /// One maintainer round for one graph: changes applied (in memory) or merged (mapped),
    /// and the graph saved when due.
    async fn keep(
        &self,
        index: &Arc<CollectionIndex>,
        saved_at: &mut HashMap<IndexId, Instant>,
    ) -> StoreResult<()> {
        let last = *saved_at
            .entry(index.id.clone())
            .or_insert_with(Instant::now);
        if index.mapped {
            if self.merge_due(index, last).await? {
                match self.merge(index).await {
                    Ok(()) => {}
                    Err(e @ StoreError::NotFound { .. }) => return Err(e),
                    // The next query opens it again: mapped if its file passes the checks,
                    // rebuilt from the store if not.
                    Err(e) => {
                        tracing::warn!(collection = %index.id.collection_id, error = %e,
                            "mapped vector index could not be merged; reopening it");
                        self.forget(&index.id);
                    }
                }
                saved_at.insert(index.id.clone(), Instant::now());
            }
            return Ok(());
        }
        self.catch_up(index).await?;
        let unsaved = index.unsaved();
        if unsaved >= self.inner.config.save_after || (unsaved > 0 && last.elapsed() >= SAVE_IDLE) {
            self.save(index).await;
            saved_at.insert(index.id.clone(), Instant::now());
        }
        Ok(())
    }

    /// A graph of every document the collection holds, at the watermark read before the
    /// scan began (changes during the scan are replayed by the next catch-up).
    async fn build(&self, id: IndexId, settings: IndexSettings) -> StoreResult<CollectionIndex> {
        let store = &self.inner.store;
        let start = store
            .collection_change_seq(id.ns, &id.collection_id)
            .await?
            .ok_or_else(|| index_error("the collection is gone"))?;
        let index = Arc::new(CollectionIndex::new(id.clone(), settings).map_err(index_error)?);
        let mut pages = store.document_pages(id.ns, &id.collection_id, FEED_PAGE);
        while let Some(page) = pages.next().await? {
            self.apply(&index, Vec::new(), page, None).await?;
        }
        self.apply(&index, Vec::new(), Vec::new(), Some(start))
            .await?;
        Arc::try_unwrap(index).map_err(|_| index_error("graph still shared after building"))
    }

    /// Brings `index` up to the collection's latest change: deletions first, then the
    /// documents written, then the watermark. Fails with `NotFound` if the collection is gone.
    pub(super) async fn catch_up(&self, index: &Arc<CollectionIndex>) -> StoreResult<usize> {
        let store = &self.inner.store;
        let id = &index.id;
        let through = self.latest_change(id).await?;
        let range = (index.watermark(), through);
        if range.0 >= range.1 {
            return Ok(0);
        }
        let mut applied = 0;
        let mut pages = store.change_pages(id.ns, &id.collection_id, range, FEED_PAGE);
        while let Some(page) = pages.next().await? {
            applied += page.len();
            match page {
                ChangePage::Deleted(ids) => self.apply(index, ids, Vec::new(), None).await?,
                ChangePage::Written(docs) => self.apply(index, Vec::new(), docs, None).await?,
            }
        }
        self.apply(index, Vec::new(), Vec::new(), Some(through))
            .await?;
        Ok(applied)
    }

    /// Compares saved vectors with the store's: a graph that disagrees about a document
    /// unchanged since its watermark is not trusted.
    async fn spot_check(&self, index: &Arc<CollectionIndex>) -> StoreResult<()> {
        let sample = index.sample_ids(SPOT_CHECKS);
        let ids: Vec<&str> = sample.iter().map(String::as_str).collect();
        let stored = self
            .inner
            .store
            .documents_by_ids(index.id.ns, &index.id.collection_id, &ids)
            .await?;
        let watermark = index.watermark();
        for (seq, doc) in stored.iter().filter(|(seq, _)| *seq <= watermark) {
            let expected = doc
                .vectors
                .iter()
                .find(|(name, _)| *name == index.id.vector_name)
                .map(|(_, v)| v.as_slice());
            let indexed = index.indexed_vector(&doc.document_id);
            let agree = match (expected, indexed.as_deref()) {
                (Some(e), Some(i)) => close(e, i, index.settings.storage.datatype),
                _ => false,
            };
            if !agree {
                return Err(index_error(format!(
                    "document {} (change {seq}) differs from its indexed vector",
                    doc.document_id
                )));
            }
        }
        Ok(())
    }

    /// Keeps every ready graph up to the store until `stopped`, saving graphs as they
    /// change; saves what is unsaved before returning.
    pub async fn maintain(self, mut stopped: watch::Receiver<bool>) {
        let mut saved_at: HashMap<IndexId, Instant> = HashMap::new();
        loop {
            tokio::select! {
                _ = tokio::time::sleep(self.inner.config.refresh) => {}
                _ = stopped.changed() => break,
            }
            for index in self.ready_indexes() {
                match self.keep(&index, &mut saved_at).await {
                    Ok(()) => {}
                    Err(StoreError::NotFound { .. }) => {
                        self.forget(&index.id);
                        if let Some(root) = &self.inner.config.dir {
                            let _ = persist::remove(root, &index.id);
                        }
                    }
                    Err(e) => tracing::warn!(collection = %index.id.collection_id, error = %e,
                        "vector index catch-up failed; queries read the tail"),
                }
            }
            // Keyword indexes save themselves: each catch-up is a tantivy commit.
            for index in self.ready_keyword_indexes() {
                match self.catch_up_keywords(&index).await {
                    Ok(()) => {}
                    Err(StoreError::NotFound { .. }) => {
                        self.forget_keywords(&index.id);
                        if let Some(root) = &self.inner.config.dir {
                            let _ = persist::remove(root, &index.id);
                        }
                    }
                    Err(e) => tracing::warn!(collection = %index.id.collection_id, error = %e,
                        "keyword index catch-up failed; queries read the tail"),
                }
            }
        }
        for index in self.ready_indexes() {
            if index.unsaved() > 0 {
                self.save(&index).await;
            }
        }
    }

    async fn save(&self, index: &Arc<CollectionIndex>) {
        let Some(root) = self.inner.config.dir.clone() else {
            return;
        };
        let saved = index.clone();
        let outcome = tokio::task::spawn_blocking(move || persist::save(&root, &saved)).await;
        if let Ok(Err(e)) | Err(e) = outcome.map_err(std::io::Error::other) {
            tracing::warn!(collection = %index.id.collection_id, error = %e,
                "vector index could not be saved; it will be rebuilt or caught up on restart");
        }
    }
}

/// Whether a stored vector and its indexed copy agree, allowing for quantization.
fn close(stored: &[f32], indexed: &[f32], datatype: VectorDataType) -> bool {
    if stored.len() != indexed.len() {
        return false;
    }
    match datatype {
        VectorDataType::Float32 => stored
            .iter()
            .zip(indexed)
            .all(|(a, b)| (a - b).abs() <= 1e-6),
        VectorDataType::Uint8 => {
            let dot: f32 = stored.iter().zip(indexed).map(|(a, b)| a * b).sum();
            let norms = crate::search::dot(stored, stored).sqrt()
                * crate::search::dot(indexed, indexed).sqrt();
            norms == 0.0 || dot / norms >= 0.98
        }
    }
}
