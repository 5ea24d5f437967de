//! Documents: what collections produce. Each carries named vectors, custom fields at its root,
//! and lineage to the object (and upstream document) it came from.
//!
//! Processing writes documents per *source*: the documents a source object or upstream
//! document produced are replaced as a whole, in the same transaction as the task's progress,
//! so reprocessing never duplicates and a crash never half-applies a batch.

use ferry_wire::ErrorCode;
use serde_json::{Map, Value};
use sqlx::any::AnyRow;
use sqlx::Row;

use crate::changes::{next_change, record_deletions};
use crate::keyset::Keyset;
use crate::listing::{ordered, value_rows, Listing, Rows, SortColumn};
use crate::namespaces::NamespaceKey;
use crate::row::{parse_json, AnyQuery};
use crate::time::now_micros;
use crate::vectors::{self, NamedVectors};
use crate::{Backend, Store, StoreError, StoreResult};

/// Where a document came from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Lineage {
    /// The object the document was extracted from (for tier-2+ collections: the root's).
    pub source_object_id: Option<String>,
    /// The original object at the root of a multi-tier chain.
    pub root_object_id: Option<String>,
    /// The upstream document a tier-2+ collection processed.
    pub source_document_id: Option<String>,
    /// The bucket the root object lives in.
    pub root_bucket_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct DocumentRecord {
    pub document_id: String,
    pub collection_id: String,
    pub lineage: Lineage,
    pub chunk_index: i64,
    pub fields: Map<String, Value>,
    pub vectors: NamedVectors,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct NewDocument {
    pub document_id: String,
    pub lineage: Lineage,
    pub chunk_index: i64,
    pub fields: Map<String, Value>,
    pub vectors: NamedVectors,
}

/// Which upstream items a batch of documents replaces the output of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceKind {
    Object,
    Document,
}

/// Task progress committed with a batch of documents.
#[derive(Debug, Clone)]
pub struct BatchProgress<'a> {
    pub task_id: &'a str,
    pub lease_owner: &'a str,
    pub lease_until: i64,
    pub processed: i64,
    pub failed: i64,
    pub resume_cursor: String,
}

#[derive(Debug, Clone)]
pub struct DocumentListQuery {
    /// `(column, descending)`: `created_at`, `updated_at` or `document_id`.
    pub sort: Option<(SortColumn, bool)>,
    pub source_object_id: Option<String>,
    pub limit: i64,
    pub offset: i64,
}

pub(crate) const COLUMNS: &str = "document_id, collection_id, source_object_id, root_object_id, \
     source_document_id, root_bucket_id, chunk_index, fields, vectors, created_at, updated_at";

pub(crate) fn document_from_row(row: &AnyRow) -> StoreResult<DocumentRecord> {
    document_from_row_offset(row, 0)
}

const DOCUMENTS: Rows<DocumentRecord> = Rows {
    table: "documents",
    columns: COLUMNS,
    from_row: document_from_row,
};

/// [`document_from_row`] for a row whose [`COLUMNS`] start at column `at`.
pub(crate) fn document_from_row_offset(row: &AnyRow, at: usize) -> StoreResult<DocumentRecord> {
    let fields = match parse_json("fields", &row.try_get::<String, _>(at + 7)?)? {
        Value::Object(map) => map,
        other => {
            return Err(StoreError::Corrupt(format!(
                "fields: {other} is not an object"
            )))
        }
    };
    Ok(DocumentRecord {
        document_id: row.try_get(at)?,
        collection_id: row.try_get(at + 1)?,
        lineage: Lineage {
            source_object_id: row.try_get(at + 2)?,
            root_object_id: row.try_get(at + 3)?,
            source_document_id: row.try_get(at + 4)?,
            root_bucket_id: row.try_get(at + 5)?,
        },
        chunk_index: row.try_get(at + 6)?,
        fields,
        vectors: vectors::decode(&row.try_get::<Vec<u8>, _>(at + 8)?)?,
        created_at: row.try_get(at + 9)?,
        updated_at: row.try_get(at + 10)?,
    })
}

/// A keyset scan of one collection's documents.
fn scan(ns: NamespaceKey, collection_id: &str) -> Keyset {
    let scope = Listing::default()
        .eq_int("ns_key", ns.0)
        .eq_text("collection_id", Some(collection_id));
    Keyset::new("documents", "document_id", COLUMNS, scope)
}

fn not_found(identifier: &str) -> StoreError {
    StoreError::NotFound {
        resource: "document",
        id: identifier.to_owned(),
    }
}

const INSERT: &str = "INSERT INTO documents (ns_key, collection_id, document_id, \
     source_object_id, root_object_id, source_document_id, root_bucket_id, chunk_index, fields, \
     vectors, created_at, updated_at, change_seq) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11, $12)";

/// Binds a document's id, its lineage and its chunk index: the columns every document
/// insert writes in this order, after the namespace and the collection.
pub(crate) fn bind_document<'q>(
    query: AnyQuery<'q>,
    document_id: &'q str,
    lineage: &'q Lineage,
    chunk_index: i64,
) -> AnyQuery<'q> {
    query
        .bind(document_id)
        .bind(&lineage.source_object_id)
        .bind(&lineage.root_object_id)
        .bind(&lineage.source_document_id)
        .bind(&lineage.root_bucket_id)
        .bind(chunk_index)
}

/// Rows per multi-row `INSERT`: one statement per 64 documents instead of one per document
/// cuts the per-statement cost that dominates batch writes (8 parameters a row plus 4 shared
/// stay far below either backend's parameter limit).
const INSERT_ROWS_PER_STATEMENT: usize = 64;

/// Inserts `docs` with multi-row `INSERT`s; `$1`–`$4` (namespace, collection, time, change)
/// are shared.
pub(crate) async fn insert_documents(
    conn: &mut sqlx::AnyConnection,
    ns: NamespaceKey,
    collection_id: &str,
    docs: &[NewDocument],
    (now, change): (i64, i64),
) -> Result<(), sqlx::Error> {
    for chunk in docs.chunks(INSERT_ROWS_PER_STATEMENT) {
        let rows = value_rows(chunk.len(), 5, 8, |p| format!("($1, $2, {p}, $3, $3, $4)"));
        let sql = format!(
            "INSERT INTO documents (ns_key, collection_id, document_id, source_object_id, \
             root_object_id, source_document_id, root_bucket_id, chunk_index, fields, vectors, \
             created_at, updated_at, change_seq) VALUES {rows}"
        );
        let mut insert = sqlx::query(&sql)
            .bind(ns.0)
            .bind(collection_id)
            .bind(now)
            .bind(change);
        for doc in chunk {
            insert = bind_document(insert, &doc.document_id, &doc.lineage, doc.chunk_index)
                .bind(Value::Object(doc.fields.clone()).to_string())
                .bind(vectors::encode(&doc.vectors));
        }
        insert.execute(&mut *conn).await?;
    }
    Ok(())
}

async fn insert_document(
    conn: &mut sqlx::AnyConnection,
    ns: NamespaceKey,
    collection_id: &str,
    doc: &NewDocument,
    (now, change): (i64, i64),
) -> Result<(), sqlx::Error> {
    let insert = sqlx::query(INSERT).bind(ns.0).bind(collection_id);
    bind_document(insert, &doc.document_id, &doc.lineage, doc.chunk_index)
        .bind(Value::Object(doc.fields.clone()).to_string())
        .bind(vectors::encode(&doc.vectors))
        .bind(now)
        .bind(change)
        .execute(conn)
        .await?;
    Ok(())
}

pub(crate) async fn adjust_counts(
    conn: &mut sqlx::AnyConnection,
    ns: NamespaceKey,
    collection_id: &str,
    delta: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE collections SET document_count = document_count + $1 \
         WHERE ns_key = $2 AND collection_id = $3",
    )
    .bind(delta)
    .bind(ns.0)
    .bind(collection_id)
    .execute(&mut *conn)
    .await?;
    sqlx::query("UPDATE namespaces SET document_count = document_count + $1 WHERE ns_key = $2")
        .bind(delta)
        .bind(ns.0)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Sources per "delete what these sources made" statement (see `replace_source_documents`):
/// 16 on PostgreSQL, whose planner leaves the index for longer lists without statistics;
/// 500 on SQLite, whose planner takes the index for any list, and where each statement is a
/// round trip to the connection's thread (at 16, a 1,000-document batch made 63 statements:
/// loading 300k documents through `cargo bench --bench retrieve` ran at 22.4k documents/s,
/// against 25.4k at 500).
fn sources_per_delete(conn: &sqlx::AnyConnection) -> usize {
    if conn.backend_name().eq_ignore_ascii_case("sqlite") {
        500
    } else {
        16
    }
}

/// Replaces the documents that `sources` produced in the collection with `docs`, in the
/// caller's transaction, keeping the counts.
pub(crate) async fn replace_source_documents(
    conn: &mut sqlx::AnyConnection,
    ns: NamespaceKey,
    collection_id: &str,
    kind: SourceKind,
    sources: &[String],
    docs: &[NewDocument],
    now: i64,
) -> StoreResult<i64> {
    // A plan that cannot go wrong, whatever the planner's statistics (PostgreSQL's are stale
    // or absent while a collection grows, autovacuum or not). Measured on 100k and 1M rows
    // never analyzed: with `collection_id = $2` the planner takes the (ns_key,
    // collection_id) prefix of another index as nearly unique and reads the whole collection
    // for every statement (75 ms at 100k, 0.9 s at 1M, per statement, from 4 sources up);
    // written so that no index can serve it (`|| ''`), and with at most 16 sources, it
    // probes `documents_by_source_object` (0.1 to 1.3 ms). Upstream documents are looked up
    // by an index that leads with the collection, so there it stays an index condition.
    let (column, collection) = match kind {
        SourceKind::Object => ("source_object_id", "(collection_id || '')"),
        SourceKind::Document => ("source_document_id", "collection_id"),
    };
    let change = next_change(conn, ns, collection_id).await?;
    let mut deleted = Vec::new();
    for chunk in sources.chunks(sources_per_delete(conn)) {
        let placeholders: Vec<String> = (0..chunk.len()).map(|i| format!("${}", i + 3)).collect();
        let sql = format!(
            "DELETE FROM documents WHERE ns_key = $1 AND {collection} = $2 \
             AND {column} IN ({}) RETURNING document_id",
            placeholders.join(", ")
        );
        // Planned at each run, never from the connection's statement cache: PostgreSQL turns a
        // prepared statement's plan generic after five runs and keeps it, and a plan made while
        // the collection was nearly empty read the whole namespace (`documents_by_change` on
        // `ns_key` alone: 150 ms a statement at 78k documents, under `auto_explain`). Planned
        // with its values against the table's current size, it probes the source index.
        let mut delete = sqlx::query(&sql)
            .persistent(false)
            .bind(ns.0)
            .bind(collection_id);
        for id in chunk {
            delete = delete.bind(id);
        }
        for row in delete.fetch_all(&mut *conn).await? {
            deleted.push(row.try_get::<String, _>(0)?);
        }
    }
    record_deletions(conn, ns, collection_id, change, &deleted).await?;
    let deleted = deleted.len() as i64;
    insert_documents(conn, ns, collection_id, docs, (now, change)).await?;
    adjust_counts(conn, ns, collection_id, docs.len() as i64 - deleted).await?;
    Ok(deleted)
}

impl Store {
    /// Writes `docs` as the documents of the objects they name as their source, replacing
    /// what those objects made before: a bulk load, outside any task.
    pub async fn load_object_documents(
        &self,
        ns: NamespaceKey,
        collection_id: &str,
        docs: &[NewDocument],
    ) -> StoreResult<i64> {
        let sources: Vec<String> = docs
            .iter()
            .filter_map(|d| d.lineage.source_object_id.clone())
            .collect();
        self.replace_documents(ns, collection_id, SourceKind::Object, &sources, docs, None)
            .await
    }

    /// Replaces the documents that `sources` produced in the collection with `docs`, and
    /// commits `progress` with them; returns how many documents were replaced (deleted).
    /// Fails with [`StoreError::LeaseLost`] and writes nothing if the task's lease now
    /// belongs to another worker.
    pub async fn replace_documents(
        &self,
        ns: NamespaceKey,
        collection_id: &str,
        kind: SourceKind,
        sources: &[String],
        docs: &[NewDocument],
        progress: Option<BatchProgress<'_>>,
    ) -> StoreResult<i64> {
        let now = now_micros();
        let mut tx = self.pool.begin().await?;
        if let Some(p) = &progress {
            // First statement is a write, so SQLite takes its lock before reading anything.
            let owned = sqlx::query(
                "UPDATE tasks SET processed = processed + $1, failed = failed + $2, \
                 resume_cursor = $3, lease_expires_at = $4, updated_at = $5 \
                 WHERE task_id = $6 AND lease_owner = $7",
            )
            .bind(p.processed)
            .bind(p.failed)
            .bind(&p.resume_cursor)
            .bind(p.lease_until)
            .bind(now)
            .bind(p.task_id)
            .bind(p.lease_owner)
            .execute(&mut *tx)
            .await?;
            if owned.rows_affected() == 0 {
                return Err(StoreError::LeaseLost(format!(
                    "task {} is no longer leased to this worker",
                    p.task_id
                )));
            }
        }
        let replaced =
            replace_source_documents(&mut tx, ns, collection_id, kind, sources, docs, now).await?;
        tx.commit().await?;
        Ok(replaced)
    }

    /// Inserts one document (direct creation), counting it.
    pub async fn create_document(
        &self,
        ns: NamespaceKey,
        collection_id: &str,
        doc: NewDocument,
    ) -> StoreResult<DocumentRecord> {
        let now = now_micros();
        let mut tx = self.pool.begin().await?;
        let change = next_change(&mut tx, ns, collection_id).await?;
        adjust_counts(&mut tx, ns, collection_id, 1).await?;
        match insert_document(&mut tx, ns, collection_id, &doc, (now, change)).await {
            Ok(()) => {}
            Err(e) if crate::error::is_unique_violation(&e) => {
                return Err(StoreError::Conflict {
                    code: ErrorCode::DocumentIdTaken,
                    message: format!("document {} already exists", doc.document_id),
                })
            }
            Err(e) => return Err(e.into()),
        }
        tx.commit().await?;
        self.get_document(ns, collection_id, &doc.document_id).await
    }

    pub async fn get_document(
        &self,
        ns: NamespaceKey,
        collection_id: &str,
        document_id: &str,
    ) -> StoreResult<DocumentRecord> {
        let row = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM documents WHERE ns_key = $1 AND collection_id = $2 \
             AND document_id = $3"
        ))
        .bind(ns.0)
        .bind(collection_id)
        .bind(document_id)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref()
            .map(document_from_row)
            .transpose()?
            .ok_or_else(|| not_found(document_id))
    }

    /// Replaces the document's custom fields (and vectors, when given) with what `change`
    /// makes of them, optimistically.
    pub async fn update_document(
        &self,
        ns: NamespaceKey,
        collection_id: &str,
        document_id: &str,
        mut change: impl FnMut(&mut Map<String, Value>, &mut NamedVectors),
    ) -> StoreResult<DocumentRecord> {
        for _ in 0..crate::named::UPDATE_ATTEMPTS {
            let current = self.get_document(ns, collection_id, document_id).await?;
            let (mut fields, mut vecs) = (current.fields.clone(), current.vectors.clone());
            change(&mut fields, &mut vecs);
            let now = now_micros().max(current.updated_at + 1);
            let mut tx = self.pool.begin().await?;
            let change = next_change(&mut tx, ns, collection_id).await?;
            let updated = sqlx::query(
                "UPDATE documents SET fields = $1, vectors = $2, updated_at = $3, \
                 change_seq = $4 WHERE ns_key = $5 AND collection_id = $6 AND document_id = $7 \
                 AND updated_at = $8",
            )
            .bind(Value::Object(fields).to_string())
            .bind(vectors::encode(&vecs))
            .bind(now)
            .bind(change)
            .bind(ns.0)
            .bind(collection_id)
            .bind(document_id)
            .bind(current.updated_at)
            .execute(&mut *tx)
            .await?;
            if updated.rows_affected() == 1 {
                tx.commit().await?;
                return self.get_document(ns, collection_id, document_id).await;
            }
        }
        Err(crate::named::kept_changing("document"))
    }

    pub async fn delete_document(
        &self,
        ns: NamespaceKey,
        collection_id: &str,
        document_id: &str,
    ) -> StoreResult<DocumentRecord> {
        let mut tx = self.pool.begin().await?;
        let change = next_change(&mut tx, ns, collection_id).await?;
        let row = sqlx::query(&format!(
            "DELETE FROM documents WHERE ns_key = $1 AND collection_id = $2 AND document_id = $3 \
             RETURNING {COLUMNS}"
        ))
        .bind(ns.0)
        .bind(collection_id)
        .bind(document_id)
        .fetch_optional(&mut *tx)
        .await?;
        let document = match row {
            Some(row) => document_from_row(&row)?,
            None => return Err(not_found(document_id)),
        };
        record_deletions(
            &mut tx,
            ns,
            collection_id,
            change,
            std::slice::from_ref(&document.document_id),
        )
        .await?;
        adjust_counts(&mut tx, ns, collection_id, -1).await?;
        tx.commit().await?;
        Ok(document)
    }

    pub async fn list_documents(
        &self,
        ns: NamespaceKey,
        collection_id: &str,
        query: &DocumentListQuery,
    ) -> StoreResult<(Vec<DocumentRecord>, i64)> {
        let listing = Listing::default()
            .eq_int("ns_key", ns.0)
            .eq_text("collection_id", Some(collection_id))
            .eq_text("source_object_id", query.source_object_id.as_deref());
        let order = ordered(query.sort, "document_id");
        listing
            .window(&self.pool, &DOCUMENTS, &order, (query.limit, query.offset))
            .await
    }

    /// The next `limit` documents after `after` (`(created_at, document_id)`), in creation
    /// order: a keyset scan for streaming a collection in bounded memory.
    pub async fn documents_after(
        &self,
        ns: NamespaceKey,
        collection_id: &str,
        after: Option<(i64, &str)>,
        limit: i64,
    ) -> StoreResult<Vec<DocumentRecord>> {
        let rows = scan(ns, collection_id)
            .after(&self.pool, after, limit)
            .await?;
        rows.iter().map(document_from_row).collect()
    }

    /// The collection's documents `limit` at a time, in creation order (see [`DocumentPages`]).
    pub fn document_pages(
        &self,
        ns: NamespaceKey,
        collection_id: &str,
        limit: i64,
    ) -> DocumentPages<'_> {
        DocumentPages {
            store: self,
            ns,
            collection_id: collection_id.to_owned(),
            limit,
            after: None,
            done: false,
        }
    }

    /// `(created_at, document_id)` of the next `limit` documents after `after` created in
    /// `[from, until)`: keys only, for enumerating a collection without reading its vectors.
    pub async fn document_keys_after(
        &self,
        ns: NamespaceKey,
        collection_id: &str,
        after: Option<(i64, &str)>,
        window: (i64, i64),
        limit: i64,
    ) -> StoreResult<Vec<(i64, String)>> {
        scan(ns, collection_id)
            .keys_after(&self.pool, after, window, limit)
            .await
    }

    /// Sets `field` on each listed document to its value: [`Store::merge_document_fields`]
    /// with one field.
    pub async fn set_document_field(
        &self,
        ns: NamespaceKey,
        collection_id: &str,
        field: &str,
        values: &[(String, Value)],
        lease: &crate::tasks::LeaseRenewal<'_>,
    ) -> StoreResult<()> {
        let updates: Vec<(String, Map<String, Value>)> = values
            .iter()
            .map(|(id, value)| {
                (
                    id.clone(),
                    Map::from_iter([(field.to_owned(), value.clone())]),
                )
            })
            .collect();
        self.merge_document_fields(ns, collection_id, &updates, lease)
            .await
    }

    /// Merges each listed document's fields with the given ones (top-level keys replaced),
    /// keeping its other fields, and renews the task's lease in the same transaction (nothing
    /// is written if the lease was lost). A document deleted meanwhile is skipped; one edited
    /// meanwhile is re-read and merged again, so a concurrent edit of another field is never
    /// overwritten.
    pub async fn merge_document_fields(
        &self,
        ns: NamespaceKey,
        collection_id: &str,
        updates: &[(String, Map<String, Value>)],
        lease: &crate::tasks::LeaseRenewal<'_>,
    ) -> StoreResult<()> {
        let now = now_micros();
        let mut tx = self.pool.begin().await?;
        // First statement is a write, so SQLite takes its lock before reading anything.
        crate::tasks::renew_lease(&mut tx, lease).await?;
        let change = next_change(&mut tx, ns, collection_id).await?;
        for (document_id, merged) in updates {
            for attempt in 0..=crate::named::UPDATE_ATTEMPTS {
                let row = sqlx::query(
                    "SELECT fields, updated_at FROM documents WHERE ns_key = $1 \
                     AND collection_id = $2 AND document_id = $3",
                )
                .bind(ns.0)
                .bind(collection_id)
                .bind(document_id)
                .fetch_optional(&mut *tx)
                .await?;
                let Some(row) = row else { break };
                if attempt == crate::named::UPDATE_ATTEMPTS {
                    return Err(StoreError::Conflict {
                        code: ErrorCode::ConcurrentUpdate,
                        message: format!("document {document_id} kept changing"),
                    });
                }
                let mut fields = match parse_json("fields", &row.try_get::<String, _>(0)?)? {
                    Value::Object(map) => map,
                    other => {
                        return Err(StoreError::Corrupt(format!(
                            "fields: {other} is not an object"
                        )))
                    }
                };
                let read_at: i64 = row.try_get(1)?;
                fields.extend(merged.iter().map(|(k, v)| (k.clone(), v.clone())));
                let updated = sqlx::query(
                    "UPDATE documents SET fields = $1, updated_at = $2, change_seq = $3 \
                     WHERE ns_key = $4 AND collection_id = $5 AND document_id = $6 \
                     AND updated_at = $7",
                )
                .bind(Value::Object(fields).to_string())
                .bind(now.max(read_at + 1))
                .bind(change)
                .bind(ns.0)
                .bind(collection_id)
                .bind(document_id)
                .bind(read_at)
                .execute(&mut *tx)
                .await?;
                if updated.rows_affected() == 1 {
                    break;
                }
            }
        }
        tx.commit().await?;
        Ok(())
    }

    /// Refreshes PostgreSQL's planner statistics of `documents`. A trigger fills a collection
    /// from empty inside one task; with statistics from before (autovacuum lags, or is off),
    /// the planner takes the collection for tiny and answers each batch's "delete this
    /// source's documents" with a scan of the whole collection, so throughput falls as the
    /// collection grows. SQLite plans those deletes from the index shape alone: a no-op there.
    pub async fn refresh_document_statistics(&self) -> StoreResult<()> {
        if self.backend == Backend::Postgres {
            sqlx::query("ANALYZE documents").execute(&self.pool).await?;
        }
        Ok(())
    }

    /// How many documents each of `object_ids` produced, across all collections.
    pub async fn document_counts_by_object(
        &self,
        ns: NamespaceKey,
        object_ids: &[&str],
    ) -> StoreResult<std::collections::HashMap<String, i64>> {
        let mut counts = std::collections::HashMap::new();
        for chunk in object_ids.chunks(500) {
            if chunk.is_empty() {
                continue;
            }
            let placeholders: Vec<String> =
                (0..chunk.len()).map(|i| format!("${}", i + 2)).collect();
            let sql = format!(
                "SELECT source_object_id, COUNT(*) FROM documents WHERE ns_key = $1 \
                 AND source_object_id IN ({}) GROUP BY source_object_id",
                placeholders.join(", ")
            );
            let mut query = sqlx::query(&sql).bind(ns.0);
            for id in chunk {
                query = query.bind(*id);
            }
            for row in query.fetch_all(&self.pool).await? {
                counts.insert(row.try_get(0)?, row.try_get(1)?);
            }
        }
        Ok(counts)
    }
}

/// A keyset scan of one collection's documents a page at a time, for streaming it in bounded
/// memory: [`DocumentPages::next`] answers the page after the last one it answered, and `None`
/// once a page came back short (the end was reached).
pub struct DocumentPages<'s> {
    store: &'s Store,
    ns: NamespaceKey,
    collection_id: String,
    limit: i64,
    after: Option<(i64, String)>,
    done: bool,
}

impl DocumentPages<'_> {
    pub async fn next(&mut self) -> StoreResult<Option<Vec<DocumentRecord>>> {
        if self.done {
            return Ok(None);
        }
        let after = self.after.as_ref().map(|(t, id)| (*t, id.as_str()));
        let page = self
            .store
            .documents_after(self.ns, &self.collection_id, after, self.limit)
            .await?;
        self.done = (page.len() as i64) < self.limit;
        let Some(last) = page.last() else {
            return Ok(None);
        };
        self.after = Some((last.created_at, last.document_id.clone()));
        Ok(Some(page))
    }
}
