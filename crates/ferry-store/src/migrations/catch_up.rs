//! What a cutover needs of a migration: the change numbers its run started reading the
//! source's feeds at (its watermarks, advanced as cutovers catch the target up), and the
//! writes that carry source changes into the target. See `ferry_migrate::cutover`.

use std::collections::{HashMap, HashSet};

use serde_json::Value;

use super::MigrationKey;
use crate::changes::{next_change, record_deletions, record_object_deletions};
use crate::documents::{adjust_counts, insert_documents, NewDocument};
use crate::freeze::lock_bucket;
use crate::namespaces::NamespaceKey;
use crate::objects::{adjust_object_counts, ObjectRecord};
use crate::time::now_micros;
use crate::{Store, StoreError, StoreResult};

impl Store {
    /// Records where the migration starts reading each source bucket's or collection's
    /// feed. A watermark already recorded is kept: a resumed run copies what the first
    /// attempt planned, so changes since the first reading are what a cutover must bring.
    pub async fn record_migration_watermarks(
        &self,
        key: &MigrationKey,
        feeds: &[(String, i64)],
    ) -> StoreResult<()> {
        let mut tx = self.pool.begin().await?;
        for (resource_id, seq) in feeds {
            sqlx::query(
                "INSERT INTO migration_watermarks (migration_id, resource_id, caught_up_to) \
                 VALUES ($1, $2, $3) ON CONFLICT (migration_id, resource_id) DO NOTHING",
            )
            .bind(key.id())
            .bind(resource_id)
            .bind(seq)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// How far the target holds each source feed: source bucket or collection id → change.
    pub async fn migration_watermarks(
        &self,
        key: &MigrationKey,
    ) -> StoreResult<HashMap<String, i64>> {
        self.migration_pairs(
            key,
            "SELECT resource_id, caught_up_to FROM migration_watermarks WHERE migration_id = $1",
        )
        .await
    }

    /// The target now holds the source feed of `resource_id` through change `seq`.
    pub async fn advance_migration_watermark(
        &self,
        key: &MigrationKey,
        resource_id: &str,
        seq: i64,
    ) -> StoreResult<()> {
        sqlx::query(
            "UPDATE migration_watermarks SET caught_up_to = $1 \
             WHERE migration_id = $2 AND resource_id = $3 AND caught_up_to < $1",
        )
        .bind(seq)
        .bind(key.id())
        .bind(resource_id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The bucket's latest change number (0 before its first write); `None` if it is gone.
    pub async fn bucket_change_seq(
        &self,
        ns: NamespaceKey,
        bucket_id: &str,
    ) -> StoreResult<Option<i64>> {
        Ok(sqlx::query_scalar(
            "SELECT change_seq FROM buckets WHERE ns_key = $1 AND bucket_id = $2",
        )
        .bind(ns.0)
        .bind(bucket_id)
        .fetch_optional(&self.pool)
        .await?)
    }

    /// Brings source object changes into a target bucket, in one transaction: `deleted`
    /// ids are removed, `written` objects (already renamed as the target names them)
    /// replace what the target holds under their ids. Counters and the target's own feed
    /// are kept. Returns how many objects were deleted.
    pub async fn apply_object_changes(
        &self,
        target: NamespaceKey,
        bucket_id: &str,
        written: &[ObjectRecord],
        deleted: &[String],
    ) -> StoreResult<i64> {
        let mut tx = self.pool.begin().await?;
        let change = lock_bucket(&mut tx, target, bucket_id, None)
            .await?
            .ok_or_else(|| bucket_gone(bucket_id))?;
        let (mut count, mut bytes, mut removed) = (0i64, 0i64, Vec::new());
        let replaced = written.iter().map(|o| o.object_id.as_str());
        for id in deleted.iter().map(String::as_str).chain(replaced) {
            let size: Option<i64> = sqlx::query_scalar(
                "DELETE FROM objects WHERE ns_key = $1 AND bucket_id = $2 AND object_id = $3 \
                 RETURNING size_bytes",
            )
            .bind(target.0)
            .bind(bucket_id)
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
            if let Some(size) = size {
                count -= 1;
                bytes -= size;
                removed.push(id.to_owned());
            }
        }
        let rewritten: HashSet<&str> = written.iter().map(|o| o.object_id.as_str()).collect();
        let gone: Vec<String> = removed
            .into_iter()
            .filter(|id| !rewritten.contains(id.as_str()))
            .collect();
        record_object_deletions(&mut tx, target, bucket_id, change, &gone).await?;
        for o in written {
            sqlx::query(
                "INSERT INTO objects (ns_key, bucket_id, object_id, key_prefix, blobs, fields, \
                 size_bytes, status, error, document_count, created_at, updated_at, change_seq) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
            )
            .bind(target.0)
            .bind(bucket_id)
            .bind(&o.object_id)
            .bind(&o.key_prefix)
            .bind(o.blobs.to_string())
            .bind(Value::Object(o.fields.clone()).to_string())
            .bind(o.size_bytes)
            .bind(&o.status)
            .bind(&o.error)
            .bind(o.document_count)
            .bind(o.created_at)
            .bind(o.updated_at)
            .bind(change)
            .execute(&mut *tx)
            .await?;
            count += 1;
            bytes += o.size_bytes;
        }
        adjust_object_counts(&mut tx, target, bucket_id, count, bytes).await?;
        tx.commit().await?;
        Ok(gone.len() as i64)
    }

    /// Brings source document changes into a target collection, in one transaction:
    /// `deleted` ids are removed, `written` documents (already renamed as the target names
    /// them) replace what the target holds under their ids. Counters and the target's feed
    /// are kept. Returns how many documents were deleted.
    pub async fn apply_document_changes(
        &self,
        target: NamespaceKey,
        collection_id: &str,
        written: &[NewDocument],
        deleted: &[String],
    ) -> StoreResult<i64> {
        let mut tx = self.pool.begin().await?;
        let change = next_change(&mut tx, target, collection_id).await?;
        let mut removed = Vec::new();
        let replaced = written.iter().map(|d| d.document_id.as_str());
        for id in deleted.iter().map(String::as_str).chain(replaced) {
            let hit = sqlx::query(
                "DELETE FROM documents WHERE ns_key = $1 AND collection_id = $2 \
                 AND document_id = $3",
            )
            .bind(target.0)
            .bind(collection_id)
            .bind(id)
            .execute(&mut *tx)
            .await?;
            if hit.rows_affected() > 0 {
                removed.push(id.to_owned());
            }
        }
        let count = written.len() as i64 - removed.len() as i64;
        let rewritten: HashSet<&str> = written.iter().map(|d| d.document_id.as_str()).collect();
        let gone: Vec<String> = removed
            .into_iter()
            .filter(|id| !rewritten.contains(id.as_str()))
            .collect();
        record_deletions(&mut tx, target, collection_id, change, &gone).await?;
        insert_documents(
            &mut tx,
            target,
            collection_id,
            written,
            (now_micros(), change),
        )
        .await?;
        adjust_counts(&mut tx, target, collection_id, count).await?;
        tx.commit().await?;
        Ok(gone.len() as i64)
    }
}

fn bucket_gone(bucket_id: &str) -> StoreError {
    StoreError::NotFound {
        resource: "bucket",
        id: bucket_id.to_owned(),
    }
}
