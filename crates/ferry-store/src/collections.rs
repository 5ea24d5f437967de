//! Collections: an extractor applied to a source (buckets, or another collection), whose
//! output is documents. The extractor's name and version are columns, so re-extraction can
//! find every collection using an extractor without reading JSON.

use serde_json::Value;
use sqlx::any::AnyRow;
use sqlx::Row;

use crate::listing::{order_by, Listing};
use crate::named::{named, Action, Named};
use crate::namespaces::NamespaceKey;
use crate::row::{optional_json, parse_json};
use crate::time::now_micros;
use crate::{ids, Store, StoreResult};

#[derive(Debug, Clone, PartialEq)]
pub struct Collection {
    pub collection_id: String,
    pub fields: CollectionFields,
    pub document_count: i64,
    pub created_at: i64,
    pub updated_at: i64,
}

/// Everything a collection is made of apart from its id, counts and times.
#[derive(Debug, Clone, PartialEq)]
pub struct CollectionFields {
    pub collection_name: String,
    pub description: Option<String>,
    /// `{type: "bucket", bucket_ids: […]}` or `{type: "collection", collection_ids: […]}`.
    pub source: Value,
    /// The extractor configuration with resolved parameters.
    pub feature_extractor: Value,
    pub extractor_name: String,
    pub extractor_version: String,
    pub input_schema: Option<Value>,
    pub output_schema: Value,
    pub vector_indexes: Value,
    pub taxonomy_applications: Option<Value>,
    pub cluster_applications: Option<Value>,
    pub metadata: Option<Value>,
    pub enabled: bool,
}

#[derive(Debug, Clone, Default)]
pub struct CollectionListQuery {
    pub collection_id: Option<String>,
    pub collection_name: Option<String>,
    pub search: Option<String>,
    pub case_sensitive: bool,
    /// `(column, descending)`: `created_at`, `updated_at`, `collection_name`, `document_count`.
    pub sort: Option<(CollectionSortKey, bool)>,
    pub limit: i64,
    pub offset: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CollectionSortKey {
    CreatedAt,
    UpdatedAt,
    CollectionName,
    DocumentCount,
}

impl CollectionSortKey {
    fn column(self) -> &'static str {
        match self {
            CollectionSortKey::CreatedAt => "created_at",
            CollectionSortKey::UpdatedAt => "updated_at",
            CollectionSortKey::CollectionName => "collection_name",
            CollectionSortKey::DocumentCount => "document_count",
        }
    }
}

const COLUMNS: &str = "collection_id, collection_name, description, source, feature_extractor, \
     extractor_name, extractor_version, output_schema, vector_indexes, taxonomy_applications, \
     cluster_applications, metadata, document_count, created_at, updated_at, input_schema, \
     enabled";

fn collection_from_row(row: &AnyRow) -> StoreResult<Collection> {
    Ok(Collection {
        collection_id: row.try_get(0)?,
        fields: CollectionFields {
            collection_name: row.try_get(1)?,
            description: row.try_get(2)?,
            source: parse_json("source", &row.try_get::<String, _>(3)?)?,
            feature_extractor: parse_json("feature_extractor", &row.try_get::<String, _>(4)?)?,
            extractor_name: row.try_get(5)?,
            extractor_version: row.try_get(6)?,
            output_schema: parse_json("output_schema", &row.try_get::<String, _>(7)?)?,
            vector_indexes: parse_json("vector_indexes", &row.try_get::<String, _>(8)?)?,
            taxonomy_applications: optional_json(row, 9, "taxonomy_applications")?,
            cluster_applications: optional_json(row, 10, "cluster_applications")?,
            metadata: optional_json(row, 11, "metadata")?,
            input_schema: optional_json(row, 15, "input_schema")?,
            enabled: row.try_get::<i64, _>(16)? != 0,
        },
        document_count: row.try_get(12)?,
        created_at: row.try_get(13)?,
        updated_at: row.try_get(14)?,
    })
}

const COLLECTIONS: Named<Collection> = named!(
    "collection",
    "collections",
    COLUMNS,
    collection_from_row,
    CollectionNameTaken
);

fn bind_fields<'q>(
    query: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>,
    f: &CollectionFields,
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>> {
    query
        .bind(f.collection_name.clone())
        .bind(f.description.clone())
        .bind(f.source.to_string())
        .bind(f.feature_extractor.to_string())
        .bind(f.extractor_name.clone())
        .bind(f.extractor_version.clone())
        .bind(f.output_schema.to_string())
        .bind(f.vector_indexes.to_string())
        .bind(f.taxonomy_applications.as_ref().map(Value::to_string))
        .bind(f.cluster_applications.as_ref().map(Value::to_string))
        .bind(f.metadata.as_ref().map(Value::to_string))
        .bind(f.input_schema.as_ref().map(Value::to_string))
        .bind(i64::from(f.enabled))
}

impl Store {
    /// Creates a collection; `collection_id` is generated when `None`.
    pub async fn create_collection(
        &self,
        ns: NamespaceKey,
        collection_id: Option<String>,
        fields: CollectionFields,
    ) -> StoreResult<Collection> {
        let now = now_micros();
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "UPDATE namespaces SET collection_count = collection_count + 1 WHERE ns_key = $1",
        )
        .bind(ns.0)
        .execute(&mut *tx)
        .await?;
        let sql = format!(
            "INSERT INTO collections (collection_name, description, source, feature_extractor, \
             extractor_name, extractor_version, output_schema, vector_indexes, \
             taxonomy_applications, cluster_applications, metadata, input_schema, enabled, \
             ns_key, collection_id, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $16) \
             RETURNING {COLUMNS}"
        );
        let inserted = bind_fields(sqlx::query(&sql), &fields)
            .bind(ns.0)
            .bind(collection_id.unwrap_or_else(|| ids::new_id("col")))
            .bind(now)
            .fetch_one(&mut *tx)
            .await;
        let collection = COLLECTIONS.inserted(inserted, &fields.collection_name)?;
        tx.commit().await?;
        Ok(collection)
    }

    /// The collection whose id or name is `identifier`.
    pub async fn get_collection(
        &self,
        ns: NamespaceKey,
        identifier: &str,
    ) -> StoreResult<Collection> {
        COLLECTIONS
            .one(Action::Get, &self.pool, ns, None, identifier)
            .await
    }

    /// Applies `change` to the collection's fields, optimistically as for namespaces.
    pub async fn update_collection(
        &self,
        ns: NamespaceKey,
        identifier: &str,
        mut change: impl FnMut(&mut CollectionFields),
    ) -> StoreResult<Collection> {
        for _ in 0..crate::named::UPDATE_ATTEMPTS {
            let current = self.get_collection(ns, identifier).await?;
            let mut edited = current.fields.clone();
            change(&mut edited);
            let now = now_micros().max(current.updated_at + 1);
            let sql = format!(
                "UPDATE collections SET collection_name = $1, description = $2, source = $3, \
                 feature_extractor = $4, extractor_name = $5, extractor_version = $6, \
                 output_schema = $7, vector_indexes = $8, taxonomy_applications = $9, \
                 cluster_applications = $10, metadata = $11, input_schema = $12, enabled = $13, \
                 updated_at = $14 WHERE ns_key = $15 AND collection_id = $16 AND updated_at = $17 \
                 RETURNING {COLUMNS}"
            );
            let result = bind_fields(sqlx::query(&sql), &edited)
                .bind(now)
                .bind(ns.0)
                .bind(&current.collection_id)
                .bind(current.updated_at)
                .fetch_optional(&self.pool)
                .await;
            if let Some(collection) = COLLECTIONS.written(result, &edited.collection_name)? {
                return Ok(collection);
            }
        }
        Err(COLLECTIONS.kept_changing())
    }

    /// Deletes the collection and its documents.
    pub async fn delete_collection(
        &self,
        ns: NamespaceKey,
        identifier: &str,
    ) -> StoreResult<Collection> {
        let mut tx = self.pool.begin().await?;
        let collection = COLLECTIONS
            .one(Action::Delete, &mut *tx, ns, None, identifier)
            .await?;
        sqlx::query(
            "UPDATE namespaces SET collection_count = collection_count - 1, \
             document_count = document_count - $1 WHERE ns_key = $2",
        )
        .bind(collection.document_count)
        .bind(ns.0)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(collection)
    }

    pub async fn list_collections(
        &self,
        ns: NamespaceKey,
        query: &CollectionListQuery,
    ) -> StoreResult<(Vec<Collection>, i64)> {
        let listing = Listing::default()
            .eq_int("ns_key", ns.0)
            .eq_text("collection_id", query.collection_id.as_deref())
            .eq_text("collection_name", query.collection_name.as_deref())
            .search(
                self.backend,
                &["collection_id", "collection_name", "description"],
                query.search.as_deref(),
                query.case_sensitive,
            );
        let (key, descending) = query.sort.unwrap_or((CollectionSortKey::CreatedAt, true));
        let order = order_by(key.column(), "collection_id", descending);
        listing
            .window(
                &self.pool,
                &COLLECTIONS.rows(),
                &order,
                (query.limit, query.offset),
            )
            .await
    }

    /// Every collection of the namespace, oldest first (namespaces hold tens, not millions).
    pub async fn all_collections(&self, ns: NamespaceKey) -> StoreResult<Vec<Collection>> {
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM collections WHERE ns_key = $1 ORDER BY created_at, collection_id"
        ))
        .bind(ns.0)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(collection_from_row).collect()
    }
}
