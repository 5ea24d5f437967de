//! Writing documents directly: the create and patch bodies, the features and vectors a create
//! may carry, and the rule that root keys the system writes itself cannot be written.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::ToSchema;

use super::lineage::{LineageSourceType, LineageStep};
use crate::validate::{Errors, Validate};

/// Root keys the system writes on every document response.
const SYSTEM_ROOT_KEYS: &[&str] = &[
    "document_id",
    "collection_id",
    "document_blobs",
    "vector_hydration_incomplete",
    "searchable_at",
];

/// Keys a document gets at creation and keeps for life.
const CREATE_ONLY_KEYS: &[&str] = &[
    "root_object_id",
    "root_bucket_id",
    "source_type",
    "source_collection_id",
    "source_document_id",
    "source_object_id",
    "lineage_path",
    "lineage_chain",
    "content_hash",
    "document_schema_version",
    "features",
    "vectors",
];

/// Refuses root fields that would collide with what the system writes: the response's own keys
/// and every `_`-prefixed key (`_internal`, `_vectors`, `_expanded` …).
fn validate_root_fields(errors: &mut Errors, fields: &Map<String, Value>, also: &[&str]) {
    for key in fields.keys() {
        if key.starts_with('_') || SYSTEM_ROOT_KEYS.contains(&key.as_str()) {
            errors.push(
                key,
                "value_error",
                format!("Value error, '{key}' is a system field and cannot be written"),
            );
        } else if also.contains(&key.as_str()) {
            errors.push(
                key,
                "value_error",
                format!(
                    "Value error, '{key}' is set when a document is created and cannot be changed"
                ),
            );
        }
    }
}

/// Features an extractor produced for a document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FeatureModel {
    pub feature_extractor_id: String,
    /// Metadata of the feature.
    pub payload: Option<Map<String, Value>>,
    /// Vectors by name: dense (`{"embedding": [0.1, …]}`), multi-vector
    /// (`{"tokens": [[…], […]]}`) or sparse (`{"indices": [3, 9], "values": [0.5, 0.2]}`).
    pub vectors: Option<Map<String, Value>>,
}

fn is_number_list(v: &Value) -> bool {
    v.as_array()
        .is_some_and(|items| items.iter().all(Value::is_number))
}

impl Validate for FeatureModel {
    fn validate(&self, errors: &mut Errors) {
        let Some(vectors) = &self.vectors else { return };
        let sparse = vectors.len() == 2
            && vectors.get("indices").is_some_and(|v| {
                v.as_array()
                    .is_some_and(|i| i.iter().all(|n| n.as_u64().is_some()))
            })
            && vectors.get("values").is_some_and(is_number_list);
        if sparse {
            return;
        }
        errors.at("vectors", |errors| {
            for (name, v) in vectors {
                let dense_or_multi = is_number_list(v)
                    || v.as_array()
                        .is_some_and(|rows| !rows.is_empty() && rows.iter().all(is_number_list));
                if !dense_or_multi {
                    errors.push(
                        name,
                        "value_error",
                        "Value error, a vector is a list of numbers or a list of such lists",
                    );
                }
            }
        });
    }
}

/// Request model for creating a document directly (not through an extractor).
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
pub struct DocumentCreateRequest {
    /// Filled from the path when absent; a different value is refused.
    pub collection_id: Option<String>,
    pub root_object_id: Option<String>,
    pub root_bucket_id: Option<String>,
    pub source_type: Option<LineageSourceType>,
    pub source_collection_id: Option<String>,
    pub source_document_id: Option<String>,
    pub source_object_id: Option<String>,
    pub lineage_path: Option<String>,
    pub lineage_chain: Option<Vec<LineageStep>>,
    /// SHA-256 of the source content.
    pub content_hash: Option<String>,
    /// Accepted and ignored: Ferry has one document layout.
    pub document_schema_version: Option<String>,
    /// User-defined metadata.
    pub metadata: Option<Map<String, Value>>,
    pub features: Option<Vec<FeatureModel>>,
    /// Pre-computed vectors by index name: the full name (`text_extractor_v1_embedding`) or the
    /// last segment of its feature URI.
    pub vectors: Option<BTreeMap<String, Vec<f64>>>,
    /// The document's own fields, stored at its root.
    #[serde(flatten)]
    pub fields: Map<String, Value>,
}

impl Validate for DocumentCreateRequest {
    fn validate(&self, errors: &mut Errors) {
        validate_root_fields(errors, &self.fields, &[]);
        errors.each("features", self.features.as_deref());
    }
}

/// Body of `PATCH …/documents/{document_id}`. Root keys set the document's own fields; in
/// `metadata` each key sent is set, keys omitted stay, and a key set to `null` is removed.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
pub struct PatchDocumentRequest {
    pub metadata: Option<Map<String, Value>>,
    /// Root fields to set.
    #[serde(flatten)]
    pub fields: Map<String, Value>,
}

impl Validate for PatchDocumentRequest {
    fn validate(&self, errors: &mut Errors) {
        validate_root_fields(errors, &self.fields, CREATE_ONLY_KEYS);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::document::locs;
    use serde_json::json;

    #[test]
    fn sdk_create_request_keeps_custom_fields_at_the_root() {
        // `DocumentCreateRequest(...)` with `additional_properties`, as the SDK sends it.
        let req: DocumentCreateRequest = serde_json::from_value(json!({
            "collection_id": "col_articles",
            "source_type": "bucket",
            "source_object_id": "obj_1",
            "root_object_id": "obj_1",
            "root_bucket_id": "bkt_1",
            "lineage_chain": [{"collection_id": "col_articles",
                               "feature_extractor_id": "text_extractor_v1",
                               "timestamp": "2025-10-31T10:00:00"}],
            "metadata": {"lang": "en"},
            "features": [{"feature_extractor_id": "text_extractor_v1",
                          "payload": {"chunk": 0},
                          "vectors": {"embedding": [0.1, 0.2, 3]}}],
            "vectors": {"text_extractor_v1_embedding": [0.1, 0.2, 3]},
            "title": "AI in Healthcare",
            "year": 2025
        }))
        .unwrap_or_else(|e| panic!("{e}"));
        assert!(req.validation_errors().is_empty());
        assert_eq!(req.source_type, Some(LineageSourceType::Bucket));
        assert_eq!(req.fields.get("title"), Some(&json!("AI in Healthcare")));
        assert_eq!(req.fields.len(), 2);
        assert_eq!(req.vectors.unwrap()["text_extractor_v1_embedding"][2], 3.0);
    }

    #[test]
    fn create_refuses_system_keys_and_bad_vectors() {
        let req: DocumentCreateRequest = serde_json::from_value(json!({
            "document_id": "doc_x", "_internal": {}, "features": [
                {"feature_extractor_id": "x", "vectors": {"embedding": "not a vector"}}
            ]
        }))
        .unwrap();
        assert_eq!(
            locs(&req.validation_errors()),
            vec![
                (vec![json!("_internal")], "value_error"),
                (vec![json!("document_id")], "value_error"),
                (
                    vec![
                        json!("features"),
                        json!(0),
                        json!("vectors"),
                        json!("embedding")
                    ],
                    "value_error"
                ),
            ]
        );
        let sparse: FeatureModel = serde_json::from_value(json!({
            "feature_extractor_id": "x", "vectors": {"indices": [1, 5], "values": [0.5, 0.1]}
        }))
        .unwrap();
        assert!(sparse.validation_errors().is_empty());
        let err = serde_json::from_value::<DocumentCreateRequest>(json!({"source_type": "upload"}))
            .unwrap_err();
        assert!(err.to_string().starts_with("unknown variant `upload`"));
        let err = serde_json::from_value::<DocumentCreateRequest>(json!({"vectors": {"v": ["x"]}}))
            .unwrap_err();
        assert!(err.to_string().starts_with("invalid type: string"), "{err}");
    }

    #[test]
    fn patch_sets_root_fields_but_not_lineage() {
        let patch: PatchDocumentRequest = serde_json::from_value(json!({
            "metadata": {"status": "reviewed", "old": null}, "title": "New"
        }))
        .unwrap();
        assert!(patch.validation_errors().is_empty());
        assert_eq!(patch.metadata.unwrap()["old"], Value::Null);
        let patch: PatchDocumentRequest =
            serde_json::from_value(json!({"source_object_id": "obj_2", "collection_id": "c"}))
                .unwrap();
        assert_eq!(
            locs(&patch.validation_errors()),
            vec![
                (vec![json!("collection_id")], "value_error"),
                (vec![json!("source_object_id")], "value_error"),
            ]
        );
    }
}
