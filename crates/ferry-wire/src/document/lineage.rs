//! Where a document came from: its immediate parent's kind, the processing steps from the root
//! object, and the lineage block of `_internal`.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

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
