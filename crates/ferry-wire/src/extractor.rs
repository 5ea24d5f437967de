//! Feature extractors as `GET /v1/collections/features/extractors` describes them: the SDK's
//! `FeatureExtractorResponseModel` and the `VectorIndexDefinition` it nests.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::ToSchema;

/// The id of an extractor at one version, as namespaces and collections show it:
/// `{name}_{version}` (e.g. `text_extractor_v1`).
pub fn feature_extractor_id(name: &str, version: &str) -> String {
    format!("{name}_{version}")
}

/// The storage configuration of one vector index (`VectorIndex`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct VectorIndex {
    /// Storage name, `{extractor}_{version}_{output}`.
    pub name: String,
    pub description: String,
    /// Absent where a collection's parameters choose it (the remote embedding extractor's
    /// model decides its dimension), and for sparse indexes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dimensions: Option<i64>,
    /// `dense`, or `sparse` for a text extractor's BM25 keyword index.
    #[serde(rename = "type")]
    pub vector_type: String,
    /// `cosine`, `dot` or `euclidean`.
    pub distance: String,
    /// Dense indexes: `float32` or `uint8`, as the `datatype` parameter chooses (default
    /// shown).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub datatype: Option<crate::collection::VectorDataType>,
    /// Dense indexes: whether the search graph is memory-mapped from its file, as the
    /// `on_disk` parameter chooses (default shown).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub on_disk: Option<bool>,
}

/// A vector index an extractor requires (`VectorIndexDefinition`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct VectorIndexDefinition {
    /// `mixpeek://{extractor}@{version}/{output}`.
    pub feature_uri: String,
    /// The output name used in feature URIs.
    pub name: String,
    pub description: String,
    /// Always `single`.
    #[serde(rename = "type")]
    pub index_type: String,
    pub index: VectorIndex,
}

/// Feature extractor response model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct FeatureExtractorResponseModel {
    pub feature_extractor_name: String,
    pub version: String,
    /// `{name}_{version}`.
    pub feature_extractor_id: String,
    pub description: String,
    pub icon: String,
    pub category: String,
    /// Always `builtin`.
    pub source: String,
    /// `type_specific`: each extractor reads one input type.
    pub type_mode: String,
    pub expected_input_types: Map<String, Value>,
    pub inference_type: String,
    #[schema(value_type = Object)]
    pub input_schema: Value,
    #[schema(value_type = Object)]
    pub output_schema: Value,
    #[schema(value_type = Option<Object>)]
    pub parameter_schema: Option<Value>,
    pub supported_input_types: Vec<String>,
    pub max_inputs: Map<String, Value>,
    pub default_parameters: Map<String, Value>,
    pub required_vector_indexes: Option<Vec<VectorIndexDefinition>>,
    #[schema(value_type = Option<Vec<Object>>)]
    pub required_payload_indexes: Option<Vec<Value>>,
    /// Output fields that identify a document within its source object.
    pub position_fields: Vec<String>,
    pub capabilities: Vec<String>,
    pub realtime_available: bool,
}
