//! How a cluster is computed: the clustering type and algorithm, the k-means parameters and
//! the vector-based configuration, with the SDK's defaults and the request-level checks on them.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::ToSchema;

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

/// Refuses a text outside `allowed`, as Pydantic refuses a value outside a `Literal`.
pub(super) fn check_enum(errors: &mut Errors, field: &str, value: Option<&str>, allowed: &[&str]) {
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
        errors.list_not_empty("feature_uris", self.feature_uris.as_ref().map(Vec::len));
        errors.int_range("sample_size", self.sample_size, Some(1), Some(1_000_000));
        errors.int_range(
            "max_hierarchy_depth",
            Some(self.max_hierarchy_depth),
            Some(1),
            Some(5),
        );
        errors.nested("kmeans_parameters", self.kmeans_parameters.as_ref());
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
