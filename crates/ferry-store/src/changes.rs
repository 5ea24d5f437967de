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
use crate::{Store, StoreResult};

/// Takes the collection's next change number, in the caller's transaction.
pub(crate) async fn next_change(
    conn: &mut sqlx::AnyConnection,
    ns: NamespaceKey,
    collection_id: &str,
) -> Result<i64, sqlx::Error> {
    let row = sqlx::query(
        "UPDATE collections SET change_seq = change_seq + 1 \
         WHERE ns_key = $1 AND collection_id = $2 RETURNING change_seq",
    )
    .bind(ns.0)
    .bind(collection_id)
    .fetch_optional(&mut *conn)
    .await?;
    // A collection deleted meanwhile has no feed to write to; its documents go with it.
    row.map_or(Ok(0), |r| r.try_get(0))
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

/// A position in a collection's change feed: `(change_seq, document_id)` of the last row read.
type FeedPosition = (i64, String);

/// One page of a collection's change feed.
#[derive(Debug)]
pub enum ChangePage {
    /// Ids of documents deleted in the range.
    Deleted(Vec<String>),
    /// Documents as they are now, written in the range.
    Written(Vec<DocumentRecord>),
}

impl ChangePage {
    pub fn len(&self) -> usize {
        match self {
            ChangePage::Deleted(ids) => ids.len(),
            ChangePage::Written(docs) => docs.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    Deletions,
    Documents,
    Done,
}

/// A collection's change feed over a range, a page at a time: every tombstone first, then
/// every document written, which is the order an index applies them in (see the module doc).
pub struct ChangePages<'a> {
    store: &'a Store,
    ns: NamespaceKey,
    collection_id: String,
    range: (i64, i64),
    limit: i64,
    position: Option<FeedPosition>,
    stage: Stage,
}

impl ChangePages<'_> {
    /// The next page, or `None` once the range is read.
    pub async fn next(&mut self) -> StoreResult<Option<ChangePage>> {
        let (ns, collection, range, limit) = (self.ns, &self.collection_id, self.range, self.limit);
        let (page, last) = match self.stage {
            Stage::Done => return Ok(None),
            Stage::Deletions => {
                let rows = self
                    .store
                    .feed_rows(
                        ("document_deletions", "document_id"),
                        ns,
                        collection,
                        range,
                        self.position.as_ref(),
                        limit,
                    )
                    .await?;
                let rows: Vec<FeedPosition> = rows
                    .iter()
                    .map(|row| Ok((row.try_get(0)?, row.try_get(1)?)))
                    .collect::<StoreResult<_>>()?;
                let last = (rows.len() as i64) < limit;
                self.position = rows.last().cloned();
                (
                    ChangePage::Deleted(rows.into_iter().map(|(_, id)| id).collect()),
                    last,
                )
            }
            Stage::Documents => {
                let rows = self
                    .store
                    .feed_rows(
                        ("documents", COLUMNS),
                        ns,
                        collection,
                        range,
                        self.position.as_ref(),
                        limit,
                    )
                    .await?;
                let rows: Vec<(i64, DocumentRecord)> = rows
                    .iter()
                    .map(|row| Ok((row.try_get(0)?, document_from_row_offset(row, 1)?)))
                    .collect::<StoreResult<_>>()?;
                let last = (rows.len() as i64) < limit;
                self.position = rows.last().map(|(seq, d)| (*seq, d.document_id.clone()));
                (
                    ChangePage::Written(rows.into_iter().map(|(_, d)| d).collect()),
                    last,
                )
            }
        };
        if last {
            self.position = None;
            self.stage = match self.stage {
                Stage::Deletions => Stage::Documents,
                _ => Stage::Done,
            };
        }
        Ok(Some(page))
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
        ChangePages {
            store: self,
            ns,
            collection_id: collection_id.to_owned(),
            range,
            limit,
            position: None,
            stage: if range.0 < range.1 {
                Stage::Deletions
            } else {
                Stage::Done
            },
        }
    }

    /// Up to `limit` rows of `columns` from `table` (`documents` or `document_deletions`)
    /// stamped in `(after, through]`, in feed order, starting past `position` when given.
    #[allow(clippy::too_many_arguments)]
    async fn feed_rows(
        &self,
        (table, columns): (&str, &str),
        ns: NamespaceKey,
        collection_id: &str,
        (after, through): (i64, i64),
        position: Option<&FeedPosition>,
        limit: i64,
    ) -> StoreResult<Vec<AnyRow>> {
        let (from_seq, from_id) = position
            .map(|(s, id)| (*s, id.as_str()))
            .unwrap_or((after, ""));
        Ok(sqlx::query(&format!(
            "SELECT change_seq, {columns} FROM {table} WHERE ns_key = $1 AND collection_id = $2 \
             AND change_seq > $3 AND change_seq <= $4 AND (change_seq, document_id) > ($5, $6) \
             ORDER BY change_seq, document_id LIMIT $7"
        ))
        .bind(ns.0)
        .bind(collection_id)
        .bind(after)
        .bind(through)
        .bind(from_seq)
        .bind(from_id)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?)
    }

    /// The listed documents of one collection that exist, each with the change that last
    /// wrote it, in no particular order.
    pub async fn documents_by_ids(
        &self,
        ns: NamespaceKey,
        collection_id: &str,
        document_ids: &[&str],
    ) -> StoreResult<Vec<(i64, DocumentRecord)>> {
        let mut found = Vec::with_capacity(document_ids.len());
        for chunk in document_ids.chunks(500) {
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
