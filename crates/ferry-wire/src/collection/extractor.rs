//! The feature extractor a collection runs: as a request names it
//! ([`FeatureExtractorConfigInput`]), as responses show it ([`FeatureExtractorConfigOutput`]),
//! and the [`InputMappings`] that feed source fields to its inputs.

use std::fmt;

use serde::de::{self, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};
use utoipa::ToSchema;

use super::source::FieldPassthrough;
use crate::extractor::feature_extractor_id;

// The list form of `input_mappings` uses the SDK's one `InputMapping` model (and its
// `InputSourceType`), the same a taxonomy's retriever inputs use: one type, defined with the
// taxonomy, so the OpenAPI document has one schema of each name. The entry's `input_key`
// names an extractor input here; `path` is a dot-notation path for `payload` and `vector`
// sources, `override` the value itself for `literal` ones.
pub use crate::taxonomy::{InputMapping, InputSourceType};

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
    pub params: Option<Map<String, Value>>,
    /// Extractor parameters for this collection.
    pub parameters: Option<Map<String, Value>>,
    pub input_mappings: Option<InputMappings>,
    /// Source fields copied into output documents beside the extractor's outputs.
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
            feature_extractor_id: feature_extractor_id(&c.feature_extractor_name, &c.version),
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
