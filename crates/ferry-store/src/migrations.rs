//! Namespace migrations: the migration rows (organization-scoped), the batches the engine
//! processes, the source → target id map, and the batch writes themselves.
//!
//! Status changes are compare-and-set (`WHERE status IN (<allowed>)`), so two racing
//! transitions cannot both win, and a change is committed before anyone reports it. A batch's
//! target rows and its `done` mark commit in one transaction, conditional on the caller still
//! holding the batch's lease; inserts skip rows that already exist, so a batch replayed after a
//! crash writes nothing twice (an extend overwrites the ones whose source row changed).

use ferry_wire::ErrorCode;
use serde_json::Value;
use sqlx::any::AnyRow;
use sqlx::Row;

use crate::buckets::parse_json;
use crate::documents::{DocumentRecord, NewDocument, SourceKind};
use crate::listing::{value_rows, Listing};
use crate::namespaces::NamespaceKey;
use crate::objects::{adjust_object_counts, ObjectRecord};
use crate::tasks::{insert_task, Task};
use crate::time::now_micros;
use crate::{vectors, Store, StoreError, StoreResult};

pub const BATCH_PENDING: &str = "pending";
pub const BATCH_LEASED: &str = "leased";
pub const BATCH_DONE: &str = "done";
pub const BATCH_FAILED: &str = "failed";

#[derive(Debug, Clone, PartialEq)]
pub struct MigrationRecord {
    pub migration_id: String,
    /// The owning organization's internal id.
    pub org_id: String,
    pub source_namespace_id: String,
    pub target_namespace_id: Option<String>,
    pub migration_type: String,
    pub status: String,
    /// `MigrationConfig` with defaults applied.
    pub config: Value,
    pub validation_result: Option<Value>,
    pub dependency_graph: Option<Value>,
    pub progress: Value,
    pub task_id: Option<String>,
    pub error_message: Option<String>,
    pub additional_data: Option<Value>,
    pub created_at: i64,
    pub started_at: Option<i64>,
    pub completed_at: Option<i64>,
    pub updated_at: i64,
}

#[derive(Debug, Clone, Default)]
pub struct MigrationListQuery {
    pub status: Option<String>,
    pub migration_type: Option<String>,
    pub source_namespace_id: Option<String>,
    pub limit: i64,
    pub offset: i64,
}

/// What a status change also sets; `None` leaves a column as it is.
#[derive(Debug, Clone, Default)]
pub struct StatusChange {
    pub task_id: Option<String>,
    pub started_at: Option<i64>,
    pub completed_at: Option<i64>,
    /// `Some(None)` clears the message.
    pub error_message: Option<Option<String>>,
    pub additional_data: Option<Value>,
    pub progress: Option<Value>,
}

/// A batch to persist: a keyset range of one source resource.
#[derive(Debug, Clone, PartialEq)]
pub struct NewBatch {
    pub resource_type: String,
    pub resource_id: String,
    /// Exclusive lower bound `(created_at, id)`; `None` from the start.
    pub after: Option<(i64, String)>,
    /// Inclusive upper bound.
    pub last: (i64, String),
    pub item_count: i64,
    /// What an extraction batch reads (`resource_type` `extract`): a source bucket, or an
    /// upstream collection of the target. `None` for copies.
    pub input_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct MigrationBatch {
    pub migration_id: String,
    pub batch_no: i64,
    pub batch: NewBatch,
    pub status: String,
    pub attempts: i64,
    pub error: Option<String>,
}

/// Batch counts of one migration, overall or per source resource.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BatchSummary {
    pub batches: i64,
    pub batches_done: i64,
    pub batches_failed: i64,
    pub items: i64,
    pub items_written: i64,
    pub items_failed: i64,
    /// Items the target already held unchanged (an incremental extend skips them).
    pub items_skipped: i64,
}

/// The `done` mark of a batch, committed with its writes. Items of the batch neither
/// written nor failed count as skipped.
#[derive(Debug, Clone, Copy)]
pub struct BatchDone<'a> {
    pub migration_id: &'a str,
    pub batch_no: i64,
    pub owner: &'a str,
    pub items_written: i64,
    pub items_failed: i64,
}

const COLUMNS: &str = "migration_id, org_id, source_namespace_id, target_namespace_id, \
     migration_type, status, config, validation_result, dependency_graph, progress, task_id, \
     error_message, additional_data, created_at, started_at, completed_at, updated_at";

const BATCH_COLUMNS: &str = "migration_id, batch_no, resource_type, resource_id, after_created, \
     after_id, last_created, last_id, item_count, status, attempts, error, input_id";

fn optional_json(row: &AnyRow, index: usize, column: &str) -> StoreResult<Option<Value>> {
    row.try_get::<Option<String>, _>(index)?
        .map(|text| parse_json(column, &text))
        .transpose()
}

fn migration_from_row(row: &AnyRow) -> StoreResult<MigrationRecord> {
    Ok(MigrationRecord {
        migration_id: row.try_get(0)?,
        org_id: row.try_get(1)?,
        source_namespace_id: row.try_get(2)?,
        target_namespace_id: row.try_get(3)?,
        migration_type: row.try_get(4)?,
        status: row.try_get(5)?,
        config: parse_json("config", &row.try_get::<String, _>(6)?)?,
        validation_result: optional_json(row, 7, "validation_result")?,
        dependency_graph: optional_json(row, 8, "dependency_graph")?,
        progress: parse_json("progress", &row.try_get::<String, _>(9)?)?,
        task_id: row.try_get(10)?,
        error_message: row.try_get(11)?,
        additional_data: optional_json(row, 12, "additional_data")?,
        created_at: row.try_get(13)?,
        started_at: row.try_get(14)?,
        completed_at: row.try_get(15)?,
        updated_at: row.try_get(16)?,
    })
}

fn batch_from_row(row: &AnyRow) -> StoreResult<MigrationBatch> {
    let after_created: Option<i64> = row.try_get(4)?;
    let after_id: Option<String> = row.try_get(5)?;
    Ok(MigrationBatch {
        migration_id: row.try_get(0)?,
        batch_no: row.try_get(1)?,
        batch: NewBatch {
            resource_type: row.try_get(2)?,
            resource_id: row.try_get(3)?,
            after: after_created.zip(after_id),
            last: (row.try_get(6)?, row.try_get(7)?),
            item_count: row.try_get(8)?,
            input_id: row.try_get(12)?,
        },
        status: row.try_get(9)?,
        attempts: row.try_get(10)?,
        error: row.try_get(11)?,
    })
}

fn not_found(migration_id: &str) -> StoreError {
    StoreError::NotFound {
        resource: "migration",
        id: migration_id.to_owned(),
    }
}

/// The migration's status is not one the change allows (it moved meanwhile).
fn status_changed(migration_id: &str, status: &str) -> StoreError {
    StoreError::Conflict {
        code: ErrorCode::StatusChanged,
        message: format!("migration {migration_id} is {status}"),
    }
}

fn in_list(first_param: usize, count: usize) -> String {
    (0..count)
        .map(|i| format!("${}", first_param + i))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Marks a leased batch done; the first write of a batch transaction, so SQLite takes its write
/// lock before anything is read. Fails with `lease_lost` when the lease is no longer ours.
/// Inserts `batches` numbered from `first_no`, several rows per statement.
async fn insert_batches(
    conn: &mut sqlx::AnyConnection,
    migration_id: &str,
    first_no: i64,
    batches: &[NewBatch],
) -> StoreResult<()> {
    let now = now_micros();
    for (chunk_no, chunk) in batches.chunks(COPY_ROWS_PER_STATEMENT).enumerate() {
        let rows = value_rows(chunk.len(), 4, 9, |p| format!("($1, {p}, $2, 0, $3)"));
        let sql = format!(
            "INSERT INTO migration_batches (migration_id, batch_no, resource_type, \
             resource_id, after_created, after_id, last_created, last_id, item_count, \
             input_id, status, attempts, updated_at) VALUES {rows}"
        );
        let mut insert = sqlx::query(&sql)
            .bind(migration_id)
            .bind(BATCH_PENDING)
            .bind(now);
        for (i, b) in chunk.iter().enumerate() {
            insert = insert
                .bind(first_no + (chunk_no * COPY_ROWS_PER_STATEMENT + i) as i64)
                .bind(&b.resource_type)
                .bind(&b.resource_id)
                .bind(b.after.as_ref().map(|a| a.0))
                .bind(b.after.as_ref().map(|a| a.1.clone()))
                .bind(b.last.0)
                .bind(&b.last.1)
                .bind(b.item_count)
                .bind(&b.input_id);
        }
        insert.execute(&mut *conn).await?;
    }
    Ok(())
}

async fn mark_batch_done(conn: &mut sqlx::AnyConnection, done: &BatchDone<'_>) -> StoreResult<()> {
    let marked = sqlx::query(
        "UPDATE migration_batches SET status = $1, items_written = $2, items_failed = $3, \
         items_skipped = CASE WHEN item_count > $2 + $3 THEN item_count - $2 - $3 ELSE 0 END, \
         lease_owner = NULL, lease_expires_at = NULL, error = NULL, updated_at = $4 \
         WHERE migration_id = $5 AND batch_no = $6 AND status = $7 AND lease_owner = $8",
    )
    .bind(BATCH_DONE)
    .bind(done.items_written)
    .bind(done.items_failed)
    .bind(now_micros())
    .bind(done.migration_id)
    .bind(done.batch_no)
    .bind(BATCH_LEASED)
    .bind(done.owner)
    .execute(&mut *conn)
    .await?;
    if marked.rows_affected() == 0 {
        return Err(StoreError::Conflict {
            code: ErrorCode::LeaseLost,
            message: format!(
                "batch {} of migration {} is no longer leased to this worker",
                done.batch_no, done.migration_id
            ),
        });
    }
    Ok(())
}

/// Adds `delta` to the organization's counters of one migration (in all, and for its status,
/// type and source namespace), in the caller's transaction.
async fn count_migration(
    conn: &mut sqlx::AnyConnection,
    org: &str,
    status: &str,
    migration_type: &str,
    source: &str,
    delta: i64,
) -> StoreResult<()> {
    for (dimension, value) in [
        ("all", ""),
        ("status", status),
        ("migration_type", migration_type),
        ("source_namespace_id", source),
    ] {
        adjust_count(conn, org, dimension, value, delta).await?;
    }
    Ok(())
}

async fn adjust_count(
    conn: &mut sqlx::AnyConnection,
    org: &str,
    dimension: &str,
    value: &str,
    delta: i64,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO migration_counts (org_id, dimension, value, count) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (org_id, dimension, value) \
         DO UPDATE SET count = migration_counts.count + excluded.count",
    )
    .bind(org)
    .bind(dimension)
    .bind(value)
    .bind(delta)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Rows per multi-row copy `INSERT` (12 parameters a row, far below either backend's limit).
const COPY_ROWS_PER_STATEMENT: usize = 64;

impl Store {
    /// Records a new migration, and counts it.
    pub async fn insert_migration(&self, m: &MigrationRecord) -> StoreResult<()> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(&format!(
            "INSERT INTO migrations ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, \
             $11, $12, $13, $14, $15, $16, $17)"
        ))
        .bind(&m.migration_id)
        .bind(&m.org_id)
        .bind(&m.source_namespace_id)
        .bind(&m.target_namespace_id)
        .bind(&m.migration_type)
        .bind(&m.status)
        .bind(m.config.to_string())
        .bind(m.validation_result.as_ref().map(Value::to_string))
        .bind(m.dependency_graph.as_ref().map(Value::to_string))
        .bind(m.progress.to_string())
        .bind(&m.task_id)
        .bind(&m.error_message)
        .bind(m.additional_data.as_ref().map(Value::to_string))
        .bind(m.created_at)
        .bind(m.started_at)
        .bind(m.completed_at)
        .bind(m.updated_at)
        .execute(&mut *tx)
        .await?;
        count_migration(
            &mut tx,
            &m.org_id,
            &m.status,
            &m.migration_type,
            &m.source_namespace_id,
            1,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The organization's migration; another organization's answers `NotFound`.
    pub async fn get_migration(
        &self,
        org: &str,
        migration_id: &str,
    ) -> StoreResult<MigrationRecord> {
        let row = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM migrations WHERE migration_id = $1 AND org_id = $2"
        ))
        .bind(migration_id)
        .bind(org)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref()
            .map(migration_from_row)
            .transpose()?
            .ok_or_else(|| not_found(migration_id))
    }

    /// A migration by id alone, for the engine (which holds its task's lease).
    pub async fn load_migration(&self, migration_id: &str) -> StoreResult<MigrationRecord> {
        let row = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM migrations WHERE migration_id = $1"
        ))
        .bind(migration_id)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref()
            .map(migration_from_row)
            .transpose()?
            .ok_or_else(|| not_found(migration_id))
    }

    /// Newest first; each filter narrows an index range (`(org, status | type | source,
    /// created_at)`), and the total counts the same range.
    pub async fn list_migrations(
        &self,
        org: &str,
        query: &MigrationListQuery,
    ) -> StoreResult<(Vec<MigrationRecord>, i64)> {
        let listing = Listing::default()
            .eq_text("org_id", Some(org))
            .eq_text("status", query.status.as_deref())
            .eq_text("migration_type", query.migration_type.as_deref())
            .eq_text("source_namespace_id", query.source_namespace_id.as_deref());
        let filters: Vec<(&str, &str)> = [
            ("status", query.status.as_deref()),
            ("migration_type", query.migration_type.as_deref()),
            ("source_namespace_id", query.source_namespace_id.as_deref()),
        ]
        .into_iter()
        .filter_map(|(d, v)| v.map(|v| (d, v)))
        .collect();
        let total = match filters.as_slice() {
            // No filter or one: a counter row. Several: counted within the first's range.
            [] | [_] => {
                let (dimension, value) = filters.first().copied().unwrap_or(("all", ""));
                sqlx::query_scalar::<_, i64>(
                    "SELECT count FROM migration_counts WHERE org_id = $1 AND dimension = $2 \
                     AND value = $3",
                )
                .bind(org)
                .bind(dimension)
                .bind(value)
                .fetch_optional(&self.pool)
                .await?
                .unwrap_or(0)
            }
            _ => listing.count(&self.pool, "migrations").await?,
        };
        let rows = listing
            .page(
                &self.pool,
                "migrations",
                COLUMNS,
                "created_at DESC, migration_id DESC",
                query.limit,
                query.offset,
            )
            .await?;
        let migrations = rows
            .iter()
            .map(migration_from_row)
            .collect::<StoreResult<Vec<_>>>()?;
        Ok((migrations, total))
    }

    /// Moves the migration from one of `from` to `to`, setting `change` with it. Fails with
    /// `Conflict { code: ErrorCode::StatusChanged }` when its status is no longer one of `from`.
    pub async fn set_migration_status(
        &self,
        migration_id: &str,
        from: &[&str],
        to: &str,
        change: StatusChange,
    ) -> StoreResult<MigrationRecord> {
        let mut tx = self.pool.begin().await?;
        let migration = set_status(&mut tx, migration_id, from, to, &change).await?;
        tx.commit().await?;
        Ok(migration)
    }

    /// The most recent completed migration of the organization from `source` into `target`
    /// (the one an `extend` continues from).
    pub async fn last_completed_migration(
        &self,
        org: &str,
        source: &str,
        target: &str,
    ) -> StoreResult<Option<MigrationRecord>> {
        let row = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM migrations WHERE org_id = $1 AND source_namespace_id = $2 \
             AND target_namespace_id = $3 AND status = 'completed' \
             ORDER BY completed_at DESC, migration_id DESC LIMIT 1"
        ))
        .bind(org)
        .bind(source)
        .bind(target)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(migration_from_row).transpose()
    }

    /// Starts (or restarts) the migration: a `PENDING` task of `task_type` and the status
    /// `pending` with that task's id, in one transaction.
    pub async fn start_migration(
        &self,
        migration_id: &str,
        from: &[&str],
        task_type: &str,
        force: bool,
        change: StatusChange,
    ) -> StoreResult<(MigrationRecord, Task)> {
        let current = self.load_migration(migration_id).await?;
        let mut tx = self.pool.begin().await?;
        let task = insert_task(
            &mut tx,
            &current.org_id,
            None,
            task_type,
            &serde_json::json!({"migration_id": migration_id, "force": force}),
        )
        .await?;
        let change = StatusChange {
            task_id: Some(task.task_id.clone()),
            ..change
        };
        let migration = set_status(&mut tx, migration_id, from, "pending", &change).await?;
        tx.commit().await?;
        Ok((migration, task))
    }

    /// Saves progress (and, when given, additional data and the target namespace) without
    /// touching the status.
    pub async fn save_migration_progress(
        &self,
        migration_id: &str,
        progress: &Value,
        additional_data: Option<&Value>,
        target_namespace_id: Option<&str>,
    ) -> StoreResult<()> {
        sqlx::query(
            "UPDATE migrations SET progress = $1, \
             additional_data = COALESCE($2, additional_data), \
             target_namespace_id = COALESCE($3, target_namespace_id), updated_at = $4 \
             WHERE migration_id = $5",
        )
        .bind(progress.to_string())
        .bind(additional_data.map(Value::to_string))
        .bind(target_namespace_id)
        .bind(now_micros())
        .bind(migration_id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Deletes the migration, its batches and id map, if its status is one of `from`.
    pub async fn delete_migration(
        &self,
        org: &str,
        migration_id: &str,
        from: &[&str],
    ) -> StoreResult<()> {
        let mut tx = self.pool.begin().await?;
        let sql = format!(
            "DELETE FROM migrations WHERE migration_id = $1 AND org_id = $2 AND status IN ({}) \
             RETURNING status, migration_type, source_namespace_id",
            in_list(3, from.len())
        );
        let mut delete = sqlx::query(&sql).bind(migration_id).bind(org);
        for s in from {
            delete = delete.bind(*s);
        }
        let Some(row) = delete.fetch_optional(&mut *tx).await? else {
            drop(tx);
            let current = self.get_migration(org, migration_id).await?;
            return Err(status_changed(migration_id, &current.status));
        };
        let (status, migration_type, source): (String, String, String) =
            (row.try_get(0)?, row.try_get(1)?, row.try_get(2)?);
        count_migration(&mut tx, org, &status, &migration_type, &source, -1).await?;
        for table in ["migration_batches", "migration_id_map"] {
            sqlx::query(&format!("DELETE FROM {table} WHERE migration_id = $1"))
                .bind(migration_id)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Replaces the migration's batches with `batches`, numbered from 0 in order.
    pub async fn replace_migration_batches(
        &self,
        migration_id: &str,
        batches: &[NewBatch],
    ) -> StoreResult<()> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("DELETE FROM migration_batches WHERE migration_id = $1")
            .bind(migration_id)
            .execute(&mut *tx)
            .await?;
        insert_batches(&mut tx, migration_id, 0, batches).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Adds `batches` after the migration's last batch (an extraction wave planned once its
    /// inputs are written), unless batches of their resource exist already (the wave was
    /// planned before a restart). Returns whether they were added.
    pub async fn append_migration_batches(
        &self,
        migration_id: &str,
        resource_id: &str,
        batches: &[NewBatch],
    ) -> StoreResult<bool> {
        let mut tx = self.pool.begin().await?;
        // A write first, so SQLite takes its write lock before reading.
        sqlx::query("UPDATE migrations SET updated_at = updated_at WHERE migration_id = $1")
            .bind(migration_id)
            .execute(&mut *tx)
            .await?;
        let existing: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM migration_batches WHERE migration_id = $1 AND resource_id = $2",
        )
        .bind(migration_id)
        .bind(resource_id)
        .fetch_one(&mut *tx)
        .await?;
        if existing > 0 {
            return Ok(false);
        }
        let next: Option<i64> = sqlx::query_scalar(
            "SELECT MAX(batch_no) FROM migration_batches WHERE migration_id = $1",
        )
        .bind(migration_id)
        .fetch_one(&mut *tx)
        .await?;
        insert_batches(&mut tx, migration_id, next.map_or(0, |n| n + 1), batches).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Leases the next runnable batch: pending, or leased with an expired lease (its worker
    /// died). Of several workers racing for one batch, exactly one conditional UPDATE wins.
    pub async fn claim_migration_batch(
        &self,
        migration_id: &str,
        owner: &str,
        lease_micros: i64,
    ) -> StoreResult<Option<MigrationBatch>> {
        let now = now_micros();
        loop {
            let candidates: Vec<i64> = sqlx::query_scalar(
                "SELECT batch_no FROM migration_batches WHERE migration_id = $1 \
                 AND (status = $2 OR (status = $3 AND lease_expires_at < $4)) \
                 ORDER BY batch_no LIMIT 8",
            )
            .bind(migration_id)
            .bind(BATCH_PENDING)
            .bind(BATCH_LEASED)
            .bind(now)
            .fetch_all(&self.pool)
            .await?;
            if candidates.is_empty() {
                return Ok(None);
            }
            for batch_no in candidates {
                let row = sqlx::query(&format!(
                    "UPDATE migration_batches SET status = $1, lease_owner = $2, \
                     lease_expires_at = $3, attempts = attempts + 1, updated_at = $4 \
                     WHERE migration_id = $5 AND batch_no = $6 \
                     AND (status = $7 OR (status = $1 AND lease_expires_at < $4)) \
                     RETURNING {BATCH_COLUMNS}"
                ))
                .bind(BATCH_LEASED)
                .bind(owner)
                .bind(now + lease_micros)
                .bind(now)
                .bind(migration_id)
                .bind(batch_no)
                .bind(BATCH_PENDING)
                .fetch_optional(&self.pool)
                .await?;
                if let Some(row) = row {
                    return batch_from_row(&row).map(Some);
                }
            }
        }
    }

    /// Gives a leased batch back after a failure: `pending` again to be retried, or `failed`
    /// for good (its items counted as failed).
    pub async fn release_failed_batch(
        &self,
        migration_id: &str,
        batch_no: i64,
        owner: &str,
        retry: bool,
        error: &str,
    ) -> StoreResult<()> {
        sqlx::query(
            "UPDATE migration_batches SET status = $1, error = $2, lease_owner = NULL, \
             lease_expires_at = NULL, items_failed = CASE WHEN $1 = 'failed' THEN item_count \
             ELSE 0 END, updated_at = $3 \
             WHERE migration_id = $4 AND batch_no = $5 AND lease_owner = $6",
        )
        .bind(if retry { BATCH_PENDING } else { BATCH_FAILED })
        .bind(error)
        .bind(now_micros())
        .bind(migration_id)
        .bind(batch_no)
        .bind(owner)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Makes every failed batch runnable again (a restarted migration retries them).
    pub async fn reset_failed_batches(&self, migration_id: &str) -> StoreResult<i64> {
        let reset = sqlx::query(
            "UPDATE migration_batches SET status = $1, attempts = 0, items_failed = 0, \
             error = NULL, updated_at = $2 WHERE migration_id = $3 AND status = $4",
        )
        .bind(BATCH_PENDING)
        .bind(now_micros())
        .bind(migration_id)
        .bind(BATCH_FAILED)
        .execute(&self.pool)
        .await?;
        Ok(reset.rows_affected() as i64)
    }

    /// Batch and item counts per source resource (`resource_id` → summary).
    pub async fn migration_batch_summary(
        &self,
        migration_id: &str,
    ) -> StoreResult<Vec<(String, BatchSummary)>> {
        let rows = sqlx::query(
            // PostgreSQL sums BIGINTs as NUMERIC, which the Any driver cannot read: cast.
            "SELECT resource_id, COUNT(*), \
             CAST(SUM(CASE WHEN status = 'done' THEN 1 ELSE 0 END) AS BIGINT), \
             CAST(SUM(CASE WHEN status = 'failed' THEN 1 ELSE 0 END) AS BIGINT), \
             CAST(SUM(item_count) AS BIGINT), CAST(SUM(items_written) AS BIGINT), \
             CAST(SUM(items_failed) AS BIGINT), CAST(SUM(items_skipped) AS BIGINT) \
             FROM migration_batches WHERE migration_id = $1 GROUP BY resource_id \
             ORDER BY resource_id",
        )
        .bind(migration_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok((
                    r.try_get(0)?,
                    BatchSummary {
                        batches: r.try_get(1)?,
                        batches_done: r.try_get(2)?,
                        batches_failed: r.try_get(3)?,
                        items: r.try_get(4)?,
                        items_written: r.try_get(5)?,
                        items_failed: r.try_get(6)?,
                        items_skipped: r.try_get(7)?,
                    },
                ))
            })
            .collect()
    }

    pub async fn map_migration_id(
        &self,
        migration_id: &str,
        resource_type: &str,
        source_id: &str,
        target_id: &str,
    ) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO migration_id_map (migration_id, resource_type, source_id, target_id) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (migration_id, resource_type, source_id) \
             DO NOTHING",
        )
        .bind(migration_id)
        .bind(resource_type)
        .bind(source_id)
        .bind(target_id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The id map: `(resource_type, source_id, target_id)`.
    pub async fn migration_id_map(
        &self,
        migration_id: &str,
    ) -> StoreResult<Vec<(String, String, String)>> {
        let rows = sqlx::query(
            "SELECT resource_type, source_id, target_id FROM migration_id_map \
             WHERE migration_id = $1 ORDER BY resource_type, source_id",
        )
        .bind(migration_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?)))
            .collect()
    }

    /// Writes copied objects into the target bucket and marks the batch done, in one
    /// transaction. Ids already in the target are skipped, or, with `refresh_changed`,
    /// overwritten when the source's copy is newer and differs. Returns how many objects
    /// were written.
    pub async fn copy_objects_batch(
        &self,
        target: NamespaceKey,
        bucket_id: &str,
        objects: &[ObjectRecord],
        refresh_changed: bool,
        done: &BatchDone<'_>,
    ) -> StoreResult<i64> {
        let mut tx = self.pool.begin().await?;
        let (mut created, mut refreshed, mut bytes) = (0i64, 0i64, 0i64);
        let mut inserted = std::collections::HashSet::new();
        for chunk in objects.chunks(COPY_ROWS_PER_STATEMENT) {
            let rows = value_rows(chunk.len(), 3, 10, |p| format!("($1, $2, {p})"));
            let sql = format!(
                "INSERT INTO objects (ns_key, bucket_id, object_id, key_prefix, blobs, fields, \
                 size_bytes, status, error, document_count, created_at, updated_at) \
                 VALUES {rows} ON CONFLICT (ns_key, object_id) DO NOTHING \
                 RETURNING object_id, size_bytes"
            );
            let mut insert = sqlx::query(&sql).bind(target.0).bind(bucket_id);
            for object in chunk {
                insert = insert
                    .bind(&object.object_id)
                    .bind(&object.key_prefix)
                    .bind(object.blobs.to_string())
                    .bind(Value::Object(object.fields.clone()).to_string())
                    .bind(object.size_bytes)
                    .bind(&object.status)
                    .bind(&object.error)
                    .bind(object.document_count)
                    .bind(object.created_at)
                    .bind(object.updated_at);
            }
            for row in insert.fetch_all(&mut *tx).await? {
                let id: String = row.try_get(0)?;
                bytes += row.try_get::<i64, _>(1)?;
                created += 1;
                inserted.insert(id);
            }
        }
        for object in objects {
            if !refresh_changed || inserted.contains(&object.object_id) {
                continue;
            }
            let fields = Value::Object(object.fields.clone()).to_string();
            let held: Option<i64> = sqlx::query_scalar(
                "SELECT size_bytes FROM objects WHERE ns_key = $1 AND bucket_id = $2 \
                 AND object_id = $3 AND updated_at < $4 AND (fields <> $5 OR blobs <> $6)",
            )
            .bind(target.0)
            .bind(bucket_id)
            .bind(&object.object_id)
            .bind(object.updated_at)
            .bind(&fields)
            .bind(object.blobs.to_string())
            .fetch_optional(&mut *tx)
            .await?;
            let Some(old_size) = held else { continue };
            sqlx::query(
                "UPDATE objects SET key_prefix = $1, blobs = $2, fields = $3, size_bytes = $4, \
                 status = $5, error = $6, updated_at = $7 \
                 WHERE ns_key = $8 AND bucket_id = $9 AND object_id = $10",
            )
            .bind(&object.key_prefix)
            .bind(object.blobs.to_string())
            .bind(&fields)
            .bind(object.size_bytes)
            .bind(&object.status)
            .bind(&object.error)
            .bind(object.updated_at)
            .bind(target.0)
            .bind(bucket_id)
            .bind(&object.object_id)
            .execute(&mut *tx)
            .await?;
            refreshed += 1;
            bytes += object.size_bytes - old_size;
        }
        adjust_object_counts(&mut tx, target, bucket_id, created, bytes).await?;
        mark_batch_done(
            &mut tx,
            &BatchDone {
                items_written: created + refreshed,
                ..*done
            },
        )
        .await?;
        tx.commit().await?;
        Ok(created + refreshed)
    }

    /// Copies the documents of one batch range of `(after, last]` from the source collection
    /// into the target collection and marks the batch done, in one transaction. Ids already
    /// in the target are skipped, or, with `refresh_changed`, overwritten when the source's
    /// row is newer (`updated_at`) and differs. Returns how many documents were written.
    ///
    /// Rows are copied by the database itself (`INSERT … SELECT`), with ids and lineage
    /// remapped in SQL by [`ItemIds`], so vectors and fields never travel through this process.
    /// Rows whose fields match one of `rewrite_when` (SQL `LIKE` patterns, e.g. documents that
    /// carry taxonomy results naming other documents) are read, passed through `rewrite`, and
    /// written back instead.
    #[allow(clippy::too_many_arguments)]
    pub async fn copy_documents_range(
        &self,
        source: (NamespaceKey, &str),
        target: (NamespaceKey, &str),
        range: (Option<(i64, &str)>, (i64, &str)),
        ids: &ItemIds,
        root_buckets: &[(String, String)],
        rewrite_when: &[&str],
        rewrite: impl Fn(DocumentRecord) -> DocumentRecord,
        refresh_changed: bool,
        done: &BatchDone<'_>,
    ) -> StoreResult<i64> {
        let (after, last) = range;
        let (after_created, after_id) = after.unwrap_or((i64::MIN, ""));
        let mut tx = self.pool.begin().await?;
        // $1..$8: target, source, range; $9: the id tag (when ids are derived); then the
        // patterns, then the bucket pairs. PostgreSQL refuses unused parameters, so each is
        // numbered only when the statement uses it.
        let id = |column: &str| ids.sql(self.backend, column, "$9");
        let mut next = if ids.tag.is_some() { 10 } else { 9 };
        let patterns: Vec<String> = rewrite_when
            .iter()
            .map(|_| {
                next += 1;
                format!("fields LIKE ${}", next - 1)
            })
            .collect();
        let excluded = |table: &str| {
            if patterns.is_empty() {
                String::new()
            } else {
                let qualified: Vec<String> =
                    patterns.iter().map(|p| format!("{table}{p}")).collect();
                format!("AND NOT ({})", qualified.join(" OR "))
            }
        };
        let mut refreshed = 0i64;
        if refresh_changed {
            // Rows the target holds from an earlier run whose source row was rewritten since
            // with different content (a re-trigger rewrites rows unchanged: those stay).
            let sql = format!(
                "UPDATE documents AS t SET fields = s.fields, vectors = s.vectors, \
                 chunk_index = s.chunk_index, updated_at = s.updated_at FROM documents AS s \
                 WHERE t.ns_key = $1 AND t.collection_id = $2 AND s.ns_key = $3 \
                 AND s.collection_id = $4 AND (s.created_at, s.document_id) > ($5, $6) \
                 AND (s.created_at, s.document_id) <= ($7, $8) AND t.document_id = {} \
                 AND t.updated_at < s.updated_at AND (t.fields <> s.fields OR t.vectors <> s.vectors) \
                 {}",
                ids.sql(self.backend, "s.document_id", "$9"),
                excluded("s."),
            );
            let mut update = sqlx::query(&sql)
                .bind(target.0 .0)
                .bind(target.1)
                .bind(source.0 .0)
                .bind(source.1)
                .bind(after_created)
                .bind(after_id)
                .bind(last.0)
                .bind(last.1);
            if let Some(tag) = &ids.tag {
                update = update.bind(tag.clone());
            }
            for pattern in rewrite_when {
                update = update.bind(*pattern);
            }
            refreshed += update.execute(&mut *tx).await?.rows_affected() as i64;
        }
        let bucket_cases: Vec<String> = root_buckets
            .iter()
            .map(|_| {
                next += 2;
                format!("WHEN ${} THEN ${}", next - 2, next - 1)
            })
            .collect();
        let root_bucket = if bucket_cases.is_empty() {
            "root_bucket_id".to_owned()
        } else {
            format!(
                "CASE root_bucket_id {} ELSE root_bucket_id END",
                bucket_cases.join(" ")
            )
        };
        let sql = format!(
            "INSERT INTO documents (ns_key, collection_id, document_id, source_object_id, \
             root_object_id, source_document_id, root_bucket_id, chunk_index, fields, vectors, \
             created_at, updated_at) \
             SELECT $1, $2, {}, {}, {}, {}, {root_bucket}, chunk_index, fields, vectors, \
             created_at, updated_at FROM documents WHERE ns_key = $3 AND collection_id = $4 \
             AND (created_at, document_id) > ($5, $6) AND (created_at, document_id) <= ($7, $8) \
             {} ON CONFLICT (ns_key, collection_id, document_id) DO NOTHING",
            id("document_id"),
            id("source_object_id"),
            id("root_object_id"),
            id("source_document_id"),
            excluded(""),
        );
        let mut copy = sqlx::query(&sql)
            .bind(target.0 .0)
            .bind(target.1)
            .bind(source.0 .0)
            .bind(source.1)
            .bind(after_created)
            .bind(after_id)
            .bind(last.0)
            .bind(last.1);
        if let Some(tag) = &ids.tag {
            copy = copy.bind(tag.clone());
        }
        for pattern in rewrite_when {
            copy = copy.bind(*pattern);
        }
        for (from, to) in root_buckets {
            copy = copy.bind(from).bind(to);
        }
        let mut created = copy.execute(&mut *tx).await?.rows_affected() as i64;
        if !patterns.is_empty() {
            let select = format!(
                "SELECT {} FROM documents WHERE ns_key = $1 AND collection_id = $2 \
                 AND (created_at, document_id) > ($3, $4) \
                 AND (created_at, document_id) <= ($5, $6) AND ({})",
                crate::documents::COLUMNS,
                patterns
                    .iter()
                    .enumerate()
                    .map(|(i, _)| format!("fields LIKE ${}", 7 + i))
                    .collect::<Vec<_>>()
                    .join(" OR ")
            );
            let mut rows = sqlx::query(&select)
                .bind(source.0 .0)
                .bind(source.1)
                .bind(after_created)
                .bind(after_id)
                .bind(last.0)
                .bind(last.1);
            for pattern in rewrite_when {
                rows = rows.bind(*pattern);
            }
            let documents = rows
                .fetch_all(&mut *tx)
                .await?
                .iter()
                .map(crate::documents::document_from_row)
                .map(|d| d.map(&rewrite))
                .collect::<StoreResult<Vec<_>>>()?;
            let (new, changed) =
                insert_copied_documents(&mut tx, target.0, target.1, &documents, refresh_changed)
                    .await?;
            created += new;
            refreshed += changed;
        }
        crate::documents::adjust_counts(&mut tx, target.0, target.1, created).await?;
        mark_batch_done(
            &mut tx,
            &BatchDone {
                items_written: created + refreshed,
                ..*done
            },
        )
        .await?;
        tx.commit().await?;
        Ok(created + refreshed)
    }

    /// Writes the documents an extraction batch made into the target collection (replacing
    /// what the same source items made before) and marks the batch done, in one transaction.
    #[allow(clippy::too_many_arguments)]
    pub async fn write_extracted_batch(
        &self,
        target: NamespaceKey,
        collection_id: &str,
        kind: SourceKind,
        sources: &[String],
        docs: &[NewDocument],
        done: &BatchDone<'_>,
    ) -> StoreResult<()> {
        let mut tx = self.pool.begin().await?;
        // The done mark first: a write, so SQLite takes its lock before anything is read.
        mark_batch_done(&mut tx, done).await?;
        crate::documents::replace_source_documents(
            &mut tx,
            target,
            collection_id,
            kind,
            sources,
            docs,
            now_micros(),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Items of a target bucket (`SourceKind::Object`) or collection (`Document`) that a
    /// migration copied there with ids tagged `tag` (see [`ItemIds`]) and whose source item
    /// no longer exists: how many, and up to `sample` of their target ids. With `apply` they
    /// are deleted (counters kept) in the same transaction.
    pub async fn items_gone_from_source(
        &self,
        kind: SourceKind,
        source: (NamespaceKey, &str),
        target: (NamespaceKey, &str),
        tag: &str,
        apply: bool,
        sample: i64,
    ) -> StoreResult<(i64, Vec<String>)> {
        let (table, id, parent) = match kind {
            SourceKind::Object => ("objects", "object_id", "bucket_id"),
            SourceKind::Document => ("documents", "document_id", "collection_id"),
        };
        // `<prefix>_<tag><rest>` (or `<tag><id>` without a prefix) back to the source id;
        // the tag is hex, so its length is a safe literal.
        let position = format!("{}(t.{id}, '_')", self.backend.position_fn());
        let len = tag.len();
        let gone = format!(
            "FROM {table} t WHERE t.ns_key = $1 AND t.{parent} = $2 \
             AND substr(t.{id}, {position} + 1, {len}) = $5 AND NOT EXISTS (\
             SELECT 1 FROM {table} s WHERE s.ns_key = $3 AND s.{parent} = $4 \
             AND s.{id} = substr(t.{id}, 1, {position}) || substr(t.{id}, {position} + 1 + {len}))"
        );
        fn bind<'q>(
            sql: &'q str,
            (target, source, tag): ((NamespaceKey, &'q str), (NamespaceKey, &'q str), &'q str),
        ) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>> {
            sqlx::query(sql)
                .bind(target.0 .0)
                .bind(target.1)
                .bind(source.0 .0)
                .bind(source.1)
                .bind(tag)
        }
        let keys = (target, source, tag);
        let mut tx = self.pool.begin().await?;
        if apply {
            // A write first, so SQLite takes its lock before the reads below.
            sqlx::query("UPDATE namespaces SET updated_at = updated_at WHERE ns_key = $1")
                .bind(target.0 .0)
                .execute(&mut *tx)
                .await?;
        }
        let sum = if kind == SourceKind::Object {
            "t.size_bytes"
        } else {
            "0"
        };
        let totals_sql = format!("SELECT COUNT(*), CAST(COALESCE(SUM({sum}), 0) AS BIGINT) {gone}");
        let totals = bind(&totals_sql, keys).fetch_one(&mut *tx).await?;
        let (count, bytes): (i64, i64) = (totals.try_get(0)?, totals.try_get(1)?);
        let sample_sql = format!("SELECT t.{id} {gone} ORDER BY t.{id} LIMIT {sample}");
        let ids: Vec<String> = bind(&sample_sql, keys)
            .fetch_all(&mut *tx)
            .await?
            .iter()
            .map(|r| r.try_get(0))
            .collect::<Result<_, _>>()?;
        if apply && count > 0 {
            let delete_sql = format!(
                "DELETE FROM {table} WHERE ns_key = $1 AND {parent} = $2 AND {id} IN \
                 (SELECT t.{id} {gone})"
            );
            let deleted = bind(&delete_sql, keys)
                .execute(&mut *tx)
                .await?
                .rows_affected() as i64;
            match kind {
                SourceKind::Object => {
                    adjust_object_counts(&mut tx, target.0, target.1, -deleted, -bytes).await?
                }
                SourceKind::Document => {
                    crate::documents::adjust_counts(&mut tx, target.0, target.1, -deleted).await?
                }
            }
        }
        tx.commit().await?;
        Ok((count, ids))
    }
}

/// Inserts copied documents (keeping their timestamps), skipping ids already present, or
/// with `refresh_changed` overwriting those the target holds in an older version; returns
/// how many were new and how many were overwritten.
async fn insert_copied_documents(
    conn: &mut sqlx::AnyConnection,
    target: NamespaceKey,
    collection_id: &str,
    documents: &[DocumentRecord],
    refresh_changed: bool,
) -> StoreResult<(i64, i64)> {
    let mut refreshed = 0i64;
    if refresh_changed {
        for doc in documents {
            refreshed += sqlx::query(
                "UPDATE documents SET fields = $1, vectors = $2, chunk_index = $3, \
                 updated_at = $4 WHERE ns_key = $5 AND collection_id = $6 \
                 AND document_id = $7 AND updated_at < $4 AND (fields <> $1 OR vectors <> $2)",
            )
            .bind(Value::Object(doc.fields.clone()).to_string())
            .bind(vectors::encode(&doc.vectors))
            .bind(doc.chunk_index)
            .bind(doc.updated_at)
            .bind(target.0)
            .bind(collection_id)
            .bind(&doc.document_id)
            .execute(&mut *conn)
            .await?
            .rows_affected() as i64;
        }
    }
    let mut created = 0i64;
    for chunk in documents.chunks(COPY_ROWS_PER_STATEMENT) {
        let rows = value_rows(chunk.len(), 3, 10, |p| format!("($1, $2, {p})"));
        let sql = format!(
            "INSERT INTO documents (ns_key, collection_id, document_id, source_object_id, \
             root_object_id, source_document_id, root_bucket_id, chunk_index, fields, vectors, \
             created_at, updated_at) VALUES {rows} \
             ON CONFLICT (ns_key, collection_id, document_id) DO NOTHING"
        );
        let mut insert = sqlx::query(&sql).bind(target.0).bind(collection_id);
        for doc in chunk {
            insert = insert
                .bind(&doc.document_id)
                .bind(&doc.lineage.source_object_id)
                .bind(&doc.lineage.root_object_id)
                .bind(&doc.lineage.source_document_id)
                .bind(&doc.lineage.root_bucket_id)
                .bind(doc.chunk_index)
                .bind(Value::Object(doc.fields.clone()).to_string())
                .bind(vectors::encode(&doc.vectors))
                .bind(doc.created_at)
                .bind(doc.updated_at);
        }
        created += insert.execute(&mut *conn).await?.rows_affected() as i64;
    }
    Ok((created, refreshed))
}

/// How a migration derives item (object and document) ids: kept (`tag` = `None`), or
/// `<prefix>_<tag><rest>` from a source id `<prefix>_<rest>`, where `tag` is fixed per
/// migration. Deterministic and unique (source ids are unique), and computable in SQL, so a
/// batch can be copied by the database without its rows passing through the process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemIds {
    pub tag: Option<String>,
}

impl ItemIds {
    /// The target id of `source_id`.
    pub fn map(&self, source_id: &str) -> String {
        match (&self.tag, source_id.split_once('_')) {
            (None, _) => source_id.to_owned(),
            (Some(tag), Some((prefix, rest))) => format!("{prefix}_{tag}{rest}"),
            (Some(tag), None) => format!("{tag}{source_id}"),
        }
    }

    /// The same mapping as an SQL expression over `column`, with the tag bound at `tag_param`.
    fn sql(&self, backend: crate::Backend, column: &str, tag_param: &str) -> String {
        if self.tag.is_none() {
            return column.to_owned();
        }
        let position = format!("{}({column}, '_')", backend.position_fn());
        format!(
            "CASE WHEN {column} IS NULL THEN NULL WHEN {position} = 0 THEN {tag_param} || {column} \
             ELSE substr({column}, 1, {position}) || {tag_param} || substr({column}, {position} + 1) END"
        )
    }
}

async fn set_status(
    conn: &mut sqlx::AnyConnection,
    migration_id: &str,
    from: &[&str],
    to: &str,
    change: &StatusChange,
) -> StoreResult<MigrationRecord> {
    // A write first, so SQLite takes its write lock before reading (a read-then-write
    // transaction could otherwise fail to upgrade its lock under a concurrent writer).
    sqlx::query("UPDATE migrations SET updated_at = updated_at WHERE migration_id = $1")
        .bind(migration_id)
        .execute(&mut *conn)
        .await?;
    let current: Option<(String, String)> =
        sqlx::query("SELECT status, org_id FROM migrations WHERE migration_id = $1")
            .bind(migration_id)
            .fetch_optional(&mut *conn)
            .await?
            .map(|r| Ok::<_, sqlx::Error>((r.try_get(0)?, r.try_get(1)?)))
            .transpose()?;
    let Some((status, org)) = current else {
        return Err(not_found(migration_id));
    };
    if !from.contains(&status.as_str()) {
        return Err(status_changed(migration_id, &status));
    }
    let error_set = change.error_message.is_some();
    // Conditional on the status read above: a transition raced by another one fails here
    // instead of overwriting it (and the counters stay exact).
    let row = sqlx::query(&format!(
        "UPDATE migrations SET status = $1, task_id = COALESCE($2, task_id), \
         started_at = COALESCE($3, started_at), completed_at = COALESCE($4, completed_at), \
         error_message = CASE WHEN $5 = 1 THEN $6 ELSE error_message END, \
         additional_data = COALESCE($7, additional_data), progress = COALESCE($8, progress), \
         updated_at = $9 WHERE migration_id = $10 AND status = $11 RETURNING {COLUMNS}"
    ))
    .bind(to)
    .bind(&change.task_id)
    .bind(change.started_at)
    .bind(change.completed_at)
    .bind(i64::from(error_set))
    .bind(change.error_message.clone().flatten())
    .bind(change.additional_data.as_ref().map(Value::to_string))
    .bind(change.progress.as_ref().map(Value::to_string))
    .bind(now_micros())
    .bind(migration_id)
    .bind(&status)
    .fetch_optional(&mut *conn)
    .await?;
    let Some(row) = row else {
        return Err(status_changed(
            migration_id,
            "being changed by another request",
        ));
    };
    let migration = migration_from_row(&row)?;
    if status != to {
        adjust_count(conn, &org, "status", &status, -1).await?;
        adjust_count(conn, &org, "status", to, 1).await?;
    }
    Ok(migration)
}
