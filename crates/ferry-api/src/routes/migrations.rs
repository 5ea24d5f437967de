//! `/v1/namespaces/migrations…` (organization-scoped, no `X-Namespace`): the seven endpoints
//! of the Namespace Migrations API. Handlers parse and map errors; the rules live in
//! `ferry_migrate` (`service`, `lifecycle`, `plan`).

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post, MethodRouter};
use axum::{Json, Router};
use ferry_migrate::service::{self, ServiceError};
use ferry_store::{MigrationListQuery, StoreError};
use ferry_wire::migration::{
    CancelMigrationRequest, CancelMigrationResponse, CreateMigrationRequest,
    CreateMigrationResponse, GetMigrationResponse, ListMigrationsRequest, ListMigrationsResponse,
    MigrationStatus, StartMigrationRequest, StartMigrationResponse, ValidateMigrationRequest,
    ValidateMigrationResponse,
};
use ferry_wire::ErrorCode;
use ferry_wire::{ErrorResponse, HttpValidationError};
use serde_json::json;

use crate::error::{ApiError, ApiResult};
use crate::extract::{Authenticated, InOrganization, JsonBody};
use crate::listing::{self, ListRequest, ListRoute, NoQuery};
use crate::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        // The SDK posts to the collection path with its trailing slash; both spellings work.
        .route("/v1/namespaces/migrations/", post(create_migration))
        .route("/v1/namespaces/migrations", post(create_migration))
        .route(
            "/v1/namespaces/migrations/validate",
            post(validate_migration),
        )
        .route("/v1/namespaces/migrations/list", list_migrations())
        .route(
            "/v1/namespaces/migrations/{migration_id}",
            get(get_migration).delete(delete_migration),
        )
        .route(
            "/v1/namespaces/migrations/{migration_id}/start",
            post(start_migration),
        )
        .route(
            "/v1/namespaces/migrations/{migration_id}/cancel",
            post(cancel_migration),
        )
}

impl From<ServiceError> for ApiError {
    fn from(e: ServiceError) -> Self {
        match e {
            ServiceError::Store(StoreError::NotFound { resource, id }) => {
                ApiError::NotFound { resource, id }
            }
            ServiceError::Store(other) => other.into(),
            ServiceError::SourceNotFound { id, .. } => ApiError::NotFound {
                resource: "namespace",
                id,
            },
            ServiceError::Invalid { message, result } => ApiError::Coded {
                code: ErrorCode::MigrationValidationFailed,
                message,
                details: json!({"validation_result": result}).as_object().cloned(),
            },
            ServiceError::State(refusal) => ApiError::coded(refusal.code, refusal.message),
            ServiceError::Corrupt(message) => ApiError::Internal(message),
        }
    }
}

/// Create Migration: validated, then `draft` (or started with `start_immediately`).
///
/// Answers 200, not the spec's 201: the official SDK maps only a 200 to
/// `CreateMigrationResponse` and hands its users `None` for a 201, and the SDK wins.
#[utoipa::path(post, path = "/v1/namespaces/migrations/", tag = "Namespace Migrations",
    request_body = CreateMigrationRequest,
    responses((status = 200, body = CreateMigrationResponse), (status = 400, body = ErrorResponse),
              (status = 404, body = ErrorResponse), (status = 422, body = HttpValidationError)))]
async fn create_migration(
    State(state): State<AppState>,
    Authenticated(org): Authenticated,
    JsonBody(req): JsonBody<CreateMigrationRequest>,
) -> ApiResult<Json<CreateMigrationResponse>> {
    let record = service::create(
        &state.store,
        &state.registry,
        &org.internal_id,
        req.config,
        req.start_immediately,
    )
    .await?;
    let status = record.status;
    let message = match status {
        MigrationStatus::Draft => "Migration created; start it to run",
        _ => "Migration created and started",
    };
    Ok(Json(CreateMigrationResponse {
        migration_id: record.migration_id().to_owned(),
        status,
        validation_result: record
            .validation_result
            .clone()
            .map(serde_json::from_value)
            .transpose()
            .map_err(|e| ApiError::Internal(e.to_string()))?,
        created_at: ferry_store::time::from_micros(record.created_at),
        message: message.into(),
    }))
}

/// Validate Migration: the validation result and plan; `valid: false` for semantic problems.
#[utoipa::path(post, path = "/v1/namespaces/migrations/validate", tag = "Namespace Migrations",
    request_body = ValidateMigrationRequest,
    responses((status = 200, body = ValidateMigrationResponse), (status = 422, body = HttpValidationError)))]
async fn validate_migration(
    State(state): State<AppState>,
    Authenticated(org): Authenticated,
    JsonBody(req): JsonBody<ValidateMigrationRequest>,
) -> ApiResult<Json<ValidateMigrationResponse>> {
    let config = service::with_defaults(req.config);
    let planned =
        service::validate(&state.store, &state.registry, &org.internal_id, &config).await?;
    let message = if planned.result.valid {
        "The configuration is valid"
    } else {
        "The configuration has errors"
    };
    Ok(Json(ValidateMigrationResponse {
        validation_result: planned.result,
        dependency_graph: planned.graph,
        message: message.into(),
    }))
}

/// List Migrations, newest first, within the caller's organization. Its contract declares no
/// query parameters, so the query string is not read: the body pages.
#[utoipa::path(post, path = "/v1/namespaces/migrations/list", tag = "Namespace Migrations",
    request_body = ListMigrationsRequest,
    responses((status = 200, body = ListMigrationsResponse), (status = 422, body = HttpValidationError)))]
fn list_migrations() -> MethodRouter<AppState> {
    listing::post::<MigrationList>()
}

struct MigrationList;

impl ListRoute for MigrationList {
    type Scope = Authenticated;
    type Query = NoQuery;
    type GetQuery = NoQuery;
    type Body = ListMigrationsRequest;
    type Response = ListMigrationsResponse;

    const READS_QUERY: bool = false;

    async fn list(
        state: AppState,
        Authenticated(org): Authenticated,
        request: ListRequest<Self>,
    ) -> ApiResult<ListMigrationsResponse> {
        let page = request.page()?;
        let body = request.body;
        let (records, total) = service::list(
            &state.store,
            &org.internal_id,
            &MigrationListQuery {
                status: body.status,
                migration_type: body.migration_type,
                source_namespace_id: body.source_namespace_id,
                limit: page.limit,
                offset: page.offset,
            },
        )
        .await?;
        let results = records
            .into_iter()
            .map(service::response)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(ListMigrationsResponse {
            results,
            total,
            limit: page.limit,
            offset: page.offset,
        })
    }
}

/// Get Migration
#[utoipa::path(get, path = "/v1/namespaces/migrations/{migration_id}", tag = "Namespace Migrations",
    params(("migration_id" = String, Path)),
    responses((status = 200, body = GetMigrationResponse), (status = 404, body = ErrorResponse)))]
async fn get_migration(
    InOrganization(state, Authenticated(org), migration_id): InOrganization<String>,
) -> ApiResult<Json<GetMigrationResponse>> {
    Ok(Json(
        service::get(&state.store, &org.internal_id, &migration_id).await?,
    ))
}

/// Start Migration: from `draft`, or `failed` (re-runs only unfinished and failed work).
#[utoipa::path(post, path = "/v1/namespaces/migrations/{migration_id}/start",
    tag = "Namespace Migrations", params(("migration_id" = String, Path)),
    request_body = StartMigrationRequest,
    responses((status = 200, body = StartMigrationResponse), (status = 400, body = ErrorResponse),
              (status = 404, body = ErrorResponse), (status = 422, body = HttpValidationError)))]
async fn start_migration(
    InOrganization(state, Authenticated(org), migration_id): InOrganization<String>,
    JsonBody(req): JsonBody<StartMigrationRequest>,
) -> ApiResult<Json<StartMigrationResponse>> {
    let record = service::start(
        &state.store,
        &state.registry,
        &org.internal_id,
        &migration_id,
        req.force,
    )
    .await?;
    Ok(Json(StartMigrationResponse {
        status: record.status,
        task_id: record.task_id.clone().unwrap_or_default(),
        started_at: service::started_or_now(&record),
        message: "Migration started".into(),
        migration_id: record.migration_id().to_owned(),
    }))
}

/// Cancel Migration: a running one stops within one batch; the partial target stays.
#[utoipa::path(post, path = "/v1/namespaces/migrations/{migration_id}/cancel",
    tag = "Namespace Migrations", params(("migration_id" = String, Path)),
    request_body = CancelMigrationRequest,
    responses((status = 200, body = CancelMigrationResponse), (status = 400, body = ErrorResponse),
              (status = 404, body = ErrorResponse), (status = 422, body = HttpValidationError)))]
async fn cancel_migration(
    InOrganization(state, Authenticated(org), migration_id): InOrganization<String>,
    JsonBody(req): JsonBody<CancelMigrationRequest>,
) -> ApiResult<Json<CancelMigrationResponse>> {
    let record = service::cancel(
        &state.store,
        &org.internal_id,
        &migration_id,
        req.reason.as_deref(),
    )
    .await?;
    Ok(Json(CancelMigrationResponse {
        status: record.status,
        cancelled_at: record
            .completed_at
            .map(ferry_store::time::from_micros)
            .unwrap_or_else(chrono::Utc::now),
        message: "Migration cancelled".into(),
        migration_id: record.migration_id().to_owned(),
    }))
}

/// Delete Migration (not its target namespace).
#[utoipa::path(delete, path = "/v1/namespaces/migrations/{migration_id}",
    tag = "Namespace Migrations", params(("migration_id" = String, Path)),
    responses((status = 204), (status = 400, body = ErrorResponse), (status = 404, body = ErrorResponse)))]
async fn delete_migration(
    InOrganization(state, Authenticated(org), migration_id): InOrganization<String>,
) -> ApiResult<StatusCode> {
    service::delete(&state.store, &org.internal_id, &migration_id).await?;
    Ok(StatusCode::NO_CONTENT)
}
