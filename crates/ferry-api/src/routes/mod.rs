//! One module per resource, each exposing `router()`.

pub(crate) mod buckets;
pub(crate) mod health;
pub(crate) mod namespaces;
pub(crate) mod objects;
