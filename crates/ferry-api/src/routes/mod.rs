//! One module per resource, each exposing `router()`.

pub(crate) mod health;
pub(crate) mod namespaces;
