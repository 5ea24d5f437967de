//! Liveness and health: answered without an API key, so probes need no secret.

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use ferry_store::Backend;
use ferry_wire::health::{HealthCheckResponse, HealthServiceStatus};
use serde_json::json;

use crate::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/health", get(health))
        .route("/v1/health/liveness", get(liveness))
}

/// Reports whether the store answers; every service flag the SDK knows maps onto it.
#[utoipa::path(get, path = "/v1/health", tag = "Health",
    responses((status = 200, body = HealthCheckResponse)))]
async fn health(State(state): State<AppState>) -> Json<HealthCheckResponse> {
    let store_ok = state.store.ping().await;
    let backend = match state.store.backend() {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgres",
    };
    Json(HealthCheckResponse {
        status: if store_ok { "OK" } else { "DEGRADED" }.into(),
        data: HealthServiceStatus {
            cache: store_ok,
            metadata: store_ok,
            vector_store: store_ok,
            object_storage: store_ok,
            task_queue: store_ok,
            inference: true,
        },
        meta: Some(json!({ "store": backend, "version": env!("CARGO_PKG_VERSION") })),
    })
}

#[utoipa::path(get, path = "/v1/health/liveness", tag = "Health",
    responses((status = 200, body = Object)))]
async fn liveness() -> Json<serde_json::Value> {
    Json(json!({ "status": "alive" }))
}
