//! The writes of a batch: copied objects, documents copied by the database, extracted
//! documents, and an extend's deletions, each committed with the batch's done mark.

use serde_json::Value;
use sqlx::Row;

use super::batches::{mark_batch_done, BatchDone};
use super::ItemIds;
use crate::changes::{next_change, record_deletions, record_object_deletions};
use crate::documents::{bind_document, DocumentRecord, NewDocument, SourceKind};
use crate::freeze::lock_bucket;
use crate::listing::value_rows;
use crate::namespaces::NamespaceKey;
use crate::objects::{adjust_object_counts, ObjectRecord};
use crate::row::AnyQuery;
use crate::time::now_micros;
use crate::{vectors, Store, StoreError, StoreResult};

/// Rows per multi-row copy `INSERT` (12 parameters a row, far below either backend's limit).
const COPY_ROWS_PER_STATEMENT: usize = 64;

impl Store {
    /// Writes copied objects into the target bucket and marks the batch done, in one
    /// transaction. Ids already in the target are skipped, or, with `refresh_changed`,
    /// overwritten when the source's copy is newer and differs. Returns how many objects
    /// were written.
    pub async fn copy_objects_batch(
        &self,
        target: NamespaceKey,
        bucket_id: &str,
        objects: &[ObjectRecord],
        refresh_changed: bool,
        done: &BatchDone<'_>,
    ) -> StoreResult<i64> {
        let mut tx = self.pool.begin().await?;
        let change = lock_bucket(&mut tx, target, bucket_id, None)
            .await?
            .ok_or_else(|| StoreError::NotFound {
                resource: "bucket",
                id: bucket_id.to_owned(),
            })?;
        let (mut created, mut refreshed, mut bytes) = (0i64, 0i64, 0i64);
        let mut inserted = std::collections::HashSet::new();
        for chunk in objects.chunks(COPY_ROWS_PER_STATEMENT) {
            let rows = value_rows(chunk.len(), 4, 10, |p| format!("($1, $2, $3, {p})"));
            let sql = format!(
                "INSERT INTO objects (ns_key, bucket_id, change_seq, object_id, key_prefix, \
                 blobs, fields, size_bytes, status, error, document_count, created_at, \
                 updated_at) \
                 VALUES {rows} ON CONFLICT (ns_key, object_id) DO NOTHING \
                 RETURNING object_id, size_bytes"
            );
            let mut insert = sqlx::query(&sql)
                .bind(target.0)
                .bind(bucket_id)
                .bind(change);
            for object in chunk {
                insert = insert
                    .bind(&object.object_id)
                    .bind(&object.key_prefix)
                    .bind(object.blobs.to_string())
                    .bind(Value::Object(object.fields.clone()).to_string())
                    .bind(object.size_bytes)
                    .bind(&object.status)
                    .bind(&object.error)
                    .bind(object.document_count)
                    .bind(object.created_at)
                    .bind(object.updated_at);
            }
            for row in insert.fetch_all(&mut *tx).await? {
                let id: String = row.try_get(0)?;
                bytes += row.try_get::<i64, _>(1)?;
                created += 1;
                inserted.insert(id);
            }
        }
        for object in objects {
            if !refresh_changed || inserted.contains(&object.object_id) {
                continue;
            }
            let fields = Value::Object(object.fields.clone()).to_string();
            let held: Option<i64> = sqlx::query_scalar(
                "SELECT size_bytes FROM objects WHERE ns_key = $1 AND bucket_id = $2 \
                 AND object_id = $3 AND updated_at < $4 AND (fields <> $5 OR blobs <> $6)",
            )
            .bind(target.0)
            .bind(bucket_id)
            .bind(&object.object_id)
            .bind(object.updated_at)
            .bind(&fields)
            .bind(object.blobs.to_string())
            .fetch_optional(&mut *tx)
            .await?;
            let Some(old_size) = held else { continue };
            sqlx::query(
                "UPDATE objects SET key_prefix = $1, blobs = $2, fields = $3, size_bytes = $4, \
                 status = $5, error = $6, updated_at = $7, change_seq = $8 \
                 WHERE ns_key = $9 AND bucket_id = $10 AND object_id = $11",
            )
            .bind(&object.key_prefix)
            .bind(object.blobs.to_string())
            .bind(&fields)
            .bind(object.size_bytes)
            .bind(&object.status)
            .bind(&object.error)
            .bind(object.updated_at)
            .bind(change)
            .bind(target.0)
            .bind(bucket_id)
            .bind(&object.object_id)
            .execute(&mut *tx)
            .await?;
            refreshed += 1;
            bytes += object.size_bytes - old_size;
        }
        adjust_object_counts(&mut tx, target, bucket_id, created, bytes).await?;
        commit_copy(tx, done, created + refreshed).await
    }

    /// Copies the documents of one batch range of `(after, last]` from the source collection
    /// into the target collection and marks the batch done, in one transaction. Ids already
    /// in the target are skipped, or, with `refresh_changed`, overwritten when the source's
    /// row is newer (`updated_at`) and differs. Returns how many documents were written.
    ///
    /// Rows are copied by the database itself (`INSERT … SELECT`), with ids and lineage
    /// remapped in SQL by [`ItemIds`], so vectors and fields never travel through this process.
    /// Rows whose fields match one of `rewrite_when` (SQL `LIKE` patterns, e.g. documents that
    /// carry taxonomy results naming other documents) are read, passed through `rewrite`, and
    /// written back instead.
    #[allow(clippy::too_many_arguments)]
    pub async fn copy_documents_range(
        &self,
        source: (NamespaceKey, &str),
        target: (NamespaceKey, &str),
        range: (Option<(i64, &str)>, (i64, &str)),
        ids: &ItemIds,
        root_buckets: &[(String, String)],
        rewrite_when: &[&str],
        rewrite: impl Fn(DocumentRecord) -> DocumentRecord,
        refresh_changed: bool,
        done: &BatchDone<'_>,
    ) -> StoreResult<i64> {
        let (after, last) = range;
        let (after_created, after_id) = after.unwrap_or((i64::MIN, ""));
        let mut tx = self.pool.begin().await?;
        let change = next_change(&mut tx, target.0, target.1).await?;
        let params = RangeParams {
            target,
            source,
            after: (after_created, after_id),
            last,
            change,
            ids,
            patterns: rewrite_when,
        };
        // Parameters are numbered as `RangeParams` binds them, then the bucket pairs.
        // PostgreSQL refuses unused parameters, so each is numbered only when the statement
        // uses it.
        let id = |column: &str| ids.sql(self.backend, column, "$10");
        let mut next = if ids.tag.is_some() { 11 } else { 10 };
        let patterns: Vec<String> = rewrite_when
            .iter()
            .map(|_| {
                next += 1;
                format!("fields LIKE ${}", next - 1)
            })
            .collect();
        let excluded = |table: &str| {
            if patterns.is_empty() {
                String::new()
            } else {
                let qualified: Vec<String> =
                    patterns.iter().map(|p| format!("{table}{p}")).collect();
                format!("AND NOT ({})", qualified.join(" OR "))
            }
        };
        let mut refreshed = 0i64;
        if refresh_changed {
            // Rows the target holds from an earlier run whose source row was rewritten since
            // with different content (a re-trigger rewrites rows unchanged: those stay).
            let sql = format!(
                "UPDATE documents AS t SET fields = s.fields, vectors = s.vectors, \
                 chunk_index = s.chunk_index, updated_at = s.updated_at, change_seq = $9 \
                 FROM documents AS s \
                 WHERE t.ns_key = $1 AND t.collection_id = $2 AND s.ns_key = $3 \
                 AND s.collection_id = $4 AND (s.created_at, s.document_id) > ($5, $6) \
                 AND (s.created_at, s.document_id) <= ($7, $8) AND t.document_id = {} \
                 AND t.updated_at < s.updated_at AND (t.fields <> s.fields OR t.vectors <> s.vectors) \
                 {}",
                ids.sql(self.backend, "s.document_id", "$10"),
                excluded("s."),
            );
            let update = params.bind(&sql);
            refreshed += update.execute(&mut *tx).await?.rows_affected() as i64;
        }
        let bucket_cases: Vec<String> = root_buckets
            .iter()
            .map(|_| {
                next += 2;
                format!("WHEN ${} THEN ${}", next - 2, next - 1)
            })
            .collect();
        let root_bucket = if bucket_cases.is_empty() {
            "root_bucket_id".to_owned()
        } else {
            format!(
                "CASE root_bucket_id {} ELSE root_bucket_id END",
                bucket_cases.join(" ")
            )
        };
        let sql = format!(
            "INSERT INTO documents (ns_key, collection_id, document_id, source_object_id, \
             root_object_id, source_document_id, root_bucket_id, chunk_index, fields, vectors, \
             created_at, updated_at, change_seq) \
             SELECT $1, $2, {}, {}, {}, {}, {root_bucket}, chunk_index, fields, vectors, \
             created_at, updated_at, $9 FROM documents WHERE ns_key = $3 AND collection_id = $4 \
             AND (created_at, document_id) > ($5, $6) AND (created_at, document_id) <= ($7, $8) \
             {} ON CONFLICT (ns_key, collection_id, document_id) DO NOTHING",
            id("document_id"),
            id("source_object_id"),
            id("root_object_id"),
            id("source_document_id"),
            excluded(""),
        );
        let mut copy = params.bind(&sql);
        for (from, to) in root_buckets {
            copy = copy.bind(from).bind(to);
        }
        let mut created = copy.execute(&mut *tx).await?.rows_affected() as i64;
        if !patterns.is_empty() {
            let select = format!(
                "SELECT {} FROM documents WHERE ns_key = $1 AND collection_id = $2 \
                 AND (created_at, document_id) > ($3, $4) \
                 AND (created_at, document_id) <= ($5, $6) AND ({})",
                crate::documents::COLUMNS,
                patterns
                    .iter()
                    .enumerate()
                    .map(|(i, _)| format!("fields LIKE ${}", 7 + i))
                    .collect::<Vec<_>>()
                    .join(" OR ")
            );
            let mut rows = sqlx::query(&select)
                .bind(source.0 .0)
                .bind(source.1)
                .bind(after_created)
                .bind(after_id)
                .bind(last.0)
                .bind(last.1);
            for pattern in rewrite_when {
                rows = rows.bind(*pattern);
            }
            let documents = rows
                .fetch_all(&mut *tx)
                .await?
                .iter()
                .map(crate::documents::document_from_row)
                .map(|d| d.map(&rewrite))
                .collect::<StoreResult<Vec<_>>>()?;
            let (new, changed) =
                insert_copied_documents(&mut tx, target, change, &documents, refresh_changed)
                    .await?;
            created += new;
            refreshed += changed;
        }
        crate::documents::adjust_counts(&mut tx, target.0, target.1, created).await?;
        commit_copy(tx, done, created + refreshed).await
    }

    /// Writes the documents an extraction batch made into the target collection (replacing
    /// what the same source items made before) and marks the batch done, in one transaction.
    #[allow(clippy::too_many_arguments)]
    pub async fn write_extracted_batch(
        &self,
        target: NamespaceKey,
        collection_id: &str,
        kind: SourceKind,
        sources: &[String],
        docs: &[NewDocument],
        done: &BatchDone<'_>,
    ) -> StoreResult<()> {
        let mut tx = self.pool.begin().await?;
        // The done mark first: a write, so SQLite takes its lock before anything is read.
        mark_batch_done(&mut tx, done).await?;
        crate::documents::replace_source_documents(
            &mut tx,
            target,
            collection_id,
            kind,
            sources,
            docs,
            now_micros(),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Items of a target bucket (`SourceKind::Object`) or collection (`Document`) that a
    /// migration copied there with ids tagged `tag` (see [`ItemIds`]) and whose source item
    /// no longer exists: how many, and up to `sample` of their target ids. With `apply` they
    /// are deleted (counters kept) in the same transaction.
    pub async fn items_gone_from_source(
        &self,
        kind: SourceKind,
        source: (NamespaceKey, &str),
        target: (NamespaceKey, &str),
        tag: &str,
        apply: bool,
        sample: i64,
    ) -> StoreResult<(i64, Vec<String>)> {
        let (table, id, parent) = match kind {
            SourceKind::Object => ("objects", "object_id", "bucket_id"),
            SourceKind::Document => ("documents", "document_id", "collection_id"),
        };
        // `<prefix>_<tag><rest>` (or `<tag><id>` without a prefix) back to the source id;
        // the tag is hex, so its length is a safe literal.
        let position = format!("{}(t.{id}, '_')", self.backend.position_fn());
        let len = tag.len();
        let gone = format!(
            "FROM {table} t WHERE t.ns_key = $1 AND t.{parent} = $2 \
             AND substr(t.{id}, {position} + 1, {len}) = $5 AND NOT EXISTS (\
             SELECT 1 FROM {table} s WHERE s.ns_key = $3 AND s.{parent} = $4 \
             AND s.{id} = substr(t.{id}, 1, {position}) || substr(t.{id}, {position} + 1 + {len}))"
        );
        fn bind<'q>(
            sql: &'q str,
            (target, source, tag): ((NamespaceKey, &'q str), (NamespaceKey, &'q str), &'q str),
        ) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>> {
            sqlx::query(sql)
                .bind(target.0 .0)
                .bind(target.1)
                .bind(source.0 .0)
                .bind(source.1)
                .bind(tag)
        }
        let keys = (target, source, tag);
        let mut tx = self.pool.begin().await?;
        // A write first, so SQLite takes its lock before the reads below: for documents the
        // change number (the collection's row before the namespace's, as every document
        // write locks them).
        let mut change = 0;
        if apply && kind == SourceKind::Document {
            change = next_change(&mut tx, target.0, target.1).await?;
        } else if apply {
            change = lock_bucket(&mut tx, target.0, target.1, None)
                .await?
                .unwrap_or(0);
        }
        let sum = if kind == SourceKind::Object {
            "t.size_bytes"
        } else {
            "0"
        };
        let totals_sql = format!("SELECT COUNT(*), CAST(COALESCE(SUM({sum}), 0) AS BIGINT) {gone}");
        let totals = bind(&totals_sql, keys).fetch_one(&mut *tx).await?;
        let (count, bytes): (i64, i64) = (totals.try_get(0)?, totals.try_get(1)?);
        let sample_sql = format!("SELECT t.{id} {gone} ORDER BY t.{id} LIMIT {sample}");
        let ids: Vec<String> = bind(&sample_sql, keys)
            .fetch_all(&mut *tx)
            .await?
            .iter()
            .map(|r| r.try_get(0))
            .collect::<Result<_, _>>()?;
        if apply && count > 0 {
            let delete_sql = format!(
                "DELETE FROM {table} WHERE ns_key = $1 AND {parent} = $2 AND {id} IN \
                 (SELECT t.{id} {gone}) RETURNING {id}"
            );
            let deleted_ids: Vec<String> = bind(&delete_sql, keys)
                .fetch_all(&mut *tx)
                .await?
                .iter()
                .map(|r| r.try_get(0))
                .collect::<Result<_, _>>()?;
            let deleted = deleted_ids.len() as i64;
            match kind {
                SourceKind::Document => {
                    record_deletions(&mut tx, target.0, target.1, change, &deleted_ids).await?
                }
                SourceKind::Object => {
                    record_object_deletions(&mut tx, target.0, target.1, change, &deleted_ids)
                        .await?
                }
            }
            match kind {
                SourceKind::Object => {
                    adjust_object_counts(&mut tx, target.0, target.1, -deleted, -bytes).await?
                }
                SourceKind::Document => {
                    crate::documents::adjust_counts(&mut tx, target.0, target.1, -deleted).await?
                }
            }
        }
        tx.commit().await?;
        Ok((count, ids))
    }
}

/// Marks a copy batch done with the `written` items it counted, and commits its transaction;
/// returns `written`.
async fn commit_copy(
    mut tx: sqlx::Transaction<'static, sqlx::Any>,
    done: &BatchDone<'_>,
    written: i64,
) -> StoreResult<i64> {
    let done = BatchDone {
        items_written: written,
        ..*done
    };
    mark_batch_done(&mut tx, &done).await?;
    tx.commit().await?;
    Ok(written)
}

/// Inserts copied documents (keeping their timestamps), skipping ids already present, or
/// with `refresh_changed` overwriting those the target holds in an older version; returns
/// how many were new and how many were overwritten.
async fn insert_copied_documents(
    conn: &mut sqlx::AnyConnection,
    (target, collection_id): (NamespaceKey, &str),
    change: i64,
    documents: &[DocumentRecord],
    refresh_changed: bool,
) -> StoreResult<(i64, i64)> {
    let mut refreshed = 0i64;
    if refresh_changed {
        for doc in documents {
            refreshed += sqlx::query(
                "UPDATE documents SET fields = $1, vectors = $2, chunk_index = $3, \
                 updated_at = $4, change_seq = $8 WHERE ns_key = $5 AND collection_id = $6 \
                 AND document_id = $7 AND updated_at < $4 AND (fields <> $1 OR vectors <> $2)",
            )
            .bind(Value::Object(doc.fields.clone()).to_string())
            .bind(vectors::encode(&doc.vectors))
            .bind(doc.chunk_index)
            .bind(doc.updated_at)
            .bind(target.0)
            .bind(collection_id)
            .bind(&doc.document_id)
            .bind(change)
            .execute(&mut *conn)
            .await?
            .rows_affected() as i64;
        }
    }
    let mut created = 0i64;
    for chunk in documents.chunks(COPY_ROWS_PER_STATEMENT) {
        let rows = value_rows(chunk.len(), 4, 10, |p| format!("($1, $2, {p}, $3)"));
        let sql = format!(
            "INSERT INTO documents (ns_key, collection_id, document_id, source_object_id, \
             root_object_id, source_document_id, root_bucket_id, chunk_index, fields, vectors, \
             created_at, updated_at, change_seq) VALUES {rows} \
             ON CONFLICT (ns_key, collection_id, document_id) DO NOTHING"
        );
        let mut insert = sqlx::query(&sql)
            .bind(target.0)
            .bind(collection_id)
            .bind(change);
        for doc in chunk {
            insert = bind_document(insert, &doc.document_id, &doc.lineage, doc.chunk_index)
                .bind(Value::Object(doc.fields.clone()).to_string())
                .bind(vectors::encode(&doc.vectors))
                .bind(doc.created_at)
                .bind(doc.updated_at);
        }
        created += insert.execute(&mut *conn).await?.rows_affected() as i64;
    }
    Ok((created, refreshed))
}

/// What the statements of a range copy bind, in the order they number it: $1..$8 the target,
/// the source and the range, $9 the change number, $10 the id tag (when ids are derived), then
/// the patterns.
struct RangeParams<'q> {
    target: (NamespaceKey, &'q str),
    source: (NamespaceKey, &'q str),
    after: (i64, &'q str),
    last: (i64, &'q str),
    change: i64,
    ids: &'q ItemIds,
    patterns: &'q [&'q str],
}

impl<'q> RangeParams<'q> {
    fn bind<'s>(&self, sql: &'s str) -> AnyQuery<'s>
    where
        'q: 's,
    {
        let mut query = sqlx::query(sql)
            .bind(self.target.0 .0)
            .bind(self.target.1)
            .bind(self.source.0 .0)
            .bind(self.source.1)
            .bind(self.after.0)
            .bind(self.after.1)
            .bind(self.last.0)
            .bind(self.last.1)
            .bind(self.change);
        if let Some(tag) = &self.ids.tag {
            query = query.bind(tag.clone());
        }
        for pattern in self.patterns {
            query = query.bind(*pattern);
        }
        query
    }
}
