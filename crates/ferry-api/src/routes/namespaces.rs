//! `/v1/namespaces…`: create, get, patch, put, delete and list.

use axum::extract::State;
use axum::routing::{get, post, MethodRouter};
use axum::{Json, Router};
use ferry_store::{Namespace, NamespaceFields, NamespaceListQuery, NewNamespace};
use ferry_wire::namespace::{
    CreateNamespaceRequest, DeleteNamespaceResponse, FeatureExtractorOut, FeatureExtractorRef,
    ListNamespacesRequest, ListNamespacesResponse, ListView, NamespaceListStats, NamespaceListView,
    NamespaceMode, NamespaceModel, NamespaceScope, PatchNamespaceRequest, PayloadIndexConfig,
    SortDirection, UpdateNamespaceRequest,
};
use ferry_wire::paging::PageQuery;
use ferry_wire::{Errors, Validate};
use serde::Deserialize;
use serde_json::Value;
use utoipa::IntoParams;

use crate::error::ApiResult;
use crate::extract::{Authenticated, InOrganization, JsonBody, QueryParams};
use crate::json::{from_json, to_json, wire_enum, wire_name};
use crate::listing::{self, ListRequest, ListRoute, NoQuery};
use crate::paging::chosen_sort;
use crate::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/v1/namespaces",
            post(create_namespace).merge(list_namespaces_get()),
        )
        .route("/v1/namespaces/list", list_namespaces())
        .route(
            "/v1/namespaces/{namespace_identifier}",
            get(get_namespace)
                .patch(patch_namespace)
                .put(update_namespace)
                .delete(delete_namespace),
        )
}

fn namespace_model(ns: Namespace, view: ListView) -> ApiResult<NamespaceModel> {
    let fields = ns.fields;
    let extractors: Vec<FeatureExtractorRef> =
        from_json("feature_extractors", &fields.feature_extractors)?;
    let indexes: Vec<PayloadIndexConfig> = from_json("payload_indexes", &fields.payload_indexes)?;
    let full = view == ListView::Full;
    Ok(NamespaceModel {
        object: "namespace".into(),
        namespace_id: ns.namespace_id,
        namespace_name: fields.namespace_name,
        namespace_type: wire_enum("namespace_type", &ns.namespace_type)?,
        scope: NamespaceScope::Org,
        description: fields.description,
        payload_index_count: indexes.len() as i64,
        feature_extractors: full.then(|| {
            extractors
                .into_iter()
                .map(FeatureExtractorOut::from)
                .collect()
        }),
        payload_indexes: full.then_some(indexes),
        document_count: ns.stats.document_count,
        document_count_complete: true,
        bucket_count: ns.stats.bucket_count,
        collection_count: ns.stats.collection_count,
        object_count: ns.stats.object_count,
        auto_create_indexes: fields.auto_create_indexes,
        adaptive_indexing: fields.adaptive_indexing,
        mode: wire_enum("mode", &ns.mode)?,
        namespace_ready: true,
        created_at: ferry_store::time::from_micros(ns.created_at),
        updated_at: ferry_store::time::from_micros(ns.updated_at),
    })
}

/// `extractors` with every entry of `added` whose name and version are not there yet.
fn with_extractors(extractors: &Value, added: &[FeatureExtractorRef]) -> ApiResult<Value> {
    let mut list: Vec<FeatureExtractorRef> = from_json("feature_extractors", extractors)?;
    for extractor in added {
        let present = list.iter().any(|e| {
            e.feature_extractor_name == extractor.feature_extractor_name
                && e.version == extractor.version
        });
        if !present {
            list.push(extractor.clone());
        }
    }
    to_json(&list)
}

/// Create Namespace
#[utoipa::path(post, path = "/v1/namespaces", tag = "Namespaces",
    request_body = CreateNamespaceRequest,
    responses((status = 200, body = NamespaceModel), (status = 400, body = ferry_wire::ErrorResponse),
              (status = 401, body = ferry_wire::ErrorResponse),
              (status = 422, body = ferry_wire::HttpValidationError)))]
async fn create_namespace(
    State(state): State<AppState>,
    Authenticated(org): Authenticated,
    JsonBody(req): JsonBody<CreateNamespaceRequest>,
) -> ApiResult<Json<NamespaceModel>> {
    let namespace = state
        .store
        .create_namespace(
            &org.internal_id,
            NewNamespace {
                namespace_id: req.namespace_id,
                namespace_type: wire_name(&req.namespace_type.unwrap_or_default())?,
                mode: wire_name(&req.mode.unwrap_or(NamespaceMode::Managed))?,
                fields: NamespaceFields {
                    namespace_name: req.namespace_name,
                    description: req.description,
                    feature_extractors: with_extractors(
                        &Value::Array(vec![]),
                        req.feature_extractors.as_deref().unwrap_or_default(),
                    )?,
                    payload_indexes: to_json(&req.payload_indexes.unwrap_or_default())?,
                    auto_create_indexes: req.auto_create_indexes.unwrap_or(false),
                    adaptive_indexing: req.adaptive_indexing.unwrap_or(false),
                },
            },
        )
        .await?;
    Ok(Json(namespace_model(namespace, ListView::Full)?))
}

/// Get Namespace (by id or name)
#[utoipa::path(get, path = "/v1/namespaces/{namespace_identifier}", tag = "Namespaces",
    params(("namespace_identifier" = String, Path, description = "Namespace id or name")),
    responses((status = 200, body = NamespaceModel), (status = 404, body = ferry_wire::ErrorResponse)))]
async fn get_namespace(
    InOrganization(state, Authenticated(org), identifier): InOrganization<String>,
) -> ApiResult<Json<NamespaceModel>> {
    let namespace = state
        .store
        .get_namespace(&org.internal_id, &identifier)
        .await?;
    Ok(Json(namespace_model(namespace, ListView::Full)?))
}

/// Partially update a namespace. `feature_extractors` are appended; `payload_indexes` replace.
#[utoipa::path(patch, path = "/v1/namespaces/{namespace_identifier}", tag = "Namespaces",
    params(("namespace_identifier" = String, Path, description = "Namespace id or name")),
    request_body = PatchNamespaceRequest,
    responses((status = 200, body = NamespaceModel), (status = 400, body = ferry_wire::ErrorResponse),
              (status = 404, body = ferry_wire::ErrorResponse),
              (status = 422, body = ferry_wire::HttpValidationError)))]
async fn patch_namespace(
    InOrganization(state, Authenticated(org), identifier): InOrganization<String>,
    JsonBody(req): JsonBody<PatchNamespaceRequest>,
) -> ApiResult<Json<NamespaceModel>> {
    let indexes = req.payload_indexes.as_ref().map(to_json).transpose()?;
    let added = req.feature_extractors.unwrap_or_default();
    // The closure cannot fail the store call; a stored list it cannot read is reported after.
    let mut merge_error = None;
    let namespace = state
        .store
        .update_namespace(&org.internal_id, &identifier, |ns| {
            if let Some(name) = &req.namespace_name {
                ns.namespace_name = name.clone();
            }
            if let Some(description) = &req.description {
                ns.description = Some(description.clone());
            }
            match with_extractors(&ns.feature_extractors, &added) {
                Ok(list) => ns.feature_extractors = list,
                Err(e) => merge_error = Some(e),
            }
            if let Some(indexes) = &indexes {
                ns.payload_indexes = indexes.clone();
            }
            if let Some(v) = req.auto_create_indexes {
                ns.auto_create_indexes = v;
            }
            if let Some(v) = req.adaptive_indexing {
                ns.adaptive_indexing = v;
            }
        })
        .await?;
    if let Some(e) = merge_error {
        return Err(e);
    }
    Ok(Json(namespace_model(namespace, ListView::Full)?))
}

/// Update a namespace's name and payload indexes.
#[utoipa::path(put, path = "/v1/namespaces/{namespace_identifier}", tag = "Namespaces",
    params(("namespace_identifier" = String, Path, description = "Namespace id or name")),
    request_body = UpdateNamespaceRequest,
    responses((status = 200, body = NamespaceModel), (status = 400, body = ferry_wire::ErrorResponse),
              (status = 404, body = ferry_wire::ErrorResponse),
              (status = 422, body = ferry_wire::HttpValidationError)))]
async fn update_namespace(
    InOrganization(state, Authenticated(org), identifier): InOrganization<String>,
    JsonBody(req): JsonBody<UpdateNamespaceRequest>,
) -> ApiResult<Json<NamespaceModel>> {
    let indexes = req.payload_indexes.as_ref().map(to_json).transpose()?;
    let namespace = state
        .store
        .update_namespace(&org.internal_id, &identifier, |ns| {
            if let Some(name) = &req.namespace_name {
                ns.namespace_name = name.clone();
            }
            if let Some(indexes) = &indexes {
                ns.payload_indexes = indexes.clone();
            }
        })
        .await?;
    Ok(Json(namespace_model(namespace, ListView::Full)?))
}

/// Query of `DELETE /v1/namespaces/{id}`.
#[derive(Debug, Default, Deserialize, IntoParams)]
struct DeleteNamespaceQuery {
    /// Accepted for SDK compatibility; a namespace is always deleted with its resources.
    #[allow(dead_code)]
    force: Option<bool>,
}

impl Validate for DeleteNamespaceQuery {
    fn validate(&self, _errors: &mut Errors) {}
}

/// Delete a namespace and everything in it.
#[utoipa::path(delete, path = "/v1/namespaces/{namespace_identifier}", tag = "Namespaces",
    params(("namespace_identifier" = String, Path, description = "Namespace id or name"),
           DeleteNamespaceQuery),
    responses((status = 200, body = DeleteNamespaceResponse),
              (status = 404, body = ferry_wire::ErrorResponse)))]
async fn delete_namespace(
    InOrganization(state, Authenticated(org), identifier): InOrganization<String>,
    QueryParams(_query): QueryParams<DeleteNamespaceQuery>,
) -> ApiResult<Json<DeleteNamespaceResponse>> {
    let deleted = state
        .store
        .delete_namespace(&org.internal_id, &identifier)
        .await?;
    Ok(Json(DeleteNamespaceResponse {
        success: true,
        message: format!("Namespace '{}' deleted", deleted.fields.namespace_name),
        namespace_id: deleted.namespace_id,
        namespace_name: deleted.fields.namespace_name,
    }))
}

/// List Namespaces
#[utoipa::path(post, path = "/v1/namespaces/list", tag = "Namespaces",
    params(PageQuery, NamespaceListView), request_body = ListNamespacesRequest,
    responses((status = 200, body = ListNamespacesResponse),
              (status = 422, body = ferry_wire::HttpValidationError)))]
fn list_namespaces() -> MethodRouter<AppState> {
    listing::post::<NamespaceList>()
}

/// List Namespaces (query parameters only)
#[utoipa::path(get, path = "/v1/namespaces", tag = "Namespaces", params(PageQuery, NamespaceListView),
    responses((status = 200, body = ListNamespacesResponse),
              (status = 422, body = ferry_wire::HttpValidationError)))]
fn list_namespaces_get() -> MethodRouter<AppState> {
    listing::get::<NamespaceList>()
}

struct NamespaceList;

impl ListRoute for NamespaceList {
    type Scope = Authenticated;
    type Query = NamespaceListView;
    type GetQuery = NoQuery;
    type Body = ListNamespacesRequest;
    type Response = ListNamespacesResponse;

    async fn list(
        state: AppState,
        Authenticated(org): Authenticated,
        request: ListRequest<Self>,
    ) -> ApiResult<ListNamespacesResponse> {
        let page = request.page()?;
        let view = request.query.view.unwrap_or_default();
        let body = request.body;
        let sort = chosen_sort(body.sorts.as_ref(), body.sort.as_ref())
            .map(|s| (s.field, s.direction == SortDirection::Desc));
        let filters = body.filters.clone().unwrap_or_default();
        let found = state
            .store
            .list_namespaces(
                &org.internal_id,
                &NamespaceListQuery {
                    namespace_id: filters.namespace_id,
                    namespace_name: filters.namespace_name,
                    search: body.search,
                    case_sensitive: body.case_sensitive,
                    sort,
                    limit: page.limit,
                    offset: page.offset,
                },
            )
            .await?;

        let mut stats = NamespaceListStats {
            total_documents_complete: true,
            ..Default::default()
        };
        let mut results = Vec::with_capacity(found.items.len());
        for ns in found.items {
            stats.total_feature_extractors +=
                ns.fields.feature_extractors.as_array().map_or(0, Vec::len) as i64;
            stats.total_payload_indexes +=
                ns.fields.payload_indexes.as_array().map_or(0, Vec::len) as i64;
            stats.total_documents += ns.stats.document_count;
            stats.total_buckets += ns.stats.bucket_count;
            stats.total_collections += ns.stats.collection_count;
            stats.total_objects += ns.stats.object_count;
            results.push(namespace_model(ns, view)?);
        }
        if !results.is_empty() {
            let n = results.len() as f64;
            stats.avg_feature_extractors_per_namespace = stats.total_feature_extractors as f64 / n;
            stats.avg_payload_indexes_per_namespace = stats.total_payload_indexes as f64 / n;
            stats.avg_documents_per_namespace = stats.total_documents as f64 / n;
            stats.avg_buckets_per_namespace = stats.total_buckets as f64 / n;
            stats.avg_collections_per_namespace = stats.total_collections as f64 / n;
            stats.avg_objects_per_namespace = stats.total_objects as f64 / n;
        }
        Ok(ListNamespacesResponse {
            pagination: page.pagination(results.len(), found.total),
            total_count: found.total,
            results,
            stats,
        })
    }
}
