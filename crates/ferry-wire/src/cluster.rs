//! Clusters: `/v1/clusters…` (create, get, list, patch, delete, execute) and their execution
//! history, shaped as the SDK's `CreateClusterRequest`, `ClusterMetadata`, `ClusterModel`,
//! `PatchClusterRequest`, `ListClustersRequest`/`Response`, `ExecuteClusterByIdRequest`,
//! `ClusterExecutionResult` and `ListClusterExecutionsRequest`/`Response`, with the
//! configuration they nest (`VectorBasedConfig`, `KMeansParams`).
//!
//! Ferry clusters vectors with k-means and writes assignments onto the source documents. Keys
//! the SDK declares for features Ferry does not have (LLM labelling, attribute clustering,
//! composite clusters, UMAP preprocessing, visual layouts, auto-execution) are accepted and
//! ignored, typed `serde_json::Value` and marked so; the API refuses the few whose silent
//! omission would change the result (another algorithm, a pre-filter, a composite cluster).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::ToSchema;

use crate::filter::{LogicalOperator, SortOption};
use crate::namespace::PaginationResponse;
use crate::paging::validate_paging;
use crate::task::TaskStatusEnum;
use crate::validate::{Errors, Validate};

/// Vector (embedding) or attribute (metadata) clustering.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ClusterType {
    Vector,
    Attribute,
}

/// Clustering algorithms the SDK names. Ferry runs `kmeans` (and `auto`, which it resolves to
/// `kmeans`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ClusteringAlgorithm {
    Kmeans,
    Dbscan,
    Hdbscan,
    Agglomerative,
    Spectral,
    GaussianMixture,
    MeanShift,
    Optics,
    Leiden,
    Evoc,
    AttributeBased,
    Auto,
}

fn default_n_clusters() -> i64 {
    8
}
fn default_max_iter() -> i64 {
    300
}
fn default_random_state() -> i64 {
    42
}
fn default_n_init() -> i64 {
    10
}
fn default_tol() -> f64 {
    1e-4
}
fn default_init() -> String {
    "k-means++".into()
}
fn default_copy_x() -> bool {
    true
}
fn default_kmeans_algorithm() -> String {
    "lloyd".into()
}
fn default_true() -> bool {
    true
}
fn default_concatenate() -> String {
    "concatenate".into()
}
fn default_single() -> String {
    "single".into()
}
fn default_mean() -> String {
    "mean".into()
}
fn default_max_hierarchy_depth() -> i64 {
    3
}
fn default_vis_n_components() -> i64 {
    2
}
fn default_cooldown() -> Option<i64> {
    Some(3600)
}
fn default_full() -> String {
    "full".into()
}
fn default_assignment_threshold() -> f64 {
    0.5
}

/// Parameters for K-Means clustering.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct KMeansParams {
    /// Number of clusters to form (2–1000).
    #[serde(default = "default_n_clusters")]
    pub n_clusters: i64,
    /// Maximum Lloyd iterations (1–10000).
    #[serde(default = "default_max_iter")]
    pub max_iter: i64,
    /// Seed: the same seed over the same documents gives the same clusters.
    #[serde(default = "default_random_state")]
    pub random_state: i64,
    /// Seedings tried; the one with the lowest inertia wins.
    #[serde(default = "default_n_init")]
    pub n_init: i64,
    /// Convergence tolerance on centroid movement.
    #[serde(default = "default_tol")]
    pub tol: f64,
    /// `k-means++` or `random`.
    #[serde(default = "default_init")]
    pub init: String,
    /// Accepted and ignored.
    #[serde(default)]
    pub verbose: i64,
    /// Accepted and ignored: Ferry never modifies the documents' vectors.
    #[serde(default = "default_copy_x")]
    pub copy_x: bool,
    /// `lloyd`, `elkan` or `auto`; Ferry always runs Lloyd's algorithm (same result).
    #[serde(default = "default_kmeans_algorithm")]
    pub algorithm: String,
}

impl Default for KMeansParams {
    fn default() -> Self {
        KMeansParams {
            n_clusters: default_n_clusters(),
            max_iter: default_max_iter(),
            random_state: default_random_state(),
            n_init: default_n_init(),
            tol: default_tol(),
            init: default_init(),
            verbose: 0,
            copy_x: true,
            algorithm: default_kmeans_algorithm(),
        }
    }
}

impl Validate for KMeansParams {
    fn validate(&self, errors: &mut Errors) {
        errors.int_range("n_clusters", Some(self.n_clusters), Some(2), Some(1000));
        errors.int_range("max_iter", Some(self.max_iter), Some(1), Some(10_000));
        errors.int_range("n_init", Some(self.n_init), Some(1), None);
        errors.int_range("verbose", Some(self.verbose), Some(0), None);
        if !(self.tol.is_finite() && self.tol >= 0.0) {
            errors.push(
                "tol",
                "greater_than_equal",
                "Input should be greater than or equal to 0",
            );
        }
        if !matches!(self.init.as_str(), "k-means++" | "random") {
            errors.push("init", "enum", "Input should be 'k-means++' or 'random'");
        }
        if !matches!(self.algorithm.as_str(), "lloyd" | "elkan" | "auto") {
            errors.push(
                "algorithm",
                "enum",
                "Input should be 'lloyd', 'elkan' or 'auto'",
            );
        }
    }
}

/// Configuration for vector-based clustering (the SDK's `VectorBasedConfigInput` and
/// `VectorBasedConfigOutput`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VectorBasedConfig {
    /// Deprecated single feature URI; `feature_uris` wins.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub feature_uri: Option<String>,
    /// Feature URIs to cluster (`mixpeek://{extractor}@{version}/{output}`); several are
    /// concatenated.
    pub feature_uris: Option<Vec<String>>,
    /// Accepted and ignored: populated from `feature_uri` by the SDK's server.
    #[serde(default, skip_serializing)]
    pub feature_extractor_name: Option<String>,
    /// Accepted and ignored, as `feature_extractor_name`.
    #[serde(default, skip_serializing)]
    pub version: Option<String>,
    /// Accepted and ignored, as `feature_extractor_name`.
    #[serde(default, skip_serializing)]
    pub output_name: Option<String>,
    pub clustering_method: ClusteringAlgorithm,
    /// Documents per execution at most (a reservoir sample trains the centroids; every
    /// document is assigned).
    pub sample_size: Option<i64>,
    pub kmeans_parameters: Option<KMeansParams>,
    /// Accepted and ignored: Ferry runs k-means only.
    #[schema(value_type = Option<Object>)]
    pub dbscan_parameters: Option<Value>,
    /// Accepted and ignored: Ferry runs k-means only.
    #[schema(value_type = Option<Object>)]
    pub hdbscan_parameters: Option<Value>,
    /// Algorithm parameters; for k-means the keys of `KMeansParams`, overriding
    /// `kmeans_parameters`.
    pub algorithm_params: Option<Map<String, Value>>,
    /// `concatenate` (the one Ferry runs), `independent` or `weighted`.
    #[serde(default = "default_concatenate")]
    pub multi_feature_strategy: String,
    /// L2-normalize each feature block before concatenation.
    #[serde(default = "default_true")]
    pub normalize_features: bool,
    /// Accepted and ignored.
    pub feature_weights: Option<Map<String, Value>>,
    /// Accepted and ignored.
    #[schema(value_type = Option<Object>)]
    pub weight_learning_config: Option<Value>,
    /// Accepted and ignored: assignments always land on the source documents.
    #[serde(default = "default_single")]
    pub output_strategy: String,
    /// `mean` (what k-means computes), `median` or `medoid`.
    #[serde(default = "default_mean")]
    pub effective_feature_method: String,
    #[serde(default)]
    pub enrich_source: bool,
    /// Accepted and ignored.
    #[schema(value_type = Option<Object>)]
    pub face_cluster_merge: Option<Value>,
    /// Accepted and ignored.
    #[schema(value_type = Option<Vec<Object>>)]
    pub preprocessing_steps: Option<Value>,
    /// Accepted and ignored.
    #[serde(default)]
    pub hierarchical: bool,
    #[serde(default = "default_max_hierarchy_depth")]
    pub max_hierarchy_depth: i64,
    /// Accepted and ignored (2 or 3).
    #[serde(default = "default_vis_n_components")]
    pub vis_n_components: i64,
    /// Accepted and ignored: `none`, `transform` or `align`.
    pub layout_stability: Option<String>,
}

impl VectorBasedConfig {
    /// The feature URIs to cluster: `feature_uris`, else the deprecated `feature_uri`.
    pub fn resolved_feature_uris(&self) -> Vec<String> {
        match (&self.feature_uris, &self.feature_uri) {
            (Some(uris), _) if !uris.is_empty() => uris.clone(),
            (_, Some(uri)) => vec![uri.clone()],
            _ => Vec::new(),
        }
    }
}

/// Names share `{cluster_identifier}` with ids, so a name may not look like one.
fn check_cluster_name(errors: &mut Errors, name: Option<&str>) {
    if name.is_some_and(|n| n.starts_with("clust_")) {
        errors.push(
            "cluster_name",
            "string_pattern_mismatch",
            "String should not start with 'clust_', the prefix of cluster ids",
        );
    }
}

fn check_enum(errors: &mut Errors, field: &str, value: Option<&str>, allowed: &[&str]) {
    if let Some(value) = value {
        if !allowed.contains(&value) {
            let quoted: Vec<String> = allowed.iter().map(|a| format!("'{a}'")).collect();
            errors.push(
                field,
                "enum",
                format!("Input should be {}", quoted.join(", ")),
            );
        }
    }
}

impl Validate for VectorBasedConfig {
    fn validate(&self, errors: &mut Errors) {
        if let Some(uris) = &self.feature_uris {
            if uris.is_empty() {
                errors.push(
                    "feature_uris",
                    "too_short",
                    "List should have at least 1 item after validation, not 0",
                );
            }
        }
        errors.int_range("sample_size", self.sample_size, Some(1), Some(1_000_000));
        errors.int_range(
            "max_hierarchy_depth",
            Some(self.max_hierarchy_depth),
            Some(1),
            Some(5),
        );
        if let Some(params) = &self.kmeans_parameters {
            errors.at("kmeans_parameters", |errors| params.validate(errors));
        }
        check_enum(
            errors,
            "multi_feature_strategy",
            Some(&self.multi_feature_strategy),
            &["concatenate", "independent", "weighted"],
        );
        check_enum(
            errors,
            "output_strategy",
            Some(&self.output_strategy),
            &["single", "per_feature"],
        );
        check_enum(
            errors,
            "effective_feature_method",
            Some(&self.effective_feature_method),
            &["mean", "median", "medoid"],
        );
        if !matches!(self.vis_n_components, 2 | 3) {
            errors.push("vis_n_components", "enum", "Input should be 2 or 3");
        }
        check_enum(
            errors,
            "layout_stability",
            self.layout_stability.as_deref(),
            &["none", "transform", "align"],
        );
    }
}

/// Create a clustering job for one or more collections.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateClusterRequest {
    /// Collections (ids or names) to cluster together.
    pub collection_ids: Option<Vec<String>>,
    /// Composite clusters; Ferry refuses them.
    pub source_cluster_ids: Option<Vec<String>>,
    pub cluster_name: Option<String>,
    pub description: Option<String>,
    pub metadata: Option<Map<String, Value>>,
    pub cluster_type: Option<ClusterType>,
    /// Required when `cluster_type` is `vector` (the default).
    pub vector_config: Option<VectorBasedConfig>,
    /// Attribute clustering; Ferry refuses it.
    #[schema(value_type = Option<Object>)]
    pub attribute_config: Option<Value>,
    /// Pre-filter of the documents to cluster; Ferry refuses a non-empty one.
    pub filters: Option<LogicalOperator>,
    /// Accepted and ignored: Ferry labels clusters `Cluster N`, without an LLM.
    #[schema(value_type = Option<Object>)]
    pub llm_labeling: Option<Value>,
    /// Ferry always writes assignments onto the source documents; accepted either way.
    #[serde(default)]
    pub enrich_source_collection: bool,
    /// Accepted and ignored: the field written is always `cluster_id`.
    #[schema(value_type = Option<Object>)]
    pub source_enrichment_config: Option<Value>,
    /// Accepted and ignored: executions are started with `/execute`.
    #[serde(default)]
    pub auto_execute_on_batch: bool,
    /// Accepted and ignored.
    pub auto_execute_min_documents: Option<i64>,
    /// Accepted and ignored.
    #[serde(default = "default_cooldown")]
    pub auto_execute_cooldown_seconds: Option<i64>,
}

impl Validate for CreateClusterRequest {
    fn validate(&self, errors: &mut Errors) {
        check_cluster_name(errors, self.cluster_name.as_deref());
        if let Some(ids) = &self.collection_ids {
            if ids.is_empty() {
                errors.push(
                    "collection_ids",
                    "too_short",
                    "List should have at least 1 item after validation, not 0",
                );
            }
        } else if self.source_cluster_ids.is_none() {
            errors.push("collection_ids", "missing", "Field required");
        }
        if self.cluster_type != Some(ClusterType::Attribute) && self.vector_config.is_none() {
            errors.push(
                "vector_config",
                "missing",
                "Field required when cluster_type is 'vector'",
            );
        }
        if let Some(config) = &self.vector_config {
            errors.at("vector_config", |errors| config.validate(errors));
        }
        if let Some(filters) = &self.filters {
            errors.at("filters", |errors| filters.validate(errors));
        }
    }
}

/// Request model for partially updating a cluster.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatchClusterRequest {
    pub cluster_name: Option<String>,
    pub description: Option<String>,
    pub metadata: Option<Map<String, Value>>,
    /// Accepted and ignored, as on create.
    #[schema(value_type = Option<Object>)]
    pub llm_labeling: Option<Value>,
    /// Pre-filter; Ferry refuses a non-empty one.
    pub filters: Option<Map<String, Value>>,
    /// Accepted and ignored.
    #[schema(value_type = Option<Object>)]
    pub face_cluster_merge: Option<Value>,
    /// Per-execution document cap for later executions.
    pub sample_size: Option<i64>,
    /// Algorithm parameters for later executions (`n_clusters`, `max_iter`, …).
    pub algorithm_params: Option<Map<String, Value>>,
    /// Composite clusters; Ferry refuses them.
    pub source_cluster_ids: Option<Vec<String>>,
    /// Accepted and ignored.
    pub layout_stability: Option<String>,
}

impl Validate for PatchClusterRequest {
    fn validate(&self, errors: &mut Errors) {
        check_cluster_name(errors, self.cluster_name.as_deref());
        errors.int_range("sample_size", self.sample_size, Some(1), Some(1_000_000));
        check_enum(
            errors,
            "layout_stability",
            self.layout_stability.as_deref(),
            &["none", "transform", "align"],
        );
    }
}

/// Cluster job metadata: configuration, status, and the summary of the last execution.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ClusterMetadata {
    pub cluster_id: Option<String>,
    pub cluster_name: String,
    pub description: Option<String>,
    pub namespace_id: String,
    pub input_collections: Vec<String>,
    pub source_cluster_ids: Option<Vec<String>>,
    pub source_bucket_ids: Option<Vec<String>>,
    pub filters: Option<Map<String, Value>>,
    /// `vector`.
    pub cluster_type: String,
    pub feature_uris: Option<Vec<String>>,
    pub multi_feature_strategy: Option<String>,
    pub effective_feature_method: Option<String>,
    pub sample_size: Option<i64>,
    pub vis_n_components: Option<i64>,
    pub layout_stability: Option<String>,
    /// No output collection is created: the source collections, which carry the assignments.
    pub output_collection_ids: Option<Vec<String>>,
    /// `kmeans`.
    pub algorithm: Option<String>,
    /// The resolved k-means parameters.
    pub algorithm_params: Option<Map<String, Value>>,
    /// Always true: assignments land as `cluster_id` on the source documents.
    pub enrich_source: bool,
    pub num_clusters: Option<i64>,
    pub num_documents_clustered: Option<i64>,
    pub execution_time_seconds: Option<f64>,
    pub quality_metrics: Option<Map<String, Value>>,
    pub hierarchy_detected: bool,
    pub status: Option<TaskStatusEnum>,
    pub error: Option<String>,
    pub last_execution_task_id: Option<String>,
    pub last_run_id: Option<String>,
    pub created_at: Option<DateTime<Utc>>,
    pub updated_at: Option<DateTime<Utc>>,
    pub last_executed_at: Option<DateTime<Utc>>,
    pub completed_at: Option<DateTime<Utc>>,
    pub metadata: Option<Map<String, Value>>,
}

/// A cluster's configuration as created (the SDK's `ClusterModel`, answered by PATCH).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ClusterModel {
    pub collection_ids: Option<Vec<String>>,
    pub source_cluster_ids: Option<Vec<String>>,
    pub cluster_name: Option<String>,
    pub description: Option<String>,
    pub metadata: Option<Map<String, Value>>,
    pub cluster_type: Option<ClusterType>,
    pub vector_config: Option<VectorBasedConfig>,
    #[schema(value_type = Option<Object>)]
    pub attribute_config: Option<Value>,
    pub filters: Option<LogicalOperator>,
    #[schema(value_type = Option<Object>)]
    pub llm_labeling: Option<Value>,
    pub enrich_source_collection: bool,
    #[schema(value_type = Option<Object>)]
    pub source_enrichment_config: Option<Value>,
    pub auto_execute_on_batch: bool,
    pub auto_execute_min_documents: Option<i64>,
    pub auto_execute_cooldown_seconds: Option<i64>,
    pub cluster_id: Option<String>,
    /// Blob-store key of the last run's Parquet assignments.
    pub parquet_path: Option<String>,
    pub members_key: Option<String>,
    pub num_clusters: Option<i64>,
    #[schema(value_type = Option<Object>)]
    pub cluster_stats: Option<Value>,
    pub status: Option<TaskStatusEnum>,
    pub task_id: Option<String>,
    pub last_run_id: Option<String>,
    pub created_at: Option<DateTime<Utc>>,
    pub updated_at: Option<DateTime<Utc>>,
}

/// Answer to `DELETE /v1/clusters/{cluster_id}`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct DeleteClusterResponse {
    pub success: bool,
    pub message: String,
    pub cluster_id: String,
}

/// Request model for listing clusters. Body paging wins over query paging.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ListClustersRequest {
    pub limit: Option<i64>,
    pub page_size: Option<i64>,
    pub offset: Option<i64>,
    pub page: Option<i64>,
    /// Filters; Ferry refuses a non-empty one (use search or sort).
    pub filters: Option<LogicalOperator>,
    pub sort: Option<SortOption>,
    /// Takes precedence over `sort`; the first entry is the primary sort.
    pub sorts: Option<Vec<SortOption>>,
    /// Substring search over cluster id, name and description.
    pub search: Option<String>,
}

impl Validate for ListClustersRequest {
    fn validate(&self, errors: &mut Errors) {
        validate_paging(errors, self.limit, self.page_size, self.offset, self.page);
        if let Some(filters) = &self.filters {
            errors.at("filters", |errors| filters.validate(errors));
        }
    }
}

/// Aggregate statistics for a list of clusters.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ClusterListStats {
    pub total_clusters: i64,
    pub total_documents: i64,
    pub avg_documents_per_cluster: f64,
    pub clusters_by_status: Option<Map<String, Value>>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ListClustersResponse {
    pub results: Vec<ClusterMetadata>,
    pub pagination: PaginationResponse,
    pub total_count: i64,
    pub stats: Option<ClusterListStats>,
}

/// Optional body of `POST /v1/clusters/{cluster_id}/execute`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExecuteClusterByIdRequest {
    /// `full` (the one Ferry runs), `assign` or `composite`.
    #[serde(default = "default_full")]
    pub mode: String,
    pub source_execution_ids: Option<Vec<String>>,
    #[serde(default = "default_assignment_threshold")]
    pub assignment_threshold: f64,
    /// Filter override; Ferry refuses a non-empty one.
    pub filters: Option<LogicalOperator>,
    /// Document cap for this execution only.
    pub sample_size: Option<i64>,
    /// Accepted and ignored.
    pub vis_n_components: Option<i64>,
    /// Accepted and ignored.
    pub defer_visualization: Option<bool>,
    /// Accepted and ignored.
    pub layout_stability: Option<String>,
    /// Accepted and ignored.
    #[schema(value_type = Option<Object>)]
    pub llm_labeling: Option<Value>,
}

impl Validate for ExecuteClusterByIdRequest {
    fn validate(&self, errors: &mut Errors) {
        check_enum(
            errors,
            "mode",
            Some(&self.mode),
            &["full", "assign", "composite"],
        );
        if !(0.0..=1.0).contains(&self.assignment_threshold) {
            errors.push(
                "assignment_threshold",
                "less_than_equal",
                "Input should be between 0 and 1",
            );
        }
        errors.int_range("sample_size", self.sample_size, Some(1), Some(1_000_000));
        if let Some(filters) = &self.filters {
            errors.at("filters", |errors| filters.validate(errors));
        }
    }
}

/// One cluster centre of an execution.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ClusterExecutionCentroid {
    /// `cl_0`, `cl_1`, …: the value written to each member's `cluster_id` field.
    pub cluster_id: String,
    pub num_members: i64,
    pub label: Option<String>,
    pub summary: Option<String>,
    pub keywords: Option<Vec<String>>,
    pub mean_cosine_similarity: Option<f64>,
    pub min_cosine_similarity: Option<f64>,
    /// Only with `include_vectors=true` on a single-execution GET.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub centroid_vector: Option<Vec<f64>>,
}

/// Quality metrics of an execution. Silhouette needs every pairwise distance, which a
/// streamed execution does not hold, so Ferry leaves it null.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ClusterExecutionMetrics {
    pub silhouette_score: Option<f64>,
    pub davies_bouldin_index: Option<f64>,
    pub calinski_harabasz_score: Option<f64>,
    pub avg_cluster_size: Option<f64>,
    pub noise_ratio: Option<f64>,
    pub cluster_size_entropy: Option<f64>,
    pub mean_cosine_to_centroid: Option<f64>,
    pub min_cosine_to_centroid: Option<f64>,
    /// Sum of squared distances of documents to their centroid (k-means' objective).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inertia: Option<f64>,
}

/// Results of one clustering execution.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ClusterExecutionResult {
    pub run_id: String,
    pub cluster_id: String,
    /// `pending`, `processing`, `completed`, `failed` or `canceled`.
    pub status: String,
    pub num_clusters: i64,
    pub num_points: i64,
    pub metrics: Option<ClusterExecutionMetrics>,
    pub member_counts_stale: bool,
    pub centroids: Option<Vec<ClusterExecutionCentroid>>,
    pub created_at: DateTime<Utc>,
    pub completed_at: Option<DateTime<Utc>>,
    pub error_message: Option<String>,
    pub source_documents: Option<i64>,
    pub vectors_retrieved: Option<i64>,
    pub vectors_clustered: Option<i64>,
    /// `full`.
    pub mode: Option<String>,
}

/// Filtering and sorting of an execution history; paging comes from the query.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ListClusterExecutionsRequest {
    /// Conditions on `status` (`eq`) are applied; others are refused.
    pub filters: Option<LogicalOperator>,
    /// `created_at`, newest first by default.
    pub sort: Option<SortOption>,
    /// Substring of a run id.
    pub search: Option<String>,
}

impl Validate for ListClusterExecutionsRequest {
    fn validate(&self, errors: &mut Errors) {
        if let Some(filters) = &self.filters {
            errors.at("filters", |errors| filters.validate(errors));
        }
    }
}

/// Aggregates over the executions of the current page.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ClusterExecutionListStats {
    pub total_executions: i64,
    pub executions_by_status: Option<Map<String, Value>>,
    pub avg_execution_time_ms: f64,
    pub total_documents_clustered: i64,
    pub avg_num_clusters: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ListClusterExecutionsResponse {
    pub results: Vec<ClusterExecutionResult>,
    pub pagination: PaginationResponse,
    pub total_count: i64,
    pub stats: Option<ClusterExecutionListStats>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn sdk_create_request_parses_with_defaults() {
        // `CreateClusterRequest(collection_ids=[…], cluster_name="topics",
        //  vector_config=VectorBasedConfigInput(feature_uris=[…], clustering_method="kmeans",
        //  kmeans_parameters=KmeansParameters(KMeansParams(n_clusters=3)))).to_dict()`
        let req: CreateClusterRequest = serde_json::from_value(json!({
            "collection_ids": ["col_1"], "cluster_name": "topics",
            "vector_config": {"feature_uris": ["mixpeek://text_extractor@v1/text_embedding"],
                              "clustering_method": "kmeans",
                              "kmeans_parameters": {"n_clusters": 3, "max_iter": 300,
                                  "random_state": 42, "n_init": 10, "tol": 0.0001,
                                  "init": "k-means++", "verbose": 0, "copy_x": true,
                                  "algorithm": "lloyd"},
                              "multi_feature_strategy": "concatenate", "normalize_features": true,
                              "output_strategy": "single", "effective_feature_method": "mean",
                              "enrich_source": false, "hierarchical": false,
                              "max_hierarchy_depth": 3, "vis_n_components": 2},
            "enrich_source_collection": false, "auto_execute_on_batch": false,
            "auto_execute_cooldown_seconds": 3600
        }))
        .unwrap();
        assert!(req.validation_errors().is_empty());
        let config = req.vector_config.unwrap();
        assert_eq!(config.kmeans_parameters.as_ref().unwrap().n_clusters, 3);
        assert_eq!(config.resolved_feature_uris().len(), 1);
        assert_eq!(KMeansParams::default().n_clusters, 8);
    }

    #[test]
    fn bad_values_are_located() {
        let req: CreateClusterRequest = serde_json::from_value(json!({
            "collection_ids": [],
            "vector_config": {"clustering_method": "kmeans", "kmeans_parameters": {"n_clusters": 1}}
        }))
        .unwrap();
        let errors = req.validation_errors();
        let kinds: Vec<&str> = errors.iter().map(|e| e.kind).collect();
        // No `feature_uris` is no error here: the route infers the one feature there is.
        assert_eq!(kinds, ["too_short", "greater_than_equal"]);
        assert!(
            serde_json::from_value::<CreateClusterRequest>(json!({"vector_config": {
                "clustering_method": "kmeanz"}}))
            .is_err()
        );
    }
}
