//! The driver: claims migration tasks, keeps their lease, loads a migration once per run,
//! drives its stages in order, and settles the task to mirror the migration when the run
//! ends. Status transitions go through [`Action`], the lifecycle's one table.

use chrono::Utc;
use ferry_store::tasks::TaskEnding;
use ferry_store::{LeaseRenewal, MigrationRecord, StatusChange, StoreError, Task};
use ferry_wire::migration::{MigrationProgress, MigrationStage, MigrationStatus, MigrationType};
use ferry_wire::task::TaskStatusEnum;
use serde_json::json;
use tokio::sync::watch;

use super::run::Run;
use super::{now_micros, Engine, MIGRATION_TASK};
use crate::error::MigrateError;
use crate::lifecycle::Action;
use crate::reextract::{Rebuild, Repoint};
use crate::webhooks::{Notifier, Stream};

/// Whether a run's end already ended its task: completing a migration ends its task in the
/// same transaction, so the driver must not settle it a second time.
struct TaskEnded(bool);

impl Engine {
    /// Claims and runs migration tasks until `shutdown` turns true. A task whose worker died
    /// is claimed again once its lease expires, and resumes.
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) {
        let lease = self.config.lease.as_micros() as i64;
        while !*shutdown.borrow() {
            match self
                .store
                .claim_task(&[MIGRATION_TASK], &self.worker_id, lease)
                .await
            {
                Ok(Some(task)) => {
                    let task_id = task.task_id.clone();
                    tracing::info!(task_id, "running migration");
                    if let Err(e) = self.run_task(task).await {
                        tracing::error!(task_id, error = %e, "migration stopped");
                    }
                }
                Ok(None) => {
                    // No task to run: help with a running migration's batches, if any.
                    if self.help_one().await > 0 {
                        continue;
                    }
                    tokio::select! {
                        _ = tokio::time::sleep(self.config.poll_interval) => {}
                        _ = shutdown.changed() => {}
                    }
                }
                Err(e) => {
                    tracing::error!(error = %e, "claiming a migration failed");
                    tokio::time::sleep(self.config.poll_interval).await;
                }
            }
        }
    }

    /// Helps the first running migration that has batches to claim; returns how many
    /// batches this engine ran (0 when none was claimable, or helping failed: the task's
    /// holder reports a migration's failures).
    async fn help_one(&self) -> u64 {
        let key = match self.store.migration_with_runnable_batches().await {
            Ok(Some(key)) => key,
            Ok(None) => return 0,
            Err(e) => {
                tracing::warn!(error = %e, "looking for a migration to help failed");
                return 0;
            }
        };
        let migration_id = key.id().to_owned();
        match self.help(key).await {
            Ok(ran) => ran,
            Err(e) => {
                tracing::warn!(migration_id, error = %e, "helping a migration stopped");
                0
            }
        }
    }

    pub(super) async fn renew(&self, task: &Task) -> Result<(), MigrateError> {
        self.store
            .renew_task_lease(&LeaseRenewal {
                task_id: &task.task_id,
                owner: &self.worker_id,
                lease_until: self.lease_deadline(),
                processed: 0,
                resume_cursor: None,
            })
            .await?;
        Ok(())
    }

    /// Runs one claimed migration task to its end (or until the migration stops being
    /// `in_progress`), then settles the task to mirror the migration.
    pub async fn run_task(&self, task: Task) -> Result<(), MigrateError> {
        let migration_id = task.inputs["migration_id"]
            .as_str()
            .ok_or_else(|| MigrateError::Corrupt("a migration task without a migration_id".into()))?
            .to_owned();
        // The task's organization scopes the read: a task can only run its own tenant's
        // migration. A migration deleted before or while its task ran leaves nothing to
        // drive, but the task must still end: left open, every lease expiry would claim it.
        let migration = match self
            .store
            .get_migration(&task.internal_id, &migration_id)
            .await
        {
            Err(StoreError::NotFound { .. }) => {
                return self.settle_deleted(&task, &migration_id).await
            }
            other => other?,
        };
        let key = migration.key.clone();
        let mut notifier = self.notifier(&migration).await?;
        let outcome = self.drive(&task, migration, &mut notifier).await;
        let task_ended = matches!(outcome, Ok(TaskEnded(true)));
        let outcome = outcome.map(|_| ());
        let status = match self.store.migration_status(&key).await {
            Err(StoreError::NotFound { .. }) => {
                return self.settle_deleted(&task, &migration_id).await
            }
            other => other?,
        };
        let event = |status: MigrationStatus, error: Option<String>| json!({"migration_id": migration_id, "status": status, "error_message": error});
        // The task mirrors the migration, whatever this run saw. A run that completed the
        // migration ended the task with it. One that finds it completed but the task open (a
        // migration completed by a version that settled the two apart) settles the task.
        let (task_status, error, outcome) = match (status, outcome) {
            // Another worker claimed the task after this one's lease ran out: it drives the
            // migration now and settles both. Marking anything here would fail its run.
            (_, Err(e)) if e.is_lease_lost() => {
                tracing::info!(migration_id, error = %e, "the task passed to another worker");
                return Ok(());
            }
            (MigrationStatus::Completed, _) if task_ended => return Ok(()),
            (MigrationStatus::Completed, _) => (TaskStatusEnum::Completed, None, Ok(())),
            (MigrationStatus::Cancelled, outcome) => {
                notifier.send("migration.cancelled", event(status, None));
                let error = Some("the migration was cancelled".to_owned());
                (TaskStatusEnum::Canceled, error, outcome)
            }
            (_, Err(e)) => {
                let message = e.to_string();
                let marked = matches!(
                    status,
                    MigrationStatus::Pending | MigrationStatus::InProgress
                ) && self.mark_failed(&task, &migration_id, &message).await;
                notifier.send(
                    "migration.failed",
                    event(MigrationStatus::Failed, Some(message.clone())),
                );
                if marked {
                    return Err(e);
                }
                (TaskStatusEnum::Failed, Some(message), Err(e))
            }
            (other, Ok(())) => (
                TaskStatusEnum::Failed,
                Some(format!("the migration is {other}")),
                Err(MigrateError::Stopped(other)),
            ),
        };
        self.store
            .finish_task(
                &task.task_id,
                &self.worker_id,
                task_status,
                Some(&json!({"migration_id": migration_id, "status": status})),
                error.as_deref(),
            )
            .await?;
        outcome
    }

    /// Ends the task of a migration that no longer exists. Only a migration that is not
    /// running can be deleted (draft, completed, failed or cancelled), so its task is over:
    /// `CANCELED`, saying why.
    async fn settle_deleted(&self, task: &Task, migration_id: &str) -> Result<(), MigrateError> {
        tracing::info!(migration_id, task_id = %task.task_id, "migration deleted; ending its task");
        self.store
            .finish_task(
                &task.task_id,
                &self.worker_id,
                TaskStatusEnum::Canceled,
                Some(&json!({"migration_id": migration_id, "status": "deleted"})),
                Some("the migration was deleted"),
            )
            .await?;
        Ok(())
    }

    /// Marks a running migration failed with `message`, and its task `FAILED` in the same
    /// transaction; the stage that was running reports the failure too. Best effort: `false`
    /// when it did not apply, and the caller ends the task alone. (The one read of the
    /// record after a run: its progress as the failed run last saved it.)
    async fn mark_failed(&self, task: &Task, migration_id: &str, message: &str) -> bool {
        let marked = async {
            let migration = self
                .store
                .get_migration(&task.internal_id, migration_id)
                .await?;
            let progress = serde_json::from_value::<MigrationProgress>(migration.progress)
                .ok()
                .map(|mut p| {
                    p.overall_status = MigrationStatus::Failed;
                    if let Some(stage) = p
                        .stages
                        .iter_mut()
                        .find(|s| s.status == MigrationStatus::InProgress)
                    {
                        stage.status = MigrationStatus::Failed;
                        stage.error_message = Some(message.to_owned());
                    }
                    p
                })
                .and_then(|p| serde_json::to_value(p).ok());
            let outputs = json!({"migration_id": migration_id, "status": MigrationStatus::Failed});
            self.store
                .settle_migration(
                    &migration.key,
                    Action::Fail.allowed_from(),
                    MigrationStatus::Failed,
                    StatusChange {
                        completed_at: Some(now_micros()),
                        error_message: Some(Some(message.to_owned())),
                        progress,
                        ..Default::default()
                    },
                    &TaskEnding {
                        task_id: &task.task_id,
                        owner: &self.worker_id,
                        status: TaskStatusEnum::Failed,
                        outputs: Some(&outputs),
                        error: Some(message),
                    },
                )
                .await
        };
        match marked.await {
            Ok(_) => true,
            Err(e) => {
                tracing::warn!(migration = migration_id, error = %e,
                               "marking the migration failed did not apply");
                false
            }
        }
    }

    /// The run's webhook sender: disabled without a `webhook_url`.
    async fn notifier(&self, migration: &MigrationRecord) -> Result<Notifier, MigrateError> {
        let backoff = self.config.webhook_backoff;
        Ok(Notifier::for_migration(&self.store, migration, Stream::Run, backoff).await?)
    }

    /// Begins the migration (`pending` → `in_progress`) and loads what its run needs, once.
    pub(super) async fn load_run(
        &self,
        task: &Task,
        mut migration: MigrationRecord,
        notifier: &mut Notifier,
    ) -> Result<Run, MigrateError> {
        if migration.status == MigrationStatus::Pending {
            migration = self
                .store
                .set_migration_status(
                    &migration.key,
                    Action::Begin.allowed_from(),
                    MigrationStatus::InProgress,
                    StatusChange {
                        started_at: Some(now_micros()),
                        ..Default::default()
                    },
                )
                .await?;
            notifier.send(
                "migration.started",
                json!({"migration_id": migration.migration_id(), "status": migration.status}),
            );
        }
        if migration.status != MigrationStatus::InProgress {
            return Err(MigrateError::Stopped(migration.status));
        }
        let (config, graph) = crate::plan::stored_plan(&migration)?;
        let source = self
            .store
            .get_namespace(migration.org_id(), &migration.source_namespace_id)
            .await?;
        let mut progress: MigrationProgress = serde_json::from_value(migration.progress.clone())
            .unwrap_or_else(|_| MigrationProgress::new(MigrationStatus::InProgress));
        progress.overall_status = MigrationStatus::InProgress;
        progress.started_at = progress.started_at.or_else(|| Some(Utc::now()));
        let mut run = Run {
            completed_stages: Vec::new(),
            benchmark: Vec::new(),
            additional_data: None,
            migration,
            config,
            graph,
            source,
            progress,
            task: task.clone(),
            rebuilds: Vec::new(),
            repoint: Repoint::default(),
            base: None,
            force: task.inputs["force"].as_bool().unwrap_or(false),
            task_ended: false,
        };
        self.prepare(&mut run).await?;
        Ok(run)
    }

    async fn drive(
        &self,
        task: &Task,
        migration: MigrationRecord,
        notifier: &mut Notifier,
    ) -> Result<TaskEnded, MigrateError> {
        let mut run = self.load_run(task, migration, notifier).await?;
        let migration_id = run.migration.migration_id().to_owned();
        if run.config.dry_run {
            self.dry_run(&mut run).await?;
            notifier.send(
                "migration.completed",
                json!({"migration_id": migration_id, "status": "completed", "dry_run": true}),
            );
            return Ok(TaskEnded(run.task_ended));
        }
        for stage in MigrationStage::ALL {
            if run.progress.stages[stage.index()].status == MigrationStatus::Completed {
                continue;
            }
            self.ensure_running(&run).await?;
            self.begin_stage(&mut run, stage).await?;
            match stage {
                MigrationStage::NamespaceSetup => self.namespace_setup(&mut run).await?,
                MigrationStage::BatchCreation => self.batch_creation(&mut run).await?,
                MigrationStage::BatchProcessing => self.batch_processing(&mut run).await?,
                MigrationStage::ClusterExecution => self.cluster_execution(&mut run).await?,
                MigrationStage::TaxonomyEnrichment => self.taxonomy_enrichment(&mut run).await?,
                MigrationStage::BenchmarkEvaluation => self.benchmark(&mut run).await?,
                MigrationStage::Finalization => self.finalization(&mut run).await?,
            }
            for stage in run.completed_stages.drain(..) {
                notifier.send("migration.stage_completed", stage);
            }
            // Finalization ended the task with the migration: no lease is left to renew.
            if !run.task_ended {
                self.renew(task).await?;
            }
        }
        notifier.send(
            "migration.completed",
            json!({"migration_id": migration_id, "status": "completed",
                   "additional_data": run.additional_data}),
        );
        Ok(TaskEnded(run.task_ended))
    }

    /// What the run's type needs beyond the stored plan: a re_extract's rebuilds (resolved
    /// against this process's registry), an extend's base.
    async fn prepare(&self, run: &mut Run) -> Result<(), MigrateError> {
        match run.config.migration_type {
            MigrationType::ReExtract => {
                let mut errors = Vec::new();
                let extractors =
                    crate::reextract::resolve_extractors(&self.registry, &run.config, &mut errors);
                if let Some(e) = errors.first() {
                    return Err(MigrateError::Unrunnable(e.message.clone()));
                }
                run.rebuilds = crate::reextract::rebuilds(
                    &self.store,
                    run.source.key,
                    &run.graph,
                    &extractors,
                )
                .await?;
                for (id, rebuild) in &run.rebuilds {
                    if let Rebuild::Direct(new) = rebuild {
                        let c = self.store.get_collection(run.source.key, id).await?;
                        run.repoint.add(
                            &c.fields.extractor_name,
                            &c.fields.extractor_version,
                            new.extractor.version(),
                        );
                    }
                }
            }
            MigrationType::Extend => {
                let target = self.extend_target(run).await?;
                run.base = crate::plan::extend_base(
                    &self.store,
                    run.migration.org_id(),
                    &run.source.namespace_id,
                    &target.namespace_id,
                )
                .await?;
            }
            MigrationType::Copy => {}
        }
        Ok(())
    }

    /// The existing namespace an extend merges into, found as validation finds it.
    pub(super) async fn extend_target(
        &self,
        run: &Run,
    ) -> Result<ferry_store::Namespace, MigrateError> {
        crate::plan::extend_target(
            &self.store,
            run.migration.org_id(),
            &run.config,
            Some(&run.source),
        )
        .await?
        .map_err(|issue| MigrateError::Unrunnable(issue.message))
    }

    /// Stops the run when the migration left `in_progress` (cancelled, typically): one
    /// status read, between stages and batches.
    pub(super) async fn ensure_running(&self, run: &Run) -> Result<(), MigrateError> {
        match self.store.migration_status(run.key()).await? {
            MigrationStatus::InProgress => Ok(()),
            other => Err(MigrateError::Stopped(other)),
        }
    }
}
