//! Buckets: named containers of objects inside a namespace, each with the schema its objects
//! follow. Object counts and sizes are kept on the row by the writes that change them.

use ferry_wire::bucket::BucketSortField;
use serde_json::Value;
use sqlx::any::AnyRow;
use sqlx::Row;

use crate::listing::{order_by, Listing};
use crate::named::{editable, named, Action, Fields, Named};
use crate::namespaces::NamespaceKey;
use crate::row::AnyQuery;
use crate::row::{optional_json, parse_json};
use crate::{ids, Store, StoreResult};

#[derive(Debug, Clone, PartialEq)]
pub struct Bucket {
    pub bucket_id: String,
    pub fields: BucketFields,
    pub object_count: i64,
    pub failed_object_count: i64,
    pub total_size_bytes: i64,
    pub last_upload_at: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
}

/// The user-editable part of a bucket; new buckets and updates both use it.
#[derive(Debug, Clone, PartialEq)]
pub struct BucketFields {
    pub bucket_name: String,
    pub description: Option<String>,
    pub bucket_schema: Value,
    pub unique_key: Option<Value>,
    pub metadata: Option<Value>,
    pub storage_class: Option<String>,
}

impl Fields for BucketFields {
    const COLUMNS: &'static [&'static str] = &[
        "bucket_name",
        "description",
        "bucket_schema",
        "unique_key",
        "metadata",
        "storage_class",
    ];

    fn bind<'q>(&'q self, query: AnyQuery<'q>) -> AnyQuery<'q> {
        query
            .bind(&self.bucket_name)
            .bind(&self.description)
            .bind(self.bucket_schema.to_string())
            .bind(self.unique_key.as_ref().map(Value::to_string))
            .bind(self.metadata.as_ref().map(Value::to_string))
            .bind(&self.storage_class)
    }

    fn name(&self) -> &str {
        &self.bucket_name
    }
}

editable!(Bucket, BucketFields, bucket_id);

/// The column a bucket list is ordered by: the wire's closed set of sort fields.
fn sort_column(field: BucketSortField) -> &'static str {
    match field {
        BucketSortField::CreatedAt => "created_at",
        BucketSortField::UpdatedAt => "updated_at",
        BucketSortField::BucketName => "bucket_name",
        BucketSortField::BucketId => "bucket_id",
        BucketSortField::ObjectCount => "object_count",
        BucketSortField::TotalSizeBytes => "total_size_bytes",
    }
}

#[derive(Debug, Clone, Default)]
pub struct BucketListQuery {
    pub bucket_id: Option<String>,
    pub bucket_name: Option<String>,
    pub search: Option<String>,
    pub case_sensitive: bool,
    /// `(key, descending)`; newest first when absent.
    pub sort: Option<(BucketSortField, bool)>,
    pub limit: i64,
    pub offset: i64,
}

const COLUMNS: &str = "bucket_id, bucket_name, description, bucket_schema, unique_key, metadata, \
     storage_class, object_count, failed_object_count, total_size_bytes, last_upload_at, \
     created_at, updated_at";

fn bucket_from_row(row: &AnyRow) -> StoreResult<Bucket> {
    Ok(Bucket {
        bucket_id: row.try_get(0)?,
        fields: BucketFields {
            bucket_name: row.try_get(1)?,
            description: row.try_get(2)?,
            bucket_schema: parse_json("bucket_schema", &row.try_get::<String, _>(3)?)?,
            unique_key: optional_json(row, 4, "unique_key")?,
            metadata: optional_json(row, 5, "metadata")?,
            storage_class: row.try_get(6)?,
        },
        object_count: row.try_get(7)?,
        failed_object_count: row.try_get(8)?,
        total_size_bytes: row.try_get(9)?,
        last_upload_at: row.try_get(10)?,
        created_at: row.try_get(11)?,
        updated_at: row.try_get(12)?,
    })
}

const BUCKETS: Named<Bucket> = named!(
    "bucket",
    "buckets",
    COLUMNS,
    bucket_from_row,
    BucketNameTaken
);

impl Store {
    /// Creates a bucket; `bucket_id` is generated when `None` (a migration passes its own).
    pub async fn create_bucket(
        &self,
        ns: NamespaceKey,
        bucket_id: Option<String>,
        new: BucketFields,
    ) -> StoreResult<Bucket> {
        let mut tx = self.pool.begin().await?;
        // The counter update comes first so SQLite takes its write lock before any read.
        sqlx::query("UPDATE namespaces SET bucket_count = bucket_count + 1 WHERE ns_key = $1")
            .bind(ns.0)
            .execute(&mut *tx)
            .await?;
        let bucket_id = bucket_id.unwrap_or_else(|| ids::new_id("bkt"));
        let bucket = BUCKETS.insert(&mut *tx, ns, &bucket_id, &new).await?;
        tx.commit().await?;
        Ok(bucket)
    }

    /// The bucket whose id or name is `identifier`.
    pub async fn get_bucket(&self, ns: NamespaceKey, identifier: &str) -> StoreResult<Bucket> {
        BUCKETS
            .one(Action::Get, &self.pool, ns, None, identifier)
            .await
    }

    /// Applies `change` to the bucket's editable fields, optimistically as for namespaces.
    pub async fn update_bucket(
        &self,
        ns: NamespaceKey,
        identifier: &str,
        change: impl FnMut(&mut BucketFields),
    ) -> StoreResult<Bucket> {
        BUCKETS.update(&self.pool, ns, identifier, change).await
    }

    /// Deletes the bucket and its objects; returns what the bucket was.
    pub async fn delete_bucket(&self, ns: NamespaceKey, identifier: &str) -> StoreResult<Bucket> {
        let mut tx = self.pool.begin().await?;
        let bucket = BUCKETS
            .one(Action::Delete, &mut *tx, ns, None, identifier)
            .await?;
        sqlx::query(
            "UPDATE namespaces SET bucket_count = bucket_count - 1, \
             object_count = object_count - $1 WHERE ns_key = $2",
        )
        .bind(bucket.object_count)
        .bind(ns.0)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(bucket)
    }

    pub async fn list_buckets(
        &self,
        ns: NamespaceKey,
        query: &BucketListQuery,
    ) -> StoreResult<(Vec<Bucket>, i64)> {
        let listing = Listing::default()
            .eq_int("ns_key", ns.0)
            .eq_text("bucket_id", query.bucket_id.as_deref())
            .eq_text("bucket_name", query.bucket_name.as_deref())
            .search(
                self.backend,
                &["bucket_id", "bucket_name", "description"],
                query.search.as_deref(),
                query.case_sensitive,
            );
        let (field, descending) = query.sort.unwrap_or((BucketSortField::CreatedAt, true));
        let order = order_by(sort_column(field), "bucket_id", descending);
        listing
            .window(
                &self.pool,
                &BUCKETS.rows(),
                &order,
                (query.limit, query.offset),
            )
            .await
    }
}
