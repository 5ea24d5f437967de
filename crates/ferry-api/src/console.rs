//! `/console`: Ferry's web console, static HTML, JavaScript and CSS compiled into the binary
//! (no build step, nothing to install). The page talks to the public API only, with the key
//! the user types, kept in the browser tab's `sessionStorage`; so the assets themselves need
//! no key, and the console can do nothing the key could not do with `curl`.

use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;

use crate::AppState;

const INDEX: &str = include_str!("console/index.html");
const SCRIPT: &str = include_str!("console/app.js");
const STYLE: &str = include_str!("console/app.css");

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/console", get(|| asset("text/html; charset=utf-8", INDEX)))
        .route(
            "/console/",
            get(|| asset("text/html; charset=utf-8", INDEX)),
        )
        .route(
            "/console/app.js",
            get(|| asset("text/javascript; charset=utf-8", SCRIPT)),
        )
        .route(
            "/console/app.css",
            get(|| asset("text/css; charset=utf-8", STYLE)),
        )
}

async fn asset(content_type: &'static str, body: &'static str) -> impl IntoResponse {
    // The assets change with the binary; `no-cache` makes a browser revalidate after an
    // upgrade instead of running an old script against a new API.
    (
        [(CONTENT_TYPE, content_type), (CACHE_CONTROL, "no-cache")],
        body,
    )
}
