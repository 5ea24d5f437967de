//! `/v1/taxonomies…` (X-Namespace scoped): create, get, list, patch, delete, versions; and
//! `POST /v1/collections/{id}/apply-taxonomy`, which queues an `api_taxonomies_materialize`
//! task (see `ferry_pipeline`) that enriches the collection's documents.
//!
//! A taxonomy's references are checked whenever its configuration is written: the retriever
//! and the source (reference) collection exist (400 `retriever_not_found` /
//! `collection_not_found`, naming the id), the retriever can search the source collection
//! (400 `retriever_cannot_search_source`), and every input the retriever's stages read is
//! mapped or has a default (400 `unmapped_input`).

use axum::extract::State;
use axum::routing::{get, post, MethodRouter};
use axum::{Json, Router};
use ferry_pipeline::{TaxonomyApplication, TAXONOMY_TASK};
use ferry_retrieve::Pipeline;
use ferry_store::{sorts, NamespaceKey, Taxonomy, TaxonomyFields};
use ferry_wire::collection::{CollectionVectorIndex, TaxonomyApplicationConfig};
use ferry_wire::paging::PageQuery;
use ferry_wire::taxonomy::{
    ApplyTaxonomyRequest, ApplyTaxonomyResponse, CreateTaxonomyRequest,
    CreateTaxonomyVersionRequest, FlatTaxonomyConfig, InputSourceType, ListTaxonomiesRequest,
    ListTaxonomiesResponse, PatchTaxonomyRequest, TaxonomyListStats, TaxonomyResponse,
};
use ferry_wire::{ErrorResponse, HttpValidationError};
use serde_json::{json, Value};

use crate::error::{bad_request, missing_reference, ApiError, ApiResult};
use crate::extract::{InNamespace, JsonBody, NamespaceScope};
use crate::filtered::{compile_filters, refuse_list_filters};
use crate::json::{from_json, to_json};
use crate::listing::{self, ListRequest, ListRoute, NoQuery};
use crate::routes::retrievers::{stored_input_schema, stored_stages};
use crate::AppState;
use ferry_wire::ErrorCode;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/v1/taxonomies",
            post(create_taxonomy).merge(list_taxonomies_get()),
        )
        .route("/v1/taxonomies/list", list_taxonomies())
        .route(
            "/v1/taxonomies/{taxonomy_identifier}",
            get(get_taxonomy)
                .patch(patch_taxonomy)
                .delete(delete_taxonomy),
        )
        // The SDK names this segment `taxonomy_id`; the router keeps one name per segment.
        .route(
            "/v1/taxonomies/{taxonomy_identifier}/versions",
            get(list_versions).post(create_version),
        )
        .route(
            "/v1/collections/{collection_identifier}/apply-taxonomy",
            post(apply_taxonomy),
        )
}

/// Checks the configuration's references and returns it with ids in place of names.
async fn resolve_config(
    state: &AppState,
    ns: NamespaceKey,
    mut config: FlatTaxonomyConfig,
) -> ApiResult<FlatTaxonomyConfig> {
    let retriever = state
        .store
        .get_retriever(ns, &config.retriever_id)
        .await
        .map_err(missing_reference(
            "retriever",
            ErrorCode::RetrieverNotFound,
            &config.retriever_id,
        ))?;
    let source_id = config.source_collection.collection_id.clone();
    let source = state
        .store
        .get_collection(ns, &source_id)
        .await
        .map_err(missing_reference(
            "collection",
            ErrorCode::CollectionNotFound,
            &source_id,
        ))?;
    let stages = stored_stages(&retriever)?;
    let pipeline = Pipeline::parse(&stages)
        .map_err(|_| ApiError::Internal("stored retriever stages do not parse".into()))?;
    let indexes: Vec<CollectionVectorIndex> =
        from_json("vector_indexes", &source.fields.vector_indexes)?;
    for uri in pipeline.feature_uris() {
        if !indexes.iter().any(|i| i.feature_uri == uri) {
            return Err(bad_request(
                ErrorCode::RetrieverCannotSearchSource,
                format!(
                    "Retriever '{}' searches feature '{uri}', which source collection '{}' \
                     does not carry",
                    retriever.retriever_id, source.collection_id
                ),
                json!({"retriever_id": retriever.retriever_id,
                       "collection_id": source.collection_id, "feature_uri": uri}),
            ));
        }
    }
    let schema = stored_input_schema(&retriever)?;
    let unmapped: Vec<String> = pipeline
        .input_names()
        .into_iter()
        .filter(|name| {
            let mapped = config.input_mappings.iter().any(|m| &m.input_key == name);
            let defaulted = schema
                .as_ref()
                .and_then(|s| s.get(name))
                .is_some_and(|f| f.default.is_some());
            !mapped && !defaulted
        })
        .collect();
    if !unmapped.is_empty() {
        return Err(bad_request(
            ErrorCode::UnmappedInput,
            format!(
                "Retriever '{}' reads inputs no input_mapping provides: {}",
                retriever.retriever_id,
                unmapped.join(", ")
            ),
            json!({"retriever_id": retriever.retriever_id, "inputs": unmapped}),
        ));
    }
    config.retriever_id = retriever.retriever_id;
    config.source_collection.collection_id = source.collection_id;
    Ok(config)
}

fn taxonomy_response(t: Taxonomy) -> ApiResult<TaxonomyResponse> {
    let config: FlatTaxonomyConfig = from_json("taxonomy config", &t.fields.config)?;
    Ok(TaxonomyResponse {
        taxonomy_id: t.taxonomy_id,
        version: t.version,
        taxonomy_name: t.fields.taxonomy_name,
        description: t.fields.description,
        retriever_id: config.retriever_id.clone(),
        input_mappings: config.input_mappings.clone(),
        config,
        nodes: None,
        ready: true,
        created_at: ferry_store::time::from_micros(t.created_at),
        metadata: t.fields.metadata.and_then(|m| m.as_object().cloned()),
    })
}

fn fields_of(config: &FlatTaxonomyConfig) -> (String, String) {
    (
        config.retriever_id.clone(),
        config.source_collection.collection_id.clone(),
    )
}

/// Create Taxonomy (flat)
#[utoipa::path(post, path = "/v1/taxonomies", tag = "Taxonomies",
    request_body = CreateTaxonomyRequest,
    responses((status = 200, body = TaxonomyResponse), (status = 400, body = ErrorResponse),
              (status = 422, body = HttpValidationError)))]
async fn create_taxonomy(
    State(state): State<AppState>,
    scope: NamespaceScope,
    JsonBody(req): JsonBody<CreateTaxonomyRequest>,
) -> ApiResult<Json<TaxonomyResponse>> {
    let ns = scope.namespace.key;
    let config = resolve_config(&state, ns, req.config).await?;
    let (retriever_id, source_collection_id) = fields_of(&config);
    let taxonomy = state
        .store
        .create_taxonomy(
            ns,
            None,
            TaxonomyFields {
                taxonomy_name: req.taxonomy_name,
                description: req.description,
                config: to_json(&config)?,
                metadata: req.metadata.map(Value::Object),
                retriever_id,
                source_collection_id,
            },
        )
        .await?;
    Ok(Json(taxonomy_response(taxonomy)?))
}

/// Get Taxonomy (by id or name)
#[utoipa::path(get, path = "/v1/taxonomies/{taxonomy_identifier}", tag = "Taxonomies",
    params(("taxonomy_identifier" = String, Path)),
    responses((status = 200, body = TaxonomyResponse), (status = 404, body = ErrorResponse)))]
async fn get_taxonomy(
    InNamespace(state, scope, identifier): InNamespace<String>,
) -> ApiResult<Json<TaxonomyResponse>> {
    let taxonomy = state
        .store
        .get_taxonomy(scope.namespace.key, &identifier)
        .await?;
    Ok(Json(taxonomy_response(taxonomy)?))
}

/// Patch Taxonomy: name, description, metadata (the current version, in place).
#[utoipa::path(patch, path = "/v1/taxonomies/{taxonomy_identifier}", tag = "Taxonomies",
    params(("taxonomy_identifier" = String, Path)), request_body = PatchTaxonomyRequest,
    responses((status = 200, body = TaxonomyResponse), (status = 400, body = ErrorResponse),
              (status = 404, body = ErrorResponse), (status = 422, body = HttpValidationError)))]
async fn patch_taxonomy(
    InNamespace(state, scope, identifier): InNamespace<String>,
    JsonBody(req): JsonBody<PatchTaxonomyRequest>,
) -> ApiResult<Json<TaxonomyResponse>> {
    let taxonomy = state
        .store
        .update_taxonomy(scope.namespace.key, &identifier, false, |t| {
            if let Some(name) = &req.taxonomy_name {
                t.taxonomy_name = name.clone();
            }
            if let Some(d) = &req.description {
                t.description = Some(d.clone());
            }
            if let Some(m) = &req.metadata {
                t.metadata = Some(Value::Object(m.clone()));
            }
        })
        .await?;
    Ok(Json(taxonomy_response(taxonomy)?))
}

/// Delete Taxonomy, with its versions. Fields it already wrote onto documents stay.
#[utoipa::path(delete, path = "/v1/taxonomies/{taxonomy_identifier}", tag = "Taxonomies",
    params(("taxonomy_identifier" = String, Path)),
    responses((status = 200, body = Object), (status = 404, body = ErrorResponse)))]
async fn delete_taxonomy(
    InNamespace(state, scope, identifier): InNamespace<String>,
) -> ApiResult<Json<Value>> {
    let taxonomy = state
        .store
        .delete_taxonomy(scope.namespace.key, &identifier)
        .await?;
    Ok(Json(json!({
        "message": format!("Taxonomy {} deleted", taxonomy.taxonomy_id),
        "taxonomy_id": taxonomy.taxonomy_id,
    })))
}

/// Create Taxonomy Version: the current taxonomy with the body's changes becomes version
/// n + 1; a new configuration is checked as on create.
#[utoipa::path(post, path = "/v1/taxonomies/{taxonomy_identifier}/versions", tag = "Taxonomies",
    params(("taxonomy_identifier" = String, Path)), request_body = CreateTaxonomyVersionRequest,
    responses((status = 200, body = TaxonomyResponse), (status = 400, body = ErrorResponse),
              (status = 404, body = ErrorResponse), (status = 422, body = HttpValidationError)))]
async fn create_version(
    InNamespace(state, scope, identifier): InNamespace<String>,
    JsonBody(req): JsonBody<CreateTaxonomyVersionRequest>,
) -> ApiResult<Json<TaxonomyResponse>> {
    let ns = scope.namespace.key;
    let config = match req.config {
        Some(config) => Some(resolve_config(&state, ns, config).await?),
        None => None,
    };
    let config_json = config.as_ref().map(to_json).transpose()?;
    let taxonomy = state
        .store
        .update_taxonomy(ns, &identifier, true, |t| {
            if let (Some(config), Some(json)) = (&config, &config_json) {
                (t.retriever_id, t.source_collection_id) = fields_of(config);
                t.config = json.clone();
            }
            if let Some(d) = &req.description {
                t.description = Some(d.clone());
            }
            if let Some(m) = &req.metadata {
                t.metadata = Some(Value::Object(m.clone()));
            }
        })
        .await?;
    Ok(Json(taxonomy_response(taxonomy)?))
}

fn stats(results: &[TaxonomyResponse]) -> TaxonomyListStats {
    TaxonomyListStats {
        total_taxonomies: results.len() as i64,
        flat_taxonomies: results.len() as i64,
        hierarchical_taxonomies: 0,
        taxonomies_with_retrievers: results.len() as i64,
    }
}

/// List Taxonomy Versions, newest first.
#[utoipa::path(get, path = "/v1/taxonomies/{taxonomy_identifier}/versions", tag = "Taxonomies",
    params(("taxonomy_identifier" = String, Path)),
    responses((status = 200, body = ListTaxonomiesResponse), (status = 404, body = ErrorResponse)))]
async fn list_versions(
    InNamespace(state, scope, identifier): InNamespace<String>,
) -> ApiResult<Json<ListTaxonomiesResponse>> {
    let versions = state
        .store
        .list_taxonomy_versions(scope.namespace.key, &identifier)
        .await?;
    let results = versions
        .into_iter()
        .map(taxonomy_response)
        .collect::<ApiResult<Vec<_>>>()?;
    let total = results.len() as i64;
    Ok(Json(ListTaxonomiesResponse {
        pagination: json!({"total": total, "page": 1, "page_size": total, "total_pages": 1}),
        total_count: total,
        stats: stats(&results),
        results,
    }))
}

/// List Taxonomies (the SDK's `list_taxonomies` sends its body with a GET)
#[utoipa::path(get, path = "/v1/taxonomies", tag = "Taxonomies", params(PageQuery),
    request_body = ListTaxonomiesRequest,
    responses((status = 200, body = ListTaxonomiesResponse), (status = 422, body = HttpValidationError)))]
fn list_taxonomies_get() -> MethodRouter<AppState> {
    listing::get_with_body::<TaxonomyList>()
}

/// List Taxonomies
#[utoipa::path(post, path = "/v1/taxonomies/list", tag = "Taxonomies", params(PageQuery),
    request_body = ListTaxonomiesRequest,
    responses((status = 200, body = ListTaxonomiesResponse), (status = 422, body = HttpValidationError)))]
fn list_taxonomies() -> MethodRouter<AppState> {
    listing::post::<TaxonomyList>()
}

struct TaxonomyList;

impl ListRoute for TaxonomyList {
    type Scope = NamespaceScope;
    type Query = NoQuery;
    type GetQuery = NoQuery;
    type Body = ListTaxonomiesRequest;
    type Response = ListTaxonomiesResponse;

    async fn list(
        state: AppState,
        scope: NamespaceScope,
        request: ListRequest<Self>,
    ) -> ApiResult<ListTaxonomiesResponse> {
        let body = &request.body;
        refuse_list_filters(body.filters.as_ref(), "taxonomies")?;
        let (page, query) = request.named(sorts::TAXONOMIES)?;
        let (taxonomies, total) = state
            .store
            .list_taxonomies(scope.namespace.key, &query)
            .await?;
        let results = taxonomies
            .into_iter()
            .map(taxonomy_response)
            .collect::<ApiResult<Vec<_>>>()?;
        Ok(ListTaxonomiesResponse {
            pagination: to_json(&page.pagination(results.len(), total))?,
            total_count: total,
            stats: stats(&results),
            results,
        })
    }
}

/// Checks a collection's `taxonomy_applications`: every taxonomy exists (400
/// `taxonomy_not_found`), and results are written into the collection itself (Ferry does not
/// write into another collection: 400 `taxonomy_target_unsupported`).
pub(crate) async fn check_taxonomy_applications(
    state: &AppState,
    ns: NamespaceKey,
    applications: Option<&Vec<TaxonomyApplicationConfig>>,
    collection_id: Option<&str>,
) -> ApiResult<()> {
    for application in applications.into_iter().flatten() {
        state
            .store
            .get_taxonomy(ns, &application.taxonomy_id)
            .await
            .map_err(missing_reference(
                "taxonomy",
                ErrorCode::TaxonomyNotFound,
                &application.taxonomy_id,
            ))?;
        if let Some(target) = &application.target_collection_id {
            if collection_id != Some(target.as_str()) {
                return Err(bad_request(
                    ErrorCode::TaxonomyTargetUnsupported,
                    format!(
                        "Ferry writes taxonomy results into the collection itself; \
                         target_collection_id '{target}' is not supported"
                    ),
                    json!({"taxonomy_id": application.taxonomy_id,
                           "target_collection_id": target}),
                ));
            }
        }
    }
    Ok(())
}

/// Apply Taxonomy to a collection: queues an `api_taxonomies_materialize` task; poll it at
/// `/v1/tasks/{task_id}`.
#[utoipa::path(post, path = "/v1/collections/{collection_identifier}/apply-taxonomy",
    tag = "Collection Taxonomies", params(("collection_identifier" = String, Path)),
    request_body = ApplyTaxonomyRequest,
    responses((status = 200, body = ApplyTaxonomyResponse), (status = 400, body = ErrorResponse),
              (status = 404, body = ErrorResponse), (status = 422, body = HttpValidationError)))]
async fn apply_taxonomy(
    InNamespace(state, scope, identifier): InNamespace<String>,
    JsonBody(req): JsonBody<ApplyTaxonomyRequest>,
) -> ApiResult<Json<ApplyTaxonomyResponse>> {
    let ns = scope.namespace.key;
    let collection = state.store.get_collection(ns, &identifier).await?;
    let taxonomy = state
        .store
        .get_taxonomy(ns, &req.taxonomy_id)
        .await
        .map_err(missing_reference(
            "taxonomy",
            ErrorCode::TaxonomyNotFound,
            &req.taxonomy_id,
        ))?;
    let config: FlatTaxonomyConfig = from_json("taxonomy config", &taxonomy.fields.config)?;
    let indexes: Vec<CollectionVectorIndex> =
        from_json("vector_indexes", &collection.fields.vector_indexes)?;
    let unknown_vector = config.input_mappings.iter().find_map(|m| {
        let path = m.path.as_deref().unwrap_or_default();
        let known = indexes
            .iter()
            .filter(|i| i.is_dense())
            .any(|i| i.feature_uri == path || i.name == path || i.index.name == path);
        (m.source_type == Some(InputSourceType::Vector) && !known).then_some(path)
    });
    if let Some(path) = unknown_vector {
        return Err(bad_request(
            ErrorCode::TaxonomyInputNotInCollection,
            format!(
                "Taxonomy '{}' maps vector '{path}', which collection '{}' does not carry",
                taxonomy.taxonomy_id, collection.collection_id
            ),
            json!({"taxonomy_id": taxonomy.taxonomy_id,
                   "collection_id": collection.collection_id, "path": path}),
        ));
    }
    // Compiled here so a bad filter is a 422 now, not a failed task later.
    let mut scroll_filters = req.scroll_filters.clone();
    if let Some(filters) = &scroll_filters {
        compile_filters(Some(filters)).map_err(|e| match e {
            ApiError::Validation(items) => ApiError::Validation(
                items
                    .into_iter()
                    .map(|mut i| {
                        if let Some(ferry_wire::Loc::Key(k)) = i.loc.get_mut(1) {
                            *k = "scroll_filters".into();
                        }
                        i
                    })
                    .collect(),
            ),
            other => other,
        })?;
        if filters.is_empty() {
            scroll_filters = None;
        }
    }
    let application = TaxonomyApplication {
        taxonomy_id: taxonomy.taxonomy_id.clone(),
        collection_id: collection.collection_id.clone(),
        batch_size: req.batch_size,
        scroll_filters,
    };
    let task = state
        .store
        .create_task(
            &scope.org.internal_id,
            Some(ns),
            TAXONOMY_TASK,
            &to_json(&application)?,
        )
        .await?;
    Ok(Json(ApplyTaxonomyResponse {
        task_id: task.task_id,
        status: task.status.to_string(),
        collection_id: collection.collection_id,
        taxonomy_id: taxonomy.taxonomy_id,
        estimated_documents: Some(collection.document_count),
    }))
}
