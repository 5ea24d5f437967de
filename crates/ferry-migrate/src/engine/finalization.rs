//! Stage 7, `finalization`: retriever history and evaluation sets, attachments, count verification, completion.

use chrono::Utc;
use ferry_store::{HistoryQuery, InteractionListQuery, Namespace};
use ferry_wire::migration::{MigrationStage, MigrationStatus, ResourceType};
use serde_json::{json, Map, Value};

use super::progress::StageCounts;
use super::run::Run;
use super::Engine;
use crate::error::MigrateError;
use crate::ids::{derived, IdMap, TASK_ROW};
use crate::reextract::Rebuild;

impl Engine {
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
        for (source_retriever, target_retriever) in run.migrated(ResourceType::Retriever, map) {
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
                            source_retriever,
                            &HistoryQuery {
                                descending: false,
                                limit: 500,
                                offset,
                                ..Default::default()
                            },
                        )
                        .await?;
                    let n = page.len() as i64;
                    for mut e in page {
                        e.execution_id = derived(run.migration.migration_id(), &e.execution_id);
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
                            &InteractionListQuery {
                                retriever_id: Some(source_retriever.to_owned()),
                                ascending: true,
                                limit: 500,
                                offset,
                                ..Default::default()
                            },
                        )
                        .await?;
                    let n = page.len() as i64;
                    for mut i in page {
                        let migration_id = run.migration.migration_id();
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
            .migration_id_map(run.key())
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
    pub(super) async fn finalization(&self, run: &mut Run) -> Result<(), MigrateError> {
        let target = self.target(run).await?;
        let map = self.id_map(run).await?;
        let history_copied = self.copy_retriever_history(run, &target, &map).await?;
        let evaluation_sets_copied = self.copy_evaluation_sets(run, &target, &map).await?;
        let mut verification = Map::new();
        let summary = self.batch_summaries(run).await?;
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
            return Err(MigrateError::Verification(mismatches));
        }
        let totals = self.batch_totals(run).await?;
        let mut additional = json!({
            "target_namespace_id": target.namespace_id,
            "target_namespace_name": target.fields.namespace_name,
            "id_map": map.resources,
            "verification": verification,
            "items": {"selected": totals.items, "written": totals.items_written,
                      "failed": totals.items_failed, "skipped": totals.items_skipped},
            "retriever_history_copied": history_copied,
            "evaluation_sets_copied": evaluation_sets_copied,
            "benchmark": run.benchmark,
        });
        if let Some(base) = &run.base {
            // Reported always; applied when the start was forced (see the README on extend).
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
        self.record_stage_completed(run, MigrationStage::Finalization, StageCounts::all(total));
        run.progress.overall_status = MigrationStatus::Completed;
        run.progress.current_stage = None;
        run.progress.estimated_completion = Some(Utc::now());
        self.save(run, Some(&additional)).await?;
        self.complete(run, additional).await
    }
}
