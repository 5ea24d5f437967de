//! Tasks: asynchronous work with status, progress, a resume cursor, and a lease.
//!
//! A worker claims a runnable task by taking its lease (owner + expiry) with a conditional
//! UPDATE, renews the lease with every committed batch, and loses it if it stops renewing: a
//! task whose lease expired is runnable again, by any process sharing the database, from the
//! cursor its last committed batch left.
//!
//! Statuses cross this boundary typed, as the wire's [`TaskStatusEnum`]; its names are what
//! the `status` column holds. See `docs/ARCHITECTURE.md` ("Where each rule lives").

use ferry_wire::task::TaskStatusEnum;
use serde_json::Value;
use sqlx::any::AnyRow;
use sqlx::Row;

use crate::listing::{Listing, Rows};
use crate::namespaces::NamespaceKey;
use crate::row::{parse_json, parse_text};
use crate::time::now_micros;
use crate::{ids, Store, StoreError, StoreResult};

/// Pending or running: the statuses a worker may claim, as an SQL list.
fn active_statuses() -> String {
    format!(
        "'{}', '{}'",
        TaskStatusEnum::Pending.as_str(),
        TaskStatusEnum::InProgress.as_str()
    )
}

#[derive(Debug, Clone, PartialEq)]
pub struct Task {
    pub task_id: String,
    pub internal_id: String,
    pub namespace: Option<NamespaceKey>,
    pub task_type: String,
    pub status: TaskStatusEnum,
    pub inputs: Value,
    pub outputs: Option<Value>,
    pub processed: i64,
    pub total: Option<i64>,
    pub failed: i64,
    pub error: Option<String>,
    pub resume_cursor: Option<String>,
    pub attempts: i64,
    pub created_at: i64,
    pub updated_at: i64,
    pub started_at: Option<i64>,
    pub completed_at: Option<i64>,
}

#[derive(Debug, Clone, Default)]
pub struct TaskListQuery {
    pub status: Option<TaskStatusEnum>,
    pub task_type: Option<String>,
    pub limit: i64,
    pub offset: i64,
}

const COLUMNS: &str = "task_id, internal_id, ns_key, task_type, status, inputs, outputs, \
     processed, total, failed, error, resume_cursor, attempts, created_at, updated_at, \
     started_at, completed_at";

fn task_from_row(row: &AnyRow) -> StoreResult<Task> {
    Ok(Task {
        task_id: row.try_get(0)?,
        internal_id: row.try_get(1)?,
        namespace: row.try_get::<Option<i64>, _>(2)?.map(NamespaceKey),
        task_type: row.try_get(3)?,
        status: parse_text(row, 4, "status")?,
        inputs: parse_json("inputs", &row.try_get::<String, _>(5)?)?,
        outputs: row
            .try_get::<Option<String>, _>(6)?
            .map(|t| parse_json("outputs", &t))
            .transpose()?,
        processed: row.try_get(7)?,
        total: row.try_get(8)?,
        failed: row.try_get(9)?,
        error: row.try_get(10)?,
        resume_cursor: row.try_get(11)?,
        attempts: row.try_get(12)?,
        created_at: row.try_get(13)?,
        updated_at: row.try_get(14)?,
        started_at: row.try_get(15)?,
        completed_at: row.try_get(16)?,
    })
}

const TASKS: Rows<Task> = Rows {
    table: "tasks",
    columns: COLUMNS,
    from_row: task_from_row,
};

/// Inserts a `PENDING` task on `conn`, so callers can make it part of a larger transaction.
pub(crate) async fn insert_task(
    conn: &mut sqlx::AnyConnection,
    org: &str,
    ns: Option<NamespaceKey>,
    task_type: &str,
    inputs: &Value,
) -> StoreResult<Task> {
    let row = sqlx::query(&format!(
        "INSERT INTO tasks (task_id, internal_id, ns_key, task_type, status, inputs, \
         created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $7) RETURNING {COLUMNS}"
    ))
    .bind(ids::new_id("task"))
    .bind(org)
    .bind(ns.map(|k| k.0))
    .bind(task_type)
    .bind(TaskStatusEnum::Pending.as_str())
    .bind(inputs.to_string())
    .bind(now_micros())
    .fetch_one(conn)
    .await?;
    task_from_row(&row)
}

/// A worker's claim on its task, renewed while it works: until when, and how far it got.
#[derive(Debug, Clone, Copy)]
pub struct LeaseRenewal<'a> {
    pub task_id: &'a str,
    pub owner: &'a str,
    pub lease_until: i64,
    /// Items processed so far (absolute, not a delta: a restarted run recounts from zero).
    pub processed: i64,
    /// Where a restarted run resumes, when the work is resumable; kept as is when `None`.
    pub resume_cursor: Option<&'a str>,
}

pub(crate) async fn renew_lease(
    conn: &mut sqlx::AnyConnection,
    renewal: &LeaseRenewal<'_>,
) -> StoreResult<()> {
    let owned = sqlx::query(
        "UPDATE tasks SET processed = $1, lease_expires_at = $2, updated_at = $3, \
         resume_cursor = COALESCE($6, resume_cursor) WHERE task_id = $4 AND lease_owner = $5",
    )
    .bind(renewal.processed)
    .bind(renewal.lease_until)
    .bind(now_micros())
    .bind(renewal.task_id)
    .bind(renewal.owner)
    .bind(renewal.resume_cursor)
    .execute(conn)
    .await?;
    if owned.rows_affected() == 0 {
        return Err(StoreError::LeaseLost(format!(
            "task {} is no longer leased to this worker",
            renewal.task_id
        )));
    }
    Ok(())
}

impl Store {
    /// Records a new `PENDING` task.
    pub async fn create_task(
        &self,
        org: &str,
        ns: Option<NamespaceKey>,
        task_type: &str,
        inputs: &Value,
    ) -> StoreResult<Task> {
        let mut conn = self.pool.acquire().await?;
        insert_task(&mut conn, org, ns, task_type, inputs).await
    }

    pub async fn get_task(&self, org: &str, task_id: &str) -> StoreResult<Task> {
        let row = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM tasks WHERE internal_id = $1 AND task_id = $2"
        ))
        .bind(org)
        .bind(task_id)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref()
            .map(task_from_row)
            .transpose()?
            .ok_or_else(|| StoreError::NotFound {
                resource: "task",
                id: task_id.to_owned(),
            })
    }

    pub async fn list_tasks(
        &self,
        org: &str,
        query: &TaskListQuery,
    ) -> StoreResult<(Vec<Task>, i64)> {
        let listing = Listing::default()
            .eq_text("internal_id", Some(org))
            .eq_text("status", query.status.map(TaskStatusEnum::as_str))
            .eq_text("task_type", query.task_type.as_deref());
        listing
            .window(
                &self.pool,
                &TASKS,
                "created_at DESC, task_id DESC",
                (query.limit, query.offset),
            )
            .await
    }

    /// The namespace's tasks of `task_type` that are pending or running.
    pub async fn active_tasks(&self, ns: NamespaceKey, task_type: &str) -> StoreResult<Vec<Task>> {
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM tasks WHERE ns_key = $1 AND task_type = $2 \
             AND status IN ({}) ORDER BY created_at",
            active_statuses()
        ))
        .bind(ns.0)
        .bind(task_type)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(task_from_row).collect()
    }

    /// Takes the lease of the oldest runnable task of one of `task_types`: pending, or in
    /// progress with an expired lease (its worker died). Returns it marked `IN_PROGRESS`.
    pub async fn claim_task(
        &self,
        task_types: &[&str],
        owner: &str,
        lease_micros: i64,
    ) -> StoreResult<Option<Task>> {
        let now = now_micros();
        let active = active_statuses();
        let types: Vec<String> = (0..task_types.len())
            .map(|i| format!("${}", i + 2))
            .collect();
        let sql = format!(
            "SELECT task_id FROM tasks WHERE status IN ({active}) \
             AND (lease_expires_at IS NULL OR lease_expires_at < $1) AND task_type IN ({}) \
             ORDER BY created_at LIMIT 8",
            types.join(", ")
        );
        let mut candidates = sqlx::query(&sql).bind(now);
        for t in task_types {
            candidates = candidates.bind(*t);
        }
        let candidates: Vec<String> = candidates
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|r| r.try_get(0))
            .collect::<Result<_, _>>()?;
        for task_id in candidates {
            // Conditional on the task still being runnable: of several workers racing for the
            // same task, exactly one UPDATE matches.
            let row = sqlx::query(&format!(
                "UPDATE tasks SET status = '{in_progress}', lease_owner = $1, \
                 lease_expires_at = $2, attempts = attempts + 1, updated_at = $3, \
                 started_at = COALESCE(started_at, $3) WHERE task_id = $4 \
                 AND status IN ({active}) \
                 AND (lease_expires_at IS NULL OR lease_expires_at < $3) RETURNING {COLUMNS}",
                in_progress = TaskStatusEnum::InProgress.as_str(),
            ))
            .bind(owner)
            .bind(now + lease_micros)
            .bind(now)
            .bind(&task_id)
            .fetch_optional(&self.pool)
            .await?;
            if let Some(row) = row {
                return task_from_row(&row).map(Some);
            }
        }
        Ok(None)
    }

    /// Extends the lease of a running task and records its absolute progress. Fails with
    /// [`StoreError::LeaseLost`] when another worker now owns the task.
    pub async fn renew_task_lease(&self, renewal: &LeaseRenewal<'_>) -> StoreResult<()> {
        let mut conn = self.pool.acquire().await?;
        renew_lease(&mut conn, renewal).await
    }

    /// Sets how many items the task will process, once it knows.
    pub async fn set_task_total(&self, task_id: &str, owner: &str, total: i64) -> StoreResult<()> {
        sqlx::query("UPDATE tasks SET total = $1 WHERE task_id = $2 AND lease_owner = $3")
            .bind(total)
            .bind(task_id)
            .bind(owner)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Ends the task with a final status, releasing its lease. Only the lease owner can.
    pub async fn finish_task(
        &self,
        task_id: &str,
        owner: &str,
        status: TaskStatusEnum,
        outputs: Option<&Value>,
        error: Option<&str>,
    ) -> StoreResult<()> {
        let mut conn = self.pool.acquire().await?;
        let ending = TaskEnding {
            task_id,
            owner,
            status,
            outputs,
            error,
        };
        end_task(&mut conn, &ending).await
    }
}

/// How a leased task ends: [`Store::finish_task`], or inside another transaction (a
/// migration completes together with its task).
pub struct TaskEnding<'a> {
    pub task_id: &'a str,
    /// The worker that must still hold the lease.
    pub owner: &'a str,
    pub status: TaskStatusEnum,
    pub outputs: Option<&'a Value>,
    pub error: Option<&'a str>,
}

/// Ends the task as `ending` says, releasing its lease; [`StoreError::LeaseLost`] when
/// `ending.owner` no longer holds it.
pub(crate) async fn end_task(
    conn: &mut sqlx::AnyConnection,
    ending: &TaskEnding<'_>,
) -> StoreResult<()> {
    let now = now_micros();
    let updated = sqlx::query(
        "UPDATE tasks SET status = $1, outputs = $2, error = $3, lease_owner = NULL, \
         lease_expires_at = NULL, updated_at = $4, completed_at = $4 \
         WHERE task_id = $5 AND lease_owner = $6",
    )
    .bind(ending.status.as_str())
    .bind(ending.outputs.map(Value::to_string))
    .bind(ending.error)
    .bind(now)
    .bind(ending.task_id)
    .bind(ending.owner)
    .execute(&mut *conn)
    .await?;
    if updated.rows_affected() == 0 {
        return Err(StoreError::LeaseLost(format!(
            "task {} is no longer leased to this worker",
            ending.task_id
        )));
    }
    Ok(())
}
