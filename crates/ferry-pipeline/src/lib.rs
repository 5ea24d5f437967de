//! Collection processing. A trigger becomes a task (`api_collections_trigger`); a worker takes
//! the task's lease and streams the collection's source (bucket objects, or an upstream
//! collection's documents) in keyset-ordered batches through the collection's feature
//! extractor. Each batch's documents, the task's progress and its resume cursor commit in one
//! transaction, and document ids are derived from (collection, source, chunk), so a task
//! resumed after a crash — by this process or any other sharing the database — neither loses
//! nor duplicates a document.
//!
//! Cluster executions (`engine_cluster_build`) run on the same workers and leases: k-means
//! over a cluster's input collections, streamed (see `cluster`); so do taxonomy
//! materializations (`api_taxonomies_materialize`, see `taxonomy`).

mod cluster;
mod config;
mod fault;
mod freeze;
mod kmeans;
mod metered;
mod source;
mod taxonomy;
mod worker;

pub use cluster::{
    ClusterDefinition, ClusterPlan, PlanCollection, CLUSTER_TASK, DEFAULT_TRAINING_SAMPLE,
};
pub use config::CollectionConfig;
pub use fault::{checkpoint, die, Breakpoint, Breakpoints, FaultPoint, Pause};
pub use freeze::through_freeze;
pub use source::{next_items, Item, Source};
pub use taxonomy::{taxonomy_field, TaxonomyApplication, TAXONOMY_TASK};
pub use worker::{
    extract_items, Pipeline, PipelineConfig, PipelineError, STATISTICS_EVERY_BATCHES, TRIGGER_TASK,
};
