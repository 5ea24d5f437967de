//! Write freezes (Ferry's extension, for cutover): a namespace whose buckets and collections
//! refuse writes of objects and documents for a while, or, once an alias was cut over from
//! it, until a rollback reinstates it.
//!
//! A freeze is `frozen_until` on the bucket and collection rows, the very rows whose lock
//! orders the writers of their objects and documents (see `changes.rs`). A writer reads it in
//! the statement that takes that lock ([`lock_bucket`], `changes::next_change`); the freezer
//! sets it with an `UPDATE` of the same rows. So on PostgreSQL the freeze waits for every
//! write in flight to commit, and a writer queued behind the freeze re-reads the row and
//! sees it; SQLite has one writer at a time. Either way, when [`Store::freeze_namespace`]
//! returns, every write it did not refuse is committed, and the change numbers it returns
//! are final until the freeze ends: what a cutover reads up to them is everything.

use std::collections::HashMap;

use sqlx::Row;

use crate::namespaces::NamespaceKey;
use crate::time::now_micros;
use crate::{Store, StoreError, StoreResult};

/// `frozen_until` of a namespace retired by a cutover: frozen until a rollback lifts it.
pub const UNTIL_LIFTED: i64 = i64::MAX;

/// Fails with [`StoreError::Frozen`] when `frozen_until` is still ahead.
pub(crate) fn check(
    resource: impl FnOnce() -> String,
    frozen_until: Option<i64>,
) -> StoreResult<()> {
    match frozen_until {
        Some(until) if until > now_micros() => Err(StoreError::Frozen {
            resource: resource(),
            until,
        }),
        _ => Ok(()),
    }
}

/// Takes the bucket's next change number for a write of its objects, in the caller's
/// transaction: locks the bucket row (ordering the bucket's writers) and checks its freeze.
/// `None` when the bucket does not exist.
pub(crate) async fn lock_bucket(
    conn: &mut sqlx::AnyConnection,
    ns: NamespaceKey,
    bucket_id: &str,
    uploaded_at: Option<i64>,
) -> StoreResult<Option<i64>> {
    let row = sqlx::query(
        "UPDATE buckets SET change_seq = change_seq + 1, \
         last_upload_at = COALESCE($1, last_upload_at) \
         WHERE ns_key = $2 AND bucket_id = $3 RETURNING change_seq, frozen_until",
    )
    .bind(uploaded_at)
    .bind(ns.0)
    .bind(bucket_id)
    .fetch_optional(&mut *conn)
    .await?;
    let Some(row) = row else { return Ok(None) };
    check(|| format!("bucket {bucket_id}"), row.try_get(1)?)?;
    Ok(Some(row.try_get(0)?))
}

/// Where a frozen namespace's feeds stand: each bucket's and collection's last change.
#[derive(Debug, Clone, Default)]
pub struct FrozenFeeds {
    pub buckets: HashMap<String, i64>,
    pub collections: HashMap<String, i64>,
}

impl Store {
    /// Freezes every bucket and collection of `ns` until `until` (waiting for the writes in
    /// flight, see the module doc) and returns where their feeds stand. A namespace already
    /// retired stays retired.
    pub async fn freeze_namespace(&self, ns: NamespaceKey, until: i64) -> StoreResult<FrozenFeeds> {
        let mut tx = self.pool.begin().await?;
        let mut feeds = FrozenFeeds::default();
        for (table, id, into) in [
            ("buckets", "bucket_id", &mut feeds.buckets),
            ("collections", "collection_id", &mut feeds.collections),
        ] {
            let rows = sqlx::query(&format!(
                "UPDATE {table} SET frozen_until = CASE WHEN frozen_until = $1 THEN $1 ELSE $2 END \
                 WHERE ns_key = $3 RETURNING {id}, change_seq"
            ))
            .bind(UNTIL_LIFTED)
            .bind(until)
            .bind(ns.0)
            .fetch_all(&mut *tx)
            .await?;
            for row in rows {
                into.insert(row.try_get(0)?, row.try_get(1)?);
            }
        }
        tx.commit().await?;
        Ok(feeds)
    }

    /// Ends the freeze `freeze_namespace(ns, until)` set (a retirement, or a later freeze,
    /// is left alone).
    pub async fn lift_freeze(&self, ns: NamespaceKey, until: i64) -> StoreResult<()> {
        let mut tx = self.pool.begin().await?;
        set_freeze(&mut tx, ns, Some(until), None).await?;
        tx.commit().await?;
        Ok(())
    }
}

/// Sets `frozen_until` to `to` on the buckets and collections of `ns` whose freeze is `from`
/// (any, when `None`), in the caller's transaction.
pub(crate) async fn set_freeze(
    conn: &mut sqlx::AnyConnection,
    ns: NamespaceKey,
    from: Option<i64>,
    to: Option<i64>,
) -> StoreResult<()> {
    for table in ["buckets", "collections"] {
        let only = if from.is_some() {
            "AND frozen_until = $3"
        } else {
            ""
        };
        let sql = format!("UPDATE {table} SET frozen_until = $1 WHERE ns_key = $2 {only}");
        let mut update = sqlx::query(&sql).bind(to).bind(ns.0);
        if let Some(from) = from {
            update = update.bind(from);
        }
        update.execute(&mut *conn).await?;
    }
    Ok(())
}
