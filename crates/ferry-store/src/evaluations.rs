//! Evaluation sets (Ferry's extension): judged queries owned by a retriever, and the lineage
//! lookups that score and copy them.
//!
//! A set's queries are stored as the API validated them (a JSON array); the store does not
//! interpret them. Sets live and die with their retriever (a foreign key cascades the
//! retriever's deletion). The lineage lookups read documents by the columns a collection's
//! trigger derives their ids from (collection, source object, chunk), so a migration can find
//! what a rebuilt collection made of a judged document.

use std::collections::HashSet;

use ferry_wire::ErrorCode;
use serde_json::Value;
use sqlx::any::AnyRow;
use sqlx::Row;

use crate::error::is_unique_violation;
use crate::listing::{order_by, Listing};
use crate::named::{Action, Named};
use crate::namespaces::NamespaceKey;
use crate::row::parse_json;
use crate::row::AnyQuery;
use crate::{Store, StoreError, StoreResult};

/// One evaluation set.
#[derive(Debug, Clone, PartialEq)]
pub struct EvaluationRecord {
    pub evaluation_id: String,
    pub retriever_id: String,
    pub evaluation_name: String,
    pub description: Option<String>,
    /// The queries, a JSON array.
    pub queries: Value,
    pub query_count: i64,
    pub judgment_count: i64,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(Debug, Clone, Default)]
pub struct EvaluationListQuery {
    pub search: Option<String>,
    pub limit: i64,
    pub offset: i64,
}

/// Where a document came from, as far as matching by lineage needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocumentLineage {
    pub document_id: String,
    pub collection_id: String,
    pub source_object_id: Option<String>,
    pub chunk_index: i64,
}

const COLUMNS: &str = "evaluation_id, retriever_id, evaluation_name, description, queries, \
     query_count, judgment_count, created_at, updated_at";

const TABLE: &str = "retriever_evaluations";

fn from_row(row: &AnyRow) -> StoreResult<EvaluationRecord> {
    Ok(EvaluationRecord {
        evaluation_id: row.try_get(0)?,
        retriever_id: row.try_get(1)?,
        evaluation_name: row.try_get(2)?,
        description: row.try_get(3)?,
        queries: parse_json("queries", &row.try_get::<String, _>(4)?)?,
        query_count: row.try_get(5)?,
        judgment_count: row.try_get(6)?,
        created_at: row.try_get(7)?,
        updated_at: row.try_get(8)?,
    })
}

/// Sets are named per retriever.
const EVALUATIONS: Named<EvaluationRecord> = Named {
    resource: "evaluation",
    table: TABLE,
    id_column: "evaluation_id",
    name_column: "evaluation_name",
    parent_column: Some("retriever_id"),
    columns: COLUMNS,
    from_row,
    name_taken: ErrorCode::EvaluationNameTaken,
};

/// The values of one set's row after `ns_key, {COLUMNS}`, as [`bind_set`] binds them.
const VALUES: &str = "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)";

fn bind_set<'q>(query: AnyQuery<'q>, ns: NamespaceKey, set: &'q EvaluationRecord) -> AnyQuery<'q> {
    query
        .bind(ns.0)
        .bind(&set.evaluation_id)
        .bind(&set.retriever_id)
        .bind(&set.evaluation_name)
        .bind(&set.description)
        .bind(set.queries.to_string())
        .bind(set.query_count)
        .bind(set.judgment_count)
        .bind(set.created_at)
        .bind(set.updated_at)
}

/// `$first, $first+1, …` for `n` values.
fn placeholders(first: usize, n: usize) -> String {
    (first..first + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Ids looked up per statement (well under both backends' parameter limits).
const IDS_PER_QUERY: usize = 500;

impl Store {
    /// Stores a new set; a name the retriever's sets already use is `evaluation_name_taken`.
    pub async fn create_evaluation(
        &self,
        ns: NamespaceKey,
        set: &EvaluationRecord,
    ) -> StoreResult<EvaluationRecord> {
        let sql = format!("INSERT INTO {TABLE} (ns_key, {COLUMNS}) {VALUES} RETURNING {COLUMNS}");
        let inserted = bind_set(sqlx::query(&sql), ns, set)
            .fetch_one(&self.pool)
            .await;
        match inserted {
            Ok(row) => from_row(&row),
            Err(e) if is_unique_violation(&e) => Err(StoreError::Conflict {
                code: ErrorCode::EvaluationNameTaken,
                message: format!(
                    "retriever {} already has an evaluation set named '{}'",
                    set.retriever_id, set.evaluation_name
                ),
            }),
            Err(e) => Err(e.into()),
        }
    }

    /// Writes a migrated copy of a set: a set of the same name on the retriever is replaced
    /// (an extend brings the source's current judgments), keeping its id; a repeat of the same
    /// copy writes the same row.
    pub async fn put_evaluation(
        &self,
        ns: NamespaceKey,
        set: &EvaluationRecord,
    ) -> StoreResult<()> {
        let sql = format!(
            "INSERT INTO {TABLE} (ns_key, {COLUMNS}) {VALUES} \
             ON CONFLICT (ns_key, retriever_id, evaluation_name) DO UPDATE SET \
             description = excluded.description, queries = excluded.queries, \
             query_count = excluded.query_count, judgment_count = excluded.judgment_count, \
             updated_at = excluded.updated_at"
        );
        bind_set(sqlx::query(&sql), ns, set)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// The retriever's set whose id or name is `identifier`.
    pub async fn get_evaluation(
        &self,
        ns: NamespaceKey,
        retriever_id: &str,
        identifier: &str,
    ) -> StoreResult<EvaluationRecord> {
        EVALUATIONS
            .one(Action::Get, &self.pool, ns, Some(retriever_id), identifier)
            .await
    }

    pub async fn delete_evaluation(
        &self,
        ns: NamespaceKey,
        retriever_id: &str,
        identifier: &str,
    ) -> StoreResult<EvaluationRecord> {
        EVALUATIONS
            .one(
                Action::Delete,
                &self.pool,
                ns,
                Some(retriever_id),
                identifier,
            )
            .await
    }

    /// One window of the retriever's sets, newest first, with the number of all matches.
    pub async fn list_evaluations(
        &self,
        ns: NamespaceKey,
        retriever_id: &str,
        query: &EvaluationListQuery,
    ) -> StoreResult<(Vec<EvaluationRecord>, i64)> {
        let listing = Listing::default()
            .eq_int("ns_key", ns.0)
            .eq_text("retriever_id", Some(retriever_id))
            .search(
                self.backend,
                &["evaluation_id", "evaluation_name", "description"],
                query.search.as_deref(),
                false,
            );
        listing
            .window(
                &self.pool,
                &EVALUATIONS.rows(),
                &order_by("created_at", "evaluation_id", true),
                (query.limit, query.offset),
            )
            .await
    }

    /// The lineage of those of `document_ids` that `collection_ids` hold.
    pub async fn document_lineages(
        &self,
        ns: NamespaceKey,
        collection_ids: &[String],
        document_ids: &[String],
    ) -> StoreResult<Vec<DocumentLineage>> {
        let mut found = Vec::new();
        for collection in collection_ids {
            for ids in document_ids.chunks(IDS_PER_QUERY) {
                let sql = format!(
                    "SELECT document_id, collection_id, source_object_id, chunk_index \
                     FROM documents WHERE ns_key = $1 AND collection_id = $2 \
                     AND document_id IN ({})",
                    placeholders(3, ids.len())
                );
                let mut query = sqlx::query(&sql).bind(ns.0).bind(collection);
                for id in ids {
                    query = query.bind(id);
                }
                for row in query.fetch_all(&self.pool).await? {
                    found.push(DocumentLineage {
                        document_id: row.try_get(0)?,
                        collection_id: row.try_get(1)?,
                        source_object_id: row.try_get(2)?,
                        chunk_index: row.try_get(3)?,
                    });
                }
            }
        }
        Ok(found)
    }

    /// Those of `object_ids` the namespace holds.
    pub async fn existing_objects(
        &self,
        ns: NamespaceKey,
        object_ids: &[String],
    ) -> StoreResult<HashSet<String>> {
        let mut found = HashSet::new();
        for ids in object_ids.chunks(IDS_PER_QUERY) {
            let sql = format!(
                "SELECT object_id FROM objects WHERE ns_key = $1 AND object_id IN ({})",
                placeholders(2, ids.len())
            );
            let mut query = sqlx::query(&sql).bind(ns.0);
            for id in ids {
                query = query.bind(id);
            }
            for row in query.fetch_all(&self.pool).await? {
                found.insert(row.try_get(0)?);
            }
        }
        Ok(found)
    }

    /// The document `collection_id` made of chunk `chunk_index` of `object_id`, if any.
    pub async fn document_of_chunk(
        &self,
        ns: NamespaceKey,
        collection_id: &str,
        object_id: &str,
        chunk_index: i64,
    ) -> StoreResult<Option<String>> {
        Ok(sqlx::query_scalar(
            "SELECT document_id FROM documents WHERE ns_key = $1 AND source_object_id = $2 \
             AND collection_id = $3 AND chunk_index = $4 ORDER BY document_id LIMIT 1",
        )
        .bind(ns.0)
        .bind(object_id)
        .bind(collection_id)
        .bind(chunk_index)
        .fetch_optional(&self.pool)
        .await?)
    }
}
