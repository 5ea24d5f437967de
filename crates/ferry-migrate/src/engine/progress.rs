//! Progress: per-stage status and counts, weighted into the overall percentage, saved as
//! each stage advances. The arithmetic ([`overall_percent`], [`processing_stage`]) is pure and
//! unit-tested; the engine methods apply it to a [`Run`] and save it.

use std::time::Duration;

use chrono::{DateTime, Utc};
use ferry_store::tasks::TaskEnding;
use ferry_store::{BatchSummary, StatusChange};
use ferry_wire::migration::{
    MigrationProgress, MigrationStage, MigrationStatus, ResourceProgress, StageProgress,
};
use ferry_wire::task::TaskStatusEnum;
use serde_json::{json, Value};

use super::run::Run;
use super::{now_micros, Engine};
use crate::error::MigrateError;
use crate::lifecycle::Action;

/// How often a running stage saves its progress and renews its task's lease (at most; a
/// third of the lease when that is shorter).
pub(super) const PROGRESS_INTERVAL: Duration = Duration::from_millis(500);

/// Share of the overall progress each stage stands for (sums to 100).
const STAGE_WEIGHTS: [f64; 7] = [5.0, 5.0, 80.0, 3.0, 3.0, 1.0, 3.0];

/// The overall percentage: the stages' percentages weighted by [`STAGE_WEIGHTS`], never
/// below what was reported before (a resumed run never reports less than it did).
pub(super) fn overall_percent(progress: &MigrationProgress) -> f64 {
    let weighted: f64 = progress
        .stages
        .iter()
        .zip(STAGE_WEIGHTS)
        .map(|(s, w)| w * s.progress_percent / 100.0)
        .sum();
    progress.overall_progress_percent.max(weighted.min(100.0))
}

/// `batch_processing`'s counts from the per-resource batch summaries, each resource's own
/// progress, and the completion time the throughput so far predicts (`now` is the clock).
pub(super) fn processing_stage(
    progress: &mut MigrationProgress,
    per_resource: &[(String, BatchSummary)],
    now: DateTime<Utc>,
) {
    let (mut items, mut written, mut failed) = (0i64, 0i64, 0i64);
    for (resource_id, s) in per_resource {
        items += s.items;
        written += s.items_written;
        failed += s.items_failed;
        if let Some(r) = progress
            .resources
            .iter_mut()
            .find(|r| &r.resource_id == resource_id)
        {
            r.progress_percent = percent(s.items_written + s.items_failed, s.items);
            r.status = if s.batches_done + s.batches_failed == s.batches {
                MigrationStatus::Completed
            } else {
                MigrationStatus::InProgress
            };
        }
    }
    let stage = &mut progress.stages[MigrationStage::BatchProcessing.index()];
    stage.items_total = items as u64;
    stage.items_completed = written as u64;
    stage.items_failed = failed as u64;
    stage.progress_percent = percent(written + failed, items);
    if let (Some(started), true) = (stage.started_at, written > 0) {
        let elapsed = (now - started).num_milliseconds().max(1) as f64;
        let remaining = (items - written - failed).max(0) as f64;
        let rest_ms = remaining * elapsed / written as f64;
        progress.estimated_completion = Some(now + chrono::Duration::milliseconds(rest_ms as i64));
    }
}

/// The run's progress as stored.
fn progress_value(run: &Run) -> Result<Value, MigrateError> {
    serde_json::to_value(&run.progress).map_err(|e| MigrateError::Corrupt(format!("progress: {e}")))
}

/// `done` of `total` in percent; an empty total is complete.
fn percent(done: i64, total: i64) -> f64 {
    if total == 0 {
        100.0
    } else {
        100.0 * done as f64 / total as f64
    }
}

/// Marks `stage` completed with its counts.
/// What a finished stage counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct StageCounts {
    pub total: u64,
    pub completed: u64,
    pub failed: u64,
}

impl StageCounts {
    /// `n` items, all completed.
    pub(super) fn all(n: u64) -> Self {
        StageCounts {
            total: n,
            completed: n,
            failed: 0,
        }
    }
}

fn complete(stage: &mut StageProgress, counts: StageCounts) {
    stage.status = MigrationStatus::Completed;
    stage.completed_at = Some(Utc::now());
    stage.items_total = counts.total;
    stage.items_completed = counts.completed;
    stage.items_failed = counts.failed;
    stage.progress_percent = 100.0;
}

/// Every resource of the plan, pending: what `namespace_setup` starts from.
pub(super) fn pending_resources(run: &Run) -> Vec<ResourceProgress> {
    run.graph
        .nodes
        .iter()
        .map(|n| ResourceProgress {
            resource_id: n.resource_id.clone(),
            resource_type: n.resource_type,
            status: MigrationStatus::Pending,
            progress_percent: 0.0,
            error_message: None,
        })
        .collect()
}

impl Engine {
    /// Saves the run's progress (and `additional` data, and the target once known).
    pub(super) async fn save(
        &self,
        run: &mut Run,
        additional: Option<&Value>,
    ) -> Result<(), MigrateError> {
        run.progress.overall_progress_percent = overall_percent(&run.progress);
        let value = progress_value(run)?;
        self.store
            .save_migration_progress(
                run.key(),
                &value,
                additional,
                run.migration.target_namespace_id.as_deref(),
            )
            .await?;
        Ok(())
    }

    pub(super) async fn begin_stage(
        &self,
        run: &mut Run,
        stage: MigrationStage,
    ) -> Result<(), MigrateError> {
        let s = &mut run.progress.stages[stage.index()];
        s.status = MigrationStatus::InProgress;
        s.started_at = s.started_at.or_else(|| Some(Utc::now()));
        run.progress.current_stage = Some(stage);
        self.save(run, None).await
    }

    /// Completes `stage` with its counts, queues its `migration.stage_completed` event, saves.
    pub(super) async fn finish_stage(
        &self,
        run: &mut Run,
        stage: MigrationStage,
        counts: StageCounts,
    ) -> Result<(), MigrateError> {
        self.record_stage_completed(run, stage, counts);
        self.save(run, None).await
    }

    /// Completes `stage` in the run's progress and queues its event, without saving.
    pub(super) fn record_stage_completed(
        &self,
        run: &mut Run,
        stage: MigrationStage,
        counts: StageCounts,
    ) {
        complete(&mut run.progress.stages[stage.index()], counts);
        let event = json!({"migration_id": run.migration.migration_id(), "stage": stage,
                           "items_total": counts.total, "items_completed": counts.completed,
                           "items_failed": counts.failed});
        run.completed_stages.push(event);
    }

    /// Completes the migration (`Action::Complete`) with its final progress and `additional`
    /// data, which the run keeps for its `migration.completed` event.
    /// Completes the migration and ends its task as `COMPLETED` in the same transaction, so
    /// a client that sees the migration completed finds its task completed too.
    pub(super) async fn complete(
        &self,
        run: &mut Run,
        additional: Value,
    ) -> Result<(), MigrateError> {
        let progress = progress_value(run)?;
        let outputs = json!({"migration_id": run.key().id(), "status": MigrationStatus::Completed});
        self.store
            .settle_migration(
                run.key(),
                Action::Complete.allowed_from(),
                MigrationStatus::Completed,
                StatusChange {
                    completed_at: Some(now_micros()),
                    additional_data: Some(additional.clone()),
                    progress: Some(progress),
                    ..Default::default()
                },
                &TaskEnding {
                    task_id: &run.task.task_id,
                    owner: &self.worker_id,
                    status: TaskStatusEnum::Completed,
                    outputs: Some(&outputs),
                    error: None,
                },
            )
            .await?;
        run.additional_data = Some(additional);
        run.task_ended = true;
        Ok(())
    }

    pub(super) async fn update_processing_progress(
        &self,
        run: &mut Run,
    ) -> Result<(), MigrateError> {
        let per_resource = self.store.migration_batch_summary(run.key()).await?;
        processing_stage(&mut run.progress, &per_resource, Utc::now());
        self.save(run, None).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary(batches: i64, done: i64, items: i64, written: i64) -> BatchSummary {
        BatchSummary {
            batches,
            batches_done: done,
            items,
            items_written: written,
            ..Default::default()
        }
    }

    #[test]
    fn the_overall_percentage_weighs_the_stages_and_never_goes_back() {
        let mut p = MigrationProgress::new(MigrationStatus::InProgress);
        assert_eq!(overall_percent(&p), 0.0);
        p.stages[0].progress_percent = 100.0;
        p.stages[1].progress_percent = 100.0;
        assert_eq!(overall_percent(&p), 10.0);
        p.stages[2].progress_percent = 50.0;
        assert_eq!(overall_percent(&p), 50.0);
        // A resumed run that reports less keeps what was reported.
        p.overall_progress_percent = 60.0;
        assert_eq!(overall_percent(&p), 60.0);
        for s in &mut p.stages {
            s.progress_percent = 100.0;
        }
        assert_eq!(overall_percent(&p), 100.0);
        assert_eq!(STAGE_WEIGHTS.iter().sum::<f64>(), 100.0);
    }

    #[test]
    fn processing_progress_sums_the_resources_and_completes_the_finished_ones() {
        let mut p = MigrationProgress::new(MigrationStatus::InProgress);
        for id in ["bkt_a", "col_b"] {
            p.resources.push(ResourceProgress {
                resource_id: id.into(),
                resource_type: ferry_wire::migration::ResourceType::Bucket,
                status: MigrationStatus::Pending,
                progress_percent: 0.0,
                error_message: None,
            });
        }
        let now = Utc::now();
        p.stages[2].started_at = Some(now - chrono::Duration::seconds(10));
        let per_resource = vec![
            ("bkt_a".to_owned(), summary(2, 2, 100, 100)),
            ("col_b".to_owned(), summary(4, 1, 300, 100)),
        ];
        processing_stage(&mut p, &per_resource, now);
        let stage = &p.stages[2];
        assert_eq!(
            (
                stage.items_total,
                stage.items_completed,
                stage.progress_percent
            ),
            (400, 200, 50.0)
        );
        assert_eq!(p.resources[0].status, MigrationStatus::Completed);
        assert_eq!(p.resources[0].progress_percent, 100.0);
        assert_eq!(p.resources[1].status, MigrationStatus::InProgress);
        // 200 items in 10 s: the other 200 take about 10 s more.
        let eta = (p.estimated_completion.unwrap() - now).num_seconds();
        assert!((9..=11).contains(&eta), "{eta}");
    }

    #[test]
    fn an_empty_selection_is_complete() {
        let mut p = MigrationProgress::new(MigrationStatus::InProgress);
        processing_stage(&mut p, &[], Utc::now());
        assert_eq!(p.stages[2].progress_percent, 100.0);
        assert_eq!(p.estimated_completion, None);
    }
}
