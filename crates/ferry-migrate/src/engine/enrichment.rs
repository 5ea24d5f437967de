//! Stages 4 and 5, `cluster_execution` and `taxonomy_enrichment`: cluster runs copied or
//! recomputed, taxonomy applications re-run, each as an ordinary task the stage waits for.

use ferry_pipeline::{
    ClusterDefinition, PlanCollection, TaxonomyApplication, CLUSTER_TASK, TAXONOMY_TASK,
};
use ferry_store::HistoryQuery;
use ferry_store::{Namespace, Task};
use ferry_wire::collection::CollectionVectorIndex;
use ferry_wire::migration::{MigrationStage, ResourceType};
use ferry_wire::task::TaskStatusEnum;
use serde_json::Value;

use super::progress::StageCounts;
use super::run::{not_set_up, Run};
use super::Engine;
use crate::error::MigrateError;
use crate::ids::{IdMap, TASK_ROW};

impl Engine {
    /// The task this migration recorded under `key`, if any.
    async fn recorded_task(&self, run: &Run, key: &str) -> Result<Option<String>, MigrateError> {
        Ok(self
            .store
            .migration_id_map(run.key())
            .await?
            .into_iter()
            .find(|(kind, source, _)| kind == TASK_ROW && source == key)
            .map(|(_, _, task)| task))
    }

    /// Waits for a task this migration queued to end, keeping the migration's lease and
    /// stopping if the migration is cancelled.
    async fn wait_for_task(&self, run: &Run, task_id: &str) -> Result<Task, MigrateError> {
        loop {
            let task = self.store.get_task(run.migration.org_id(), task_id).await?;
            if !task.status.is_active() {
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
                        .map_err(|e| MigrateError::Corrupt(format!("{target_id}: {e}")))?;
                let uris = definition.vector_config.resolved_feature_uris();
                let mut collections = Vec::new();
                for id in &cluster.fields.input_collections {
                    let c = self.store.get_collection(target.key, id).await?;
                    if c.document_count == 0 {
                        continue;
                    }
                    let indexes: Vec<CollectionVectorIndex> =
                        serde_json::from_value(c.fields.vector_indexes.clone())
                            .map_err(|e| MigrateError::Corrupt(format!("{id}: {e}")))?;
                    let vector_names = uris
                        .iter()
                        .map(|uri| {
                            indexes
                                .iter()
                                .find(|i| &i.feature_uri == uri)
                                .map(|i| i.index.name.clone())
                                .ok_or_else(|| {
                                    MigrateError::Unrunnable(format!(
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
                            .map_err(|e| MigrateError::Corrupt(e.to_string()))?;
                        let (task, _) = self
                            .store
                            .start_cluster_execution(
                                run.migration.org_id(),
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
                    .map_migration_id(run.key(), TASK_ROW, &key, &task.task_id)
                    .await?;
                task.task_id
            }
        };
        let task = self.wait_for_task(run, &task_id).await?;
        if task.status != TaskStatusEnum::Completed {
            return Err(MigrateError::TaskFailed {
                what: format!("recomputing cluster {target_id}"),
                message: task.error.unwrap_or_else(|| task.status.to_string()),
            });
        }
        Ok(())
    }

    /// Stage 4: clusters' runs (centroids, metrics) and artifacts, or a fresh run.
    pub(super) async fn cluster_execution(&self, run: &mut Run) -> Result<(), MigrateError> {
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
                .ok_or_else(|| not_set_up(source_id))?;
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
                    &HistoryQuery {
                        descending: true,
                        limit: 1000,
                        offset: 0,
                        ..Default::default()
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
        self.finish_stage(
            run,
            MigrationStage::ClusterExecution,
            StageCounts::all(total),
        )
        .await
    }

    /// Stage 5: enrichment fields were kept (remapped) or dropped while copying. Each
    /// migrated taxonomy application runs again in the target, and the stage waits for it,
    /// when `re_run_enrichment` asks, or when its collection was rebuilt (its documents are
    /// new).
    pub(super) async fn taxonomy_enrichment(&self, run: &mut Run) -> Result<(), MigrateError> {
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
                    .map_err(|e| MigrateError::Corrupt(e.to_string()))?;
                    let task = self
                        .store
                        .create_task(
                            run.migration.org_id(),
                            Some(target.key),
                            TAXONOMY_TASK,
                            &inputs,
                        )
                        .await?;
                    self.store
                        .map_migration_id(run.key(), TASK_ROW, &key, &task.task_id)
                        .await?;
                    task.task_id
                }
            };
            let task = self.wait_for_task(run, &task_id).await?;
            if task.status == TaskStatusEnum::Failed {
                return Err(MigrateError::TaskFailed {
                    what: format!("re-running taxonomy {taxonomy_id} on {collection_id}"),
                    message: task.error.unwrap_or_default(),
                });
            }
            rerun += 1;
        }
        self.finish_stage(
            run,
            MigrationStage::TaxonomyEnrichment,
            StageCounts::all(rerun),
        )
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
}
