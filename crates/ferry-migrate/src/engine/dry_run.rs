//! A dry run: plans the batches and reports the plan, writing nothing but the migration's
//! own record.

use chrono::Utc;
use ferry_store::{BatchKind, NewBatch};
use ferry_wire::migration::{MigrationStage, MigrationStatus, MigrationType, ResourceType};
use serde_json::{json, Value};

use super::run::Run;
use super::Engine;
use crate::error::MigrateError;
use crate::reextract::Rebuild;
use crate::target_name::resolve_target_name;

impl Engine {
    /// A dry run: validation happened at create and start; this plans the batches (reading
    /// keys only), writes nothing but the migration's own record, and completes with the plan
    /// in `additional_data.plan`.
    pub(super) async fn dry_run(&self, run: &mut Run) -> Result<(), MigrateError> {
        let batches = self.plan_batches(run).await?;
        let target_name = match run.config.migration_type {
            MigrationType::Extend => self.extend_target(run).await?.fields.namespace_name,
            _ => {
                resolve_target_name(
                    &self.store,
                    run.migration.org_id(),
                    &run.source,
                    &run.config,
                )
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
        let count = |kind: BatchKind| -> i64 {
            batches
                .iter()
                .filter(|b| b.kind == kind)
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
            "items": {"objects": count(BatchKind::Objects),
                      "documents": count(BatchKind::Documents),
                      "extracted": count(BatchKind::Extract), "total": items},
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
        self.complete(run, json!({"plan": plan})).await
    }
}
