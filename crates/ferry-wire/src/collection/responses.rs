//! The collection response bodies: a collection with its vector indexes, lineage and disabled
//! reason, list pages with their statistics, and the answers to delete and trigger.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::ToSchema;

use super::applications::{ClusterApplicationConfig, TaxonomyApplicationConfig};
use super::extractor::FeatureExtractorConfigOutput;
use super::source::SourceConfig;
use crate::namespace::PaginationResponse;
use crate::schema::BucketSchema;

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

/// How an index's vectors are stored and searched (the spec's `VectorType`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum VectorType {
    /// One float array per document, searched by nearest neighbours.
    #[default]
    Dense,
    /// Index-value pairs such as BM25 term weights: Ferry's keyword feature, a BM25 index
    /// over the documents' `text`, searched with text queries.
    Sparse,
}

/// How a dense index's graph holds its vectors (the spec's `VectorDataType`). Searches
/// rank candidates again against the stored float32 vectors, so the datatype changes which
/// candidates are found, never the scores reported.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum VectorDataType {
    /// 4 bytes a dimension.
    #[default]
    Float32,
    /// 1 byte a dimension (quantized): a graph about a quarter the size.
    Uint8,
}

/// The storage side of a vector index (`CollectionVectorIndex.index`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct VectorIndexStorage {
    /// Storage name, `{extractor}_{version}_{output}` (e.g. `text_extractor_v1_embedding`);
    /// documents carry their vectors under this name.
    pub name: String,
    /// Dense indexes only: a sparse index's dimensions are its vocabulary, open-ended.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dimensions: Option<i64>,
    /// `dense` unless said otherwise (collections created before sparse indexes existed).
    #[serde(rename = "type", default)]
    pub vector_type: VectorType,
    pub distance: VectorDistance,
    /// The embedding model behind the index.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub inference_name: Option<String>,
    /// Dense indexes: how the search graph stores vectors (the extractor parameter
    /// `datatype`; absent on collections made before it existed: float32).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub datatype: Option<VectorDataType>,
    /// Dense indexes: whether the search graph is read from its file, mapped into memory,
    /// rather than held in the process's memory (the extractor parameter `on_disk`; absent:
    /// false).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_disk: Option<bool>,
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

impl CollectionVectorIndex {
    /// Whether documents carry this index's vectors (rather than it being a keyword index
    /// over their text).
    pub fn is_dense(&self) -> bool {
        self.index.vector_type == VectorType::Dense
    }
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
