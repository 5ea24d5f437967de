//! Taxonomies and their versions. The `taxonomies` row is the current version; every version,
//! the current one included, is also a `taxonomy_versions` row, written in the same
//! transaction, so the history is never behind the taxonomy.

use serde_json::Value;
use sqlx::any::AnyRow;
use sqlx::{Any, Row, Transaction};

use crate::listing::NamedListQuery;
use crate::named::{editable, named, Action, Fields, Named};
use crate::namespaces::NamespaceKey;
use crate::row::{parse_json, AnyQuery};
use crate::{ids, Store, StoreResult};

#[derive(Debug, Clone, PartialEq)]
pub struct Taxonomy {
    pub taxonomy_id: String,
    pub fields: TaxonomyFields,
    pub version: i64,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TaxonomyFields {
    pub taxonomy_name: String,
    pub description: Option<String>,
    /// The flat taxonomy configuration, as the API validated it.
    pub config: Value,
    pub metadata: Option<Value>,
    /// Taken out of `config` so a retriever's deletion can find the taxonomies using it.
    pub retriever_id: String,
    pub source_collection_id: String,
}

const COLUMNS: &str = "taxonomy_id, taxonomy_name, description, config, metadata, retriever_id, \
     source_collection_id, version, created_at, updated_at";

fn taxonomy_from_row(row: &AnyRow) -> StoreResult<Taxonomy> {
    Ok(Taxonomy {
        taxonomy_id: row.try_get(0)?,
        fields: TaxonomyFields {
            taxonomy_name: row.try_get(1)?,
            description: row.try_get(2)?,
            config: parse_json("config", &row.try_get::<String, _>(3)?)?,
            metadata: row
                .try_get::<Option<String>, _>(4)?
                .map(|t| parse_json("metadata", &t))
                .transpose()?,
            retriever_id: row.try_get(5)?,
            source_collection_id: row.try_get(6)?,
        },
        version: row.try_get(7)?,
        created_at: row.try_get(8)?,
        updated_at: row.try_get(9)?,
    })
}

const TAXONOMIES: Named<Taxonomy> = named!(
    "taxonomy",
    "taxonomies",
    COLUMNS,
    taxonomy_from_row,
    TaxonomyNameTaken
);

/// Records `taxonomy` (as it now is) as its version row, replacing an earlier row of the same
/// version (a patch edits the current version in place).
async fn write_version(
    tx: &mut Transaction<'_, Any>,
    ns: NamespaceKey,
    taxonomy: &Taxonomy,
) -> StoreResult<()> {
    sqlx::query(
        "DELETE FROM taxonomy_versions WHERE ns_key = $1 AND taxonomy_id = $2 AND version = $3",
    )
    .bind(ns.0)
    .bind(&taxonomy.taxonomy_id)
    .bind(taxonomy.version)
    .execute(&mut **tx)
    .await?;
    sqlx::query(
        "INSERT INTO taxonomy_versions (ns_key, taxonomy_id, version, taxonomy_name, \
         description, config, metadata, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(ns.0)
    .bind(&taxonomy.taxonomy_id)
    .bind(taxonomy.version)
    .bind(&taxonomy.fields.taxonomy_name)
    .bind(&taxonomy.fields.description)
    .bind(taxonomy.fields.config.to_string())
    .bind(taxonomy.fields.metadata.as_ref().map(Value::to_string))
    .bind(taxonomy.updated_at)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

impl Fields for TaxonomyFields {
    const COLUMNS: &'static [&'static str] = &[
        "taxonomy_name",
        "description",
        "config",
        "metadata",
        "retriever_id",
        "source_collection_id",
    ];

    fn bind<'q>(&'q self, query: AnyQuery<'q>) -> AnyQuery<'q> {
        query
            .bind(&self.taxonomy_name)
            .bind(&self.description)
            .bind(self.config.to_string())
            .bind(self.metadata.as_ref().map(Value::to_string))
            .bind(&self.retriever_id)
            .bind(&self.source_collection_id)
    }

    fn name(&self) -> &str {
        &self.taxonomy_name
    }
}

editable!(Taxonomy, TaxonomyFields, taxonomy_id, version);

impl Store {
    /// Creates a taxonomy at version 1; `taxonomy_id` is generated when `None`.
    pub async fn create_taxonomy(
        &self,
        ns: NamespaceKey,
        taxonomy_id: Option<String>,
        fields: TaxonomyFields,
    ) -> StoreResult<Taxonomy> {
        let taxonomy_id = taxonomy_id.unwrap_or_else(|| ids::new_id("tax"));
        let mut tx = self.pool.begin().await?;
        let taxonomy = TAXONOMIES
            .insert(&mut *tx, ns, &taxonomy_id, &fields)
            .await?;
        write_version(&mut tx, ns, &taxonomy).await?;
        tx.commit().await?;
        Ok(taxonomy)
    }

    /// The taxonomy whose id or name is `identifier`.
    pub async fn get_taxonomy(&self, ns: NamespaceKey, identifier: &str) -> StoreResult<Taxonomy> {
        TAXONOMIES
            .one(Action::Get, &self.pool, ns, None, identifier)
            .await
    }

    /// Applies `change` to the taxonomy; with `new_version` the result becomes a new version,
    /// otherwise the current version is edited in place. Optimistic, retried on a race.
    pub async fn update_taxonomy(
        &self,
        ns: NamespaceKey,
        identifier: &str,
        new_version: bool,
        change: impl FnMut(&mut TaxonomyFields),
    ) -> StoreResult<Taxonomy> {
        let (taxonomy, mut tx) = TAXONOMIES
            .edit(&self.pool, ns, identifier, change, |_, _| new_version)
            .await?;
        write_version(&mut tx, ns, &taxonomy).await?;
        tx.commit().await?;
        Ok(taxonomy)
    }

    /// Every version of the taxonomy, newest first. The rows carry the taxonomy's current id,
    /// reference ids and creation time.
    pub async fn list_taxonomy_versions(
        &self,
        ns: NamespaceKey,
        identifier: &str,
    ) -> StoreResult<Vec<Taxonomy>> {
        let current = self.get_taxonomy(ns, identifier).await?;
        let rows = sqlx::query(
            "SELECT version, taxonomy_name, description, config, metadata, created_at \
             FROM taxonomy_versions WHERE ns_key = $1 AND taxonomy_id = $2 ORDER BY version DESC",
        )
        .bind(ns.0)
        .bind(&current.taxonomy_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                let config = parse_json("config", &row.try_get::<String, _>(3)?)?;
                Ok(Taxonomy {
                    taxonomy_id: current.taxonomy_id.clone(),
                    fields: TaxonomyFields {
                        taxonomy_name: row.try_get(1)?,
                        description: row.try_get(2)?,
                        metadata: row
                            .try_get::<Option<String>, _>(4)?
                            .map(|t| parse_json("metadata", &t))
                            .transpose()?,
                        retriever_id: config["retriever_id"]
                            .as_str()
                            .unwrap_or(&current.fields.retriever_id)
                            .to_owned(),
                        source_collection_id: config["source_collection"]["collection_id"]
                            .as_str()
                            .unwrap_or(&current.fields.source_collection_id)
                            .to_owned(),
                        config,
                    },
                    version: row.try_get(0)?,
                    created_at: current.created_at,
                    updated_at: row.try_get(5)?,
                })
            })
            .collect()
    }

    /// Deletes the taxonomy and its versions.
    pub async fn delete_taxonomy(
        &self,
        ns: NamespaceKey,
        identifier: &str,
    ) -> StoreResult<Taxonomy> {
        let mut tx = self.pool.begin().await?;
        let taxonomy = TAXONOMIES
            .one(Action::Delete, &mut *tx, ns, None, identifier)
            .await?;
        sqlx::query("DELETE FROM taxonomy_versions WHERE ns_key = $1 AND taxonomy_id = $2")
            .bind(ns.0)
            .bind(&taxonomy.taxonomy_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(taxonomy)
    }

    pub async fn list_taxonomies(
        &self,
        ns: NamespaceKey,
        query: &NamedListQuery,
    ) -> StoreResult<(Vec<Taxonomy>, i64)> {
        TAXONOMIES.list(&self.pool, self.backend, ns, query).await
    }
}
