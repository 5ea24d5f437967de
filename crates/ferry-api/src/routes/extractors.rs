//! `GET /v1/collections/features/extractors…`: the extractor registry.
//!
//! Served without authentication, as the spec and SDK declare these operations (no security
//! scheme, so the SDK sends no key): the registry is the server's, not an organization's data.

use crate::extract::Path;
use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use ferry_wire::extractor::FeatureExtractorResponseModel;
use ferry_wire::ErrorResponse;

use crate::error::{ApiError, ApiResult};
use crate::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/v1/collections/features/extractors",
            get(list_feature_extractors),
        )
        .route(
            "/v1/collections/features/extractors/{feature_extractor_id}",
            get(get_feature_extractor),
        )
}

/// List Feature Extractors
#[utoipa::path(get, path = "/v1/collections/features/extractors", tag = "Feature Extractors",
    responses((status = 200, body = Vec<FeatureExtractorResponseModel>)))]
async fn list_feature_extractors(
    State(state): State<AppState>,
) -> Json<Vec<FeatureExtractorResponseModel>> {
    Json(state.registry.list().iter().map(|e| e.describe()).collect())
}

/// Get Feature Extractor by `{name}_{version}` id
#[utoipa::path(get, path = "/v1/collections/features/extractors/{feature_extractor_id}",
    tag = "Feature Extractors",
    params(("feature_extractor_id" = String, Path, description = "e.g. text_extractor_v1")),
    responses((status = 200, body = FeatureExtractorResponseModel), (status = 404, body = ErrorResponse)))]
async fn get_feature_extractor(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<Json<FeatureExtractorResponseModel>> {
    state
        .registry
        .by_id(&id)
        .map(|e| Json(e.describe()))
        .ok_or(ApiError::NotFound {
            resource: "feature_extractor",
            id,
        })
}
