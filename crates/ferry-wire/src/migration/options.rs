//! The option groups a [`MigrationConfig`](super::MigrationConfig) nests: the extractors of a
//! `re_extract` migration, batch processing, and what happens to taxonomies, clusters and
//! retrievers. Each group's defaults are the spec's, both when the group is absent and when it
//! is an empty object.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::ToSchema;

use crate::validate::{Errors, Validate};

/// `true`, for serde defaults.
pub(super) fn default_true() -> bool {
    true
}
fn default_batch_size() -> i64 {
    100
}
fn default_max_workers() -> i64 {
    10
}

/// Configuration for a feature extractor in migration: the spec's
/// `shared__namespaces__migrations__models__FeatureExtractorConfig`, under that name in the
/// OpenAPI document. A `re_extract` migration rebuilds every collection whose extractor has
/// this name with this version and these parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = shared__namespaces__migrations__models__FeatureExtractorConfig)]
pub struct FeatureExtractorConfig {
    /// Name of the extractor
    pub feature_extractor_name: String,
    /// Version to use
    pub version: Option<String>,
    /// Extractor parameters
    pub parameters: Option<Map<String, Value>>,
}

/// Options for batch processing in migration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BatchOptions {
    /// Documents per batch
    #[serde(default = "default_batch_size")]
    #[schema(default = 100, minimum = 1, maximum = 1000)]
    pub batch_size: i64,
    /// Maximum parallel workers: batches of this migration in flight at once.
    #[serde(default = "default_max_workers")]
    #[schema(default = 10, minimum = 1, maximum = 50)]
    pub max_workers: i64,
    /// Retry failed batches (with backoff) before counting their items as failed.
    #[serde(default = "default_true")]
    #[schema(default = true)]
    pub retry_failed: bool,
}

impl Default for BatchOptions {
    fn default() -> Self {
        BatchOptions {
            batch_size: default_batch_size(),
            max_workers: default_max_workers(),
            retry_failed: true,
        }
    }
}

impl Validate for BatchOptions {
    fn validate(&self, errors: &mut Errors) {
        errors.int_range("batch_size", Some(self.batch_size), Some(1), Some(1000));
        errors.int_range("max_workers", Some(self.max_workers), Some(1), Some(50));
    }
}

/// Options for taxonomy migration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TaxonomyOptions {
    /// Keep same taxonomy IDs in target
    #[serde(default = "default_true")]
    #[schema(default = true)]
    pub preserve_taxonomy_ids: bool,
    /// Keep _taxonomy_* fields in documents
    #[serde(default = "default_true")]
    #[schema(default = true)]
    pub preserve_enrichment_fields: bool,
    /// Re-run taxonomy enrichment after migration
    #[serde(default)]
    #[schema(default = false)]
    pub re_run_enrichment: bool,
    /// Automatically migrate reference collections
    #[serde(default = "default_true")]
    #[schema(default = true)]
    pub migrate_reference_collections: bool,
}

impl Default for TaxonomyOptions {
    fn default() -> Self {
        TaxonomyOptions {
            preserve_taxonomy_ids: true,
            preserve_enrichment_fields: true,
            re_run_enrichment: false,
            migrate_reference_collections: true,
        }
    }
}

/// Options for cluster migration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClusterOptions {
    /// Keep same cluster IDs in target
    #[serde(default = "default_true")]
    #[schema(default = true)]
    pub preserve_cluster_ids: bool,
    /// Keep cluster_id in documents
    #[serde(default = "default_true")]
    #[schema(default = true)]
    pub preserve_assignments: bool,
    /// Copy parquet artifacts (Ferry: from its object store)
    #[serde(default = "default_true")]
    #[schema(default = true)]
    pub migrate_artifacts: bool,
    /// Keep centroid collections
    #[serde(default = "default_true")]
    #[schema(default = true)]
    pub preserve_centroids: bool,
    /// Recompute clusters instead of copying
    #[serde(default)]
    #[schema(default = false)]
    pub recompute_clusters: bool,
}

impl Default for ClusterOptions {
    fn default() -> Self {
        ClusterOptions {
            preserve_cluster_ids: true,
            preserve_assignments: true,
            migrate_artifacts: true,
            preserve_centroids: true,
            recompute_clusters: false,
        }
    }
}

/// Options for retriever migration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RetrieverOptions {
    /// Keep same retriever IDs (avoid conflicts)
    #[serde(default)]
    #[schema(default = false)]
    pub preserve_retriever_ids: bool,
    /// Migrate user interaction data
    #[serde(default)]
    #[schema(default = false)]
    pub migrate_interactions: bool,
    /// Migrate past execution history
    #[serde(default)]
    #[schema(default = false)]
    pub migrate_execution_history: bool,
    /// Pre-flight check all references exist
    #[serde(default = "default_true")]
    #[schema(default = true)]
    pub validate_references: bool,
}

impl Default for RetrieverOptions {
    fn default() -> Self {
        RetrieverOptions {
            preserve_retriever_ids: false,
            migrate_interactions: false,
            migrate_execution_history: false,
            validate_references: true,
        }
    }
}
