//! Taxonomies and clusters applied to a collection's documents
//! ([`TaxonomyApplicationConfig`], [`ClusterApplicationConfig`]), with the phase and priority
//! that order them.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::filter::LogicalOperator;
use crate::validate::{Errors, Validate};

fn validate_phase_and_priority(errors: &mut Errors, execution_phase: i64, priority: i64) {
    errors.int_range("execution_phase", Some(execution_phase), Some(1), Some(3));
    errors.int_range("priority", Some(priority), Some(0), Some(1000));
}

/// How a taxonomy's results are persisted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum TaxonomyExecutionMode {
    Materialize,
}

/// How hierarchical taxonomy enrichments are laid out on documents.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum HierarchicalEnrichmentStyle {
    FullChain,
    BestMatch,
    Combined,
}

fn phase_taxonomy() -> i64 {
    1
}

fn phase_cluster() -> i64 {
    2
}

fn cooldown_default() -> i64 {
    3600
}

/// `true`, for serde defaults.
pub(super) fn yes() -> bool {
    true
}

/// A taxonomy that enriches this collection's documents.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TaxonomyApplicationConfig {
    pub taxonomy_id: String,
    pub execution_mode: Option<TaxonomyExecutionMode>,
    /// Collection to write results into; the source collection itself when absent.
    pub target_collection_id: Option<String>,
    /// Filters on the documents to enrich.
    pub scroll_filters: Option<LogicalOperator>,
    /// Phase this taxonomy runs in: 1 taxonomy, 2 cluster, 3 alert.
    #[serde(default = "phase_taxonomy")]
    pub execution_phase: i64,
    /// Priority within the phase (higher runs first).
    #[serde(default)]
    pub priority: i64,
    pub hierarchical_enrichment_style: Option<HierarchicalEnrichmentStyle>,
}

impl Validate for TaxonomyApplicationConfig {
    fn validate(&self, errors: &mut Errors) {
        validate_phase_and_priority(errors, self.execution_phase, self.priority);
        errors.nested("scroll_filters", self.scroll_filters.as_ref());
    }
}

/// A cluster executed over this collection when its batches complete.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClusterApplicationConfig {
    /// The cluster; it must exist and use this collection as input.
    pub cluster_id: String,
    #[serde(default = "yes")]
    pub auto_execute_on_batch: bool,
    /// Fewest documents worth clustering; smaller collections are skipped.
    pub min_document_threshold: Option<i64>,
    /// Least time between automatic executions, in seconds.
    #[serde(default = "cooldown_default")]
    pub cooldown_seconds: i64,
    /// Phase this cluster runs in: 1 taxonomy, 2 cluster, 3 alert.
    #[serde(default = "phase_cluster")]
    pub execution_phase: i64,
    /// Priority within the phase (higher runs first).
    #[serde(default)]
    pub priority: i64,
}

impl Validate for ClusterApplicationConfig {
    fn validate(&self, errors: &mut Errors) {
        validate_phase_and_priority(errors, self.execution_phase, self.priority);
    }
}
