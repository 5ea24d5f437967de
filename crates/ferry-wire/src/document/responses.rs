//! A document as read back (its own fields at the root, system fields under `_internal`, its
//! blobs), list pages with groups and statistics, and the answer to a deletion.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::ToSchema;

use super::lineage::InternalLineage;
use crate::namespace::PaginationResponse;

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
    use crate::document::{LineageSourceType, LineageStep};
    use serde_json::json;

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
