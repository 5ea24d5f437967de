//! Stage 6, `benchmark_evaluation`: migrated retrievers answer the same queries in source
//! and target, compared by lineage on recorded executions, interactions and evaluation sets
//! (see [`crate::benchmark`]).

use ferry_wire::migration::{MigrationStage, ResourceType};

use super::progress::StageCounts;
use super::run::Run;
use super::Engine;
use crate::error::MigrateError;

impl Engine {
    /// Stage 6: each migrated retriever with recorded executions or evaluation sets answers
    /// the same queries in source and target; the comparison goes to
    /// `additional_data.benchmark`.
    pub(super) async fn benchmark(&self, run: &mut Run) -> Result<(), MigrateError> {
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
                evaluated.push(
                    serde_json::to_value(result)
                        .map_err(|e| MigrateError::Corrupt(format!("benchmark report: {e}")))?,
                );
            }
        }
        let n = evaluated.len() as u64;
        run.benchmark = evaluated;
        self.finish_stage(
            run,
            MigrationStage::BenchmarkEvaluation,
            StageCounts::all(n),
        )
        .await
    }
}
