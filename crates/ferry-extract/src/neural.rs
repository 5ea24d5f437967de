//! `text_extractor` v3: neural text embeddings from a BERT-family sentence-transformer run in
//! process on CPU, from a local snapshot under the models directory (`FERRY_MODELS_DIR`).
//!
//! The `model` parameter names the snapshot (default all-MiniLM-L6-v2), so moving a
//! namespace to another model is an ordinary `re_extract` with new parameters. The
//! dimension comes from the model's config.
//!
//! Naming: every model shares the version's feature URI (`mixpeek://text_extractor@v3/
//! text_embedding`) and storage name (`text_extractor_v3_text_embedding`). Vector spaces
//! still never mix: a collection's documents all come from the one model its parameters pin
//! (a re_extract rebuilds the whole collection), and a text query is embedded per collection
//! with that collection's own parameters. Keeping the URI model-independent is what lets a
//! re_extract re-point retrievers, taxonomies and clusters from v1/v2 to v3 unchanged.
//!
//! Blank text has no embedding. As with v1/v2, a text whose chunks are all blank gives
//! no document, so `split_by` behaves the same across versions; but a text that is blank
//! as a whole is refused as invalid input with a message saying so, because a query or an
//! object with no words is almost always a mapping mistake worth seeing.

use std::path::PathBuf;
use std::sync::Arc;

use serde_json::{json, Map, Value};

use crate::chunk::{self, Chunking};
use crate::encoder::Encoder;
use crate::models::{self, ModelError, ModelSpec, DEFAULT_MODEL};
use crate::params::{known_keys, string, ParamError};
use crate::{
    About, ExtractError, ExtractedChunk, Extractor, ExtractorInput, InputKind, VectorOutput,
};
use ferry_wire::extractor::FeatureExtractorResponseModel;

const OUTPUT: &str = "text_embedding";

pub struct NeuralTextExtractor {
    models_dir: PathBuf,
}

impl NeuralTextExtractor {
    pub fn new(models_dir: PathBuf) -> Self {
        NeuralTextExtractor { models_dir }
    }

    fn spec(&self, resolved: &Map<String, Value>) -> Result<ModelSpec, ModelError> {
        let model = resolved
            .get("model")
            .and_then(Value::as_str)
            .unwrap_or(DEFAULT_MODEL);
        models::read_spec(&self.models_dir, model)
    }
}

/// The input texts' chunks at the collection's chunking settings, flattened, with the input
/// each came from.
fn chunks_of(
    inputs: &[ExtractorInput],
    resolved: &Map<String, Value>,
) -> Result<Vec<(usize, String)>, ExtractError> {
    let (split_by, size) = chunk::settings(resolved);
    let mut all = Vec::new();
    for (i, input) in inputs.iter().enumerate() {
        let ExtractorInput::Text(text) = input else {
            return Err(ExtractError::InvalidInput(
                "text_extractor reads text, not an image".into(),
            ));
        };
        if text.trim().is_empty() {
            return Err(ExtractError::InvalidInput(
                "empty text: text_extractor v3 embeds words, and this text has none (check \
                 the input_mappings, or the query)"
                    .into(),
            ));
        }
        for piece in chunk::split(text, split_by, size) {
            all.push((i, piece));
        }
    }
    Ok(all)
}

#[async_trait::async_trait]
impl Extractor for NeuralTextExtractor {
    fn about(&self) -> About {
        About {
            name: "text_extractor",
            version: "v3",
            input_kind: InputKind::Text,
            description: "Neural text embeddings from a BERT-family sentence-transformer \
                (default all-MiniLM-L6-v2, 384 dimensions) run in process on CPU from \
                FERRY_MODELS_DIR",
        }
    }

    fn own_parameter_schema(&self) -> Value {
        let mut properties = chunk::schema_properties();
        properties.insert(
            "model".into(),
            json!({"type": "string", "default": DEFAULT_MODEL,
                   "description": "Directory name of a sentence-transformers snapshot in FERRY_MODELS_DIR"}),
        );
        json!({
            "type": "object",
            "additionalProperties": false,
            "properties": properties,
        })
    }

    fn resolve_own_parameters(
        &self,
        params: &Map<String, Value>,
    ) -> Result<Map<String, Value>, Vec<ParamError>> {
        let mut errors = Vec::new();
        known_keys(params, &["model", "split_by", "chunk_size"], &mut errors);
        let model = string(params, "model", &mut errors).unwrap_or_else(|| DEFAULT_MODEL.into());
        let chunking = Chunking::check(params, &mut errors);
        if let Err(e) = models::read_spec(&self.models_dir, &model) {
            errors.push(ParamError::new("model", e.code(), e.to_string()));
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        let mut resolved = Map::new();
        resolved.insert("model".into(), Value::String(model));
        chunking.resolve_into(&mut resolved);
        Ok(resolved)
    }

    fn vector_outputs(&self, resolved: &Map<String, Value>) -> Vec<VectorOutput> {
        // An uninstalled model has no known dimension; 0 is how the registry says so.
        let dimension = self.spec(resolved).map_or(0, |s| s.dimension);
        vec![VectorOutput::cosine(OUTPUT, dimension)]
    }

    async fn extract(
        &self,
        inputs: &[ExtractorInput],
        resolved: &Map<String, Value>,
    ) -> Result<Vec<Vec<ExtractedChunk>>, ExtractError> {
        let chunks = chunks_of(inputs, resolved)?;
        let spec = self
            .spec(resolved)
            .map_err(|e| ExtractError::Model(e.to_string()))?;
        let texts: Vec<String> = chunks.iter().map(|(_, t)| t.clone()).collect();
        let vectors = embed_blocking(spec, texts).await?;
        let mut out: Vec<Vec<ExtractedChunk>> = vec![Vec::new(); inputs.len()];
        for ((input, text), vector) in chunks.into_iter().zip(vectors) {
            let chunk_index = out[input].len() as u32;
            out[input].push(ExtractedChunk {
                chunk_index,
                text: Some(text),
                vectors: vec![(OUTPUT.into(), vector)],
                fields: Map::new(),
            });
        }
        Ok(out)
    }

    fn describe(&self) -> FeatureExtractorResponseModel {
        let mut described = crate::describe_extractor(self);
        match models::read_spec(&self.models_dir, DEFAULT_MODEL) {
            Ok(spec) => {
                described.description = format!(
                    "{} Default model installed: {} dimensions, max {} word-pieces, {} pooling.",
                    described.description,
                    spec.dimension,
                    spec.max_seq_length,
                    spec.pooling.name()
                );
            }
            Err(e) => {
                described.description = format!("{} Not usable yet: {e}", described.description);
                described.default_parameters = [
                    ("model".to_owned(), Value::from(DEFAULT_MODEL)),
                    ("split_by".to_owned(), Value::from("none")),
                    ("chunk_size".to_owned(), Value::from(1000)),
                ]
                .into_iter()
                .collect();
                described.realtime_available = false;
            }
        }
        described
    }
}

/// Runs `texts` through the model on the blocking pool, loading the model on first use.
async fn embed_blocking(
    spec: ModelSpec,
    texts: Vec<String>,
) -> Result<Vec<Vec<f32>>, ExtractError> {
    if texts.is_empty() {
        return Ok(Vec::new());
    }
    tokio::task::spawn_blocking(move || {
        let encoder: Arc<Encoder> =
            Encoder::shared(&spec).map_err(|e| ExtractError::Model(e.to_string()))?;
        let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
        encoder.embed(&refs).map_err(ExtractError::Model)
    })
    .await
    .map_err(|e| ExtractError::Model(format!("the inference thread failed: {e}")))?
}
