//! `/v1/retrievers…` (X-Namespace scoped): create, get, list, patch, delete, execute, and the
//! execution history.
//!
//! Creating or patching a retriever parses its stages into a `ferry_retrieve::Pipeline` (422
//! located at the bad key) and checks its references: every collection exists (400
//! `collection_not_found`) and every searched feature is carried by one of them (400
//! `feature_not_found`). Executing runs the pipeline and records the execution, inputs and
//! returned page included, before answering.

use std::collections::BTreeMap;

use crate::extract::Path;
use axum::extract::State;
use axum::routing::{get, post};
use axum::{Json, Router};
use ferry_extract::ExtractError;
use ferry_retrieve::{prepare_inputs, Pipeline, RetrieveError};
use ferry_store::{
    NamespaceKey, Retriever, RetrieverExecution, RetrieverExecutionListQuery, RetrieverFields,
    RetrieverListQuery, RetrieverSortKey, StoreError,
};
use ferry_wire::collection::CollectionVectorIndex;
use ferry_wire::namespace::SortDirection;
use ferry_wire::paging::PageQuery;
use ferry_wire::retriever::{
    CreateRetrieverRequest, ExecuteRetrieverRequest, ExecuteRetrieverResponse, ExecutionPagination,
    FeatureAddress, ListExecutionsRequest, ListExecutionsResponse, ListRetrieversRequest,
    ListRetrieversResponse, PaginationMetadata, PatchRetrieverRequest, PatchRetrieverResponse,
    RetrieverExecutionStatistics, RetrieverExecutionSummary, RetrieverInputSchemaField,
    RetrieverModel, StageConfig, StageConfigOutput, StageStatistics,
};
use ferry_wire::{ErrorResponse, FieldError, HttpValidationError, Loc, Validate};
use serde::Deserialize;
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};
use utoipa::IntoParams;

use crate::error::{bad_request, body_loc, ApiError, ApiResult};
use crate::extract::{JsonBody, NamespaceScope, QueryParams};
use crate::filtered::refuse_list_filters;
use crate::json::{from_json, to_json};
use crate::paging::{sort_key, BodyPaging, Page};
use crate::routes::documents::{document_response, VectorsShown};
use crate::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/v1/retrievers",
            post(create_retriever).get(list_retrievers_get),
        )
        .route("/v1/retrievers/list", post(list_retrievers))
        .route(
            "/v1/retrievers/{retriever_id}",
            get(get_retriever)
                .patch(patch_retriever)
                .delete(delete_retriever),
        )
        .route(
            "/v1/retrievers/{retriever_id}/execute",
            post(execute_retriever),
        )
        .route(
            "/v1/retrievers/{retriever_id}/executions/list",
            post(list_executions),
        )
        .route(
            "/v1/retrievers/{retriever_id}/executions/{execution_id}",
            get(get_execution),
        )
}

/// Default page size of an execution that names none.
const DEFAULT_EXECUTION_PAGE: i64 = 20;

/// Settings stored as given (the `settings` column).
fn settings(
    visibility: Option<&impl serde::Serialize>,
    budget_limits: Option<&impl serde::Serialize>,
    tags: Option<&Vec<String>>,
    display_config: Option<&Value>,
    marketplace_listing_id: Option<&String>,
) -> ApiResult<Value> {
    Ok(json!({
        "visibility": visibility.map(to_json).transpose()?,
        "budget_limits": budget_limits.map(to_json).transpose()?,
        "tags": tags,
        "display_config": display_config,
        "marketplace_listing_id": marketplace_listing_id,
    }))
}

fn plan(stages: &[StageConfig]) -> ApiResult<Pipeline> {
    Pipeline::parse(stages).map_err(|errors| {
        ApiError::Validation(
            errors
                .into_iter()
                .map(|e| FieldError {
                    loc: std::iter::once(Loc::Key("body".into()))
                        .chain(e.loc)
                        .collect(),
                    msg: format!("Value error, {}", e.msg),
                    kind: "value_error",
                })
                .collect(),
        )
    })
}

/// Resolves collection identifiers (ids or names) to ids and checks that each searched
/// feature is carried by at least one of them.
async fn resolve_collections(
    state: &AppState,
    ns: NamespaceKey,
    identifiers: Option<&Vec<String>>,
    pipeline: &Pipeline,
) -> ApiResult<Vec<String>> {
    let identifiers = identifiers.filter(|ids| !ids.is_empty()).ok_or_else(|| {
        ApiError::Validation(vec![FieldError {
            loc: body_loc(&["collection_identifiers"]),
            msg: "Field required: the collections (ids or names) the retriever searches".into(),
            kind: "missing",
        }])
    })?;
    let mut ids = Vec::with_capacity(identifiers.len());
    let mut features: Vec<String> = Vec::new();
    for identifier in identifiers {
        let collection = state
            .store
            .get_collection(ns, identifier)
            .await
            .map_err(|e| match e {
                StoreError::NotFound { .. } => bad_request(
                    "collection_not_found",
                    format!("Collection '{identifier}' does not exist in this namespace"),
                    json!({"collection_id": identifier}),
                ),
                other => other.into(),
            })?;
        let indexes: Vec<CollectionVectorIndex> =
            from_json("vector_indexes", &collection.fields.vector_indexes)?;
        features.extend(indexes.into_iter().map(|i| i.feature_uri));
        if !ids.contains(&collection.collection_id) {
            ids.push(collection.collection_id);
        }
    }
    for uri in pipeline.feature_uris() {
        if !features.contains(&uri) {
            return Err(bad_request(
                "feature_not_found",
                format!(
                    "None of the retriever's collections ({}) has vectors of feature '{uri}'",
                    ids.join(", ")
                ),
                json!({"feature_uri": uri, "collection_ids": ids,
                       "available_feature_uris": features}),
            ));
        }
    }
    Ok(ids)
}

/// Inputs the stages reference must be declared when the retriever declares its inputs.
fn check_declared_inputs(
    pipeline: &Pipeline,
    schema: Option<&BTreeMap<String, RetrieverInputSchemaField>>,
) -> ApiResult<()> {
    let Some(schema) = schema else { return Ok(()) };
    let missing: Vec<String> = pipeline
        .input_names()
        .into_iter()
        .filter(|name| !schema.contains_key(name))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    Err(bad_request(
        "undeclared_input",
        format!(
            "The stages reference inputs the input_schema does not declare: {}",
            missing.join(", ")
        ),
        json!({"inputs": missing}),
    ))
}

fn feature_address(uri: &str) -> Option<FeatureAddress> {
    let (scheme, rest) = uri.split_once("://")?;
    let (id, output) = match rest.split_once('/') {
        Some((id, output)) => (id, Some(output.to_owned())),
        None => (rest, None),
    };
    let (extractor, version) = id.split_once('@')?;
    Some(FeatureAddress {
        scheme: scheme.to_owned(),
        extractor: extractor.to_owned(),
        version: version.to_owned(),
        output,
    })
}

pub(crate) fn stored_stages(r: &Retriever) -> ApiResult<Vec<StageConfig>> {
    from_json("retriever stages", &r.fields.stages)
}

pub(crate) fn stored_input_schema(
    r: &Retriever,
) -> ApiResult<Option<BTreeMap<String, RetrieverInputSchemaField>>> {
    r.fields
        .input_schema
        .as_ref()
        .map(|s| from_json("retriever input_schema", s))
        .transpose()
}

pub(crate) fn retriever_model(r: Retriever) -> ApiResult<RetrieverModel> {
    let stages = stored_stages(&r)?;
    let pipeline = Pipeline::parse(&stages).map_err(|_| {
        ApiError::Internal(format!("stored stages of {} do not parse", r.retriever_id))
    })?;
    let input_schema = stored_input_schema(&r)?;
    let setting = |key: &str| r.fields.settings.get(key).filter(|v| !v.is_null()).cloned();
    Ok(RetrieverModel {
        retriever_name: r.fields.retriever_name,
        description: r.fields.description,
        collection_identifiers: r.fields.collection_ids.clone(),
        collection_ids: r.fields.collection_ids,
        stages: stages
            .into_iter()
            .map(|s| {
                let stage_type = s.stage_type.or_else(|| {
                    s.config
                        .get("stage_id")
                        .and_then(Value::as_str)
                        .and_then(ferry_retrieve::plan::stage_type)
                });
                StageConfigOutput {
                    parameters: s
                        .config
                        .get("parameters")
                        .and_then(Value::as_object)
                        .cloned()
                        .unwrap_or_default(),
                    stage_name: s.stage_name,
                    stage_type,
                    config: s.config,
                    batch_size: s.batch_size,
                    description: s.description,
                    on_error: s.on_error,
                    output_alias: s.output_alias,
                }
            })
            .collect(),
        input_schema,
        budget_limits: setting("budget_limits")
            .map(|v| from_json("budget_limits", &v))
            .transpose()?,
        feature_dependencies: pipeline
            .feature_uris()
            .iter()
            .filter_map(|u| feature_address(u))
            .collect(),
        tags: setting("tags").map(|v| from_json("tags", &v)).transpose()?,
        metadata: r.fields.metadata.and_then(|m| m.as_object().cloned()),
        display_config: setting("display_config"),
        version: r.version,
        created_at: ferry_store::time::from_micros(r.created_at),
        updated_at: ferry_store::time::from_micros(r.updated_at),
        created_by: None,
        updated_by: None,
        is_published: false,
        marketplace_listing_id: setting("marketplace_listing_id")
            .and_then(|v| v.as_str().map(str::to_owned)),
        fusion: pipeline.fusion().map(|f| f.name().to_owned()),
        retriever_id: r.retriever_id,
    })
}

/// Create Retriever
#[utoipa::path(post, path = "/v1/retrievers", tag = "Retrievers",
    request_body = CreateRetrieverRequest,
    responses((status = 200, body = RetrieverModel), (status = 400, body = ErrorResponse),
              (status = 422, body = HttpValidationError)))]
async fn create_retriever(
    State(state): State<AppState>,
    scope: NamespaceScope,
    JsonBody(req): JsonBody<CreateRetrieverRequest>,
) -> ApiResult<Json<RetrieverModel>> {
    let ns = scope.namespace.key;
    let pipeline = plan(&req.stages)?;
    check_declared_inputs(&pipeline, req.input_schema.as_ref())?;
    let collection_ids =
        resolve_collections(&state, ns, req.collection_identifiers.as_ref(), &pipeline).await?;
    let retriever = state
        .store
        .create_retriever(
            ns,
            None,
            RetrieverFields {
                retriever_name: req.retriever_name,
                description: req.description,
                collection_ids,
                stages: to_json(&req.stages)?,
                input_schema: req.input_schema.as_ref().map(to_json).transpose()?,
                settings: settings(
                    req.visibility.as_ref(),
                    req.budget_limits.as_ref(),
                    req.tags.as_ref(),
                    req.display_config.as_ref(),
                    req.marketplace_listing_id.as_ref(),
                )?,
                metadata: req.metadata.map(Value::Object),
            },
        )
        .await?;
    Ok(Json(retriever_model(retriever)?))
}

/// Get Retriever (by id or name)
#[utoipa::path(get, path = "/v1/retrievers/{retriever_id}", tag = "Retrievers",
    params(("retriever_id" = String, Path)),
    responses((status = 200, body = RetrieverModel), (status = 404, body = ErrorResponse)))]
async fn get_retriever(
    State(state): State<AppState>,
    scope: NamespaceScope,
    Path(identifier): Path<String>,
) -> ApiResult<Json<RetrieverModel>> {
    let retriever = state
        .store
        .get_retriever(scope.namespace.key, &identifier)
        .await?;
    Ok(Json(retriever_model(retriever)?))
}

/// Patch Retriever. New stages, collections or inputs are checked as on create and bump the
/// retriever's `version`.
#[utoipa::path(patch, path = "/v1/retrievers/{retriever_id}", tag = "Retrievers",
    params(("retriever_id" = String, Path)), request_body = PatchRetrieverRequest,
    responses((status = 200, body = PatchRetrieverResponse), (status = 400, body = ErrorResponse),
              (status = 404, body = ErrorResponse), (status = 422, body = HttpValidationError)))]
async fn patch_retriever(
    State(state): State<AppState>,
    scope: NamespaceScope,
    Path(identifier): Path<String>,
    JsonBody(req): JsonBody<PatchRetrieverRequest>,
) -> ApiResult<Json<PatchRetrieverResponse>> {
    let ns = scope.namespace.key;
    let current = state.store.get_retriever(ns, &identifier).await?;
    let stages = match &req.stages {
        Some(stages) => stages.clone(),
        None => stored_stages(&current)?,
    };
    let pipeline = plan(&stages)?;
    let input_schema = match &req.input_schema {
        Some(schema) => Some(schema.clone()),
        None => stored_input_schema(&current)?,
    };
    check_declared_inputs(&pipeline, input_schema.as_ref())?;
    let identifiers = req
        .collection_identifiers
        .clone()
        .unwrap_or_else(|| current.fields.collection_ids.clone());
    let collection_ids = resolve_collections(&state, ns, Some(&identifiers), &pipeline).await?;
    let stages_json = to_json(&stages)?;
    let schema_json = input_schema.as_ref().map(to_json).transpose()?;
    let mut settings_json = current.fields.settings.clone();
    if let Value::Object(s) = &mut settings_json {
        if let Some(v) = &req.visibility {
            s.insert("visibility".into(), to_json(v)?);
        }
        if let Some(v) = &req.tags {
            s.insert("tags".into(), to_json(v)?);
        }
        if let Some(v) = &req.display_config {
            s.insert("display_config".into(), v.clone());
        }
        if let Some(v) = &req.marketplace_listing_id {
            s.insert("marketplace_listing_id".into(), v.clone().into());
        }
    }
    let retriever = state
        .store
        .update_retriever(ns, &current.retriever_id, |r| {
            if let Some(name) = &req.retriever_name {
                r.retriever_name = name.clone();
            }
            if let Some(d) = &req.description {
                r.description = Some(d.clone());
            }
            if let Some(m) = &req.metadata {
                r.metadata = Some(Value::Object(m.clone()));
            }
            r.collection_ids = collection_ids.clone();
            r.stages = stages_json.clone();
            r.input_schema = schema_json.clone();
            r.settings = settings_json.clone();
        })
        .await?;
    Ok(Json(PatchRetrieverResponse {
        retriever: retriever_model(retriever)?,
    }))
}

/// Delete Retriever, with its execution history and interactions. A retriever a taxonomy
/// uses is refused (400 `retriever_in_use`).
#[utoipa::path(delete, path = "/v1/retrievers/{retriever_id}", tag = "Retrievers",
    params(("retriever_id" = String, Path)),
    responses((status = 200, body = Object), (status = 400, body = ErrorResponse),
              (status = 404, body = ErrorResponse)))]
async fn delete_retriever(
    State(state): State<AppState>,
    scope: NamespaceScope,
    Path(identifier): Path<String>,
) -> ApiResult<Json<Value>> {
    let retriever = state
        .store
        .delete_retriever(scope.namespace.key, &identifier)
        .await?;
    Ok(Json(json!({
        "message": format!("Retriever {} deleted", retriever.retriever_id),
        "retriever_id": retriever.retriever_id,
    })))
}

/// List Retrievers
#[utoipa::path(post, path = "/v1/retrievers/list", tag = "Retrievers", params(PageQuery),
    request_body = ListRetrieversRequest,
    responses((status = 200, body = ListRetrieversResponse), (status = 422, body = HttpValidationError)))]
async fn list_retrievers(
    State(state): State<AppState>,
    scope: NamespaceScope,
    QueryParams(query): QueryParams<PageQuery>,
    JsonBody(body): JsonBody<ListRetrieversRequest>,
) -> ApiResult<Json<ListRetrieversResponse>> {
    list(&state, &scope, &query, &body).await.map(Json)
}

/// Query parameters of `GET /v1/retrievers` beyond paging.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
pub struct ListRetrieversQuery {
    pub search: Option<String>,
}

impl Validate for ListRetrieversQuery {
    fn validate(&self, _errors: &mut ferry_wire::Errors) {}
}

/// List Retrievers (query parameters only)
#[utoipa::path(get, path = "/v1/retrievers", tag = "Retrievers", params(PageQuery, ListRetrieversQuery),
    responses((status = 200, body = ListRetrieversResponse), (status = 422, body = HttpValidationError)))]
async fn list_retrievers_get(
    State(state): State<AppState>,
    scope: NamespaceScope,
    QueryParams(query): QueryParams<PageQuery>,
    QueryParams(extra): QueryParams<ListRetrieversQuery>,
) -> ApiResult<Json<ListRetrieversResponse>> {
    let body = ListRetrieversRequest {
        search: extra.search,
        ..Default::default()
    };
    list(&state, &scope, &query, &body).await.map(Json)
}

async fn list(
    state: &AppState,
    scope: &NamespaceScope,
    query: &PageQuery,
    body: &ListRetrieversRequest,
) -> ApiResult<ListRetrieversResponse> {
    refuse_list_filters(body.filters.as_ref(), "retrievers")?;
    let page = Page::resolve(query, BodyPaging::default())?;
    let sort = sort_key(
        body.sorts.as_ref(),
        body.sort.as_ref(),
        &[
            ("created_at", RetrieverSortKey::CreatedAt),
            ("updated_at", RetrieverSortKey::UpdatedAt),
            ("retriever_name", RetrieverSortKey::RetrieverName),
        ],
    )?;
    let (retrievers, total) = state
        .store
        .list_retrievers(
            scope.namespace.key,
            &RetrieverListQuery {
                search: body.search.clone(),
                case_sensitive: body.case_sensitive,
                sort,
                limit: page.limit,
                offset: page.offset,
            },
        )
        .await?;
    let results = retrievers
        .into_iter()
        .map(retriever_model)
        .collect::<ApiResult<Vec<_>>>()?;
    Ok(ListRetrieversResponse {
        pagination: page.pagination(results.len(), total),
        total,
        results,
    })
}

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
            bad_request("invalid_query", message, json!({}))
        }
        RetrieveError::Extract(e @ ExtractError::Model(_)) => {
            bad_request("model_unavailable", e.to_string(), json!({}))
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
    State(state): State<AppState>,
    scope: NamespaceScope,
    Path(identifier): Path<String>,
    QueryParams(query): QueryParams<ExecuteQuery>,
    JsonBody(req): JsonBody<ExecuteRetrieverRequest>,
) -> ApiResult<Json<Value>> {
    let ns = scope.namespace.key;
    if req.stream {
        return Err(bad_request(
            "streaming_unsupported",
            "Ferry answers executions in one response; send stream=false".into(),
            json!({}),
        ));
    }
    if let Some(target) = &req.target_collection_id {
        return Err(bad_request(
            "write_to_collection_unsupported",
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
    State(state): State<AppState>,
    scope: NamespaceScope,
    Path((identifier, execution_id)): Path<(String, String)>,
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
async fn list_executions(
    State(state): State<AppState>,
    scope: NamespaceScope,
    Path(identifier): Path<String>,
    QueryParams(query): QueryParams<PageQuery>,
    JsonBody(body): JsonBody<ListExecutionsRequest>,
) -> ApiResult<Json<ListExecutionsResponse>> {
    let ns = scope.namespace.key;
    let retriever = state.store.get_retriever(ns, &identifier).await?;
    let mut status = body.status.clone();
    if let Some(filters) = body.filters.as_ref().filter(|f| !f.is_empty()) {
        let only_status = filters.and.is_none()
            && filters.or.is_none()
            && filters.not.is_none()
            && filters.equals.len() == 1;
        match filters.equals.get("status").and_then(Value::as_str) {
            Some(s) if only_status => status = Some(s.to_owned()),
            _ => {
                return Err(ApiError::Validation(vec![FieldError {
                    loc: body_loc(&["filters"]),
                    msg: "Value error, executions are filtered by status only: {\"status\": …}"
                        .into(),
                    kind: "value_error",
                }]))
            }
        }
    }
    let descending = match body.sorts.as_ref().and_then(|s| s.first()) {
        None => true,
        Some(s) if s.field == "created_at" => s.direction() == SortDirection::Desc,
        Some(_) => {
            return Err(ApiError::Validation(vec![FieldError {
                loc: body_loc(&["sorts", "0", "field"]),
                msg: "Input should be 'created_at'".into(),
                kind: "enum",
            }]))
        }
    };
    let page = Page::resolve(&query, BodyPaging::default())?;
    let (executions, total) = state
        .store
        .list_retriever_executions(
            ns,
            &retriever.retriever_id,
            &RetrieverExecutionListQuery {
                status,
                descending,
                limit: page.limit,
                offset: page.offset,
            },
        )
        .await?;
    let results: Vec<_> = executions.into_iter().map(summary).collect();
    Ok(Json(ListExecutionsResponse {
        pagination: PaginationMetadata {
            total,
            limit: page.limit,
            offset: page.offset,
            has_next: page.offset.saturating_add(results.len() as i64) < total,
        },
        results,
    }))
}
