//! `text_extractor`: hashed n-gram text embeddings.
//!
//! v1 hashes word unigrams and word bigrams into 384 dimensions; v2 hashes character 3- to
//! 5-grams of each word (padded with `<` `>`) plus word bigrams into 768. Both use signed
//! feature hashing (the hash picks a dimension and a sign) and L2 normalisation, so texts that
//! share words score a high cosine and unrelated texts score near zero.
//!
//! The hash is FNV-1a, written out here: it is a dozen lines, and an embedding must never
//! change with a Rust release or a platform, which rules out std's randomized hashers.

use serde_json::{json, Map, Value};

use crate::chunk::{self, Chunking};
use crate::params::{known_keys, ParamError};
use crate::{
    l2_normalize, About, ExtractError, ExtractedChunk, Extractor, ExtractorInput, InputKind,
    VectorOutput,
};

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

#[inline]
fn fnv_extend(mut hash: u64, bytes: &[u8]) -> u64 {
    for &b in bytes {
        hash ^= b as u64;
        hash = hash.wrapping_mul(FNV_PRIME);
    }
    hash
}

/// Adds ±`weight` at the dimension `hash` picks.
#[inline]
fn add(vector: &mut [f32], hash: u64, weight: f32) {
    // Mix the high bits down so the modulus sees all of the hash.
    let mixed = hash ^ (hash >> 29);
    let index = (mixed % vector.len() as u64) as usize;
    let sign = if hash >> 63 == 0 { 1.0 } else { -1.0 };
    vector[index] += sign * weight;
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scheme {
    /// Word unigrams + bigrams.
    Words,
    /// Character 3–5-grams + word bigrams.
    CharGrams,
}

pub struct TextExtractor {
    version: &'static str,
    dimension: usize,
    scheme: Scheme,
}

impl TextExtractor {
    pub fn v1() -> Self {
        TextExtractor {
            version: "v1",
            dimension: 384,
            scheme: Scheme::Words,
        }
    }

    pub fn v2() -> Self {
        TextExtractor {
            version: "v2",
            dimension: 768,
            scheme: Scheme::CharGrams,
        }
    }

    /// The embedding of one text.
    pub fn embed(&self, text: &str) -> Vec<f32> {
        let mut vector = vec![0f32; self.dimension];
        // Lower-cased words, reusing one buffer: no allocation per token.
        let mut word = String::new();
        let mut previous_hash: Option<u64> = None;
        let flush = |word: &mut String, previous_hash: &mut Option<u64>, vector: &mut [f32]| {
            if word.is_empty() {
                return;
            }
            let word_hash = fnv_extend(FNV_OFFSET, word.as_bytes());
            match self.scheme {
                Scheme::Words => add(vector, word_hash, 1.0),
                Scheme::CharGrams => {
                    let padded: Vec<u8> = [b"<".as_slice(), word.as_bytes(), b">"].concat();
                    for n in 3..=5 {
                        for gram in padded.windows(n) {
                            add(
                                vector,
                                fnv_extend(fnv_extend(FNV_OFFSET, &[n as u8]), gram),
                                0.5,
                            );
                        }
                    }
                }
            }
            if let Some(prev) = *previous_hash {
                add(
                    vector,
                    fnv_extend(prev ^ 0x9e37_79b9_7f4a_7c15, word.as_bytes()),
                    0.7,
                );
            }
            *previous_hash = Some(word_hash);
            word.clear();
        };
        for c in text.chars() {
            if c.is_alphanumeric() {
                word.extend(c.to_lowercase());
            } else {
                flush(&mut word, &mut previous_hash, &mut vector);
            }
        }
        flush(&mut word, &mut previous_hash, &mut vector);
        l2_normalize(&mut vector);
        vector
    }
}

#[async_trait::async_trait]
impl Extractor for TextExtractor {
    fn about(&self) -> About {
        let description = match self.scheme {
            Scheme::Words => {
                "Text embeddings from hashed word unigrams and bigrams (384 dimensions); \
                 deterministic, no model download"
            }
            Scheme::CharGrams => {
                "Text embeddings from hashed character 3-5-grams and word bigrams (768 \
                 dimensions); robust to spelling variants, deterministic"
            }
        };
        About {
            name: "text_extractor",
            version: self.version,
            input_kind: InputKind::Text,
            description,
        }
    }

    fn own_parameter_schema(&self) -> Value {
        json!({
            "type": "object",
            "additionalProperties": false,
            "properties": chunk::schema_properties(),
        })
    }

    fn resolve_own_parameters(
        &self,
        params: &Map<String, Value>,
    ) -> Result<Map<String, Value>, Vec<ParamError>> {
        let mut errors = Vec::new();
        known_keys(params, &["split_by", "chunk_size"], &mut errors);
        let chunking = Chunking::check(params, &mut errors);
        if !errors.is_empty() {
            return Err(errors);
        }
        let mut resolved = Map::new();
        chunking.resolve_into(&mut resolved);
        Ok(resolved)
    }

    fn vector_outputs(&self, _resolved: &Map<String, Value>) -> Vec<VectorOutput> {
        vec![VectorOutput::cosine("text_embedding", self.dimension)]
    }

    async fn extract(
        &self,
        inputs: &[ExtractorInput],
        resolved: &Map<String, Value>,
    ) -> Result<Vec<Vec<ExtractedChunk>>, ExtractError> {
        let (split_by, size) = chunk::settings(resolved);
        inputs
            .iter()
            .map(|input| match input {
                ExtractorInput::Text(text) => Ok(chunk::split(text, split_by, size)
                    .into_iter()
                    .enumerate()
                    .map(|(i, chunk)| ExtractedChunk {
                        chunk_index: i as u32,
                        vectors: vec![("text_embedding".into(), self.embed(&chunk))],
                        text: Some(chunk),
                        fields: Map::new(),
                    })
                    .collect()),
                ExtractorInput::Image(_) => Err(ExtractError::InvalidInput(
                    "text_extractor reads text, not an image".into(),
                )),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cosine(a: &[f32], b: &[f32]) -> f32 {
        a.iter().zip(b).map(|(x, y)| x * y).sum()
    }

    #[test]
    fn embeddings_are_deterministic_unit_vectors_of_each_versions_dimension() {
        for (extractor, dim) in [(TextExtractor::v1(), 384), (TextExtractor::v2(), 768)] {
            let a = extractor.embed("The quick brown fox jumps over the lazy dog");
            let b = extractor.embed("The quick brown fox jumps over the lazy dog");
            assert_eq!(a.len(), dim);
            assert_eq!(a, b, "same text, same bits");
            let norm: f32 = a.iter().map(|x| x * x).sum::<f32>().sqrt();
            assert!((norm - 1.0).abs() < 1e-5, "{norm}");
        }
    }

    #[test]
    fn similar_texts_score_higher_than_unrelated_ones() {
        for extractor in [TextExtractor::v1(), TextExtractor::v2()] {
            let query = extractor.embed("migrating a namespace of documents");
            let close = extractor.embed("how to migrate the documents of a namespace");
            let far = extractor.embed("banana bread recipe with walnuts");
            assert!(cosine(&query, &close) > 0.3, "{}", cosine(&query, &close));
            assert!(cosine(&query, &close) > cosine(&query, &far) + 0.2);
        }
    }

    #[test]
    fn versions_embed_differently() {
        let v1 = TextExtractor::v1().embed("same words");
        let v2 = TextExtractor::v2().embed("same words");
        assert_ne!(v1.len(), v2.len());
    }

    #[test]
    fn parameters_are_checked_and_completed() {
        let e = TextExtractor::v1();
        let resolved = e.resolve_parameters(&Map::new()).unwrap();
        assert_eq!(resolved["split_by"], "none");
        assert_eq!(resolved["chunk_size"], 1000);
        let bad: Map<String, Value> =
            serde_json::from_value(json!({"chunk_size": 0, "split_by": "lines", "colour": 1}))
                .unwrap();
        let kinds: Vec<&str> = e
            .resolve_parameters(&bad)
            .unwrap_err()
            .iter()
            .map(|p| p.kind)
            .collect();
        assert!(kinds.contains(&"greater_than_equal"));
        assert!(kinds.contains(&"enum"));
        assert!(kinds.contains(&"extra_forbidden"));
    }

    #[tokio::test]
    async fn chunking_makes_one_document_per_chunk_and_none_for_blank_text() {
        let e = TextExtractor::v1();
        let params: Map<String, Value> =
            serde_json::from_value(json!({"split_by": "words", "chunk_size": 2})).unwrap();
        let resolved = e.resolve_parameters(&params).unwrap();
        let out = e
            .extract(
                &[
                    ExtractorInput::Text("a b c d e".into()),
                    ExtractorInput::Text(" ".into()),
                ],
                &resolved,
            )
            .await
            .unwrap();
        assert_eq!(out[0].len(), 3);
        assert_eq!(out[0][2].text.as_deref(), Some("e"));
        assert_eq!(out[0][1].chunk_index, 1);
        assert!(out[1].is_empty());
    }
}
