//! The migration enumerations (type, status, stage, resource type) and their text forms: the
//! wire names are also what the store persists, so each has `as_str`, `Display` and `FromStr`
//! (failing with [`UnknownVariant`]), from [`crate::text_enum!`].

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::text_enum::text_enum;
pub use crate::text_enum::UnknownVariant;

/// Types of namespace migrations: `copy` into a new namespace, `re_extract` into a new
/// namespace with new extractor versions, `extend` an existing namespace.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MigrationType {
    ReExtract,
    Copy,
    Extend,
}

text_enum!(MigrationType, 3, {
    ReExtract => "re_extract",
    Copy => "copy",
    Extend => "extend",
});

/// Migration execution status. Stages and resources report their progress in the same
/// vocabulary (the spec and the SDK type `StageProgress.status` and `ResourceProgress.status`
/// as `MigrationStatus`), so there is no `skipped`: a stage with nothing to do is `completed`
/// with zero items.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MigrationStatus {
    Draft,
    Validating,
    Pending,
    InProgress,
    Completed,
    Failed,
    Cancelled,
}

text_enum!(MigrationStatus, 7, {
    Draft => "draft",
    Validating => "validating",
    Pending => "pending",
    InProgress => "in_progress",
    Completed => "completed",
    Failed => "failed",
    Cancelled => "cancelled",
});

impl MigrationStatus {
    /// No work runs and none will without a client's call: `completed`, `failed`, `cancelled`.
    /// Clients stop polling here. (A `failed` migration may still be started again, which
    /// resumes it.)
    pub fn is_terminal(self) -> bool {
        matches!(self, Self::Completed | Self::Failed | Self::Cancelled)
    }
}

/// Stages of migration execution, in the order they run.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum MigrationStage {
    NamespaceSetup,
    BatchCreation,
    BatchProcessing,
    ClusterExecution,
    TaxonomyEnrichment,
    BenchmarkEvaluation,
    Finalization,
}

text_enum!(MigrationStage, 7, {
    NamespaceSetup => "namespace_setup",
    BatchCreation => "batch_creation",
    BatchProcessing => "batch_processing",
    ClusterExecution => "cluster_execution",
    TaxonomyEnrichment => "taxonomy_enrichment",
    BenchmarkEvaluation => "benchmark_evaluation",
    Finalization => "finalization",
});

impl MigrationStage {
    /// Position in the run order, from 0 (`namespace_setup`) to 6 (`finalization`).
    pub fn index(self) -> usize {
        self as usize
    }

    /// The stage that runs after this one; `None` after `finalization`.
    pub fn next(self) -> Option<MigrationStage> {
        MigrationStage::ALL.get(self.index() + 1).copied()
    }
}

/// Types of resources that can be migrated: the spec's
/// `shared__namespaces__migrations__models__ResourceType`, under that name in the OpenAPI
/// document.
// `Ord` is the declaration order (needed for the keys of `ValidationResult::
// estimated_resources`); it is not the dependency graph's execution order, which puts
// retrievers before taxonomies and clusters.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "snake_case")]
#[schema(as = shared__namespaces__migrations__models__ResourceType)]
pub enum ResourceType {
    Bucket,
    Collection,
    Taxonomy,
    Cluster,
    Retriever,
}

text_enum!(ResourceType, 5, {
    Bucket => "bucket",
    Collection => "collection",
    Taxonomy => "taxonomy",
    Cluster => "cluster",
    Retriever => "retriever",
});

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enumerations_round_trip_as_text() {
        use crate::text_enum::check_round_trip as check;
        check(&MigrationType::ALL);
        check(&MigrationStatus::ALL);
        check(&MigrationStage::ALL);
        check(&ResourceType::ALL);
        assert_eq!(
            "running"
                .parse::<MigrationStatus>()
                .unwrap_err()
                .to_string(),
            "'running' is not a MigrationStatus"
        );
        let terminal: Vec<&str> = MigrationStatus::ALL
            .iter()
            .filter(|s| s.is_terminal())
            .map(|s| s.as_str())
            .collect();
        assert_eq!(terminal, ["completed", "failed", "cancelled"]);
        assert_eq!(MigrationStage::ALL[0], MigrationStage::NamespaceSetup);
        assert_eq!(MigrationStage::Finalization.index(), 6);
        assert_eq!(
            MigrationStage::BatchProcessing.next(),
            Some(MigrationStage::ClusterExecution)
        );
        assert_eq!(MigrationStage::Finalization.next(), None);
    }
}
