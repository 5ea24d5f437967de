//! `/v1/retrievers/{id}/execute` and the execution history (X-Namespace scoped).
//!
//! Executing runs the retriever's pipeline and records the execution, inputs and returned page
//! included, before answering; the recorded response is what `GET …/executions/{id}` returns.

use axum::routing::{get, post, MethodRouter};
use axum::{Json, Router};
use ferry_extract::ExtractError;
use ferry_retrieve::{prepare_inputs, Pipeline, RetrieveError};
use ferry_store::{HistoryQuery, RetrieverExecution};
use ferry_wire::paging::PageQuery;
use ferry_wire::retriever::{
    ExecuteRetrieverRequest, ExecuteRetrieverResponse, ExecutionPagination, ListExecutionsRequest,
    ListExecutionsResponse, PaginationMetadata, RetrieverExecutionStatistics,
    RetrieverExecutionSummary, StageStatistics,
};
use ferry_wire::{ErrorCode, ErrorResponse, FieldError, HttpValidationError, Validate};
use serde::Deserialize;
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};
use utoipa::IntoParams;

use crate::error::{bad_request, body_loc, ApiError, ApiResult};
use crate::extract::{InNamespace, JsonBody, NamespaceScope, Path, QueryParams};
use crate::filtered::status_filter;
use crate::json::to_json;
use crate::listing::{self, ListRequest, ListRoute, NoQuery};
use crate::paging::newest_first;
use crate::routes::documents::{document_response, VectorsShown};
use crate::routes::retrievers::{stored_input_schema, stored_stages};
use crate::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/v1/retrievers/{retriever_id}/execute",
            post(execute_retriever),
        )
        .route(
            "/v1/retrievers/{retriever_id}/executions/list",
            list_executions(),
        )
        .route(
            "/v1/retrievers/{retriever_id}/executions/{execution_id}",
            get(get_execution),
        )
}

/// Default page size of an execution that names none.
const DEFAULT_EXECUTION_PAGE: i64 = 20;

/// Query parameters of an execution (each also accepted in the body).
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ExecuteQuery {
    /// Accepted: Ferry's documents carry no presigned URLs.
    #[allow(dead_code)]
    pub return_presigned_urls: Option<bool>,
    pub return_vectors: Option<bool>,
    pub explain: Option<bool>,
    /// Adds `results`, a copy of `documents`.
    pub include_legacy_results: Option<bool>,
    /// Accepted: Ferry keeps no execution cache.
    #[allow(dead_code)]
    pub skip_cache: Option<bool>,
}

impl Validate for ExecuteQuery {
    fn validate(&self, _errors: &mut ferry_wire::Errors) {}
}

pub(crate) fn retrieve_error(e: RetrieveError) -> ApiError {
    match e {
        RetrieveError::Invalid { code, message } => bad_request(code, message, json!({})),
        RetrieveError::Store(e) => e.into(),
        // A query the extractor cannot embed, or a local model that is not usable, is the
        // caller's or the operator's to fix: a 400 that says which, not a 500.
        RetrieveError::Extract(ExtractError::InvalidInput(message)) => {
            bad_request(ErrorCode::InvalidQuery, message, json!({}))
        }
        RetrieveError::Extract(e @ ExtractError::Model(_)) => {
            bad_request(ErrorCode::ModelUnavailable, e.to_string(), json!({}))
        }
        RetrieveError::Extract(e) => ApiError::Internal(e.to_string()),
    }
}

/// The page an execution asks for: `(limit, offset, method)`.
fn execution_page(req: &ExecuteRetrieverRequest) -> ApiResult<(i64, i64, &'static str)> {
    let (size, offset, method) = match &req.pagination {
        None => (DEFAULT_EXECUTION_PAGE, 0, "offset"),
        Some(ExecutionPagination::Offset {
            page_size,
            page_number,
        }) => (
            *page_size,
            (page_number - 1).saturating_mul(*page_size),
            "offset",
        ),
        Some(ExecutionPagination::Cursor { limit, cursor }) => {
            let offset = match cursor {
                None => 0,
                Some(c) => c
                    .strip_prefix("off_")
                    .and_then(|n| n.parse::<i64>().ok())
                    .filter(|n| *n >= 0)
                    .ok_or_else(|| {
                        ApiError::Validation(vec![FieldError {
                            loc: body_loc(&["pagination", "cursor"]),
                            msg: "Cursor is not one this server issued".into(),
                            kind: "value_error",
                        }])
                    })?,
            };
            (*limit, offset, "cursor")
        }
    };
    Ok((req.limit.unwrap_or(size), offset, method))
}

fn inputs_hash(inputs: &Map<String, Value>) -> String {
    // serde_json's map is ordered by key, so equal inputs print (and hash) equally.
    hex::encode(Sha256::digest(Value::Object(inputs.clone()).to_string()))
}

/// Execute Retriever: runs the stages and returns one page of results, best first; the
/// execution is recorded (inputs, page, statistics) and can be read back by its id.
#[utoipa::path(post, path = "/v1/retrievers/{retriever_id}/execute", tag = "Retrievers",
    params(("retriever_id" = String, Path), ExecuteQuery), request_body = ExecuteRetrieverRequest,
    responses((status = 200, body = ExecuteRetrieverResponse), (status = 400, body = ErrorResponse),
              (status = 404, body = ErrorResponse), (status = 422, body = HttpValidationError)))]
async fn execute_retriever(
    InNamespace(state, scope, identifier): InNamespace<String>,
    QueryParams(query): QueryParams<ExecuteQuery>,
    JsonBody(req): JsonBody<ExecuteRetrieverRequest>,
) -> ApiResult<Json<Value>> {
    let ns = scope.namespace.key;
    if req.stream {
        return Err(bad_request(
            ErrorCode::StreamingUnsupported,
            "Ferry answers executions in one response; send stream=false".into(),
            json!({}),
        ));
    }
    if let Some(target) = &req.target_collection_id {
        return Err(bad_request(
            ErrorCode::WriteToCollectionUnsupported,
            "Writing execution results into a collection is not supported".into(),
            json!({"target_collection_id": target}),
        ));
    }
    let started_at = ferry_store::time::now_micros();
    let clock = std::time::Instant::now();
    let retriever = state.store.get_retriever(ns, &identifier).await?;
    let stages = stored_stages(&retriever)?;
    let pipeline = Pipeline::parse(&stages).map_err(|_| {
        ApiError::Internal(format!(
            "stored stages of {} do not parse",
            retriever.retriever_id
        ))
    })?;
    let inputs = prepare_inputs(
        stored_input_schema(&retriever)?.as_ref(),
        req.inputs.clone().unwrap_or_default(),
    )
    .map_err(retrieve_error)?;
    let (limit, offset, method) = execution_page(&req)?;
    let run = state
        .engine()
        .run(
            ns,
            &retriever.fields.collection_ids,
            &pipeline,
            std::slice::from_ref(&inputs),
            req.filters.as_ref(),
        )
        .await
        .map_err(retrieve_error)?;
    let results = run.outcomes.into_iter().next().unwrap_or_default().results;
    let total = results.len() as i64;
    let with_vectors = req.return_vectors || query.return_vectors.unwrap_or(false);
    let mut documents = Vec::new();
    for (rank, scored) in results
        .into_iter()
        .enumerate()
        .skip(usize::try_from(offset).unwrap_or(usize::MAX))
        .take(usize::try_from(limit).unwrap_or(0))
    {
        let shown = if with_vectors {
            VectorsShown::All
        } else {
            VectorsShown::None
        };
        let mut doc = to_json(&document_response(
            &scope.namespace.namespace_id,
            scored.document,
            shown,
        ))?;
        if let Value::Object(d) = &mut doc {
            d.insert("score".into(), scored.score.into());
            d.insert("rank".into(), (rank + 1).into());
        }
        documents.push(doc);
    }
    let returned = documents.len() as i64;
    let next_offset = offset.saturating_add(returned);
    let has_next = next_offset < total;
    let next_cursor = has_next.then(|| format!("off_{next_offset}"));
    let pagination = match method {
        "cursor" => json!({"method": "cursor", "limit": limit, "total": total,
                           "has_next": has_next, "next_cursor": next_cursor}),
        _ => json!({"method": "offset", "page_size": limit, "page_number": offset / limit + 1,
                    "total": total, "total_pages": (total + limit - 1) / limit,
                    "has_next": has_next, "next_cursor": next_cursor}),
    };
    let stage_statistics = RetrieverExecutionStatistics {
        stages: run
            .stages
            .iter()
            .map(|s| {
                (
                    s.name.clone(),
                    StageStatistics {
                        input_count: s.input_count,
                        output_count: s.output_count,
                        duration_ms: s.duration_ms,
                        efficiency: if s.input_count == 0 {
                            1.0
                        } else {
                            s.output_count as f64 / s.input_count as f64
                        },
                        cache_hit: Some(false),
                        error: None,
                        metadata: None,
                    },
                )
            })
            .collect(),
        total_time_ms: clock.elapsed().as_secs_f64() * 1000.0,
        credits_used: 0.0,
    };
    let explain = req.explain || query.explain.unwrap_or(false);
    let execution_id = ferry_store::ids::new_id("exec");
    let completed_at = ferry_store::time::now_micros();
    let response = ExecuteRetrieverResponse {
        retriever_id: retriever.retriever_id.clone(),
        execution_id: execution_id.clone(),
        status: "completed".into(),
        documents,
        pagination,
        warnings: (!run.warnings.is_empty()).then_some(run.warnings),
        explain_plan: explain.then(|| {
            json!({"stages": run.stages.iter().map(|s| json!({
                "stage_name": s.name, "input_count": s.input_count,
                "output_count": s.output_count, "duration_ms": s.duration_ms,
            })).collect::<Vec<_>>(), "search": "exact"})
        }),
        stage_statistics,
        created_at: ferry_store::time::from_micros(started_at),
        completed_at: ferry_store::time::from_micros(completed_at),
        stages_completed: pipeline.stages.len() as i64,
        total_stages: pipeline.stages.len() as i64,
        documents_retained: true,
        total_returned: returned,
    };
    let mut body = to_json(&response)?;
    state
        .store
        .record_retriever_execution(
            ns,
            &RetrieverExecution {
                execution_id,
                retriever_id: retriever.retriever_id,
                status: response.status.clone(),
                inputs_hash: inputs_hash(&inputs),
                inputs: Value::Object(inputs),
                response: body.clone(),
                total_processed: run.processed,
                total_returned: returned,
                duration_ms: response.stage_statistics.total_time_ms,
                created_at: started_at,
                completed_at,
            },
        )
        .await?;
    if query.include_legacy_results.unwrap_or(false) {
        if let Value::Object(b) = &mut body {
            b.insert("results".into(), b["documents"].clone());
        }
    }
    Ok(Json(body))
}

/// Get Execution: the recorded response of one execution, documents included.
#[utoipa::path(get, path = "/v1/retrievers/{retriever_id}/executions/{execution_id}",
    tag = "Retrievers",
    params(("retriever_id" = String, Path), ("execution_id" = String, Path)),
    responses((status = 200, body = ExecuteRetrieverResponse), (status = 404, body = ErrorResponse)))]
async fn get_execution(
    InNamespace(state, scope, (identifier, execution_id)): InNamespace<(String, String)>,
) -> ApiResult<Json<Value>> {
    let ns = scope.namespace.key;
    let retriever = state.store.get_retriever(ns, &identifier).await?;
    let execution = state
        .store
        .get_retriever_execution(ns, Some(&retriever.retriever_id), &execution_id)
        .await?;
    Ok(Json(execution.response))
}

fn summary(e: RetrieverExecution) -> RetrieverExecutionSummary {
    let mut query_summary = e.inputs.to_string();
    if query_summary.len() > 200 {
        let cut = (0..=200)
            .rev()
            .find(|i| query_summary.is_char_boundary(*i))
            .unwrap_or(0);
        query_summary.truncate(cut);
        query_summary.push('…');
    }
    RetrieverExecutionSummary {
        execution_id: e.execution_id,
        status: e.status,
        created_at: ferry_store::time::from_micros(e.created_at),
        completed_at: Some(ferry_store::time::from_micros(e.completed_at)),
        duration_ms: e.duration_ms,
        credits_used: 0.0,
        total_processed: e.total_processed,
        total_returned: e.total_returned,
        inputs_hash: Some(e.inputs_hash),
        query_summary: Some(query_summary),
    }
}

/// List Executions of a retriever, newest first; filter by `status`.
#[utoipa::path(post, path = "/v1/retrievers/{retriever_id}/executions/list", tag = "Retrievers",
    params(("retriever_id" = String, Path), PageQuery), request_body = ListExecutionsRequest,
    responses((status = 200, body = ListExecutionsResponse), (status = 404, body = ErrorResponse),
              (status = 422, body = HttpValidationError)))]
fn list_executions() -> MethodRouter<AppState> {
    listing::post::<ExecutionList>()
}

struct ExecutionList;

impl ListRoute for ExecutionList {
    type Scope = (NamespaceScope, Path<String>);
    type Query = NoQuery;
    type GetQuery = NoQuery;
    type Body = ListExecutionsRequest;
    type Response = ListExecutionsResponse;

    async fn list(
        state: AppState,
        (scope, Path(identifier)): (NamespaceScope, Path<String>),
        request: ListRequest<Self>,
    ) -> ApiResult<ListExecutionsResponse> {
        let ns = scope.namespace.key;
        let retriever = state.store.get_retriever(ns, &identifier).await?;
        let body = &request.body;
        let status = status_filter(body.filters.as_ref())?.or_else(|| body.status.clone());
        let sort = body.sorts.as_ref().and_then(|s| s.first());
        let descending = newest_first(sort, &["sorts", "0", "field"])?;
        let page = request.page()?;
        let (executions, total) = state
            .store
            .list_retriever_executions(
                ns,
                &retriever.retriever_id,
                &HistoryQuery {
                    status,
                    descending,
                    limit: page.limit,
                    offset: page.offset,
                    ..Default::default()
                },
            )
            .await?;
        let results: Vec<_> = executions.into_iter().map(summary).collect();
        Ok(ListExecutionsResponse {
            pagination: PaginationMetadata {
                total,
                limit: page.limit,
                offset: page.offset,
                has_next: page.offset.saturating_add(results.len() as i64) < total,
            },
            results,
        })
    }
}
