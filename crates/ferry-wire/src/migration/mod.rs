//! Namespace migrations: the bodies of `/v1/namespaces/migrations…` (create, get, list,
//! validate, start, cancel), shaped as Mixpeek's migrations OpenAPI document defines them and
//! as the official SDK's models (`mixpeek==1.3.783`) read and write them. How these types sit
//! in the wire contract is described in `docs/ARCHITECTURE.md` ("The wire contract").
//!
//! This module owns the 29 migration schemas of that document (every component but
//! `ErrorDetail`, `ErrorResponse` and `HTTPValidationError`, which live in [`crate::error`]),
//! one submodule per responsibility:
//! - [`enums`]: the enumerations, which the store persists as text
//!   ([`MigrationStatus::as_str`], [`std::str::FromStr`]);
//! - [`config`], [`options`] and [`resource_filter`]: the configuration a client sends
//!   ([`MigrationConfig`]) and the option groups and filters it nests;
//! - [`requests`]: the create, validate, start and cancel bodies;
//! - [`list`]: the list request (filters, paging) and its response;
//! - [`validation`]: the pre-flight report (issues, result, dependency graph);
//! - [`progress`]: the progress of a migration, its stages and resources;
//! - [`responses`]: the migration record and the answers to create, validate, start, cancel.
//!
//! Requests refuse keys the spec does not declare (`extra_forbidden`; the SDK documents the
//! same for every migration body from 2026-11-02 on) and check the spec's bounds through
//! [`Validate`](crate::validate::Validate), located relative to the body
//! (`["config","batch_options","batch_size"]`). Responses write every property, `null` where
//! there is no value, because each SDK model accepts `null` for every property it does not
//! require.
//!
//! Where the spec and the SDK differ, the SDK wins and the difference is noted on the type:
//! the items of [`ValidationResult::errors`]/[`ValidationResult::warnings`]
//! ([`ValidationIssue`]) and the description of [`StartMigrationResponse::task_id`]. The spec's
//! two `shared__namespaces__migrations__models__…` schemas are [`FeatureExtractorConfig`] and
//! [`ResourceType`] here, and keep the spec's names in the OpenAPI document.

pub mod config;
pub mod enums;
pub mod list;
pub mod options;
pub mod progress;
pub mod requests;
pub mod resource_filter;
pub mod responses;
pub mod validation;

#[cfg(test)]
mod spec_tests;
#[cfg(test)]
mod test_support;

pub use config::MigrationConfig;
pub use enums::{MigrationStage, MigrationStatus, MigrationType, ResourceType, UnknownVariant};
pub use list::{ListMigrationsRequest, ListMigrationsResponse};
pub use options::{
    BatchOptions, ClusterOptions, FeatureExtractorConfig, RetrieverOptions, TaxonomyOptions,
};
pub use progress::{MigrationProgress, ResourceProgress, StageProgress};
pub use requests::{
    CancelMigrationRequest, CreateMigrationRequest, StartMigrationRequest, ValidateMigrationRequest,
};
pub use resource_filter::{ResourceFilter, DATE_RANGE_KEYS};
pub use responses::{
    CancelMigrationResponse, CreateMigrationResponse, GetMigrationResponse, StartMigrationResponse,
    ValidateMigrationResponse,
};
pub use validation::{
    DependencyGraph, DependencyNode, IssueSeverity, ValidationIssue, ValidationResult,
};
