//! `GET /metrics`: Ferry's figures in Prometheus' text format, and the HTTP middleware that
//! counts requests by route template.
//!
//! The recorder is the `metrics` facade's global one (`metrics-exporter-prometheus`), installed
//! once per process, so the workers' counters (`ferry-migrate`, `ferry-pipeline`,
//! `ferry-extract` emit through the same facade) land beside the HTTP ones. Figures that are
//! state rather than events (tasks and migrations by status, pool usage) are read from the
//! store at scrape time, so they are true after a restart and across processes sharing a store.
//!
//! The endpoint needs no API key: every figure is a whole-server aggregate (no organization,
//! namespace or resource id appears in a label), which no single organization's key should
//! gate, and Prometheus scrapes without credentials by default. Keep the listen address
//! private, as for the health endpoints.

use std::collections::BTreeSet;
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Request, State};
use axum::http::header::CONTENT_TYPE;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

use crate::error::ApiError;
use crate::AppState;

/// Latency buckets in seconds, shared by every histogram: a millisecond to a minute.
const BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
];

/// The route label of a request no route matched: one value, so random paths cannot grow
/// the number of series.
const UNMATCHED: &str = "unmatched";

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// Installs the process-wide recorder (first call) and returns its handle. A thread drains
/// histogram samples into their buckets every few seconds, so memory stays bounded between
/// scrapes.
pub fn install() -> &'static PrometheusHandle {
    HANDLE.get_or_init(|| {
        let builder = PrometheusBuilder::new()
            .set_buckets(BUCKETS)
            .expect("bucket list is not empty");
        let recorder = builder.build_recorder();
        let handle = recorder.handle();
        // Another recorder may already be installed (an embedding program's); then Ferry's
        // own figures still render, the facade's go to the other recorder.
        if metrics::set_global_recorder(recorder).is_err() {
            tracing::warn!(
                "a metrics recorder was already installed; /metrics shows store figures only"
            );
        }
        let upkeep = handle.clone();
        std::thread::Builder::new()
            .name("ferry-metrics-upkeep".into())
            .spawn(move || loop {
                std::thread::sleep(Duration::from_secs(5));
                upkeep.run_upkeep();
            })
            .expect("spawn the metrics upkeep thread");
        handle
    })
}

/// Counts each request by method, route template and status, and times it.
pub async fn track(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().as_str().to_owned();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| UNMATCHED.to_owned(), |p| p.as_str().to_owned());
    let response = next.run(request).await;
    let status = response.status().as_u16().to_string();
    let labels = [("method", method), ("route", route), ("status", status)];
    metrics::counter!("ferry_http_requests_total", &labels).increment(1);
    metrics::histogram!("ferry_http_request_duration_seconds", &labels)
        .record(started.elapsed().as_secs_f64());
    response
}

/// Objects a create call wrote (idempotent replays wrote nothing).
pub(crate) fn objects_written(inserted: &[ferry_store::Inserted]) {
    let created = inserted
        .iter()
        .filter(|i| matches!(i, ferry_store::Inserted::Created(_)))
        .count();
    metrics::counter!("ferry_objects_written_total", "kind" => "api").increment(created as u64);
}

/// Label values a gauge was last set for, so a status that no longer occurs drops to 0
/// instead of keeping its last count.
static SEEN: Mutex<BTreeSet<(&'static str, String)>> = Mutex::new(BTreeSet::new());

fn set_by_status(name: &'static str, counts: Vec<(String, i64)>) {
    let mut seen = SEEN.lock().unwrap_or_else(|p| p.into_inner());
    for (metric, status) in seen.iter() {
        if *metric == name && !counts.iter().any(|(s, _)| s == status) {
            metrics::gauge!(name, "status" => status.clone()).set(0.0);
        }
    }
    for (status, count) in counts {
        metrics::gauge!(name, "status" => status.clone()).set(count as f64);
        seen.insert((name, status));
    }
}

/// One scrape at a time sets the store gauges and renders, so a response shows the figures of
/// the store it read (the gauges are process-wide; tests run several stores in one process).
static SCRAPE: Mutex<()> = Mutex::new(());

/// `GET /metrics`.
pub async fn serve(State(state): State<AppState>) -> Result<Response, ApiError> {
    let handle = install();
    let tasks = state.store.task_status_counts().await?;
    let migrations = state.store.migration_status_counts().await?;
    let pool = state.store.pool_usage();
    let _one_at_a_time = SCRAPE.lock().unwrap_or_else(|p| p.into_inner());
    set_by_status("ferry_tasks", tasks);
    set_by_status("ferry_migrations", migrations);
    metrics::gauge!("ferry_store_pool_connections", "state" => "idle").set(f64::from(pool.idle));
    metrics::gauge!("ferry_store_pool_connections", "state" => "in_use")
        .set(f64::from(pool.open.saturating_sub(pool.idle)));
    metrics::gauge!("ferry_store_pool_max_connections").set(f64::from(pool.max));
    Ok((
        [(CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")],
        handle.render(),
    )
        .into_response())
}
