//! Namespace migrations: the migration rows (organization-scoped), the batches the engine
//! processes ([`batches`]), the source → target id map ([`id_map`]), and the batch writes
//! themselves ([`writes`]).
//!
//! Statuses cross this boundary typed ([`MigrationStatus`], [`BatchStatus`]); the strings
//! exist only in the rows. Status changes are compare-and-set (`WHERE status = <read>` after
//! checking it against the allowed `from` list), so two racing transitions cannot both win, a
//! lost race is [`StoreError::StatusChanged`] carrying the status met, and a change is
//! committed before anyone reports it. A batch's target rows and its `done` mark commit in one
//! transaction, conditional on the caller still holding the batch's lease; inserts skip rows
//! that already exist, so a batch replayed after a crash writes nothing twice (an extend
//! overwrites the ones whose source row changed).
//!
//! Every function on one migration's rows takes a [`MigrationKey`], which only an
//! organization-scoped read or insert makes: the migration-side counterpart of
//! [`NamespaceKey`](crate::NamespaceKey).

mod batches;
mod catch_up;
mod id_map;
mod writes;

pub use batches::{BatchDone, BatchKind, BatchStatus, BatchSummary, MigrationBatch, NewBatch};
pub use id_map::ItemIds;

use ferry_wire::migration::{MigrationStatus, MigrationType};
use serde_json::Value;
use sqlx::any::AnyRow;
use sqlx::Row;

use crate::listing::Listing;
use crate::row::{optional_json, parse_json, parse_text};
use crate::tasks::{insert_task, Task};
use crate::time::now_micros;
use crate::{Store, StoreError, StoreResult};

/// One organization's migration, proved: only the store makes one, from a read or insert
/// scoped by the organization, so whoever holds it may act on that migration's rows.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct MigrationKey {
    org_id: String,
    migration_id: String,
}

impl MigrationKey {
    /// `mig_…`.
    pub fn id(&self) -> &str {
        &self.migration_id
    }

    /// The owning organization's internal id.
    pub fn org(&self) -> &str {
        &self.org_id
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct MigrationRecord {
    pub key: MigrationKey,
    pub source_namespace_id: String,
    pub target_namespace_id: Option<String>,
    pub migration_type: MigrationType,
    pub status: MigrationStatus,
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

impl MigrationRecord {
    pub fn migration_id(&self) -> &str {
        self.key.id()
    }

    pub fn org_id(&self) -> &str {
        self.key.org()
    }
}

/// A migration to record: not started, no target yet.
#[derive(Debug, Clone, PartialEq)]
pub struct NewMigration {
    pub migration_id: String,
    pub source_namespace_id: String,
    pub migration_type: MigrationType,
    pub status: MigrationStatus,
    pub config: Value,
    pub validation_result: Option<Value>,
    pub dependency_graph: Option<Value>,
    pub progress: Value,
    /// Also its first `updated_at`.
    pub created_at: i64,
}

#[derive(Debug, Clone, Default)]
pub struct MigrationListQuery {
    pub status: Option<MigrationStatus>,
    pub migration_type: Option<MigrationType>,
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

const COLUMNS: &str = "migration_id, org_id, source_namespace_id, target_namespace_id, \
     migration_type, status, config, validation_result, dependency_graph, progress, task_id, \
     error_message, additional_data, created_at, started_at, completed_at, updated_at";

fn migration_from_row(row: &AnyRow) -> StoreResult<MigrationRecord> {
    Ok(MigrationRecord {
        key: MigrationKey {
            migration_id: row.try_get(0)?,
            org_id: row.try_get(1)?,
        },
        source_namespace_id: row.try_get(2)?,
        target_namespace_id: row.try_get(3)?,
        migration_type: parse_text(row, 4, "migration_type")?,
        status: parse_text(row, 5, "status")?,
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

fn not_found(migration_id: &str) -> StoreError {
    StoreError::NotFound {
        resource: "migration",
        id: migration_id.to_owned(),
    }
}

fn in_list(first_param: usize, count: usize) -> String {
    (0..count)
        .map(|i| format!("${}", first_param + i))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Adds `delta` to the organization's counters of one migration (in all, and for its status,
/// type and source namespace), in the caller's transaction.
async fn count_migration(
    conn: &mut sqlx::AnyConnection,
    org: &str,
    status: MigrationStatus,
    migration_type: &str,
    source: &str,
    delta: i64,
) -> StoreResult<()> {
    for (dimension, value) in [
        ("all", ""),
        ("status", status.as_str()),
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

impl Store {
    /// The `(text, number)` pairs `sql` selects for the migration (`$1` is its id).
    pub(crate) async fn migration_pairs<C: FromIterator<(String, i64)>>(
        &self,
        key: &MigrationKey,
        sql: &str,
    ) -> StoreResult<C> {
        let rows = sqlx::query(sql)
            .bind(key.id())
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
            .collect()
    }

    /// Records a new migration of `org`, and counts it.
    pub async fn insert_migration(
        &self,
        org: &str,
        m: NewMigration,
    ) -> StoreResult<MigrationRecord> {
        let mut tx = self.pool.begin().await?;
        let row = sqlx::query(&format!(
            "INSERT INTO migrations ({COLUMNS}) VALUES ($1, $2, $3, NULL, $4, $5, $6, $7, $8, $9, \
             NULL, NULL, NULL, $10, NULL, NULL, $10) RETURNING {COLUMNS}"
        ))
        .bind(&m.migration_id)
        .bind(org)
        .bind(&m.source_namespace_id)
        .bind(m.migration_type.as_str())
        .bind(m.status.as_str())
        .bind(m.config.to_string())
        .bind(m.validation_result.as_ref().map(Value::to_string))
        .bind(m.dependency_graph.as_ref().map(Value::to_string))
        .bind(m.progress.to_string())
        .bind(m.created_at)
        .fetch_one(&mut *tx)
        .await?;
        count_migration(
            &mut tx,
            org,
            m.status,
            m.migration_type.as_str(),
            &m.source_namespace_id,
            1,
        )
        .await?;
        tx.commit().await?;
        migration_from_row(&row)
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

    /// The migration's status alone: what a running engine checks between batches.
    pub async fn migration_status(&self, key: &MigrationKey) -> StoreResult<MigrationStatus> {
        let row =
            sqlx::query("SELECT status FROM migrations WHERE migration_id = $1 AND org_id = $2")
                .bind(key.id())
                .bind(key.org())
                .fetch_optional(&self.pool)
                .await?;
        match row {
            Some(row) => parse_text(&row, 0, "status"),
            None => Err(not_found(key.id())),
        }
    }

    /// Newest first; each filter narrows an index range (`(org, status | type | source,
    /// created_at)`), and the total counts the same range.
    pub async fn list_migrations(
        &self,
        org: &str,
        query: &MigrationListQuery,
    ) -> StoreResult<(Vec<MigrationRecord>, i64)> {
        let status = query.status.map(MigrationStatus::as_str);
        let migration_type = query.migration_type.map(MigrationType::as_str);
        let listing = Listing::default()
            .eq_text("org_id", Some(org))
            .eq_text("status", status)
            .eq_text("migration_type", migration_type)
            .eq_text("source_namespace_id", query.source_namespace_id.as_deref());
        let filters: Vec<(&str, &str)> = [
            ("status", status),
            ("migration_type", migration_type),
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
    /// [`StoreError::StatusChanged`] when its status is no longer one of `from`.
    pub async fn set_migration_status(
        &self,
        key: &MigrationKey,
        from: &[MigrationStatus],
        to: MigrationStatus,
        change: StatusChange,
    ) -> StoreResult<MigrationRecord> {
        let mut tx = self.pool.begin().await?;
        let migration = set_status(&mut tx, key, from, to, &change).await?;
        tx.commit().await?;
        Ok(migration)
    }

    /// Moves the migration to `to` (from one of `from`) and ends its task as `task` says, in
    /// one transaction, so nobody reads a settled migration whose task still runs. When the
    /// task is no longer leased to `task.owner` ([`StoreError::LeaseLost`]), neither changes:
    /// another worker drives the migration now.
    pub async fn settle_migration(
        &self,
        key: &MigrationKey,
        from: &[MigrationStatus],
        to: MigrationStatus,
        change: StatusChange,
        task: &crate::tasks::TaskEnding<'_>,
    ) -> StoreResult<MigrationRecord> {
        let mut tx = self.pool.begin().await?;
        let migration = set_status(&mut tx, key, from, to, &change).await?;
        crate::tasks::end_task(&mut tx, task).await?;
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
             AND target_namespace_id = $3 AND status = $4 \
             ORDER BY completed_at DESC, migration_id DESC LIMIT 1"
        ))
        .bind(org)
        .bind(source)
        .bind(target)
        .bind(MigrationStatus::Completed.as_str())
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(migration_from_row).transpose()
    }

    /// Starts (or restarts) the migration: a `PENDING` task of `task_type` and the status
    /// `pending` with that task's id, in one transaction.
    pub async fn start_migration(
        &self,
        key: &MigrationKey,
        from: &[MigrationStatus],
        task_type: &str,
        force: bool,
        change: StatusChange,
    ) -> StoreResult<(MigrationRecord, Task)> {
        let mut tx = self.pool.begin().await?;
        let task = insert_task(
            &mut tx,
            key.org(),
            None,
            task_type,
            &serde_json::json!({"migration_id": key.id(), "force": force}),
        )
        .await?;
        let change = StatusChange {
            task_id: Some(task.task_id.clone()),
            ..change
        };
        let migration = set_status(&mut tx, key, from, MigrationStatus::Pending, &change).await?;
        tx.commit().await?;
        Ok((migration, task))
    }

    /// Saves progress (and, when given, additional data and the target namespace) without
    /// touching the status.
    pub async fn save_migration_progress(
        &self,
        key: &MigrationKey,
        progress: &Value,
        additional_data: Option<&Value>,
        target_namespace_id: Option<&str>,
    ) -> StoreResult<()> {
        sqlx::query(
            "UPDATE migrations SET progress = $1, \
             additional_data = COALESCE($2, additional_data), \
             target_namespace_id = COALESCE($3, target_namespace_id), updated_at = $4 \
             WHERE migration_id = $5 AND org_id = $6",
        )
        .bind(progress.to_string())
        .bind(additional_data.map(Value::to_string))
        .bind(target_namespace_id)
        .bind(now_micros())
        .bind(key.id())
        .bind(key.org())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Deletes the migration, its batches and id map, if its status is one of `from`.
    pub async fn delete_migration(
        &self,
        key: &MigrationKey,
        from: &[MigrationStatus],
    ) -> StoreResult<()> {
        let mut tx = self.pool.begin().await?;
        let sql = format!(
            "DELETE FROM migrations WHERE migration_id = $1 AND org_id = $2 AND status IN ({}) \
             RETURNING status, migration_type, source_namespace_id",
            in_list(3, from.len())
        );
        let mut delete = sqlx::query(&sql).bind(key.id()).bind(key.org());
        for s in from {
            delete = delete.bind(s.as_str());
        }
        let Some(row) = delete.fetch_optional(&mut *tx).await? else {
            drop(tx);
            let current = self.get_migration(key.org(), key.id()).await?;
            return Err(StoreError::StatusChanged {
                migration_id: key.id().to_owned(),
                current: Some(current.status),
            });
        };
        let status: MigrationStatus = parse_text(&row, 0, "status")?;
        let (migration_type, source): (String, String) = (row.try_get(1)?, row.try_get(2)?);
        count_migration(&mut tx, key.org(), status, &migration_type, &source, -1).await?;
        for table in ["migration_batches", "migration_id_map"] {
            sqlx::query(&format!("DELETE FROM {table} WHERE migration_id = $1"))
                .bind(key.id())
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }
}

async fn set_status(
    conn: &mut sqlx::AnyConnection,
    key: &MigrationKey,
    from: &[MigrationStatus],
    to: MigrationStatus,
    change: &StatusChange,
) -> StoreResult<MigrationRecord> {
    // A write first, so SQLite takes its write lock before reading (a read-then-write
    // transaction could otherwise fail to upgrade its lock under a concurrent writer).
    sqlx::query(
        "UPDATE migrations SET updated_at = updated_at WHERE migration_id = $1 AND org_id = $2",
    )
    .bind(key.id())
    .bind(key.org())
    .execute(&mut *conn)
    .await?;
    let row = sqlx::query("SELECT status FROM migrations WHERE migration_id = $1 AND org_id = $2")
        .bind(key.id())
        .bind(key.org())
        .fetch_optional(&mut *conn)
        .await?;
    let Some(row) = row else {
        return Err(not_found(key.id()));
    };
    let status: MigrationStatus = parse_text(&row, 0, "status")?;
    if !from.contains(&status) {
        return Err(StoreError::StatusChanged {
            migration_id: key.id().to_owned(),
            current: Some(status),
        });
    }
    let error_set = change.error_message.is_some();
    // Conditional on the status read above: a transition raced by another one fails here
    // instead of overwriting it (and the counters stay exact).
    let row = sqlx::query(&format!(
        "UPDATE migrations SET status = $1, task_id = COALESCE($2, task_id), \
         started_at = COALESCE($3, started_at), completed_at = COALESCE($4, completed_at), \
         error_message = CASE WHEN $5 = 1 THEN $6 ELSE error_message END, \
         additional_data = COALESCE($7, additional_data), progress = COALESCE($8, progress), \
         updated_at = $9 WHERE migration_id = $10 AND org_id = $11 AND status = $12 \
         RETURNING {COLUMNS}"
    ))
    .bind(to.as_str())
    .bind(&change.task_id)
    .bind(change.started_at)
    .bind(change.completed_at)
    .bind(i64::from(error_set))
    .bind(change.error_message.clone().flatten())
    .bind(change.additional_data.as_ref().map(Value::to_string))
    .bind(change.progress.as_ref().map(Value::to_string))
    .bind(now_micros())
    .bind(key.id())
    .bind(key.org())
    .bind(status.as_str())
    .fetch_optional(&mut *conn)
    .await?;
    let Some(row) = row else {
        // Another change won between the read and the write.
        return Err(StoreError::StatusChanged {
            migration_id: key.id().to_owned(),
            current: None,
        });
    };
    let migration = migration_from_row(&row)?;
    if status != to {
        adjust_count(conn, key.org(), "status", status.as_str(), -1).await?;
        adjust_count(conn, key.org(), "status", to.as_str(), 1).await?;
    }
    Ok(migration)
}
