//! Opening (load or build), catching up and saving graphs: the lifecycle of an index in a
//! process. See docs/ARCHITECTURE.md, "Search indexes".

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ferry_store::{ChangePage, StoreError, StoreResult};
use tokio::sync::watch;

use super::collection::{CollectionIndex, IndexId, IndexSettings};
use super::{persist, IndexedSearch, Storage, FEED_PAGE};

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
        if let Some(root) = self.inner.config.dir.clone() {
            let (loaded_id, root_for_load) = (id.clone(), root.clone());
            let loaded = tokio::task::spawn_blocking(move || {
                persist::load(&root_for_load, &loaded_id, settings)
            })
            .await
            .map_err(index_error)?;
            match loaded {
                Ok(Some(index)) => {
                    let index = Arc::new(index);
                    match self.spot_check(&index).await {
                        Ok(()) => {
                            self.catch_up(&index).await?;
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
        let index = Arc::new(self.build(id, settings).await?);
        self.catch_up(&index).await?;
        if let Some(root) = self.inner.config.dir.clone() {
            let saved = index.clone();
            tokio::task::spawn_blocking(move || persist::save(&root, &saved))
                .await
                .map_err(index_error)?
                .map_err(index_error)?;
        }
        Arc::try_unwrap(index).map_err(|_| index_error("graph still shared after building"))
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
        let Some(through) = store
            .collection_change_seq(id.ns, &id.collection_id)
            .await?
        else {
            return Err(StoreError::NotFound {
                resource: "collection",
                id: id.collection_id.clone(),
            });
        };
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
                (Some(e), Some(i)) => close(e, i, index.settings.storage),
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
                match self.catch_up(&index).await {
                    Ok(_) => {}
                    Err(StoreError::NotFound { .. }) => {
                        self.forget(&index.id);
                        if let Some(root) = &self.inner.config.dir {
                            let _ = persist::remove(root, &index.id);
                        }
                        continue;
                    }
                    Err(e) => {
                        tracing::warn!(collection = %index.id.collection_id, error = %e,
                            "vector index catch-up failed; queries read the tail");
                        continue;
                    }
                }
                let last = *saved_at
                    .entry(index.id.clone())
                    .or_insert_with(Instant::now);
                let unsaved = index.unsaved();
                if unsaved >= self.inner.config.save_after
                    || (unsaved > 0 && last.elapsed() >= SAVE_IDLE)
                {
                    self.save(&index).await;
                    saved_at.insert(index.id.clone(), Instant::now());
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
fn close(stored: &[f32], indexed: &[f32], storage: Storage) -> bool {
    if stored.len() != indexed.len() {
        return false;
    }
    match storage {
        Storage::Float32 => stored
            .iter()
            .zip(indexed)
            .all(|(a, b)| (a - b).abs() <= 1e-6),
        Storage::Float16 | Storage::Uint8 => {
            let dot: f32 = stored.iter().zip(indexed).map(|(a, b)| a * b).sum();
            let norms = crate::search::dot(stored, stored).sqrt()
                * crate::search::dot(indexed, indexed).sqrt();
            norms == 0.0 || dot / norms >= 0.98
        }
    }
}
