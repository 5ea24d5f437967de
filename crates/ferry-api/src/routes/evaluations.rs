//! `/v1/retrievers/{retriever_id}/evaluations…` (X-Namespace scoped; Ferry's extension):
//! evaluation sets, judged queries owned by a retriever. A migration copies them with the
//! retriever and scores source and target on them (`ferry_migrate::benchmark`).
//!
//! A set is checked when it is created, so the benchmark never meets a judgment that could
//! not be right: every query's inputs must be ones the retriever accepts (the codes of
//! `execute`: `missing_input`, `invalid_input`), every judged document
//! must be in one of the retriever's collections (`document_not_found`), and every judged
//! object in the namespace (`object_not_found`). Shapes and bounds are 422s located at the
//! field (`ferry_wire::evaluation`). `docs/ARCHITECTURE.md` maps where this sits.

use std::collections::HashSet;

use axum::routing::{get, MethodRouter};
use axum::{Json, Router};
use ferry_retrieve::{prepare_inputs, RetrieveError};
use ferry_store::{EvaluationListQuery, EvaluationRecord, NamespaceKey, Retriever};
use ferry_wire::evaluation::{
    CreateEvaluationRequest, DeleteEvaluationResponse, EvaluationQuery, EvaluationSet,
    ListEvaluationsRequest, ListEvaluationsResponse,
};
use ferry_wire::paging::PageQuery;
use ferry_wire::{ErrorCode, ErrorResponse, HttpValidationError};
use serde_json::json;

use crate::error::{bad_request, ApiError, ApiResult};
use crate::extract::{InNamespace, JsonBody, NamespaceScope, Path};
use crate::json::from_json;
use crate::listing::{self, ListRequest, ListRoute, NoQuery};
use crate::routes::retriever_executions::retrieve_error;
use crate::routes::retrievers::stored_input_schema;
use crate::AppState;

const COLLECTION: &str = "/v1/retrievers/{retriever_id}/evaluations";
const ONE: &str = "/v1/retrievers/{retriever_id}/evaluations/{evaluation_id}";

pub fn router() -> Router<AppState> {
    Router::new()
        .route(COLLECTION, list_evaluations_get().post(create_evaluation))
        .route(
            "/v1/retrievers/{retriever_id}/evaluations/list",
            list_evaluations(),
        )
        .route(ONE, get(get_evaluation).delete(delete_evaluation))
}

fn evaluation_set(r: EvaluationRecord) -> ApiResult<EvaluationSet> {
    let time = |micros| ferry_store::time::from_micros(micros).to_rfc3339();
    Ok(EvaluationSet {
        queries: from_json("evaluation queries", &r.queries)?,
        evaluation_id: r.evaluation_id,
        evaluation_name: r.evaluation_name,
        description: r.description,
        retriever_id: r.retriever_id,
        query_count: r.query_count,
        judgment_count: r.judgment_count,
        created_at: time(r.created_at),
        updated_at: time(r.updated_at),
    })
}

/// Refuses queries whose inputs the retriever does not accept, naming the query.
fn check_inputs(retriever: &Retriever, queries: &[EvaluationQuery]) -> ApiResult<()> {
    let schema = stored_input_schema(retriever)?;
    for (i, query) in queries.iter().enumerate() {
        if let Err(e) = prepare_inputs(schema.as_ref(), query.inputs.clone()) {
            return Err(match e {
                RetrieveError::Invalid { code, message } => bad_request(
                    code,
                    format!("queries[{i}].inputs: {message}"),
                    json!({"loc": ["body", "queries", i, "inputs"], "query_id": query.query_id}),
                ),
                other => retrieve_error(other),
            });
        }
    }
    Ok(())
}

/// Refuses judgments of documents outside the retriever's collections and of objects outside
/// the namespace, naming every missing id.
async fn check_judged(
    state: &AppState,
    ns: NamespaceKey,
    retriever: &Retriever,
    queries: &[EvaluationQuery],
) -> ApiResult<()> {
    let judged = |pick: fn(&ferry_wire::evaluation::RelevantItem) -> Option<&String>| {
        let mut ids: Vec<String> = queries
            .iter()
            .flat_map(|q| q.relevant.iter().filter_map(pick).cloned())
            .collect();
        ids.sort();
        ids.dedup();
        ids
    };
    let documents = judged(|r| r.document_id.as_ref());
    let found: HashSet<String> = state
        .store
        .document_lineages(ns, &retriever.fields.collection_ids, &documents)
        .await?
        .into_iter()
        .map(|d| d.document_id)
        .collect();
    let missing: Vec<&String> = documents.iter().filter(|d| !found.contains(*d)).collect();
    if !missing.is_empty() {
        return Err(bad_request(
            ErrorCode::DocumentNotFound,
            format!(
                "judged documents not in the retriever's collections: {}",
                missing
                    .iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            json!({"document_ids": missing, "collection_ids": retriever.fields.collection_ids}),
        ));
    }
    let objects = judged(|r| r.object_id.as_ref());
    let found = state.store.existing_objects(ns, &objects).await?;
    let missing: Vec<&String> = objects.iter().filter(|o| !found.contains(*o)).collect();
    if !missing.is_empty() {
        return Err(bad_request(
            ErrorCode::ObjectNotFound,
            format!(
                "judged objects not in this namespace: {}",
                missing
                    .iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            json!({"object_ids": missing}),
        ));
    }
    Ok(())
}

/// Create Evaluation Set (Ferry's extension): judged queries for this retriever.
#[utoipa::path(post, path = "/v1/retrievers/{retriever_id}/evaluations",
    tag = "Retriever Evaluation Sets (Ferry extension)",
    params(("retriever_id" = String, Path)), request_body = CreateEvaluationRequest,
    responses((status = 200, body = EvaluationSet), (status = 400, body = ErrorResponse),
              (status = 404, body = ErrorResponse), (status = 422, body = HttpValidationError)))]
async fn create_evaluation(
    InNamespace(state, scope, retriever_id): InNamespace<String>,
    JsonBody(req): JsonBody<CreateEvaluationRequest>,
) -> ApiResult<Json<EvaluationSet>> {
    let ns = scope.namespace.key;
    let retriever = state.store.get_retriever(ns, &retriever_id).await?;
    let (name, description) = (req.evaluation_name.clone(), req.description.clone());
    let queries = req.labelled_queries();
    check_inputs(&retriever, &queries)?;
    check_judged(&state, ns, &retriever, &queries).await?;
    let now = ferry_store::time::now_micros();
    let record = EvaluationRecord {
        evaluation_id: ferry_store::ids::new_id("eval"),
        retriever_id: retriever.retriever_id,
        evaluation_name: name,
        description,
        query_count: queries.len() as i64,
        judgment_count: queries.iter().map(|q| q.relevant.len() as i64).sum(),
        queries: serde_json::to_value(&queries).map_err(|e| ApiError::Internal(e.to_string()))?,
        created_at: now,
        updated_at: now,
    };
    let stored = state.store.create_evaluation(ns, &record).await?;
    Ok(Json(evaluation_set(stored)?))
}

/// Get Evaluation Set (Ferry's extension), by id or name.
#[utoipa::path(get, path = "/v1/retrievers/{retriever_id}/evaluations/{evaluation_id}",
    tag = "Retriever Evaluation Sets (Ferry extension)",
    params(("retriever_id" = String, Path), ("evaluation_id" = String, Path)),
    responses((status = 200, body = EvaluationSet), (status = 404, body = ErrorResponse)))]
async fn get_evaluation(
    InNamespace(state, scope, (retriever_id, evaluation_id)): InNamespace<(String, String)>,
) -> ApiResult<Json<EvaluationSet>> {
    let ns = scope.namespace.key;
    let retriever = state.store.get_retriever(ns, &retriever_id).await?;
    let set = state
        .store
        .get_evaluation(ns, &retriever.retriever_id, &evaluation_id)
        .await?;
    Ok(Json(evaluation_set(set)?))
}

/// Delete Evaluation Set (Ferry's extension), by id or name.
#[utoipa::path(delete, path = "/v1/retrievers/{retriever_id}/evaluations/{evaluation_id}",
    tag = "Retriever Evaluation Sets (Ferry extension)",
    params(("retriever_id" = String, Path), ("evaluation_id" = String, Path)),
    responses((status = 200, body = DeleteEvaluationResponse), (status = 404, body = ErrorResponse)))]
async fn delete_evaluation(
    InNamespace(state, scope, (retriever_id, evaluation_id)): InNamespace<(String, String)>,
) -> ApiResult<Json<DeleteEvaluationResponse>> {
    let ns = scope.namespace.key;
    let retriever = state.store.get_retriever(ns, &retriever_id).await?;
    let set = state
        .store
        .delete_evaluation(ns, &retriever.retriever_id, &evaluation_id)
        .await?;
    Ok(Json(DeleteEvaluationResponse {
        message: format!("Evaluation set {} deleted", set.evaluation_id),
        evaluation_id: set.evaluation_id,
        deleted: true,
    }))
}

/// List Evaluation Sets (Ferry's extension) of a retriever, newest first.
#[utoipa::path(post, path = "/v1/retrievers/{retriever_id}/evaluations/list",
    tag = "Retriever Evaluation Sets (Ferry extension)",
    params(("retriever_id" = String, Path), PageQuery), request_body = ListEvaluationsRequest,
    responses((status = 200, body = ListEvaluationsResponse), (status = 404, body = ErrorResponse),
              (status = 422, body = HttpValidationError)))]
fn list_evaluations() -> MethodRouter<AppState> {
    listing::post::<EvaluationList>()
}

/// List Evaluation Sets (Ferry's extension) of a retriever, newest first.
#[utoipa::path(get, path = "/v1/retrievers/{retriever_id}/evaluations",
    tag = "Retriever Evaluation Sets (Ferry extension)",
    params(("retriever_id" = String, Path), PageQuery, listing::SearchQuery),
    responses((status = 200, body = ListEvaluationsResponse), (status = 404, body = ErrorResponse),
              (status = 422, body = HttpValidationError)))]
fn list_evaluations_get() -> MethodRouter<AppState> {
    listing::get::<EvaluationList>()
}

struct EvaluationList;

impl ListRoute for EvaluationList {
    type Scope = (NamespaceScope, Path<String>);
    type Query = NoQuery;
    type GetQuery = listing::SearchQuery;
    type Body = ListEvaluationsRequest;
    type Response = ListEvaluationsResponse;

    async fn list(
        state: AppState,
        (scope, Path(retriever_id)): (NamespaceScope, Path<String>),
        request: ListRequest<Self>,
    ) -> ApiResult<ListEvaluationsResponse> {
        let ns = scope.namespace.key;
        let retriever = state.store.get_retriever(ns, &retriever_id).await?;
        let page = request.page()?;
        let (sets, total) = state
            .store
            .list_evaluations(
                ns,
                &retriever.retriever_id,
                &EvaluationListQuery {
                    search: request.body.search.clone(),
                    limit: page.limit,
                    offset: page.offset,
                },
            )
            .await?;
        let results = sets
            .into_iter()
            .map(evaluation_set)
            .collect::<ApiResult<Vec<_>>>()?;
        Ok(ListEvaluationsResponse {
            pagination: page.pagination(results.len(), total),
            results,
        })
    }
}
