//! Clusters and their executions: a cluster is a k-means configuration over collections; an
//! execution (run) is one pass of it, tracked by a task, that leaves centroids and metrics here,
//! a `cluster_id` field on each clustered document, and a Parquet artifact in the blob store.
//!
//! Starting an execution writes its task and its run row in one transaction, so no run exists
//! without the task that will finish it, and vice versa.

use serde_json::Value;
use sqlx::any::AnyRow;
use sqlx::Row;

use crate::listing::{order_by, HistoryQuery, Listing, NamedListQuery, Rows};
use crate::named::{editable, named, Action, Fields, Named};
use crate::namespaces::NamespaceKey;
use crate::row::{json_list, optional_json, parse_json, AnyQuery};
use crate::tasks::{insert_task, Task};
use crate::time::now_micros;
use crate::{ids, Store, StoreError, StoreResult};

pub const RUN_PENDING: &str = "pending";
pub const RUN_PROCESSING: &str = "processing";
pub const RUN_COMPLETED: &str = "completed";
pub const RUN_FAILED: &str = "failed";

#[derive(Debug, Clone, PartialEq)]
pub struct Cluster {
    pub cluster_id: String,
    pub fields: ClusterFields,
    pub summary: ClusterSummary,
    pub created_at: i64,
    pub updated_at: i64,
}

/// What a cluster's owner sets: name, description, inputs and configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct ClusterFields {
    pub cluster_name: String,
    pub description: Option<String>,
    /// Collection ids, as a JSON array.
    pub input_collections: Vec<String>,
    /// The configuration (`cluster_type`, `vector_config`, `filters` …) as the API stores it.
    pub definition: Value,
    pub metadata: Option<Value>,
}

/// What the last execution left on the cluster.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ClusterSummary {
    /// Task status of the last execution (`PENDING`, `COMPLETED`, …).
    pub status: Option<String>,
    pub last_task_id: Option<String>,
    pub last_run_id: Option<String>,
    pub num_clusters: Option<i64>,
    pub num_documents_clustered: Option<i64>,
    pub execution_time_seconds: Option<f64>,
    pub quality_metrics: Option<Value>,
    pub error: Option<String>,
    pub last_executed_at: Option<i64>,
    pub completed_at: Option<i64>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ClusterExecution {
    pub run_id: String,
    pub cluster_id: String,
    pub task_id: String,
    /// `pending`, `processing`, `completed` or `failed`, as the SDK spells run statuses.
    pub status: String,
    pub num_clusters: i64,
    pub num_points: i64,
    /// One object per centroid, including its vector (`centroid_vector`).
    pub centroids: Option<Value>,
    pub metrics: Option<Value>,
    /// Blob-store key of the Parquet file of assignments.
    pub artifact_key: Option<String>,
    pub error_message: Option<String>,
    pub created_at: i64,
    pub completed_at: Option<i64>,
}

/// How an execution ended.
#[derive(Debug, Clone)]
pub struct ExecutionOutcome {
    pub status: &'static str,
    pub num_clusters: i64,
    pub num_points: i64,
    pub centroids: Option<Value>,
    pub metrics: Option<Value>,
    pub artifact_key: Option<String>,
    pub error_message: Option<String>,
}

const COLUMNS: &str = "cluster_id, cluster_name, description, input_collections, definition, \
     metadata, status, last_task_id, last_run_id, num_clusters, num_documents_clustered, \
     execution_time_seconds, quality_metrics, error, last_executed_at, completed_at, \
     created_at, updated_at";

const RUN_COLUMNS: &str = "run_id, cluster_id, task_id, status, num_clusters, num_points, \
     centroids, metrics, artifact_key, error_message, created_at, completed_at";

fn cluster_from_row(row: &AnyRow) -> StoreResult<Cluster> {
    let input_collections: Vec<String> = serde_json::from_str(&row.try_get::<String, _>(3)?)
        .map_err(|e| StoreError::Corrupt(format!("input_collections: {e}")))?;
    Ok(Cluster {
        cluster_id: row.try_get(0)?,
        fields: ClusterFields {
            cluster_name: row.try_get(1)?,
            description: row.try_get(2)?,
            input_collections,
            definition: parse_json("definition", &row.try_get::<String, _>(4)?)?,
            metadata: optional_json(row, 5, "metadata")?,
        },
        summary: ClusterSummary {
            status: row.try_get(6)?,
            last_task_id: row.try_get(7)?,
            last_run_id: row.try_get(8)?,
            num_clusters: row.try_get(9)?,
            num_documents_clustered: row.try_get(10)?,
            execution_time_seconds: row.try_get(11)?,
            quality_metrics: optional_json(row, 12, "quality_metrics")?,
            error: row.try_get(13)?,
            last_executed_at: row.try_get(14)?,
            completed_at: row.try_get(15)?,
        },
        created_at: row.try_get(16)?,
        updated_at: row.try_get(17)?,
    })
}

fn execution_from_row(row: &AnyRow) -> StoreResult<ClusterExecution> {
    Ok(ClusterExecution {
        run_id: row.try_get(0)?,
        cluster_id: row.try_get(1)?,
        task_id: row.try_get(2)?,
        status: row.try_get(3)?,
        num_clusters: row.try_get(4)?,
        num_points: row.try_get(5)?,
        centroids: optional_json(row, 6, "centroids")?,
        metrics: optional_json(row, 7, "metrics")?,
        artifact_key: row.try_get(8)?,
        error_message: row.try_get(9)?,
        created_at: row.try_get(10)?,
        completed_at: row.try_get(11)?,
    })
}

const EXECUTIONS: Rows<ClusterExecution> = Rows {
    table: "cluster_executions",
    columns: RUN_COLUMNS,
    from_row: execution_from_row,
};

const CLUSTERS: Named<Cluster> = named!(
    "cluster",
    "clusters",
    COLUMNS,
    cluster_from_row,
    ClusterNameTaken
);

impl Fields for ClusterFields {
    const COLUMNS: &'static [&'static str] = &[
        "cluster_name",
        "description",
        "input_collections",
        "definition",
        "metadata",
    ];

    fn bind<'q>(&'q self, query: AnyQuery<'q>) -> AnyQuery<'q> {
        query
            .bind(&self.cluster_name)
            .bind(&self.description)
            .bind(json_list(&self.input_collections))
            .bind(self.definition.to_string())
            .bind(self.metadata.as_ref().map(Value::to_string))
    }

    fn name(&self) -> &str {
        &self.cluster_name
    }
}

editable!(Cluster, ClusterFields, cluster_id);

impl Store {
    /// Creates a cluster; `cluster_id` is generated when `None`.
    pub async fn create_cluster(
        &self,
        ns: NamespaceKey,
        cluster_id: Option<String>,
        fields: ClusterFields,
    ) -> StoreResult<Cluster> {
        // `clust_`, not a shorter `clu_`: the SDK's `ClusterExecutionResult` refuses any
        // cluster id not matching `^clust_[a-zA-Z0-9]+$`.
        let cluster_id = cluster_id.unwrap_or_else(|| ids::new_id("clust"));
        CLUSTERS.insert(&self.pool, ns, &cluster_id, &fields).await
    }

    /// The cluster whose id or name is `identifier`.
    pub async fn get_cluster(&self, ns: NamespaceKey, identifier: &str) -> StoreResult<Cluster> {
        CLUSTERS
            .one(Action::Get, &self.pool, ns, None, identifier)
            .await
    }

    /// Applies `change` to the cluster's fields, optimistically (retried if it changed
    /// underneath).
    pub async fn update_cluster(
        &self,
        ns: NamespaceKey,
        identifier: &str,
        change: impl FnMut(&mut ClusterFields),
    ) -> StoreResult<Cluster> {
        CLUSTERS.update(&self.pool, ns, identifier, change).await
    }

    /// Deletes the cluster and its execution history.
    pub async fn delete_cluster(&self, ns: NamespaceKey, identifier: &str) -> StoreResult<Cluster> {
        let mut tx = self.pool.begin().await?;
        let cluster = CLUSTERS
            .one(Action::Delete, &mut *tx, ns, None, identifier)
            .await?;
        // Spelled out rather than left to the foreign key, which SQLite enforces only when
        // the connection enabled it.
        sqlx::query("DELETE FROM cluster_executions WHERE ns_key = $1 AND cluster_id = $2")
            .bind(ns.0)
            .bind(&cluster.cluster_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(cluster)
    }

    pub async fn list_clusters(
        &self,
        ns: NamespaceKey,
        query: &NamedListQuery,
    ) -> StoreResult<(Vec<Cluster>, i64)> {
        CLUSTERS.list(&self.pool, self.backend, ns, query).await
    }

    /// Queues an execution of the cluster: a `pending` run and the `PENDING` task of
    /// `task_type` that will run it, in one transaction. The task's inputs get the run's id.
    pub async fn start_cluster_execution(
        &self,
        org: &str,
        ns: NamespaceKey,
        cluster_id: &str,
        task_type: &str,
        mut inputs: Value,
    ) -> StoreResult<(Task, ClusterExecution)> {
        let run_id = ids::new_id("run");
        if let Value::Object(map) = &mut inputs {
            map.insert("run_id".into(), Value::String(run_id.clone()));
            map.insert("cluster_id".into(), Value::String(cluster_id.to_owned()));
        }
        let now = now_micros();
        let mut tx = self.pool.begin().await?;
        // A write first, so SQLite takes its write lock before anything is read.
        let updated = sqlx::query(
            "UPDATE clusters SET last_run_id = $1, last_executed_at = $2, status = 'PENDING', \
             error = NULL WHERE ns_key = $3 AND cluster_id = $4",
        )
        .bind(&run_id)
        .bind(now)
        .bind(ns.0)
        .bind(cluster_id)
        .execute(&mut *tx)
        .await?;
        if updated.rows_affected() == 0 {
            return Err(CLUSTERS.not_found(cluster_id));
        }
        let task = insert_task(&mut tx, org, Some(ns), task_type, &inputs).await?;
        sqlx::query("UPDATE clusters SET last_task_id = $1 WHERE ns_key = $2 AND cluster_id = $3")
            .bind(&task.task_id)
            .bind(ns.0)
            .bind(cluster_id)
            .execute(&mut *tx)
            .await?;
        let row = sqlx::query(&format!(
            "INSERT INTO cluster_executions (ns_key, cluster_id, run_id, task_id, status, \
             created_at) VALUES ($1, $2, $3, $4, $5, $6) RETURNING {RUN_COLUMNS}"
        ))
        .bind(ns.0)
        .bind(cluster_id)
        .bind(&run_id)
        .bind(&task.task_id)
        .bind(RUN_PENDING)
        .bind(now)
        .fetch_one(&mut *tx)
        .await?;
        let execution = execution_from_row(&row)?;
        tx.commit().await?;
        Ok((task, execution))
    }

    pub async fn get_cluster_execution(
        &self,
        ns: NamespaceKey,
        cluster_id: &str,
        run_id: &str,
    ) -> StoreResult<ClusterExecution> {
        let row = sqlx::query(&format!(
            "SELECT {RUN_COLUMNS} FROM cluster_executions WHERE ns_key = $1 AND cluster_id = $2 \
             AND run_id = $3"
        ))
        .bind(ns.0)
        .bind(cluster_id)
        .bind(run_id)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref()
            .map(execution_from_row)
            .transpose()?
            .ok_or_else(|| StoreError::NotFound {
                resource: "execution",
                id: run_id.to_owned(),
            })
    }

    pub async fn list_cluster_executions(
        &self,
        ns: NamespaceKey,
        cluster_id: &str,
        query: &HistoryQuery,
    ) -> StoreResult<(Vec<ClusterExecution>, i64)> {
        let listing = Listing::default()
            .eq_int("ns_key", ns.0)
            .eq_text("cluster_id", Some(cluster_id))
            .eq_text("status", query.status.as_deref())
            .search(self.backend, &["run_id"], query.search.as_deref(), false);
        let order = order_by("created_at", "run_id", query.descending);
        listing
            .window(&self.pool, &EXECUTIONS, &order, (query.limit, query.offset))
            .await
    }

    /// Marks a run as running (its task was claimed); renews nothing.
    pub async fn mark_cluster_execution_processing(
        &self,
        ns: NamespaceKey,
        cluster_id: &str,
        run_id: &str,
    ) -> StoreResult<()> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "UPDATE cluster_executions SET status = $1 WHERE ns_key = $2 AND cluster_id = $3 \
             AND run_id = $4",
        )
        .bind(RUN_PROCESSING)
        .bind(ns.0)
        .bind(cluster_id)
        .bind(run_id)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "UPDATE clusters SET status = 'IN_PROGRESS' WHERE ns_key = $1 AND cluster_id = $2 \
             AND last_run_id = $3",
        )
        .bind(ns.0)
        .bind(cluster_id)
        .bind(run_id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Records how a run ended, and copies its summary onto the cluster when it is the
    /// cluster's latest run.
    pub async fn finish_cluster_execution(
        &self,
        ns: NamespaceKey,
        cluster_id: &str,
        run_id: &str,
        outcome: &ExecutionOutcome,
    ) -> StoreResult<ClusterExecution> {
        let now = now_micros();
        let mut tx = self.pool.begin().await?;
        let row = sqlx::query(&format!(
            "UPDATE cluster_executions SET status = $1, num_clusters = $2, num_points = $3, \
             centroids = $4, metrics = $5, artifact_key = $6, error_message = $7, \
             completed_at = $8 WHERE ns_key = $9 AND cluster_id = $10 AND run_id = $11 \
             RETURNING {RUN_COLUMNS}"
        ))
        .bind(outcome.status)
        .bind(outcome.num_clusters)
        .bind(outcome.num_points)
        .bind(outcome.centroids.as_ref().map(Value::to_string))
        .bind(outcome.metrics.as_ref().map(Value::to_string))
        .bind(&outcome.artifact_key)
        .bind(&outcome.error_message)
        .bind(now)
        .bind(ns.0)
        .bind(cluster_id)
        .bind(run_id)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = row else {
            return Err(StoreError::NotFound {
                resource: "execution",
                id: run_id.to_owned(),
            });
        };
        let execution = execution_from_row(&row)?;
        let completed = outcome.status == RUN_COMPLETED;
        let seconds = (now - execution.created_at) as f64 / 1e6;
        sqlx::query(
            "UPDATE clusters SET status = $1, num_clusters = $2, num_documents_clustered = $3, \
             execution_time_seconds = $4, quality_metrics = $5, error = $6, \
             completed_at = COALESCE($7, completed_at) \
             WHERE ns_key = $8 AND cluster_id = $9 AND last_run_id = $10",
        )
        .bind(if completed { "COMPLETED" } else { "FAILED" })
        .bind(outcome.num_clusters)
        .bind(outcome.num_points)
        .bind(seconds)
        .bind(outcome.metrics.as_ref().map(Value::to_string))
        .bind(&outcome.error_message)
        .bind(completed.then_some(now))
        .bind(ns.0)
        .bind(cluster_id)
        .bind(run_id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(execution)
    }

    /// Copies a cluster's run (a migration's `cluster_execution` stage) into `target`'s
    /// cluster `cluster_id`, with `artifact_key` in place of the source's, and the source
    /// cluster's summary onto the target cluster. Copying the same run twice changes nothing.
    pub async fn copy_cluster_execution(
        &self,
        target: NamespaceKey,
        cluster_id: &str,
        execution: &ClusterExecution,
        summary: &ClusterSummary,
        artifact_key: Option<&str>,
    ) -> StoreResult<()> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "UPDATE clusters SET status = $1, last_task_id = $2, last_run_id = $3, \
             num_clusters = $4, num_documents_clustered = $5, execution_time_seconds = $6, \
             quality_metrics = $7, error = $8, last_executed_at = $9, completed_at = $10 \
             WHERE ns_key = $11 AND cluster_id = $12",
        )
        .bind(&summary.status)
        .bind(&summary.last_task_id)
        .bind(&summary.last_run_id)
        .bind(summary.num_clusters)
        .bind(summary.num_documents_clustered)
        .bind(summary.execution_time_seconds)
        .bind(summary.quality_metrics.as_ref().map(Value::to_string))
        .bind(&summary.error)
        .bind(summary.last_executed_at)
        .bind(summary.completed_at)
        .bind(target.0)
        .bind(cluster_id)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO cluster_executions (ns_key, cluster_id, run_id, task_id, status, \
             num_clusters, num_points, centroids, metrics, artifact_key, error_message, \
             created_at, completed_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, \
             $12, $13) ON CONFLICT (ns_key, cluster_id, run_id) DO NOTHING",
        )
        .bind(target.0)
        .bind(cluster_id)
        .bind(&execution.run_id)
        .bind(&execution.task_id)
        .bind(&execution.status)
        .bind(execution.num_clusters)
        .bind(execution.num_points)
        .bind(execution.centroids.as_ref().map(Value::to_string))
        .bind(execution.metrics.as_ref().map(Value::to_string))
        .bind(artifact_key)
        .bind(&execution.error_message)
        .bind(execution.created_at)
        .bind(execution.completed_at)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }
}
