//! Whole-store figures for operators (`GET /metrics`): how many tasks and migrations are in
//! each status across every organization, and how busy the connection pool is. Nothing here
//! is tenant data: counts only, no ids or names.

use sqlx::Row;

use crate::{Store, StoreResult};

/// The connection pool at one instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolUsage {
    /// Connections open (idle or lent out).
    pub open: u32,
    /// Open connections waiting in the pool.
    pub idle: u32,
    /// The most the pool will open.
    pub max: u32,
}

impl Store {
    /// `(status, count)` of every task status present. Served by the `tasks_runnable` index,
    /// whose leading column is the status.
    pub async fn task_status_counts(&self) -> StoreResult<Vec<(String, i64)>> {
        self.counts("SELECT status, COUNT(*) FROM tasks GROUP BY status")
            .await
    }

    /// `(status, count)` of every migration status present, summed from the per-organization
    /// counters that list totals read, so the cost does not grow with the number of migrations.
    pub async fn migration_status_counts(&self) -> StoreResult<Vec<(String, i64)>> {
        self.counts(
            "SELECT value, CAST(SUM(count) AS BIGINT) FROM migration_counts \
             WHERE dimension = 'status' GROUP BY value",
        )
        .await
    }

    /// The `(text, count)` rows of a grouping query.
    async fn counts(&self, sql: &str) -> StoreResult<Vec<(String, i64)>> {
        let rows = sqlx::query(sql).fetch_all(&self.pool).await?;
        Ok(rows
            .iter()
            .map(|r| (r.get::<String, _>(0), r.get::<i64, _>(1)))
            .collect())
    }

    /// The pool's size now; no query.
    pub fn pool_usage(&self) -> PoolUsage {
        PoolUsage {
            open: self.pool.size(),
            idle: self.pool.num_idle() as u32,
            max: self.pool.options().get_max_connections(),
        }
    }
}
