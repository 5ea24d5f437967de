//! `GET /v1/health`.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Status flags for dependent services, as the SDK's `HealthServiceStatus` names them. Ferry
/// has no cache, vector database or task queue apart from its store, so those flags report the
/// store's health too.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct HealthServiceStatus {
    pub cache: bool,
    pub metadata: bool,
    pub vector_store: bool,
    pub object_storage: bool,
    pub task_queue: bool,
    pub inference: bool,
}

/// Health check response model.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct HealthCheckResponse {
    /// `OK` or `DEGRADED`.
    pub status: String,
    pub data: HealthServiceStatus,
    pub meta: Option<serde_json::Value>,
}
