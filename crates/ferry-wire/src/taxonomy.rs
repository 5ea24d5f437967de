//! Taxonomies: `/v1/taxonomies…` (create, get, list, patch, delete, versions) and applying one
//! to a collection (`/v1/collections/{id}/apply-taxonomy`), shaped as the SDK's
//! `CreateTaxonomyRequest`, `TaxonomyResponse`, `PatchTaxonomyRequest`,
//! `ListTaxonomiesRequest`/`Response`, `FlatTaxonomyConfig`, `InputMapping` and
//! `ApplyTaxonomyRequest`/`Response`.
//!
//! Ferry builds flat taxonomies: each document of a target collection is matched, through the
//! taxonomy's retriever, against a reference (source) collection, and the best match is written
//! onto the document. Hierarchical taxonomies are refused when created.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::ToSchema;

use crate::filter::{LogicalOperator, SortOption};
use crate::retriever::BudgetLimits;
use crate::validate::{Errors, Validate};

/// Where a retriever input's value comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum InputSourceType {
    /// A field of the document being enriched (`path`).
    Payload,
    /// A fixed value (`override`).
    Literal,
    /// One of the document's vectors (`path`: its feature URI or stored name).
    Vector,
    /// A blob of the document; Ferry refuses it.
    Blob,
}

/// Maps one retriever input to a value taken from the document being enriched.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InputMapping {
    pub input_key: String,
    /// `payload` when omitted.
    pub source_type: Option<InputSourceType>,
    pub path: Option<String>,
    #[serde(default, rename = "override")]
    #[schema(value_type = Option<Object>)]
    pub override_value: Option<Value>,
}

impl Validate for InputMapping {
    fn validate(&self, errors: &mut Errors) {
        errors.str_len("input_key", Some(&self.input_key), 1, 255);
        match self.source_type.unwrap_or(InputSourceType::Payload) {
            InputSourceType::Payload | InputSourceType::Vector if self.path.is_none() => {
                errors.push("path", "missing", "Field required for this source_type")
            }
            InputSourceType::Literal if self.override_value.is_none() => errors.push(
                "override",
                "missing",
                "Field required for source_type 'literal'",
            ),
            InputSourceType::Blob => errors.push(
                "source_type",
                "value_error",
                "Value error, source_type 'blob' is not supported by Ferry; map a payload \
                 field or a vector",
            ),
            _ => {}
        }
    }
}

/// How an enrichment field merges into the document.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum EnrichmentMergeMode {
    /// The best match's value replaces the document's.
    Replace,
    /// Every match's value is appended to the document's list (no duplicates).
    Append,
}

/// A field copied from the matched reference document onto the enriched one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EnrichmentField {
    /// Path in the reference document.
    pub field_path: String,
    /// Field written on the enriched document; `field_path` when omitted.
    pub target_field: Option<String>,
    pub merge_mode: Option<EnrichmentMergeMode>,
}

/// The reference collection a flat taxonomy matches against.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SourceCollection {
    pub collection_id: String,
    pub enrichment_fields: Option<Vec<EnrichmentField>>,
}

fn flat() -> String {
    "flat".into()
}
fn one() -> i64 {
    1
}

/// Configuration of a flat taxonomy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FlatTaxonomyConfig {
    /// `flat` (the only type Ferry builds).
    #[serde(default = "flat")]
    pub taxonomy_type: String,
    /// The retriever that finds a document's matches in the reference collection.
    pub retriever_id: String,
    pub input_mappings: Vec<InputMapping>,
    pub source_collection: SourceCollection,
    /// Matches kept per document (1..50).
    #[serde(default = "one")]
    pub top_k: i64,
    /// Accepted and ignored: Ferry keeps no step analytics.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub step_analytics: Option<Value>,
}

impl Validate for FlatTaxonomyConfig {
    fn validate(&self, errors: &mut Errors) {
        if self.taxonomy_type != "flat" {
            errors.push(
                "taxonomy_type",
                "value_error",
                "Value error, Ferry builds flat taxonomies only; taxonomy_type must be 'flat'",
            );
        }
        errors.int_range("top_k", Some(self.top_k), Some(1), Some(50));
        errors.list_not_empty("input_mappings", Some(self.input_mappings.len()));
        errors.each("input_mappings", Some(self.input_mappings.as_slice()));
    }
}

/// Request to create a taxonomy.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateTaxonomyRequest {
    pub taxonomy_name: String,
    pub description: Option<String>,
    pub config: FlatTaxonomyConfig,
    pub metadata: Option<Map<String, Value>>,
}

impl Validate for CreateTaxonomyRequest {
    fn validate(&self, errors: &mut Errors) {
        errors.str_len("taxonomy_name", Some(&self.taxonomy_name), 1, 255);
        errors.at("config", |errors| self.config.validate(errors));
    }
}

/// A node of a hierarchical taxonomy; flat taxonomies have none.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct TaxonomyPathNode {
    pub node_id: String,
    pub label: String,
    pub path: Vec<String>,
    pub parent_id: Option<String>,
    pub level: i64,
}

/// A taxonomy as the API reports it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct TaxonomyResponse {
    pub taxonomy_id: String,
    /// Starts at 1; each `POST …/versions` adds one.
    pub version: i64,
    pub taxonomy_name: String,
    pub description: Option<String>,
    pub retriever_id: String,
    pub input_mappings: Vec<InputMapping>,
    pub config: FlatTaxonomyConfig,
    pub nodes: Option<Vec<TaxonomyPathNode>>,
    pub ready: bool,
    pub created_at: DateTime<Utc>,
    pub metadata: Option<Map<String, Value>>,
}

/// Partial update of a taxonomy's descriptive fields (its configuration changes through a new
/// version).
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatchTaxonomyRequest {
    pub taxonomy_name: Option<String>,
    pub description: Option<String>,
    pub metadata: Option<Map<String, Value>>,
}

impl Validate for PatchTaxonomyRequest {
    fn validate(&self, errors: &mut Errors) {
        errors.str_len("taxonomy_name", self.taxonomy_name.as_deref(), 1, 255);
    }
}

/// Body of `POST /v1/taxonomies/{id}/versions`: what changes in the new version. Keys left
/// out keep the current version's values.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateTaxonomyVersionRequest {
    pub description: Option<String>,
    pub config: Option<FlatTaxonomyConfig>,
    pub metadata: Option<Map<String, Value>>,
}

impl Validate for CreateTaxonomyVersionRequest {
    fn validate(&self, errors: &mut Errors) {
        errors.nested("config", self.config.as_ref());
    }
}

/// Body of `POST /v1/taxonomies/list` (paging in the body or the query).
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ListTaxonomiesRequest {
    pub limit: Option<i64>,
    pub page_size: Option<i64>,
    pub offset: Option<i64>,
    pub page: Option<i64>,
    pub search: Option<String>,
    pub filters: Option<LogicalOperator>,
    pub sort: Option<SortOption>,
    pub sorts: Option<Vec<SortOption>>,
    #[serde(default)]
    pub case_sensitive: bool,
}

impl Validate for ListTaxonomiesRequest {
    fn validate(&self, errors: &mut Errors) {
        crate::paging::validate_paging(errors, self.limit, self.page_size, self.offset, self.page);
        errors.nested("filters", self.filters.as_ref());
    }
}

/// Counts over the taxonomies listed.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
pub struct TaxonomyListStats {
    pub total_taxonomies: i64,
    pub flat_taxonomies: i64,
    pub hierarchical_taxonomies: i64,
    pub taxonomies_with_retrievers: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ListTaxonomiesResponse {
    pub results: Vec<TaxonomyResponse>,
    #[schema(value_type = Object)]
    pub pagination: Value,
    pub total_count: i64,
    pub stats: TaxonomyListStats,
}

fn default_apply_batch() -> i64 {
    1000
}
fn default_parallelism() -> i64 {
    4
}

/// Body of `POST /v1/collections/{id}/apply-taxonomy`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApplyTaxonomyRequest {
    pub taxonomy_id: String,
    /// Only documents matching these filters are enriched.
    pub scroll_filters: Option<LogicalOperator>,
    /// Documents read per batch (100..5000).
    #[serde(default = "default_apply_batch")]
    pub batch_size: i64,
    /// Accepted (1..20); a task enriches its batches one after another.
    #[serde(default = "default_parallelism")]
    pub parallelism: i64,
    pub budget_limits: Option<BudgetLimits>,
}

impl Validate for ApplyTaxonomyRequest {
    fn validate(&self, errors: &mut Errors) {
        errors.int_range("batch_size", Some(self.batch_size), Some(100), Some(5000));
        errors.int_range("parallelism", Some(self.parallelism), Some(1), Some(20));
        errors.nested("scroll_filters", self.scroll_filters.as_ref());
    }
}

/// The task that applies a taxonomy to a collection.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ApplyTaxonomyResponse {
    pub task_id: String,
    pub status: String,
    pub collection_id: String,
    pub taxonomy_id: String,
    pub estimated_documents: Option<i64>,
}
