//! Collections: `/v1/collections…` (create, get, list, patch, delete, trigger), shaped as the
//! SDK's `CreateCollectionRequest`, `CollectionResponse`, `ListCollectionsRequest`,
//! `ListCollectionsResponse`, `TriggerCollectionRequest` and `TriggerCollectionResponse`, with
//! the configuration they nest: `SourceConfig`, the collection's `FeatureExtractorConfig`,
//! `FieldPassthrough`, `InputMapping`, `TaxonomyApplicationConfig` and
//! `ClusterApplicationConfig`.
//!
//! Requests declare every key the SDK's request model declares. Keys for features Ferry does
//! not have (schedules, alerts, retriever enrichments and transforms, embedding task hints,
//! stored-text re-embedding) are accepted and ignored, typed `serde_json::Value` and marked so.
//! Nested configs the SDK leaves open (`additional_properties`) are closed here: a misspelt key
//! in an extractor config (`input_mapping`) would otherwise be dropped without a word.
//!
//! One submodule per part of the contract: [`source`] (where a collection's input comes from),
//! [`extractor`] (the extractor it runs and how source fields feed it), [`applications`]
//! (taxonomies and clusters applied to its documents), [`requests`] (create, patch, list,
//! trigger) and [`responses`]. Every type is re-exported here.

pub mod applications;
pub mod extractor;
pub mod indexes;
pub mod requests;
pub mod responses;
pub mod source;

pub use applications::{
    ClusterApplicationConfig, HierarchicalEnrichmentStyle, TaxonomyApplicationConfig,
    TaxonomyExecutionMode,
};
pub use extractor::{
    FeatureExtractorConfigInput, FeatureExtractorConfigOutput, InputMapping, InputMappings,
    InputSourceType,
};
pub use indexes::{CollectionIndexStatus, CollectionIndexesResponse, IndexStateName};
pub use requests::{
    CreateCollectionRequest, DedupStrategy, ListCollectionsQuery, ListCollectionsRequest,
    PatchCollectionRequest, TriggerCollectionRequest,
};
pub use responses::{
    CollectionDisabledReason, CollectionListStats, CollectionResponse, CollectionVectorIndex,
    DeleteCollectionResponse, DisabledReasonCode, ListCollectionsResponse, SingleLineageEntry,
    TriggerCollectionResponse, VectorDataType, VectorDistance, VectorIndexKind, VectorIndexStorage,
    VectorType,
};
pub use source::{passthrough_target, FieldPassthrough, SourceConfig, SourceFilters, SourceType};

use crate::validate::Errors;

/// Shortest collection name `CollectionResponse` accepts.
pub const COLLECTION_NAME_MIN: usize = 3;
/// Longest collection name `CollectionResponse` accepts.
pub const COLLECTION_NAME_MAX: usize = 100;

/// Checks a collection name. The SDK's response model holds names to 3–100 characters, so a
/// shorter or longer one is refused on the way in rather than breaking every later read; `col_`
/// is reserved because `{collection_identifier}` takes ids and names alike.
pub fn validate_collection_name(errors: &mut Errors, field: &str, name: Option<&str>) {
    let Some(name) = name else { return };
    let before = errors.items.len();
    errors.str_len(field, Some(name), COLLECTION_NAME_MIN, COLLECTION_NAME_MAX);
    if errors.items.len() == before && name.starts_with("col_") {
        errors.push(
            field,
            "value_error",
            "Value error, names starting with 'col_' are reserved for collection ids",
        );
    }
}
