//! Bucket objects: custom fields and blob references (the bytes live in [`crate::blobs`]).
//! Creating and deleting objects keeps the bucket's and the namespace's counters true in the
//! same transaction.

use serde_json::{Map, Value};
use sqlx::any::AnyRow;
use sqlx::Row;

use crate::changes::record_object_deletions;
use crate::freeze::lock_bucket;
use crate::keyset::Keyset;
use crate::listing::{ordered, Listing, Rows, SortColumn};
use crate::namespaces::NamespaceKey;
use crate::row::parse_json;
use crate::time::now_micros;
use crate::{ids, Store, StoreError, StoreResult};

#[derive(Debug, Clone, PartialEq)]
pub struct ObjectRecord {
    pub object_id: String,
    pub bucket_id: String,
    pub key_prefix: Option<String>,
    /// JSON array of blob records (`BlobModel`s).
    pub blobs: Value,
    /// Custom fields, as they travel at the object's root.
    pub fields: Map<String, Value>,
    pub size_bytes: i64,
    pub status: String,
    pub error: Option<String>,
    pub document_count: i64,
    pub created_at: i64,
    pub updated_at: i64,
}

/// An object to insert. `object_id` is generated when absent.
#[derive(Debug, Clone, Default)]
pub struct NewObject {
    pub object_id: Option<String>,
    pub key_prefix: Option<String>,
    pub blobs: Value,
    pub fields: Map<String, Value>,
    pub size_bytes: i64,
    pub idempotency_key: Option<String>,
}

/// What an insert did.
#[derive(Debug, Clone, PartialEq)]
pub enum Inserted {
    Created(ObjectRecord),
    /// The idempotency key matched this existing object, returned unchanged.
    Replayed(ObjectRecord),
}

#[derive(Debug, Clone)]
pub struct ObjectListQuery {
    /// Substring of object id or key prefix.
    pub search: Option<String>,
    /// `(column, descending)`: `created_at`, `updated_at`, `object_id` or `key_prefix`.
    pub sort: Option<(SortColumn, bool)>,
    pub limit: i64,
    pub offset: i64,
}

pub(crate) const COLUMNS: &str =
    "object_id, bucket_id, key_prefix, blobs, fields, size_bytes, status, \
     error, document_count, created_at, updated_at";

fn object_from_row(row: &AnyRow) -> StoreResult<ObjectRecord> {
    object_from_row_offset(row, 0)
}

const OBJECTS: Rows<ObjectRecord> = Rows {
    table: "objects",
    columns: COLUMNS,
    from_row: object_from_row,
};

/// An object from the [`COLUMNS`] starting at column `at` of `row`.
pub(crate) fn object_from_row_offset(row: &AnyRow, at: usize) -> StoreResult<ObjectRecord> {
    let fields = match parse_json("fields", &row.try_get::<String, _>(at + 4)?)? {
        Value::Object(map) => map,
        other => {
            return Err(StoreError::Corrupt(format!(
                "fields: {other} is not an object"
            )))
        }
    };
    Ok(ObjectRecord {
        object_id: row.try_get(at)?,
        bucket_id: row.try_get(at + 1)?,
        key_prefix: row.try_get(at + 2)?,
        blobs: parse_json("blobs", &row.try_get::<String, _>(at + 3)?)?,
        fields,
        size_bytes: row.try_get(at + 5)?,
        status: row.try_get(at + 6)?,
        error: row.try_get(at + 7)?,
        document_count: row.try_get(at + 8)?,
        created_at: row.try_get(at + 9)?,
        updated_at: row.try_get(at + 10)?,
    })
}

/// A keyset scan of one bucket's objects.
fn scan(ns: NamespaceKey, bucket_id: &str) -> Keyset {
    let scope = Listing::default()
        .eq_int("ns_key", ns.0)
        .eq_text("bucket_id", Some(bucket_id));
    Keyset::new("objects", "object_id", COLUMNS, scope)
}

fn not_found(identifier: &str) -> StoreError {
    StoreError::NotFound {
        resource: "object",
        id: identifier.to_owned(),
    }
}

/// Adds `delta` objects of `bytes` in all to the bucket's and namespace's counters, in the
/// caller's transaction.
pub(crate) async fn adjust_object_counts(
    conn: &mut sqlx::AnyConnection,
    ns: NamespaceKey,
    bucket_id: &str,
    delta: i64,
    bytes: i64,
) -> StoreResult<()> {
    sqlx::query(
        "UPDATE buckets SET object_count = object_count + $1, \
         total_size_bytes = total_size_bytes + $2 WHERE ns_key = $3 AND bucket_id = $4",
    )
    .bind(delta)
    .bind(bytes)
    .bind(ns.0)
    .bind(bucket_id)
    .execute(&mut *conn)
    .await?;
    sqlx::query("UPDATE namespaces SET object_count = object_count + $1 WHERE ns_key = $2")
        .bind(delta)
        .bind(ns.0)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

impl Store {
    /// Inserts `objects` into the bucket in one transaction and returns, in order, what each
    /// became. An object whose idempotency key is already used in the bucket is not inserted;
    /// the existing object is returned as [`Inserted::Replayed`].
    pub async fn insert_objects(
        &self,
        ns: NamespaceKey,
        bucket_id: &str,
        objects: Vec<NewObject>,
    ) -> StoreResult<Vec<Inserted>> {
        let now = now_micros();
        let mut tx = self.pool.begin().await?;
        // Lock the bucket row first: SQLite takes its write lock before any read, PostgreSQL
        // serializes counter updates and the change feed, a freeze is honoured, and a deleted
        // bucket is noticed before any insert.
        let Some(change) = lock_bucket(&mut tx, ns, bucket_id, Some(now)).await? else {
            return Err(StoreError::NotFound {
                resource: "bucket",
                id: bucket_id.to_owned(),
            });
        };
        let mut results = Vec::with_capacity(objects.len());
        let (mut created, mut bytes) = (0i64, 0i64);
        for object in objects {
            let row = sqlx::query(&format!(
                "INSERT INTO objects (ns_key, bucket_id, object_id, key_prefix, blobs, fields, \
                 size_bytes, status, idempotency_key, created_at, updated_at, change_seq) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, 'PENDING', $8, $9, $9, $10) \
                 ON CONFLICT (ns_key, bucket_id, idempotency_key) \
                 WHERE idempotency_key IS NOT NULL DO NOTHING RETURNING {COLUMNS}"
            ))
            .bind(ns.0)
            .bind(bucket_id)
            .bind(object.object_id.unwrap_or_else(|| ids::new_id("obj")))
            .bind(&object.key_prefix)
            .bind(object.blobs.to_string())
            .bind(Value::Object(object.fields).to_string())
            .bind(object.size_bytes)
            .bind(&object.idempotency_key)
            .bind(now)
            .bind(change)
            .fetch_optional(&mut *tx)
            .await?;
            match row {
                Some(row) => {
                    let record = object_from_row(&row)?;
                    created += 1;
                    bytes += record.size_bytes;
                    results.push(Inserted::Created(record));
                }
                None => {
                    let existing = sqlx::query(&format!(
                        "SELECT {COLUMNS} FROM objects WHERE ns_key = $1 AND bucket_id = $2 \
                         AND idempotency_key = $3"
                    ))
                    .bind(ns.0)
                    .bind(bucket_id)
                    .bind(&object.idempotency_key)
                    .fetch_one(&mut *tx)
                    .await?;
                    results.push(Inserted::Replayed(object_from_row(&existing)?));
                }
            }
        }
        adjust_object_counts(&mut tx, ns, bucket_id, created, bytes).await?;
        tx.commit().await?;
        Ok(results)
    }

    pub async fn get_object(
        &self,
        ns: NamespaceKey,
        bucket_id: &str,
        object_id: &str,
    ) -> StoreResult<ObjectRecord> {
        let row = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM objects WHERE ns_key = $1 AND bucket_id = $2 AND object_id = $3"
        ))
        .bind(ns.0)
        .bind(bucket_id)
        .bind(object_id)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref()
            .map(object_from_row)
            .transpose()?
            .ok_or_else(|| not_found(object_id))
    }

    /// Replaces the object's key prefix and custom fields with what `change` makes of them,
    /// optimistically (conditional on `updated_at`, retried).
    pub async fn update_object(
        &self,
        ns: NamespaceKey,
        bucket_id: &str,
        object_id: &str,
        mut change: impl FnMut(&mut Option<String>, &mut Map<String, Value>),
    ) -> StoreResult<ObjectRecord> {
        for _ in 0..crate::named::UPDATE_ATTEMPTS {
            let current = self.get_object(ns, bucket_id, object_id).await?;
            let (mut key_prefix, mut fields) = (current.key_prefix.clone(), current.fields.clone());
            change(&mut key_prefix, &mut fields);
            let now = now_micros().max(current.updated_at + 1);
            let mut tx = self.pool.begin().await?;
            let Some(seq) = lock_bucket(&mut tx, ns, bucket_id, None).await? else {
                return Err(not_found(object_id));
            };
            let row = sqlx::query(&format!(
                "UPDATE objects SET key_prefix = $1, fields = $2, updated_at = $3, \
                 change_seq = $4 \
                 WHERE ns_key = $5 AND object_id = $6 AND updated_at = $7 RETURNING {COLUMNS}"
            ))
            .bind(&key_prefix)
            .bind(Value::Object(fields).to_string())
            .bind(now)
            .bind(seq)
            .bind(ns.0)
            .bind(object_id)
            .bind(current.updated_at)
            .fetch_optional(&mut *tx)
            .await?;
            if let Some(row) = row {
                let updated = object_from_row(&row)?;
                tx.commit().await?;
                return Ok(updated);
            }
        }
        Err(crate::named::kept_changing("object"))
    }

    /// Deletes the object and returns what it was.
    pub async fn delete_object(
        &self,
        ns: NamespaceKey,
        bucket_id: &str,
        object_id: &str,
    ) -> StoreResult<ObjectRecord> {
        let mut tx = self.pool.begin().await?;
        let Some(change) = lock_bucket(&mut tx, ns, bucket_id, None).await? else {
            return Err(not_found(object_id));
        };
        let row = sqlx::query(&format!(
            "DELETE FROM objects WHERE ns_key = $1 AND bucket_id = $2 AND object_id = $3 \
             RETURNING {COLUMNS}"
        ))
        .bind(ns.0)
        .bind(bucket_id)
        .bind(object_id)
        .fetch_optional(&mut *tx)
        .await?;
        let object = match row {
            Some(row) => object_from_row(&row)?,
            None => return Err(not_found(object_id)),
        };
        record_object_deletions(
            &mut tx,
            ns,
            bucket_id,
            change,
            std::slice::from_ref(&object.object_id),
        )
        .await?;
        adjust_object_counts(&mut tx, ns, bucket_id, -1, -object.size_bytes).await?;
        tx.commit().await?;
        Ok(object)
    }

    pub async fn list_objects(
        &self,
        ns: NamespaceKey,
        bucket_id: &str,
        query: &ObjectListQuery,
    ) -> StoreResult<(Vec<ObjectRecord>, i64)> {
        let listing = Listing::default()
            .eq_int("ns_key", ns.0)
            .eq_text("bucket_id", Some(bucket_id))
            .search(
                self.backend,
                &["object_id", "key_prefix"],
                query.search.as_deref(),
                false,
            );
        let order = ordered(query.sort, "object_id");
        listing
            .window(&self.pool, &OBJECTS, &order, (query.limit, query.offset))
            .await
    }

    /// The next `limit` objects of the bucket after `after` (`(created_at, object_id)`), in
    /// creation order: a keyset scan for streaming a bucket in bounded memory.
    pub async fn objects_after(
        &self,
        ns: NamespaceKey,
        bucket_id: &str,
        after: Option<(i64, &str)>,
        limit: i64,
    ) -> StoreResult<Vec<ObjectRecord>> {
        let rows = scan(ns, bucket_id).after(&self.pool, after, limit).await?;
        rows.iter().map(object_from_row).collect()
    }

    /// The objects of `(after, last]` in `(created_at, object_id)` order: one migration
    /// batch's range.
    pub async fn objects_between(
        &self,
        ns: NamespaceKey,
        bucket_id: &str,
        after: Option<(i64, &str)>,
        last: (i64, &str),
    ) -> StoreResult<Vec<ObjectRecord>> {
        let rows = scan(ns, bucket_id).through(&self.pool, after, last).await?;
        rows.iter().map(object_from_row).collect()
    }

    /// `(created_at, object_id)` of the next `limit` objects after `after` created in
    /// `[from, until)`: keys only, for enumerating a bucket cheaply.
    pub async fn object_keys_after(
        &self,
        ns: NamespaceKey,
        bucket_id: &str,
        after: Option<(i64, &str)>,
        window: (i64, i64),
        limit: i64,
    ) -> StoreResult<Vec<(i64, String)>> {
        scan(ns, bucket_id)
            .keys_after(&self.pool, after, window, limit)
            .await
    }
}
