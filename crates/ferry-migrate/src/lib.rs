//! Namespace migrations: planning a migration over the source's dependency graph
//! ([`graph`]), the lifecycle state machine ([`lifecycle`]), and the engine that runs a started
//! migration's stages as a leased, resumable task; and an alias's quality-gated [`cutover`].

pub mod benchmark;
pub mod cutover;
pub mod engine;
pub mod error;
pub mod graph;
pub mod ids;
pub mod lifecycle;
mod metered;
pub mod plan;
pub mod reextract;
pub mod service;
pub mod target_name;
pub mod webhooks;
