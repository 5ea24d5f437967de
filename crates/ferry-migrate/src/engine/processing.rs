//! Stage 3, `batch_processing`: up to `max_workers` leased batches in flight, each retried
//! with backoff or marked failed; and the same batches run by engines that help (see
//! [`Engine::help`]), in any process on the store.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use ferry_store::{BatchSummary, MigrationBatch, MigrationKey};
use ferry_wire::migration::{MigrationStage, MigrationStatus};
use tokio::task::JoinSet;

use super::batch::BatchContext;
use super::progress::{StageCounts, PROGRESS_INTERVAL};
use super::run::Run;
use super::Engine;
use crate::error::MigrateError;

/// Attempts a batch gets when `retry_failed` is set (the first included).
const MAX_BATCH_ATTEMPTS: i64 = 3;

impl Engine {
    /// Stage 3: up to `max_workers` batches in flight.
    pub(super) async fn batch_processing(&self, run: &mut Run) -> Result<(), MigrateError> {
        let context = Arc::new(self.batch_context(run).await?);
        let mut planned = HashSet::new();
        loop {
            self.drain_batches(run, &context).await?;
            if !self.plan_wave(run, &mut planned).await? {
                break;
            }
        }
        self.update_processing_progress(run).await?;
        let totals = self.batch_totals(run).await?;
        if totals.batches_failed > 0 {
            // Failed for good (after any retries): the migration fails, and `start` re-runs
            // only these batches.
            return Err(MigrateError::BatchesFailed {
                failed: totals.batches_failed,
                total: totals.batches,
                items: totals.items_failed,
            });
        }
        self.finish_stage(
            run,
            MigrationStage::BatchProcessing,
            StageCounts {
                total: totals.items as u64,
                completed: totals.items_written as u64,
                failed: totals.items_failed as u64,
            },
        )
        .await
    }

    /// Runs the migration's runnable batches, up to `max_workers` at once, until none is
    /// left to claim or retry.
    async fn drain_batches(
        &self,
        run: &mut Run,
        context: &Arc<BatchContext>,
    ) -> Result<(), MigrateError> {
        let options = run.config.batch_options_or_default();
        let workers = options.max_workers.clamp(1, 50) as usize;
        let mut in_flight: JoinSet<Result<(), MigrateError>> = JoinSet::new();
        let mut exhausted = false;
        // Progress (a summary over every batch) and the task lease are refreshed on a clock,
        // not per batch: with small batches a per-batch summary made the run quadratic. The
        // cancel check (one row) stays per batch.
        let report_every = PROGRESS_INTERVAL.min(self.config.lease / 3);
        let mut reported = std::time::Instant::now();
        loop {
            while !exhausted && in_flight.len() < workers.min(self.config.batch_concurrency) {
                match self
                    .store
                    .claim_migration_batch(
                        run.key(),
                        &self.worker_id,
                        self.config.lease.as_micros() as i64,
                        workers as i64,
                    )
                    .await?
                {
                    Some(batch) => {
                        let engine = self.clone();
                        let context = Arc::clone(context);
                        let retry = options.retry_failed;
                        in_flight
                            .spawn(async move { engine.process(batch, &context, retry).await });
                    }
                    None => exhausted = true,
                }
            }
            if in_flight.is_empty() {
                // Nothing running and nothing claimable: done, unless a batch is still leased
                // elsewhere (by a worker that died: its lease runs out, then it is claimable).
                let totals = self.batch_totals(run).await?;
                if totals.batches == totals.batches_done + totals.batches_failed {
                    break;
                }
                self.ensure_running(run).await?;
                self.renew(&run.task).await?;
                tokio::time::sleep(self.config.retry_backoff).await;
                exhausted = false;
                continue;
            }
            let Some(joined) = in_flight.join_next().await else {
                continue;
            };
            joined.map_err(|e| MigrateError::Worker(e.to_string()))??;
            if reported.elapsed() >= report_every {
                self.update_processing_progress(run).await?;
                self.renew(&run.task).await?;
                reported = std::time::Instant::now();
            }
            if let Err(stopped) = self.ensure_running(run).await {
                // Let the batches in flight finish (each is one transaction), then stop.
                while in_flight.join_next().await.is_some() {}
                return Err(stopped);
            }
            // A batch given back for a retry (after its backoff) is claimable again.
            exhausted = false;
        }
        Ok(())
    }

    /// Helps run a migration whose task another engine holds (in this process or another):
    /// claims its batches one at a time, within its `max_workers` counted over every
    /// process, until none is left to claim or it stops running. Stages, waves of a
    /// multi-tier re_extract and progress stay with the task's holder. Returns how many
    /// batches this engine ran.
    pub(super) async fn help(&self, key: MigrationKey) -> Result<u64, MigrateError> {
        let migration = self.store.get_migration(key.org(), key.id()).await?;
        if migration.status != MigrationStatus::InProgress {
            return Ok(0);
        }
        let task_id = migration.task_id.clone().unwrap_or_default();
        let task = self.store.get_task(key.org(), &task_id).await?;
        let run = self
            .load_run(&task, migration, &mut crate::webhooks::Notifier::disabled())
            .await?;
        let context = self.batch_context(&run).await?;
        let options = run.config.batch_options_or_default();
        let workers = options.max_workers.clamp(1, 50) as i64;
        let lease = self.config.lease.as_micros() as i64;
        let mut ran = 0;
        while let Some(batch) = self
            .store
            .claim_migration_batch(run.key(), &self.worker_id, lease, workers)
            .await?
        {
            self.process(batch, &context, options.retry_failed).await?;
            ran += 1;
            if self.ensure_running(&run).await.is_err() {
                break;
            }
        }
        Ok(ran)
    }

    /// Batch and item counts per source resource.
    pub(super) async fn batch_summaries(
        &self,
        run: &Run,
    ) -> Result<HashMap<String, BatchSummary>, MigrateError> {
        Ok(self
            .store
            .migration_batch_summary(run.key())
            .await?
            .into_iter()
            .collect())
    }

    /// Batch and item counts of the whole migration.
    pub(super) async fn batch_totals(&self, run: &Run) -> Result<BatchSummary, MigrateError> {
        let per_resource = self.store.migration_batch_summary(run.key()).await?;
        Ok(per_resource
            .iter()
            .fold(BatchSummary::default(), |acc, (_, s)| BatchSummary {
                batches: acc.batches + s.batches,
                batches_done: acc.batches_done + s.batches_done,
                batches_failed: acc.batches_failed + s.batches_failed,
                items: acc.items + s.items,
                items_written: acc.items_written + s.items_written,
                items_failed: acc.items_failed + s.items_failed,
                items_skipped: acc.items_skipped + s.items_skipped,
            }))
    }

    /// Runs one batch; a failure gives the batch back for a retry (with backoff) or marks it
    /// failed for good. A lease lost to another worker is that worker's batch now.
    async fn process(
        &self,
        batch: MigrationBatch,
        context: &BatchContext,
        retry: bool,
    ) -> Result<(), MigrateError> {
        let started = std::time::Instant::now();
        let written = self.copy_batch(&batch, context).await;
        crate::metered::batch(&batch.batch, started, written.is_ok());
        match written {
            Ok(()) => Ok(()),
            Err(e) if e.is_lease_lost() => Ok(()),
            Err(e) => {
                let again = retry && batch.attempts < MAX_BATCH_ATTEMPTS;
                tracing::warn!(batch = batch.batch_no, attempts = batch.attempts, error = %e,
                               retry = again, "migration batch failed");
                if again {
                    let wait = self.config.retry_backoff * 2u32.pow(batch.attempts as u32 - 1);
                    tokio::time::sleep(wait).await;
                }
                self.store
                    .release_failed_batch(
                        &context.key,
                        batch.batch_no,
                        &self.worker_id,
                        again,
                        &e.to_string(),
                    )
                    .await?;
                Ok(())
            }
        }
    }
}
