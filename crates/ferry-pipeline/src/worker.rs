//! The worker: claims trigger, cluster and taxonomy tasks and runs them batch by batch.

use std::sync::Arc;

use ferry_retrieve::{ExactScan, VectorSearch};
use std::time::Duration;

use ferry_extract::{ExtractError, Extractor, ExtractorInput, InputKind, Registry};
use ferry_store::blobs::BlobStore;
use ferry_store::{
    BatchProgress, Collection, DocumentPages, NamespaceKey, NewDocument, Store, StoreError, Task,
};
use ferry_wire::task::TaskStatusEnum;
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};
use tokio::sync::watch;

use crate::cluster::CLUSTER_TASK;
use crate::config::{lookup, CollectionConfig};
use crate::fault::{checkpoint, Breakpoint, Breakpoints, FaultPoint};
use crate::source::{next_items, Cursor, Item, Source};
use crate::taxonomy::{TaxonomyApplication, TAXONOMY_TASK};

/// Task type of a collection trigger, as the SDK's `TaskType` names it.
pub const TRIGGER_TASK: &str = "api_collections_trigger";

/// How often (in batches) a task refreshes the planner's statistics of the documents table:
/// after its first batch, then every this many. See `Store::refresh_document_statistics`.
pub const STATISTICS_EVERY_BATCHES: u64 = 40;

/// Errors kept in a task's outputs, at most; the counts stay exact.
const MAX_REPORTED_ERRORS: usize = 100;

#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("collection configuration: {0}")]
    Config(String),
    #[error("extractor: {0}")]
    Extract(#[from] ExtractError),
    #[error("artifact: {0}")]
    Artifact(String),
}

#[derive(Debug, Clone)]
pub struct PipelineConfig {
    /// Source items per batch (and per transaction).
    pub batch_size: usize,
    /// How long a claimed task stays ours without a committed batch renewing it.
    pub lease: Duration,
    /// Wait between polls when no task is runnable.
    pub poll_interval: Duration,
    /// Test-only: where this process dies on purpose.
    pub fault: Option<FaultPoint>,
    /// Test-only: where an in-process test holds the worker.
    pub breakpoints: Breakpoints,
}

impl Default for PipelineConfig {
    fn default() -> Self {
        PipelineConfig {
            batch_size: 500,
            lease: Duration::from_secs(30),
            poll_interval: Duration::from_millis(200),
            fault: None,
            breakpoints: Breakpoints::default(),
        }
    }
}

/// Runs collection triggers. Cheap to clone.
#[derive(Clone)]
pub struct Pipeline {
    store: Store,
    blobs: BlobStore,
    registry: Arc<Registry>,
    config: PipelineConfig,
    worker_id: String,
    /// What taxonomies search their reference collections with.
    search: Arc<dyn VectorSearch>,
}

/// The document id a (collection, source item, chunk) always gets: reprocessing the same item
/// rewrites the same documents instead of adding new ones.
pub fn document_id(collection_id: &str, source_id: &str, chunk_index: u32) -> String {
    let digest = Sha256::digest(format!("{collection_id}\0{source_id}\0{chunk_index}").as_bytes());
    format!("doc_{}", &hex::encode(digest)[..24])
}

impl Pipeline {
    pub fn new(
        store: Store,
        blobs: BlobStore,
        registry: Arc<Registry>,
        config: PipelineConfig,
    ) -> Self {
        let worker_id = ferry_store::ids::new_id("wkr");
        Pipeline {
            search: Arc::new(ExactScan::new(store.clone())),
            store,
            blobs,
            registry,
            config,
            worker_id,
        }
    }

    /// Searches through `search` (the process's indexes) instead of scanning exactly.
    pub fn with_search(mut self, search: Arc<dyn VectorSearch>) -> Self {
        self.search = search;
        self
    }

    pub(crate) fn search(&self) -> Arc<dyn VectorSearch> {
        self.search.clone()
    }

    pub(crate) fn store(&self) -> &Store {
        &self.store
    }

    pub(crate) fn blobs(&self) -> &BlobStore {
        &self.blobs
    }

    pub(crate) fn registry(&self) -> &Arc<Registry> {
        &self.registry
    }

    pub(crate) fn config(&self) -> &PipelineConfig {
        &self.config
    }

    pub(crate) fn worker_id(&self) -> &str {
        &self.worker_id
    }

    /// A collection's documents a batch (`batch_size`) at a time.
    pub(crate) fn document_pages(
        &self,
        ns: NamespaceKey,
        collection_id: &str,
    ) -> DocumentPages<'_> {
        let batch_size = self.config.batch_size as i64;
        self.store.document_pages(ns, collection_id, batch_size)
    }

    /// Ends this worker's task `task_id` as `status` with its `outputs`, releasing the lease.
    pub(crate) async fn end_task(
        &self,
        task_id: &str,
        status: TaskStatusEnum,
        outputs: &Value,
    ) -> Result<(), StoreError> {
        self.store
            .finish_task(task_id, &self.worker_id, status, Some(outputs), None)
            .await
    }

    /// Ends this worker's task `task_id` as failed with `error`, releasing the lease.
    pub(crate) async fn fail_task(&self, task_id: &str, error: &str) -> Result<(), StoreError> {
        let failed = TaskStatusEnum::Failed;
        self.store
            .finish_task(task_id, &self.worker_id, failed, None, Some(error))
            .await
    }

    /// A batch reaching `at`: the configured fault or breakpoint acts there (see `fault`).
    pub(crate) async fn checkpoint(&self, at: Breakpoint) {
        checkpoint(self.config.fault, &self.config.breakpoints, at).await;
    }

    /// When a lease renewed now runs out.
    pub(crate) fn lease_deadline(&self) -> i64 {
        ferry_store::time::now_micros() + self.config.lease.as_micros() as i64
    }

    /// Claims and runs runnable trigger tasks until `shutdown` turns true. A task cut short by
    /// shutdown keeps its cursor and is picked up again when its lease expires.
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) {
        let lease = self.config.lease.as_micros() as i64;
        let mut batches_done = 0u64;
        while !*shutdown.borrow() {
            let claimed = self
                .store
                .claim_task(
                    &[TRIGGER_TASK, CLUSTER_TASK, TAXONOMY_TASK],
                    &self.worker_id,
                    lease,
                )
                .await;
            match claimed {
                Ok(Some(task)) => {
                    let task_id = task.task_id.clone();
                    let task_type = task.task_type.clone();
                    tracing::info!(task_id, task_type, "running task");
                    let result = match task_type.as_str() {
                        CLUSTER_TASK => self.run_cluster_task(task).await,
                        TAXONOMY_TASK => self.run_taxonomy_task(task, &mut batches_done).await,
                        _ => self.run_task(task, &mut batches_done, &shutdown).await,
                    };
                    if let Err(e) = result {
                        tracing::error!(task_id, task_type, error = %e, "task failed");
                        let _ = self.fail_task(&task_id, &e.to_string()).await;
                    }
                }
                Ok(None) => {
                    tokio::select! {
                        _ = tokio::time::sleep(self.config.poll_interval) => {}
                        _ = shutdown.changed() => {}
                    }
                }
                Err(e) => {
                    tracing::error!(error = %e, "claiming a task failed");
                    tokio::time::sleep(self.config.poll_interval).await;
                }
            }
        }
    }

    fn extractor(&self, config: &CollectionConfig) -> Result<Arc<dyn Extractor>, PipelineError> {
        self.registry
            .get(&config.feature_extractor_name, &config.version)
            .ok_or_else(|| {
                PipelineError::Config(format!(
                    "extractor {}@{} is not registered",
                    config.feature_extractor_name, config.version
                ))
            })
    }

    /// Runs one claimed trigger task to its end, from its resume cursor.
    async fn run_task(
        &self,
        task: Task,
        batches_done: &mut u64,
        shutdown: &watch::Receiver<bool>,
    ) -> Result<(), PipelineError> {
        let ns = task
            .namespace
            .ok_or_else(|| PipelineError::Config("trigger task without a namespace".into()))?;
        let collection_id = task.inputs["collection_id"]
            .as_str()
            .ok_or_else(|| PipelineError::Config("trigger task without a collection_id".into()))?
            .to_owned();
        let collection = self.store.get_collection(ns, &collection_id).await?;
        let config: CollectionConfig =
            serde_json::from_value(collection.fields.feature_extractor.clone())
                .map_err(|e| PipelineError::Config(e.to_string()))?;
        let extractor = self.extractor(&config)?;
        let sources = Source::list(&collection.fields.source)?;

        let mut total = 0;
        for source in &sources {
            total += match source {
                Source::Bucket(b) => self.store.get_bucket(ns, b).await?.object_count,
                Source::Collection(c) => self.store.get_collection(ns, c).await?.document_count,
            };
        }
        self.store
            .set_task_total(&task.task_id, &self.worker_id, total)
            .await?;

        let mut cursor: Cursor = task
            .resume_cursor
            .as_deref()
            .and_then(|c| serde_json::from_str(c).ok())
            .unwrap_or_default();
        let mut errors: Vec<Value> = task
            .outputs
            .as_ref()
            .and_then(|o| o["errors"].as_array().cloned())
            .unwrap_or_default();
        let mut failed_total = task.failed;

        let mut task_batches = 0u64;
        while cursor.source < sources.len() {
            if *shutdown.borrow() {
                return Ok(());
            }
            let source = &sources[cursor.source];
            let after = cursor.created_at.zip(cursor.id.as_deref());
            let started = std::time::Instant::now();
            let items = next_items(
                &self.store,
                ns,
                source,
                after,
                self.config.batch_size as i64,
            )
            .await?;
            let Some(last) = items.last() else {
                cursor = Cursor {
                    source: cursor.source + 1,
                    created_at: None,
                    id: None,
                };
                continue;
            };
            let next = Cursor {
                source: cursor.source,
                created_at: Some(last.created_at()),
                id: Some(last.id().to_owned()),
            };
            let (docs, failures) =
                extract_items(self.blobs(), &collection_id, &config, &extractor, &items).await?;
            *batches_done += 1;
            self.checkpoint(Breakpoint::BeforeCommit(*batches_done))
                .await;
            let batch_failed = failures.len() as i64;
            failed_total += batch_failed;
            for (id, message) in failures {
                if errors.len() < MAX_REPORTED_ERRORS {
                    errors.push(json!({"source_id": id, "error": message}));
                }
            }
            let sources_done: Vec<String> = items.iter().map(|i| i.id().to_owned()).collect();
            crate::through_freeze(|| {
                self.store.replace_documents(
                    ns,
                    &collection_id,
                    source.kind(),
                    &sources_done,
                    &docs,
                    Some(BatchProgress {
                        task_id: &task.task_id,
                        lease_owner: &self.worker_id,
                        lease_until: self.lease_deadline(),
                        processed: items.len() as i64,
                        failed: batch_failed,
                        resume_cursor: serde_json::to_string(&next).unwrap_or_default(),
                    }),
                )
            })
            .await
            .inspect_err(|_| crate::metered::batch_failed())?;
            crate::metered::batch_committed(started, docs.len());
            self.checkpoint(Breakpoint::AfterCommit(*batches_done))
                .await;
            task_batches += 1;
            if task_batches % STATISTICS_EVERY_BATCHES == 1 {
                if let Err(e) = self.store.refresh_document_statistics().await {
                    tracing::warn!(error = %e, "refreshing document statistics failed");
                }
            }
            cursor = next;
        }

        let status = if failed_total > 0 {
            TaskStatusEnum::CompletedWithErrors
        } else {
            TaskStatusEnum::Completed
        };
        let outputs = json!({
            "collection_id": collection_id,
            "failed_items": failed_total,
            "errors": errors,
        });
        self.end_task(&task.task_id, status, &outputs).await?;
        tracing::info!(
            task_id = task.task_id,
            failed = failed_total,
            "collection trigger done"
        );
        self.queue_taxonomy_applications(&task, ns, &collection)
            .await;
        Ok(())
    }

    /// Queues a materialization of each taxonomy the collection names in its
    /// `taxonomy_applications`, now that its documents are written. A failure to queue is
    /// logged: the trigger itself succeeded, and the application can be re-run by hand.
    async fn queue_taxonomy_applications(
        &self,
        trigger: &Task,
        ns: NamespaceKey,
        collection: &Collection,
    ) {
        let applications = collection
            .fields
            .taxonomy_applications
            .as_ref()
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        for application in applications {
            let Some(taxonomy_id) = application["taxonomy_id"].as_str() else {
                continue;
            };
            let inputs = TaxonomyApplication {
                taxonomy_id: taxonomy_id.to_owned(),
                collection_id: collection.collection_id.clone(),
                batch_size: self.config.batch_size as i64,
                scroll_filters: serde_json::from_value(application["scroll_filters"].clone()).ok(),
            };
            let queued = match serde_json::to_value(&inputs) {
                Ok(inputs) => self
                    .store
                    .create_task(&trigger.internal_id, Some(ns), TAXONOMY_TASK, &inputs)
                    .await
                    .map_err(|e| e.to_string()),
                Err(e) => Err(e.to_string()),
            };
            match queued {
                Ok(task) => tracing::info!(task_id = task.task_id, taxonomy_id, "taxonomy queued"),
                Err(error) => tracing::error!(taxonomy_id, error, "queueing a taxonomy failed"),
            }
        }
    }
}

/// Extracts one batch of `items` for collection `collection_id`: the documents it makes
/// (ids derived from collection, item and chunk), and the items that failed with why. An
/// error is returned only for what fails the whole batch (the extractor itself).
pub async fn extract_items(
    blobs: &BlobStore,
    collection_id: &str,
    config: &CollectionConfig,
    extractor: &Arc<dyn Extractor>,
    items: &[Item],
) -> Result<(Vec<NewDocument>, Vec<(String, String)>), PipelineError> {
    let wants_image = extractor.input_kind() == InputKind::Image;
    let input_name = if wants_image { "image" } else { "text" };
    let path = config.input_path(input_name);
    let mut failures = Vec::new();
    let mut ready: Vec<(usize, ExtractorInput, Map<String, Value>)> =
        Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let passed = match passthrough_fields(config, item.fields()) {
            Ok(fields) => fields,
            Err(msg) => {
                failures.push((item.id().to_owned(), msg));
                continue;
            }
        };
        match item.input(&path, wants_image, blobs).await {
            Ok(input) => ready.push((i, input, passed)),
            Err(msg) => failures.push((item.id().to_owned(), msg)),
        }
    }
    let inputs: Vec<ExtractorInput> = ready.iter().map(|(_, input, _)| input.clone()).collect();
    let outputs = match extractor.extract(&inputs, &config.parameters).await {
        Ok(outputs) => outputs.into_iter().map(Ok).collect::<Vec<_>>(),
        // One bad input fails the whole call; retry one by one to fail only that item.
        Err(ExtractError::InvalidInput(_)) => {
            let mut each = Vec::with_capacity(inputs.len());
            for input in &inputs {
                each.push(
                    extractor
                        .extract(std::slice::from_ref(input), &config.parameters)
                        .await
                        .map(|mut v| v.pop().unwrap_or_default()),
                );
            }
            each
        }
        Err(other) => return Err(other.into()),
    };
    let mut docs = Vec::with_capacity(outputs.len());
    for ((i, _, passed), output) in ready.into_iter().zip(outputs) {
        let item = &items[i];
        let chunks = match output {
            Ok(chunks) => chunks,
            Err(ExtractError::InvalidInput(msg)) => {
                failures.push((item.id().to_owned(), msg));
                continue;
            }
            Err(other) => return Err(other.into()),
        };
        let lineage = item.lineage();
        for chunk in chunks {
            let mut fields = passed.clone();
            if let Some(text) = &chunk.text {
                fields.insert("text".into(), Value::String(text.clone()));
            }
            fields.extend(chunk.fields);
            let vectors = chunk
                .vectors
                .into_iter()
                .map(|(output, values)| (extractor.storage_name(&output), values))
                .collect();
            docs.push(NewDocument {
                document_id: document_id(collection_id, item.id(), chunk.chunk_index),
                lineage: lineage.clone(),
                chunk_index: chunk.chunk_index as i64,
                fields,
                vectors,
            });
        }
    }
    Ok((docs, failures))
}

/// The source fields a document inherits: all of them, or the `field_passthrough` list.
fn passthrough_fields(
    config: &CollectionConfig,
    source: &Map<String, Value>,
) -> Result<Map<String, Value>, String> {
    let mut fields = if config.include_all_source_fields {
        source.clone()
    } else {
        Map::new()
    };
    for pass in config.field_passthrough.iter().flatten() {
        match lookup(source, &pass.source_path).or(pass.default.as_ref()) {
            Some(value) => {
                fields.insert(pass.target().to_owned(), value.clone());
            }
            None if pass.required => {
                return Err(format!("required field '{}' is missing", pass.source_path))
            }
            None => {}
        }
    }
    Ok(fields)
}
