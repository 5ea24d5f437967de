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
//!
//! [`write`] owns the create and patch bodies and the rule on reserved keys, [`list`] the list
//! and get parameters, [`lineage`] where a document came from, and [`responses`] the document
//! as read back. Every type is re-exported here.

pub mod lineage;
pub mod list;
pub mod responses;
pub mod write;

pub use lineage::{InternalLineage, LineageSourceType, LineageStep};
pub use list::{
    GetDocumentQuery, ListDocumentsQuery, ListDocumentsRequest, ListPartition, ReturnVectorNames,
    DEFAULT_DOCUMENT_LIMIT,
};
pub use responses::{
    BlobMediaType, BlobRole, BlobUrlRef, DocumentGroup, DocumentListStats, DocumentResponse,
    GenericDeleteResponse, InternalPayload, ListDocumentsResponse,
};
pub use write::{DocumentCreateRequest, FeatureModel, PatchDocumentRequest};

/// Each error's location and type, as the tests compare them.
#[cfg(test)]
fn locs(errors: &[crate::validate::FieldError]) -> Vec<(Vec<serde_json::Value>, &'static str)> {
    errors.iter().map(|e| (e.loc_values(), e.kind)).collect()
}
