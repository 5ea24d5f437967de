//! Keyword indexes: a tantivy index per keyword feature of a collection, kept from the
//! store's change feed like the HNSW graphs, and the BM25 search through it. See
//! docs/ARCHITECTURE.md, "Search indexes".
//!
//! tantivy does the inverted index, its segment files and their checksums, and its atomic
//! commits; Ferry adds what it must know about the store: the watermark, saved as each
//! commit's payload, so a reopened index knows which changes it holds. As with the graphs,
//! a query never trusts the index past its watermark: the documents changed or deleted
//! since are kept out of its answer and scored exactly ([`crate::bm25`]) with the index's
//! statistics.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use ferry_store::{DocumentRecord, StoreError, StoreResult};
use tantivy::collector::TopDocs;
use tantivy::directory::MmapDirectory;
use tantivy::query::{BooleanQuery, Occur, Query, TermQuery};
use tantivy::schema::{IndexRecordOption, Value as _};
use tantivy::{Index, IndexReader, IndexWriter, ReloadPolicy, TantivyDocument, Term};

use super::collection::IndexId;
use super::{documents_by_id, persist, read_tail, IndexedSearch, FEED_PAGE};
use crate::bm25::{self, Analyzed, KeywordSchema, QueryWeights};
use crate::search::{KeywordRequest, SearchResult, TopK, VectorSearch};

/// Memory the index writer buffers before it writes a segment.
const WRITER_MEMORY: usize = 64 << 20;

fn keyword_error(e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(format!("keyword index: {e}"))
}

/// One keyword feature of one collection, held by this process.
pub struct KeywordIndex {
    pub id: IndexId,
    fields: KeywordSchema,
    writer: Mutex<IndexWriter>,
    reader: IndexReader,
    watermark: AtomicI64,
    /// Whether it was opened from a save (rather than built from the store).
    pub loaded: bool,
}

impl KeywordIndex {
    /// The index saved in `dir` (when it has a watermark), or a new empty one there; in
    /// memory when `dir` is `None`. A saved index tantivy finds damaged is an error.
    fn open(id: IndexId, dir: Option<&Path>) -> tantivy::Result<Self> {
        let fields = KeywordSchema::new();
        let index = match dir {
            Some(dir) => {
                std::fs::create_dir_all(dir)?;
                let directory = MmapDirectory::open(dir)?;
                Index::open_or_create(directory, fields.schema.clone())?
            }
            None => Index::create_in_ram(fields.schema.clone()),
        };
        index
            .tokenizers()
            .register(bm25::ANALYZER, bm25::analyzer());
        let damaged = index.validate_checksum()?;
        if !damaged.is_empty() {
            return Err(tantivy::TantivyError::InternalError(format!(
                "checksum mismatch in {damaged:?}"
            )));
        }
        let saved_at = index
            .load_metas()?
            .payload
            .and_then(|p| p.parse::<i64>().ok());
        let writer = index.writer_with_num_threads(1, WRITER_MEMORY)?;
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()?;
        Ok(KeywordIndex {
            id,
            fields,
            writer: Mutex::new(writer),
            reader,
            watermark: AtomicI64::new(saved_at.unwrap_or(0)),
            loaded: saved_at.is_some(),
        })
    }

    /// The change up to which the index reflects the store.
    pub fn watermark(&self) -> i64 {
        self.watermark.load(Ordering::Acquire)
    }

    /// Documents the index holds (deleted ones until tantivy merges them away).
    pub fn document_count(&self) -> u64 {
        self.reader.searcher().num_docs()
    }

    /// Applies one step of the change feed; `through`, when given, commits it with the
    /// watermark as the commit's payload and makes it searchable.
    pub fn apply(
        &self,
        deleted: &[String],
        upserted: &[DocumentRecord],
        through: Option<i64>,
    ) -> tantivy::Result<()> {
        let mut writer = self.writer.lock().unwrap_or_else(PoisonError::into_inner);
        let replaced = upserted.iter().map(|d| d.document_id.as_str());
        for id in deleted.iter().map(String::as_str).chain(replaced) {
            writer.delete_term(Term::from_field_text(self.fields.id, id));
        }
        for doc in upserted {
            let mut entry = TantivyDocument::default();
            entry.add_text(self.fields.id, &doc.document_id);
            entry.add_text(self.fields.text, bm25::text_of(doc));
            writer.add_document(entry)?;
        }
        if let Some(through) = through {
            let mut commit = writer.prepare_commit()?;
            commit.set_payload(&through.to_string());
            commit.commit()?;
            self.reader.reload()?;
            self.watermark.store(through, Ordering::Release);
        }
        Ok(())
    }

    /// Each query's best `k` documents by BM25, leaving out `excluded`, and the scores of
    /// the `tail` documents under the same statistics: `(query, tail position, score)`.
    #[allow(clippy::type_complexity)]
    fn rank(
        &self,
        queries: &[String],
        k: usize,
        excluded: &HashSet<String>,
        tail: &[DocumentRecord],
    ) -> tantivy::Result<(Vec<Vec<(String, f64)>>, Vec<(usize, usize, f64)>)> {
        let searcher = self.reader.searcher();
        let mut analyzer = bm25::analyzer();
        let tail: Vec<Analyzed> = tail
            .iter()
            .map(|d| bm25::analyze(&mut analyzer, bm25::text_of(d)))
            .collect();
        let (mut found, mut tail_scores) = (Vec::new(), Vec::new());
        for (i, query) in queries.iter().enumerate() {
            let terms = bm25::query_terms(&mut analyzer, query);
            let Some(weights) = QueryWeights::new(&searcher, self.fields.text, &terms)? else {
                found.push(Vec::new());
                continue;
            };
            for (position, document) in tail.iter().enumerate() {
                let score = weights.score(document);
                if score > 0.0 {
                    tail_scores.push((i, position, score));
                }
            }
            let clauses: Vec<(Occur, Box<dyn Query>)> = terms
                .iter()
                .map(|t| {
                    let term = Term::from_field_text(self.fields.text, t);
                    let query = TermQuery::new(term, IndexRecordOption::WithFreqs);
                    (Occur::Should, Box::new(query) as Box<dyn Query>)
                })
                .collect();
            let limit = k + excluded.len();
            let top = searcher.search(
                &BooleanQuery::new(clauses),
                &TopDocs::with_limit(limit).order_by_score(),
            )?;
            let mut hits = Vec::with_capacity(k);
            for (score, address) in top {
                let entry: TantivyDocument = searcher.doc(address)?;
                let Some(id) = entry.get_first(self.fields.id).and_then(|v| v.as_str()) else {
                    continue;
                };
                if !excluded.contains(id) {
                    hits.push((id.to_owned(), f64::from(score)));
                    if hits.len() == k {
                        break;
                    }
                }
            }
            found.push(hits);
        }
        Ok((found, tail_scores))
    }
}

/// Where a keyword index lives in this process: built once, by the first query that needs
/// it (later ones wait for it).
pub(super) type KeywordSlot = Arc<tokio::sync::OnceCell<Arc<KeywordIndex>>>;

impl IndexedSearch {
    /// The keyword index of `id`, opened or built on first use.
    async fn keyword_index(&self, id: &IndexId) -> StoreResult<Arc<KeywordIndex>> {
        let slot = self.keyword_slots().entry(id.clone()).or_default().clone();
        slot.get_or_try_init(|| self.open_keywords(id.clone()))
            .await
            .cloned()
    }

    fn keyword_dir(&self, id: &IndexId) -> Option<PathBuf> {
        let root = self.inner.config.dir.as_deref()?;
        Some(persist::index_dir(root, id))
    }

    /// The saved index if tantivy accepts it, caught up; otherwise one built from the store.
    async fn open_keywords(&self, id: IndexId) -> StoreResult<Arc<KeywordIndex>> {
        let dir = self.keyword_dir(&id);
        let index = match open_blocking(&id, &dir).await? {
            Ok(index) if index.loaded => Arc::new(index),
            opened => {
                if let Err(e) = &opened {
                    tracing::warn!(collection = %id.collection_id, error = %e,
                        "saved keyword index is unusable; rebuilding");
                    if let Some(dir) = &dir {
                        let _ = std::fs::remove_dir_all(dir);
                    }
                }
                let empty = match opened {
                    Ok(empty) => empty,
                    Err(_) => open_blocking(&id, &dir).await?.map_err(keyword_error)?,
                };
                let empty = Arc::new(empty);
                self.build_keywords(&empty).await?;
                empty
            }
        };
        self.catch_up_keywords(&index).await?;
        Ok(index)
    }

    /// Fills an empty index with every document of the collection, at the change read
    /// before the scan (changes during the scan are replayed by the next catch-up).
    async fn build_keywords(&self, index: &Arc<KeywordIndex>) -> StoreResult<()> {
        let store = &self.inner.store;
        let id = &index.id;
        let start = store
            .collection_change_seq(id.ns, &id.collection_id)
            .await?
            .ok_or_else(|| keyword_error("the collection is gone"))?;
        let mut pages = store.document_pages(id.ns, &id.collection_id, FEED_PAGE);
        while let Some(page) = pages.next().await? {
            apply_keywords(index, Vec::new(), page, None).await?;
        }
        apply_keywords(index, Vec::new(), Vec::new(), Some(start)).await
    }

    /// Brings `index` up to the collection's latest change, as the graphs' catch-up does.
    pub(super) async fn catch_up_keywords(&self, index: &Arc<KeywordIndex>) -> StoreResult<()> {
        let id = &index.id;
        let store = &self.inner.store;
        let through = self.latest_change(id).await?;
        if index.watermark() >= through {
            return Ok(());
        }
        let range = (index.watermark(), through);
        let mut pages = store.change_pages(id.ns, &id.collection_id, range, FEED_PAGE);
        while let Some(page) = pages.next().await? {
            match page {
                ferry_store::ChangePage::Deleted(ids) => {
                    apply_keywords(index, ids, Vec::new(), None).await?
                }
                ferry_store::ChangePage::Written(docs) => {
                    apply_keywords(index, Vec::new(), docs, None).await?
                }
            }
        }
        apply_keywords(index, Vec::new(), Vec::new(), Some(through)).await
    }

    /// BM25 through the keyword index, with the tail scored exactly; the exact scan when
    /// the index cannot be had or the tail is too long to hold.
    pub(super) async fn keyword_search(
        &self,
        request: KeywordRequest<'_>,
    ) -> StoreResult<SearchResult> {
        let id = IndexId {
            ns: request.ns,
            collection_id: request.collection_id.to_owned(),
            vector_name: request.index_name.to_owned(),
        };
        let index = match self.keyword_index(&id).await {
            Ok(index) => index,
            Err(StoreError::NotFound { .. }) => return Ok(SearchResult::default()),
            Err(e) => {
                tracing::warn!(collection = %id.collection_id, error = %e,
                    "keyword index unavailable; scanning");
                return self.inner.exact.keywords(request).await;
            }
        };
        let store = &self.inner.store;
        let Some(through) = store
            .collection_change_seq(request.ns, request.collection_id)
            .await?
        else {
            return Ok(SearchResult::default());
        };
        let range = (index.watermark(), through);
        let Some((tail, deleted)) =
            read_tail(store, request.ns, request.collection_id, range).await?
        else {
            return self.inner.exact.keywords(request).await;
        };
        let mut excluded: HashSet<String> = deleted.into_iter().collect();
        excluded.extend(tail.iter().map(|d| d.document_id.clone()));
        let (queries, k) = (request.queries.to_vec(), request.k);
        let ranked = {
            let index = index.clone();
            tokio::task::spawn_blocking(move || {
                let ranked = index.rank(&queries, k, &excluded, &tail);
                ranked.map(|r| (r, tail))
            })
            .await
            .map_err(keyword_error)?
            .map_err(keyword_error)?
        };
        let ((found, tail_scores), tail) = ranked;
        let ids = found.iter().flatten().map(|(id, _)| id.as_str());
        let by_id = documents_by_id(store, request.ns, request.collection_id, ids).await?;
        let mut top = TopK::scored(request.queries.len(), k);
        for (i, hits) in found.iter().enumerate() {
            for (id, score) in hits {
                if let Some(doc) = by_id.get(id.as_str()) {
                    top.push(i, *score, doc);
                }
            }
        }
        for (i, position, score) in tail_scores {
            top.push(i, score, &tail[position]);
        }
        Ok(SearchResult {
            hits: top.into_hits(),
            scanned: (by_id.len() + tail.len()) as i64,
        })
    }
}

/// [`KeywordIndex::open`] on the blocking pool.
async fn open_blocking(
    id: &IndexId,
    dir: &Option<PathBuf>,
) -> StoreResult<tantivy::Result<KeywordIndex>> {
    let (id, dir) = (id.clone(), dir.clone());
    tokio::task::spawn_blocking(move || KeywordIndex::open(id, dir.as_deref()))
        .await
        .map_err(keyword_error)
}

/// Runs [`KeywordIndex::apply`] on the blocking pool (indexing and commits are CPU and
/// disk work).
async fn apply_keywords(
    index: &Arc<KeywordIndex>,
    deleted: Vec<String>,
    upserted: Vec<DocumentRecord>,
    through: Option<i64>,
) -> StoreResult<()> {
    let index = index.clone();
    tokio::task::spawn_blocking(move || index.apply(&deleted, &upserted, through))
        .await
        .map_err(keyword_error)?
        .map_err(keyword_error)
}
