//! One module per resource, each exposing `router()`. Lists are served through
//! [`crate::listing`].

pub(crate) mod aliases;
pub(crate) mod buckets;
pub(crate) mod cluster_executions;
mod cluster_inputs;
pub(crate) mod clusters;
pub(crate) mod collection_indexes;
pub(crate) mod collections;
pub(crate) mod cutover;
pub(crate) mod documents;
pub(crate) mod evaluations;
pub(crate) mod extractors;
pub(crate) mod health;
pub(crate) mod interactions;
pub(crate) mod migrations;
pub(crate) mod namespaces;
pub(crate) mod objects;
pub(crate) mod retriever_executions;
pub(crate) mod retrievers;
pub(crate) mod tasks;
pub(crate) mod taxonomies;
