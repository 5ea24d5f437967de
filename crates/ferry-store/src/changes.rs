//! The change feed of a collection's documents: what a process-local search index reads to
//! catch up with the store (see docs/ARCHITECTURE.md, "Search indexes").
//!
//! Every transaction that writes documents first takes the collection's next `change_seq`
//! ([`next_change`]). That statement locks the collection's row until the transaction ends,
//! so writers of one collection commit in sequence order, and a reader that sees change `s`
//! also sees every change before it. The transaction stamps the rows it inserts or updates
//! with `s` and leaves a tombstone (`document_deletions`) for each row it deletes. An index
//! at watermark `w` is brought to `s` by deleting the tombstones in `(w, s]` and upserting the
//! documents stamped in `(w, s]`; both steps are idempotent, so replaying a range is harmless.

use sqlx::any::AnyRow;
use sqlx::Row;

use crate::documents::{document_from_row_offset, DocumentRecord, COLUMNS};
use crate::listing::value_rows;
use crate::namespaces::NamespaceKey;
use crate::objects::{object_from_row_offset, ObjectRecord, COLUMNS as OBJECT_COLUMNS};
use crate::{Store, StoreResult};

/// Takes the collection's next change number, in the caller's transaction, and checks the
/// collection's write freeze (see [`crate::freeze`]).
pub(crate) async fn next_change(
    conn: &mut sqlx::AnyConnection,
    ns: NamespaceKey,
    collection_id: &str,
) -> StoreResult<i64> {
    let row = sqlx::query(
        "UPDATE collections SET change_seq = change_seq + 1 \
         WHERE ns_key = $1 AND collection_id = $2 RETURNING change_seq, frozen_until",
    )
    .bind(ns.0)
    .bind(collection_id)
    .fetch_optional(&mut *conn)
    .await?;
    // A collection deleted meanwhile has no feed to write to; its documents go with it.
    let Some(row) = row else { return Ok(0) };
    crate::freeze::check(|| format!("collection {collection_id}"), row.try_get(1)?)?;
    Ok(row.try_get(0)?)
}

/// Leaves a tombstone for each deleted document, in the caller's transaction.
pub(crate) async fn record_deletions(
    conn: &mut sqlx::AnyConnection,
    ns: NamespaceKey,
    collection_id: &str,
    change: i64,
    document_ids: &[String],
) -> Result<(), sqlx::Error> {
    for chunk in document_ids.chunks(256) {
        let rows = value_rows(chunk.len(), 4, 1, |p| format!("($1, $2, $3, {p})"));
        let sql = format!(
            "INSERT INTO document_deletions (ns_key, collection_id, change_seq, document_id) \
             VALUES {rows} ON CONFLICT DO NOTHING"
        );
        let mut insert = sqlx::query(&sql)
            .bind(ns.0)
            .bind(collection_id)
            .bind(change);
        for id in chunk {
            insert = insert.bind(id);
        }
        insert.execute(&mut *conn).await?;
    }
    Ok(())
}

/// Leaves a tombstone for each deleted object, in the caller's transaction.
pub(crate) async fn record_object_deletions(
    conn: &mut sqlx::AnyConnection,
    ns: NamespaceKey,
    bucket_id: &str,
    change: i64,
    object_ids: &[String],
) -> Result<(), sqlx::Error> {
    for chunk in object_ids.chunks(256) {
        let rows = value_rows(chunk.len(), 4, 1, |p| format!("($1, $2, $3, {p})"));
        let sql = format!(
            "INSERT INTO object_deletions (ns_key, bucket_id, change_seq, object_id) \
             VALUES {rows} ON CONFLICT DO NOTHING"
        );
        let mut insert = sqlx::query(&sql).bind(ns.0).bind(bucket_id).bind(change);
        for id in chunk {
            insert = insert.bind(id);
        }
        insert.execute(&mut *conn).await?;
    }
    Ok(())
}

/// A position in a change feed: `(change_seq, id)` of the last row read.
type FeedPosition = (i64, String);

/// One page of a change feed: of a collection's documents ([`ChangePage`]) or of a bucket's
/// objects ([`ObjectChangePage`]).
#[derive(Debug)]
pub enum FeedPage<R> {
    /// Ids of the items deleted in the range.
    Deleted(Vec<String>),
    /// The items as they are now, written in the range.
    Written(Vec<R>),
}

pub type ChangePage = FeedPage<DocumentRecord>;
pub type ObjectChangePage = FeedPage<ObjectRecord>;

impl<R> FeedPage<R> {
    pub fn len(&self) -> usize {
        match self {
            FeedPage::Deleted(ids) => ids.len(),
            FeedPage::Written(rows) => rows.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The tables of one kind of feed, and how its rows read.
pub trait Feed {
    type Row;
    const ROWS: &'static str;
    const TOMBSTONES: &'static str;
    /// The column naming the bucket or collection the feed belongs to.
    const SCOPE: &'static str;
    const ID: &'static str;
    const COLUMNS: &'static str;
    /// The row, from the columns after `change_seq`; and its id.
    fn read(row: &AnyRow) -> StoreResult<Self::Row>;
    fn id(row: &Self::Row) -> &str;
}

/// A collection's documents.
pub struct Documents;

impl Feed for Documents {
    type Row = DocumentRecord;
    const ROWS: &'static str = "documents";
    const TOMBSTONES: &'static str = "document_deletions";
    const SCOPE: &'static str = "collection_id";
    const ID: &'static str = "document_id";
    const COLUMNS: &'static str = COLUMNS;
    fn read(row: &AnyRow) -> StoreResult<DocumentRecord> {
        document_from_row_offset(row, 1)
    }
    fn id(row: &DocumentRecord) -> &str {
        &row.document_id
    }
}

/// A bucket's objects.
pub struct Objects;

impl Feed for Objects {
    type Row = ObjectRecord;
    const ROWS: &'static str = "objects";
    const TOMBSTONES: &'static str = "object_deletions";
    const SCOPE: &'static str = "bucket_id";
    const ID: &'static str = "object_id";
    const COLUMNS: &'static str = OBJECT_COLUMNS;
    fn read(row: &AnyRow) -> StoreResult<ObjectRecord> {
        object_from_row_offset(row, 1)
    }
    fn id(row: &ObjectRecord) -> &str {
        &row.object_id
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    Deletions,
    Rows,
    Done,
}

/// A change feed over a range, a page at a time: every tombstone first, then every item
/// written, which is the order a reader applies them in (see the module doc).
pub struct ChangePages<'a, F: Feed = Documents> {
    store: &'a Store,
    ns: NamespaceKey,
    scope_id: String,
    range: (i64, i64),
    limit: i64,
    position: Option<FeedPosition>,
    stage: Stage,
    feed: std::marker::PhantomData<F>,
}

impl<F: Feed> ChangePages<'_, F> {
    /// The next page, or `None` once the range is read.
    pub async fn next(&mut self) -> StoreResult<Option<FeedPage<F::Row>>> {
        let (page, last) = match self.stage {
            Stage::Done => return Ok(None),
            Stage::Deletions => {
                let rows = self.rows(F::TOMBSTONES, F::ID).await?;
                let rows: Vec<FeedPosition> = rows
                    .iter()
                    .map(|row| Ok((row.try_get(0)?, row.try_get(1)?)))
                    .collect::<StoreResult<_>>()?;
                let last = (rows.len() as i64) < self.limit;
                self.position = rows.last().cloned();
                (
                    FeedPage::Deleted(rows.into_iter().map(|(_, id)| id).collect()),
                    last,
                )
            }
            Stage::Rows => {
                let rows = self.rows(F::ROWS, F::COLUMNS).await?;
                let rows: Vec<(i64, F::Row)> = rows
                    .iter()
                    .map(|row| Ok((row.try_get(0)?, F::read(row)?)))
                    .collect::<StoreResult<_>>()?;
                let last = (rows.len() as i64) < self.limit;
                self.position = rows.last().map(|(seq, r)| (*seq, F::id(r).to_owned()));
                (
                    FeedPage::Written(rows.into_iter().map(|(_, r)| r).collect()),
                    last,
                )
            }
        };
        if last {
            self.position = None;
            self.stage = match self.stage {
                Stage::Deletions => Stage::Rows,
                _ => Stage::Done,
            };
        }
        Ok(Some(page))
    }

    /// Up to `limit` rows of `columns` from `table` (the feed's items or its tombstones)
    /// stamped in the range, in feed order, starting past the position.
    async fn rows(&self, table: &str, columns: &str) -> StoreResult<Vec<AnyRow>> {
        let (after, through) = self.range;
        let (from_seq, from_id) = self
            .position
            .as_ref()
            .map(|(s, id)| (*s, id.as_str()))
            .unwrap_or((after, ""));
        let (scope, id) = (F::SCOPE, F::ID);
        Ok(sqlx::query(&format!(
            "SELECT change_seq, {columns} FROM {table} WHERE ns_key = $1 AND {scope} = $2 \
             AND change_seq > $3 AND change_seq <= $4 AND (change_seq, {id}) > ($5, $6) \
             ORDER BY change_seq, {id} LIMIT $7"
        ))
        .bind(self.ns.0)
        .bind(&self.scope_id)
        .bind(after)
        .bind(through)
        .bind(from_seq)
        .bind(from_id)
        .bind(self.limit)
        .fetch_all(&self.store.pool)
        .await?)
    }
}

impl Store {
    /// The collection's latest change number (0 before its first write); `None` if the
    /// collection is gone.
    pub async fn collection_change_seq(
        &self,
        ns: NamespaceKey,
        collection_id: &str,
    ) -> StoreResult<Option<i64>> {
        let row = sqlx::query(
            "SELECT change_seq FROM collections WHERE ns_key = $1 AND collection_id = $2",
        )
        .bind(ns.0)
        .bind(collection_id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|r| r.try_get(0)).transpose()?)
    }

    /// The collection's change feed in `(after, through]`, `limit` rows at a time (see
    /// [`ChangePages`]).
    pub fn change_pages(
        &self,
        ns: NamespaceKey,
        collection_id: &str,
        range: (i64, i64),
        limit: i64,
    ) -> ChangePages<'_> {
        self.feed_pages(ns, collection_id, range, limit)
    }

    /// Those of `ids` that no longer exist in the bucket's or collection's feed of kind `F`
    /// (a tombstone whose item was written again later is not a deletion any more).
    ///
    /// One lookup per id, each matching a whole index: a list of ids in one statement let
    /// PostgreSQL, without statistics, read the whole collection instead (0.4 s at 1M rows).
    pub async fn absent_ids<F: Feed>(
        &self,
        ns: NamespaceKey,
        scope_id: &str,
        ids: Vec<String>,
    ) -> StoreResult<Vec<String>> {
        let sql = format!(
            "SELECT {id} FROM {rows} WHERE ns_key = $1 AND {scope} = $2 AND {id} = $3",
            id = F::ID,
            rows = F::ROWS,
            scope = F::SCOPE,
        );
        let mut absent = Vec::new();
        for id in ids {
            let found: Option<String> = sqlx::query_scalar(&sql)
                .bind(ns.0)
                .bind(scope_id)
                .bind(&id)
                .fetch_optional(&self.pool)
                .await?;
            if found.is_none() {
                absent.push(id);
            }
        }
        Ok(absent)
    }

    /// The bucket's or collection's change feed of kind `F` in `(after, through]`, `limit`
    /// rows at a time.
    pub fn feed_pages<F: Feed>(
        &self,
        ns: NamespaceKey,
        scope_id: &str,
        range: (i64, i64),
        limit: i64,
    ) -> ChangePages<'_, F> {
        ChangePages {
            store: self,
            ns,
            scope_id: scope_id.to_owned(),
            range,
            limit,
            position: None,
            stage: if range.0 < range.1 {
                Stage::Deletions
            } else {
                Stage::Done
            },
            feed: std::marker::PhantomData,
        }
    }

    /// The listed documents of one collection that exist, each with the change that last
    /// wrote it, in no particular order.
    ///
    /// On PostgreSQL one lookup per id, each on the whole primary key: a list of ids in one
    /// statement let the planner, without statistics, read the whole collection through the
    /// `(ns_key, collection_id)` prefix of another index (0.4 s at 1M rows, for every
    /// indexed search). SQLite's planner takes the primary key for the list.
    pub async fn documents_by_ids(
        &self,
        ns: NamespaceKey,
        collection_id: &str,
        document_ids: &[&str],
    ) -> StoreResult<Vec<(i64, DocumentRecord)>> {
        let mut found = Vec::with_capacity(document_ids.len());
        let per_statement = match self.backend {
            crate::Backend::Postgres => 1,
            crate::Backend::Sqlite => 500,
        };
        for chunk in document_ids.chunks(per_statement) {
            let placeholders: Vec<String> =
                (0..chunk.len()).map(|i| format!("${}", i + 3)).collect();
            let sql = format!(
                "SELECT change_seq, {COLUMNS} FROM documents WHERE ns_key = $1 \
                 AND collection_id = $2 AND document_id IN ({})",
                placeholders.join(", ")
            );
            let mut query = sqlx::query(&sql).bind(ns.0).bind(collection_id);
            for id in chunk {
                query = query.bind(*id);
            }
            for row in query.fetch_all(&self.pool).await? {
                found.push((row.try_get(0)?, document_from_row_offset(&row, 1)?));
            }
        }
        Ok(found)
    }
}
