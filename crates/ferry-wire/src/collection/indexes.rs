//! `GET /v1/collections/{collection_identifier}/indexes`, a Ferry extension: where each
//! vector index of a collection stands in the answering process (README, "Search indexes").

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// How the answering process searches one vector index.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum IndexStateName {
    /// Every document is scored: the collection is below the exact-search threshold, or no
    /// query has needed an index yet.
    Exact,
    /// The index is being loaded or built: vector queries are answered exactly meanwhile,
    /// keyword queries wait for it.
    Building,
    /// Queries go through the HNSW index, plus the changes it has not applied yet.
    Ready,
}

/// One vector index of the collection.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct CollectionIndexStatus {
    /// The extractor's output name.
    pub name: String,
    pub feature_uri: String,
    /// The name documents store these vectors under.
    pub vector_name: String,
    pub state: IndexStateName,
    /// Vectors the index holds (when ready); for a keyword index, the documents it holds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub indexed_vectors: Option<i64>,
    /// The collection's change the index reflects (when ready).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub watermark: Option<i64>,
    /// Whether the index was loaded from the process's saved copy (`false`: built from the
    /// store's documents) (when ready).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub loaded_from_disk: Option<bool>,
    /// Whether the index is searched from its file mapped into memory (the vector index's
    /// `on_disk`), rather than held in the process's memory (when ready).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memory_mapped: Option<bool>,
    /// Write transactions on the collection the index has not applied yet (when ready);
    /// queries read those changes from the store and score them exactly.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub changes_behind: Option<i64>,
}

/// The vector indexes of one collection, as the answering process holds them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct CollectionIndexesResponse {
    pub collection_id: String,
    /// The collection's latest change (its write transactions so far).
    pub change_seq: i64,
    pub indexes: Vec<CollectionIndexStatus>,
}
