//! `/v1/retrievers/interactions…` (X-Namespace scoped): what users did with a retriever's
//! results (clicks, feedback …), recorded against an execution and its retriever so that
//! relevance can be measured later (a migration's benchmark reads them).
//!
//! References are checked when an interaction is recorded: a named execution or retriever
//! must exist (400 naming the id), and an execution must belong to the retriever named with it.

use axum::extract::State;
use axum::routing::{get, post, MethodRouter};
use axum::{Json, Router};
use ferry_store::{Interaction, InteractionListQuery};
use ferry_wire::namespace::SortDirection;
use ferry_wire::paging::PageQuery;
use ferry_wire::retriever::{
    InteractionResponse, ListInteractionsRequest, ListInteractionsResponse, SearchInteraction,
};
use ferry_wire::{ErrorResponse, FieldError, HttpValidationError};
use serde_json::{json, Value};

use crate::error::{bad_request, body_loc, missing_reference, ApiError, ApiResult};
use crate::extract::{InNamespace, JsonBody, NamespaceScope};
use crate::json::{from_json, to_json, wire_name};
use crate::listing::{self, ListRequest, ListRoute, NoQuery};
use crate::AppState;
use ferry_wire::ErrorCode;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/retrievers/interactions", post(create_interaction))
        .route("/v1/retrievers/interactions/list", list_interactions())
        .route(
            "/v1/retrievers/interactions/{interaction_id}",
            get(get_interaction).delete(delete_interaction),
        )
}

fn interaction_response(i: Interaction) -> ApiResult<InteractionResponse> {
    Ok(InteractionResponse {
        interaction: from_json("interaction", &i.body)?,
        timestamp: ferry_store::time::from_micros(i.created_at).to_rfc3339(),
        deduplicated: false,
        interaction_id: i.interaction_id,
    })
}

/// Create Interaction
#[utoipa::path(post, path = "/v1/retrievers/interactions", tag = "Retriever Interactions",
    request_body = SearchInteraction,
    responses((status = 200, body = InteractionResponse), (status = 400, body = ErrorResponse),
              (status = 422, body = HttpValidationError)))]
async fn create_interaction(
    State(state): State<AppState>,
    scope: NamespaceScope,
    JsonBody(mut req): JsonBody<SearchInteraction>,
) -> ApiResult<Json<InteractionResponse>> {
    let ns = scope.namespace.key;
    if let Some(execution_id) = &req.execution_id {
        let execution = state
            .store
            .get_retriever_execution(ns, None, execution_id)
            .await
            .map_err(missing_reference(
                "execution",
                ErrorCode::ExecutionNotFound,
                execution_id,
            ))?;
        match &req.retriever_id {
            Some(r) if *r != execution.retriever_id => {
                return Err(bad_request(
                    ErrorCode::ExecutionRetrieverMismatch,
                    format!(
                        "Execution '{execution_id}' belongs to retriever '{}', not '{r}'",
                        execution.retriever_id
                    ),
                    json!({"execution_id": execution_id, "retriever_id": r}),
                ))
            }
            Some(_) => {}
            None => req.retriever_id = Some(execution.retriever_id),
        }
    } else if let Some(retriever_id) = &req.retriever_id {
        let retriever =
            state
                .store
                .get_retriever(ns, retriever_id)
                .await
                .map_err(missing_reference(
                    "retriever",
                    ErrorCode::RetrieverNotFound,
                    retriever_id,
                ))?;
        req.retriever_id = Some(retriever.retriever_id);
    }
    let interaction = Interaction {
        interaction_id: ferry_store::ids::new_id("int"),
        retriever_id: req.retriever_id.clone(),
        execution_id: req.execution_id.clone(),
        feature_id: req.feature_id.clone(),
        session_id: req.session_id.clone(),
        user_id: req.user_id.clone(),
        interaction_types: req
            .interaction_type
            .iter()
            .map(wire_name)
            .collect::<ApiResult<_>>()?,
        body: to_json(&req)?,
        created_at: ferry_store::time::now_micros(),
    };
    state.store.create_interaction(ns, &interaction).await?;
    Ok(Json(interaction_response(interaction)?))
}

/// Get Interaction
#[utoipa::path(get, path = "/v1/retrievers/interactions/{interaction_id}",
    tag = "Retriever Interactions", params(("interaction_id" = String, Path)),
    responses((status = 200, body = InteractionResponse), (status = 404, body = ErrorResponse)))]
async fn get_interaction(
    InNamespace(state, scope, interaction_id): InNamespace<String>,
) -> ApiResult<Json<InteractionResponse>> {
    let interaction = state
        .store
        .get_interaction(scope.namespace.key, &interaction_id)
        .await?;
    Ok(Json(interaction_response(interaction)?))
}

/// Delete Interaction
#[utoipa::path(delete, path = "/v1/retrievers/interactions/{interaction_id}",
    tag = "Retriever Interactions", params(("interaction_id" = String, Path)),
    responses((status = 200, body = Object), (status = 404, body = ErrorResponse)))]
async fn delete_interaction(
    InNamespace(state, scope, interaction_id): InNamespace<String>,
) -> ApiResult<Json<Value>> {
    state
        .store
        .delete_interaction(scope.namespace.key, &interaction_id)
        .await?;
    Ok(Json(json!({
        "message": format!("Interaction {interaction_id} deleted"),
        "interaction_id": interaction_id,
    })))
}

/// List Interactions, newest first, by equality on the recorded ids and type.
#[utoipa::path(post, path = "/v1/retrievers/interactions/list", tag = "Retriever Interactions",
    params(PageQuery), request_body = ListInteractionsRequest,
    responses((status = 200, body = ListInteractionsResponse), (status = 422, body = HttpValidationError)))]
fn list_interactions() -> MethodRouter<AppState> {
    listing::post::<InteractionList>()
}

struct InteractionList;

impl ListRoute for InteractionList {
    type Scope = NamespaceScope;
    type Query = NoQuery;
    type GetQuery = NoQuery;
    type Body = ListInteractionsRequest;
    type Response = ListInteractionsResponse;

    async fn list(
        state: AppState,
        scope: NamespaceScope,
        request: ListRequest<Self>,
    ) -> ApiResult<ListInteractionsResponse> {
        let body = &request.body;
        let refuse = |field: &str, msg: &str| {
            Err(ApiError::Validation(vec![FieldError {
                loc: body_loc(&[field]),
                msg: format!("Value error, {msg}"),
                kind: "value_error",
            }]))
        };
        if body.filters.as_ref().is_some_and(|f| !f.is_empty()) {
            return refuse(
                "filters",
                "filter interactions by execution_id, retriever_id, session_id, user_id, \
                 feature_id or interaction_type",
            );
        }
        if body.search.as_ref().is_some_and(|s| !s.is_empty()) {
            return refuse("search", "search is not supported on interactions");
        }
        let ascending = match &body.sort {
            None => false,
            Some(s) if s.field == "timestamp" || s.field == "created_at" => {
                s.direction() == SortDirection::Asc
            }
            Some(_) => return refuse("sort", "interactions sort by 'timestamp' only"),
        };
        let page = request.page()?;
        let (interactions, total) = state
            .store
            .list_interactions(
                scope.namespace.key,
                &InteractionListQuery {
                    retriever_id: body.retriever_id.clone(),
                    execution_id: body.execution_id.clone(),
                    session_id: body.session_id.clone(),
                    user_id: body.user_id.clone(),
                    feature_id: body.feature_id.clone(),
                    interaction_type: body.interaction_type.as_ref().map(wire_name).transpose()?,
                    ascending,
                    limit: page.limit,
                    offset: page.offset,
                },
            )
            .await?;
        let results = interactions
            .into_iter()
            .map(interaction_response)
            .collect::<ApiResult<Vec<_>>>()?;
        Ok(ListInteractionsResponse {
            pagination: page.pagination(results.len(), total),
            items: results.clone(),
            results,
        })
    }
}
