//! The operations behind the seven endpoints: validate, create, get, list, start, cancel,
//! delete. Each checks the lifecycle rule, applies the change through the store (compare-and-
//! set on the status) and returns what the API reports; the HTTP layer only maps errors.

use chrono::Utc;
use ferry_extract::Registry;
use ferry_store::{
    MigrationListQuery, MigrationRecord, NewMigration, StatusChange, Store, StoreError,
};
use ferry_wire::migration::{
    DependencyGraph, GetMigrationResponse, MigrationConfig, MigrationProgress, MigrationStatus,
    ValidationResult,
};
use ferry_wire::ErrorCode;
use serde_json::Value;

use crate::engine::MIGRATION_TASK;
use crate::lifecycle::{Action, Refusal};
use crate::plan::{self, Planned};

#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error(transparent)]
    Store(#[from] StoreError),
    /// 404: the source namespace (on create) does not exist.
    #[error("{message}")]
    SourceNotFound { id: String, message: String },
    /// 400 `MigrationValidationError`, with the full result.
    #[error("{message}")]
    Invalid {
        message: String,
        result: Box<ValidationResult>,
    },
    /// 400 `InvalidStateError`.
    #[error("{}", .0.message)]
    State(Refusal),
    #[error("stored migration is unreadable: {0}")]
    Corrupt(String),
}

fn corrupt(e: impl std::fmt::Display) -> ServiceError {
    ServiceError::Corrupt(e.to_string())
}

fn to_value<T: serde::Serialize>(value: &T) -> Result<Value, ServiceError> {
    serde_json::to_value(value).map_err(corrupt)
}

/// `config` with every option block filled with its defaults, as the API reports it.
pub fn with_defaults(mut config: MigrationConfig) -> MigrationConfig {
    config.filters = Some(config.filters_or_default());
    config.batch_options = Some(config.batch_options_or_default());
    config.taxonomy_options = Some(config.taxonomy_options_or_default());
    config.cluster_options = Some(config.cluster_options_or_default());
    config.retriever_options = Some(config.retriever_options_or_default());
    config
}

pub async fn validate(
    store: &Store,
    registry: &Registry,
    org: &str,
    config: &MigrationConfig,
) -> Result<Planned, ServiceError> {
    Ok(plan::validate(store, registry, org, config).await?)
}

fn refuse_invalid(planned: &Planned, what: &str) -> Result<(), ServiceError> {
    if planned.result.valid {
        return Ok(());
    }
    let first = planned
        .result
        .errors
        .first()
        .map(|e| e.message.clone())
        .unwrap_or_default();
    Err(ServiceError::Invalid {
        message: format!("The migration configuration is invalid ({what}): {first}"),
        result: Box::new(planned.result.clone()),
    })
}

/// Validates and records a migration: `draft`, or started at once with `start_immediately`.
pub async fn create(
    store: &Store,
    registry: &Registry,
    org: &str,
    config: MigrationConfig,
    start_immediately: bool,
) -> Result<MigrationRecord, ServiceError> {
    let config = with_defaults(config);
    let planned = validate(store, registry, org, &config).await?;
    if planned.source.is_none() {
        return Err(ServiceError::SourceNotFound {
            id: config.source_namespace_id.clone(),
            message: format!(
                "Source namespace '{}' not found",
                config.source_namespace_id
            ),
        });
    }
    refuse_invalid(&planned, "create")?;
    if start_immediately && !planned.result.warnings.is_empty() {
        return Err(ServiceError::Invalid {
            message: "The configuration has warnings; create it without start_immediately, \
                      then start it with force"
                .into(),
            result: Box::new(planned.result.clone()),
        });
    }
    let new = NewMigration {
        migration_id: ferry_store::ids::new_id("mig"),
        source_namespace_id: planned
            .source
            .as_ref()
            .map(|s| s.namespace_id.clone())
            .unwrap_or_default(),
        migration_type: config.migration_type,
        status: MigrationStatus::Draft,
        config: to_value(&config)?,
        validation_result: Some(to_value(&planned.result)?),
        dependency_graph: planned.graph.as_ref().map(to_value).transpose()?,
        progress: to_value(&MigrationProgress::new(MigrationStatus::Draft))?,
        created_at: ferry_store::time::now_micros(),
    };
    let record = store.insert_migration(org, new).await?;
    if start_immediately {
        // Just validated above (warnings refused): no second pass over the source.
        return start_checked(store, registry, org, record.migration_id(), false, false).await;
    }
    Ok(record)
}

/// Starts a `draft` migration, or restarts a `failed` one (only unfinished and failed work
/// runs again). Re-validates first: errors refuse the start, warnings unless `force`.
pub async fn start(
    store: &Store,
    registry: &Registry,
    org: &str,
    migration_id: &str,
    force: bool,
) -> Result<MigrationRecord, ServiceError> {
    start_checked(store, registry, org, migration_id, force, true).await
}

/// [`start`], re-validating a first start only when `revalidate`.
async fn start_checked(
    store: &Store,
    registry: &Registry,
    org: &str,
    migration_id: &str,
    force: bool,
    revalidate: bool,
) -> Result<MigrationRecord, ServiceError> {
    let record = store.get_migration(org, migration_id).await?;
    let status = record.status;
    Action::Start.check(status).map_err(ServiceError::State)?;
    let config: MigrationConfig = serde_json::from_value(record.config.clone()).map_err(corrupt)?;
    let restart = status == MigrationStatus::Failed;
    if !restart && revalidate {
        // A restart keeps its plan and its target (which now exists, by design).
        let planned = validate(store, registry, org, &config).await?;
        refuse_invalid(&planned, "start")?;
        if !planned.result.warnings.is_empty() && !force {
            return Err(ServiceError::Invalid {
                message: "The configuration has warnings; start with force=true to proceed".into(),
                result: Box::new(planned.result),
            });
        }
    } else {
        store.reset_failed_batches(&record.key).await?;
    }
    let mut progress: MigrationProgress =
        serde_json::from_value(record.progress.clone()).map_err(corrupt)?;
    progress.overall_status = MigrationStatus::Pending;
    for stage in &mut progress.stages {
        if stage.status != MigrationStatus::Completed {
            stage.status = MigrationStatus::Pending;
            stage.error_message = None;
        }
    }
    // Failed batches run again, so processing and what follows it are not done.
    if restart {
        for stage in progress.stages.iter_mut().skip(2) {
            stage.status = MigrationStatus::Pending;
            stage.completed_at = None;
        }
    }
    let (migration, _task) = store
        .start_migration(
            &record.key,
            Action::Start.allowed_from(),
            MIGRATION_TASK,
            force,
            StatusChange {
                error_message: Some(None),
                progress: Some(to_value(&progress)?),
                ..Default::default()
            },
        )
        .await
        .map_err(|e| state_error(e, Action::Start))?;
    Ok(migration)
}

/// A compare-and-set that lost a race reports the rule against the status it met.
fn state_error(e: StoreError, action: Action) -> ServiceError {
    match e {
        StoreError::StatusChanged { current, .. } => {
            let message = e.to_string();
            match current.map(|status| action.check(status)) {
                Some(Err(refusal)) => ServiceError::State(refusal),
                _ => ServiceError::State(Refusal {
                    code: ErrorCode::ConcurrentTransition,
                    message,
                }),
            }
        }
        other => ServiceError::Store(other),
    }
}

/// Cancels the migration; a running one stops within one batch. The partial target stays.
pub async fn cancel(
    store: &Store,
    org: &str,
    migration_id: &str,
    reason: Option<&str>,
) -> Result<MigrationRecord, ServiceError> {
    let record = store.get_migration(org, migration_id).await?;
    Action::Cancel
        .check(record.status)
        .map_err(ServiceError::State)?;
    let mut additional = record
        .additional_data
        .clone()
        .unwrap_or_else(|| Value::Object(Default::default()));
    additional["cancel_reason"] = reason.map_or(Value::Null, Value::from);
    additional["target_state"] = Value::from(if record.target_namespace_id.is_some() {
        "partial"
    } else {
        "not_created"
    });
    let mut progress: MigrationProgress =
        serde_json::from_value(record.progress.clone()).map_err(corrupt)?;
    progress.overall_status = MigrationStatus::Cancelled;
    store
        .set_migration_status(
            &record.key,
            Action::Cancel.allowed_from(),
            MigrationStatus::Cancelled,
            StatusChange {
                completed_at: Some(ferry_store::time::now_micros()),
                additional_data: Some(additional),
                progress: Some(to_value(&progress)?),
                ..Default::default()
            },
        )
        .await
        .map_err(|e| state_error(e, Action::Cancel))
}

pub async fn delete(store: &Store, org: &str, migration_id: &str) -> Result<(), ServiceError> {
    let record = store.get_migration(org, migration_id).await?;
    Action::Delete
        .check(record.status)
        .map_err(ServiceError::State)?;
    store
        .delete_migration(&record.key, Action::Delete.allowed_from())
        .await
        .map_err(|e| state_error(e, Action::Delete))
}

pub async fn list(
    store: &Store,
    org: &str,
    query: &MigrationListQuery,
) -> Result<(Vec<MigrationRecord>, i64), ServiceError> {
    Ok(store.list_migrations(org, query).await?)
}

/// The record as `GetMigrationResponse`.
pub fn response(record: MigrationRecord) -> Result<GetMigrationResponse, ServiceError> {
    let config: MigrationConfig = serde_json::from_value(record.config).map_err(corrupt)?;
    let status = record.status;
    let mut progress: MigrationProgress =
        serde_json::from_value(record.progress).map_err(corrupt)?;
    progress.overall_status = status;
    if status == MigrationStatus::Completed {
        progress.overall_progress_percent = 100.0;
    }
    let validation_result: Option<ValidationResult> = record
        .validation_result
        .map(serde_json::from_value)
        .transpose()
        .map_err(corrupt)?;
    let dependency_graph: Option<DependencyGraph> = record
        .dependency_graph
        .map(serde_json::from_value)
        .transpose()
        .map_err(corrupt)?;
    let from_micros = ferry_store::time::from_micros;
    Ok(GetMigrationResponse {
        migration_id: record.key.id().to_owned(),
        internal_id: record.key.org().to_owned(),
        namespace_id: record.source_namespace_id,
        config,
        status,
        progress,
        validation_result,
        dependency_graph,
        task_id: record.task_id,
        created_at: from_micros(record.created_at),
        started_at: record.started_at.map(from_micros),
        completed_at: record.completed_at.map(from_micros),
        error_message: record.error_message,
        additional_data: record
            .additional_data
            .and_then(|v| v.as_object().cloned())
            .unwrap_or_default(),
    })
}

/// The migration as `GET` shows it: the record, and its webhook deliveries in
/// `additional_data.webhook_deliveries`.
pub async fn get(
    store: &Store,
    org: &str,
    migration_id: &str,
) -> Result<GetMigrationResponse, ServiceError> {
    let record = store.get_migration(org, migration_id).await?;
    let deliveries = store.webhook_deliveries(&record.key).await?;
    let mut response = response(record)?;
    if !deliveries.is_empty() {
        let listed: Vec<Value> = deliveries
            .into_iter()
            .map(|d| {
                serde_json::json!({
                    "webhook_id": d.delivery_id, "event": d.event, "url": d.url,
                    "status": d.status, "attempts": d.attempts,
                    "last_status_code": d.last_status_code, "last_error": d.last_error,
                })
            })
            .collect();
        response
            .additional_data
            .insert("webhook_deliveries".into(), Value::Array(listed));
    }
    Ok(response)
}

/// When the migration started, or now when its run has not begun yet (a `start` answers
/// before the engine picks the run up).
pub fn started_or_now(record: &MigrationRecord) -> chrono::DateTime<Utc> {
    record
        .started_at
        .map(ferry_store::time::from_micros)
        .unwrap_or_else(Utc::now)
}
