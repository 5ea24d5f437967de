//! The migration engine: runs a started migration (`api_namespaces_migrations_run` task) through
//! its seven stages, each resumable.
//!
//! - `namespace_setup` creates the target namespace and resources in execution order; every
//!   target id is preserved or derived (see [`crate::ids`]) and recorded in the id map, so a
//!   restarted setup finds what it already made.
//! - `batch_creation` enumerates the selected source objects and documents (keys only) into
//!   persisted keyset batches of `batch_size`.
//! - `batch_processing` runs up to `max_workers` leased batches at once; each batch's target
//!   rows and its done mark commit together, and inserts skip ids already present, so a batch
//!   replayed after a crash neither loses nor duplicates a row.
//! - `cluster_execution`, `taxonomy_enrichment`, `benchmark_evaluation` and `finalization`
//!   follow, per the migration's options.
//!
//! The types differ in a few places: a `re_extract` creates its rebuilt collections with the
//! new extractor and fills them with extraction batches (over source objects, or, a wave
//! later, over rebuilt upstream documents) instead of copies, and re-runs the clusters and
//! taxonomies over them; an `extend` adopts the resources its base migration created, names
//! items as that migration did, overwrites only changed items, and reports (with `force`,
//! applies) source deletions.
//!
//! Stage progress is saved as each stage advances; a stage marked completed is skipped when
//! the task is resumed. Cancellation is noticed between batches.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use ferry_pipeline::{
    die, extract_items, next_items, ClusterDefinition, CollectionConfig, FaultPoint, Item,
    PlanCollection, Source, TaxonomyApplication, CLUSTER_TASK, STATISTICS_EVERY_BATCHES,
    TAXONOMY_TASK,
};
use ferry_store::blobs::BlobStore;
use ferry_store::clusters::ExecutionListQuery;
use ferry_store::tasks::{STATUS_COMPLETED, STATUS_FAILED};
use ferry_store::{
    BatchDone, BatchSummary, BucketFields, ClusterFields, CollectionFields, DocumentRecord,
    ItemIds, LeaseRenewal, MigrationBatch, MigrationRecord, Namespace, NewBatch, NewNamespace,
    RetrieverFields, SourceKind, StatusChange, Store, StoreError, Task, TaxonomyFields,
};
use ferry_wire::collection::CollectionVectorIndex;
use ferry_wire::migration::{
    DependencyGraph, MigrationConfig, MigrationProgress, MigrationStage, MigrationStatus,
    MigrationType, ResourceProgress, ResourceType,
};
use ferry_wire::ErrorCode;
use serde_json::{json, Map, Value};
use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::ids::{derived, IdMap, ITEMS_ROW, TASK_ROW};
use crate::lifecycle::Action;
use crate::plan::ExtendBase;
use crate::reextract::{Rebuild, Repoint};
use crate::target_name::resolve_target_name;
use crate::webhooks::Notifier;

/// Task type of a migration run, as the SDK's `TaskType` names it.
pub const MIGRATION_TASK: &str = "api_namespaces_migrations_run";

/// Attempts a batch gets when `retry_failed` is set (the first included).
const MAX_BATCH_ATTEMPTS: i64 = 3;

/// How often a running stage saves its progress and renews its task's lease (at most; a
/// third of the lease when that is shorter).
const PROGRESS_INTERVAL: Duration = Duration::from_millis(500);

/// Share of the overall progress each stage stands for (sums to 100).
const STAGE_WEIGHTS: [f64; 7] = [5.0, 5.0, 80.0, 3.0, 3.0, 1.0, 3.0];

#[derive(Debug, thiserror::Error)]
pub enum MigrateError {
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Reading a batch's inputs or extracting them failed.
    #[error(transparent)]
    Pipeline(#[from] ferry_pipeline::PipelineError),
    #[error("{0}")]
    Plan(String),
    /// The migration was cancelled (or otherwise left `in_progress`) while running.
    #[error("stopped: the migration is {0}")]
    Stopped(String),
}

#[derive(Debug, Clone)]
pub struct EngineConfig {
    pub lease: Duration,
    pub poll_interval: Duration,
    /// Wait before a failed batch's first retry; doubled for each further one.
    pub retry_backoff: Duration,
    /// Test-only: where this process dies on purpose (counted in migration batches).
    pub fault: Option<FaultPoint>,
    /// Wait before a webhook delivery's first retry; doubled for each further one.
    pub webhook_backoff: Duration,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            lease: Duration::from_secs(30),
            poll_interval: Duration::from_millis(200),
            retry_backoff: Duration::from_millis(200),
            fault: None,
            webhook_backoff: Duration::from_millis(500),
        }
    }
}

/// Runs migrations; cheap to clone.
#[derive(Clone)]
pub struct Engine {
    store: Store,
    blobs: BlobStore,
    /// Extractors a re_extract runs.
    registry: Arc<ferry_extract::Registry>,
    /// Runs retrievers for the benchmark stage.
    retrieval: ferry_retrieve::Engine,
    config: EngineConfig,
    worker_id: String,
    batches_done: Arc<std::sync::atomic::AtomicU64>,
    /// Extraction batches written by this process (statistics are refreshed as they grow).
    extractions: Arc<std::sync::atomic::AtomicU64>,
}

fn now_micros() -> i64 {
    ferry_store::time::now_micros()
}

fn stage_index(stage: MigrationStage) -> usize {
    MigrationStage::ALL
        .iter()
        .position(|s| *s == stage)
        .unwrap_or(0)
}

/// A started migration being run: what it is, and what it has done so far.
struct Run {
    /// Stages completed since the last look (the driver turns them into webhook events).
    completed_stages: Vec<Value>,
    /// Per-retriever comparisons of the benchmark stage, for `additional_data.benchmark`.
    benchmark: Vec<Value>,
    migration: MigrationRecord,
    config: MigrationConfig,
    graph: DependencyGraph,
    source: Namespace,
    progress: MigrationProgress,
    task: Task,
    /// re_extract: the source collections rebuilt, in execution order, and how.
    rebuilds: Vec<(String, Rebuild)>,
    /// re_extract: how the old extractor versions' vector names become the new ones.
    repoint: Repoint,
    /// extend: the earlier migration it continues.
    base: Option<ExtendBase>,
    /// Started with `force`: an extend applies source deletions.
    force: bool,
}

impl Run {
    fn rebuild(&self, source_collection: &str) -> Option<&Rebuild> {
        self.rebuilds
            .iter()
            .find(|(id, _)| id == source_collection)
            .map(|(_, r)| r)
    }
}

impl Engine {
    pub fn new(
        store: Store,
        blobs: BlobStore,
        registry: Arc<ferry_extract::Registry>,
        config: EngineConfig,
    ) -> Self {
        let retrieval = ferry_retrieve::Engine::new(
            store.clone(),
            registry.clone(),
            Arc::new(ferry_retrieve::ExactScan::new(store.clone())),
        );
        Engine {
            retrieval,
            registry,
            store,
            blobs,
            config,
            worker_id: ferry_store::ids::new_id("wkr"),
            batches_done: Arc::default(),
            extractions: Arc::default(),
        }
    }

    fn lease_deadline(&self) -> i64 {
        now_micros() + self.config.lease.as_micros() as i64
    }

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

    async fn renew(&self, task: &Task) -> Result<(), MigrateError> {
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
            .ok_or_else(|| MigrateError::Plan("migration task without a migration_id".into()))?
            .to_owned();
        // A migration deleted before or while its task ran leaves nothing to drive, but the
        // task must still end: left open, every lease expiry would claim it again.
        let mut notifier = match self.notifier(&migration_id).await {
            Err(MigrateError::Store(StoreError::NotFound { .. })) => {
                return self.settle_deleted(&task, &migration_id).await
            }
            other => other?,
        };
        let outcome = self.drive(&task, &migration_id, &mut notifier).await;
        let migration = match self.store.load_migration(&migration_id).await {
            Err(StoreError::NotFound { .. }) => {
                return self.settle_deleted(&task, &migration_id).await
            }
            other => other?,
        };
        let event = |status: &str, error: Option<String>| json!({"migration_id": migration_id, "status": status, "error_message": error});
        // The task mirrors the migration, whatever this run saw: a run that finds its
        // migration already completed (its worker died after completing it, before settling
        // the task) settles the task as completed.
        let (task_status, error, outcome) = match (migration.status.as_str(), outcome) {
            ("completed", _) => (STATUS_COMPLETED, None, Ok(())),
            ("cancelled", outcome) => {
                notifier.send("migration.cancelled", event("cancelled", None));
                let error = Some("the migration was cancelled".to_owned());
                ("CANCELED", error, outcome)
            }
            (_, Err(e)) => {
                let message = e.to_string();
                if matches!(migration.status.as_str(), "pending" | "in_progress") {
                    self.mark_failed(&migration, &message).await;
                }
                notifier.send("migration.failed", event("failed", Some(message.clone())));
                (STATUS_FAILED, Some(message), Err(e))
            }
            (other, Ok(())) => {
                let message = format!("the migration is {other}");
                (
                    STATUS_FAILED,
                    Some(message.clone()),
                    Err(MigrateError::Stopped(message)),
                )
            }
        };
        self.store
            .finish_task(
                &task.task_id,
                &self.worker_id,
                task_status,
                Some(&json!({"migration_id": migration_id, "status": migration.status})),
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
                "CANCELED",
                Some(&json!({"migration_id": migration_id, "status": "deleted"})),
                Some("the migration was deleted"),
            )
            .await?;
        Ok(())
    }

    /// Marks a running migration failed with `message`; the stage that was running reports
    /// the failure too. Best effort: the task records the failure either way.
    async fn mark_failed(&self, migration: &MigrationRecord, message: &str) {
        let progress = serde_json::from_value::<MigrationProgress>(migration.progress.clone())
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
        let marked = self
            .store
            .set_migration_status(
                &migration.migration_id,
                &Action::Fail.allowed_from_names(),
                MigrationStatus::Failed.as_str(),
                StatusChange {
                    completed_at: Some(now_micros()),
                    error_message: Some(Some(message.to_owned())),
                    progress,
                    ..Default::default()
                },
            )
            .await;
        if let Err(e) = marked {
            tracing::warn!(migration = migration.migration_id, error = %e,
                           "marking the migration failed did not apply");
        }
    }

    /// The run's webhook sender: disabled without a `webhook_url`.
    async fn notifier(&self, migration_id: &str) -> Result<Notifier, MigrateError> {
        let migration = self.store.load_migration(migration_id).await?;
        let url = migration.config["webhook_url"].as_str().map(str::to_owned);
        let Some(url) = url else {
            return Ok(Notifier::disabled());
        };
        let secret = self.store.webhook_secret(&migration.org_id).await?;
        let sent_before = self.store.webhook_deliveries(migration_id).await?.len() as i64;
        Ok(Notifier::start(
            self.store.clone(),
            url,
            secret,
            migration_id.to_owned(),
            sent_before,
            self.config.webhook_backoff,
        ))
    }

    async fn drive(
        &self,
        task: &Task,
        migration_id: &str,
        notifier: &mut Notifier,
    ) -> Result<(), MigrateError> {
        let mut migration = self.store.load_migration(migration_id).await?;
        if migration.status == MigrationStatus::Pending.as_str() {
            migration = self
                .store
                .set_migration_status(
                    migration_id,
                    &Action::Begin.allowed_from_names(),
                    MigrationStatus::InProgress.as_str(),
                    StatusChange {
                        started_at: Some(now_micros()),
                        ..Default::default()
                    },
                )
                .await?;
            notifier.send(
                "migration.started",
                json!({"migration_id": migration_id, "status": migration.status}),
            );
        }
        if migration.status != MigrationStatus::InProgress.as_str() {
            return Err(MigrateError::Stopped(migration.status));
        }
        let config: MigrationConfig = serde_json::from_value(migration.config.clone())
            .map_err(|e| MigrateError::Plan(format!("stored config: {e}")))?;
        let graph: DependencyGraph = migration
            .dependency_graph
            .clone()
            .map(serde_json::from_value)
            .transpose()
            .map_err(|e| MigrateError::Plan(format!("stored dependency graph: {e}")))?
            .ok_or_else(|| MigrateError::Plan("the migration has no plan".into()))?;
        let source = self
            .store
            .get_namespace(&migration.org_id, &migration.source_namespace_id)
            .await?;
        let mut progress: MigrationProgress = serde_json::from_value(migration.progress.clone())
            .unwrap_or_else(|_| MigrationProgress::new(MigrationStatus::InProgress));
        progress.overall_status = MigrationStatus::InProgress;
        progress.started_at = progress.started_at.or_else(|| Some(Utc::now()));
        let mut run = Run {
            completed_stages: Vec::new(),
            benchmark: Vec::new(),
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
        };
        self.prepare(&mut run).await?;
        if run.config.dry_run {
            self.dry_run(&mut run).await?;
            notifier.send(
                "migration.completed",
                json!({"migration_id": migration_id, "status": "completed", "dry_run": true}),
            );
            return Ok(());
        }
        for stage in MigrationStage::ALL {
            let index = stage_index(stage);
            if run.progress.stages[index].status == MigrationStatus::Completed {
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
            self.renew(task).await?;
        }
        notifier.send(
            "migration.completed",
            json!({"migration_id": migration_id, "status": "completed",
                   "additional_data": self.store.load_migration(migration_id).await?.additional_data}),
        );
        Ok(())
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
                    return Err(MigrateError::Plan(e.message.clone()));
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
                    &run.migration.org_id,
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
    async fn extend_target(&self, run: &Run) -> Result<Namespace, MigrateError> {
        crate::plan::extend_target(
            &self.store,
            &run.migration.org_id,
            &run.config,
            Some(&run.source),
        )
        .await?
        .map_err(|issue| MigrateError::Plan(issue.message))
    }

    /// Stops the run when the migration left `in_progress` (cancelled, typically).
    async fn ensure_running(&self, run: &Run) -> Result<(), MigrateError> {
        let current = self
            .store
            .load_migration(&run.migration.migration_id)
            .await?;
        if current.status != MigrationStatus::InProgress.as_str() {
            return Err(MigrateError::Stopped(current.status));
        }
        Ok(())
    }

    async fn save(&self, run: &mut Run, additional: Option<&Value>) -> Result<(), MigrateError> {
        let weighted: f64 = run
            .progress
            .stages
            .iter()
            .zip(STAGE_WEIGHTS)
            .map(|(s, w)| w * s.progress_percent / 100.0)
            .sum();
        // Monotonic: a resumed run never reports less than it did.
        run.progress.overall_progress_percent = run
            .progress
            .overall_progress_percent
            .max(weighted.min(100.0));
        let value = serde_json::to_value(&run.progress)
            .map_err(|e| MigrateError::Plan(format!("progress: {e}")))?;
        self.store
            .save_migration_progress(
                &run.migration.migration_id,
                &value,
                additional,
                run.migration.target_namespace_id.as_deref(),
            )
            .await?;
        Ok(())
    }

    async fn begin_stage(&self, run: &mut Run, stage: MigrationStage) -> Result<(), MigrateError> {
        let s = &mut run.progress.stages[stage_index(stage)];
        s.status = MigrationStatus::InProgress;
        s.started_at = s.started_at.or_else(|| Some(Utc::now()));
        run.progress.current_stage = Some(stage);
        self.save(run, None).await
    }

    async fn finish_stage(
        &self,
        run: &mut Run,
        stage: MigrationStage,
        total: u64,
        completed: u64,
        failed: u64,
    ) -> Result<(), MigrateError> {
        let s = &mut run.progress.stages[stage_index(stage)];
        s.status = MigrationStatus::Completed;
        s.completed_at = Some(Utc::now());
        s.items_total = total;
        s.items_completed = completed;
        s.items_failed = failed;
        s.progress_percent = 100.0;
        let event = json!({"migration_id": run.migration.migration_id, "stage": stage,
                           "items_total": total, "items_completed": completed,
                           "items_failed": failed});
        run.completed_stages.push(event);
        self.save(run, None).await
    }

    async fn id_map(&self, run: &Run) -> Result<IdMap, MigrateError> {
        Ok(IdMap::load(&self.store, &run.migration).await?)
    }

    fn target_key(&self, run: &Run) -> Result<String, MigrateError> {
        run.migration
            .target_namespace_id
            .clone()
            .ok_or_else(|| MigrateError::Plan("the target namespace is not set up".into()))
    }

    async fn target(&self, run: &Run) -> Result<Namespace, MigrateError> {
        let id = self.target_key(run)?;
        Ok(self.store.get_namespace(&run.migration.org_id, &id).await?)
    }

    /// Stage 1: the target namespace, then every selected resource in execution order.
    async fn namespace_setup(&self, run: &mut Run) -> Result<(), MigrateError> {
        let org = run.migration.org_id.clone();
        let target_id = run
            .config
            .target_namespace_id
            .clone()
            .unwrap_or_else(|| derived(&run.migration.migration_id, &run.source.namespace_id));
        let target = if run.config.migration_type == MigrationType::Extend {
            // An extend's target exists (validated); it is never created.
            self.extend_target(run).await?
        } else {
            match self.store.get_namespace(&org, &target_id).await {
                Ok(ns) => ns,
                Err(StoreError::NotFound { .. }) => {
                    let name =
                        resolve_target_name(&self.store, &org, &run.source, &run.config).await?;
                    self.store
                        .create_namespace(
                            &org,
                            NewNamespace {
                                namespace_id: Some(target_id.clone()),
                                namespace_name: name,
                                description: run.source.description.clone(),
                                namespace_type: run.source.namespace_type.clone(),
                                mode: run.source.mode.clone(),
                                feature_extractors: run.source.feature_extractors.clone(),
                                payload_indexes: run.source.payload_indexes.clone(),
                                auto_create_indexes: run.source.auto_create_indexes,
                                adaptive_indexing: run.source.adaptive_indexing,
                            },
                        )
                        .await?
                }
                Err(e) => return Err(e.into()),
            }
        };
        run.migration.target_namespace_id = Some(target.namespace_id.clone());
        self.save(run, None).await?;

        // How items are named, fixed now for the whole run: an extend names them as its base
        // did, so items that base copied are recognised.
        let items = match &run.base {
            Some(base) => base.map.items.clone(),
            None => ItemIds {
                tag: (!run.config.preserve_resource_ids)
                    .then(|| crate::ids::item_tag(&run.migration.migration_id)),
            },
        };
        self.store
            .map_migration_id(
                &run.migration.migration_id,
                ITEMS_ROW,
                "*",
                items.tag.as_deref().unwrap_or(""),
            )
            .await?;
        let mut map = self.id_map(run).await?;
        let order = run.graph.execution_order.clone();
        let total = order.len() as u64;
        run.progress.resources = run
            .graph
            .nodes
            .iter()
            .map(|n| ResourceProgress {
                resource_id: n.resource_id.clone(),
                resource_type: n.resource_type,
                status: MigrationStatus::Pending,
                progress_percent: 0.0,
                error_message: None,
            })
            .collect();
        for (done, source_id) in order.iter().enumerate() {
            let node = run
                .graph
                .nodes
                .iter()
                .find(|n| &n.resource_id == source_id)
                .cloned()
                .ok_or_else(|| MigrateError::Plan(format!("{source_id} is not in the plan")))?;
            if map.resource(source_id).is_none() {
                let target_id = match self.adopted(run, &target, &node).await? {
                    Some(id) => id,
                    None => {
                        self.create_resource(run, &target, node.resource_type, source_id, &map)
                            .await?
                    }
                };
                self.store
                    .map_migration_id(
                        &run.migration.migration_id,
                        node.resource_type.as_str(),
                        source_id,
                        &target_id,
                    )
                    .await?;
                map.resources.insert(source_id.clone(), target_id);
            }
            let s = &mut run.progress.stages[0];
            s.items_total = total;
            s.items_completed = done as u64 + 1;
            s.progress_percent = 100.0 * (done as f64 + 1.0) / total.max(1) as f64;
            self.save(run, None).await?;
        }
        self.finish_stage(run, MigrationStage::NamespaceSetup, total, total, 0)
            .await
    }

    /// An extend's target resource that its base created from `node` (and that still
    /// exists): the extend continues into it instead of creating one.
    async fn adopted(
        &self,
        run: &Run,
        target: &Namespace,
        node: &ferry_wire::migration::DependencyNode,
    ) -> Result<Option<String>, MigrateError> {
        let Some(earlier) = run
            .base
            .as_ref()
            .and_then(|b| b.map.resource(&node.resource_id))
        else {
            return Ok(None);
        };
        let kind = crate::plan::kind_of(node.resource_type);
        let found = crate::plan::find_resource(&self.store, target.key, kind, earlier).await?;
        Ok(found.filter(|id| id == earlier))
    }

    fn preserved(&self, run: &Run, resource_type: ResourceType) -> bool {
        run.config.preserve_resource_ids
            || match resource_type {
                ResourceType::Taxonomy => {
                    run.config
                        .taxonomy_options_or_default()
                        .preserve_taxonomy_ids
                }
                ResourceType::Cluster => {
                    run.config.cluster_options_or_default().preserve_cluster_ids
                }
                ResourceType::Retriever => {
                    run.config
                        .retriever_options_or_default()
                        .preserve_retriever_ids
                }
                _ => false,
            }
    }

    /// Creates one resource in the target; returns its id. A resource this migration created
    /// before a crash (same derived id) is found, not created twice.
    async fn create_resource(
        &self,
        run: &Run,
        target: &Namespace,
        resource_type: ResourceType,
        source_id: &str,
        map: &IdMap,
    ) -> Result<String, MigrateError> {
        let src = run.source.key;
        let ns = target.key;
        let target_id = if self.preserved(run, resource_type) {
            source_id.to_owned()
        } else {
            derived(&run.migration.migration_id, source_id)
        };
        // The target id of a resource this one depends on (created earlier in the order).
        let target_of = |dependency: &str| {
            map.resource(dependency).map(str::to_owned).ok_or_else(|| {
                MigrateError::Plan(format!(
                    "{source_id} depends on {dependency}, which was not migrated"
                ))
            })
        };
        let targets_of = |ids: &[String]| {
            ids.iter()
                .map(|id| target_of(id))
                .collect::<Result<Vec<_>, _>>()
        };
        let created: Result<(), StoreError> = match resource_type {
            ResourceType::Bucket => {
                let b = self.store.get_bucket(src, source_id).await?;
                self.store
                    .create_bucket(
                        ns,
                        Some(target_id.clone()),
                        BucketFields {
                            bucket_name: b.bucket_name,
                            description: b.description,
                            bucket_schema: b.bucket_schema,
                            unique_key: b.unique_key,
                            metadata: b.metadata,
                            storage_class: b.storage_class,
                        },
                    )
                    .await
                    .map(|_| ())
            }
            ResourceType::Collection => {
                let c = self.store.get_collection(src, source_id).await?;
                targets_of(&crate::plan::source_ids(&c.fields.source))?;
                let fields = match run.rebuild(source_id) {
                    Some(Rebuild::Direct(new)) => {
                        crate::reextract::rebuilt_fields(c.fields, &self.registry, new)
                            .map_err(MigrateError::Plan)?
                    }
                    _ => c.fields,
                };
                let fields = CollectionFields {
                    source: map.remap_json(&fields.source),
                    // Attachments are re-pointed at finalization, once their targets exist.
                    taxonomy_applications: None,
                    cluster_applications: None,
                    ..fields
                };
                self.store
                    .create_collection(ns, Some(target_id.clone()), fields)
                    .await
                    .map(|_| ())
            }
            ResourceType::Retriever => {
                let r = self.store.get_retriever(src, source_id).await?;
                let collection_ids = targets_of(&r.fields.collection_ids)?;
                if run
                    .config
                    .retriever_options_or_default()
                    .validate_references
                {
                    check_stage_references(&r.fields.stages, map, source_id)?;
                }
                let fields = RetrieverFields {
                    collection_ids,
                    stages: run.repoint.apply(&map.remap_json(&r.fields.stages)),
                    ..r.fields
                };
                self.store
                    .create_retriever(ns, Some(target_id.clone()), fields)
                    .await
                    .map(|_| ())
            }
            ResourceType::Taxonomy => {
                let t = self.store.get_taxonomy(src, source_id).await?;
                let retriever_id = target_of(&t.fields.retriever_id)?;
                let source_collection_id = target_of(&t.fields.source_collection_id)?;
                let fields = TaxonomyFields {
                    config: run.repoint.apply(&map.remap_json(&t.fields.config)),
                    retriever_id,
                    source_collection_id,
                    ..t.fields
                };
                self.store
                    .create_taxonomy(ns, Some(target_id.clone()), fields)
                    .await
                    .map(|_| ())
            }
            ResourceType::Cluster => {
                let c = self.store.get_cluster(src, source_id).await?;
                let inputs = targets_of(&c.fields.input_collections)?;
                let fields = ClusterFields {
                    input_collections: inputs,
                    definition: run.repoint.apply(&c.fields.definition),
                    ..c.fields
                };
                self.store
                    .create_cluster(ns, Some(target_id.clone()), fields)
                    .await
                    .map(|_| ())
            }
        };
        match created {
            Ok(()) => Ok(target_id),
            // The same id already in the target: this migration made it before a restart.
            Err(StoreError::Conflict { .. }) => Ok(target_id),
            Err(e) => Err(e.into()),
        }
    }

    /// Stage 2: keyset batches over the selected buckets' objects and collections'
    /// documents, within `date_range`.
    async fn batch_creation(&self, run: &mut Run) -> Result<(), MigrateError> {
        let batches = self.plan_batches(run).await?;
        self.store
            .replace_migration_batches(&run.migration.migration_id, &batches)
            .await?;
        let items: i64 = batches.iter().map(|b| b.item_count).sum();
        let stage = &mut run.progress.stages[stage_index(MigrationStage::BatchProcessing)];
        stage.items_total = items as u64;
        let n = batches.len() as u64;
        self.finish_stage(run, MigrationStage::BatchCreation, n, n, 0)
            .await
    }

    /// The batches the selection makes (keys only are read), in order: copies of the
    /// selected buckets' objects and collections' documents, and for a rebuilt collection
    /// that reads buckets, extraction batches over the source objects. A rebuilt collection
    /// that reads collections is planned later, once they are written ([`Self::plan_wave`]).
    async fn plan_batches(&self, run: &Run) -> Result<Vec<NewBatch>, MigrateError> {
        let (after, before) = run.config.filters_or_default().date_bounds();
        let window = (
            after.map_or(i64::MIN, |t| t.timestamp_micros()),
            before.map_or(i64::MAX, |t| t.timestamp_micros()),
        );
        let mut batches: Vec<NewBatch> = Vec::new();
        for node in &run.graph.nodes {
            let id = &node.resource_id;
            match node.resource_type {
                ResourceType::Bucket => {
                    let read = Reading::Objects(run.source.key, id);
                    batches.extend(self.ranges(run, read, window, "objects", id, None).await?);
                }
                ResourceType::Collection if run.rebuild(id).is_some() => {
                    let c = self.store.get_collection(run.source.key, id).await?;
                    if c.fields.source["type"] != "bucket" {
                        continue;
                    }
                    for bucket in crate::plan::source_ids(&c.fields.source) {
                        let read = Reading::Objects(run.source.key, &bucket);
                        let planned = self
                            .ranges(run, read, window, "extract", id, Some(&bucket))
                            .await?;
                        batches.extend(planned);
                    }
                }
                ResourceType::Collection => {
                    let read = Reading::Documents(run.source.key, id);
                    batches.extend(
                        self.ranges(run, read, window, "documents", id, None)
                            .await?,
                    );
                }
                _ => {}
            }
        }
        Ok(batches)
    }

    /// Keyset batches of `batch_size` over what `read` names, within `window`.
    async fn ranges(
        &self,
        run: &Run,
        read: Reading<'_>,
        window: (i64, i64),
        resource_type: &str,
        resource_id: &str,
        input_id: Option<&str>,
    ) -> Result<Vec<NewBatch>, MigrateError> {
        let batch_size = run.config.batch_options_or_default().batch_size.max(1);
        let mut batches = Vec::new();
        let mut cursor: Option<(i64, String)> = None;
        loop {
            let after = cursor.as_ref().map(|(t, id)| (*t, id.as_str()));
            let keys = match read {
                Reading::Objects(ns, bucket) => {
                    self.store
                        .object_keys_after(ns, bucket, after, window, batch_size)
                        .await?
                }
                Reading::Documents(ns, collection) => {
                    self.store
                        .document_keys_after(ns, collection, after, window, batch_size)
                        .await?
                }
            };
            let Some(last) = keys.last().cloned() else {
                break;
            };
            batches.push(NewBatch {
                resource_type: resource_type.to_owned(),
                resource_id: resource_id.to_owned(),
                after: cursor.clone(),
                last: last.clone(),
                item_count: keys.len() as i64,
                input_id: input_id.map(str::to_owned),
            });
            if (keys.len() as i64) < batch_size {
                break;
            }
            cursor = Some(last);
        }
        Ok(batches)
    }

    /// Plans the extraction batches of rebuilt collections whose upstream collections are now
    /// completely written in the target (one wave of a multi-tier rebuild). `planned` holds
    /// the rebuilt collections already planned. Returns whether batches were added.
    async fn plan_wave(
        &self,
        run: &Run,
        planned: &mut std::collections::HashSet<String>,
    ) -> Result<bool, MigrateError> {
        let summary: HashMap<String, BatchSummary> = self
            .store
            .migration_batch_summary(&run.migration.migration_id)
            .await?
            .into_iter()
            .collect();
        let map = self.id_map(run).await?;
        let target = self.target(run).await?;
        // Planned in this call, so not written yet.
        let mut fresh: Vec<String> = Vec::new();
        let mut added = false;
        for (id, _) in &run.rebuilds {
            if planned.contains(id) {
                continue;
            }
            let c = self.store.get_collection(run.source.key, id).await?;
            if summary.contains_key(id) || c.fields.source["type"] == "bucket" {
                planned.insert(id.clone());
                continue;
            }
            let upstream = crate::plan::source_ids(&c.fields.source);
            let ready = upstream.iter().all(|u| {
                let written = summary.get(u).is_none_or(|s| s.batches == s.batches_done);
                let settled = run.rebuild(u).is_none() || planned.contains(u);
                written && settled && !fresh.contains(u)
            });
            if !ready {
                continue;
            }
            let mut batches = Vec::new();
            for u in &upstream {
                let input = map
                    .resource(u)
                    .ok_or_else(|| MigrateError::Plan(format!("{u} was not set up")))?;
                let read = Reading::Documents(target.key, input);
                let window = (i64::MIN, i64::MAX);
                batches.extend(
                    self.ranges(run, read, window, "extract", id, Some(input))
                        .await?,
                );
            }
            if !batches.is_empty() {
                self.store
                    .append_migration_batches(&run.migration.migration_id, id, &batches)
                    .await?;
                added = true;
                fresh.push(id.clone());
            }
            planned.insert(id.clone());
        }
        Ok(added)
    }

    /// A dry run: validation happened at create and start; this plans the batches (reading
    /// keys only), writes nothing but the migration's own record, and completes with the plan
    /// in `additional_data.plan`.
    async fn dry_run(&self, run: &mut Run) -> Result<(), MigrateError> {
        let batches = self.plan_batches(run).await?;
        let target_name = match run.config.migration_type {
            MigrationType::Extend => self.extend_target(run).await?.namespace_name,
            _ => {
                resolve_target_name(&self.store, &run.migration.org_id, &run.source, &run.config)
                    .await?
            }
        };
        let mut per_resource: Vec<Value> = Vec::new();
        for node in &run.graph.nodes {
            let mine: Vec<&NewBatch> = batches
                .iter()
                .filter(|b| b.resource_id == node.resource_id)
                .collect();
            let mut resource = json!({
                "resource_id": node.resource_id,
                "resource_type": node.resource_type,
                "tier": node.tier,
                "batches": mine.len(),
                "items": mine.iter().map(|b| b.item_count).sum::<i64>(),
            });
            match run.rebuild(&node.resource_id) {
                Some(rebuild) => {
                    resource["rebuild"] = Value::from(match rebuild {
                        Rebuild::Direct(_) => "direct",
                        Rebuild::Downstream => "downstream",
                    });
                    // Batches over upstream documents exist only once those are written.
                    let reads_collections = node.dependencies.iter().any(|d| {
                        run.graph.nodes.iter().any(|n| {
                            &n.resource_id == d && n.resource_type == ResourceType::Collection
                        })
                    });
                    resource["planned_after_upstream"] = Value::from(reads_collections);
                }
                None if run
                    .base
                    .as_ref()
                    .is_some_and(|b| b.map.resource(&node.resource_id).is_some()) =>
                {
                    // Every item is compared; only new or changed ones are written.
                    resource["incremental"] = Value::Bool(true);
                }
                None => {}
            }
            per_resource.push(resource);
        }
        let items: i64 = batches.iter().map(|b| b.item_count).sum();
        let count = |kind: &str| -> i64 {
            batches
                .iter()
                .filter(|b| b.resource_type == kind)
                .map(|b| b.item_count)
                .sum()
        };
        let resources = run.graph.nodes.len() as u64;
        let clusters = run
            .graph
            .nodes
            .iter()
            .filter(|n| n.resource_type == ResourceType::Cluster)
            .count() as u64;
        let stage_totals: [u64; 7] = [
            resources,
            batches.len() as u64,
            items as u64,
            clusters,
            0,
            0,
            resources,
        ];
        let plan = json!({
            "dry_run": true,
            "migration_type": run.config.migration_type,
            "extends": run.base.as_ref().map(|b| b.migration_id.clone()),
            "target_namespace_name": target_name,
            "execution_order": run.graph.execution_order,
            "resources": per_resource,
            "batch_size": run.config.batch_options_or_default().batch_size,
            "batches": batches.len(),
            "items": {"objects": count("objects"), "documents": count("documents"),
                      "extracted": count("extract"), "total": items},
            "stages": MigrationStage::ALL.iter().zip(stage_totals).map(|(stage, total)| {
                json!({"stage": stage, "items": total})
            }).collect::<Vec<_>>(),
            "estimated_duration_seconds":
                (items as f64 / crate::plan::ESTIMATED_ITEMS_PER_SECOND).ceil() as i64 + 1,
        });
        for (stage, total) in run.progress.stages.iter_mut().zip(stage_totals) {
            stage.status = MigrationStatus::Completed;
            stage.started_at = stage.started_at.or_else(|| Some(Utc::now()));
            stage.completed_at = Some(Utc::now());
            stage.items_total = total;
            stage.progress_percent = 100.0;
        }
        run.progress.overall_status = MigrationStatus::Completed;
        run.progress.overall_progress_percent = 100.0;
        run.progress.current_stage = None;
        let progress =
            serde_json::to_value(&run.progress).map_err(|e| MigrateError::Plan(e.to_string()))?;
        self.store
            .set_migration_status(
                &run.migration.migration_id,
                &Action::Complete.allowed_from_names(),
                MigrationStatus::Completed.as_str(),
                StatusChange {
                    completed_at: Some(now_micros()),
                    additional_data: Some(json!({"plan": plan})),
                    progress: Some(progress),
                    ..Default::default()
                },
            )
            .await?;
        Ok(())
    }

    /// Stage 3: up to `max_workers` batches in flight.
    async fn batch_processing(&self, run: &mut Run) -> Result<(), MigrateError> {
        let target = self.target(run).await?;
        let map = Arc::new(self.id_map(run).await?);
        let root_buckets = run
            .graph
            .nodes
            .iter()
            .filter(|n| n.resource_type == ResourceType::Bucket)
            .filter_map(|n| {
                let target = map.resource(&n.resource_id)?;
                Some((n.resource_id.clone(), target.to_owned()))
            })
            .collect();
        // Each rebuilt collection's extractor, resolved once for all its batches.
        let mut extractions = HashMap::new();
        for (source_id, _) in &run.rebuilds {
            let Some(target_id) = map.resource(source_id) else {
                continue;
            };
            let collection = self.store.get_collection(target.key, target_id).await?;
            let config: CollectionConfig =
                serde_json::from_value(collection.fields.feature_extractor)
                    .map_err(|e| MigrateError::Plan(format!("{target_id}: {e}")))?;
            let extractor = self
                .registry
                .get(&config.feature_extractor_name, &config.version)
                .ok_or_else(|| {
                    MigrateError::Plan(format!(
                        "extractor {}@{} is not registered",
                        config.feature_extractor_name, config.version
                    ))
                })?;
            extractions.insert(target_id.to_owned(), (config, extractor));
        }
        let context = Arc::new(BatchContext {
            source: run.source.key,
            target: target.key,
            map,
            root_buckets,
            extractions,
            strip_taxonomy: !run
                .config
                .taxonomy_options_or_default()
                .preserve_enrichment_fields,
            strip_clusters: !run.config.cluster_options_or_default().preserve_assignments,
            refresh_changed: run.config.migration_type == MigrationType::Extend,
        });
        let mut planned = std::collections::HashSet::new();
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
            return Err(MigrateError::Plan(format!(
                "{} of {} batches failed ({} items); start the migration again to retry them",
                totals.batches_failed, totals.batches, totals.items_failed
            )));
        }
        self.finish_stage(
            run,
            MigrationStage::BatchProcessing,
            totals.items as u64,
            totals.items_written as u64,
            totals.items_failed as u64,
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
            while !exhausted && in_flight.len() < workers {
                match self
                    .store
                    .claim_migration_batch(
                        &run.migration.migration_id,
                        &self.worker_id,
                        self.config.lease.as_micros() as i64,
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
            joined.map_err(|e| MigrateError::Plan(format!("batch worker: {e}")))??;
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

    /// Batch and item counts of the whole migration.
    async fn batch_totals(&self, run: &Run) -> Result<BatchSummary, MigrateError> {
        let per_resource = self
            .store
            .migration_batch_summary(&run.migration.migration_id)
            .await?;
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

    async fn update_processing_progress(&self, run: &mut Run) -> Result<(), MigrateError> {
        let per_resource = self
            .store
            .migration_batch_summary(&run.migration.migration_id)
            .await?;
        let (mut items, mut written, mut failed) = (0i64, 0i64, 0i64);
        for (resource_id, s) in &per_resource {
            items += s.items;
            written += s.items_written;
            failed += s.items_failed;
            if let Some(r) = run
                .progress
                .resources
                .iter_mut()
                .find(|r| &r.resource_id == resource_id)
            {
                r.progress_percent = if s.items == 0 {
                    100.0
                } else {
                    100.0 * (s.items_written + s.items_failed) as f64 / s.items as f64
                };
                r.status = if s.batches_done + s.batches_failed == s.batches {
                    MigrationStatus::Completed
                } else {
                    MigrationStatus::InProgress
                };
            }
        }
        let stage = &mut run.progress.stages[stage_index(MigrationStage::BatchProcessing)];
        stage.items_total = items as u64;
        stage.items_completed = written as u64;
        stage.items_failed = failed as u64;
        stage.progress_percent = if items == 0 {
            100.0
        } else {
            100.0 * (written + failed) as f64 / items as f64
        };
        // Throughput so far predicts the rest.
        if let (Some(started), true) = (stage.started_at, written > 0) {
            let elapsed = (Utc::now() - started).num_milliseconds().max(1) as f64;
            let remaining = (items - written - failed).max(0) as f64;
            let rest_ms = remaining * elapsed / written as f64;
            run.progress.estimated_completion =
                Some(Utc::now() + chrono::Duration::milliseconds(rest_ms as i64));
        }
        self.save(run, None).await
    }

    /// Copies one batch; a failure gives the batch back for a retry (with backoff) or marks it
    /// failed.
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
            Err(MigrateError::Store(StoreError::Conflict {
                code: ErrorCode::LeaseLost,
                ..
            })) => Ok(()),
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
                        &batch.migration_id,
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

    async fn copy_batch(
        &self,
        batch: &MigrationBatch,
        cx: &BatchContext,
    ) -> Result<(), MigrateError> {
        let n = self
            .batches_done
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst)
            + 1;
        match self.config.fault {
            Some(FaultPoint::FailBatch(f)) if f == n => {
                return Err(MigrateError::Plan(format!("injected failure of batch {n}")));
            }
            Some(FaultPoint::SlowBatches(ms)) => {
                tokio::time::sleep(Duration::from_millis(ms)).await
            }
            _ => {}
        }
        let b = &batch.batch;
        let after = b.after.as_ref().map(|(t, id)| (*t, id.as_str()));
        let last = (b.last.0, b.last.1.as_str());
        let target_resource = cx
            .map
            .resource(&b.resource_id)
            .ok_or_else(|| MigrateError::Plan(format!("{} was not set up", b.resource_id)))?
            .to_owned();
        let done = BatchDone {
            migration_id: &batch.migration_id,
            batch_no: batch.batch_no,
            owner: &self.worker_id,
            items_written: b.item_count,
            items_failed: 0,
        };
        if self.config.fault == Some(FaultPoint::ExitBeforeCommit(n)) {
            die(FaultPoint::ExitBeforeCommit(n));
        }
        if b.resource_type == "extract" {
            self.extract_batch(batch, cx, &target_resource, done)
                .await?;
        } else if b.resource_type == "objects" {
            let mut objects = self
                .store
                .objects_between(cx.source, &b.resource_id, after, last)
                .await?;
            for o in &mut objects {
                o.object_id = cx.map.item(&o.object_id);
                o.bucket_id = target_resource.clone();
            }
            self.store
                .copy_objects_batch(
                    cx.target,
                    &target_resource,
                    &objects,
                    cx.refresh_changed,
                    &done,
                )
                .await?;
        } else {
            // Rows that carry taxonomy results (ids to remap) or cluster assignments to drop
            // are rewritten here; every other row is copied by the database as it is.
            let mut rewrite_when = vec![r#"%"_taxonomy_%"#];
            if cx.strip_clusters {
                rewrite_when.push(r#"%"cluster_id"%"#);
            }
            self.store
                .copy_documents_range(
                    (cx.source, &b.resource_id),
                    (cx.target, &target_resource),
                    (after, last),
                    &cx.map.items,
                    &cx.root_buckets,
                    &rewrite_when,
                    |d| cx.transform_document(d, &target_resource),
                    cx.refresh_changed,
                    &done,
                )
                .await?;
        }
        if self.config.fault == Some(FaultPoint::ExitAfterCommit(n)) {
            die(FaultPoint::ExitAfterCommit(n));
        }
        Ok(())
    }

    /// Runs the target collection's extractor over one batch of its inputs (source objects
    /// renamed as the target names them, or target documents of an upstream collection) and
    /// writes the documents, replacing what the same items made before, with the done mark.
    async fn extract_batch(
        &self,
        batch: &MigrationBatch,
        cx: &BatchContext,
        target_collection: &str,
        done: BatchDone<'_>,
    ) -> Result<(), MigrateError> {
        let b = &batch.batch;
        let input = b
            .input_id
            .as_deref()
            .ok_or_else(|| MigrateError::Plan("an extraction batch without an input".into()))?;
        let after = b.after.as_ref().map(|(t, id)| (*t, id.as_str()));
        let in_range = |i: &Item| (i.created_at(), i.id()) <= (b.last.0, b.last.1.as_str());
        let bucket = cx.root_buckets.iter().find(|(source, _)| source == input);
        let (items, kind) = match bucket {
            Some((source_bucket, target_bucket)) => {
                let source = Source::Bucket(source_bucket.clone());
                let mut items =
                    next_items(&self.store, cx.source, &source, after, b.item_count).await?;
                items.retain(in_range);
                for item in &mut items {
                    if let Item::Object { bucket_id, object } = item {
                        object.object_id = cx.map.item(&object.object_id);
                        bucket_id.clone_from(target_bucket);
                    }
                }
                (items, SourceKind::Object)
            }
            None => {
                let source = Source::Collection(input.to_owned());
                let mut items =
                    next_items(&self.store, cx.target, &source, after, b.item_count).await?;
                items.retain(in_range);
                (items, SourceKind::Document)
            }
        };
        let (config, extractor) = cx.extractions.get(target_collection).ok_or_else(|| {
            MigrateError::Plan(format!("{target_collection} is not a rebuilt collection"))
        })?;
        let (docs, failures) =
            extract_items(&self.blobs, target_collection, config, extractor, &items).await?;
        if let Some((id, error)) = failures.first() {
            tracing::warn!(
                item = id,
                error,
                failed = failures.len(),
                "items failed extraction"
            );
        }
        let sources: Vec<String> = items.iter().map(|i| i.id().to_owned()).collect();
        let failed = failures.len() as i64;
        // As for a trigger: without fresh statistics PostgreSQL answers each batch's "delete
        // what these items made" with a scan of the growing collection.
        let written = self
            .extractions
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        if written % STATISTICS_EVERY_BATCHES == 1 {
            if let Err(e) = self.store.refresh_document_statistics().await {
                tracing::warn!(error = %e, "refreshing document statistics failed");
            }
        }
        self.store
            .write_extracted_batch(
                cx.target,
                target_collection,
                kind,
                &sources,
                &docs,
                &BatchDone {
                    items_written: items.len() as i64 - failed,
                    items_failed: failed,
                    ..done
                },
            )
            .await?;
        Ok(())
    }

    /// The task this migration recorded under `key`, if any.
    async fn recorded_task(&self, run: &Run, key: &str) -> Result<Option<String>, MigrateError> {
        Ok(self
            .store
            .migration_id_map(&run.migration.migration_id)
            .await?
            .into_iter()
            .find(|(kind, source, _)| kind == TASK_ROW && source == key)
            .map(|(_, _, task)| task))
    }

    /// Waits for a task this migration queued to end, keeping the migration's lease and
    /// stopping if the migration is cancelled.
    async fn wait_for_task(&self, run: &Run, task_id: &str) -> Result<Task, MigrateError> {
        loop {
            let task = self.store.get_task(&run.migration.org_id, task_id).await?;
            if !matches!(
                task.status.as_str(),
                ferry_store::tasks::STATUS_PENDING | ferry_store::tasks::STATUS_IN_PROGRESS
            ) {
                return Ok(task);
            }
            self.ensure_running(run).await?;
            self.renew(&run.task).await?;
            tokio::time::sleep(self.config.poll_interval).await;
        }
    }

    /// A fresh k-means run of a target cluster over its (rebuilt) input collections, run by
    /// the pipeline workers as an ordinary cluster execution, recorded in the id map (see
    /// [`Self::recomputed_clusters`]); waits for it. A cluster whose inputs have no documents
    /// has nothing to run.
    async fn recompute_cluster(
        &self,
        run: &Run,
        target: &Namespace,
        source_id: &str,
        target_id: &str,
    ) -> Result<(), MigrateError> {
        let key = format!("cluster:{source_id}");
        let task_id = match self.recorded_task(run, &key).await? {
            Some(id) => id,
            None => {
                let cluster = self.store.get_cluster(target.key, target_id).await?;
                let definition: ClusterDefinition =
                    serde_json::from_value(cluster.fields.definition.clone())
                        .map_err(|e| MigrateError::Plan(format!("{target_id}: {e}")))?;
                let uris = definition.vector_config.resolved_feature_uris();
                let mut collections = Vec::new();
                for id in &cluster.fields.input_collections {
                    let c = self.store.get_collection(target.key, id).await?;
                    if c.document_count == 0 {
                        continue;
                    }
                    let indexes: Vec<CollectionVectorIndex> =
                        serde_json::from_value(c.fields.vector_indexes.clone())
                            .map_err(|e| MigrateError::Plan(format!("{id}: {e}")))?;
                    let vector_names = uris
                        .iter()
                        .map(|uri| {
                            indexes
                                .iter()
                                .find(|i| &i.feature_uri == uri)
                                .map(|i| i.index.name.clone())
                                .ok_or_else(|| {
                                    MigrateError::Plan(format!(
                                        "cluster {target_id}: collection {id} has no feature {uri}"
                                    ))
                                })
                        })
                        .collect::<Result<Vec<_>, _>>()?;
                    collections.push(PlanCollection {
                        collection_id: id.clone(),
                        vector_names,
                    });
                }
                if collections.is_empty() {
                    return Ok(());
                }
                let plan = definition.plan(target_id, &target.namespace_id, collections, None);
                // A run queued before a crash, not yet recorded, is the one to wait for.
                let active = self
                    .store
                    .active_tasks(target.key, CLUSTER_TASK)
                    .await?
                    .into_iter()
                    .find(|t| t.inputs["cluster_id"] == target_id);
                let task = match active {
                    Some(task) => task,
                    None => {
                        let inputs = serde_json::to_value(&plan)
                            .map_err(|e| MigrateError::Plan(e.to_string()))?;
                        let (task, _) = self
                            .store
                            .start_cluster_execution(
                                &run.migration.org_id,
                                target.key,
                                target_id,
                                CLUSTER_TASK,
                                inputs,
                            )
                            .await?;
                        task
                    }
                };
                self.store
                    .map_migration_id(&run.migration.migration_id, TASK_ROW, &key, &task.task_id)
                    .await?;
                task.task_id
            }
        };
        let task = self.wait_for_task(run, &task_id).await?;
        if task.status != STATUS_COMPLETED {
            return Err(MigrateError::Plan(format!(
                "recomputing cluster {target_id} failed: {}",
                task.error.unwrap_or(task.status)
            )));
        }
        Ok(())
    }

    /// Stage 4: clusters' runs (centroids, metrics) and artifacts, or a fresh run.
    async fn cluster_execution(&self, run: &mut Run) -> Result<(), MigrateError> {
        let options = run.config.cluster_options_or_default();
        let target = self.target(run).await?;
        let map = self.id_map(run).await?;
        let clusters: Vec<String> = run
            .graph
            .nodes
            .iter()
            .filter(|n| n.resource_type == ResourceType::Cluster)
            .map(|n| n.resource_id.clone())
            .collect();
        let total = clusters.len() as u64;
        for source_id in &clusters {
            let target_id = map
                .resource(source_id)
                .ok_or_else(|| MigrateError::Plan(format!("{source_id} was not set up")))?;
            let source_cluster = self.store.get_cluster(run.source.key, source_id).await?;
            // Over rebuilt vectors the old centroids mean nothing: run k-means again.
            let rebuilt_inputs = source_cluster
                .fields
                .input_collections
                .iter()
                .any(|c| run.rebuild(c).is_some());
            if options.recompute_clusters || rebuilt_inputs {
                self.recompute_cluster(run, &target, source_id, target_id)
                    .await?;
                continue;
            }
            if !options.preserve_centroids {
                continue;
            }
            let (runs, _) = self
                .store
                .list_cluster_executions(
                    run.source.key,
                    source_id,
                    &ExecutionListQuery {
                        status: None,
                        search: None,
                        descending: true,
                        limit: 1000,
                        offset: 0,
                    },
                )
                .await?;
            for execution in runs {
                let artifact = match (&execution.artifact_key, options.migrate_artifacts) {
                    (Some(key), true) => {
                        let new_key = key.replace(source_id.as_str(), target_id);
                        let new_key = if new_key == *key {
                            format!("{key}.{target_id}")
                        } else {
                            new_key
                        };
                        self.blobs.copy_artifact(key, &new_key).await?;
                        Some(new_key)
                    }
                    _ => None,
                };
                self.store
                    .copy_cluster_execution(
                        target.key,
                        target_id,
                        &execution,
                        &source_cluster.summary,
                        artifact.as_deref(),
                    )
                    .await?;
            }
        }
        self.finish_stage(run, MigrationStage::ClusterExecution, total, total, 0)
            .await
    }

    /// Stage 5: enrichment fields were kept (remapped) or dropped while copying. Each
    /// migrated taxonomy application runs again in the target, and the stage waits for it,
    /// when `re_run_enrichment` asks, or when its collection was rebuilt (its documents are
    /// new).
    async fn taxonomy_enrichment(&self, run: &mut Run) -> Result<(), MigrateError> {
        let options = run.config.taxonomy_options_or_default();
        let target = self.target(run).await?;
        let map = self.id_map(run).await?;
        let mut rerun = 0u64;
        for (source_collection, collection_id, taxonomy_id) in self.applications(run, &map).await? {
            if !(options.re_run_enrichment || run.rebuild(&source_collection).is_some()) {
                continue;
            }
            let key = format!("taxonomy:{collection_id}:{taxonomy_id}");
            let task_id = match self.recorded_task(run, &key).await? {
                Some(id) => id,
                None => {
                    let inputs = serde_json::to_value(TaxonomyApplication {
                        taxonomy_id: taxonomy_id.clone(),
                        collection_id: collection_id.clone(),
                        batch_size: run.config.batch_options_or_default().batch_size,
                        scroll_filters: None,
                    })
                    .map_err(|e| MigrateError::Plan(e.to_string()))?;
                    let task = self
                        .store
                        .create_task(
                            &run.migration.org_id,
                            Some(target.key),
                            TAXONOMY_TASK,
                            &inputs,
                        )
                        .await?;
                    self.store
                        .map_migration_id(
                            &run.migration.migration_id,
                            TASK_ROW,
                            &key,
                            &task.task_id,
                        )
                        .await?;
                    task.task_id
                }
            };
            let task = self.wait_for_task(run, &task_id).await?;
            if task.status == STATUS_FAILED {
                return Err(MigrateError::Plan(format!(
                    "re-running taxonomy {taxonomy_id} on {collection_id} failed: {}",
                    task.error.unwrap_or_default()
                )));
            }
            rerun += 1;
        }
        self.finish_stage(run, MigrationStage::TaxonomyEnrichment, rerun, rerun, 0)
            .await
    }

    /// `(source collection, target collection, target taxonomy)` for every taxonomy
    /// application of a migrated collection whose taxonomy was migrated too.
    async fn applications(
        &self,
        run: &Run,
        map: &IdMap,
    ) -> Result<Vec<(String, String, String)>, MigrateError> {
        let mut pairs = Vec::new();
        for node in run
            .graph
            .nodes
            .iter()
            .filter(|n| n.resource_type == ResourceType::Collection)
        {
            let c = self
                .store
                .get_collection(run.source.key, &node.resource_id)
                .await?;
            for application in c
                .fields
                .taxonomy_applications
                .as_ref()
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let taxonomy = application["taxonomy_id"].as_str().unwrap_or_default();
                if let (Some(col), Some(tax)) =
                    (map.resource(&node.resource_id), map.resource(taxonomy))
                {
                    pairs.push((node.resource_id.clone(), col.to_owned(), tax.to_owned()));
                }
            }
        }
        Ok(pairs)
    }

    /// Stage 6: each migrated retriever with recorded executions answers the same queries in
    /// source and target; the comparison goes to `additional_data.benchmark`.
    async fn benchmark(&self, run: &mut Run) -> Result<(), MigrateError> {
        let target = self.target(run).await?;
        let map = self.id_map(run).await?;
        let retrievers: Vec<String> = run
            .graph
            .nodes
            .iter()
            .filter(|n| n.resource_type == ResourceType::Retriever)
            .map(|n| n.resource_id.clone())
            .collect();
        let mut evaluated = Vec::new();
        for source_id in &retrievers {
            let Some(target_id) = map.resource(source_id) else {
                continue;
            };
            if let Some(result) = crate::benchmark::evaluate(
                &self.store,
                &self.retrieval,
                (run.source.key, source_id),
                (target.key, target_id),
                &map,
            )
            .await?
            {
                evaluated.push(result);
            }
        }
        let n = evaluated.len() as u64;
        run.benchmark = evaluated;
        self.finish_stage(run, MigrationStage::BenchmarkEvaluation, n, n, 0)
            .await
    }

    /// Copies migrated retrievers' execution history and interactions, as the retriever
    /// options ask, with ids remapped (derived from the migration, so a repeat writes nothing
    /// twice: the store skips ids it already has). Returns how many records were read.
    async fn copy_retriever_history(
        &self,
        run: &Run,
        target: &Namespace,
        map: &IdMap,
    ) -> Result<i64, MigrateError> {
        let options = run.config.retriever_options_or_default();
        let mut copied = 0i64;
        let retrievers = run
            .graph
            .nodes
            .iter()
            .filter(|n| n.resource_type == ResourceType::Retriever);
        for node in retrievers {
            let Some(target_retriever) = map.resource(&node.resource_id) else {
                continue;
            };
            let remap_documents = |value: &Value| -> Value {
                let mut value = map.remap_json(value);
                if let Some(docs) = value.get_mut("documents").and_then(Value::as_array_mut) {
                    for d in docs {
                        if let Some(id) = d["document_id"].as_str().map(|id| map.item(id)) {
                            d["document_id"] = Value::from(id);
                        }
                    }
                }
                value
            };
            if options.migrate_execution_history {
                let mut offset = 0;
                loop {
                    let (page, _) = self
                        .store
                        .list_retriever_executions(
                            run.source.key,
                            &node.resource_id,
                            &ferry_store::RetrieverExecutionListQuery {
                                status: None,
                                descending: false,
                                limit: 500,
                                offset,
                            },
                        )
                        .await?;
                    let n = page.len() as i64;
                    for mut e in page {
                        e.execution_id = derived(&run.migration.migration_id, &e.execution_id);
                        e.retriever_id = target_retriever.to_owned();
                        e.response = remap_documents(&e.response);
                        e.response["execution_id"] = Value::from(e.execution_id.clone());
                        self.store
                            .record_retriever_execution(target.key, &e)
                            .await?;
                        copied += 1;
                    }
                    if n < 500 {
                        break;
                    }
                    offset += n;
                }
            }
            if options.migrate_interactions {
                let mut offset = 0;
                loop {
                    let (page, _) = self
                        .store
                        .list_interactions(
                            run.source.key,
                            &ferry_store::InteractionListQuery {
                                retriever_id: Some(node.resource_id.clone()),
                                ascending: true,
                                limit: 500,
                                offset,
                                ..Default::default()
                            },
                        )
                        .await?;
                    let n = page.len() as i64;
                    for mut i in page {
                        let migration_id = run.migration.migration_id.as_str();
                        i.interaction_id = derived(migration_id, &i.interaction_id);
                        i.retriever_id = Some(target_retriever.to_owned());
                        i.execution_id =
                            i.execution_id.as_deref().map(|e| derived(migration_id, e));
                        i.feature_id = map.item(&i.feature_id);
                        i.body["retriever_id"] = Value::from(target_retriever);
                        i.body["execution_id"] =
                            i.execution_id.clone().map_or(Value::Null, Value::from);
                        i.body["feature_id"] = Value::from(i.feature_id.clone());
                        self.store.create_interaction(target.key, &i).await?;
                        copied += 1;
                    }
                    if n < 500 {
                        break;
                    }
                    offset += n;
                }
            }
        }
        Ok(copied)
    }

    /// `additional_data.clusters_recomputed`: each cluster run again in the target, with the
    /// task that ran it.
    async fn recomputed_clusters(&self, run: &Run, map: &IdMap) -> Result<Value, MigrateError> {
        Ok(self
            .store
            .migration_id_map(&run.migration.migration_id)
            .await?
            .into_iter()
            .filter(|(kind, key, _)| kind == TASK_ROW && key.starts_with("cluster:"))
            .map(|(_, key, task)| {
                let source = key.trim_start_matches("cluster:");
                json!({"source_cluster_id": source, "cluster_id": map.resource(source),
                       "task_id": task})
            })
            .collect())
    }

    /// `additional_data.re_extracted`: each rebuilt collection with its extractor.
    async fn rebuild_report(&self, run: &Run, map: &IdMap) -> Result<Value, MigrateError> {
        let target_ns = self.target(run).await?;
        let mut collections = Vec::new();
        for (id, rebuild) in &run.rebuilds {
            let source = self.store.get_collection(run.source.key, id).await?;
            let target_id = map.resource(id).unwrap_or_default();
            let target = self.store.get_collection(target_ns.key, target_id).await?;
            collections.push(json!({
                "source_collection_id": id,
                "collection_id": target_id,
                "mode": match rebuild { Rebuild::Direct(_) => "direct", Rebuild::Downstream => "downstream" },
                "from": format!("{}@{}", source.fields.extractor_name, source.fields.extractor_version),
                "to": format!("{}@{}", target.fields.extractor_name, target.fields.extractor_version),
                "source_documents": source.document_count,
                "documents": target.document_count,
            }));
        }
        Ok(json!({"collections": collections}))
    }

    /// Stage 7: retriever history, taxonomy and cluster applications on the target
    /// collections, per-collection count verification, completion.
    async fn finalization(&self, run: &mut Run) -> Result<(), MigrateError> {
        let target = self.target(run).await?;
        let map = self.id_map(run).await?;
        let history_copied = self.copy_retriever_history(run, &target, &map).await?;
        let mut verification = Map::new();
        let summary: HashMap<String, ferry_store::BatchSummary> = self
            .store
            .migration_batch_summary(&run.migration.migration_id)
            .await?
            .into_iter()
            .collect();
        let mut mismatches = Vec::new();
        for node in &run.graph.nodes {
            let Some(target_id) = map.resource(&node.resource_id) else {
                continue;
            };
            match node.resource_type {
                ResourceType::Collection => {
                    let source = self
                        .store
                        .get_collection(run.source.key, &node.resource_id)
                        .await?;
                    let copied = self.store.get_collection(target.key, target_id).await?;
                    let s = summary.get(&node.resource_id).cloned().unwrap_or_default();
                    // A rebuilt collection counts source items extracted, not documents
                    // (one item may make several chunks, or none).
                    let rebuilt = run.rebuild(&node.resource_id).is_some();
                    let ok = s.items == s.items_written + s.items_failed + s.items_skipped
                        && (rebuilt || copied.document_count >= s.items_written);
                    if !ok {
                        mismatches.push(node.resource_id.clone());
                    }
                    verification.insert(
                        node.resource_id.clone(),
                        json!({"target_id": target_id, "selected": s.items,
                               "written": s.items_written, "failed": s.items_failed,
                               "skipped": s.items_skipped, "rebuilt": rebuilt,
                               "target_count": copied.document_count, "verified": ok}),
                    );
                    let taxonomy_applications = source
                        .fields
                        .taxonomy_applications
                        .as_ref()
                        .map(|a| map.remap_json(a));
                    let cluster_applications = source
                        .fields
                        .cluster_applications
                        .as_ref()
                        .map(|a| map.remap_json(a));
                    if taxonomy_applications.is_some() || cluster_applications.is_some() {
                        self.store
                            .update_collection(target.key, target_id, |c| {
                                c.taxonomy_applications = taxonomy_applications.clone();
                                c.cluster_applications = cluster_applications.clone();
                            })
                            .await?;
                    }
                }
                ResourceType::Bucket => {
                    let copied = self.store.get_bucket(target.key, target_id).await?;
                    let s = summary.get(&node.resource_id).cloned().unwrap_or_default();
                    verification.insert(
                        node.resource_id.clone(),
                        json!({"target_id": target_id, "selected": s.items,
                               "written": s.items_written, "failed": s.items_failed,
                               "skipped": s.items_skipped, "target_count": copied.object_count}),
                    );
                }
                _ => {}
            }
        }
        for r in &mut run.progress.resources {
            r.status = MigrationStatus::Completed;
            r.progress_percent = 100.0;
        }
        if !mismatches.is_empty() {
            return Err(MigrateError::Plan(format!(
                "count verification failed for {}",
                mismatches.join(", ")
            )));
        }
        let totals = self.batch_totals(run).await?;
        let mut additional = json!({
            "target_namespace_id": target.namespace_id,
            "target_namespace_name": target.namespace_name,
            "id_map": map.resources,
            "verification": verification,
            "items": {"selected": totals.items, "written": totals.items_written,
                      "failed": totals.items_failed, "skipped": totals.items_skipped},
            "retriever_history_copied": history_copied,
            "benchmark": run.benchmark,
        });
        if let Some(base) = &run.base {
            // Reported always; applied when the start was forced (DESIGN §3 Types, extend).
            let gone = crate::plan::source_deletions(
                &self.store,
                base,
                run.source.key,
                target.key,
                &run.graph,
                run.force,
            )
            .await?;
            additional["extends"] = Value::from(base.migration_id.clone());
            additional["deletions"] = json!({
                "detected": gone.iter().map(|(_, n, _)| n).sum::<i64>(),
                "applied": run.force,
                "resources": gone.iter().map(|(id, n, sample)| json!({
                    "source_resource_id": id, "count": n, "sample_target_ids": sample,
                })).collect::<Vec<_>>(),
            });
        }
        additional["clusters_recomputed"] = self.recomputed_clusters(run, &map).await?;
        if !run.rebuilds.is_empty() {
            additional["re_extracted"] = self.rebuild_report(run, &map).await?;
        }
        let total = run.graph.nodes.len() as u64;
        let s = &mut run.progress.stages[stage_index(MigrationStage::Finalization)];
        s.status = MigrationStatus::Completed;
        s.completed_at = Some(Utc::now());
        s.items_total = total;
        s.items_completed = total;
        s.progress_percent = 100.0;
        run.completed_stages
            .push(json!({"migration_id": run.migration.migration_id,
            "stage": MigrationStage::Finalization, "items_total": total,
            "items_completed": total, "items_failed": 0}));
        run.progress.overall_status = MigrationStatus::Completed;
        run.progress.current_stage = None;
        run.progress.estimated_completion = Some(Utc::now());
        self.save(run, Some(&additional)).await?;
        let progress =
            serde_json::to_value(&run.progress).map_err(|e| MigrateError::Plan(e.to_string()))?;
        self.store
            .set_migration_status(
                &run.migration.migration_id,
                &Action::Complete.allowed_from_names(),
                MigrationStatus::Completed.as_str(),
                StatusChange {
                    completed_at: Some(now_micros()),
                    additional_data: Some(additional),
                    progress: Some(progress),
                    ..Default::default()
                },
            )
            .await?;
        Ok(())
    }
}

/// How to read the keys of a batch plan: a bucket's objects or a collection's documents.
#[derive(Clone, Copy)]
enum Reading<'a> {
    Objects(ferry_store::NamespaceKey, &'a str),
    Documents(ferry_store::NamespaceKey, &'a str),
}

/// Prefixes of the resource ids a retriever stage may mention.
const RESOURCE_PREFIXES: [&str; 5] = ["col_", "ret_", "tax_", "clust_", "bkt_"];

/// Checks that every resource id a retriever's stages mention was migrated.
fn check_stage_references(
    stages: &Value,
    map: &IdMap,
    retriever: &str,
) -> Result<(), MigrateError> {
    fn walk(value: &Value, found: &mut Vec<String>) {
        match value {
            Value::String(s) if RESOURCE_PREFIXES.iter().any(|p| s.starts_with(p)) => {
                found.push(s.clone())
            }
            Value::Array(items) => items.iter().for_each(|v| walk(v, found)),
            Value::Object(m) => m.values().for_each(|v| walk(v, found)),
            _ => {}
        }
    }
    let mut found = Vec::new();
    walk(stages, &mut found);
    let missing: Vec<String> = found
        .into_iter()
        .filter(|id| map.resource(id).is_none())
        .collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(MigrateError::Plan(format!(
            "retriever {retriever} references resources that are not migrated: {}",
            missing.join(", ")
        )))
    }
}

/// What every batch of one migration needs.
struct BatchContext {
    source: ferry_store::NamespaceKey,
    target: ferry_store::NamespaceKey,
    map: Arc<IdMap>,
    /// Source → target bucket ids, for documents' `root_bucket_id`.
    root_buckets: Vec<(String, String)>,
    /// re_extract: each rebuilt target collection's configuration and extractor.
    extractions: HashMap<String, (CollectionConfig, Arc<dyn ferry_extract::Extractor>)>,
    strip_taxonomy: bool,
    strip_clusters: bool,
    /// extend: items the target holds in an older version are overwritten.
    refresh_changed: bool,
}

impl BatchContext {
    /// A source document as the target holds it: ids and lineage remapped, enrichment fields
    /// kept (re-keyed to the target taxonomy, matches remapped) or dropped per the options.
    fn transform_document(&self, mut d: DocumentRecord, collection_id: &str) -> DocumentRecord {
        let map = &self.map;
        d.document_id = map.item(&d.document_id);
        d.collection_id = collection_id.to_owned();
        let l = &mut d.lineage;
        l.source_object_id = l.source_object_id.as_ref().map(|id| map.item(id));
        l.root_object_id = l.root_object_id.as_ref().map(|id| map.item(id));
        l.source_document_id = l.source_document_id.as_ref().map(|id| map.item(id));
        l.root_bucket_id = l
            .root_bucket_id
            .as_ref()
            .map(|id| map.resource(id).unwrap_or(id).to_owned());
        if self.strip_clusters {
            d.fields.remove("cluster_id");
        }
        let taxonomy_keys: Vec<String> = d
            .fields
            .keys()
            .filter(|k| k.starts_with("_taxonomy_"))
            .cloned()
            .collect();
        for key in taxonomy_keys {
            let Some(mut value) = d.fields.remove(&key) else {
                continue;
            };
            if self.strip_taxonomy {
                continue;
            }
            let source_taxonomy = key.trim_start_matches("_taxonomy_");
            let Some(target_taxonomy) = map.resource(source_taxonomy) else {
                continue;
            };
            value["taxonomy_id"] = Value::from(target_taxonomy);
            if let Some(matches) = value.get_mut("matches").and_then(Value::as_array_mut) {
                for m in matches {
                    if let Some(id) = m["document_id"].as_str().map(|id| map.item(id)) {
                        m["document_id"] = Value::from(id);
                    }
                    if let Some(c) = m["collection_id"].as_str().and_then(|c| map.resource(c)) {
                        m["collection_id"] = Value::from(c);
                    }
                }
            }
            d.fields
                .insert(format!("_taxonomy_{target_taxonomy}"), value);
        }
        d
    }
}
