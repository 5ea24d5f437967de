//! The migration engine: runs a started migration (`api_namespaces_migrations_run` task) through
//! its seven stages, each resumable. `docs/ARCHITECTURE.md` ("A migration's path") follows one
//! migration through these modules.
//!
//! - `namespace_setup` creates the target namespace and resources in execution order; every
//!   target id is preserved or derived (see [`crate::ids`]) and recorded in the id map, so a
//!   restarted setup finds what it already made.
//! - `batch_creation` enumerates the selected source objects and documents (keys only) into
//!   persisted keyset batches of `batch_size`.
//! - `batch_processing` runs up to `max_workers` leased batches at once; each batch's target
//!   rows and its done mark commit together, and inserts skip ids already present, so a batch
//!   replayed after a crash neither loses nor duplicates a row.
//! - `cluster_execution`, `taxonomy_enrichment`, `benchmark_evaluation` and `finalization`
//!   follow, per the migration's options.
//!
//! The types differ in a few places: a `re_extract` creates its rebuilt collections with the
//! new extractor and fills them with extraction batches (over source objects, or, a wave
//! later, over rebuilt upstream documents) instead of copies, and re-runs the clusters and
//! taxonomies over them; an `extend` adopts the resources its base migration created, names
//! items as that migration did, overwrites only changed items, and reports (with `force`,
//! applies) source deletions.
//!
//! Stage progress is saved as each stage advances; a stage marked completed is skipped when
//! the task is resumed. Cancellation is noticed between batches.
//!
//! Modules, in the order a run meets them:
//! - [`driver`]: claims a task, holds its lease, loads the [`Run`](run::Run) once, drives the
//!   stages in order and settles the task to mirror the migration;
//! - [`progress`]: stage status and counts, weighted into the overall percentage;
//! - one module per stage: [`setup`], [`planning`] (and [`dry_run`]), [`processing`] with
//!   [`batch`] (one batch's copy or extraction), [`enrichment`] (clusters and taxonomies),
//!   [`evaluation`] and [`finalization`] (with [`evaluation_sets`], copied with their
//!   retrievers).
//!
//! Errors are [`MigrateError`](crate::error::MigrateError).

mod batch;
mod driver;
mod dry_run;
mod enrichment;
mod evaluation;
mod evaluation_sets;
mod finalization;
mod planning;
mod processing;
mod progress;
mod run;
mod setup;
#[cfg(test)]
mod tests;

use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use std::time::Duration;

use ferry_pipeline::{Breakpoints, FaultPoint};
use ferry_store::blobs::BlobStore;
use ferry_store::Store;

pub use crate::error::MigrateError;

/// Task type of a migration run, as the SDK's `TaskType` names it.
pub const MIGRATION_TASK: &str = "api_namespaces_migrations_run";

#[derive(Debug, Clone)]
pub struct EngineConfig {
    pub lease: Duration,
    /// Batches this engine runs at once, at most (a migration's `max_workers` bounds those in
    /// flight over every process).
    pub batch_concurrency: usize,
    pub poll_interval: Duration,
    /// Wait before a failed batch's first retry; doubled for each further one.
    pub retry_backoff: Duration,
    /// Test-only: where this process dies on purpose (counted in migration batches).
    pub fault: Option<FaultPoint>,
    /// Test-only: where a test holds the engine (counted as `fault` is), to act at an exact
    /// point or to abort the engine there as a crash would.
    pub breakpoints: Breakpoints,
    /// Wait before a webhook delivery's first retry; doubled for each further one.
    pub webhook_backoff: Duration,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            lease: Duration::from_secs(30),
            batch_concurrency: 50,
            poll_interval: Duration::from_millis(200),
            retry_backoff: Duration::from_millis(200),
            fault: None,
            breakpoints: Breakpoints::default(),
            webhook_backoff: Duration::from_millis(500),
        }
    }
}

/// Runs migrations; cheap to clone.
#[derive(Clone)]
pub struct Engine {
    store: Store,
    blobs: BlobStore,
    /// Extractors a re_extract runs.
    registry: Arc<ferry_extract::Registry>,
    /// Runs retrievers for the benchmark stage.
    retrieval: ferry_retrieve::Engine,
    config: EngineConfig,
    worker_id: String,
    /// Migration batches this process has started (what `FaultPoint`s count).
    batches_started: Arc<AtomicU64>,
    /// Extraction batches written by this process (statistics are refreshed as they grow).
    extractions: Arc<AtomicU64>,
}

fn now_micros() -> i64 {
    ferry_store::time::now_micros()
}

impl Engine {
    pub fn new(
        store: Store,
        blobs: BlobStore,
        registry: Arc<ferry_extract::Registry>,
        config: EngineConfig,
    ) -> Self {
        let retrieval = ferry_retrieve::Engine::new(
            store.clone(),
            registry.clone(),
            Arc::new(ferry_retrieve::ExactScan::new(store.clone())),
        );
        Engine {
            retrieval,
            registry,
            store,
            blobs,
            config,
            worker_id: ferry_store::ids::new_id("wkr"),
            batches_started: Arc::default(),
            extractions: Arc::default(),
        }
    }

    /// Benchmarks retrieval through `search` (the process's indexes) instead of scanning
    /// exactly.
    pub fn with_search(mut self, search: Arc<dyn ferry_retrieve::VectorSearch>) -> Self {
        self.retrieval =
            ferry_retrieve::Engine::new(self.store.clone(), self.registry.clone(), search);
        self
    }

    fn lease_deadline(&self) -> i64 {
        now_micros() + self.config.lease.as_micros() as i64
    }
}
