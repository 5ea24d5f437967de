//! Ferry's HTTP layer. Handlers are thin: parse (extractors), authorize, call the store, map
//! errors once ([`error::ApiError`]). It owns routing, the error contract and `/openapi.json`,
//! and Ferry's own surfaces beside the API: `/metrics` and the web console at `/console`.

mod blob_input;
mod console;
pub mod error;
pub mod extract;
mod filtered;
mod json;
mod listing;
pub mod metrics;
mod openapi;
pub mod paging;
mod routes;

use std::any::Any;
use std::sync::Arc;

use axum::extract::DefaultBodyLimit;
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use ferry_extract::Registry;
use ferry_store::blobs::BlobStore;
use ferry_store::Store;
use ferry_wire::ErrorCode;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::trace::TraceLayer;

pub use error::{ApiError, ApiResult};

/// Largest request body accepted; larger ones get 413. Sized for a batch of 100 objects with
/// inline base64 images.
pub const MAX_BODY_BYTES: usize = 32 * 1024 * 1024;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub blobs: BlobStore,
    pub registry: Arc<Registry>,
    /// The process's vector indexes (exact search where they are not ready).
    pub search: ferry_retrieve::IndexedSearch,
}

impl AppState {
    /// The retrieval engine, searching through the process's vector indexes.
    pub fn engine(&self) -> ferry_retrieve::Engine {
        ferry_retrieve::Engine::new(
            self.store.clone(),
            self.registry.clone(),
            Arc::new(self.search.clone()),
        )
    }
}

/// The whole API as one router.
pub fn router(state: AppState) -> Router {
    metrics::install();
    Router::new()
        .merge(routes::health::router())
        .merge(routes::namespaces::router())
        .merge(routes::aliases::router())
        .merge(routes::cutover::router())
        .merge(routes::buckets::router())
        .merge(routes::objects::router())
        .merge(routes::extractors::router())
        .merge(routes::collections::router())
        .merge(routes::collection_indexes::router())
        .merge(routes::documents::router())
        .merge(routes::tasks::router())
        .merge(routes::clusters::router())
        .merge(routes::retrievers::router())
        .merge(routes::interactions::router())
        .merge(routes::evaluations::router())
        .merge(routes::taxonomies::router())
        .merge(routes::migrations::router())
        .merge(console::router())
        .route("/openapi.json", get(openapi::serve))
        .route("/metrics", get(metrics::serve))
        .fallback(route_not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(state)
        .layer(axum::middleware::from_fn(metrics::track))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(CatchPanicLayer::custom(panic_response))
        .layer(TraceLayer::new_for_http())
}

async fn route_not_found(uri: Uri) -> ApiError {
    ApiError::route_not_found(uri.path())
}

async fn method_not_allowed() -> ApiError {
    ApiError::coded(
        ErrorCode::MethodNotAllowed,
        "Method not allowed on this route",
    )
}

/// A panic is a bug; the client still gets the error contract, and the log gets the message.
fn panic_response(panic: Box<dyn Any + Send + 'static>) -> Response {
    let message = panic
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
        .unwrap_or_else(|| "unknown panic".to_owned());
    let mut response = ApiError::Internal(format!("handler panicked: {message}")).into_response();
    *response.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
    response
}
