//! Collections: an extractor applied to a source (buckets, or another collection), whose
//! output is documents. The extractor's name and version are columns, so re-extraction can
//! find every collection using an extractor without reading JSON.

use serde_json::Value;
use sqlx::any::AnyRow;
use sqlx::Row;

use crate::listing::NamedListQuery;
use crate::named::{editable, named, Action, Fields, Named};
use crate::namespaces::NamespaceKey;
use crate::row::{optional_json, parse_json, AnyQuery};
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

impl Fields for CollectionFields {
    const COLUMNS: &'static [&'static str] = &[
        "collection_name",
        "description",
        "source",
        "feature_extractor",
        "extractor_name",
        "extractor_version",
        "output_schema",
        "vector_indexes",
        "taxonomy_applications",
        "cluster_applications",
        "metadata",
        "input_schema",
        "enabled",
    ];

    fn bind<'q>(&'q self, query: AnyQuery<'q>) -> AnyQuery<'q> {
        query
            .bind(&self.collection_name)
            .bind(&self.description)
            .bind(self.source.to_string())
            .bind(self.feature_extractor.to_string())
            .bind(&self.extractor_name)
            .bind(&self.extractor_version)
            .bind(self.output_schema.to_string())
            .bind(self.vector_indexes.to_string())
            .bind(self.taxonomy_applications.as_ref().map(Value::to_string))
            .bind(self.cluster_applications.as_ref().map(Value::to_string))
            .bind(self.metadata.as_ref().map(Value::to_string))
            .bind(self.input_schema.as_ref().map(Value::to_string))
            .bind(i64::from(self.enabled))
    }

    fn name(&self) -> &str {
        &self.collection_name
    }
}

editable!(Collection, CollectionFields, collection_id);

impl Store {
    /// Creates a collection; `collection_id` is generated when `None`.
    pub async fn create_collection(
        &self,
        ns: NamespaceKey,
        collection_id: Option<String>,
        fields: CollectionFields,
    ) -> StoreResult<Collection> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "UPDATE namespaces SET collection_count = collection_count + 1 WHERE ns_key = $1",
        )
        .bind(ns.0)
        .execute(&mut *tx)
        .await?;
        let collection_id = collection_id.unwrap_or_else(|| ids::new_id("col"));
        let collection = COLLECTIONS
            .insert(&mut *tx, ns, &collection_id, &fields)
            .await?;
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
        change: impl FnMut(&mut CollectionFields),
    ) -> StoreResult<Collection> {
        COLLECTIONS.update(&self.pool, ns, identifier, change).await
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
        query: &NamedListQuery,
    ) -> StoreResult<(Vec<Collection>, i64)> {
        COLLECTIONS.list(&self.pool, self.backend, ns, query).await
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
