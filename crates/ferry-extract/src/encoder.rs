//! Running one sentence-transformer on CPU: tokenization, length-bucketed batches, the BERT
//! forward pass (candle), pooling and normalisation as the model's own config says.
//!
//! Loaded encoders are cached process-wide by model directory: loading reads ~90 MB of
//! weights and takes a noticeable fraction of a second, while every batch of every
//! collection on the model needs it. A failed load is not cached, so installing or repairing
//! a model takes effect without a restart.
//!
//! Batching: texts are tokenized without padding (the snapshot's `tokenizer.json` may pad
//! every text to a fixed length, which would multiply the work), truncated at the model's
//! maximum sequence length, sorted by length, and grouped so that each batch pads only to
//! its own longest text and stays under a token budget. candle's matrix products spread over
//! every core (its gemm runs on rayon's pool).

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};

use candle_core::{DType, Device, Tensor, D};
use candle_nn::VarBuilder;
use candle_transformers::models::bert::{BertModel, Config};
use tokenizers::{Tokenizer, TruncationDirection, TruncationParams, TruncationStrategy};

use crate::models::{ModelError, ModelSpec, Pooling};

/// Most texts in one forward pass.
const MAX_BATCH: usize = 64;
/// Most padded tokens (texts × longest length) in one forward pass: bounds the attention
/// matrices' memory (batch × heads × length²) for long texts while short texts still form
/// large batches.
const TOKEN_BUDGET: usize = 8192;

/// A loaded model, ready to embed.
pub struct Encoder {
    pub spec: ModelSpec,
    tokenizer: Tokenizer,
    model: BertModel,
}

fn cache() -> &'static Mutex<HashMap<PathBuf, Arc<Encoder>>> {
    static CACHE: OnceLock<Mutex<HashMap<PathBuf, Arc<Encoder>>>> = OnceLock::new();
    CACHE.get_or_init(Default::default)
}

impl Encoder {
    /// The encoder of `spec`, loaded once per process. Blocking: call it off the async
    /// runtime.
    pub fn shared(spec: &ModelSpec) -> Result<Arc<Encoder>, ModelError> {
        // Held while loading, so concurrent first uses load the model once.
        let mut cache = cache().lock().unwrap_or_else(|e| e.into_inner());
        if let Some(encoder) = cache.get(&spec.dir).filter(|e| e.spec == *spec) {
            return Ok(encoder.clone());
        }
        let encoder = Arc::new(Encoder::load(spec.clone())?);
        cache.insert(spec.dir.clone(), encoder.clone());
        Ok(encoder)
    }

    /// Threads the matrix products run on (rayon's pool: every core unless
    /// `RAYON_NUM_THREADS` says otherwise).
    pub fn threads() -> usize {
        candle_core::utils::get_num_threads()
    }

    /// Loads tokenizer and weights.
    pub fn load(spec: ModelSpec) -> Result<Encoder, ModelError> {
        let corrupt = |reason: String| ModelError::Corrupt {
            dir: spec.dir.clone(),
            model: spec.name.clone(),
            reason,
        };
        let mut tokenizer = Tokenizer::from_file(spec.dir.join("tokenizer.json"))
            .map_err(|e| corrupt(format!("tokenizer.json cannot be read: {e}")))?;
        tokenizer.with_padding(None);
        tokenizer
            .with_truncation(Some(TruncationParams {
                max_length: spec.max_seq_length,
                strategy: TruncationStrategy::LongestFirst,
                stride: 0,
                direction: TruncationDirection::Right,
            }))
            .map_err(|e| corrupt(format!("tokenizer.json: {e}")))?;
        let config: Config = serde_json::from_slice(
            &std::fs::read(spec.dir.join("config.json"))
                .map_err(|e| corrupt(format!("config.json: {e}")))?,
        )
        .map_err(|e| corrupt(format!("config.json is not a BERT configuration: {e}")))?;
        let weights = std::fs::read(spec.dir.join("model.safetensors"))
            .map_err(|e| corrupt(format!("model.safetensors: {e}")))?;
        let vb = VarBuilder::from_buffered_safetensors(weights, DType::F32, &Device::Cpu)
            .map_err(|e| corrupt(format!("model.safetensors: {e}")))?;
        let model = BertModel::load(vb, &config).map_err(|e| {
            corrupt(format!(
                "model.safetensors does not hold the weights config.json describes: {e}"
            ))
        })?;
        Ok(Encoder {
            spec,
            tokenizer,
            model,
        })
    }

    /// Token ids of each text, truncated, unpadded.
    fn tokenize(&self, texts: &[&str]) -> Result<Vec<Vec<u32>>, String> {
        let lowered: Vec<String>;
        let inputs: Vec<&str> = if self.spec.do_lower_case {
            lowered = texts.iter().map(|t| t.to_lowercase()).collect();
            lowered.iter().map(String::as_str).collect()
        } else {
            texts.to_vec()
        };
        let encodings = self
            .tokenizer
            .encode_batch(inputs, true)
            .map_err(|e| format!("tokenization failed: {e}"))?;
        Ok(encodings
            .into_iter()
            .map(|e| e.get_ids().to_vec())
            .collect())
    }

    /// The number of word-pieces each text becomes (after truncation).
    pub fn token_counts(&self, texts: &[&str]) -> Result<Vec<usize>, String> {
        Ok(self.tokenize(texts)?.iter().map(Vec::len).collect())
    }

    /// Embeds `texts`; result `i` belongs to `texts[i]`. Blocking and CPU-bound.
    pub fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, String> {
        let ids = self.tokenize(texts)?;
        let mut order: Vec<usize> = (0..ids.len()).collect();
        order.sort_by_key(|&i| ids[i].len());
        let mut out: Vec<Vec<f32>> = vec![Vec::new(); ids.len()];
        let mut start = 0;
        while start < order.len() {
            // Sorted ascending, so the batch's last text is its longest.
            let mut end = start + 1;
            while end < order.len()
                && end - start < MAX_BATCH
                && (end - start + 1) * ids[order[end]].len() <= TOKEN_BUDGET
            {
                end += 1;
            }
            let batch: Vec<&[u32]> = order[start..end].iter().map(|&i| &ids[i][..]).collect();
            let vectors = self
                .forward(&batch)
                .map_err(|e| format!("inference failed: {e}"))?;
            for (&i, v) in order[start..end].iter().zip(vectors) {
                out[i] = v;
            }
            start = end;
        }
        Ok(out)
    }

    /// One padded forward pass and pooling.
    fn forward(&self, batch: &[&[u32]]) -> candle_core::Result<Vec<Vec<f32>>> {
        let n = batch.len();
        let len = batch.iter().map(|ids| ids.len()).max().unwrap_or(0).max(1);
        let mut input = vec![0u32; n * len];
        let mut mask = vec![0u32; n * len];
        for (row, ids) in batch.iter().enumerate() {
            input[row * len..row * len + ids.len()].copy_from_slice(ids);
            mask[row * len..row * len + ids.len()].fill(1);
        }
        let device = Device::Cpu;
        let input = Tensor::from_vec(input, (n, len), &device)?;
        let mask = Tensor::from_vec(mask, (n, len), &device)?;
        let types = input.zeros_like()?;
        let hidden = self.model.forward(&input, &types, Some(&mask))?;
        let maskf = mask.to_dtype(DType::F32)?.unsqueeze(2)?;
        let pooled = match self.spec.pooling {
            Pooling::Cls => hidden.narrow(1, 0, 1)?.squeeze(1)?,
            Pooling::Mean | Pooling::MeanSqrtLen => {
                let sum = hidden.broadcast_mul(&maskf)?.sum(1)?;
                let count = maskf.sum(1)?;
                let count = if self.spec.pooling == Pooling::Mean {
                    count
                } else {
                    count.sqrt()?
                };
                sum.broadcast_div(&count)?
            }
            Pooling::Max => {
                // Padding positions are pushed far below any real activation first.
                let penalty = ((maskf.ones_like()? - &maskf)? * -1e9)?;
                hidden.broadcast_add(&penalty)?.max(1)?
            }
        };
        let pooled = if self.spec.normalize {
            let norm = pooled.sqr()?.sum_keepdim(D::Minus1)?.sqrt()?;
            pooled.broadcast_div(&norm.clamp(1e-12, f32::MAX)?)?
        } else {
            pooled
        };
        pooled.to_vec2::<f32>()
    }
}
