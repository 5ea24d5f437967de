//! A migration's batches: keyset ranges of one source resource each, leased to one worker at
//! a time, marked done in the transaction that writes their rows.

use sqlx::any::AnyRow;
use sqlx::Row;

use super::MigrationKey;
use crate::listing::value_rows;
use crate::row::parse_text;
use crate::time::now_micros;
use crate::{Store, StoreError, StoreResult};

/// Rows per multi-row batch `INSERT`.
const BATCHES_PER_STATEMENT: usize = 64;

/// Declares a status-like enum stored as text: its names, `as_str` and `FromStr`.
macro_rules! stored_text {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name { $($(#[$vdoc])* $variant),+ }

        impl $name {
            pub fn as_str(self) -> &'static str {
                match self { $(Self::$variant => $text),+ }
            }
        }

        impl std::str::FromStr for $name {
            type Err = ();
            fn from_str(s: &str) -> Result<Self, ()> {
                match s { $($text => Ok(Self::$variant),)+ _ => Err(()) }
            }
        }
    };
}

stored_text!(
    /// Where a batch stands.
    BatchStatus {
        /// Waiting to be claimed (again, after a retryable failure).
        Pending => "pending",
        /// Claimed by one worker until its lease expires.
        Leased => "leased",
        /// Written, with its counts.
        Done => "done",
        /// Failed for good; a restart makes it pending again.
        Failed => "failed",
    }
);

stored_text!(
    /// What a batch does (the `resource_type` column).
    BatchKind {
        /// Copies a source bucket's objects.
        Objects => "objects",
        /// Copies a source collection's documents.
        Documents => "documents",
        /// Runs a rebuilt collection's extractor over its inputs (re_extract).
        Extract => "extract",
    }
);

/// A batch to persist: a keyset range of one source resource.
#[derive(Debug, Clone, PartialEq)]
pub struct NewBatch {
    pub kind: BatchKind,
    pub resource_id: String,
    /// Exclusive lower bound `(created_at, id)`; `None` from the start.
    pub after: Option<(i64, String)>,
    /// Inclusive upper bound.
    pub last: (i64, String),
    pub item_count: i64,
    /// What an extraction batch reads ([`BatchKind::Extract`]): a source bucket, or an
    /// upstream collection of the target. `None` for copies.
    pub input_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct MigrationBatch {
    pub migration_id: String,
    pub batch_no: i64,
    pub batch: NewBatch,
    pub status: BatchStatus,
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
    pub migration: &'a MigrationKey,
    pub batch_no: i64,
    pub owner: &'a str,
    pub items_written: i64,
    pub items_failed: i64,
}

const BATCH_COLUMNS: &str = "migration_id, batch_no, resource_type, resource_id, after_created, \
     after_id, last_created, last_id, item_count, status, attempts, error, input_id";

fn batch_from_row(row: &AnyRow) -> StoreResult<MigrationBatch> {
    let after_created: Option<i64> = row.try_get(4)?;
    let after_id: Option<String> = row.try_get(5)?;
    Ok(MigrationBatch {
        migration_id: row.try_get(0)?,
        batch_no: row.try_get(1)?,
        batch: NewBatch {
            kind: parse_text(row, 2, "resource_type")?,
            resource_id: row.try_get(3)?,
            after: after_created.zip(after_id),
            last: (row.try_get(6)?, row.try_get(7)?),
            item_count: row.try_get(8)?,
            input_id: row.try_get(12)?,
        },
        status: parse_text(row, 9, "status")?,
        attempts: row.try_get(10)?,
        error: row.try_get(11)?,
    })
}

/// Inserts `batches` numbered from `first_no`, several rows per statement.
async fn insert_batches(
    conn: &mut sqlx::AnyConnection,
    migration_id: &str,
    first_no: i64,
    batches: &[NewBatch],
) -> StoreResult<()> {
    let now = now_micros();
    for (chunk_no, chunk) in batches.chunks(BATCHES_PER_STATEMENT).enumerate() {
        let rows = value_rows(chunk.len(), 4, 9, |p| format!("($1, {p}, $2, 0, $3)"));
        let sql = format!(
            "INSERT INTO migration_batches (migration_id, batch_no, resource_type, \
             resource_id, after_created, after_id, last_created, last_id, item_count, \
             input_id, status, attempts, updated_at) VALUES {rows}"
        );
        let mut insert = sqlx::query(&sql)
            .bind(migration_id)
            .bind(BatchStatus::Pending.as_str())
            .bind(now);
        for (i, b) in chunk.iter().enumerate() {
            insert = insert
                .bind(first_no + (chunk_no * BATCHES_PER_STATEMENT + i) as i64)
                .bind(b.kind.as_str())
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

pub(super) async fn mark_batch_done(
    conn: &mut sqlx::AnyConnection,
    done: &BatchDone<'_>,
) -> StoreResult<()> {
    let marked = sqlx::query(
        "UPDATE migration_batches SET status = $1, items_written = $2, items_failed = $3, \
         items_skipped = CASE WHEN item_count > $2 + $3 THEN item_count - $2 - $3 ELSE 0 END, \
         lease_owner = NULL, lease_expires_at = NULL, error = NULL, updated_at = $4, \
         done_by = $8 \
         WHERE migration_id = $5 AND batch_no = $6 AND status = $7 AND lease_owner = $8",
    )
    .bind(BatchStatus::Done.as_str())
    .bind(done.items_written)
    .bind(done.items_failed)
    .bind(now_micros())
    .bind(done.migration.id())
    .bind(done.batch_no)
    .bind(BatchStatus::Leased.as_str())
    .bind(done.owner)
    .execute(&mut *conn)
    .await?;
    if marked.rows_affected() == 0 {
        return Err(StoreError::LeaseLost(format!(
            "batch {} of migration {} is no longer leased to this worker",
            done.batch_no,
            done.migration.id()
        )));
    }
    Ok(())
}

impl Store {
    /// Replaces the migration's batches with `batches`, numbered from 0 in order.
    pub async fn replace_migration_batches(
        &self,
        key: &MigrationKey,
        batches: &[NewBatch],
    ) -> StoreResult<()> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("DELETE FROM migration_batches WHERE migration_id = $1")
            .bind(key.id())
            .execute(&mut *tx)
            .await?;
        insert_batches(&mut tx, key.id(), 0, batches).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Adds `batches` after the migration's last batch (an extraction wave planned once its
    /// inputs are written), unless batches of their resource exist already (the wave was
    /// planned before a restart). Returns whether they were added.
    pub async fn append_migration_batches(
        &self,
        key: &MigrationKey,
        resource_id: &str,
        batches: &[NewBatch],
    ) -> StoreResult<bool> {
        let mut tx = self.pool.begin().await?;
        // A write first, so SQLite takes its write lock before reading.
        sqlx::query("UPDATE migrations SET updated_at = updated_at WHERE migration_id = $1")
            .bind(key.id())
            .execute(&mut *tx)
            .await?;
        let existing: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM migration_batches WHERE migration_id = $1 AND resource_id = $2",
        )
        .bind(key.id())
        .bind(resource_id)
        .fetch_one(&mut *tx)
        .await?;
        if existing > 0 {
            return Ok(false);
        }
        let next: Option<i64> = sqlx::query_scalar(
            "SELECT MAX(batch_no) FROM migration_batches WHERE migration_id = $1",
        )
        .bind(key.id())
        .fetch_one(&mut *tx)
        .await?;
        insert_batches(&mut tx, key.id(), next.map_or(0, |n| n + 1), batches).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Leases the next runnable batch (pending, or leased with an expired lease: its worker
    /// died) to `owner`, unless `max_leased` batches of the migration are leased already, by
    /// any process. Claims of one migration are serialized on its row, so the limit holds
    /// across processes and exactly one claimer gets each batch.
    pub async fn claim_migration_batch(
        &self,
        key: &MigrationKey,
        owner: &str,
        lease_micros: i64,
        max_leased: i64,
    ) -> StoreResult<Option<MigrationBatch>> {
        let now = now_micros();
        let mut tx = self.pool.begin().await?;
        // A write first: PostgreSQL queues concurrent claimers here, SQLite takes its lock.
        sqlx::query("UPDATE migrations SET updated_at = updated_at WHERE migration_id = $1")
            .bind(key.id())
            .execute(&mut *tx)
            .await?;
        let leased: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM migration_batches WHERE migration_id = $1 AND status = $2 \
             AND lease_expires_at >= $3",
        )
        .bind(key.id())
        .bind(BatchStatus::Leased.as_str())
        .bind(now)
        .fetch_one(&mut *tx)
        .await?;
        if leased >= max_leased {
            return Ok(None);
        }
        let row = sqlx::query(&format!(
            "UPDATE migration_batches SET status = $1, lease_owner = $2, \
             lease_expires_at = $3, attempts = attempts + 1, updated_at = $4 \
             WHERE migration_id = $5 AND batch_no = (\
                 SELECT MIN(batch_no) FROM migration_batches WHERE migration_id = $5 \
                 AND (status = $6 OR (status = $1 AND lease_expires_at < $4))) \
             RETURNING {BATCH_COLUMNS}"
        ))
        .bind(BatchStatus::Leased.as_str())
        .bind(owner)
        .bind(now + lease_micros)
        .bind(now)
        .bind(key.id())
        .bind(BatchStatus::Pending.as_str())
        .fetch_optional(&mut *tx)
        .await?;
        let claimed = row.as_ref().map(batch_from_row).transpose()?;
        tx.commit().await?;
        Ok(claimed)
    }

    /// An `in_progress` migration with a batch to claim (a running migration that another
    /// process's engine can help with), any organization's: engines serve every tenant.
    pub async fn migration_with_runnable_batches(&self) -> StoreResult<Option<MigrationKey>> {
        let row = sqlx::query(
            "SELECT m.org_id, m.migration_id FROM migrations m WHERE m.status = 'in_progress' \
             AND EXISTS (SELECT 1 FROM migration_batches b WHERE b.migration_id = m.migration_id \
                 AND (b.status = $1 OR (b.status = $2 AND b.lease_expires_at < $3))) \
             ORDER BY m.started_at LIMIT 1",
        )
        .bind(BatchStatus::Pending.as_str())
        .bind(BatchStatus::Leased.as_str())
        .bind(now_micros())
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| {
            Ok(MigrationKey {
                org_id: r.try_get(0)?,
                migration_id: r.try_get(1)?,
            })
        })
        .transpose()
    }

    /// How many of the migration's batches each worker wrote, by worker id.
    pub async fn migration_batches_done_by(
        &self,
        key: &MigrationKey,
    ) -> StoreResult<Vec<(String, i64)>> {
        self.migration_pairs(
            key,
            "SELECT done_by, COUNT(*) FROM migration_batches WHERE migration_id = $1 \
             AND done_by IS NOT NULL GROUP BY done_by ORDER BY done_by",
        )
        .await
    }

    /// Gives a leased batch back after a failure: `pending` again to be retried, or `failed`
    /// for good (its items counted as failed).
    pub async fn release_failed_batch(
        &self,
        key: &MigrationKey,
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
        .bind(if retry {
            BatchStatus::Pending.as_str()
        } else {
            BatchStatus::Failed.as_str()
        })
        .bind(error)
        .bind(now_micros())
        .bind(key.id())
        .bind(batch_no)
        .bind(owner)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Makes every failed batch runnable again (a restarted migration retries them).
    pub async fn reset_failed_batches(&self, key: &MigrationKey) -> StoreResult<i64> {
        let reset = sqlx::query(
            "UPDATE migration_batches SET status = $1, attempts = 0, items_failed = 0, \
             error = NULL, updated_at = $2 WHERE migration_id = $3 AND status = $4",
        )
        .bind(BatchStatus::Pending.as_str())
        .bind(now_micros())
        .bind(key.id())
        .bind(BatchStatus::Failed.as_str())
        .execute(&self.pool)
        .await?;
        Ok(reset.rows_affected() as i64)
    }

    /// Batch and item counts per source resource (`resource_id` → summary).
    pub async fn migration_batch_summary(
        &self,
        key: &MigrationKey,
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
        .bind(key.id())
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
}
