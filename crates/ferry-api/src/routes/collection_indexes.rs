//! `GET /v1/collections/{collection_identifier}/indexes` (X-Namespace scoped), a Ferry
//! extension: the state of each of the collection's vector and keyword indexes in this
//! process.

use axum::routing::get;
use axum::{Json, Router};
use ferry_retrieve::index::{IndexId, IndexState};
use ferry_wire::collection::{
    CollectionIndexStatus, CollectionIndexesResponse, CollectionVectorIndex, IndexStateName,
};
use ferry_wire::ErrorResponse;

use crate::error::ApiResult;
use crate::extract::InNamespace;
use crate::json::from_json;
use crate::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route(
        "/v1/collections/{collection_identifier}/indexes",
        get(get_collection_indexes),
    )
}

/// Collection Indexes (Ferry extension): how this process searches each vector index.
#[utoipa::path(get, path = "/v1/collections/{collection_identifier}/indexes",
    tag = "Ferry extensions",
    params(("collection_identifier" = String, Path)),
    responses((status = 200, body = CollectionIndexesResponse), (status = 404, body = ErrorResponse)))]
pub(crate) async fn get_collection_indexes(
    InNamespace(state, scope, identifier): InNamespace<String>,
) -> ApiResult<Json<CollectionIndexesResponse>> {
    let ns = scope.namespace.key;
    let collection = state.store.get_collection(ns, &identifier).await?;
    let change_seq = state
        .store
        .collection_change_seq(ns, &collection.collection_id)
        .await?
        .unwrap_or(0);
    let declared: Vec<CollectionVectorIndex> =
        from_json("vector_indexes", &collection.fields.vector_indexes)?;
    let indexes = declared
        .into_iter()
        .map(|index| {
            let id = IndexId {
                ns,
                collection_id: collection.collection_id.clone(),
                vector_name: index.index.name.clone(),
            };
            let held = if index.is_dense() {
                state.search.state(&id)
            } else {
                state.search.keyword_state(&id)
            };
            let (state, ready) = match held {
                IndexState::Exact => (IndexStateName::Exact, None),
                IndexState::Building => (IndexStateName::Building, None),
                IndexState::Ready {
                    vectors,
                    watermark,
                    loaded,
                    mapped,
                } => (
                    IndexStateName::Ready,
                    Some((vectors as i64, watermark, loaded, mapped)),
                ),
            };
            let watermark = ready.map(|r| r.1);
            CollectionIndexStatus {
                name: index.name,
                feature_uri: index.feature_uri,
                vector_name: index.index.name,
                state,
                indexed_vectors: ready.map(|r| r.0),
                watermark,
                loaded_from_disk: ready.map(|r| r.2),
                memory_mapped: ready.map(|r| r.3),
                changes_behind: watermark.map(|w| (change_seq - w).max(0)),
            }
        })
        .collect();
    Ok(Json(CollectionIndexesResponse {
        collection_id: collection.collection_id,
        change_seq,
        indexes,
    }))
}
