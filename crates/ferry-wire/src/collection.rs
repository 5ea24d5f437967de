//! Collections: `/v1/collections…` (create, get, list, patch, delete, trigger), shaped as the
//! SDK's `CreateCollectionRequest`, `CollectionResponse`, `ListCollectionsRequest`,
//! `ListCollectionsResponse`, `TriggerCollectionRequest` and `TriggerCollectionResponse`, with
//! the configuration they nest: `SourceConfig`, the collection's `FeatureExtractorConfig`,
//! `FieldPassthrough`, `InputMapping`, `TaxonomyApplicationConfig` and
//! `ClusterApplicationConfig`.
//!
//! Requests declare every key the SDK's request model declares. Keys for features Ferry does
//! not have (schedules, alerts, retriever enrichments and transforms, embedding task hints,
//! stored-text re-embedding) are accepted and ignored, typed `serde_json::Value` and marked so.
//! Nested configs the SDK leaves open (`additional_properties`) are closed here: a misspelt key
//! in an extractor config (`input_mapping`) would otherwise be dropped without a word.

use std::collections::BTreeMap;
use std::fmt;

use chrono::{DateTime, Utc};
use serde::de::{self, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};
use utoipa::{IntoParams, ToSchema};

use crate::filter::{LogicalOperator, SortOption};
use crate::namespace::PaginationResponse;
use crate::paging::validate_paging;
use crate::schema::BucketSchema;
use crate::validate::{Errors, Validate};

/// Shortest collection name `CollectionResponse` accepts.
pub const COLLECTION_NAME_MIN: usize = 3;
/// Longest collection name `CollectionResponse` accepts.
pub const COLLECTION_NAME_MAX: usize = 100;

/// Checks a collection name. The SDK's response model holds names to 3–100 characters, so a
/// shorter or longer one is refused on the way in rather than breaking every later read; `col_`
/// is reserved because `{collection_identifier}` takes ids and names alike.
pub fn validate_collection_name(errors: &mut Errors, field: &str, name: Option<&str>) {
    let Some(name) = name else { return };
    let before = errors.items.len();
    errors.str_len(field, Some(name), COLLECTION_NAME_MIN, COLLECTION_NAME_MAX);
    if errors.items.len() == before && name.starts_with("col_") {
        errors.push(
            field,
            "value_error",
            "Value error, names starting with 'col_' are reserved for collection ids",
        );
    }
}

/// Pydantic's `min_length` check on a list.
fn list_not_empty(errors: &mut Errors, field: &str, list: &Option<Vec<String>>) {
    if list.as_ref().is_some_and(Vec::is_empty) {
        errors.push(
            field,
            "too_short",
            "List should have at least 1 item after validation, not 0",
        );
    }
}

fn validate_phase_and_priority(errors: &mut Errors, execution_phase: i64, priority: i64) {
    errors.int_range("execution_phase", Some(execution_phase), Some(1), Some(3));
    errors.int_range("priority", Some(priority), Some(0), Some(1000));
}

/// Where a collection's input comes from. Ferry builds collections from buckets and from other
/// collections; the other kinds appear on collections Mixpeek itself creates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SourceType {
    Bucket,
    Collection,
    Taxonomy,
    Cluster,
    DirectUpsert,
    Signals,
    None,
}

impl SourceType {
    pub fn as_str(self) -> &'static str {
        match self {
            SourceType::Bucket => "bucket",
            SourceType::Collection => "collection",
            SourceType::Taxonomy => "taxonomy",
            SourceType::Cluster => "cluster",
            SourceType::DirectUpsert => "direct_upsert",
            SourceType::Signals => "signals",
            SourceType::None => "none",
        }
    }
}

/// Filters applied to source objects or documents when a batch is created.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SourceFilters {
    pub filters: Option<LogicalOperator>,
}

/// A source field copied into output documents.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FieldPassthrough {
    /// Path of the source field; dot notation reaches nested fields.
    pub source_path: String,
    /// Output field name; the last segment of `source_path` when absent.
    #[serde(default)]
    pub target_path: Option<String>,
    /// Value used when the source field is missing.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub default: Option<Value>,
    /// A missing source field fails processing instead of being omitted.
    #[serde(default)]
    pub required: bool,
}

impl FieldPassthrough {
    /// The output field name.
    pub fn target(&self) -> &str {
        self.target_path.as_deref().unwrap_or_else(|| {
            self.source_path
                .rsplit('.')
                .next()
                .unwrap_or(&self.source_path)
        })
    }
}

/// Configuration of a collection's source (the SDK's `SourceConfigInput` and
/// `SourceConfigOutput`, which are the same shape). Unset keys are left out of responses.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SourceConfig {
    #[serde(rename = "type")]
    pub source_type: SourceType,
    /// Buckets to process when `type` is `bucket`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bucket_ids: Option<Vec<String>>,
    /// Namespace holding the source buckets, when not the collection's own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_namespace_id: Option<String>,
    /// The upstream collection when `type` is `collection` (or use `collection_ids`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub collection_id: Option<String>,
    /// Upstream collections when `type` is `collection` (or use `collection_id`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub collection_ids: Option<Vec<String>>,
    /// Buckets the upstream collections originate from; computed at creation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inherited_bucket_ids: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_filters: Option<SourceFilters>,
    /// Per-source field selection for multi-source collections: source id → fields. Never
    /// written as null: the SDK's `SourceConfig.from_dict` iterates it whenever the key is there.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field_map: Option<BTreeMap<String, Vec<FieldPassthrough>>>,
}

impl Validate for SourceConfig {
    fn validate(&self, errors: &mut Errors) {
        list_not_empty(errors, "bucket_ids", &self.bucket_ids);
        list_not_empty(errors, "collection_ids", &self.collection_ids);
        match self.source_type {
            SourceType::Bucket => {
                if self.bucket_ids.is_none() {
                    errors.push("bucket_ids", "missing", "Field required");
                }
                for (key, set) in [
                    ("collection_id", self.collection_id.is_some()),
                    ("collection_ids", self.collection_ids.is_some()),
                ] {
                    if set {
                        errors.push(
                            key,
                            "value_error",
                            format!("Value error, {key} is not allowed when type is 'bucket'"),
                        );
                    }
                }
            }
            SourceType::Collection => {
                match (&self.collection_id, &self.collection_ids) {
                    (None, None) => errors.push("collection_id", "missing", "Field required"),
                    (Some(_), Some(_)) => errors.push(
                        "collection_ids",
                        "value_error",
                        "Value error, give collection_id or collection_ids, not both",
                    ),
                    _ => {}
                }
                for (key, set) in [
                    ("bucket_ids", self.bucket_ids.is_some()),
                    ("source_namespace_id", self.source_namespace_id.is_some()),
                ] {
                    if set {
                        errors.push(
                            key,
                            "value_error",
                            format!("Value error, {key} is not allowed when type is 'collection'"),
                        );
                    }
                }
            }
            other => errors.push(
                "type",
                "value_error",
                format!(
                    "Value error, collections are built from 'bucket' or 'collection' sources, not '{}'",
                    other.as_str()
                ),
            ),
        }
        if let Some(filters) = self
            .source_filters
            .as_ref()
            .and_then(|f| f.filters.as_ref())
        {
            errors.at("source_filters", |errors| {
                errors.at("filters", |errors| filters.validate(errors))
            });
        }
    }
}

/// Where an input mapping's value comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum InputSourceType {
    Payload,
    Literal,
    Vector,
    Blob,
}

/// One entry of the list form of `input_mappings`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InputMapping {
    /// Extractor input the value feeds.
    pub input_key: String,
    #[serde(default)]
    pub source_type: Option<InputSourceType>,
    /// Dot-notation path for `payload` and `vector` sources.
    #[serde(default)]
    pub path: Option<String>,
    /// The value itself, for `literal` sources.
    #[serde(default, rename = "override")]
    #[schema(value_type = Option<Object>)]
    pub override_value: Option<Value>,
}

/// How source fields feed the extractor's inputs: an object (`{"text": "content"}`, extractor
/// input → source field) or a list of `InputMapping`s.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(untagged)]
pub enum InputMappings {
    #[schema(value_type = Object)]
    Fields(Map<String, Value>),
    List(Vec<InputMapping>),
}

impl<'de> Deserialize<'de> for InputMappings {
    /// Chooses the form by the JSON type and reads it in place, so an error inside a list entry
    /// keeps its location (an untagged derive would only say that no form matched).
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct FormVisitor;
        impl<'de> Visitor<'de> for FormVisitor {
            type Value = InputMappings;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an object or a list of input mappings")
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<InputMappings, A::Error> {
                Map::deserialize(de::value::MapAccessDeserializer::new(map))
                    .map(InputMappings::Fields)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<InputMappings, A::Error> {
                Vec::deserialize(de::value::SeqAccessDeserializer::new(seq))
                    .map(InputMappings::List)
            }
        }
        deserializer.deserialize_any(FormVisitor)
    }
}

/// The feature extractor a collection runs, as a request names it.
#[derive(Debug, Clone, PartialEq, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FeatureExtractorConfigInput {
    pub feature_extractor_name: String,
    /// Version of the feature extractor (e.g. `v1`, `v2`).
    pub version: String,
    /// Parameters fixed at namespace level that shape the vector index (e.g. a model name).
    #[serde(default)]
    pub params: Option<Map<String, Value>>,
    /// Extractor parameters for this collection.
    #[serde(default)]
    pub parameters: Option<Map<String, Value>>,
    #[serde(default)]
    pub input_mappings: Option<InputMappings>,
    /// Source fields copied into output documents beside the extractor's outputs.
    #[serde(default)]
    pub field_passthrough: Option<Vec<FieldPassthrough>>,
    /// Copy every source field, not only `field_passthrough`.
    #[serde(default)]
    pub include_all_source_fields: bool,
}

/// The feature extractor a collection runs, as responses show it: the request's config plus
/// its `feature_extractor_id` (`{name}_{version}`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct FeatureExtractorConfigOutput {
    pub feature_extractor_name: String,
    pub version: String,
    pub params: Option<Map<String, Value>>,
    pub parameters: Option<Map<String, Value>>,
    pub input_mappings: Option<InputMappings>,
    pub field_passthrough: Option<Vec<FieldPassthrough>>,
    pub include_all_source_fields: bool,
    pub feature_extractor_id: String,
}

impl From<FeatureExtractorConfigInput> for FeatureExtractorConfigOutput {
    fn from(c: FeatureExtractorConfigInput) -> Self {
        FeatureExtractorConfigOutput {
            feature_extractor_id: format!("{}_{}", c.feature_extractor_name, c.version),
            feature_extractor_name: c.feature_extractor_name,
            version: c.version,
            params: c.params,
            parameters: c.parameters,
            input_mappings: c.input_mappings,
            field_passthrough: c.field_passthrough,
            include_all_source_fields: c.include_all_source_fields,
        }
    }
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

fn yes() -> bool {
    true
}

/// A taxonomy that enriches this collection's documents.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TaxonomyApplicationConfig {
    pub taxonomy_id: String,
    #[serde(default)]
    pub execution_mode: Option<TaxonomyExecutionMode>,
    /// Collection to write results into; the source collection itself when absent.
    #[serde(default)]
    pub target_collection_id: Option<String>,
    /// Filters on the documents to enrich.
    #[serde(default)]
    pub scroll_filters: Option<LogicalOperator>,
    /// Phase this taxonomy runs in: 1 taxonomy, 2 cluster, 3 alert.
    #[serde(default = "phase_taxonomy")]
    pub execution_phase: i64,
    /// Priority within the phase (higher runs first).
    #[serde(default)]
    pub priority: i64,
    #[serde(default)]
    pub hierarchical_enrichment_style: Option<HierarchicalEnrichmentStyle>,
}

impl Validate for TaxonomyApplicationConfig {
    fn validate(&self, errors: &mut Errors) {
        validate_phase_and_priority(errors, self.execution_phase, self.priority);
        if let Some(filters) = &self.scroll_filters {
            errors.at("scroll_filters", |errors| filters.validate(errors));
        }
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
    #[serde(default)]
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

fn validate_each<T: Validate>(errors: &mut Errors, key: &str, items: &Option<Vec<T>>) {
    let Some(items) = items else { return };
    errors.at(key, |errors| {
        for (i, item) in items.iter().enumerate() {
            errors.at(i, |errors| item.validate(errors));
        }
    });
}

/// Request model for creating a new collection.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateCollectionRequest {
    /// Name of the collection to create; unique in the namespace.
    pub collection_name: String,
    pub description: Option<String>,
    pub source: SourceConfig,
    /// Fields the source offers; inferred from the source bucket or collection when absent.
    pub input_schema: Option<BucketSchema>,
    /// The extractor this collection runs. Optional in the SDK (which also offers `features`
    /// and `retriever_transform`); Ferry builds collections from extractors only, so it is
    /// required here.
    pub feature_extractor: Option<FeatureExtractorConfigInput>,
    /// Accepted and ignored: Ferry selects processing by `feature_extractor`.
    pub features: Option<Vec<String>>,
    #[serde(default = "yes")]
    pub enabled: bool,
    pub metadata: Option<Map<String, Value>>,
    /// Accepted and ignored: Ferry has no scheduled re-processing; trigger the collection.
    #[schema(value_type = Option<Object>)]
    pub schedule: Option<Value>,
    pub taxonomy_applications: Option<Vec<TaxonomyApplicationConfig>>,
    pub cluster_applications: Option<Vec<ClusterApplicationConfig>>,
    /// Accepted and ignored.
    #[schema(value_type = Option<Vec<Object>>)]
    pub alert_applications: Option<Vec<Value>>,
    /// Accepted and ignored.
    #[schema(value_type = Option<Vec<Object>>)]
    pub retriever_enrichments: Option<Vec<Value>>,
    /// Accepted and ignored.
    #[schema(value_type = Option<Object>)]
    pub retriever_transform: Option<Value>,
    /// Accepted and ignored: Ferry's extractors are not instruction-aware.
    pub embedding_task: Option<String>,
}

impl Validate for CreateCollectionRequest {
    fn validate(&self, errors: &mut Errors) {
        validate_collection_name(errors, "collection_name", Some(&self.collection_name));
        errors.at("source", |errors| self.source.validate(errors));
        if self.feature_extractor.is_none() {
            errors.push("feature_extractor", "missing", "Field required");
        }
        validate_each(errors, "taxonomy_applications", &self.taxonomy_applications);
        validate_each(errors, "cluster_applications", &self.cluster_applications);
    }
}

/// Body of `PATCH /v1/collections/{collection_identifier}`: the mutable fields.
///
/// The SDK sends this body as a free-form dict; the fields it may change are the ones the
/// endpoint documents (`collection_name`, `description`, `taxonomy_applications`, `enabled`),
/// plus `metadata` and `cluster_applications` (a cluster must name the collection as its input,
/// so it can only be attached after the collection exists). Source and extractor are fixed
/// for a collection's life; moving them is what re-extract migrations are for.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatchCollectionRequest {
    pub collection_name: Option<String>,
    pub description: Option<String>,
    /// Replaces the collection's taxonomy applications.
    pub taxonomy_applications: Option<Vec<TaxonomyApplicationConfig>>,
    /// Replaces the collection's cluster applications.
    pub cluster_applications: Option<Vec<ClusterApplicationConfig>>,
    pub enabled: Option<bool>,
    /// Replaces the collection's metadata.
    pub metadata: Option<Map<String, Value>>,
}

impl Validate for PatchCollectionRequest {
    fn validate(&self, errors: &mut Errors) {
        validate_collection_name(errors, "collection_name", self.collection_name.as_deref());
        validate_each(errors, "taxonomy_applications", &self.taxonomy_applications);
        validate_each(errors, "cluster_applications", &self.cluster_applications);
    }
}

/// Request model for listing collections. Body paging wins over query paging.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ListCollectionsRequest {
    pub limit: Option<i64>,
    /// Alias of `limit`; `limit` wins when both are given.
    pub page_size: Option<i64>,
    pub offset: Option<i64>,
    /// 1-indexed page; `offset` wins when both are given.
    pub page: Option<i64>,
    /// Filters on collection fields; dot notation reaches nested ones
    /// (`taxonomy_applications.taxonomy_id`).
    pub filters: Option<LogicalOperator>,
    pub sort: Option<SortOption>,
    /// Takes precedence over `sort`; the first entry is the primary sort.
    pub sorts: Option<Vec<SortOption>>,
    /// Substring search over collection id, name and description.
    pub search: Option<String>,
    /// Accepted and ignored: Ferry has no system collections.
    #[serde(default)]
    pub include_system: bool,
    /// Filters and search match case-sensitively.
    #[serde(default)]
    pub case_sensitive: bool,
}

impl Validate for ListCollectionsRequest {
    fn validate(&self, errors: &mut Errors) {
        validate_paging(errors, self.limit, self.page_size, self.offset, self.page);
        if let Some(filters) = &self.filters {
            errors.at("filters", |errors| filters.validate(errors));
        }
    }
}

/// Query parameters of `GET /v1/collections` beyond paging ([`crate::paging::PageQuery`]).
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
pub struct ListCollectionsQuery {
    /// Substring search over collection names.
    pub search: Option<String>,
    /// Accepted and ignored: the namespace comes from `X-Namespace`.
    pub namespace_id: Option<String>,
    /// Accepted and ignored: Ferry has no system collections.
    pub include_system: Option<bool>,
}

impl Validate for ListCollectionsQuery {
    fn validate(&self, _errors: &mut Errors) {}
}

/// Similarity metric of a vector index.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum VectorDistance {
    Cosine,
    Dot,
    Euclidean,
    Manhattan,
}

/// Whether a document holds one vector or several per index.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum VectorIndexKind {
    Single,
    Multi,
}

/// The storage side of a vector index (`CollectionVectorIndex.index`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct VectorIndexStorage {
    /// Storage name, `{extractor}_{version}_{output}` (e.g. `text_extractor_v1_embedding`);
    /// documents carry their vectors under this name.
    pub name: String,
    pub dimensions: i64,
    pub distance: VectorDistance,
    /// The embedding model behind the index.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub inference_name: Option<String>,
}

/// One vector index of a collection.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct CollectionVectorIndex {
    /// User-facing index name (the extractor's output name).
    pub name: String,
    /// `mixpeek://{extractor}@{version}/{output}`.
    pub feature_uri: String,
    #[serde(rename = "type")]
    pub kind: VectorIndexKind,
    pub index: VectorIndexStorage,
}

/// One tier of a collection's processing history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SingleLineageEntry {
    pub source_config: SourceConfig,
    pub feature_extractor: FeatureExtractorConfigOutput,
    pub output_schema: BucketSchema,
}

/// Why the platform disabled a collection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DisabledReasonCode {
    /// The collection this one is sourced from was deleted.
    SourceCollectionDeleted,
}

/// Set when the platform disabled a collection, saying why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct CollectionDisabledReason {
    pub code: DisabledReasonCode,
    pub message: String,
    pub source_collection_id: Option<String>,
    pub source_collection_name: Option<String>,
    pub disabled_at: Option<DateTime<Utc>>,
}

/// Response model for collection endpoints.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CollectionResponse {
    pub collection_id: String,
    pub collection_name: String,
    pub description: Option<String>,
    /// Fields available to the extractor: the source bucket's schema or the upstream
    /// collection's output schema.
    pub input_schema: Option<BucketSchema>,
    /// Fields of the documents: passthrough fields plus extractor outputs, known at creation.
    pub output_schema: BucketSchema,
    pub feature_extractor: FeatureExtractorConfigOutput,
    pub source: SourceConfig,
    /// Processing tiers from the root bucket to this collection, oldest first.
    pub source_lineage: Option<Vec<SingleLineageEntry>>,
    pub vector_indexes: Option<Vec<CollectionVectorIndex>>,
    pub enabled: bool,
    pub disabled_reason: Option<CollectionDisabledReason>,
    pub metadata: Option<Map<String, Value>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub document_count: i64,
    /// `document_count` × number of vector indexes.
    pub vector_count: Option<i64>,
    pub taxonomy_count: Option<i64>,
    pub retriever_count: Option<i64>,
    pub taxonomy_applications: Option<Vec<TaxonomyApplicationConfig>>,
    pub cluster_applications: Option<Vec<ClusterApplicationConfig>>,
    /// Non-fatal problems found while creating the collection; absent when there are none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub warnings: Option<Vec<String>>,
}

/// Aggregate statistics across the collections of a list response.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
pub struct CollectionListStats {
    pub total_documents: i64,
    pub avg_documents_per_collection: f64,
    pub collections_with_taxonomies: i64,
    pub total_feature_extractors: i64,
    pub total_taxonomies: i64,
    pub total_retrievers: i64,
}

/// Response model for listing collections.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ListCollectionsResponse {
    pub results: Vec<CollectionResponse>,
    pub pagination: PaginationResponse,
    /// Total number of collections matching the query.
    pub total_count: i64,
    pub stats: CollectionListStats,
}

/// Body of a successful `DELETE /v1/collections/{collection_identifier}`. The SDK reads this
/// response as a plain object; it has the shape of the namespace deletion answer.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct DeleteCollectionResponse {
    pub success: bool,
    pub message: String,
    pub collection_id: String,
    pub collection_name: String,
}

/// How sources already processed in earlier batches are handled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema, Default)]
#[serde(rename_all = "lowercase")]
pub enum DedupStrategy {
    /// Skip sources already materialized in this collection.
    #[default]
    Skip,
    /// Delete the sources' existing documents and materialize them again.
    Replace,
    /// Process every source again, keeping existing documents.
    Force,
}

/// Body of `POST /v1/collections/{collection_identifier}/trigger` (optional).
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TriggerCollectionRequest {
    /// Only objects from these buckets (ids or names); bucket-sourced collections only.
    pub include_buckets: Option<Vec<String>>,
    /// Only documents from these collections (ids or names); collection-sourced only.
    pub include_collections: Option<Vec<String>>,
    /// Only these objects; bucket-sourced collections only.
    pub object_ids: Option<Vec<String>>,
    /// Field filters on the source objects or documents.
    pub source_filters: Option<LogicalOperator>,
    /// `skip` when absent.
    pub dedup_strategy: Option<DedupStrategy>,
    /// Accepted and ignored: stored-text re-embedding is what re-extract migrations do.
    #[schema(value_type = Option<Object>)]
    pub reembed: Option<Value>,
}

impl Validate for TriggerCollectionRequest {
    fn validate(&self, errors: &mut Errors) {
        if let Some(filters) = &self.source_filters {
            errors.at("source_filters", |errors| filters.validate(errors));
        }
    }
}

/// Answer (202) to a collection trigger: the batch and the task to poll.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct TriggerCollectionResponse {
    pub batch_id: Option<String>,
    /// Poll `GET /v1/tasks/{task_id}` for progress.
    pub task_id: String,
    pub collection_id: String,
    /// Buckets the objects were read from (bucket-sourced collections).
    pub source_bucket_ids: Option<Vec<String>>,
    /// Collections the documents were read from (collection-sourced collections).
    pub source_collection_ids: Option<Vec<String>>,
    /// Objects in the trigger (bucket-sourced collections).
    pub object_count: Option<i64>,
    /// Documents to process (collection-sourced collections).
    pub document_count: Option<i64>,
    /// Processing tiers in the run: this collection plus the collections downstream of it.
    pub total_tiers: i64,
    pub message: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::validate::Loc;
    use serde_json::json;

    fn loc(e: &crate::validate::FieldError) -> Vec<Value> {
        e.loc
            .iter()
            .map(|l| match l {
                Loc::Key(k) => json!(k),
                Loc::Index(i) => json!(i),
            })
            .collect()
    }

    /// `CreateCollectionRequest(...)` as the SDK sends it (see the module's conformance notes).
    fn sdk_create_body() -> Value {
        json!({
            "collection_name": "article_embeddings",
            "description": "News articles with text embeddings",
            "source": {"type": "bucket", "bucket_ids": ["bkt_articles"],
                       "source_filters": {"filters": {"AND": [
                           {"case_sensitive": false, "field": "lang", "operator": "eq", "value": "en"}
                       ], "case_sensitive": false}}},
            "feature_extractor": {
                "feature_extractor_name": "text_extractor",
                "version": "v1",
                "parameters": {"chunk": 512},
                "input_mappings": {"text": "content"},
                "field_passthrough": [{"source_path": "title", "required": true},
                                      {"source_path": "meta.author", "target_path": "author", "required": false}],
                "include_all_source_fields": false
            },
            "enabled": true,
            "metadata": {"team": "search"},
            "taxonomy_applications": [{"taxonomy_id": "tax_topics", "execution_mode": "materialize",
                                       "execution_phase": 1, "priority": 0}],
            "cluster_applications": [{"cluster_id": "clu_1", "auto_execute_on_batch": true,
                                      "cooldown_seconds": 3600, "execution_phase": 2, "priority": 0}],
            "schedule": {"trigger_type": "cron", "schedule_config": {"cron_expression": "0 * * * *"}},
            "embedding_task": "retrieval_document"
        })
    }

    #[test]
    fn sdk_create_request_parses_and_validates() {
        let req: CreateCollectionRequest = serde_json::from_value(sdk_create_body()).unwrap();
        assert!(
            req.validation_errors().is_empty(),
            "{:?}",
            req.validation_errors()
        );
        let fe = req.feature_extractor.unwrap();
        assert_eq!(
            fe.input_mappings,
            Some(InputMappings::Fields(
                json!({"text": "content"}).as_object().unwrap().clone()
            ))
        );
        assert_eq!(fe.field_passthrough.as_ref().unwrap()[1].target(), "author");
        let out = FeatureExtractorConfigOutput::from(fe);
        assert_eq!(out.feature_extractor_id, "text_extractor_v1");
        assert_eq!(req.source.source_type, SourceType::Bucket);
    }

    #[test]
    fn list_form_input_mappings_keep_error_locations() {
        let mut body = sdk_create_body();
        body["feature_extractor"]["input_mappings"] =
            json!([{"input_key": "text", "source_type": "payload", "path": "content"}]);
        let req: CreateCollectionRequest = serde_json::from_value(body.clone()).unwrap();
        assert!(matches!(
            req.feature_extractor.unwrap().input_mappings,
            Some(InputMappings::List(ref l)) if l[0].source_type == Some(InputSourceType::Payload)
        ));
        body["feature_extractor"]["input_mappings"][0]["source_type"] = json!("attic");
        let err = serde_json::from_value::<CreateCollectionRequest>(body).unwrap_err();
        assert!(
            err.to_string().starts_with("unknown variant `attic`"),
            "{err}"
        );
    }

    #[test]
    fn unknown_keys_are_refused_at_every_level() {
        let mut body = sdk_create_body();
        body["colour"] = json!("blue");
        let err = serde_json::from_value::<CreateCollectionRequest>(body).unwrap_err();
        assert!(
            err.to_string().starts_with("unknown field `colour`"),
            "{err}"
        );
        let mut body = sdk_create_body();
        body["feature_extractor"]["input_mapping"] = json!({"text": "content"});
        let err = serde_json::from_value::<CreateCollectionRequest>(body).unwrap_err();
        assert!(
            err.to_string().starts_with("unknown field `input_mapping`"),
            "{err}"
        );
        let mut body = sdk_create_body();
        body["source"]["bucket_id"] = json!("bkt_1");
        let err = serde_json::from_value::<CreateCollectionRequest>(body).unwrap_err();
        assert!(
            err.to_string().starts_with("unknown field `bucket_id`"),
            "{err}"
        );
    }

    #[test]
    fn bounds_and_source_rules_are_located() {
        let mut body = sdk_create_body();
        body["collection_name"] = json!("ab");
        body["cluster_applications"][0]["execution_phase"] = json!(4);
        body["taxonomy_applications"][0]["priority"] = json!(-1);
        body["source"] = json!({"type": "collection", "bucket_ids": []});
        body.as_object_mut().unwrap().remove("feature_extractor");
        let req: CreateCollectionRequest = serde_json::from_value(body).unwrap();
        let got: Vec<(Vec<Value>, &str)> = req
            .validation_errors()
            .iter()
            .map(|e| (loc(e), e.kind))
            .collect();
        assert_eq!(
            got,
            vec![
                (vec![json!("collection_name")], "string_too_short"),
                (vec![json!("source"), json!("bucket_ids")], "too_short"),
                (vec![json!("source"), json!("collection_id")], "missing"),
                (vec![json!("source"), json!("bucket_ids")], "value_error"),
                (vec![json!("feature_extractor")], "missing"),
                (
                    vec![json!("taxonomy_applications"), json!(0), json!("priority")],
                    "greater_than_equal"
                ),
                (
                    vec![
                        json!("cluster_applications"),
                        json!(0),
                        json!("execution_phase")
                    ],
                    "less_than_equal"
                ),
            ]
        );
    }

    #[test]
    fn reserved_and_unsupported_sources_are_refused() {
        let mut body = sdk_create_body();
        body["collection_name"] = json!("col_abc");
        body["source"] = json!({"type": "taxonomy"});
        let req: CreateCollectionRequest = serde_json::from_value(body).unwrap();
        let kinds: Vec<_> = req
            .validation_errors()
            .iter()
            .map(|e| (loc(e), e.kind))
            .collect();
        assert_eq!(
            kinds,
            vec![
                (vec![json!("collection_name")], "value_error"),
                (vec![json!("source"), json!("type")], "value_error"),
            ]
        );
    }

    #[test]
    fn collection_sources_take_one_of_id_or_ids() {
        let both: SourceConfig = serde_json::from_value(
            json!({"type": "collection", "collection_id": "col_a", "collection_ids": ["col_b"]}),
        )
        .unwrap();
        assert_eq!(both.validation_errors()[0].kind, "value_error");
        let one: SourceConfig =
            serde_json::from_value(json!({"type": "collection", "collection_ids": ["col_b"]}))
                .unwrap();
        assert!(one.validation_errors().is_empty());
    }

    #[test]
    fn patch_accepts_mutable_fields_only() {
        let patch: PatchCollectionRequest = serde_json::from_value(json!({
            "collection_name": "renamed", "enabled": false, "metadata": {"k": 1},
            "cluster_applications": [{"cluster_id": "clu_1"}]
        }))
        .unwrap();
        assert!(patch.validation_errors().is_empty());
        let clusters = patch.cluster_applications.unwrap();
        assert_eq!(clusters[0].cooldown_seconds, 3600);
        assert_eq!(clusters[0].execution_phase, 2);
        assert!(clusters[0].auto_execute_on_batch);
        let err = serde_json::from_value::<PatchCollectionRequest>(
            json!({"source": {"type": "bucket", "bucket_ids": ["bkt_1"]}}),
        )
        .unwrap_err();
        assert!(
            err.to_string().starts_with("unknown field `source`"),
            "{err}"
        );
    }

    #[test]
    fn list_request_bounds() {
        let req: ListCollectionsRequest = serde_json::from_value(json!({
            "limit": 1001, "offset": 10001, "page": 0,
            "filters": {"AND": [{"field": "taxonomy_applications.taxonomy_id", "operator": "eq",
                                 "value": "tax_1"}]},
            "sort": {"field": "created_at", "direction": "desc"},
            "sorts": [{"field": "collection_name", "direction": "asc"}],
            "search": "art", "include_system": false, "case_sensitive": false
        }))
        .unwrap();
        let got: Vec<_> = req
            .validation_errors()
            .iter()
            .map(|e| (loc(e), e.kind))
            .collect();
        assert_eq!(
            got,
            vec![
                (vec![json!("limit")], "less_than_equal"),
                (vec![json!("offset")], "less_than_equal"),
                (vec![json!("page")], "greater_than_equal"),
            ]
        );
        let err = serde_json::from_value::<ListCollectionsRequest>(
            json!({"sort": {"field": "created_at", "direction": "down"}}),
        )
        .unwrap_err();
        assert!(err.to_string().starts_with("unknown variant `down`"));
    }

    #[test]
    fn trigger_request_parses_sdk_body() {
        let req: TriggerCollectionRequest = serde_json::from_value(json!({
            "object_ids": ["obj_1"], "dedup_strategy": "replace",
            "source_filters": {"AND": [{"case_sensitive": false, "field": "status",
                                        "operator": "in", "value": ["new"]}],
                               "case_sensitive": false}
        }))
        .unwrap();
        assert_eq!(req.dedup_strategy, Some(DedupStrategy::Replace));
        assert!(req.validation_errors().is_empty());
        let err = serde_json::from_value::<TriggerCollectionRequest>(
            json!({"dedup_strategy": "sometimes"}),
        )
        .unwrap_err();
        assert!(err.to_string().starts_with("unknown variant `sometimes`"));
    }
}
