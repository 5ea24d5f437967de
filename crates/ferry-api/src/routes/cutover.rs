//! `POST /v1/namespaces/aliases/{alias_name}/cutover` and `…/rollback` (organization-scoped;
//! Ferry's extension). The steps and their guarantees are `ferry_migrate::cutover`'s; these
//! handlers validate, call it, and map its refusals to stable codes: 400
//! `migration_not_found`, 409 `cutover_not_ready`, 409 `cutover_refused` (with
//! `details.failures`, one entry per failing figure), 409 `nothing_to_roll_back`.

use axum::routing::post;
use axum::{Json, Router};
use ferry_migrate::cutover::{Cutover, CutoverError};
use ferry_wire::cutover::{CutoverRequest, CutoverResponse, RollbackResponse};
use ferry_wire::{ErrorCode, ErrorResponse, HttpValidationError};
use serde_json::json;

use super::aliases::alias_model;
use crate::error::{bad_request, ApiError, ApiResult};
use crate::extract::{Authenticated, InOrganization, JsonBody};
use crate::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/v1/namespaces/aliases/{alias_name}/cutover",
            post(cutover_alias),
        )
        .route(
            "/v1/namespaces/aliases/{alias_name}/rollback",
            post(roll_back_alias),
        )
}

fn cutover(state: &AppState) -> Cutover {
    Cutover::new(
        state.store.clone(),
        state.blobs.clone(),
        state.registry.clone(),
    )
}

/// Cut Over Namespace Alias (Ferry's extension): move the alias from a completed migration's
/// source to its target if the migration's figures pass the thresholds, after catching up
/// the source's writes under a short write freeze. The source is read-only afterwards.
#[utoipa::path(post, path = "/v1/namespaces/aliases/{alias_name}/cutover", tag = "Namespace Aliases (Ferry extension)",
    params(("alias_name" = String, Path)), request_body = CutoverRequest,
    responses((status = 200, body = CutoverResponse), (status = 400, body = ErrorResponse),
              (status = 404, body = ErrorResponse), (status = 409, body = ErrorResponse),
              (status = 422, body = HttpValidationError)))]
async fn cutover_alias(
    InOrganization(state, Authenticated(org), name): InOrganization<String>,
    JsonBody(req): JsonBody<CutoverRequest>,
) -> ApiResult<Json<CutoverResponse>> {
    let done = cutover(&state)
        .cut_over(&org.internal_id, &name, &req)
        .await
        .map_err(refusal)?;
    Ok(Json(CutoverResponse {
        object: "namespace_alias_cutover".into(),
        alias: alias_model(done.alias),
        migration_id: done.migration_id,
        from_namespace_id: done.from.namespace_id,
        to_namespace_id: done.to.namespace_id,
        forced: done.forced,
        checks: done.checks,
        catch_up: done.catch_up,
    }))
}

/// Roll Back Namespace Alias (Ferry's extension): point the alias back to where it pointed
/// before its last move. That namespace is writable again; the one it leaves is read-only.
#[utoipa::path(post, path = "/v1/namespaces/aliases/{alias_name}/rollback", tag = "Namespace Aliases (Ferry extension)",
    params(("alias_name" = String, Path)),
    responses((status = 200, body = RollbackResponse), (status = 404, body = ErrorResponse),
              (status = 409, body = ErrorResponse)))]
async fn roll_back_alias(
    InOrganization(state, Authenticated(org), name): InOrganization<String>,
) -> ApiResult<Json<RollbackResponse>> {
    let done = cutover(&state)
        .roll_back(&org.internal_id, &name)
        .await
        .map_err(refusal)?;
    Ok(Json(RollbackResponse {
        object: "namespace_alias_rollback".into(),
        alias: alias_model(done.alias),
        from_namespace_id: done.from.namespace_id,
        to_namespace_id: done.to.namespace_id,
        migration_id: done.migration_id,
    }))
}

fn refusal(e: CutoverError) -> ApiError {
    let message = e.to_string();
    match e {
        CutoverError::Store(e) => e.into(),
        CutoverError::Migrate(ferry_migrate::error::MigrateError::Store(e)) => e.into(),
        CutoverError::Migrate(e) => ApiError::coded(ErrorCode::CutoverNotReady, e.to_string()),
        CutoverError::MigrationNotFound(id) => bad_request(
            ErrorCode::MigrationNotFound,
            message,
            json!({"loc": ["body", "migration_id"], "migration_id": id}),
        ),
        CutoverError::NotReady(reasons) => bad_request(
            ErrorCode::CutoverNotReady,
            message,
            json!({"reasons": reasons}),
        ),
        CutoverError::Refused(checks) => bad_request(
            ErrorCode::CutoverRefused,
            message,
            json!({"failures": checks.into_iter().filter(|c| !c.passed).collect::<Vec<_>>()}),
        ),
        CutoverError::NothingToRollBack(_) => {
            ApiError::coded(ErrorCode::NothingToRollBack, message)
        }
    }
}
