//! A collection's processing configuration as the store keeps it (`feature_extractor`
//! column): which extractor, with which resolved parameters, fed from which source fields, and
//! which source fields pass through to documents.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// One field copied from the source to each output document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Passthrough {
    pub source_path: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_path: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<Value>,
    #[serde(default)]
    pub required: bool,
}

impl Passthrough {
    /// The output field: `target_path`, else the last component of `source_path`.
    pub fn target(&self) -> &str {
        ferry_wire::collection::passthrough_target(&self.source_path, self.target_path.as_deref())
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CollectionConfig {
    pub feature_extractor_name: String,
    pub version: String,
    /// Resolved parameters (defaults applied).
    #[serde(default)]
    pub parameters: Map<String, Value>,
    /// Extractor input name → source field path (a blob property or a field), as
    /// `{"text": "content"}` or `[{"input_key": "text", "path": "content"}]`.
    #[serde(default)]
    pub input_mappings: Value,
    pub field_passthrough: Option<Vec<Passthrough>>,
    #[serde(default)]
    pub include_all_source_fields: bool,
}

impl CollectionConfig {
    /// The source path feeding extractor input `input`; the input's own name by default.
    pub fn input_path(&self, input: &str) -> String {
        let mapped = match &self.input_mappings {
            Value::Object(map) => match map.get(input) {
                Some(Value::String(p)) => Some(p.clone()),
                Some(Value::Array(paths)) => {
                    paths.first().and_then(Value::as_str).map(str::to_owned)
                }
                _ => None,
            },
            Value::Array(list) => list
                .iter()
                .find(|m| m["input_key"] == input)
                .and_then(|m| m["path"].as_str())
                .map(str::to_owned),
            _ => None,
        };
        mapped.unwrap_or_else(|| input.to_owned())
    }
}

/// Reads a dot-separated path out of a JSON object.
pub fn lookup<'a>(fields: &'a Map<String, Value>, path: &str) -> Option<&'a Value> {
    let mut parts = path.split('.');
    let mut current = fields.get(parts.next()?)?;
    for part in parts {
        current = current.as_object()?.get(part)?;
    }
    Some(current)
}
