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
//!
//! The clustering configuration itself lives in [`config`]; every type is re-exported here.

pub mod config;

pub use config::{ClusterType, ClusteringAlgorithm, KMeansParams, VectorBasedConfig};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::ToSchema;

use self::config::check_enum;
use crate::filter::{LogicalOperator, SortOption};
use crate::namespace::PaginationResponse;
use crate::paging::validate_paging;
use crate::task::TaskStatusEnum;
use crate::validate::{Errors, Validate};

fn default_cooldown() -> Option<i64> {
    Some(3600)
}
fn default_full() -> String {
    "full".into()
}
fn default_assignment_threshold() -> f64 {
    0.5
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
            errors.list_not_empty("collection_ids", Some(ids.len()));
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
        errors.nested("vector_config", self.vector_config.as_ref());
        errors.nested("filters", self.filters.as_ref());
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
        errors.nested("filters", self.filters.as_ref());
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
        errors.nested("filters", self.filters.as_ref());
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
        errors.nested("filters", self.filters.as_ref());
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
