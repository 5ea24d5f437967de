//! The stages, each run on its own against a real store (SQLite in a temporary directory),
//! without a server: what each one writes, and that running it again after a crash writes
//! nothing twice.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use ferry_extract::Registry;
use ferry_pipeline::FaultPoint;
use ferry_store::blobs::BlobStore;
use ferry_store::{
    BatchKind, BucketFields, CollectionFields, Lineage, Namespace, NamespaceFields, NewDocument,
    NewNamespace, NewObject, Store, StoreLocation, Task,
};
use ferry_wire::migration::{MigrationConfig, MigrationStage, MigrationStatus, MigrationType};
use ferry_wire::task::TaskStatusEnum;
use serde_json::{json, Map, Value};

use super::run::Run;
use super::{Engine, EngineConfig, MIGRATION_TASK};
use crate::error::MigrateError;
use crate::service;
use crate::webhooks::Notifier;

const OBJECTS: usize = 20;
const DOCUMENTS: usize = 20;

/// A store with namespace `data`: bucket `docs` of [`OBJECTS`] text objects, and collection
/// `texts` (text_extractor v1) holding [`DOCUMENTS`] documents.
struct Fixture {
    store: Store,
    registry: Arc<Registry>,
    blobs: BlobStore,
    org: String,
    _dir: tempfile::TempDir,
}

async fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::connect(&StoreLocation::SqliteFile(dir.path().join("ferry.db")))
        .await
        .unwrap();
    let blobs = BlobStore::local(&dir.path().join("objects")).unwrap();
    let registry = Arc::new(Registry::builtin(Default::default(), PathBuf::new()));
    let org = store
        .ensure_organization("default")
        .await
        .unwrap()
        .internal_id;
    let source = store
        .create_namespace(
            &org,
            NewNamespace {
                namespace_id: None,
                namespace_type: "standard".into(),
                mode: "managed".into(),
                fields: NamespaceFields {
                    namespace_name: "data".into(),
                    description: None,
                    feature_extractors: json!([]),
                    payload_indexes: json!([]),
                    auto_create_indexes: false,
                    adaptive_indexing: false,
                },
            },
        )
        .await
        .unwrap();
    let bucket = store
        .create_bucket(
            source.key,
            None,
            BucketFields {
                bucket_name: "docs".into(),
                description: None,
                bucket_schema: json!({"properties": {"body": {"type": "text"}}}),
                unique_key: None,
                metadata: None,
                storage_class: None,
            },
        )
        .await
        .unwrap();
    let objects = (0..OBJECTS)
        .map(|i| {
            let mut fields = Map::new();
            fields.insert("body".into(), Value::from(format!("object number {i}")));
            NewObject {
                fields,
                blobs: json!([]),
                ..Default::default()
            }
        })
        .collect();
    store
        .insert_objects(source.key, &bucket.bucket_id, objects)
        .await
        .unwrap();
    let v1 = registry.get("text_extractor", "v1").unwrap();
    let params = v1.resolve_parameters(&Map::new()).unwrap();
    let collection = store
        .create_collection(
            source.key,
            None,
            CollectionFields {
                collection_name: "texts".into(),
                description: None,
                source: json!({"type": "bucket", "bucket_ids": [bucket.bucket_id]}),
                feature_extractor: json!({"feature_extractor_name": "text_extractor",
                    "version": "v1", "parameters": params, "input_mappings": {"text": "body"}}),
                extractor_name: "text_extractor".into(),
                extractor_version: "v1".into(),
                input_schema: None,
                output_schema: json!({"properties": {}}),
                vector_indexes: serde_json::to_value(ferry_extract::collection::vector_indexes(
                    v1.as_ref(),
                    &params,
                ))
                .unwrap(),
                taxonomy_applications: None,
                cluster_applications: None,
                metadata: None,
                enabled: true,
            },
        )
        .await
        .unwrap();
    let docs: Vec<NewDocument> = (0..DOCUMENTS)
        .map(|i| {
            let mut fields = Map::new();
            fields.insert("text".into(), Value::from(format!("document number {i}")));
            NewDocument {
                document_id: format!("doc_{i:06}"),
                lineage: Lineage {
                    source_object_id: Some(format!("obj_{i:06}")),
                    root_object_id: Some(format!("obj_{i:06}")),
                    source_document_id: None,
                    root_bucket_id: None,
                },
                chunk_index: 0,
                fields,
                vectors: vec![("text_extractor_v1_text_embedding".into(), vec![0.5; 8])],
            }
        })
        .collect();
    store
        .load_object_documents(source.key, &collection.collection_id, &docs)
        .await
        .unwrap();
    Fixture {
        store,
        registry,
        blobs,
        org,
        _dir: dir,
    }
}

impl Fixture {
    fn engine(&self, config: EngineConfig) -> Engine {
        Engine::new(
            self.store.clone(),
            self.blobs.clone(),
            self.registry.clone(),
            config,
        )
    }

    /// A copy of `data` into `copy` in batches of `batch_size`, created and started: its
    /// migration id and its task, claimed by `engine`.
    async fn started_copy(&self, engine: &Engine, batch_size: i64) -> (String, Task) {
        let mut config = MigrationConfig::new(MigrationType::Copy, "data");
        config.target_namespace_name = Some("copy".into());
        let mut batches = config.batch_options_or_default();
        batches.batch_size = batch_size;
        // A failed batch fails the run at once, so an injected failure is seen as one.
        batches.retry_failed = false;
        config.batch_options = Some(batches);
        let record = service::create(&self.store, &self.registry, &self.org, config, false)
            .await
            .unwrap();
        let id = record.migration_id().to_owned();
        service::start(&self.store, &self.registry, &self.org, &id, false)
            .await
            .unwrap();
        (id, self.claim(engine).await)
    }

    async fn claim(&self, engine: &Engine) -> Task {
        self.store
            .claim_task(&[MIGRATION_TASK], &engine.worker_id, 60_000_000)
            .await
            .unwrap()
            .expect("a runnable migration task")
    }

    /// The run of a started migration, as the driver loads it.
    async fn run(&self, engine: &Engine, id: &str, task: &Task) -> Run {
        let record = self.store.get_migration(&self.org, id).await.unwrap();
        engine
            .load_run(task, record, &mut Notifier::disabled())
            .await
            .unwrap()
    }

    /// `owner`'s lease on `task` runs out and a new engine claims the task.
    async fn take_over(&self, owner: &Engine, task: &Task) -> (Engine, Task) {
        self.store
            .renew_task_lease(&ferry_store::LeaseRenewal {
                task_id: &task.task_id,
                owner: &owner.worker_id,
                lease_until: 0,
                processed: 0,
                resume_cursor: None,
            })
            .await
            .unwrap();
        let other = self.engine(EngineConfig::default());
        let taken = self.claim(&other).await;
        assert_eq!(taken.task_id, task.task_id);
        (other, taken)
    }

    async fn target(&self) -> Namespace {
        self.store.get_namespace(&self.org, "copy").await.unwrap()
    }

    async fn counts(&self, ns: &Namespace) -> (i64, i64) {
        let bucket = self.store.get_bucket(ns.key, "docs").await.unwrap();
        let collection = self.store.get_collection(ns.key, "texts").await.unwrap();
        (bucket.object_count, collection.document_count)
    }
}

#[tokio::test]
async fn setup_creates_the_target_and_every_resource_once_even_when_run_again() {
    let f = fixture().await;
    let engine = f.engine(EngineConfig::default());
    let (id, task) = f.started_copy(&engine, 100).await;
    let mut run = f.run(&engine, &id, &task).await;
    assert_eq!(run.migration.status, MigrationStatus::InProgress);

    engine.namespace_setup(&mut run).await.unwrap();
    let target = f.target().await;
    let map = engine.id_map(&run).await.unwrap();
    assert_eq!(map.resources.len(), 2, "{:?}", map.resources);
    let stage = &run.progress.stages[MigrationStage::NamespaceSetup.index()];
    assert_eq!(stage.status, MigrationStatus::Completed);
    assert_eq!((stage.items_total, stage.items_completed), (2, 2));

    // A restarted setup (a new run of the same migration) finds what the first one made.
    let mut again = f.run(&engine, &id, &task).await;
    engine.namespace_setup(&mut again).await.unwrap();
    assert_eq!(
        engine.id_map(&again).await.unwrap().resources,
        map.resources
    );
    assert_eq!(f.target().await.namespace_id, target.namespace_id);
    assert_eq!(f.counts(&target).await, (0, 0), "setup writes no items");
}

#[tokio::test]
async fn batch_creation_plans_keyset_batches_of_the_batch_size() {
    let f = fixture().await;
    let engine = f.engine(EngineConfig::default());
    let (id, task) = f.started_copy(&engine, 8).await;
    let mut run = f.run(&engine, &id, &task).await;
    engine.namespace_setup(&mut run).await.unwrap();

    let planned = engine.plan_batches(&run).await.unwrap();
    let sizes = |kind: BatchKind| -> Vec<i64> {
        planned
            .iter()
            .filter(|b| b.kind == kind)
            .map(|b| b.item_count)
            .collect()
    };
    assert_eq!(sizes(BatchKind::Objects), [8, 8, 4]);
    assert_eq!(sizes(BatchKind::Documents), [8, 8, 4]);
    // Consecutive ranges: each batch starts after the last key of the one before.
    for pair in planned.windows(2) {
        if pair[0].resource_id == pair[1].resource_id {
            assert_eq!(pair[1].after.as_ref(), Some(&pair[0].last));
        }
    }

    engine.batch_creation(&mut run).await.unwrap();
    let totals = engine.batch_totals(&run).await.unwrap();
    assert_eq!((totals.batches, totals.items), (6, 40));
    // Planned again (a restart before the stage completed): replaced, not added.
    engine.batch_creation(&mut run).await.unwrap();
    assert_eq!(engine.batch_totals(&run).await.unwrap().batches, 6);
}

#[tokio::test]
async fn processing_takes_over_a_dead_workers_batch_and_writes_every_item_once() {
    let f = fixture().await;
    let engine = f.engine(EngineConfig::default());
    let (id, task) = f.started_copy(&engine, 8).await;
    let mut run = f.run(&engine, &id, &task).await;
    engine.namespace_setup(&mut run).await.unwrap();
    engine.batch_creation(&mut run).await.unwrap();
    // A worker that claimed the first batch and died: its lease has run out.
    let dead = f
        .store
        .claim_migration_batch(run.key(), "dead-worker", 0, 1)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(dead.batch_no, 0);
    tokio::time::sleep(Duration::from_millis(5)).await;

    engine.batch_processing(&mut run).await.unwrap();
    let target = f.target().await;
    assert_eq!(f.counts(&target).await, (OBJECTS as i64, DOCUMENTS as i64));
    let stage = &run.progress.stages[MigrationStage::BatchProcessing.index()];
    assert_eq!((stage.items_total, stage.items_completed), (40, 40));

    // Run again (a crash after the last commit, before the stage was saved): nothing left.
    engine.batch_processing(&mut run).await.unwrap();
    assert_eq!(f.counts(&target).await, (OBJECTS as i64, DOCUMENTS as i64));
}

#[tokio::test]
async fn a_failed_batch_fails_the_run_and_a_restart_runs_only_it() {
    let f = fixture().await;
    let failing = f.engine(EngineConfig {
        fault: Some(FaultPoint::FailBatch(2)),
        ..EngineConfig::default()
    });
    let (id, task) = f.started_copy(&failing, 8).await;
    let outcome = failing.run_task(task).await;
    assert!(
        matches!(
            outcome,
            Err(MigrateError::BatchesFailed {
                failed: 1,
                total: 6,
                items: 8
            })
        ),
        "{outcome:?}"
    );
    let failed = f.store.get_migration(&f.org, &id).await.unwrap();
    assert_eq!(failed.status, MigrationStatus::Failed);
    assert_eq!(
        failed.error_message.as_deref(),
        Some("1 of 6 batches failed (8 items); start the migration again to retry them")
    );
    let settled = f
        .store
        .get_task(&f.org, failed.task_id.as_deref().unwrap())
        .await;
    assert_eq!(settled.unwrap().status, TaskStatusEnum::Failed);

    service::start(&f.store, &f.registry, &f.org, &id, false)
        .await
        .unwrap();
    let healthy = f.engine(EngineConfig::default());
    let task = f.claim(&healthy).await;
    healthy.run_task(task).await.unwrap();
    let done = f.store.get_migration(&f.org, &id).await.unwrap();
    assert_eq!(done.status, MigrationStatus::Completed);
    let additional = done.additional_data.unwrap();
    assert_eq!(additional["items"]["written"], 40, "{additional}");
    assert_eq!(
        f.counts(&f.target().await).await,
        (OBJECTS as i64, DOCUMENTS as i64)
    );
}

#[tokio::test]
async fn a_cancelled_migration_stops_before_its_next_stage_and_its_task_ends_canceled() {
    let f = fixture().await;
    let engine = f.engine(EngineConfig::default());
    let (id, task) = f.started_copy(&engine, 8).await;
    let mut run = f.run(&engine, &id, &task).await;
    engine.namespace_setup(&mut run).await.unwrap();
    service::cancel(&f.store, &f.org, &id, Some("test"))
        .await
        .unwrap();
    let stopped = engine.ensure_running(&run).await;
    assert!(
        matches!(
            stopped,
            Err(MigrateError::Stopped(MigrationStatus::Cancelled))
        ),
        "{stopped:?}"
    );
    // The task's own run sees the cancellation and settles the task to mirror it.
    let outcome = engine.run_task(task.clone()).await;
    assert!(
        matches!(outcome, Err(MigrateError::Stopped(_))),
        "{outcome:?}"
    );
    let settled = f.store.get_task(&f.org, &task.task_id).await.unwrap();
    assert_eq!(settled.status, TaskStatusEnum::Canceled);
    assert_eq!(
        f.counts(&f.target().await).await,
        (0, 0),
        "no batch ran after the cancel"
    );
}

#[tokio::test]
async fn finalization_verifies_the_counts_and_completes_the_migration() {
    let f = fixture().await;
    let engine = f.engine(EngineConfig::default());
    let (id, task) = f.started_copy(&engine, 8).await;
    let task_id = task.task_id.clone();
    engine.run_task(task).await.unwrap();
    let done = f.store.get_migration(&f.org, &id).await.unwrap();
    assert_eq!(done.status, MigrationStatus::Completed);
    let ended = f.store.get_task(&f.org, &task_id).await.unwrap();
    assert_eq!(ended.status, TaskStatusEnum::Completed);
    assert_eq!(ended.outputs.unwrap()["status"], "completed");
    let additional = done.additional_data.unwrap();
    let verification = additional["verification"].as_object().unwrap();
    assert_eq!(verification.len(), 2, "{additional}");
    for (source_id, check) in verification {
        assert_eq!(check["selected"], 20, "{source_id}: {check}");
        assert_eq!(check["written"], 20, "{source_id}: {check}");
        assert_eq!(check["target_count"], 20, "{source_id}: {check}");
    }
    let progress: ferry_wire::migration::MigrationProgress =
        serde_json::from_value(done.progress).unwrap();
    assert_eq!(progress.overall_progress_percent, 100.0);
    assert!(progress
        .stages
        .iter()
        .all(|s| s.status == MigrationStatus::Completed));
}

#[tokio::test]
async fn a_worker_that_lost_its_lease_completes_neither_the_migration_nor_the_task() {
    let f = fixture().await;
    let engine = f.engine(EngineConfig::default());
    let (id, task) = f.started_copy(&engine, 8).await;
    let mut run = f.run(&engine, &id, &task).await;
    // Another worker took the task over; this one still believes it runs the migration.
    let (other, taken) = f.take_over(&engine, &task).await;

    let lost = engine.complete(&mut run, json!({})).await.unwrap_err();
    assert!(lost.is_lease_lost(), "{lost:?}");
    assert!(!run.task_ended);
    let migration = f.store.get_migration(&f.org, &id).await.unwrap();
    assert_eq!(migration.status, MigrationStatus::InProgress);
    let still = f.store.get_task(&f.org, &task.task_id).await.unwrap();
    assert_eq!(still.status, TaskStatusEnum::InProgress);
    // The worker that holds the lease now still runs it to its end.
    other.run_task(taken).await.unwrap();
    let done = f.store.get_migration(&f.org, &id).await.unwrap();
    assert_eq!(done.status, MigrationStatus::Completed);
    let ended = f.store.get_task(&f.org, &task.task_id).await.unwrap();
    assert_eq!(ended.status, TaskStatusEnum::Completed);
}

#[tokio::test]
async fn a_run_whose_task_passed_to_another_worker_leaves_the_migration_to_it() {
    let f = fixture().await;
    let stale = f.engine(EngineConfig::default());
    let (id, task) = f.started_copy(&stale, 8).await;
    let (other, taken) = f.take_over(&stale, &task).await;

    // The stale run stops at its first lease renewal, and marks nothing failed.
    stale.run_task(task.clone()).await.unwrap();
    let migration = f.store.get_migration(&f.org, &id).await.unwrap();
    assert_eq!(migration.status, MigrationStatus::InProgress);
    assert_eq!(migration.error_message, None);
    let still = f.store.get_task(&f.org, &task.task_id).await.unwrap();
    assert_eq!(still.status, TaskStatusEnum::InProgress);

    other.run_task(taken).await.unwrap();
    let done = f.store.get_migration(&f.org, &id).await.unwrap();
    assert_eq!(done.status, MigrationStatus::Completed);
    assert_eq!(f.counts(&f.target().await).await, (20, 20));
}
