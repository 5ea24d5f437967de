//! Field schemas of bucket objects and collection documents: the SDK's `BucketSchema` and
//! `BucketSchemaField` (`…Input` and `…Output` are the same shape).
//!
//! Collections carry two of them, `input_schema` (what the source offers) and `output_schema`
//! (passthrough fields plus extractor outputs), so this lives apart from any bucket module and
//! buckets reuse it.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

/// Type of a schema field: metadata types, then file/blob types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum BucketSchemaFieldType {
    String,
    Number,
    Integer,
    Float,
    Boolean,
    Object,
    Array,
    Date,
    Datetime,
    Text,
    Image,
    Audio,
    Video,
    Pdf,
    Excel,
}

impl BucketSchemaFieldType {
    /// Blob types hold files (stored content-addressed); the others hold JSON values.
    pub fn is_blob(self) -> bool {
        matches!(
            self,
            Self::Text | Self::Image | Self::Audio | Self::Video | Self::Pdf | Self::Excel
        )
    }
}

/// Definition of one field.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BucketSchemaField {
    #[serde(rename = "type")]
    pub field_type: BucketSchemaFieldType,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub default: Option<Value>,
    /// Element schema of an `array` field.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(no_recursion)]
    pub items: Option<Box<BucketSchemaField>>,
    /// Member schemas of an `object` field.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(no_recursion)]
    pub properties: Option<BTreeMap<String, BucketSchemaField>>,
    /// Example values, shown by clients as sample inputs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Vec<Object>>)]
    pub examples: Option<Vec<Value>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Allowed values.
    #[serde(default, rename = "enum", skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Vec<Object>>)]
    pub allowed: Option<Vec<Value>>,
    #[serde(default)]
    pub required: bool,
}

impl BucketSchemaField {
    /// A plain field of `field_type` with nothing else set.
    pub fn of(field_type: BucketSchemaFieldType) -> Self {
        BucketSchemaField {
            field_type,
            default: None,
            items: None,
            properties: None,
            examples: None,
            description: None,
            allowed: None,
            required: false,
        }
    }
}

/// Map of field names to their definitions.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BucketSchema {
    pub properties: BTreeMap<String, BucketSchemaField>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn nested_schema_round_trips() {
        let v = json!({"properties": {
            "content": {"type": "text", "required": true},
            "tags": {"type": "array", "items": {"type": "string", "required": false}, "required": false},
            "meta": {"type": "object", "properties": {"n": {"type": "integer", "required": false}},
                     "required": false, "description": "nested"},
            "kind": {"type": "string", "enum": ["a", "b"], "default": "a", "examples": ["a"],
                     "required": false}
        }});
        let schema: BucketSchema = serde_json::from_value(v.clone()).unwrap();
        assert!(schema.properties["content"].field_type.is_blob());
        assert_eq!(serde_json::to_value(&schema).unwrap(), v);
    }

    #[test]
    fn unknown_type_and_unknown_key_are_refused() {
        let err = serde_json::from_value::<BucketSchema>(
            json!({"properties": {"x": {"type": "keyword"}}}),
        )
        .unwrap_err();
        assert!(err.to_string().starts_with("unknown variant `keyword`"));
        let err = serde_json::from_value::<BucketSchema>(
            json!({"properties": {"x": {"type": "string", "nullable": true}}}),
        )
        .unwrap_err();
        assert!(err.to_string().starts_with("unknown field `nullable`"));
    }
}
