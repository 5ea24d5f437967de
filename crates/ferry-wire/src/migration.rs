//! Namespace migrations: the bodies of `/v1/namespaces/migrations…` (create, get, list,
//! validate, start, cancel), shaped as `spec/migrations.openapi.json` defines them and as the
//! official SDK's models (`mixpeek==1.3.783`) read and write them.
//!
//! This module owns the 29 migration schemas of the spec (every component but `ErrorDetail`,
//! `ErrorResponse` and `HTTPValidationError`, which live in [`crate::error`]): the
//! configuration a client sends ([`MigrationConfig`] and the options it nests), the requests,
//! the responses with their progress and validation reports, and the enumerations, which the
//! store persists as text ([`MigrationStatus::as_str`], [`FromStr`]).
//!
//! Requests refuse keys the spec does not declare (`extra_forbidden`; the SDK documents the
//! same for every migration body from 2026-11-02 on) and check the spec's bounds through
//! [`Validate`], located relative to the body (`["config","batch_options","batch_size"]`).
//! Responses write every property, `null` where there is no value, because each SDK model
//! accepts `null` for every property it does not require.
//!
//! Where the spec and the SDK differ, the SDK wins and the difference is noted on the type:
//! the items of [`ValidationResult::errors`]/[`ValidationResult::warnings`]
//! ([`ValidationIssue`]) and the description of [`StartMigrationResponse::task_id`]. The spec's
//! two `shared__namespaces__migrations__models__…` schemas are [`FeatureExtractorConfig`] and
//! [`ResourceType`] here, and keep the spec's names in the OpenAPI document.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::ToSchema;

use crate::time::parse_datetime;
use crate::validate::{Errors, FieldError, Loc, Validate};

/// A text that names no variant of a migration enumeration (read back from storage or a
/// query string).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownVariant {
    /// The enumeration, e.g. `MigrationStatus`.
    pub enumeration: &'static str,
    pub value: String,
}

impl fmt::Display for UnknownVariant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "'{}' is not a {}", self.value, self.enumeration)
    }
}

impl std::error::Error for UnknownVariant {}

/// `as_str`, `ALL`, `Display` and `FromStr` for an enumeration whose serde names are the
/// texts given here (a test checks that the two agree).
macro_rules! text_enum {
    ($ty:ident, $n:literal, { $($variant:ident => $text:literal),+ $(,)? }) => {
        impl $ty {
            /// Every variant, in the spec's order.
            pub const ALL: [$ty; $n] = [$($ty::$variant),+];

            /// The wire (and storage) name.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($ty::$variant => $text),+
                }
            }
        }

        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $ty {
            type Err = UnknownVariant;

            fn from_str(text: &str) -> Result<Self, Self::Err> {
                match text {
                    $($text => Ok($ty::$variant),)+
                    _ => Err(UnknownVariant {
                        enumeration: stringify!($ty),
                        value: text.to_owned(),
                    }),
                }
            }
        }
    };
}

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

fn default_true() -> bool {
    true
}
fn default_batch_size() -> i64 {
    100
}
fn default_max_workers() -> i64 {
    10
}
fn default_list_limit() -> i64 {
    20
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
    #[serde(default)]
    pub version: Option<String>,
    /// Extractor parameters
    #[serde(default)]
    pub parameters: Option<Map<String, Value>>,
}

/// Filters for selective resource migration. Without filters every resource of the source
/// namespace is migrated.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResourceFilter {
    /// Specific collection IDs to migrate
    #[serde(default)]
    pub collection_ids: Option<Vec<String>>,
    /// Specific taxonomy IDs to migrate
    #[serde(default)]
    pub taxonomy_ids: Option<Vec<String>>,
    /// Specific cluster IDs to migrate
    #[serde(default)]
    pub cluster_ids: Option<Vec<String>>,
    /// Specific retriever IDs to migrate
    #[serde(default)]
    pub retriever_ids: Option<Vec<String>>,
    /// Date range filter (after, before): objects and documents whose `created_at` lies in it.
    /// The spec types it as a map of strings; Ferry accepts the two keys it names, each an
    /// ISO 8601 datetime (an offset-less one is UTC) or a date (midnight UTC), and refuses
    /// other keys and unreadable values (see [`ResourceFilter::date_bounds`]).
    #[serde(default)]
    pub date_range: Option<BTreeMap<String, String>>,
    /// Automatically include required dependencies
    #[serde(default = "default_true")]
    #[schema(default = true)]
    pub auto_include_dependencies: bool,
}

impl Default for ResourceFilter {
    fn default() -> Self {
        ResourceFilter {
            collection_ids: None,
            taxonomy_ids: None,
            cluster_ids: None,
            retriever_ids: None,
            date_range: None,
            auto_include_dependencies: true,
        }
    }
}

/// The keys `ResourceFilter.date_range` accepts.
pub const DATE_RANGE_KEYS: [&str; 2] = ["after", "before"];

/// Reads a `date_range` bound: an ISO 8601 datetime, or a date taken as midnight UTC.
fn parse_date_bound(text: &str) -> Option<DateTime<Utc>> {
    parse_datetime(text).or_else(|| {
        NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d")
            .ok()
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .map(|naive| naive.and_utc())
    })
}

impl ResourceFilter {
    /// The `after` and `before` bounds of `date_range`, parsed. A bound that is absent or does
    /// not parse (which [`Validate`] refuses) is `None`.
    pub fn date_bounds(&self) -> (Option<DateTime<Utc>>, Option<DateTime<Utc>>) {
        let Some(range) = &self.date_range else {
            return (None, None);
        };
        let bound = |key: &str| range.get(key).and_then(|t| parse_date_bound(t));
        (bound("after"), bound("before"))
    }

    /// True when no filter narrows the selection.
    pub fn selects_everything(&self) -> bool {
        self.collection_ids.is_none()
            && self.taxonomy_ids.is_none()
            && self.cluster_ids.is_none()
            && self.retriever_ids.is_none()
            && self.date_range.is_none()
    }
}

impl Validate for ResourceFilter {
    fn validate(&self, errors: &mut Errors) {
        let Some(range) = &self.date_range else {
            return;
        };
        errors.at("date_range", |errors| {
            for (key, text) in range {
                if !DATE_RANGE_KEYS.contains(&key.as_str()) {
                    errors.push(
                        key,
                        "extra_forbidden",
                        "Extra inputs are not permitted: date_range accepts 'after' and 'before'",
                    );
                } else if parse_date_bound(text).is_none() {
                    errors.push(
                        key,
                        "datetime_from_date_parsing",
                        "Input should be a valid datetime or date (ISO 8601, e.g. \
                         2025-01-31T00:00:00Z or 2025-01-31)",
                    );
                }
            }
        });
        if let (Some(after), Some(before)) = self.date_bounds() {
            if after > before {
                errors.at("date_range", |errors| {
                    errors.push_here(
                        "value_error",
                        "Value error, date_range.after must not be later than date_range.before",
                    )
                });
            }
        }
    }
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

/// Configuration for a namespace migration: what a client asks for, echoed as it was sent
/// in [`GetMigrationResponse::config`] (absent options stay `null`; the `…_or_default`
/// accessors give the values in force).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MigrationConfig {
    /// Type of migration to perform
    pub migration_type: MigrationType,
    /// Source namespace ID
    pub source_namespace_id: String,
    /// Target namespace ID (auto-generated if not provided)
    #[serde(default)]
    pub target_namespace_id: Option<String>,
    /// Name for target namespace
    #[serde(default)]
    pub target_namespace_name: Option<String>,
    /// New extractors to use (RE_EXTRACT only)
    #[serde(default)]
    pub feature_extractors: Option<Vec<FeatureExtractorConfig>>,
    /// Resource selection filters
    #[serde(default)]
    pub filters: Option<ResourceFilter>,
    /// Batch processing options
    #[serde(default)]
    pub batch_options: Option<BatchOptions>,
    /// Taxonomy migration options
    #[serde(default)]
    pub taxonomy_options: Option<TaxonomyOptions>,
    /// Cluster migration options
    #[serde(default)]
    pub cluster_options: Option<ClusterOptions>,
    /// Retriever migration options
    #[serde(default)]
    pub retriever_options: Option<RetrieverOptions>,
    /// Preserve original resource IDs in target
    #[serde(default)]
    #[schema(default = false)]
    pub preserve_resource_ids: bool,
    /// Validate only, don't execute
    #[serde(default)]
    #[schema(default = false)]
    pub dry_run: bool,
    /// Webhook URL for status notifications (`http` or `https`)
    #[serde(default)]
    pub webhook_url: Option<String>,
}

impl MigrationConfig {
    /// A configuration with only the two required fields; every other field at its default.
    pub fn new(migration_type: MigrationType, source_namespace_id: impl Into<String>) -> Self {
        MigrationConfig {
            migration_type,
            source_namespace_id: source_namespace_id.into(),
            target_namespace_id: None,
            target_namespace_name: None,
            feature_extractors: None,
            filters: None,
            batch_options: None,
            taxonomy_options: None,
            cluster_options: None,
            retriever_options: None,
            preserve_resource_ids: false,
            dry_run: false,
            webhook_url: None,
        }
    }

    /// `filters`, or the default filter (everything, dependencies included).
    pub fn filters_or_default(&self) -> ResourceFilter {
        self.filters.clone().unwrap_or_default()
    }

    /// `batch_options`, or the spec's defaults.
    pub fn batch_options_or_default(&self) -> BatchOptions {
        self.batch_options.clone().unwrap_or_default()
    }

    /// `taxonomy_options`, or the spec's defaults.
    pub fn taxonomy_options_or_default(&self) -> TaxonomyOptions {
        self.taxonomy_options.clone().unwrap_or_default()
    }

    /// `cluster_options`, or the spec's defaults.
    pub fn cluster_options_or_default(&self) -> ClusterOptions {
        self.cluster_options.clone().unwrap_or_default()
    }

    /// `retriever_options`, or the spec's defaults.
    pub fn retriever_options_or_default(&self) -> RetrieverOptions {
        self.retriever_options.clone().unwrap_or_default()
    }
}

/// True for an absolute `http://` or `https://` URL with a host.
fn is_http_url(text: &str) -> bool {
    let Some((scheme, rest)) = text.split_once("://") else {
        return false;
    };
    let host = rest
        .split(['/', '?', '#'])
        .next()
        .unwrap_or_default()
        .rsplit('@')
        .next()
        .unwrap_or_default();
    (scheme.eq_ignore_ascii_case("http") || scheme.eq_ignore_ascii_case("https"))
        && !host.is_empty()
        && !host.starts_with(':')
        && !text.chars().any(char::is_whitespace)
}

impl Validate for MigrationConfig {
    fn validate(&self, errors: &mut Errors) {
        if let Some(filters) = &self.filters {
            errors.at("filters", |errors| filters.validate(errors));
        }
        if let Some(batch) = &self.batch_options {
            errors.at("batch_options", |errors| batch.validate(errors));
        }
        if let Some(url) = &self.webhook_url {
            if !is_http_url(url) {
                errors.push(
                    "webhook_url",
                    "value_error",
                    "Value error, webhook_url must be an absolute http:// or https:// URL",
                );
            }
        }
    }
}

/// Request to create a new migration (`POST /v1/namespaces/migrations/`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "config": {
        "feature_extractors": [{
            "feature_extractor_name": "openai_text_embedding",
            "parameters": {"model": "text-embedding-3-large"},
            "version": "v3"
        }],
        "migration_type": "re_extract",
        "source_namespace_id": "ns_abc123",
        "target_namespace_name": "my_namespace_v2"
    },
    "start_immediately": false
}))]
pub struct CreateMigrationRequest {
    /// Migration configuration
    pub config: MigrationConfig,
    /// Start execution immediately after validation
    #[serde(default)]
    #[schema(default = false)]
    pub start_immediately: bool,
}

impl Validate for CreateMigrationRequest {
    fn validate(&self, errors: &mut Errors) {
        errors.at("config", |errors| self.config.validate(errors));
    }
}

/// Request to validate a migration configuration without creating it
/// (`POST /v1/namespaces/migrations/validate`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ValidateMigrationRequest {
    /// Migration configuration
    pub config: MigrationConfig,
}

impl Validate for ValidateMigrationRequest {
    fn validate(&self, errors: &mut Errors) {
        errors.at("config", |errors| self.config.validate(errors));
    }
}

/// Request to start a migration (`POST /v1/namespaces/migrations/{id}/start`). The body is
/// optional; without one it is `{"force": false}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StartMigrationRequest {
    /// Force start even if validation warnings exist
    #[serde(default)]
    #[schema(default = false)]
    pub force: bool,
}

impl Validate for StartMigrationRequest {
    fn validate(&self, _errors: &mut Errors) {}
}

/// Request to cancel a migration (`POST /v1/namespaces/migrations/{id}/cancel`). The body is
/// optional; without one it is `{}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CancelMigrationRequest {
    /// Cancellation reason
    #[serde(default)]
    pub reason: Option<String>,
}

impl Validate for CancelMigrationRequest {
    fn validate(&self, _errors: &mut Errors) {}
}

/// Request to list migrations with filters (`POST /v1/namespaces/migrations/list`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ListMigrationsRequest {
    /// Filter by status
    #[serde(default)]
    pub status: Option<MigrationStatus>,
    /// Filter by type
    #[serde(default)]
    pub migration_type: Option<MigrationType>,
    /// Filter by source namespace
    #[serde(default)]
    pub source_namespace_id: Option<String>,
    /// Maximum results
    #[serde(default = "default_list_limit")]
    #[schema(default = 20, minimum = 1, maximum = 1000)]
    pub limit: i64,
    /// Result offset for pagination
    #[serde(default)]
    #[schema(default = 0, minimum = 0)]
    pub offset: i64,
}

impl Default for ListMigrationsRequest {
    fn default() -> Self {
        ListMigrationsRequest {
            status: None,
            migration_type: None,
            source_namespace_id: None,
            limit: default_list_limit(),
            offset: 0,
        }
    }
}

impl Validate for ListMigrationsRequest {
    fn validate(&self, errors: &mut Errors) {
        errors.int_range("limit", Some(self.limit), Some(1), Some(1000));
        errors.int_range("offset", Some(self.offset), Some(0), None);
    }
}

/// How serious a [`ValidationIssue`] is: errors block the migration, warnings block `start`
/// unless it is forced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum IssueSeverity {
    #[default]
    Error,
    Warning,
}

/// One item of [`ValidationResult::errors`] or [`ValidationResult::warnings`]: the spec's
/// `ValidationError` as the official SDK reads it.
///
/// **Spec vs SDK.** The spec's schema for these items is FastAPI's `ValidationError`
/// (`loc`, `msg`, `type`, all required), while the spec's own example and the SDK's
/// `ValidationError` model use `{error_code, message, resource_id, resource_type, severity}`
/// (`error_code` and `message` required, `severity` defaulting to `"error"`). Each item
/// carries both sets, always all eight keys (`resource_id`/`resource_type` may be `null`), so
/// it satisfies the schema and the SDK: `type` = `error_code` (a stable machine code such as
/// `namespace_name_taken` or `RE_EXTRACT_COST`), `msg` = `message`, `loc` = the path into
/// the request body (e.g. `["config","filters","collection_ids",0]`).
///
/// Reading is lenient: either set alone is enough, and the missing twin is copied from the
/// other, so the spec's example (`error_code`/`message`/`severity` only) reads too.
///
/// In the OpenAPI document it keeps the spec's name, `ValidationError`, the name
/// [`crate::error::ValidationErrorItem`] (the same two sets, for 422 bodies) also has.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(from = "ValidationIssueIn")]
#[schema(as = ValidationError)]
pub struct ValidationIssue {
    /// Location: the path into the request body.
    #[schema(schema_with = crate::error::location_schema)]
    pub loc: Vec<Value>,
    /// Message (same as `message`).
    pub msg: String,
    /// Error type (same as `error_code`).
    #[serde(rename = "type")]
    pub error_type: String,
    /// Error code
    pub error_code: String,
    /// Human-readable error message
    pub message: String,
    /// Related resource ID
    pub resource_id: Option<String>,
    /// Resource type
    pub resource_type: Option<ResourceType>,
    /// Severity: error or warning
    #[schema(inline)]
    pub severity: IssueSeverity,
}

/// What [`ValidationIssue`] reads: either set of keys.
#[derive(Deserialize)]
struct ValidationIssueIn {
    #[serde(default)]
    loc: Option<Vec<Value>>,
    #[serde(default)]
    msg: Option<String>,
    #[serde(default, rename = "type")]
    error_type: Option<String>,
    #[serde(default)]
    error_code: Option<String>,
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    resource_id: Option<String>,
    #[serde(default)]
    resource_type: Option<ResourceType>,
    #[serde(default)]
    severity: Option<IssueSeverity>,
}

impl From<ValidationIssueIn> for ValidationIssue {
    fn from(i: ValidationIssueIn) -> Self {
        let message = i.message.or(i.msg).unwrap_or_default();
        let code = i.error_code.or(i.error_type).unwrap_or_default();
        ValidationIssue {
            loc: i.loc.unwrap_or_else(|| vec![Value::from("config")]),
            msg: message.clone(),
            error_type: code.clone(),
            error_code: code,
            message,
            resource_id: i.resource_id,
            resource_type: i.resource_type,
            severity: i.severity.unwrap_or_default(),
        }
    }
}

impl ValidationIssue {
    /// An issue about the configuration as a whole (`loc` = `["config"]`).
    pub fn new(
        severity: IssueSeverity,
        code: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        let code = code.into();
        let message = message.into();
        ValidationIssue {
            loc: vec![Value::from("config")],
            msg: message.clone(),
            error_type: code.clone(),
            error_code: code,
            message,
            resource_id: None,
            resource_type: None,
            severity,
        }
    }

    /// An error: the migration cannot proceed.
    pub fn error(code: impl Into<String>, message: impl Into<String>) -> Self {
        Self::new(IssueSeverity::Error, code, message)
    }

    /// A warning: `start` refuses it unless forced.
    pub fn warning(code: impl Into<String>, message: impl Into<String>) -> Self {
        Self::new(IssueSeverity::Warning, code, message)
    }

    /// Sets the location, relative to the request body (e.g. `["config", "filters",
    /// "collection_ids", 0]`).
    pub fn at(mut self, loc: impl IntoIterator<Item = Loc>) -> Self {
        self.loc = loc.into_iter().map(loc_value).collect();
        self
    }

    /// Names the resource concerned.
    pub fn about(mut self, resource_type: ResourceType, resource_id: impl Into<String>) -> Self {
        self.resource_type = Some(resource_type);
        self.resource_id = Some(resource_id.into());
        self
    }
}

fn loc_value(segment: Loc) -> Value {
    match segment {
        Loc::Key(k) => Value::String(k),
        Loc::Index(i) => Value::from(i),
    }
}

impl From<&FieldError> for ValidationIssue {
    fn from(e: &FieldError) -> Self {
        ValidationIssue::error(e.kind, e.msg.clone()).at(e.loc.iter().cloned())
    }
}

/// Result of pre-flight validation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ValidationResult {
    /// Whether migration can proceed
    pub valid: bool,
    /// Validation errors
    #[serde(default)]
    pub errors: Vec<ValidationIssue>,
    /// Validation warnings
    #[serde(default)]
    pub warnings: Vec<ValidationIssue>,
    /// Estimated resource counts, per resource type
    #[serde(default)]
    pub estimated_resources: BTreeMap<ResourceType, u64>,
    /// Estimated migration duration
    pub estimated_duration_seconds: Option<i64>,
}

impl ValidationResult {
    /// A result from its issues: `valid` exactly when there is no error.
    pub fn from_issues(issues: impl IntoIterator<Item = ValidationIssue>) -> Self {
        let (errors, warnings) = issues
            .into_iter()
            .partition::<Vec<_>, _>(|i| i.severity == IssueSeverity::Error);
        ValidationResult {
            valid: errors.is_empty(),
            errors,
            warnings,
            estimated_resources: BTreeMap::new(),
            estimated_duration_seconds: None,
        }
    }
}

/// Node in dependency graph: one resource of the source namespace.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct DependencyNode {
    /// Resource ID
    pub resource_id: String,
    /// Resource type
    pub resource_type: ResourceType,
    /// IDs of resources this depends on
    #[serde(default)]
    pub dependencies: Vec<String>,
    /// Dependency tier (0=no deps; else 1 + the highest tier among its dependencies)
    #[serde(default)]
    #[schema(default = 0, minimum = 0)]
    pub tier: u32,
}

/// Dependency graph for migration ordering.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct DependencyGraph {
    /// All resource nodes
    #[serde(default)]
    pub nodes: Vec<DependencyNode>,
    /// Topologically sorted execution order (resource IDs)
    #[serde(default)]
    pub execution_order: Vec<String>,
}

/// Progress tracking for a migration stage.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct StageProgress {
    /// Stage name
    pub stage: MigrationStage,
    /// Stage status. Ferry uses `pending` (not reached), `in_progress`, `completed` (also for
    /// a stage with nothing to do: zero items), `failed` and `cancelled`.
    pub status: MigrationStatus,
    /// Stage start time
    pub started_at: Option<DateTime<Utc>>,
    /// Stage completion time
    pub completed_at: Option<DateTime<Utc>>,
    /// Progress %
    #[serde(default)]
    #[schema(default = 0, minimum = 0, maximum = 100)]
    pub progress_percent: f64,
    /// Total items to process
    #[serde(default)]
    #[schema(default = 0, minimum = 0)]
    pub items_total: u64,
    /// Items completed
    #[serde(default)]
    #[schema(default = 0, minimum = 0)]
    pub items_completed: u64,
    /// Items failed
    #[serde(default)]
    #[schema(default = 0, minimum = 0)]
    pub items_failed: u64,
    /// Error if failed
    pub error_message: Option<String>,
}

impl StageProgress {
    /// A stage not yet reached.
    pub fn pending(stage: MigrationStage) -> Self {
        StageProgress {
            stage,
            status: MigrationStatus::Pending,
            started_at: None,
            completed_at: None,
            progress_percent: 0.0,
            items_total: 0,
            items_completed: 0,
            items_failed: 0,
            error_message: None,
        }
    }
}

/// Progress tracking for individual resources.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ResourceProgress {
    /// Resource ID
    pub resource_id: String,
    /// Resource type
    pub resource_type: ResourceType,
    /// Resource status (the values [`StageProgress::status`] uses)
    pub status: MigrationStatus,
    /// Progress %
    #[serde(default)]
    #[schema(default = 0, minimum = 0, maximum = 100)]
    pub progress_percent: f64,
    /// Error if failed
    pub error_message: Option<String>,
}

/// Overall progress tracking for a migration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct MigrationProgress {
    /// Overall migration status
    pub overall_status: MigrationStatus,
    /// Overall progress %: monotonic, 100 exactly at completion.
    #[serde(default)]
    #[schema(default = 0, minimum = 0, maximum = 100)]
    pub overall_progress_percent: f64,
    /// Currently executing stage
    pub current_stage: Option<MigrationStage>,
    /// Progress for each stage: all seven, in run order.
    #[serde(default)]
    pub stages: Vec<StageProgress>,
    /// Progress for each resource
    #[serde(default)]
    pub resources: Vec<ResourceProgress>,
    /// Migration start time
    pub started_at: Option<DateTime<Utc>>,
    /// Estimated completion time
    pub estimated_completion: Option<DateTime<Utc>>,
}

impl MigrationProgress {
    /// Progress before any work: every stage listed and `pending`.
    pub fn new(overall_status: MigrationStatus) -> Self {
        MigrationProgress {
            overall_status,
            overall_progress_percent: 0.0,
            current_stage: None,
            stages: MigrationStage::ALL.map(StageProgress::pending).to_vec(),
            resources: Vec::new(),
            started_at: None,
            estimated_completion: None,
        }
    }
}

/// Response for getting migration details (`GET /v1/namespaces/migrations/{id}`; also the
/// items of [`ListMigrationsResponse::results`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct GetMigrationResponse {
    /// Migration ID
    pub migration_id: String,
    /// Organization internal ID
    pub internal_id: String,
    /// Source namespace ID
    pub namespace_id: String,
    /// Migration configuration
    pub config: MigrationConfig,
    /// Current status
    pub status: MigrationStatus,
    /// Progress tracking
    pub progress: MigrationProgress,
    /// Validation result
    pub validation_result: Option<ValidationResult>,
    /// Dependency graph
    pub dependency_graph: Option<DependencyGraph>,
    /// Task ID for tracking migration progress (`GET /v1/tasks/{task_id}`)
    pub task_id: Option<String>,
    /// Creation timestamp
    pub created_at: DateTime<Utc>,
    /// Start timestamp
    pub started_at: Option<DateTime<Utc>>,
    /// Completion timestamp
    pub completed_at: Option<DateTime<Utc>>,
    /// Error if failed
    pub error_message: Option<String>,
    /// Additional metadata (e.g. a dry run's plan, benchmark results). Always an object: the
    /// spec does not make it nullable (the SDK would also take `null`).
    #[serde(default)]
    pub additional_data: Map<String, Value>,
}

/// Response for listing migrations.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ListMigrationsResponse {
    /// List of migrations
    pub results: Vec<GetMigrationResponse>,
    /// Total count matching filters
    pub total: i64,
    /// Results limit
    pub limit: i64,
    /// Results offset
    pub offset: i64,
}

/// Response after creating a migration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({
    "created_at": "2025-12-03T10:00:00Z",
    "message": "Migration created successfully. Use POST /migrations/{id}/start to begin execution.",
    "migration_id": "mig_abc123xyz789",
    "status": "draft",
    "validation_result": {
        "errors": [],
        "estimated_duration_seconds": 1800,
        "estimated_resources": {"cluster": 1, "collection": 5, "taxonomy": 2},
        "valid": true,
        "warnings": []
    }
}))]
pub struct CreateMigrationResponse {
    /// Created migration ID
    pub migration_id: String,
    /// Current status
    pub status: MigrationStatus,
    /// Validation result if available
    pub validation_result: Option<ValidationResult>,
    /// Creation timestamp
    pub created_at: DateTime<Utc>,
    /// Human-readable message
    pub message: String,
}

/// Response for migration validation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({
    "message": "Configuration is valid with 1 warning",
    "validation_result": {
        "errors": [],
        "estimated_duration_seconds": 1800,
        "estimated_resources": {"collection": 5, "taxonomy": 2},
        "valid": true,
        "warnings": [{
            "error_code": "RE_EXTRACT_COST_WARNING",
            "message": "RE_EXTRACT migration will reprocess all documents and incur processing costs",
            "severity": "warning"
        }]
    }
}))]
pub struct ValidateMigrationResponse {
    /// Validation result
    pub validation_result: ValidationResult,
    /// Dependency graph if validation passed
    pub dependency_graph: Option<DependencyGraph>,
    /// Human-readable message
    pub message: String,
}

/// Response after starting a migration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({
    "message": "Migration started successfully. Track progress at GET /migrations/{id}",
    "migration_id": "mig_abc123xyz789",
    "started_at": "2025-12-03T10:05:00Z",
    "status": "pending",
    "task_id": "task_xyz789"
}))]
pub struct StartMigrationResponse {
    /// Migration ID
    pub migration_id: String,
    /// Current status
    pub status: MigrationStatus,
    /// Task ID for tracking migration progress (`GET /v1/tasks/{task_id}`).
    ///
    /// **Spec vs SDK:** the spec describes it as "Celery task ID"; the SDK's description (used
    /// here) names what it is for. Same type and requiredness in both.
    pub task_id: String,
    /// Start timestamp
    pub started_at: DateTime<Utc>,
    /// Human-readable message
    pub message: String,
}

/// Response after cancelling a migration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct CancelMigrationResponse {
    /// Migration ID
    pub migration_id: String,
    /// Current status
    pub status: MigrationStatus,
    /// Cancellation timestamp
    pub cancelled_at: DateTime<Utc>,
    /// Human-readable message
    pub message: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use serde::de::DeserializeOwned;
    use serde_json::json;
    use std::collections::BTreeSet;

    /// The normative spec; the worktree and `shared/` are both directly under the same folder.
    const SPEC_PATH: &str = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/spec/migrations.openapi.json"
    );

    fn spec() -> Value {
        let text = std::fs::read_to_string(SPEC_PATH)
            .unwrap_or_else(|e| panic!("reading {SPEC_PATH}: {e}"));
        serde_json::from_str(&text).unwrap()
    }

    fn schema(spec: &Value, name: &str) -> Value {
        spec["components"]["schemas"][name].clone()
    }

    /// Parses as the API does (so errors carry a path) and returns the request-level errors.
    fn parse<T: DeserializeOwned + Validate>(body: Value) -> Result<(T, Vec<FieldError>), String> {
        let value: T = serde_path_to_error::deserialize(body).map_err(|e| e.to_string())?;
        let errors = value.validation_errors();
        Ok((value, errors))
    }

    fn locs(errors: &[FieldError]) -> Vec<(Vec<Loc>, &'static str)> {
        errors.iter().map(|e| (e.loc.clone(), e.kind)).collect()
    }

    fn loc(segments: &[&str]) -> Vec<Loc> {
        segments.iter().map(|s| Loc::from(*s)).collect()
    }

    fn at(seconds: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(1_764_756_000 + seconds, 0).unwrap()
    }

    fn full_config() -> MigrationConfig {
        MigrationConfig {
            migration_type: MigrationType::ReExtract,
            source_namespace_id: "ns_src".into(),
            target_namespace_id: Some("ns_dst".into()),
            target_namespace_name: Some("dst".into()),
            feature_extractors: Some(vec![FeatureExtractorConfig {
                feature_extractor_name: "text_extractor".into(),
                version: Some("v2".into()),
                parameters: Some(Map::from_iter([("model".into(), json!("m"))])),
            }]),
            filters: Some(ResourceFilter {
                collection_ids: Some(vec!["col_1".into()]),
                taxonomy_ids: Some(vec!["tax_1".into()]),
                cluster_ids: Some(vec!["clu_1".into()]),
                retriever_ids: Some(vec!["ret_1".into()]),
                date_range: Some(BTreeMap::from([
                    ("after".into(), "2025-01-01T00:00:00Z".into()),
                    ("before".into(), "2025-12-31".into()),
                ])),
                auto_include_dependencies: false,
            }),
            batch_options: Some(BatchOptions::default()),
            taxonomy_options: Some(TaxonomyOptions::default()),
            cluster_options: Some(ClusterOptions::default()),
            retriever_options: Some(RetrieverOptions::default()),
            preserve_resource_ids: true,
            dry_run: true,
            webhook_url: Some("https://hooks.example.com/ferry".into()),
        }
    }

    fn full_validation_result() -> ValidationResult {
        let mut result = ValidationResult::from_issues([
            ValidationIssue::error("missing_dependency", "collection col_2 is not selected")
                .at([
                    Loc::from("config"),
                    "filters".into(),
                    "collection_ids".into(),
                    0.into(),
                ])
                .about(ResourceType::Collection, "col_2"),
            ValidationIssue::warning("RE_EXTRACT_COST", "12 documents will be reprocessed"),
        ]);
        result.estimated_resources =
            BTreeMap::from([(ResourceType::Bucket, 1), (ResourceType::Collection, 2)]);
        result.estimated_duration_seconds = Some(30);
        result
    }

    fn full_graph() -> DependencyGraph {
        DependencyGraph {
            nodes: vec![
                DependencyNode {
                    resource_id: "bkt_1".into(),
                    resource_type: ResourceType::Bucket,
                    dependencies: vec![],
                    tier: 0,
                },
                DependencyNode {
                    resource_id: "col_1".into(),
                    resource_type: ResourceType::Collection,
                    dependencies: vec!["bkt_1".into()],
                    tier: 1,
                },
            ],
            execution_order: vec!["bkt_1".into(), "col_1".into()],
        }
    }

    fn full_progress() -> MigrationProgress {
        let mut progress = MigrationProgress::new(MigrationStatus::InProgress);
        progress.overall_progress_percent = 42.5;
        progress.current_stage = Some(MigrationStage::BatchProcessing);
        progress.stages[0].status = MigrationStatus::Completed;
        progress.stages[0].started_at = Some(at(0));
        progress.stages[0].completed_at = Some(at(1));
        progress.stages[0].progress_percent = 100.0;
        progress.stages[2].status = MigrationStatus::Failed;
        progress.stages[2].items_total = 10;
        progress.stages[2].items_completed = 4;
        progress.stages[2].items_failed = 1;
        progress.stages[2].error_message = Some("batch 3 failed".into());
        progress.resources = vec![ResourceProgress {
            resource_id: "col_1".into(),
            resource_type: ResourceType::Collection,
            status: MigrationStatus::InProgress,
            progress_percent: 40.0,
            error_message: Some("one batch failed".into()),
        }];
        progress.started_at = Some(at(0));
        progress.estimated_completion = Some(at(600));
        progress
    }

    fn full_get() -> GetMigrationResponse {
        GetMigrationResponse {
            migration_id: "mig_1".into(),
            internal_id: "org_1".into(),
            namespace_id: "ns_src".into(),
            config: full_config(),
            status: MigrationStatus::InProgress,
            progress: full_progress(),
            validation_result: Some(full_validation_result()),
            dependency_graph: Some(full_graph()),
            task_id: Some("task_1".into()),
            created_at: at(-10),
            started_at: Some(at(0)),
            completed_at: Some(at(700)),
            error_message: Some("boom".into()),
            additional_data: Map::from_iter([("plan".into(), json!({"batches": 3}))]),
        }
    }

    fn minimal_get() -> GetMigrationResponse {
        GetMigrationResponse {
            migration_id: "mig_2".into(),
            internal_id: "org_1".into(),
            namespace_id: "ns_src".into(),
            config: MigrationConfig::new(MigrationType::Copy, "ns_src"),
            status: MigrationStatus::Draft,
            progress: MigrationProgress::new(MigrationStatus::Draft),
            validation_result: None,
            dependency_graph: None,
            task_id: None,
            created_at: at(0),
            started_at: None,
            completed_at: None,
            error_message: None,
            additional_data: Map::new(),
        }
    }

    /// A representative value of every type with properties, fully and minimally populated,
    /// keyed by the spec's schema name.
    fn samples() -> Vec<(&'static str, Value)> {
        let v = |x: &dyn erased::Ser| x.value();
        let full_get = full_get();
        let minimal_get = minimal_get();
        let start = StartMigrationResponse {
            migration_id: "mig_1".into(),
            status: MigrationStatus::Pending,
            task_id: "task_1".into(),
            started_at: at(0),
            message: "Migration started".into(),
        };
        let cancel = CancelMigrationResponse {
            migration_id: "mig_1".into(),
            status: MigrationStatus::Cancelled,
            cancelled_at: at(5),
            message: "Migration cancelled".into(),
        };
        let created = |validation_result| CreateMigrationResponse {
            migration_id: "mig_1".into(),
            status: MigrationStatus::Draft,
            validation_result,
            created_at: at(0),
            message: "Migration created".into(),
        };
        let validated = |dependency_graph| ValidateMigrationResponse {
            validation_result: full_validation_result(),
            dependency_graph,
            message: "Configuration is valid".into(),
        };
        vec![
            ("BatchOptions", v(&BatchOptions::default())),
            (
                "CancelMigrationRequest",
                v(&CancelMigrationRequest::default()),
            ),
            ("CancelMigrationResponse", v(&cancel)),
            ("ClusterOptions", v(&ClusterOptions::default())),
            (
                "CreateMigrationRequest",
                v(&CreateMigrationRequest {
                    config: full_config(),
                    start_immediately: true,
                }),
            ),
            (
                "CreateMigrationResponse",
                v(&created(Some(full_validation_result()))),
            ),
            ("CreateMigrationResponse", v(&created(None))),
            ("DependencyGraph", v(&full_graph())),
            ("DependencyNode", v(&full_graph().nodes[1])),
            ("GetMigrationResponse", v(&full_get)),
            ("GetMigrationResponse", v(&minimal_get)),
            (
                "ListMigrationsRequest",
                v(&ListMigrationsRequest::default()),
            ),
            (
                "ListMigrationsResponse",
                v(&ListMigrationsResponse {
                    results: vec![full_get.clone(), minimal_get.clone()],
                    total: 2,
                    limit: 20,
                    offset: 0,
                }),
            ),
            ("MigrationConfig", v(&full_config())),
            (
                "MigrationConfig",
                v(&MigrationConfig::new(MigrationType::Copy, "ns")),
            ),
            ("MigrationProgress", v(&full_progress())),
            (
                "MigrationProgress",
                v(&MigrationProgress::new(MigrationStatus::Draft)),
            ),
            ("ResourceFilter", v(&full_config().filters.unwrap())),
            ("ResourceFilter", v(&ResourceFilter::default())),
            ("ResourceProgress", v(&full_progress().resources[0])),
            ("RetrieverOptions", v(&RetrieverOptions::default())),
            ("StageProgress", v(&full_progress().stages[0])),
            (
                "StageProgress",
                v(&StageProgress::pending(MigrationStage::Finalization)),
            ),
            (
                "StartMigrationRequest",
                v(&StartMigrationRequest::default()),
            ),
            ("StartMigrationResponse", v(&start)),
            ("TaxonomyOptions", v(&TaxonomyOptions::default())),
            (
                "ValidateMigrationRequest",
                v(&ValidateMigrationRequest {
                    config: full_config(),
                }),
            ),
            (
                "ValidateMigrationResponse",
                v(&validated(Some(full_graph()))),
            ),
            ("ValidateMigrationResponse", v(&validated(None))),
            ("ValidationError", v(&full_validation_result().errors[0])),
            ("ValidationError", v(&full_validation_result().warnings[0])),
            ("ValidationResult", v(&full_validation_result())),
            ("ValidationResult", v(&ValidationResult::from_issues([]))),
            (
                "shared__namespaces__migrations__models__FeatureExtractorConfig",
                v(&full_config().feature_extractors.unwrap()[0]),
            ),
        ]
    }

    /// Serializes any sample without naming its type in the list above.
    mod erased {
        pub trait Ser {
            fn value(&self) -> serde_json::Value;
        }
        impl<T: serde::Serialize> Ser for T {
            fn value(&self) -> serde_json::Value {
                serde_json::to_value(self).unwrap()
            }
        }
    }

    /// Keys the SDK's `ValidationError` reads that the spec's (FastAPI's) does not list.
    const SDK_ONLY_ISSUE_KEYS: [&str; 5] = [
        "error_code",
        "message",
        "resource_id",
        "resource_type",
        "severity",
    ];

    #[test]
    fn every_spec_schema_has_exactly_its_properties_on_the_wire() {
        let spec = spec();
        let schemas = spec["components"]["schemas"].as_object().unwrap();
        let samples = samples();
        for (name, schema) in schemas {
            if matches!(
                name.as_str(),
                "ErrorDetail" | "ErrorResponse" | "HTTPValidationError"
            ) {
                continue;
            }
            if let Some(values) = schema.get("enum") {
                let wire: Vec<Value> = match name.as_str() {
                    "MigrationType" => MigrationType::ALL.iter().map(|x| json!(x)).collect(),
                    "MigrationStatus" => MigrationStatus::ALL.iter().map(|x| json!(x)).collect(),
                    "MigrationStage" => MigrationStage::ALL.iter().map(|x| json!(x)).collect(),
                    "shared__namespaces__migrations__models__ResourceType" => {
                        ResourceType::ALL.iter().map(|x| json!(x)).collect()
                    }
                    other => panic!("no Rust enumeration for {other}"),
                };
                assert_eq!(&Value::Array(wire), values, "{name}");
                continue;
            }
            let declared: BTreeSet<&str> = schema["properties"]
                .as_object()
                .unwrap_or_else(|| panic!("{name} has no properties"))
                .keys()
                .map(String::as_str)
                .collect();
            let mut expected = declared.clone();
            if name == "ValidationError" {
                expected.extend(SDK_ONLY_ISSUE_KEYS);
            }
            let mine: Vec<&Value> = samples
                .iter()
                .filter(|(n, _)| n == name)
                .map(|(_, v)| v)
                .collect();
            assert!(!mine.is_empty(), "no sample for {name}");
            for value in mine {
                let keys: BTreeSet<&str> = value
                    .as_object()
                    .unwrap()
                    .keys()
                    .map(String::as_str)
                    .collect();
                assert_eq!(keys, expected, "{name}: {value}");
            }
        }
        // Every sample names a schema of the spec.
        for (name, _) in &samples {
            assert!(schemas.contains_key(*name), "{name} is not in the spec");
        }
    }

    #[test]
    fn openapi_names_are_the_spec_names() {
        use utoipa::ToSchema;
        let spec = spec();
        let names = [
            BatchOptions::name(),
            CancelMigrationRequest::name(),
            CancelMigrationResponse::name(),
            ClusterOptions::name(),
            CreateMigrationRequest::name(),
            CreateMigrationResponse::name(),
            DependencyGraph::name(),
            DependencyNode::name(),
            GetMigrationResponse::name(),
            ListMigrationsRequest::name(),
            ListMigrationsResponse::name(),
            MigrationConfig::name(),
            MigrationProgress::name(),
            MigrationStage::name(),
            MigrationStatus::name(),
            MigrationType::name(),
            ResourceFilter::name(),
            ResourceProgress::name(),
            RetrieverOptions::name(),
            StageProgress::name(),
            StartMigrationRequest::name(),
            StartMigrationResponse::name(),
            TaxonomyOptions::name(),
            ValidateMigrationRequest::name(),
            ValidateMigrationResponse::name(),
            ValidationIssue::name(),
            ValidationResult::name(),
            FeatureExtractorConfig::name(),
            ResourceType::name(),
        ];
        let spec_names: BTreeSet<&str> = spec["components"]["schemas"]
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .filter(|n| !matches!(*n, "ErrorDetail" | "ErrorResponse" | "HTTPValidationError"))
            .collect();
        let mine: BTreeSet<&str> = names.iter().map(|n| n.as_ref()).collect();
        assert_eq!(mine, spec_names);
    }

    #[test]
    fn spec_request_examples_parse_and_validate() {
        let spec = spec();
        let example = schema(&spec, "CreateMigrationRequest")["example"].clone();
        let (req, errors) = parse::<CreateMigrationRequest>(example).unwrap();
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(req.config.migration_type, MigrationType::ReExtract);
        assert_eq!(
            req.config.target_namespace_name.as_deref(),
            Some("my_namespace_v2")
        );
        let extractor = &req.config.feature_extractors.as_ref().unwrap()[0];
        assert_eq!(extractor.version.as_deref(), Some("v3"));
        assert_eq!(
            extractor.parameters.as_ref().unwrap()["model"],
            "text-embedding-3-large"
        );
        // The bodies the start and cancel endpoints assume when none is sent.
        let paths = &spec["paths"];
        let start = &paths["/v1/namespaces/migrations/{migration_id}/start"]["post"];
        let default =
            start["requestBody"]["content"]["application/json"]["schema"]["default"].clone();
        assert_eq!(
            parse::<StartMigrationRequest>(default).unwrap().0,
            StartMigrationRequest::default()
        );
        let cancel = &paths["/v1/namespaces/migrations/{migration_id}/cancel"]["post"];
        let default =
            cancel["requestBody"]["content"]["application/json"]["schema"]["default"].clone();
        assert_eq!(
            parse::<CancelMigrationRequest>(default).unwrap().0,
            CancelMigrationRequest::default()
        );
    }

    #[test]
    fn spec_response_examples_read_and_gain_both_issue_shapes() {
        let spec = spec();
        let created: CreateMigrationResponse =
            serde_json::from_value(schema(&spec, "CreateMigrationResponse")["example"].clone())
                .unwrap();
        let result = created.validation_result.unwrap();
        assert_eq!(result.estimated_resources[&ResourceType::Collection], 5);
        assert_eq!(result.estimated_duration_seconds, Some(1800));
        let started: StartMigrationResponse =
            serde_json::from_value(schema(&spec, "StartMigrationResponse")["example"].clone())
                .unwrap();
        assert_eq!(started.status, MigrationStatus::Pending);
        let validated: ValidateMigrationResponse =
            serde_json::from_value(schema(&spec, "ValidateMigrationResponse")["example"].clone())
                .unwrap();
        let warning = &validated.validation_result.warnings[0];
        assert_eq!(warning.severity, IssueSeverity::Warning);
        // The SDK-shaped example item is written back with FastAPI's keys as well.
        assert_eq!(
            serde_json::to_value(warning).unwrap(),
            json!({
                "loc": ["config"],
                "msg": "RE_EXTRACT migration will reprocess all documents and incur processing costs",
                "type": "RE_EXTRACT_COST_WARNING",
                "error_code": "RE_EXTRACT_COST_WARNING",
                "message": "RE_EXTRACT migration will reprocess all documents and incur processing costs",
                "resource_id": null,
                "resource_type": null,
                "severity": "warning"
            })
        );
        // A FastAPI-shaped item reads too.
        let fastapi: ValidationIssue = serde_json::from_value(
            json!({"loc": ["config", "source_namespace_id"], "msg": "not found", "type": "source_not_found"}),
        )
        .unwrap();
        assert_eq!(fastapi.error_code, "source_not_found");
        assert_eq!(fastapi.message, "not found");
        assert_eq!(fastapi.severity, IssueSeverity::Error);
    }

    #[test]
    fn defaults_are_the_spec_defaults() {
        let (req, errors) = parse::<CreateMigrationRequest>(json!({
            "config": {"migration_type": "copy", "source_namespace_id": "ns_x"}
        }))
        .unwrap();
        assert!(errors.is_empty());
        assert_eq!(
            serde_json::to_value(&req).unwrap(),
            json!({
                "config": {
                    "migration_type": "copy",
                    "source_namespace_id": "ns_x",
                    "target_namespace_id": null,
                    "target_namespace_name": null,
                    "feature_extractors": null,
                    "filters": null,
                    "batch_options": null,
                    "taxonomy_options": null,
                    "cluster_options": null,
                    "retriever_options": null,
                    "preserve_resource_ids": false,
                    "dry_run": false,
                    "webhook_url": null
                },
                "start_immediately": false
            })
        );
        // Empty option objects take every default the spec states.
        let (req, _) = parse::<CreateMigrationRequest>(json!({
            "config": {"migration_type": "copy", "source_namespace_id": "ns_x",
                       "filters": {}, "batch_options": {}, "taxonomy_options": {},
                       "cluster_options": {}, "retriever_options": {}}
        }))
        .unwrap();
        let config = serde_json::to_value(&req.config).unwrap();
        assert_eq!(
            config["filters"],
            json!({"collection_ids": null, "taxonomy_ids": null, "cluster_ids": null,
                   "retriever_ids": null, "date_range": null, "auto_include_dependencies": true})
        );
        assert_eq!(
            config["batch_options"],
            json!({"batch_size": 100, "max_workers": 10, "retry_failed": true})
        );
        assert_eq!(
            config["taxonomy_options"],
            json!({"preserve_taxonomy_ids": true, "preserve_enrichment_fields": true,
                   "re_run_enrichment": false, "migrate_reference_collections": true})
        );
        assert_eq!(
            config["cluster_options"],
            json!({"preserve_cluster_ids": true, "preserve_assignments": true,
                   "migrate_artifacts": true, "preserve_centroids": true,
                   "recompute_clusters": false})
        );
        assert_eq!(
            config["retriever_options"],
            json!({"preserve_retriever_ids": false, "migrate_interactions": false,
                   "migrate_execution_history": false, "validate_references": true})
        );
        // The `…_or_default` accessors agree with what an empty object gives.
        let bare = MigrationConfig::new(MigrationType::Copy, "ns_x");
        assert_eq!(
            bare.batch_options_or_default(),
            req.config.batch_options.unwrap()
        );
        assert_eq!(bare.filters_or_default(), req.config.filters.unwrap());
        assert_eq!(
            bare.taxonomy_options_or_default(),
            req.config.taxonomy_options.unwrap()
        );
        assert_eq!(
            bare.cluster_options_or_default(),
            req.config.cluster_options.unwrap()
        );
        assert_eq!(
            bare.retriever_options_or_default(),
            req.config.retriever_options.unwrap()
        );

        let (list, _) = parse::<ListMigrationsRequest>(json!({})).unwrap();
        assert_eq!(list, ListMigrationsRequest::default());
        assert_eq!((list.limit, list.offset), (20, 0));
        assert!(!parse::<StartMigrationRequest>(json!({})).unwrap().0.force);
        assert_eq!(
            parse::<CancelMigrationRequest>(json!({})).unwrap().0.reason,
            None
        );
    }

    #[test]
    fn defaults_match_the_spec_document() {
        // Each `default` the spec states is what an empty object (or a bare config) yields.
        let spec = spec();
        let bare = json!({"migration_type": "copy", "source_namespace_id": "ns"});
        let cases: Vec<(&str, Value)> = vec![
            (
                "BatchOptions",
                serde_json::to_value(BatchOptions::default()).unwrap(),
            ),
            (
                "TaxonomyOptions",
                serde_json::to_value(TaxonomyOptions::default()).unwrap(),
            ),
            (
                "ClusterOptions",
                serde_json::to_value(ClusterOptions::default()).unwrap(),
            ),
            (
                "RetrieverOptions",
                serde_json::to_value(RetrieverOptions::default()).unwrap(),
            ),
            (
                "ResourceFilter",
                serde_json::to_value(ResourceFilter::default()).unwrap(),
            ),
            (
                "ListMigrationsRequest",
                serde_json::to_value(ListMigrationsRequest::default()).unwrap(),
            ),
            (
                "StartMigrationRequest",
                serde_json::to_value(StartMigrationRequest::default()).unwrap(),
            ),
            (
                "MigrationConfig",
                serde_json::to_value(
                    serde_json::from_value::<MigrationConfig>(bare.clone()).unwrap(),
                )
                .unwrap(),
            ),
            (
                "CreateMigrationRequest",
                serde_json::to_value(
                    serde_json::from_value::<CreateMigrationRequest>(json!({"config": bare}))
                        .unwrap(),
                )
                .unwrap(),
            ),
            (
                "StageProgress",
                serde_json::to_value(
                    serde_json::from_value::<StageProgress>(
                        json!({"stage": "finalization", "status": "pending"}),
                    )
                    .unwrap(),
                )
                .unwrap(),
            ),
            (
                "ResourceProgress",
                serde_json::to_value(
                    serde_json::from_value::<ResourceProgress>(json!({
                        "resource_id": "col_1", "resource_type": "collection", "status": "pending"
                    }))
                    .unwrap(),
                )
                .unwrap(),
            ),
            (
                "MigrationProgress",
                serde_json::to_value(
                    serde_json::from_value::<MigrationProgress>(json!({"overall_status": "draft"}))
                        .unwrap(),
                )
                .unwrap(),
            ),
            (
                "DependencyNode",
                serde_json::to_value(
                    serde_json::from_value::<DependencyNode>(
                        json!({"resource_id": "bkt_1", "resource_type": "bucket"}),
                    )
                    .unwrap(),
                )
                .unwrap(),
            ),
        ];
        for (name, value) in cases {
            for (key, property) in schema(&spec, name)["properties"].as_object().unwrap() {
                if let Some(default) = property.get("default") {
                    let mine = &value[key];
                    let same = match (mine.as_f64(), default.as_f64()) {
                        (Some(a), Some(b)) => a == b,
                        _ => mine == default,
                    };
                    assert!(same, "{name}.{key}: {mine} vs the spec's {default}");
                }
            }
        }
    }

    #[test]
    fn out_of_range_numbers_are_located() {
        let (_, errors) = parse::<CreateMigrationRequest>(json!({
            "config": {"migration_type": "copy", "source_namespace_id": "ns_x",
                       "batch_options": {"batch_size": 0, "max_workers": 51}}
        }))
        .unwrap();
        assert_eq!(
            locs(&errors),
            vec![
                (
                    loc(&["config", "batch_options", "batch_size"]),
                    "greater_than_equal"
                ),
                (
                    loc(&["config", "batch_options", "max_workers"]),
                    "less_than_equal"
                ),
            ]
        );
        let (_, errors) = parse::<ValidateMigrationRequest>(json!({
            "config": {"migration_type": "copy", "source_namespace_id": "ns_x",
                       "batch_options": {"batch_size": 1001, "max_workers": 0}}
        }))
        .unwrap();
        assert_eq!(
            locs(&errors),
            vec![
                (
                    loc(&["config", "batch_options", "batch_size"]),
                    "less_than_equal"
                ),
                (
                    loc(&["config", "batch_options", "max_workers"]),
                    "greater_than_equal"
                ),
            ]
        );
        let (_, errors) =
            parse::<CreateMigrationRequest>(json!({"config": {"migration_type": "copy",
                "source_namespace_id": "ns_x",
                "batch_options": {"batch_size": 1000, "max_workers": 50}}}))
            .unwrap();
        assert!(errors.is_empty(), "the bounds are inclusive");

        let (_, errors) =
            parse::<ListMigrationsRequest>(json!({"limit": 0, "offset": -1})).unwrap();
        assert_eq!(
            locs(&errors),
            vec![
                (loc(&["limit"]), "greater_than_equal"),
                (loc(&["offset"]), "greater_than_equal"),
            ]
        );
        let (_, errors) = parse::<ListMigrationsRequest>(json!({"limit": 1001})).unwrap();
        assert_eq!(locs(&errors), vec![(loc(&["limit"]), "less_than_equal")]);
        let (_, errors) =
            parse::<ListMigrationsRequest>(json!({"limit": 1000, "offset": 0})).unwrap();
        assert!(errors.is_empty());
    }

    #[test]
    fn unknown_keys_wrong_types_and_unknown_enum_values_are_refused() {
        let refused = |body: Value| parse::<CreateMigrationRequest>(body).unwrap_err();
        let base = || json!({"migration_type": "copy", "source_namespace_id": "ns_x"});
        let e = refused(json!({"config": base(), "start_now": true}));
        assert!(e.contains("unknown field `start_now`"), "{e}");
        let mut config = base();
        config["colour"] = json!("red");
        let e = refused(json!({"config": config}));
        assert!(
            e.starts_with("config.colour: unknown field `colour`"),
            "{e}"
        );
        for (option, key) in [
            ("batch_options", "batch"),
            ("filters", "collections"),
            ("taxonomy_options", "x"),
            ("cluster_options", "x"),
            ("retriever_options", "x"),
        ] {
            let mut config = base();
            config[option] = json!({key: 1});
            let e = refused(json!({"config": config}));
            assert!(
                e.starts_with(&format!("config.{option}.{key}: unknown field `{key}`")),
                "{e}"
            );
        }
        let mut config = base();
        config["feature_extractors"] = json!([{"feature_extractor_name": "x", "params": {}}]);
        assert!(refused(json!({"config": config})).contains("unknown field `params`"));
        let mut config = base();
        config["migration_type"] = json!("merge");
        assert!(refused(json!({"config": config})).contains("unknown variant `merge`"));
        let mut config = base();
        config["batch_options"] = json!({"batch_size": null});
        assert!(refused(json!({"config": config})).contains("invalid type: null"));
        assert!(refused(json!({})).contains("missing field `config`"));
        assert!(refused(json!({"config": {"migration_type": "copy"}}))
            .contains("missing field `source_namespace_id`"));
        assert!(parse::<ListMigrationsRequest>(json!({"page": 2})).is_err());
        assert!(parse::<ListMigrationsRequest>(json!({"status": "running"})).is_err());
        assert!(parse::<StartMigrationRequest>(json!({"force": true, "now": 1})).is_err());
        assert!(parse::<CancelMigrationRequest>(json!({"why": "x"})).is_err());
        assert!(parse::<ValidateMigrationRequest>(json!({"config": base(), "x": 1})).is_err());
        // `null` is accepted where the spec allows it.
        let (list, errors) = parse::<ListMigrationsRequest>(
            json!({"status": null, "migration_type": null, "source_namespace_id": null}),
        )
        .unwrap();
        assert!(errors.is_empty() && list.status.is_none());
    }

    #[test]
    fn webhook_url_must_be_http_or_https() {
        let check = |url: &str| {
            let (_, errors) = parse::<CreateMigrationRequest>(json!({"config": {
                "migration_type": "copy", "source_namespace_id": "ns_x", "webhook_url": url}}))
            .unwrap();
            locs(&errors)
        };
        let refused = vec![(loc(&["config", "webhook_url"]), "value_error")];
        for url in [
            "ftp://example.com/hook",
            "example.com/hook",
            "https://",
            "http:///x",
            "mailto:a@b.c",
            "https://exa mple.com",
        ] {
            assert_eq!(check(url), refused, "{url}");
        }
        for url in [
            "http://127.0.0.1:8080/hook",
            "https://hooks.example.com/a?b=c",
            "HTTPS://user@example.com",
        ] {
            assert!(check(url).is_empty(), "{url}");
        }
    }

    #[test]
    fn date_range_takes_after_and_before_as_datetimes() {
        let check = |range: Value| {
            let (req, errors) = parse::<CreateMigrationRequest>(json!({"config": {
                "migration_type": "copy", "source_namespace_id": "ns_x",
                "filters": {"date_range": range}}}))
            .unwrap();
            (req.config.filters.unwrap(), locs(&errors))
        };
        let (filter, errors) =
            check(json!({"after": "2025-01-01T00:00:00Z", "before": "2025-02-01"}));
        assert!(errors.is_empty());
        assert_eq!(
            filter.date_bounds(),
            (
                Some(Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, 0).unwrap()),
                Some(Utc.with_ymd_and_hms(2025, 2, 1, 0, 0, 0).unwrap())
            )
        );
        let (filter, errors) = check(json!({"after": "2025-01-01T10:00:00"}));
        assert!(errors.is_empty());
        assert_eq!(
            filter.date_bounds(),
            (
                Some(Utc.with_ymd_and_hms(2025, 1, 1, 10, 0, 0).unwrap()),
                None
            )
        );
        let (_, errors) = check(json!({"after": "last tuesday", "until": "2025-01-01"}));
        assert_eq!(
            errors,
            vec![
                (
                    loc(&["config", "filters", "date_range", "after"]),
                    "datetime_from_date_parsing"
                ),
                (
                    loc(&["config", "filters", "date_range", "until"]),
                    "extra_forbidden"
                ),
            ]
        );
        let (_, errors) = check(json!({"after": "2025-02-01", "before": "2025-01-01"}));
        assert_eq!(
            errors,
            vec![(loc(&["config", "filters", "date_range"]), "value_error")]
        );
        // The spec types the values as strings.
        assert!(parse::<ResourceFilter>(json!({"date_range": {"after": 5}})).is_err());
    }

    #[test]
    fn enumerations_round_trip_as_text() {
        fn check<T>(all: &[T])
        where
            T: Copy
                + fmt::Debug
                + PartialEq
                + Serialize
                + FromStr<Err = UnknownVariant>
                + fmt::Display,
        {
            for &x in all {
                let text = x.to_string();
                assert_eq!(json!(x), json!(text));
                assert_eq!(text.parse::<T>().unwrap(), x);
            }
            assert!("nope".parse::<T>().is_err());
        }
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

    #[test]
    fn responses_write_null_for_absent_values() {
        let value = serde_json::to_value(minimal_get()).unwrap();
        for key in [
            "validation_result",
            "dependency_graph",
            "task_id",
            "started_at",
            "completed_at",
            "error_message",
        ] {
            assert_eq!(value[key], Value::Null, "{key}");
        }
        assert_eq!(value["additional_data"], json!({}));
        assert_eq!(value["created_at"], json!("2025-12-03T10:00:00Z"));
        let stages = value["progress"]["stages"].as_array().unwrap();
        let names: Vec<&str> = stages
            .iter()
            .map(|s| s["stage"].as_str().unwrap())
            .collect();
        assert_eq!(
            names,
            MigrationStage::ALL.map(MigrationStage::as_str).to_vec(),
            "all seven stages, in order"
        );
        assert!(stages
            .iter()
            .all(|s| s["status"] == "pending" && s["started_at"].is_null()));
        // Responses read back as they were written.
        let full = full_get();
        let back: GetMigrationResponse =
            serde_json::from_value(serde_json::to_value(&full).unwrap()).unwrap();
        assert_eq!(back, full);
    }

    #[test]
    fn validation_results_split_issues_by_severity() {
        let result = full_validation_result();
        assert!(!result.valid);
        assert_eq!(result.errors.len(), 1);
        assert_eq!(result.warnings.len(), 1);
        let error = serde_json::to_value(&result.errors[0]).unwrap();
        assert_eq!(
            error,
            json!({
                "loc": ["config", "filters", "collection_ids", 0],
                "msg": "collection col_2 is not selected",
                "type": "missing_dependency",
                "error_code": "missing_dependency",
                "message": "collection col_2 is not selected",
                "resource_id": "col_2",
                "resource_type": "collection",
                "severity": "error"
            })
        );
        assert_eq!(
            serde_json::to_value(&result).unwrap()["estimated_resources"],
            json!({"bucket": 1, "collection": 2})
        );
        assert!(ValidationResult::from_issues([ValidationIssue::warning("w", "w")]).valid);
        let field = FieldError {
            loc: vec!["config".into(), "webhook_url".into()],
            msg: "bad".into(),
            kind: "value_error",
        };
        let issue = ValidationIssue::from(&field);
        assert_eq!(issue.loc, vec![json!("config"), json!("webhook_url")]);
        assert_eq!(
            (issue.error_type.as_str(), issue.msg.as_str()),
            ("value_error", "bad")
        );
    }

    #[test]
    fn openapi_schemas_state_the_spec_contract() {
        use utoipa::openapi::{ComponentsBuilder, OpenApiBuilder};
        use utoipa::ToSchema;

        let mut schemas = Vec::new();
        ListMigrationsResponse::schemas(&mut schemas);
        CreateMigrationRequest::schemas(&mut schemas);
        ListMigrationsRequest::schemas(&mut schemas);
        CreateMigrationResponse::schemas(&mut schemas);
        ValidateMigrationResponse::schemas(&mut schemas);
        let mut components = ComponentsBuilder::new();
        for (name, schema) in schemas {
            components = components.schema(name, schema);
        }
        macro_rules! top {
            ($($t:ty),*) => { $( components = components.schema(<$t>::name(), <$t as utoipa::PartialSchema>::schema()); )* };
        }
        top!(
            CreateMigrationRequest,
            ValidateMigrationRequest,
            ListMigrationsRequest,
            StartMigrationRequest,
            CancelMigrationRequest,
            GetMigrationResponse,
            ListMigrationsResponse,
            CreateMigrationResponse,
            ValidateMigrationResponse,
            StartMigrationResponse,
            CancelMigrationResponse
        );
        let doc = OpenApiBuilder::new()
            .components(Some(components.build()))
            .build();
        let doc = serde_json::to_value(&doc).unwrap();
        let mine = doc["components"]["schemas"].as_object().unwrap();
        let spec = spec();
        for (name, theirs) in spec["components"]["schemas"].as_object().unwrap() {
            if matches!(
                name.as_str(),
                "ErrorDetail" | "ErrorResponse" | "HTTPValidationError"
            ) {
                continue;
            }
            let ours = mine.get(name).unwrap_or_else(|| panic!("{name} missing"));
            if let Some(values) = theirs.get("enum") {
                assert_eq!(ours.get("enum"), Some(values), "{name}");
                continue;
            }
            let keys = |s: &Value| -> BTreeSet<String> {
                s["properties"]
                    .as_object()
                    .unwrap()
                    .keys()
                    .cloned()
                    .collect()
            };
            let required = |s: &Value| -> BTreeSet<String> {
                s.get("required")
                    .and_then(Value::as_array)
                    .map(|r| r.iter().map(|k| k.as_str().unwrap().to_owned()).collect())
                    .unwrap_or_default()
            };
            if name == "ValidationError" {
                // Both shapes (see `ValidationIssue`): the spec's keys, all still required.
                assert!(keys(theirs).is_subset(&keys(ours)), "{name}");
                assert!(required(theirs).is_subset(&required(ours)), "{name}");
            } else {
                assert_eq!(keys(ours), keys(theirs), "{name}");
                assert_eq!(required(ours), required(theirs), "{name}");
            }
            for (key, property) in theirs["properties"].as_object().unwrap() {
                for attr in ["default", "minimum", "maximum"] {
                    let same = match (property.get(attr), ours["properties"][key].get(attr)) {
                        (Some(a), Some(b)) => a.as_f64().map_or(a == b, |a| Some(a) == b.as_f64()),
                        (a, b) => a == b,
                    };
                    assert!(same, "{name}.{key}: {attr} differs from the spec");
                }
            }
        }
    }
}
