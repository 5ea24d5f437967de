//! Retrievers, their execution history, and the interactions recorded against their results.
//!
//! A retriever's stages are stored as the API validated them (JSON); the store does not
//! interpret them. Deleting a retriever deletes its executions and interactions with it, in one
//! transaction: they describe results of a pipeline that no longer exists.

use ferry_wire::ErrorCode;
use serde_json::Value;
use sqlx::any::AnyRow;
use sqlx::Row;

use crate::keyset::Keyset;
use crate::listing::{order_by, HistoryQuery, Listing, NamedListQuery, Rows};
use crate::named::{editable, named, Action, Fields, Named};
use crate::namespaces::NamespaceKey;
use crate::row::{json_list, optional_json, parse_json, AnyQuery};
use crate::{ids, Store, StoreError, StoreResult};

#[derive(Debug, Clone, PartialEq)]
pub struct Retriever {
    pub retriever_id: String,
    pub fields: RetrieverFields,
    /// Bumped whenever the pipeline (stages, collections, inputs) changes.
    pub version: i64,
    pub created_at: i64,
    pub updated_at: i64,
}

/// What a retriever's owner sets.
#[derive(Debug, Clone, PartialEq)]
pub struct RetrieverFields {
    pub retriever_name: String,
    pub description: Option<String>,
    pub collection_ids: Vec<String>,
    /// The stages, as a JSON array.
    pub stages: Value,
    pub input_schema: Option<Value>,
    /// Everything else the API keeps as given (budget limits, tags, display config …).
    pub settings: Value,
    pub metadata: Option<Value>,
}

impl RetrieverFields {
    /// True when `other` runs a different pipeline than `self`.
    fn pipeline_differs(&self, other: &RetrieverFields) -> bool {
        self.collection_ids != other.collection_ids
            || self.stages != other.stages
            || self.input_schema != other.input_schema
    }
}

/// One recorded execution.
#[derive(Debug, Clone, PartialEq)]
pub struct RetrieverExecution {
    pub execution_id: String,
    pub retriever_id: String,
    pub status: String,
    /// The inputs the execution ran with (after defaults).
    pub inputs: Value,
    pub inputs_hash: String,
    /// The response as it was returned (documents included).
    pub response: Value,
    pub total_processed: i64,
    pub total_returned: i64,
    pub duration_ms: f64,
    pub created_at: i64,
    pub completed_at: i64,
}

/// One recorded interaction.
#[derive(Debug, Clone, PartialEq)]
pub struct Interaction {
    pub interaction_id: String,
    pub retriever_id: Option<String>,
    pub execution_id: Option<String>,
    pub feature_id: String,
    pub session_id: Option<String>,
    pub user_id: Option<String>,
    pub interaction_types: Vec<String>,
    /// The interaction as recorded.
    pub body: Value,
    pub created_at: i64,
}

#[derive(Debug, Clone, Default)]
pub struct InteractionListQuery {
    pub retriever_id: Option<String>,
    pub execution_id: Option<String>,
    pub session_id: Option<String>,
    pub user_id: Option<String>,
    pub feature_id: Option<String>,
    pub interaction_type: Option<String>,
    pub ascending: bool,
    pub limit: i64,
    pub offset: i64,
}

const COLUMNS: &str = "retriever_id, retriever_name, description, collection_ids, stages, \
     input_schema, settings, metadata, version, created_at, updated_at";

const EXECUTION_COLUMNS: &str = "execution_id, retriever_id, status, inputs, inputs_hash, \
     response, total_processed, total_returned, duration_ms, created_at, completed_at";

const INTERACTION_COLUMNS: &str = "interaction_id, retriever_id, execution_id, feature_id, \
     session_id, user_id, interaction_types, body, created_at";

fn string_list(column: &str, text: &str) -> StoreResult<Vec<String>> {
    serde_json::from_str(text).map_err(|e| StoreError::Corrupt(format!("{column}: {e}")))
}

fn retriever_from_row(row: &AnyRow) -> StoreResult<Retriever> {
    Ok(Retriever {
        retriever_id: row.try_get(0)?,
        fields: RetrieverFields {
            retriever_name: row.try_get(1)?,
            description: row.try_get(2)?,
            collection_ids: string_list("collection_ids", &row.try_get::<String, _>(3)?)?,
            stages: parse_json("stages", &row.try_get::<String, _>(4)?)?,
            input_schema: optional_json(row, 5, "input_schema")?,
            settings: parse_json("settings", &row.try_get::<String, _>(6)?)?,
            metadata: optional_json(row, 7, "metadata")?,
        },
        version: row.try_get(8)?,
        created_at: row.try_get(9)?,
        updated_at: row.try_get(10)?,
    })
}

fn execution_from_row(row: &AnyRow) -> StoreResult<RetrieverExecution> {
    Ok(RetrieverExecution {
        execution_id: row.try_get(0)?,
        retriever_id: row.try_get(1)?,
        status: row.try_get(2)?,
        inputs: parse_json("inputs", &row.try_get::<String, _>(3)?)?,
        inputs_hash: row.try_get(4)?,
        response: parse_json("response", &row.try_get::<String, _>(5)?)?,
        total_processed: row.try_get(6)?,
        total_returned: row.try_get(7)?,
        duration_ms: row.try_get(8)?,
        created_at: row.try_get(9)?,
        completed_at: row.try_get(10)?,
    })
}

const EXECUTIONS: Rows<RetrieverExecution> = Rows {
    table: "retriever_executions",
    columns: EXECUTION_COLUMNS,
    from_row: execution_from_row,
};

fn interaction_from_row(row: &AnyRow) -> StoreResult<Interaction> {
    Ok(Interaction {
        interaction_id: row.try_get(0)?,
        retriever_id: row.try_get(1)?,
        execution_id: row.try_get(2)?,
        feature_id: row.try_get(3)?,
        session_id: row.try_get(4)?,
        user_id: row.try_get(5)?,
        interaction_types: string_list("interaction_types", &row.try_get::<String, _>(6)?)?,
        body: parse_json("body", &row.try_get::<String, _>(7)?)?,
        created_at: row.try_get(8)?,
    })
}

const INTERACTIONS: Rows<Interaction> = Rows {
    table: "retriever_interactions",
    columns: INTERACTION_COLUMNS,
    from_row: interaction_from_row,
};

fn not_found(resource: &'static str, identifier: &str) -> StoreError {
    StoreError::NotFound {
        resource,
        id: identifier.to_owned(),
    }
}

const RETRIEVERS: Named<Retriever> = named!(
    "retriever",
    "retrievers",
    COLUMNS,
    retriever_from_row,
    RetrieverNameTaken
);

impl Fields for RetrieverFields {
    const COLUMNS: &'static [&'static str] = &[
        "retriever_name",
        "description",
        "collection_ids",
        "stages",
        "input_schema",
        "settings",
        "metadata",
    ];

    fn bind<'q>(&'q self, query: AnyQuery<'q>) -> AnyQuery<'q> {
        query
            .bind(&self.retriever_name)
            .bind(&self.description)
            .bind(json_list(&self.collection_ids))
            .bind(self.stages.to_string())
            .bind(self.input_schema.as_ref().map(Value::to_string))
            .bind(self.settings.to_string())
            .bind(self.metadata.as_ref().map(Value::to_string))
    }

    fn name(&self) -> &str {
        &self.retriever_name
    }
}

editable!(Retriever, RetrieverFields, retriever_id, version);

impl Store {
    /// Creates a retriever at version 1; `retriever_id` is generated when `None`.
    pub async fn create_retriever(
        &self,
        ns: NamespaceKey,
        retriever_id: Option<String>,
        fields: RetrieverFields,
    ) -> StoreResult<Retriever> {
        let retriever_id = retriever_id.unwrap_or_else(|| ids::new_id("ret"));
        RETRIEVERS
            .insert(&self.pool, ns, &retriever_id, &fields)
            .await
    }

    /// The retriever whose id or name is `identifier`.
    pub async fn get_retriever(
        &self,
        ns: NamespaceKey,
        identifier: &str,
    ) -> StoreResult<Retriever> {
        RETRIEVERS
            .one(Action::Get, &self.pool, ns, None, identifier)
            .await
    }

    /// Applies `change` optimistically (retried if the retriever changed underneath); the
    /// version goes up when the pipeline changed.
    pub async fn update_retriever(
        &self,
        ns: NamespaceKey,
        identifier: &str,
        change: impl FnMut(&mut RetrieverFields),
    ) -> StoreResult<Retriever> {
        let (retriever, tx) = RETRIEVERS
            .edit(&self.pool, ns, identifier, change, |current, edited| {
                edited.pipeline_differs(&current.fields)
            })
            .await?;
        tx.commit().await?;
        Ok(retriever)
    }

    /// Deletes the retriever with its executions and interactions. A retriever a taxonomy
    /// uses is refused (`retriever_in_use`), naming the taxonomy.
    pub async fn delete_retriever(
        &self,
        ns: NamespaceKey,
        identifier: &str,
    ) -> StoreResult<Retriever> {
        let mut tx = self.pool.begin().await?;
        let retriever = RETRIEVERS
            .one(Action::Delete, &mut *tx, ns, None, identifier)
            .await?;
        let user: Option<String> = sqlx::query_scalar(
            "SELECT taxonomy_id FROM taxonomies WHERE ns_key = $1 AND retriever_id = $2 LIMIT 1",
        )
        .bind(ns.0)
        .bind(&retriever.retriever_id)
        .fetch_optional(&mut *tx)
        .await?;
        if let Some(taxonomy_id) = user {
            return Err(StoreError::Conflict {
                code: ErrorCode::RetrieverInUse,
                message: format!(
                    "retriever {} is used by taxonomy {taxonomy_id}; delete the taxonomy first",
                    retriever.retriever_id
                ),
            });
        }
        for table in ["retriever_executions", "retriever_interactions"] {
            sqlx::query(&format!(
                "DELETE FROM {table} WHERE ns_key = $1 AND retriever_id = $2"
            ))
            .bind(ns.0)
            .bind(&retriever.retriever_id)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(retriever)
    }

    pub async fn list_retrievers(
        &self,
        ns: NamespaceKey,
        query: &NamedListQuery,
    ) -> StoreResult<(Vec<Retriever>, i64)> {
        RETRIEVERS.list(&self.pool, self.backend, ns, query).await
    }

    /// The next `limit` retrievers after `after` (`(created_at, retriever_id)`), oldest first:
    /// a keyset scan for filtered lists and for migrations.
    pub async fn retrievers_after(
        &self,
        ns: NamespaceKey,
        after: Option<(i64, &str)>,
        limit: i64,
    ) -> StoreResult<Vec<Retriever>> {
        let scope = Listing::default().eq_int("ns_key", ns.0);
        let rows = Keyset::new("retrievers", "retriever_id", COLUMNS, scope)
            .after(&self.pool, after, limit)
            .await?;
        rows.iter().map(retriever_from_row).collect()
    }

    /// Records an execution; an id already recorded is left as it is (a migration copying
    /// history again writes nothing twice).
    pub async fn record_retriever_execution(
        &self,
        ns: NamespaceKey,
        execution: &RetrieverExecution,
    ) -> StoreResult<()> {
        sqlx::query(&format!(
            "INSERT INTO retriever_executions (ns_key, {EXECUTION_COLUMNS}) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) \
             ON CONFLICT (ns_key, execution_id) DO NOTHING"
        ))
        .bind(ns.0)
        .bind(&execution.execution_id)
        .bind(&execution.retriever_id)
        .bind(&execution.status)
        .bind(execution.inputs.to_string())
        .bind(&execution.inputs_hash)
        .bind(execution.response.to_string())
        .bind(execution.total_processed)
        .bind(execution.total_returned)
        .bind(execution.duration_ms)
        .bind(execution.created_at)
        .bind(execution.completed_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// An execution by id; when `retriever_id` is given, it must be that retriever's.
    pub async fn get_retriever_execution(
        &self,
        ns: NamespaceKey,
        retriever_id: Option<&str>,
        execution_id: &str,
    ) -> StoreResult<RetrieverExecution> {
        let row = sqlx::query(&format!(
            "SELECT {EXECUTION_COLUMNS} FROM retriever_executions \
             WHERE ns_key = $1 AND execution_id = $2"
        ))
        .bind(ns.0)
        .bind(execution_id)
        .fetch_optional(&self.pool)
        .await?;
        let execution = row
            .as_ref()
            .map(execution_from_row)
            .transpose()?
            .ok_or_else(|| not_found("execution", execution_id))?;
        if retriever_id.is_some_and(|r| r != execution.retriever_id) {
            return Err(not_found("execution", execution_id));
        }
        Ok(execution)
    }

    pub async fn list_retriever_executions(
        &self,
        ns: NamespaceKey,
        retriever_id: &str,
        query: &HistoryQuery,
    ) -> StoreResult<(Vec<RetrieverExecution>, i64)> {
        let listing = Listing::default()
            .eq_int("ns_key", ns.0)
            .eq_text("retriever_id", Some(retriever_id))
            .eq_text("status", query.status.as_deref())
            .search(
                self.backend,
                &["execution_id"],
                query.search.as_deref(),
                false,
            );
        let order = order_by("created_at", "execution_id", query.descending);
        listing
            .window(&self.pool, &EXECUTIONS, &order, (query.limit, query.offset))
            .await
    }

    /// Records an interaction; an id already recorded is left as it is.
    pub async fn create_interaction(
        &self,
        ns: NamespaceKey,
        interaction: &Interaction,
    ) -> StoreResult<()> {
        sqlx::query(&format!(
            "INSERT INTO retriever_interactions (ns_key, {INTERACTION_COLUMNS}) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
             ON CONFLICT (ns_key, interaction_id) DO NOTHING"
        ))
        .bind(ns.0)
        .bind(&interaction.interaction_id)
        .bind(&interaction.retriever_id)
        .bind(&interaction.execution_id)
        .bind(&interaction.feature_id)
        .bind(&interaction.session_id)
        .bind(&interaction.user_id)
        .bind(json_list(&interaction.interaction_types))
        .bind(interaction.body.to_string())
        .bind(interaction.created_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn get_interaction(
        &self,
        ns: NamespaceKey,
        interaction_id: &str,
    ) -> StoreResult<Interaction> {
        let row = sqlx::query(&format!(
            "SELECT {INTERACTION_COLUMNS} FROM retriever_interactions \
             WHERE ns_key = $1 AND interaction_id = $2"
        ))
        .bind(ns.0)
        .bind(interaction_id)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref()
            .map(interaction_from_row)
            .transpose()?
            .ok_or_else(|| not_found("interaction", interaction_id))
    }

    pub async fn delete_interaction(
        &self,
        ns: NamespaceKey,
        interaction_id: &str,
    ) -> StoreResult<()> {
        let deleted = sqlx::query(
            "DELETE FROM retriever_interactions WHERE ns_key = $1 AND interaction_id = $2",
        )
        .bind(ns.0)
        .bind(interaction_id)
        .execute(&self.pool)
        .await?;
        if deleted.rows_affected() == 0 {
            return Err(not_found("interaction", interaction_id));
        }
        Ok(())
    }

    pub async fn list_interactions(
        &self,
        ns: NamespaceKey,
        query: &InteractionListQuery,
    ) -> StoreResult<(Vec<Interaction>, i64)> {
        // The types are a JSON array of enum names; a quoted name cannot match inside another.
        let quoted_type = query.interaction_type.as_ref().map(|t| format!("\"{t}\""));
        let listing = Listing::default()
            .eq_int("ns_key", ns.0)
            .eq_text("retriever_id", query.retriever_id.as_deref())
            .eq_text("execution_id", query.execution_id.as_deref())
            .eq_text("session_id", query.session_id.as_deref())
            .eq_text("user_id", query.user_id.as_deref())
            .eq_text("feature_id", query.feature_id.as_deref())
            .search(
                self.backend,
                &["interaction_types"],
                quoted_type.as_deref(),
                true,
            );
        let order = order_by("created_at", "interaction_id", !query.ascending);
        listing
            .window(
                &self.pool,
                &INTERACTIONS,
                &order,
                (query.limit, query.offset),
            )
            .await
    }
}
