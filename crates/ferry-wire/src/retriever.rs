//! Retrievers: `/v1/retrievers…` (create, get, list, patch, delete, execute), their execution
//! history and the interactions recorded against their results, shaped as the SDK's
//! `CreateRetrieverRequest`, `RetrieverConfig`/`RetrieverModelOutput`, `PatchRetrieverRequest`,
//! `ListRetrieversRequest`/`Response`, `ExecuteRetrieverRequest`/`Response`,
//! `ListExecutionsRequest`/`Response`, `ExecutionDetail`, `SearchInteraction`,
//! `InteractionResponse` and `ListInteractionsRequest`/`Response`.
//!
//! A stage's `config` stays free-form JSON here (`{stage_id, parameters}`), as in the SDK; which
//! stages exist and what their parameters mean is the retrieval engine's business
//! (`ferry_retrieve`), which checks them when a retriever is created.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::ToSchema;

use crate::filter::{LogicalOperator, SortOption};
use crate::paging::PaginationResponse;
use crate::validate::{Errors, Validate};

/// Functional category of a stage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum StageType {
    Filter,
    Sort,
    Reduce,
    Apply,
    Enrich,
}

/// Type of one retriever input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RetrieverInputSchemaFieldType {
    String,
    Number,
    Integer,
    Float,
    Boolean,
    Object,
    Array,
    Date,
    Datetime,
    Text,
    Image,
    Audio,
    Video,
    Pdf,
    Excel,
    DocumentReference,
}

/// Who can see a retriever. Ferry has no marketplace; every retriever is private to its
/// namespace whatever this says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RetrieverVisibility {
    Private,
    Public,
    Marketplace,
}

/// One input a retriever declares.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct RetrieverInputSchemaField {
    #[serde(rename = "type")]
    pub kind: RetrieverInputSchemaFieldType,
    /// Used when an execution omits the input.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub default: Option<Value>,
    /// Element schema of an `array` input.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(no_recursion)]
    pub items: Option<Box<RetrieverInputSchemaField>>,
    /// Field schemas of an `object` input.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(no_recursion)]
    pub properties: Option<BTreeMap<String, RetrieverInputSchemaField>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub examples: Option<Vec<Value>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, rename = "enum", skip_serializing_if = "Option::is_none")]
    pub allowed: Option<Vec<Value>>,
    /// An execution without this input (and without a default) is refused.
    #[serde(default)]
    pub required: bool,
}

/// One stage of a retriever's pipeline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StageConfig {
    /// Human-readable stage instance name.
    pub stage_name: String,
    /// Inferred from `config.stage_id` when omitted.
    pub stage_type: Option<StageType>,
    /// `{stage_id, parameters}`; string values may hold `{{INPUT.name}}` templates.
    pub config: Map<String, Value>,
    pub batch_size: Option<String>,
    pub description: Option<String>,
    pub on_error: Option<String>,
    pub output_alias: Option<String>,
}

impl Validate for StageConfig {
    fn validate(&self, errors: &mut Errors) {
        errors.str_len("stage_name", Some(&self.stage_name), 1, usize::MAX);
    }
}

/// A stage as a retriever reports it: its configuration and, separately, its parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct StageConfigOutput {
    pub stage_name: String,
    pub stage_type: Option<StageType>,
    pub config: Map<String, Value>,
    pub batch_size: Option<String>,
    pub description: Option<String>,
    pub on_error: Option<String>,
    pub output_alias: Option<String>,
    /// `config.parameters`.
    pub parameters: Map<String, Value>,
}

/// Spending limits of one execution. Ferry's built-in stages cost no credits; `max_time_ms`
/// is accepted and stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BudgetLimits {
    pub max_credits: Option<f64>,
    pub max_time_ms: Option<i64>,
}

impl Validate for BudgetLimits {
    fn validate(&self, errors: &mut Errors) {
        if self.max_credits.is_some_and(|c| c < 0.0) {
            errors.push(
                "max_credits",
                "greater_than_equal",
                "Input should be greater than or equal to 0",
            );
        }
        errors.int_range("max_time_ms", self.max_time_ms, Some(0), None);
    }
}

/// A feature a retriever reads: `mixpeek://{extractor}@{version}/{output}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct FeatureAddress {
    pub scheme: String,
    pub extractor: String,
    pub version: String,
    pub output: Option<String>,
}

fn validate_stages(errors: &mut Errors, stages: &[StageConfig]) {
    errors.list_not_empty("stages", Some(stages.len()));
    errors.each("stages", Some(stages));
}

/// Request to create a retriever.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateRetrieverRequest {
    pub retriever_name: String,
    pub description: Option<String>,
    pub visibility: Option<RetrieverVisibility>,
    /// Accepted and ignored: Ferry has no marketplace.
    pub marketplace_listing_id: Option<String>,
    /// Accepted and ignored.
    #[serde(default)]
    pub requires_subscription: bool,
    /// Collections (ids or names) the retriever searches.
    pub collection_identifiers: Option<Vec<String>>,
    pub stages: Vec<StageConfig>,
    pub input_schema: Option<BTreeMap<String, RetrieverInputSchemaField>>,
    pub budget_limits: Option<BudgetLimits>,
    pub tags: Option<Vec<String>>,
    pub metadata: Option<Map<String, Value>>,
    /// Stored and returned as given; Ferry renders no UI.
    #[schema(value_type = Option<Object>)]
    pub display_config: Option<Value>,
}

impl Validate for CreateRetrieverRequest {
    fn validate(&self, errors: &mut Errors) {
        errors.str_len("retriever_name", Some(&self.retriever_name), 1, 255);
        validate_stages(errors, &self.stages);
        errors.nested("budget_limits", self.budget_limits.as_ref());
    }
}

/// Partial update of a retriever. Changing `stages`, `collection_identifiers` or
/// `input_schema` bumps the retriever's `version`.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatchRetrieverRequest {
    pub retriever_name: Option<String>,
    pub description: Option<String>,
    pub visibility: Option<RetrieverVisibility>,
    pub marketplace_listing_id: Option<String>,
    pub requires_subscription: Option<bool>,
    pub tags: Option<Vec<String>>,
    pub metadata: Option<Map<String, Value>>,
    #[schema(value_type = Option<Object>)]
    pub display_config: Option<Value>,
    pub collection_identifiers: Option<Vec<String>>,
    pub stages: Option<Vec<StageConfig>>,
    pub input_schema: Option<BTreeMap<String, RetrieverInputSchemaField>>,
}

impl Validate for PatchRetrieverRequest {
    fn validate(&self, errors: &mut Errors) {
        errors.str_len("retriever_name", self.retriever_name.as_deref(), 1, 255);
        if let Some(stages) = &self.stages {
            validate_stages(errors, stages);
        }
    }
}

/// A retriever as the API reports it (`RetrieverConfig` / `RetrieverModel-Output`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct RetrieverModel {
    pub retriever_id: String,
    pub retriever_name: String,
    pub description: Option<String>,
    /// The collections searched, by id.
    pub collection_ids: Vec<String>,
    pub stages: Vec<StageConfigOutput>,
    pub input_schema: Option<BTreeMap<String, RetrieverInputSchemaField>>,
    pub budget_limits: Option<BudgetLimits>,
    /// The features the stages search.
    pub feature_dependencies: Vec<FeatureAddress>,
    pub tags: Option<Vec<String>>,
    pub metadata: Option<Map<String, Value>>,
    #[schema(value_type = Option<Object>)]
    pub display_config: Option<Value>,
    /// Starts at 1; bumped when the pipeline (stages, collections, inputs) changes.
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub created_by: Option<String>,
    pub updated_by: Option<String>,
    pub is_published: bool,
    pub marketplace_listing_id: Option<String>,
    /// How several searches of one `feature_search` stage are fused (`rrf` or `max`); null
    /// when the retriever has a single search.
    pub fusion: Option<String>,
    /// Same as `collection_ids` (the SDK requires both).
    pub collection_identifiers: Vec<String>,
}

/// Response of a patch: the retriever after it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PatchRetrieverResponse {
    pub retriever: RetrieverModel,
}

/// Body of `POST /v1/retrievers/list`.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ListRetrieversRequest {
    /// Case-insensitive substring of the id, name or description.
    pub search: Option<String>,
    pub filters: Option<LogicalOperator>,
    pub sorts: Option<Vec<SortOption>>,
    pub sort: Option<SortOption>,
    #[serde(default)]
    pub case_sensitive: bool,
}

impl Validate for ListRetrieversRequest {
    fn validate(&self, errors: &mut Errors) {
        errors.nested("filters", self.filters.as_ref());
    }
}

/// A page of retrievers.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ListRetrieversResponse {
    pub results: Vec<RetrieverModel>,
    pub total: i64,
    pub pagination: PaginationResponse,
}

/// Pagination of an execution: `{method: "offset", page_size, page_number}` or
/// `{method: "cursor", limit, cursor}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "method", rename_all = "snake_case", deny_unknown_fields)]
pub enum ExecutionPagination {
    Offset {
        #[serde(default = "default_page_size")]
        page_size: i64,
        #[serde(default = "default_page_number")]
        page_number: i64,
    },
    Cursor {
        #[serde(default = "default_page_size")]
        limit: i64,
        #[serde(default)]
        cursor: Option<String>,
    },
}

fn default_page_size() -> i64 {
    10
}
fn default_page_number() -> i64 {
    1
}

/// Largest page one execution returns (the SDK's bound on `limit`).
pub const MAX_EXECUTION_PAGE: i64 = 500;

/// Body of `POST /v1/retrievers/{id}/execute`.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExecuteRetrieverRequest {
    /// Values for the retriever's `input_schema`.
    pub inputs: Option<Map<String, Value>>,
    /// Extra filters on the final results, ANDed with the stages' own.
    pub filters: Option<LogicalOperator>,
    pub pagination: Option<ExecutionPagination>,
    /// Page size (1..500); wins over `pagination`'s.
    pub limit: Option<i64>,
    /// Ferry answers in one response; `true` is refused.
    #[serde(default)]
    pub stream: bool,
    pub expand: Option<Vec<String>>,
    /// Ferry keeps no execution cache; accepted.
    #[serde(default)]
    pub skip_cache: bool,
    #[serde(default)]
    pub return_presigned_urls: bool,
    /// Include each document's vectors.
    #[serde(default)]
    pub return_vectors: bool,
    pub write_token: Option<String>,
    #[schema(value_type = Option<Object>)]
    pub consistency: Option<Value>,
    /// Writing results into a collection is not supported; refused when given.
    pub target_collection_id: Option<String>,
    /// Include the per-stage plan in `explain_plan`.
    #[serde(default)]
    pub explain: bool,
}

impl Validate for ExecuteRetrieverRequest {
    fn validate(&self, errors: &mut Errors) {
        errors.int_range("limit", self.limit, Some(1), Some(MAX_EXECUTION_PAGE));
        errors.nested("filters", self.filters.as_ref());
        match &self.pagination {
            Some(ExecutionPagination::Offset {
                page_size,
                page_number,
            }) => errors.at("pagination", |errors| {
                errors.int_range(
                    "page_size",
                    Some(*page_size),
                    Some(1),
                    Some(MAX_EXECUTION_PAGE),
                );
                errors.int_range("page_number", Some(*page_number), Some(1), None);
            }),
            Some(ExecutionPagination::Cursor { limit, .. }) => errors.at("pagination", |errors| {
                errors.int_range("limit", Some(*limit), Some(1), Some(MAX_EXECUTION_PAGE))
            }),
            None => {}
        }
    }
}

/// Statistics of one stage of one execution.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct StageStatistics {
    pub input_count: i64,
    pub output_count: i64,
    pub duration_ms: f64,
    /// `output_count / input_count` (1 for a stage that read nothing).
    pub efficiency: f64,
    pub cache_hit: Option<bool>,
    pub error: Option<String>,
    #[schema(value_type = Option<Object>)]
    pub metadata: Option<Value>,
}

/// Per-stage statistics of one execution.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct RetrieverExecutionStatistics {
    pub stages: BTreeMap<String, StageStatistics>,
    pub total_time_ms: f64,
    pub credits_used: f64,
}

/// The result of an execution, and (as `ExecutionDetail`) what its history shows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ExecuteRetrieverResponse {
    pub retriever_id: String,
    pub execution_id: String,
    /// `completed`.
    pub status: String,
    /// This page of results, best first: each a document with its `score`.
    #[schema(value_type = Vec<Object>)]
    pub documents: Vec<Value>,
    /// `{method, page_size|limit, page_number, total, total_pages, has_next, next_cursor}`.
    #[schema(value_type = Object)]
    pub pagination: Value,
    pub stage_statistics: RetrieverExecutionStatistics,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warnings: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub explain_plan: Option<Value>,
    pub created_at: DateTime<Utc>,
    pub completed_at: DateTime<Utc>,
    pub stages_completed: i64,
    pub total_stages: i64,
    /// Always true: Ferry keeps each execution's returned documents in its history.
    pub documents_retained: bool,
    pub total_returned: i64,
}

/// Body of `POST /v1/retrievers/{id}/executions/list`.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ListExecutionsRequest {
    /// Ferry filters executions by `status` only; other filters are refused.
    pub filters: Option<LogicalOperator>,
    /// Newest first unless the first sort names `created_at` ascending.
    pub sorts: Option<Vec<SortOption>>,
    pub status: Option<String>,
}

impl Validate for ListExecutionsRequest {
    fn validate(&self, _errors: &mut Errors) {}
}

/// One execution in a history listing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct RetrieverExecutionSummary {
    pub execution_id: String,
    pub status: String,
    pub created_at: DateTime<Utc>,
    pub completed_at: Option<DateTime<Utc>>,
    pub duration_ms: f64,
    pub credits_used: f64,
    /// Documents the stages examined.
    pub total_processed: i64,
    pub total_returned: i64,
    /// SHA-256 of the execution's inputs (canonical JSON), to group repeated queries.
    pub inputs_hash: Option<String>,
    /// The inputs, abbreviated.
    pub query_summary: Option<String>,
}

/// Offset pagination of an execution listing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct PaginationMetadata {
    pub total: i64,
    pub limit: i64,
    pub offset: i64,
    pub has_next: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ListExecutionsResponse {
    pub results: Vec<RetrieverExecutionSummary>,
    pub pagination: PaginationMetadata,
}

/// Kinds of interaction with a result.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum InteractionType {
    Impression,
    View,
    Click,
    Dwell,
    PositiveFeedback,
    NegativeFeedback,
    Purchase,
    AddToCart,
    Wishlist,
    LongView,
    Share,
    Bookmark,
    QueryRefinement,
    ZeroResults,
    FilterToggle,
    Skip,
    ReturnToResults,
    Play,
    Download,
    Save,
    AddToProject,
    Rating,
}

/// Body of `POST /v1/retrievers/interactions`: what a user did with one result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SearchInteraction {
    /// The document interacted with.
    pub feature_id: String,
    pub interaction_type: Vec<InteractionType>,
    /// Rank of the document in the results (0-based).
    pub position: i64,
    pub metadata: Option<Map<String, Value>>,
    pub user_id: Option<String>,
    pub session_id: Option<String>,
    /// The execution whose results were shown; must exist.
    pub execution_id: Option<String>,
    /// The retriever; must exist (taken from the execution when omitted).
    pub retriever_id: Option<String>,
    pub query_snapshot: Option<Map<String, Value>>,
    pub document_score: Option<f64>,
    pub result_set_size: Option<i64>,
    pub feature_uri: Option<String>,
    pub occurred_at: Option<DateTime<Utc>>,
}

impl Validate for SearchInteraction {
    fn validate(&self, errors: &mut Errors) {
        errors.list_not_empty("interaction_type", Some(self.interaction_type.len()));
        errors.int_range("position", Some(self.position), Some(0), None);
        errors.int_range("result_set_size", self.result_set_size, Some(0), None);
        errors.str_len("feature_id", Some(&self.feature_id), 1, 255);
    }
}

/// A recorded interaction.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct InteractionResponse {
    pub interaction_id: String,
    #[serde(flatten)]
    pub interaction: SearchInteraction,
    /// When it was recorded (ISO 8601).
    pub timestamp: String,
    pub deduplicated: bool,
}

/// Body of `POST /v1/retrievers/interactions/list`: equality filters on the recorded fields.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ListInteractionsRequest {
    pub execution_id: Option<String>,
    pub retriever_id: Option<String>,
    pub session_id: Option<String>,
    pub user_id: Option<String>,
    pub feature_id: Option<String>,
    pub interaction_type: Option<InteractionType>,
    pub filters: Option<LogicalOperator>,
    /// Newest first unless `{field: "timestamp", direction: "asc"}`.
    pub sort: Option<SortOption>,
    pub search: Option<String>,
}

impl Validate for ListInteractionsRequest {
    fn validate(&self, errors: &mut Errors) {
        errors.nested("filters", self.filters.as_ref());
    }
}

/// A page of interactions; `items` repeats `results` (the SDK requires both).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ListInteractionsResponse {
    pub results: Vec<InteractionResponse>,
    pub items: Vec<InteractionResponse>,
    pub pagination: PaginationResponse,
}
