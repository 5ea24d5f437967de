//! `/v1/retrievers…` (X-Namespace scoped): create, get, list, patch and delete; executing
//! one and its execution history are in [`super::retriever_executions`].
//!
//! Creating or patching a retriever parses its stages into a `ferry_retrieve::Pipeline` (422
//! located at the bad key) and checks its references: every collection exists (400
//! `collection_not_found`) and every searched feature is carried by one of them (400
//! `feature_not_found`).

use std::collections::BTreeMap;

use axum::extract::State;
use axum::routing::{get, post, MethodRouter};
use axum::{Json, Router};
use ferry_retrieve::Pipeline;
use ferry_store::{sorts, NamespaceKey, Retriever, RetrieverFields};
use ferry_wire::paging::PageQuery;
use ferry_wire::retriever::{
    CreateRetrieverRequest, FeatureAddress, ListRetrieversRequest, ListRetrieversResponse,
    PatchRetrieverRequest, PatchRetrieverResponse, RetrieverInputSchemaField, RetrieverModel,
    StageConfig, StageConfigOutput,
};
use ferry_wire::{ErrorCode, ErrorResponse, FieldError, HttpValidationError, Loc};
use serde_json::{json, Value};

use crate::error::{bad_request, body_loc, ApiError, ApiResult};
use crate::extract::{InNamespace, JsonBody, NamespaceScope};
use crate::filtered::refuse_list_filters;
use crate::json::{from_json, to_json};
use crate::listing::{self, ListRequest, ListRoute, NoQuery, SearchQuery};
use crate::routes::collections::input_collection;
use crate::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/v1/retrievers",
            post(create_retriever).merge(list_retrievers_get()),
        )
        .route("/v1/retrievers/list", list_retrievers())
        .route(
            "/v1/retrievers/{retriever_id}",
            get(get_retriever)
                .patch(patch_retriever)
                .delete(delete_retriever),
        )
        .merge(super::retriever_executions::router())
}

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
        let (collection, indexes) = input_collection(state, ns, identifier).await?;
        features.extend(indexes.into_iter().map(|i| i.feature_uri));
        if !ids.contains(&collection.collection_id) {
            ids.push(collection.collection_id);
        }
    }
    for uri in pipeline.feature_uris() {
        if !features.contains(&uri) {
            return Err(bad_request(
                ErrorCode::FeatureNotFound,
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
        ErrorCode::UndeclaredInput,
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
    InNamespace(state, scope, identifier): InNamespace<String>,
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
    InNamespace(state, scope, identifier): InNamespace<String>,
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
    InNamespace(state, scope, identifier): InNamespace<String>,
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
fn list_retrievers() -> MethodRouter<AppState> {
    listing::post::<RetrieverList>()
}

/// List Retrievers (query parameters only)
#[utoipa::path(get, path = "/v1/retrievers", tag = "Retrievers", params(PageQuery, SearchQuery),
    responses((status = 200, body = ListRetrieversResponse), (status = 422, body = HttpValidationError)))]
fn list_retrievers_get() -> MethodRouter<AppState> {
    listing::get::<RetrieverList>()
}

struct RetrieverList;

impl ListRoute for RetrieverList {
    type Scope = NamespaceScope;
    type Query = NoQuery;
    type GetQuery = SearchQuery;
    type Body = ListRetrieversRequest;
    type Response = ListRetrieversResponse;

    async fn list(
        state: AppState,
        scope: NamespaceScope,
        request: ListRequest<Self>,
    ) -> ApiResult<ListRetrieversResponse> {
        let body = &request.body;
        refuse_list_filters(body.filters.as_ref(), "retrievers")?;
        let (page, query) = request.named(sorts::RETRIEVERS)?;
        let (retrievers, total) = state
            .store
            .list_retrievers(scope.namespace.key, &query)
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
}
