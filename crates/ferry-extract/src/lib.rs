//! Ferry's feature extractors: a registry of named, versioned extractors that turn an input
//! (text or image bytes) into documents with embedding vectors.
//!
//! The hashing built-ins are real and deterministic and need no network and no model
//! weights: `text_extractor` v1 and v2 (two different hashed n-gram schemes of different
//! dimensions), and `image_extractor` v1 (colour histogram + perceptual hash).
//! `text_extractor` v3 runs a BERT-family sentence-transformer in process on CPU from a local
//! snapshot in the models directory (`models`, `encoder`, `neural`).
//! `openai_embedding_extractor` v1 calls an OpenAI-compatible `/embeddings` endpoint so users
//! can plug in remote models. Versions are pinned per collection; rolling a collection
//! forward is a migration's job.

mod chunk;
pub mod collection;
pub mod encoder;
mod image_v1;
mod metered;
pub mod models;
mod neural;
mod params;
mod remote;
mod text;
pub mod vector_storage;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use ferry_wire::extractor::{FeatureExtractorResponseModel, VectorIndex, VectorIndexDefinition};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

pub use params::ParamError;
pub use remote::RemoteEmbeddingConfig;

/// Distance metric of a vector index.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Metric {
    Cosine,
    Dot,
    Euclidean,
}

impl Metric {
    pub fn name(self) -> &'static str {
        match self {
            Metric::Cosine => "cosine",
            Metric::Dot => "dot",
            Metric::Euclidean => "euclidean",
        }
    }
}

/// One vector index an extractor fills.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VectorOutput {
    /// Output name used in feature URIs, e.g. `text_embedding`.
    pub name: String,
    pub dimension: usize,
    pub metric: Metric,
}

impl VectorOutput {
    /// An output compared by cosine similarity, as every built-in's is.
    pub fn cosine(name: &str, dimension: usize) -> Self {
        VectorOutput {
            name: name.to_owned(),
            dimension,
            metric: Metric::Cosine,
        }
    }
}

/// The output name of every text extractor's keyword index: a BM25 index over the
/// documents' `text`, queried with text (`mixpeek://{name}@{version}/keywords`).
pub const KEYWORD_OUTPUT: &str = "keywords";
/// How the keyword index scores, as its `inference_name` says.
pub const KEYWORD_SCORING: &str = "bm25";

/// What an extractor reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputKind {
    Text,
    Image,
}

/// One input value for one source item.
#[derive(Debug, Clone, PartialEq)]
pub enum ExtractorInput {
    Text(String),
    /// Encoded image bytes (PNG or JPEG).
    Image(Vec<u8>),
}

/// One document produced from one input; an input may produce several (chunking).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ExtractedChunk {
    pub chunk_index: u32,
    pub text: Option<String>,
    /// Vectors by output name.
    pub vectors: Vec<(String, Vec<f32>)>,
    /// Extra fields the extractor computed (e.g. image width and height).
    pub fields: Map<String, Value>,
}

#[derive(Debug, thiserror::Error)]
pub enum ExtractError {
    /// The input itself cannot be processed (undecodable image, wrong input kind …).
    #[error("invalid input: {0}")]
    InvalidInput(String),
    /// A remote model failed after retries.
    #[error("remote embedding endpoint: {message}")]
    Remote {
        status: Option<u16>,
        message: String,
    },
    #[error("invalid parameters: {0}")]
    Parameters(String),
    /// A local model cannot be loaded or run (not installed, corrupt, failed inference).
    #[error("model unavailable: {0}")]
    Model(String),
}

/// What an extractor is, as the extractor list and collections see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct About {
    /// With `version`, the extractor's identity: `{name}_{version}`.
    pub name: &'static str,
    pub version: &'static str,
    pub input_kind: InputKind,
    /// One line for users.
    pub description: &'static str,
}

/// A named, versioned feature extractor.
#[async_trait::async_trait]
pub trait Extractor: Send + Sync {
    /// What the extractor is: name, version, input and description.
    fn about(&self) -> About;

    fn name(&self) -> &str {
        self.about().name
    }

    fn version(&self) -> &str {
        self.about().version
    }

    fn input_kind(&self) -> InputKind {
        self.about().input_kind
    }

    fn description(&self) -> &str {
        self.about().description
    }

    /// JSON Schema of this extractor's own parameters, with defaults and bounds.
    fn own_parameter_schema(&self) -> Value;

    /// Checks this extractor's own parameters and completes them with defaults.
    fn resolve_own_parameters(
        &self,
        params: &Map<String, Value>,
    ) -> Result<Map<String, Value>, Vec<ParamError>>;

    /// JSON Schema of the parameters: the extractor's own and the vector storage ones
    /// every extractor accepts ([`vector_storage`]).
    fn parameter_schema(&self) -> Value {
        vector_storage::with_schema(self.own_parameter_schema())
    }

    /// Checks user parameters and completes them with defaults; the result is what a
    /// collection stores and what [`Extractor::extract`] receives.
    fn resolve_parameters(
        &self,
        params: &Map<String, Value>,
    ) -> Result<Map<String, Value>, Vec<ParamError>> {
        vector_storage::resolve(params, |own| self.resolve_own_parameters(own))
    }

    /// The vector indexes documents carry, for resolved parameters.
    fn vector_outputs(&self, resolved: &Map<String, Value>) -> Vec<VectorOutput>;

    /// Extracts a batch; result `i` belongs to `inputs[i]`. Built-ins are deterministic.
    async fn extract(
        &self,
        inputs: &[ExtractorInput],
        resolved: &Map<String, Value>,
    ) -> Result<Vec<Vec<ExtractedChunk>>, ExtractError>;

    /// The output name of the keyword index over this extractor's text, if it writes text:
    /// every text extractor does, so any text collection can be searched by keywords and
    /// hybrid (dense + keywords) without a second extractor.
    fn keyword_output(&self) -> Option<&'static str> {
        (self.input_kind() == InputKind::Text).then_some(KEYWORD_OUTPUT)
    }

    /// `{name}_{version}`.
    fn id(&self) -> String {
        format!("{}_{}", self.name(), self.version())
    }

    /// `mixpeek://{name}@{version}/{output}`.
    fn feature_uri(&self, output: &str) -> String {
        format!("mixpeek://{}@{}/{output}", self.name(), self.version())
    }

    /// The name documents store an output's vectors under, unique across versions, so a
    /// v1 and a v2 vector never mix.
    fn storage_name(&self, output: &str) -> String {
        format!("{}_{}_{output}", self.name(), self.version())
    }

    /// Fields of the documents this extractor writes, as a bucket-schema-style object.
    fn output_fields(&self) -> Map<String, Value> {
        let mut fields = Map::new();
        if self.input_kind() == InputKind::Text {
            fields.insert("text".into(), serde_json::json!({"type": "text"}));
        }
        fields
    }

    /// The registry's description of this extractor.
    fn describe(&self) -> FeatureExtractorResponseModel {
        describe_extractor(self)
    }
}

/// The registry's description of `extractor` from its trait methods: what
/// [`Extractor::describe`] returns unless an extractor adds to it.
pub(crate) fn describe_extractor<E: Extractor + ?Sized>(
    extractor: &E,
) -> FeatureExtractorResponseModel {
    let defaults = extractor
        .resolve_parameters(&Map::new())
        .unwrap_or_default();
    let input = match extractor.input_kind() {
        InputKind::Text => "text",
        InputKind::Image => "image",
    };
    let outputs = extractor.vector_outputs(&defaults);
    let storage = vector_storage::VectorStorage::of(&defaults);
    let mut output_properties = extractor.output_fields();
    for output in &outputs {
        output_properties.insert(
            extractor.storage_name(&output.name),
            serde_json::json!({"type": "array", "items": {"type": "number"},
                                   "minItems": output.dimension, "maxItems": output.dimension}),
        );
    }
    FeatureExtractorResponseModel {
        feature_extractor_name: extractor.name().to_owned(),
        version: extractor.version().to_owned(),
        feature_extractor_id: extractor.id(),
        description: extractor.description().to_owned(),
        icon: if input == "text" {
            "file-text"
        } else {
            "image"
        }
        .to_owned(),
        category: input.to_owned(),
        source: "builtin".into(),
        type_mode: "type_specific".into(),
        expected_input_types: [(input.to_owned(), Value::from(input))]
            .into_iter()
            .collect(),
        inference_type: "embedding".into(),
        input_schema: serde_json::json!({
            "type": "object",
            "properties": {input: {"type": "string",
                                   "description": format!("The {input} to embed")}},
            "required": [input],
        }),
        output_schema: serde_json::json!({"type": "object", "properties": output_properties}),
        parameter_schema: Some(extractor.parameter_schema()),
        supported_input_types: vec![input.to_owned()],
        max_inputs: [(input.to_owned(), Value::from(1))].into_iter().collect(),
        default_parameters: defaults,
        required_vector_indexes: Some(
            outputs
                .iter()
                .map(|o| VectorIndexDefinition {
                    feature_uri: extractor.feature_uri(&o.name),
                    name: o.name.clone(),
                    description: format!(
                        "{}-dimensional {} embedding from {}@{}",
                        o.dimension,
                        input,
                        extractor.name(),
                        extractor.version()
                    ),
                    index_type: "single".into(),
                    index: VectorIndex {
                        name: extractor.storage_name(&o.name),
                        description: format!(
                            "Dense {input} vectors searched by {}",
                            o.metric.name()
                        ),
                        dimensions: (o.dimension > 0).then_some(o.dimension as i64),
                        vector_type: "dense".into(),
                        distance: o.metric.name().into(),
                        datatype: Some(storage.datatype),
                        on_disk: Some(storage.on_disk),
                    },
                })
                .chain(extractor.keyword_output().map(|output| {
                    VectorIndexDefinition {
                        feature_uri: extractor.feature_uri(output),
                        name: output.to_owned(),
                        description: format!(
                            "BM25 keyword index over the text of {}@{} documents",
                            extractor.name(),
                            extractor.version()
                        ),
                        index_type: "single".into(),
                        index: VectorIndex {
                            name: extractor.storage_name(output),
                            description: "Sparse term weights of the document text, searched by \
                                      BM25 with text queries"
                                .into(),
                            dimensions: None,
                            vector_type: "sparse".into(),
                            distance: "dot".into(),
                            datatype: None,
                            on_disk: None,
                        },
                    }
                }))
                .collect(),
        ),
        required_payload_indexes: Some(vec![]),
        position_fields: vec!["chunk_index".into()],
        capabilities: vec!["batch".into(), "realtime".into()],
        realtime_available: true,
    }
}

/// The extractors a server knows, by name and version.
pub struct Registry {
    extractors: BTreeMap<(String, String), Arc<dyn Extractor>>,
}

impl Registry {
    /// The built-in extractors; `remote` configures the OpenAI-compatible one, and
    /// `models_dir` is where `text_extractor` v3 finds its models (`FERRY_MODELS_DIR`).
    pub fn builtin(remote: RemoteEmbeddingConfig, models_dir: PathBuf) -> Registry {
        let all: Vec<Arc<dyn Extractor>> = vec![
            Arc::new(text::TextExtractor::v1()),
            Arc::new(text::TextExtractor::v2()),
            Arc::new(neural::NeuralTextExtractor::new(models_dir)),
            Arc::new(image_v1::ImageExtractor),
            Arc::new(remote::RemoteEmbeddingExtractor::new(remote)),
        ];
        Registry {
            extractors: all
                .into_iter()
                .map(|e| ((e.name().to_owned(), e.version().to_owned()), e))
                .map(|(key, e)| (key, Arc::new(metered::Metered(e)) as Arc<dyn Extractor>))
                .collect(),
        }
    }

    pub fn get(&self, name: &str, version: &str) -> Option<Arc<dyn Extractor>> {
        self.extractors
            .get(&(name.to_owned(), version.to_owned()))
            .cloned()
    }

    /// By `{name}_{version}` id.
    pub fn by_id(&self, id: &str) -> Option<Arc<dyn Extractor>> {
        self.extractors.values().find(|e| e.id() == id).cloned()
    }

    /// The versions registered under `name`, for "unknown version" messages.
    pub fn versions(&self, name: &str) -> Vec<String> {
        self.extractors
            .keys()
            .filter(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
            .collect()
    }

    /// Every extractor, ordered by name then version.
    pub fn list(&self) -> Vec<Arc<dyn Extractor>> {
        self.extractors.values().cloned().collect()
    }
}

/// Scales `v` to unit length (left as is when all zero).
pub(crate) fn l2_normalize(v: &mut [f32]) {
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm > 0.0 {
        for x in v {
            *x /= norm;
        }
    }
}
