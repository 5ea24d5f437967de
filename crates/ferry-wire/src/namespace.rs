//! Namespaces: `/v1/namespaces…`, shaped as the SDK's `NamespaceModel`, `CreateNamespaceRequest`,
//! `PatchNamespaceRequest`, `UpdateNamespaceRequest`, `ListNamespacesRequest` and
//! `ListNamespacesResponse`.
//!
//! Requests declare every key the SDK's request model declares, so an SDK user never meets
//! `extra_forbidden`. Keys Ferry has no use for (billing, infrastructure, identity providers …)
//! are accepted and ignored; they are typed `serde_json::Value` and marked so below.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::{IntoParams, ToSchema};

use crate::extractor::feature_extractor_id;
use crate::paging::validate_paging;
pub use crate::paging::PaginationResponse;
use crate::validate::{Errors, Validate};

/// Longest namespace name the SDK's `NamespaceModel` accepts.
pub const NAMESPACE_NAME_MAX: usize = 64;
/// Shortest name `CreateNamespaceRequest` accepts.
pub const NAMESPACE_NAME_MIN: usize = 3;

/// Type of namespace defining its access control and billing model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema, Default)]
#[serde(rename_all = "lowercase")]
pub enum NamespaceType {
    #[default]
    Standard,
    Marketplace,
}

/// Ownership scope for a namespace. Ferry serves organization-scoped namespaces only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema, Default)]
#[serde(rename_all = "lowercase")]
pub enum NamespaceScope {
    #[default]
    Org,
    System,
}

/// Namespace mode: `managed` (extractors) or `standalone` (bring-your-own vectors).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema, Default)]
#[serde(rename_all = "lowercase")]
pub enum NamespaceMode {
    #[default]
    Managed,
    Standalone,
}

/// A feature extractor a namespace is configured for (`BaseFeatureExtractorModelInput`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FeatureExtractorRef {
    pub feature_extractor_name: String,
    pub version: String,
    pub params: Option<Map<String, Value>>,
}

/// `BaseFeatureExtractorModelOutput`: the reference plus its `name_version` id.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct FeatureExtractorOut {
    pub feature_extractor_name: String,
    pub version: String,
    pub params: Option<Map<String, Value>>,
    /// Unique identifier for the feature extractor instance (name + version).
    pub feature_extractor_id: String,
}

impl From<FeatureExtractorRef> for FeatureExtractorOut {
    fn from(r: FeatureExtractorRef) -> Self {
        FeatureExtractorOut {
            feature_extractor_id: feature_extractor_id(&r.feature_extractor_name, &r.version),
            feature_extractor_name: r.feature_extractor_name,
            version: r.version,
            params: r.params,
        }
    }
}

/// Data type of an indexed payload field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum PayloadSchemaType {
    Keyword,
    Integer,
    Float,
    Bool,
    Geo,
    Datetime,
    Text,
    Uuid,
}

/// `PayloadIndexConfigInput` / `PayloadIndexConfigOutput` (the two are identical).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PayloadIndexConfig {
    pub field_name: String,
    #[serde(rename = "type")]
    pub schema_type: PayloadSchemaType,
    pub field_schema: Option<Value>,
    #[serde(default)]
    pub is_protected: bool,
}

fn validate_payload_indexes(errors: &mut Errors, indexes: &Option<Vec<PayloadIndexConfig>>) {
    let Some(indexes) = indexes else { return };
    errors.at("payload_indexes", |errors| {
        for (i, index) in indexes.iter().enumerate() {
            errors.at(i, |errors| {
                errors.str_len("field_name", Some(&index.field_name), 1, 255);
                if index.is_protected {
                    errors.push(
                        "is_protected",
                        "value_error",
                        "Value error, protected indexes are system-managed and cannot be created by users",
                    );
                }
            });
        }
    });
}

fn validate_feature_extractors(errors: &mut Errors, extractors: &Option<Vec<FeatureExtractorRef>>) {
    let Some(extractors) = extractors else { return };
    errors.at("feature_extractors", |errors| {
        for (i, e) in extractors.iter().enumerate() {
            errors.at(i, |errors| {
                errors.str_len(
                    "feature_extractor_name",
                    Some(&e.feature_extractor_name),
                    1,
                    128,
                );
                errors.str_len("version", Some(&e.version), 1, 32);
            });
        }
    });
}

/// Checks a namespace name: 3–64 characters of letters, digits, `_`, `-` and `.`, starting with
/// a letter or digit. Names travel in the `X-Namespace` header and in generated migration
/// target names (`<name>_<type>_<n>`), so they are kept to header-safe characters, and `ns_` is
/// reserved because `X-Namespace` accepts ids and names alike.
pub fn validate_namespace_name(errors: &mut Errors, field: &str, name: Option<&str>) {
    let Some(name) = name else { return };
    let before = errors.items.len();
    errors.str_len(field, Some(name), NAMESPACE_NAME_MIN, NAMESPACE_NAME_MAX);
    if errors.items.len() > before {
        return;
    }
    let well_formed = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphanumeric())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
    if !well_formed {
        errors.push(
            field,
            "string_pattern_mismatch",
            "String should match pattern '^[A-Za-z0-9][A-Za-z0-9_.-]*$'",
        );
    } else if name.starts_with("ns_") {
        errors.push(
            field,
            "value_error",
            "Value error, names starting with 'ns_' are reserved for namespace ids",
        );
    }
}

/// Checks a namespace id given by a client: `ns_` and 1–64 letters, digits, `_` or `-`. The
/// prefix keeps ids and names apart (names may not start with `ns_`), so an id can never
/// shadow a name in `X-Namespace` or a path.
pub fn validate_namespace_id(errors: &mut Errors, field: &str, id: Option<&str>) {
    let Some(id) = id else { return };
    let ok = id.strip_prefix("ns_").is_some_and(|rest| {
        !rest.is_empty()
            && rest.len() <= 64
            && rest
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    });
    if !ok {
        errors.push(
            field,
            "string_pattern_mismatch",
            "String should match pattern '^ns_[A-Za-z0-9_-]{1,64}$'",
        );
    }
}

/// Request schema for creating a new namespace.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateNamespaceRequest {
    /// Optional namespace ID override (`ns_…`); generated when absent.
    pub namespace_id: Option<String>,
    /// Name of the namespace to create
    pub namespace_name: String,
    pub mode: Option<NamespaceMode>,
    pub namespace_type: Option<NamespaceType>,
    pub scope: Option<NamespaceScope>,
    pub description: Option<String>,
    /// Accepted and ignored: Ferry configures extractors by name (`feature_extractors`).
    pub features: Option<Vec<String>>,
    pub feature_extractors: Option<Vec<FeatureExtractorRef>>,
    /// Accepted and ignored.
    #[schema(value_type = Option<Vec<Object>>)]
    pub vector_configs: Option<Vec<Value>>,
    pub payload_indexes: Option<Vec<PayloadIndexConfig>>,
    pub auto_create_indexes: Option<bool>,
    pub adaptive_indexing: Option<bool>,
    /// Accepted and ignored.
    pub ttl_seconds: Option<i64>,
    /// Accepted and ignored.
    #[schema(value_type = Option<Object>)]
    pub infrastructure: Option<Value>,
    /// Accepted and ignored.
    #[schema(value_type = Option<Vec<Object>>)]
    pub trusted_issuers: Option<Vec<Value>>,
    /// Accepted and ignored.
    #[schema(value_type = Option<Object>)]
    pub tiering: Option<Value>,
    /// Accepted and ignored.
    #[schema(value_type = Option<Object>)]
    pub spend_budget: Option<Value>,
    /// Accepted and ignored.
    #[schema(value_type = Option<Object>)]
    pub cost_cap_override: Option<Value>,
}

impl Validate for CreateNamespaceRequest {
    fn validate(&self, errors: &mut Errors) {
        validate_namespace_name(errors, "namespace_name", Some(&self.namespace_name));
        validate_namespace_id(errors, "namespace_id", self.namespace_id.as_deref());
        if self.scope == Some(NamespaceScope::System) {
            errors.push(
                "scope",
                "value_error",
                "Value error, system namespaces cannot be created through the API",
            );
        }
        errors.int_range("ttl_seconds", self.ttl_seconds, Some(60), None);
        errors.list_len(
            "trusted_issuers",
            self.trusted_issuers.as_ref().map(Vec::len),
            5,
        );
        validate_feature_extractors(errors, &self.feature_extractors);
        validate_payload_indexes(errors, &self.payload_indexes);
    }
}

/// Request schema for partially updating a namespace (PATCH).
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatchNamespaceRequest {
    pub namespace_name: Option<String>,
    pub description: Option<String>,
    /// Extractors to add; existing ones are kept.
    pub feature_extractors: Option<Vec<FeatureExtractorRef>>,
    /// Replaces the namespace's payload indexes.
    pub payload_indexes: Option<Vec<PayloadIndexConfig>>,
    pub auto_create_indexes: Option<bool>,
    pub adaptive_indexing: Option<bool>,
    /// Accepted and ignored: Ferry's vector indexes are derived from documents, never stale.
    pub repair_vectors: Option<bool>,
    /// Accepted and ignored.
    #[schema(value_type = Option<Object>)]
    pub infrastructure: Option<Value>,
    /// Accepted and ignored.
    #[schema(value_type = Option<Vec<Object>>)]
    pub trusted_issuers: Option<Vec<Value>>,
    /// Accepted and ignored.
    #[schema(value_type = Option<Object>)]
    pub spend_budget: Option<Value>,
    /// Accepted and ignored.
    #[schema(value_type = Option<Object>)]
    pub pinned: Option<Value>,
    /// Accepted and ignored.
    #[schema(value_type = Option<Object>)]
    pub tiering: Option<Value>,
    /// Accepted and ignored.
    pub expires_at: Option<DateTime<Utc>>,
    /// Accepted and ignored.
    pub ttl_seconds: Option<i64>,
    /// Accepted and ignored.
    #[schema(value_type = Option<Object>)]
    pub cost_cap_override: Option<Value>,
}

impl Validate for PatchNamespaceRequest {
    fn validate(&self, errors: &mut Errors) {
        validate_namespace_name(errors, "namespace_name", self.namespace_name.as_deref());
        errors.int_range("ttl_seconds", self.ttl_seconds, Some(60), None);
        errors.list_len(
            "trusted_issuers",
            self.trusted_issuers.as_ref().map(Vec::len),
            5,
        );
        validate_feature_extractors(errors, &self.feature_extractors);
        validate_payload_indexes(errors, &self.payload_indexes);
    }
}

/// Request schema for `PUT /v1/namespaces/{id}`: name and payload indexes.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateNamespaceRequest {
    pub namespace_name: Option<String>,
    pub payload_indexes: Option<Vec<PayloadIndexConfig>>,
}

impl Validate for UpdateNamespaceRequest {
    fn validate(&self, errors: &mut Errors) {
        validate_namespace_name(errors, "namespace_name", self.namespace_name.as_deref());
        validate_payload_indexes(errors, &self.payload_indexes);
    }
}

/// Sort direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema, Default)]
#[serde(rename_all = "lowercase")]
pub enum SortDirection {
    Asc,
    #[default]
    Desc,
}

/// Fields a namespace list can be sorted by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum NamespaceSortField {
    CreatedAt,
    UpdatedAt,
    NamespaceName,
    NamespaceId,
}

/// One sort criterion: `{field, direction}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NamespaceSort {
    pub field: NamespaceSortField,
    #[serde(default)]
    pub direction: SortDirection,
}

/// Exact-match filters on a namespace list.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NamespaceFilters {
    pub namespace_id: Option<String>,
    pub namespace_name: Option<String>,
}

/// Request schema for listing namespaces. Body paging wins over query paging.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ListNamespacesRequest {
    pub limit: Option<i64>,
    pub page_size: Option<i64>,
    pub offset: Option<i64>,
    pub page: Option<i64>,
    pub filters: Option<NamespaceFilters>,
    pub sort: Option<NamespaceSort>,
    /// Takes precedence over `sort`; the first entry is the primary sort.
    pub sorts: Option<Vec<NamespaceSort>>,
    /// Case-insensitive (unless `case_sensitive`) substring search over id, name and description.
    pub search: Option<String>,
    #[serde(default)]
    pub case_sensitive: bool,
}

/// Query parameters of the namespace lists beyond paging ([`crate::paging::PageQuery`]).
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
pub struct NamespaceListView {
    /// Ferry has no system namespaces; accepted and ignored.
    pub include_system: Option<bool>,
    /// `full` (default) or `summary` (omits `feature_extractors` and `payload_indexes`).
    pub view: Option<ListView>,
}

impl Validate for NamespaceListView {
    fn validate(&self, _errors: &mut Errors) {}
}

/// Response detail level of a list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema, Default)]
#[serde(rename_all = "lowercase")]
pub enum ListView {
    #[default]
    Full,
    Summary,
}

impl Validate for ListNamespacesRequest {
    fn validate(&self, errors: &mut Errors) {
        validate_paging(errors, self.limit, self.page_size, self.offset, self.page);
    }
}

/// Namespace model.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct NamespaceModel {
    /// Always `namespace`.
    pub object: String,
    pub namespace_id: String,
    pub namespace_name: String,
    pub namespace_type: NamespaceType,
    pub scope: NamespaceScope,
    pub description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub feature_extractors: Option<Vec<FeatureExtractorOut>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payload_indexes: Option<Vec<PayloadIndexConfig>>,
    pub payload_index_count: i64,
    pub document_count: i64,
    pub document_count_complete: bool,
    pub bucket_count: i64,
    pub collection_count: i64,
    pub object_count: i64,
    pub auto_create_indexes: bool,
    pub adaptive_indexing: bool,
    pub mode: NamespaceMode,
    pub namespace_ready: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// Aggregate statistics over the namespaces of a list response.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
pub struct NamespaceListStats {
    pub total_feature_extractors: i64,
    pub total_payload_indexes: i64,
    pub total_documents: i64,
    pub total_documents_complete: bool,
    pub total_buckets: i64,
    pub total_collections: i64,
    pub total_objects: i64,
    pub avg_feature_extractors_per_namespace: f64,
    pub avg_payload_indexes_per_namespace: f64,
    pub avg_documents_per_namespace: f64,
    pub avg_buckets_per_namespace: f64,
    pub avg_collections_per_namespace: f64,
    pub avg_objects_per_namespace: f64,
}

/// Response schema for listing namespaces.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ListNamespacesResponse {
    pub results: Vec<NamespaceModel>,
    pub pagination: PaginationResponse,
    /// Total number of namespaces that match the query.
    pub total_count: i64,
    pub stats: NamespaceListStats,
}

/// Body of a successful `DELETE /v1/namespaces/{id}`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct DeleteNamespaceResponse {
    pub success: bool,
    pub message: String,
    pub namespace_id: String,
    pub namespace_name: String,
}
