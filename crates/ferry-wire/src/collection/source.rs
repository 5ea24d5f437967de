//! Where a collection's input comes from: [`SourceConfig`] (buckets or upstream collections,
//! with filters and per-source field selection) and the [`FieldPassthrough`] entries that copy
//! source fields into output documents.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use crate::filter::LogicalOperator;
use crate::validate::{Errors, Validate};

/// Where a collection's input comes from. Ferry builds collections from buckets and from other
/// collections; the other kinds appear on collections Mixpeek itself creates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SourceType {
    Bucket,
    Collection,
    Taxonomy,
    Cluster,
    DirectUpsert,
    Signals,
    None,
}

impl SourceType {
    pub fn as_str(self) -> &'static str {
        match self {
            SourceType::Bucket => "bucket",
            SourceType::Collection => "collection",
            SourceType::Taxonomy => "taxonomy",
            SourceType::Cluster => "cluster",
            SourceType::DirectUpsert => "direct_upsert",
            SourceType::Signals => "signals",
            SourceType::None => "none",
        }
    }
}

/// Filters applied to source objects or documents when a batch is created.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SourceFilters {
    pub filters: Option<LogicalOperator>,
}

/// A source field copied into output documents.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FieldPassthrough {
    /// Path of the source field; dot notation reaches nested fields.
    pub source_path: String,
    /// Output field name; the last segment of `source_path` when absent.
    pub target_path: Option<String>,
    /// Value used when the source field is missing.
    #[schema(value_type = Option<Object>)]
    pub default: Option<Value>,
    /// A missing source field fails processing instead of being omitted.
    #[serde(default)]
    pub required: bool,
}

impl FieldPassthrough {
    /// The output field name.
    pub fn target(&self) -> &str {
        passthrough_target(&self.source_path, self.target_path.as_deref())
    }
}

/// A passed-through field's output name: `target_path`, else the last segment of
/// `source_path`. Shared with the stored form of a passthrough (`ferry-pipeline`).
pub fn passthrough_target<'a>(source_path: &'a str, target_path: Option<&'a str>) -> &'a str {
    target_path.unwrap_or_else(|| source_path.rsplit('.').next().unwrap_or(source_path))
}

/// Configuration of a collection's source (the SDK's `SourceConfigInput` and
/// `SourceConfigOutput`, which are the same shape). Unset keys are left out of responses.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SourceConfig {
    #[serde(rename = "type")]
    pub source_type: SourceType,
    /// Buckets to process when `type` is `bucket`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bucket_ids: Option<Vec<String>>,
    /// Namespace holding the source buckets, when not the collection's own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_namespace_id: Option<String>,
    /// The upstream collection when `type` is `collection` (or use `collection_ids`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub collection_id: Option<String>,
    /// Upstream collections when `type` is `collection` (or use `collection_id`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub collection_ids: Option<Vec<String>>,
    /// Buckets the upstream collections originate from; computed at creation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inherited_bucket_ids: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_filters: Option<SourceFilters>,
    /// Per-source field selection for multi-source collections: source id → fields. Never
    /// written as null: the SDK's `SourceConfig.from_dict` iterates it whenever the key is there.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field_map: Option<BTreeMap<String, Vec<FieldPassthrough>>>,
}

impl Validate for SourceConfig {
    fn validate(&self, errors: &mut Errors) {
        errors.list_not_empty("bucket_ids", self.bucket_ids.as_ref().map(Vec::len));
        errors.list_not_empty("collection_ids", self.collection_ids.as_ref().map(Vec::len));
        match self.source_type {
            SourceType::Bucket => {
                if self.bucket_ids.is_none() {
                    errors.push("bucket_ids", "missing", "Field required");
                }
                for (key, set) in [
                    ("collection_id", self.collection_id.is_some()),
                    ("collection_ids", self.collection_ids.is_some()),
                ] {
                    if set {
                        errors.push(
                            key,
                            "value_error",
                            format!("Value error, {key} is not allowed when type is 'bucket'"),
                        );
                    }
                }
            }
            SourceType::Collection => {
                match (&self.collection_id, &self.collection_ids) {
                    (None, None) => errors.push("collection_id", "missing", "Field required"),
                    (Some(_), Some(_)) => errors.push(
                        "collection_ids",
                        "value_error",
                        "Value error, give collection_id or collection_ids, not both",
                    ),
                    _ => {}
                }
                for (key, set) in [
                    ("bucket_ids", self.bucket_ids.is_some()),
                    ("source_namespace_id", self.source_namespace_id.is_some()),
                ] {
                    if set {
                        errors.push(
                            key,
                            "value_error",
                            format!("Value error, {key} is not allowed when type is 'collection'"),
                        );
                    }
                }
            }
            other => errors.push(
                "type",
                "value_error",
                format!(
                    "Value error, collections are built from 'bucket' or 'collection' sources, not '{}'",
                    other.as_str()
                ),
            ),
        }
        if let Some(filters) = self
            .source_filters
            .as_ref()
            .and_then(|f| f.filters.as_ref())
        {
            errors.at("source_filters", |errors| {
                errors.at("filters", |errors| filters.validate(errors))
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn collection_sources_take_one_of_id_or_ids() {
        let both: SourceConfig = serde_json::from_value(
            json!({"type": "collection", "collection_id": "col_a", "collection_ids": ["col_b"]}),
        )
        .unwrap();
        assert_eq!(both.validation_errors()[0].kind, "value_error");
        let one: SourceConfig =
            serde_json::from_value(json!({"type": "collection", "collection_ids": ["col_b"]}))
                .unwrap();
        assert!(one.validation_errors().is_empty());
    }
}
