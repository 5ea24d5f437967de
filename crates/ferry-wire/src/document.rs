//! Documents of a collection: `/v1/collections/{collection_identifier}/documents…` (create,
//! get, list, patch, delete), shaped as the SDK's `DocumentCreateRequest`, `DocumentResponse`,
//! `ListDocumentsRequest`, `ListDocumentsResponse` and `GenericDeleteResponse`.
//!
//! A document's own fields live at its root beside `document_id` and `collection_id`; what the
//! system manages (lineage, timestamps, blobs) lives under `_internal`. Vectors are returned,
//! when asked for, as root fields named after their index (`text_extractor_v1_embedding`). The
//! SDK models both request and response with `additional_properties`, so both carry a flattened
//! map of root fields; keys the system writes itself are reserved and refused in requests, as a
//! user field of that name would break every later read of the document.

use std::collections::BTreeMap;
use std::fmt;

use chrono::{DateTime, Utc};
use serde::de::{self, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};
use utoipa::{IntoParams, ToSchema};

use crate::filter::{filters_from_query, LogicalOperator, SortOption};
use crate::namespace::PaginationResponse;
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

/// Kind of a document's immediate parent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum LineageSourceType {
    Bucket,
    Collection,
    DirectUpsert,
    Signal,
}

/// One processing step from the root object to a document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LineageStep {
    /// Collection where this step ran.
    pub collection_id: String,
    /// Extractor that ran in this step (`{name}_{version}`).
    pub feature_extractor_id: String,
    /// Document produced by this step, for intermediate steps.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub document_id: Option<String>,
    #[serde(
        default,
        deserialize_with = "crate::time::option_utc",
        skip_serializing_if = "Option::is_none"
    )]
    pub timestamp: Option<DateTime<Utc>>,
}

/// Features an extractor produced for a document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FeatureModel {
    pub feature_extractor_id: String,
    /// Metadata of the feature.
    #[serde(default)]
    pub payload: Option<Map<String, Value>>,
    /// Vectors by name: dense (`{"embedding": [0.1, …]}`), multi-vector
    /// (`{"tokens": [[…], […]]}`) or sparse (`{"indices": [3, 9], "values": [0.5, 0.2]}`).
    #[serde(default)]
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
    #[serde(default)]
    pub collection_id: Option<String>,
    #[serde(default)]
    pub root_object_id: Option<String>,
    #[serde(default)]
    pub root_bucket_id: Option<String>,
    #[serde(default)]
    pub source_type: Option<LineageSourceType>,
    #[serde(default)]
    pub source_collection_id: Option<String>,
    #[serde(default)]
    pub source_document_id: Option<String>,
    #[serde(default)]
    pub source_object_id: Option<String>,
    #[serde(default)]
    pub lineage_path: Option<String>,
    #[serde(default)]
    pub lineage_chain: Option<Vec<LineageStep>>,
    /// SHA-256 of the source content.
    #[serde(default)]
    pub content_hash: Option<String>,
    /// Accepted and ignored: Ferry has one document layout.
    #[serde(default)]
    pub document_schema_version: Option<String>,
    /// User-defined metadata.
    #[serde(default)]
    pub metadata: Option<Map<String, Value>>,
    #[serde(default)]
    pub features: Option<Vec<FeatureModel>>,
    /// Pre-computed vectors by index name: the full name (`text_extractor_v1_embedding`) or the
    /// last segment of its feature URI.
    #[serde(default)]
    pub vectors: Option<BTreeMap<String, Vec<f64>>>,
    /// The document's own fields, stored at its root.
    #[serde(flatten)]
    pub fields: Map<String, Value>,
}

impl Validate for DocumentCreateRequest {
    fn validate(&self, errors: &mut Errors) {
        validate_root_fields(errors, &self.fields, &[]);
        if let Some(features) = &self.features {
            errors.at("features", |errors| {
                for (i, f) in features.iter().enumerate() {
                    errors.at(i, |errors| f.validate(errors));
                }
            });
        }
    }
}

/// Body of `PATCH …/documents/{document_id}`. Root keys set the document's own fields; in
/// `metadata` each key sent is set, keys omitted stay, and a key set to `null` is removed.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
pub struct PatchDocumentRequest {
    #[serde(default)]
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

/// `return_vector_names`: `true` lists the names of a document's vectors under `_vectors`; a
/// list of names returns those vectors as root fields.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[serde(untagged)]
pub enum ReturnVectorNames {
    List(bool),
    Names(Vec<String>),
}

impl<'de> Deserialize<'de> for ReturnVectorNames {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct FormVisitor;
        impl<'de> Visitor<'de> for FormVisitor {
            type Value = ReturnVectorNames;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a boolean or a list of vector names")
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<ReturnVectorNames, E> {
                Ok(ReturnVectorNames::List(v))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<ReturnVectorNames, A::Error> {
                Vec::deserialize(de::value::SeqAccessDeserializer::new(seq))
                    .map(ReturnVectorNames::Names)
            }
        }
        deserializer.deserialize_any(FormVisitor)
    }
}

impl ReturnVectorNames {
    /// Reads the query form: `true`/`false`, or comma-separated names.
    pub fn from_query(text: &str) -> ReturnVectorNames {
        match text.trim() {
            "true" => ReturnVectorNames::List(true),
            "false" | "" => ReturnVectorNames::List(false),
            names => ReturnVectorNames::Names(
                names
                    .split(',')
                    .map(str::trim)
                    .filter(|n| !n.is_empty())
                    .map(str::to_owned)
                    .collect(),
            ),
        }
    }
}

/// One of `count` disjoint partitions of a listing, split on document id, so several workers
/// can page through a collection in parallel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ListPartition {
    /// This worker's partition, from 0 to `count - 1`.
    pub index: i64,
    pub count: i64,
}

impl Validate for ListPartition {
    fn validate(&self, errors: &mut Errors) {
        errors.int_range("index", Some(self.index), Some(0), None);
        errors.int_range("count", Some(self.count), Some(1), Some(256));
        if self.index >= 0 && (1..=256).contains(&self.count) && self.index >= self.count {
            errors.push(
                "index",
                "value_error",
                "Value error, index must be less than count",
            );
        }
    }
}

/// Default page size of a document listing.
pub const DEFAULT_DOCUMENT_LIMIT: i64 = 10;

/// Request model for listing documents. Body values win over their query counterparts.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ListDocumentsRequest {
    pub filters: Option<LogicalOperator>,
    pub sort: Option<SortOption>,
    /// Free-text search over common document fields.
    pub search: Option<String>,
    /// `pagination.next_cursor` of the previous page; offsets are ignored with it.
    pub cursor: Option<String>,
    pub partition: Option<ListPartition>,
    /// Count the matching documents into `pagination.total` and `total_documents`.
    pub include_total: Option<bool>,
    /// Presign blob URLs; also a query parameter (either being true enables it).
    #[serde(default)]
    pub return_presigned_urls: bool,
    /// Return each document's vectors as root fields; also a query parameter.
    #[serde(default)]
    pub return_vectors: bool,
    pub return_vector_names: Option<ReturnVectorNames>,
    /// Field to group documents by (dot notation); groups are paged instead of documents.
    pub group_by: Option<String>,
    /// Fields to return (dot notation); `document_id` and `collection_id` always are.
    pub select: Option<Vec<String>>,
    /// Fields holding document ids to resolve inline under `_expanded`.
    pub expand: Option<Vec<String>>,
    /// Page size, [`DEFAULT_DOCUMENT_LIMIT`] when neither body nor query names one. Left
    /// unset here, not defaulted, so a query `limit` still applies when the body has none.
    #[serde(alias = "page_size")]
    pub limit: Option<i64>,
    pub offset: Option<i64>,
}

impl Validate for ListDocumentsRequest {
    fn validate(&self, errors: &mut Errors) {
        if let Some(filters) = &self.filters {
            errors.at("filters", |errors| filters.validate(errors));
        }
        if let Some(partition) = &self.partition {
            errors.at("partition", |errors| partition.validate(errors));
        }
        errors.int_range("limit", self.limit, Some(1), Some(1000));
        // The body's offset has no upper bound in the SDK; only the query's has.
        errors.int_range("offset", self.offset, Some(0), None);
    }
}

/// Query parameters of `GET …/documents/{document_id}`.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
pub struct GetDocumentQuery {
    /// Presign the document's blob URLs.
    pub return_presigned_urls: Option<bool>,
    /// Return the document's vectors as root fields.
    pub return_vectors: Option<bool>,
    /// `true` for a `_vectors` list of vector names; or comma-separated names of vectors to
    /// return as root fields.
    pub return_vector_names: Option<String>,
    /// Comma-separated fields to resolve inline under `_expanded` (`parent`, `root_object`,
    /// `ancestors`, `children`, or fields holding document ids).
    pub expand: Option<String>,
}

impl GetDocumentQuery {
    pub fn vector_names(&self) -> Option<ReturnVectorNames> {
        self.return_vector_names
            .as_deref()
            .map(ReturnVectorNames::from_query)
    }

    pub fn expand_fields(&self) -> Vec<String> {
        split_list(self.expand.as_deref())
    }
}

impl Validate for GetDocumentQuery {
    fn validate(&self, _errors: &mut Errors) {}
}

fn split_list(text: Option<&str>) -> Vec<String> {
    text.unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Query parameters of the document lists beyond paging ([`crate::paging::PageQuery`]). On
/// `POST …/documents/list` the body's values win.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
pub struct ListDocumentsQuery {
    pub return_presigned_urls: Option<bool>,
    pub return_vectors: Option<bool>,
    /// URL-encoded JSON in `LogicalOperator` shape.
    pub filters: Option<String>,
    pub search: Option<String>,
    /// JSON (`{"field":"created_at","direction":"desc"}`) or `field:direction`.
    pub sort: Option<String>,
}

impl ListDocumentsQuery {
    /// The parsed `filters` parameter; `None` when absent or (for an unvalidated query) invalid.
    pub fn filters(&self) -> Option<LogicalOperator> {
        filters_from_query(&mut Errors::new(), "filters", self.filters.as_deref())
    }

    /// The parsed `sort` parameter; `None` when absent or (for an unvalidated query) invalid.
    pub fn sort(&self) -> Option<SortOption> {
        SortOption::from_query(self.sort.as_deref()?).ok()
    }
}

impl Validate for ListDocumentsQuery {
    fn validate(&self, errors: &mut Errors) {
        filters_from_query(errors, "filters", self.filters.as_deref());
        if let Some(sort) = self.sort.as_deref() {
            if let Err(e) = SortOption::from_query(sort) {
                errors.push("sort", "value_error", format!("Value error, {e}"));
            }
        }
    }
}

/// How a blob is treated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema, Default)]
#[serde(rename_all = "lowercase")]
pub enum BlobRole {
    /// Original input media.
    #[default]
    Source,
    /// Content derived by an extractor (segments, frames).
    Processed,
    Thumbnail,
    Artifact,
    Aux,
}

/// Media type of a blob.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema, Default)]
#[serde(rename_all = "lowercase")]
pub enum BlobMediaType {
    Video,
    Image,
    Audio,
    Text,
    Pdf,
    #[default]
    Other,
}

/// A blob of a document, with a download URL when presigning was asked for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[schema(as = BlobURLRef)]
pub struct BlobUrlRef {
    /// Stable semantic label (`source_video`, `thumbnail` …).
    pub field: String,
    pub role: BlobRole,
    #[serde(rename = "type")]
    pub media_type: BlobMediaType,
    /// Permanent URL of the content.
    pub url: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filename: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size_bytes: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
    /// `algorithm:hash`, e.g. `sha256:…`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checksum: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<DateTime<Utc>>,
    /// The source object's blob this one was derived from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_blob_id: Option<String>,
    /// Time-limited download URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub presigned_url: Option<String>,
}

/// Where a document came from.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[schema(as = InternalLineageModel)]
pub struct InternalLineage {
    /// The bucket object at the root of the decomposition tree; shared by every document
    /// derived from it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub root_object_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub root_bucket_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_type: Option<LineageSourceType>,
    /// Immediate parent object, when `source_type` is `bucket`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_object_id: Option<String>,
    /// Immediate parent document, when `source_type` is `collection`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_document_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_collection_id: Option<String>,
    /// Materialized path, e.g. `bkt_1/col_2/col_3`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chain: Option<Vec<LineageStep>>,
}

/// System-managed fields of a document (`_internal`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[schema(as = InternalPayloadModel)]
pub struct InternalPayload {
    pub namespace_id: String,
    pub document_id: String,
    pub collection_id: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lineage: Option<InternalLineage>,
    /// Blobs of the source object.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_blobs: Option<Vec<Map<String, Value>>>,
    /// Blobs produced while processing (thumbnails, segments).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub document_blobs: Option<Vec<Map<String, Value>>>,
    /// `text`, `image`, `video`, `audio` …
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub modality: Option<String>,
    /// System metadata (ingestion status, extractor config hash …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Map<String, Value>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mime_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size_bytes: Option<i64>,
    /// SHA-256 of the source content.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_hash: Option<String>,
}

/// Response model for a single document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct DocumentResponse {
    pub document_id: String,
    pub collection_id: String,
    /// Present only when vectors were asked for: true when this read could not return a vector
    /// the store holds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vector_hydration_incomplete: Option<bool>,
    /// When the latest write became searchable. Ferry indexes as it writes, so this is the
    /// write time; it is omitted rather than null, as null means "not searchable yet".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub searchable_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub document_blobs: Option<Vec<BlobUrlRef>>,
    #[serde(rename = "_internal", default, skip_serializing_if = "Option::is_none")]
    pub internal: Option<InternalPayload>,
    /// The document's own fields (user fields, `metadata`, passthrough fields, extractor
    /// outputs, enrichments such as `cluster_id`) and, when asked for, its vectors by index
    /// name and `_vectors` / `_expanded`.
    #[serde(flatten)]
    pub fields: Map<String, Value>,
}

/// Documents sharing one value of the `group_by` field.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct DocumentGroup {
    /// The shared value (null for documents without the field).
    #[schema(value_type = Object)]
    pub group_key: Value,
    pub documents: Vec<DocumentResponse>,
    pub count: i64,
}

/// Aggregate statistics over a document listing.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct DocumentListStats {
    /// Matching documents across all pages; null unless `include_total`.
    pub total_documents: Option<i64>,
    /// Average number of source blobs per document.
    pub avg_blobs_per_document: f64,
    /// Number of groups, when grouped.
    pub total_groups: Option<i64>,
    pub avg_documents_per_group: Option<f64>,
}

/// Response model for listing documents: `results`, or `groups` when `group_by` was given.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ListDocumentsResponse {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub results: Option<Vec<DocumentResponse>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub groups: Option<Vec<DocumentGroup>>,
    pub pagination: PaginationResponse,
    /// Matching documents across all pages; null unless `include_total`.
    pub total_documents: Option<i64>,
    pub stats: DocumentListStats,
    /// The `group_by` field of a grouped listing.
    pub group_by_field: Option<String>,
    /// Why the listing may be incomplete; absent when it is complete.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warnings: Option<Vec<String>>,
}

/// Answer to a deletion by id (`DELETE …/documents/{document_id}`, `DELETE /v1/tasks/{task_id}`).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct GenericDeleteResponse {
    pub message: String,
    pub success: bool,
}

impl Default for GenericDeleteResponse {
    fn default() -> Self {
        GenericDeleteResponse {
            message: "Successfully deleted".into(),
            success: true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::validate::Loc;
    use serde_json::json;

    fn locs(errors: &[crate::validate::FieldError]) -> Vec<(Vec<Value>, &'static str)> {
        errors
            .iter()
            .map(|e| {
                (
                    e.loc
                        .iter()
                        .map(|l| match l {
                            Loc::Key(k) => json!(k),
                            Loc::Index(i) => json!(i),
                        })
                        .collect(),
                    e.kind,
                )
            })
            .collect()
    }

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

    #[test]
    fn sdk_list_request_parses() {
        // `ListDocumentsRequest(filters=…, sort=…, limit=50).to_dict()`: the SDK adds its
        // defaults (`return_presigned_urls`, `return_vectors`, `offset`).
        let req: ListDocumentsRequest = serde_json::from_value(json!({
            "filters": {"AND": [{"case_sensitive": false, "field": "metadata.lang",
                                 "operator": "eq", "value": "en"}], "case_sensitive": false},
            "sort": {"field": "created_at", "direction": "desc"},
            "include_total": true,
            "return_presigned_urls": false,
            "return_vectors": true,
            "return_vector_names": ["text_extractor_v1_embedding"],
            "select": ["title"],
            "limit": 50,
            "offset": 0
        }))
        .unwrap();
        assert!(req.validation_errors().is_empty());
        assert!(req.return_vectors);
        assert_eq!(
            req.return_vector_names,
            Some(ReturnVectorNames::Names(vec![
                "text_extractor_v1_embedding".into()
            ]))
        );
        let by_alias: ListDocumentsRequest =
            serde_json::from_value(json!({"page_size": 5, "return_vector_names": true})).unwrap();
        assert_eq!(by_alias.limit, Some(5));
        assert_eq!(
            by_alias.return_vector_names,
            Some(ReturnVectorNames::List(true))
        );
    }

    #[test]
    fn list_request_bounds_and_unknown_keys() {
        let req: ListDocumentsRequest = serde_json::from_value(json!({
            "limit": 0, "offset": 20000, "partition": {"index": 4, "count": 4}
        }))
        .unwrap();
        assert_eq!(
            locs(&req.validation_errors()),
            vec![
                (vec![json!("partition"), json!("index")], "value_error"),
                (vec![json!("limit")], "greater_than_equal"),
            ]
        );
        let req: ListDocumentsRequest =
            serde_json::from_value(json!({"partition": {"index": 0, "count": 300}})).unwrap();
        assert_eq!(
            locs(&req.validation_errors()),
            vec![(vec![json!("partition"), json!("count")], "less_than_equal")]
        );
        let err = serde_json::from_value::<ListDocumentsRequest>(json!({"page": 2})).unwrap_err();
        assert!(err.to_string().starts_with("unknown field `page`"), "{err}");
    }

    #[test]
    fn list_query_parses_json_filters_and_compact_sort() {
        let q = ListDocumentsQuery {
            filters: Some(
                r#"{"AND":[{"field":"metadata.status","operator":"eq","value":"active"}]}"#.into(),
            ),
            sort: Some("created_at:desc".into()),
            ..Default::default()
        };
        assert!(q.validation_errors().is_empty());
        assert_eq!(q.filters().unwrap().and.unwrap().len(), 1);
        assert_eq!(q.sort().unwrap().field, "created_at");
        let bad = ListDocumentsQuery {
            filters: Some("{".into()),
            sort: Some("created_at:up".into()),
            ..Default::default()
        };
        assert_eq!(
            locs(&bad.validation_errors()),
            vec![
                (vec![json!("filters")], "json_invalid"),
                (vec![json!("sort")], "value_error"),
            ]
        );
    }

    #[test]
    fn get_query_helpers() {
        let q = GetDocumentQuery {
            return_vector_names: Some("a, b".into()),
            expand: Some("parent,root_object".into()),
            ..Default::default()
        };
        assert_eq!(
            q.vector_names(),
            Some(ReturnVectorNames::Names(vec!["a".into(), "b".into()]))
        );
        assert_eq!(q.expand_fields(), vec!["parent", "root_object"]);
    }

    pub(crate) fn full_document() -> DocumentResponse {
        let at = DateTime::parse_from_rfc3339("2025-10-31T10:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        DocumentResponse {
            document_id: "doc_1".into(),
            collection_id: "col_1".into(),
            vector_hydration_incomplete: Some(false),
            searchable_at: Some(at),
            document_blobs: Some(vec![BlobUrlRef {
                field: "thumbnail".into(),
                role: BlobRole::Thumbnail,
                media_type: BlobMediaType::Image,
                url: "ferry://blobs/sha256/ab".into(),
                filename: Some("t.jpg".into()),
                size_bytes: Some(10),
                content_type: Some("image/jpeg".into()),
                checksum: Some("sha256:ab".into()),
                created_at: Some(at),
                source_blob_id: Some("blob_1".into()),
                presigned_url: Some("http://127.0.0.1:8000/v1/blobs/ab?sig=x".into()),
            }]),
            internal: Some(InternalPayload {
                namespace_id: "ns_1".into(),
                document_id: "doc_1".into(),
                collection_id: "col_1".into(),
                created_at: at,
                updated_at: at,
                lineage: Some(InternalLineage {
                    root_object_id: Some("obj_1".into()),
                    root_bucket_id: Some("bkt_1".into()),
                    source_type: Some(LineageSourceType::Collection),
                    source_object_id: None,
                    source_document_id: Some("doc_0".into()),
                    source_collection_id: Some("col_0".into()),
                    path: Some("bkt_1/col_0/col_1".into()),
                    chain: Some(vec![LineageStep {
                        collection_id: "col_0".into(),
                        feature_extractor_id: "text_extractor_v1".into(),
                        document_id: Some("doc_0".into()),
                        timestamp: Some(at),
                    }]),
                }),
                source_blobs: Some(vec![json!({"blob_id": "blob_1", "blob_type": "text"})
                    .as_object()
                    .unwrap()
                    .clone()]),
                document_blobs: Some(vec![]),
                modality: Some("text".into()),
                metadata: Some(
                    json!({"ingestion_status": "COMPLETED"})
                        .as_object()
                        .unwrap()
                        .clone(),
                ),
                mime_type: Some("text/plain".into()),
                size_bytes: Some(42),
                content_hash: Some("ab".into()),
            }),
            fields: json!({
                "title": "AI", "metadata": {"lang": "en"},
                "text_extractor_v1_embedding": [0.1, 0.2],
                "_vectors": ["text_extractor_v1_embedding"]
            })
            .as_object()
            .unwrap()
            .clone(),
        }
    }

    #[test]
    fn responses_serialize_required_keys() {
        let minimal = DocumentResponse {
            document_id: "doc_1".into(),
            collection_id: "col_1".into(),
            vector_hydration_incomplete: None,
            searchable_at: None,
            document_blobs: None,
            internal: None,
            fields: Map::new(),
        };
        assert_eq!(
            serde_json::to_value(&minimal).unwrap(),
            json!({"document_id": "doc_1", "collection_id": "col_1"})
        );
        let full = serde_json::to_value(full_document()).unwrap();
        assert_eq!(full["_internal"]["lineage"]["source_document_id"], "doc_0");
        assert_eq!(full["title"], "AI");
        let back: DocumentResponse = serde_json::from_value(full).unwrap();
        assert_eq!(back, full_document());
        let list = ListDocumentsResponse {
            results: Some(vec![minimal]),
            groups: None,
            pagination: PaginationResponse::default(),
            total_documents: None,
            stats: DocumentListStats::default(),
            group_by_field: None,
            warnings: None,
        };
        let v = serde_json::to_value(&list).unwrap();
        for key in [
            "results",
            "pagination",
            "total_documents",
            "stats",
            "group_by_field",
        ] {
            assert!(v.get(key).is_some(), "{key} missing");
        }
        assert_eq!(
            serde_json::to_value(GenericDeleteResponse::default()).unwrap(),
            json!({"message": "Successfully deleted", "success": true})
        );
    }
}
