//! `/v1/collections/{collection}/documents…` (X-Namespace scoped): create, get, list, patch,
//! delete. Custom fields travel at the document's root; lineage and times under `_internal`;
//! vectors, on request, as root fields named by their index.

use crate::extract::Path;
use axum::routing::{get, post, MethodRouter};
use axum::{Json, Router};
use ferry_store::{
    sorts, Collection, DocumentListQuery, DocumentRecord, Lineage, NamespaceKey, NewDocument,
    SortColumn,
};
use ferry_wire::document::{
    DocumentCreateRequest, DocumentListStats, DocumentResponse, GenericDeleteResponse,
    GetDocumentQuery, InternalLineage, InternalPayload, LineageSourceType, ListDocumentsQuery,
    ListDocumentsRequest, ListDocumentsResponse, PatchDocumentRequest, ReturnVectorNames,
};
use ferry_wire::paging::PageQuery;
use ferry_wire::{ErrorResponse, FieldError, HttpValidationError, Loc};
use serde_json::Value;

use crate::error::{ApiError, ApiResult};
use crate::extract::{InNamespace, JsonBody, NamespaceScope, QueryParams};
use crate::filtered::{compile_filters, select_page, FieldOrder};
use crate::listing::{self, ListRequest, ListRoute, NoQuery};
use crate::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/v1/collections/{collection_identifier}/documents",
            post(create_document).merge(list_documents_get()),
        )
        .route(
            "/v1/collections/{collection_identifier}/documents/list",
            list_documents(),
        )
        .route(
            "/v1/collections/{collection_identifier}/documents/{document_id}",
            get(get_document)
                .patch(patch_document)
                .delete(delete_document),
        )
}

/// Which vectors a response includes.
#[derive(Clone, Copy)]
pub(crate) enum VectorsShown<'a> {
    None,
    All,
    Named(&'a [String]),
}

impl<'a> VectorsShown<'a> {
    /// What a request asked for: the vectors it names, else all of them with
    /// `return_vectors`, else none.
    fn asked(names: Option<&'a ReturnVectorNames>, return_vectors: bool) -> Self {
        match (names, return_vectors) {
            (Some(ReturnVectorNames::Names(names)), _) => VectorsShown::Named(names),
            (_, true) => VectorsShown::All,
            (_, false) => VectorsShown::None,
        }
    }
}

/// The namespace and the collection a document path names.
async fn collection_in(
    state: &AppState,
    scope: &NamespaceScope,
    identifier: &str,
) -> ApiResult<(NamespaceKey, Collection)> {
    let ns = scope.namespace.key;
    Ok((ns, state.store.get_collection(ns, identifier).await?))
}

pub(crate) fn document_response(
    namespace_id: &str,
    doc: DocumentRecord,
    shown: VectorsShown<'_>,
) -> DocumentResponse {
    let mut fields = doc.fields;
    let names: Vec<Value> = doc
        .vectors
        .iter()
        .map(|(n, _)| Value::from(n.clone()))
        .collect();
    for (name, values) in doc.vectors {
        let include = match shown {
            VectorsShown::None => false,
            VectorsShown::All => true,
            VectorsShown::Named(wanted) => wanted.contains(&name),
        };
        if include {
            fields.insert(name, Value::from(values));
        }
    }
    if !matches!(shown, VectorsShown::None) {
        fields.insert("_vectors".into(), Value::Array(names));
    }
    let lineage = doc.lineage;
    let source_type = if lineage.source_document_id.is_some() {
        LineageSourceType::Collection
    } else if lineage.source_object_id.is_some() {
        LineageSourceType::Bucket
    } else {
        LineageSourceType::DirectUpsert
    };
    DocumentResponse {
        internal: Some(InternalPayload {
            namespace_id: namespace_id.to_owned(),
            document_id: doc.document_id.clone(),
            collection_id: doc.collection_id.clone(),
            created_at: ferry_store::time::from_micros(doc.created_at),
            updated_at: ferry_store::time::from_micros(doc.updated_at),
            lineage: Some(InternalLineage {
                root_object_id: lineage.root_object_id,
                root_bucket_id: lineage.root_bucket_id,
                source_type: Some(source_type),
                source_object_id: lineage.source_object_id,
                source_document_id: lineage.source_document_id,
                source_collection_id: None,
                path: None,
                chain: None,
            }),
            source_blobs: None,
            document_blobs: None,
            modality: None,
            metadata: None,
            mime_type: None,
            size_bytes: None,
            content_hash: None,
        }),
        document_id: doc.document_id,
        collection_id: doc.collection_id,
        vector_hydration_incomplete: None,
        searchable_at: None,
        document_blobs: None,
        fields,
    }
}

/// Create Document: a document written directly, with its own vectors.
#[utoipa::path(post, path = "/v1/collections/{collection_identifier}/documents", tag = "Collection Documents",
    params(("collection_identifier" = String, Path)), request_body = DocumentCreateRequest,
    responses((status = 200, body = DocumentResponse), (status = 404, body = ErrorResponse),
              (status = 422, body = HttpValidationError)))]
async fn create_document(
    InNamespace(state, scope, collection_identifier): InNamespace<String>,
    JsonBody(req): JsonBody<DocumentCreateRequest>,
) -> ApiResult<Json<DocumentResponse>> {
    let (ns, collection) = collection_in(&state, &scope, &collection_identifier).await?;
    let indexes: Vec<(String, i64)> = collection
        .fields
        .vector_indexes
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|v| {
            Some((
                v["index"]["name"].as_str()?.to_owned(),
                v["index"]["dimensions"].as_i64()?,
            ))
        })
        .collect();
    let mut vectors = Vec::new();
    let mut errors = Vec::new();
    let given: Vec<(String, Vec<f64>)> = req
        .vectors
        .clone()
        .unwrap_or_default()
        .into_iter()
        .collect();
    for (name, values) in given {
        match indexes.iter().find(|(n, _)| *n == name) {
            Some((_, dim)) if *dim == values.len() as i64 => {
                vectors.push((name, values.into_iter().map(|v| v as f32).collect()))
            }
            Some((_, dim)) => errors.push(FieldError {
                loc: vec![
                    Loc::Key("body".into()),
                    Loc::Key("vectors".into()),
                    Loc::Key(name.clone()),
                ],
                msg: format!("Vector should have {dim} dimensions, not {}", values.len()),
                kind: "value_error",
            }),
            None => errors.push(FieldError {
                loc: vec![
                    Loc::Key("body".into()),
                    Loc::Key("vectors".into()),
                    Loc::Key(name.clone()),
                ],
                msg: format!(
                    "Not a vector index of this collection; indexes: {}",
                    indexes
                        .iter()
                        .map(|(n, _)| n.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                kind: "value_error",
            }),
        }
    }
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    let mut fields = req.fields.clone();
    if let Some(metadata) = &req.metadata {
        fields.insert("metadata".into(), Value::Object(metadata.clone()));
    }
    let doc = state
        .store
        .create_document(
            ns,
            &collection.collection_id,
            NewDocument {
                document_id: ferry_store::ids::new_id("doc"),
                lineage: Lineage {
                    source_object_id: req.source_object_id.clone(),
                    root_object_id: req.root_object_id.clone(),
                    source_document_id: req.source_document_id.clone(),
                    root_bucket_id: req.root_bucket_id.clone(),
                },
                chunk_index: 0,
                fields,
                vectors,
            },
        )
        .await?;
    Ok(Json(document_response(
        &scope.namespace.namespace_id,
        doc,
        VectorsShown::None,
    )))
}

/// Get Document
#[utoipa::path(get, path = "/v1/collections/{collection_identifier}/documents/{document_id}",
    tag = "Collection Documents",
    params(("collection_identifier" = String, Path), ("document_id" = String, Path), GetDocumentQuery),
    responses((status = 200, body = DocumentResponse), (status = 404, body = ErrorResponse)))]
async fn get_document(
    InNamespace(state, scope, (collection_identifier, document_id)): InNamespace<(String, String)>,
    QueryParams(query): QueryParams<GetDocumentQuery>,
) -> ApiResult<Json<DocumentResponse>> {
    let (ns, collection) = collection_in(&state, &scope, &collection_identifier).await?;
    let doc = state
        .store
        .get_document(ns, &collection.collection_id, &document_id)
        .await?;
    let names = query.vector_names();
    let shown = VectorsShown::asked(names.as_ref(), query.return_vectors.unwrap_or(false));
    Ok(Json(document_response(
        &scope.namespace.namespace_id,
        doc,
        shown,
    )))
}

/// Patch Document: root fields (and `metadata`) sent change; the rest stay.
#[utoipa::path(patch, path = "/v1/collections/{collection_identifier}/documents/{document_id}",
    tag = "Collection Documents",
    params(("collection_identifier" = String, Path), ("document_id" = String, Path)),
    request_body = PatchDocumentRequest,
    responses((status = 200, body = DocumentResponse), (status = 404, body = ErrorResponse)))]
async fn patch_document(
    InNamespace(state, scope, (collection_identifier, document_id)): InNamespace<(String, String)>,
    JsonBody(req): JsonBody<PatchDocumentRequest>,
) -> ApiResult<Json<DocumentResponse>> {
    let (ns, collection) = collection_in(&state, &scope, &collection_identifier).await?;
    let doc = state
        .store
        .update_document(ns, &collection.collection_id, &document_id, |fields, _| {
            for (k, v) in &req.fields {
                fields.insert(k.clone(), v.clone());
            }
            if let Some(metadata) = &req.metadata {
                fields.insert("metadata".into(), Value::Object(metadata.clone()));
            }
        })
        .await?;
    Ok(Json(document_response(
        &scope.namespace.namespace_id,
        doc,
        VectorsShown::None,
    )))
}

/// Delete Document
#[utoipa::path(delete, path = "/v1/collections/{collection_identifier}/documents/{document_id}",
    tag = "Collection Documents",
    params(("collection_identifier" = String, Path), ("document_id" = String, Path)),
    responses((status = 200, body = GenericDeleteResponse), (status = 404, body = ErrorResponse)))]
async fn delete_document(
    InNamespace(state, scope, (collection_identifier, document_id)): InNamespace<(String, String)>,
) -> ApiResult<Json<GenericDeleteResponse>> {
    let (ns, collection) = collection_in(&state, &scope, &collection_identifier).await?;
    state
        .store
        .delete_document(ns, &collection.collection_id, &document_id)
        .await?;
    Ok(Json(GenericDeleteResponse {
        message: format!("Document '{document_id}' deleted"),
        success: true,
    }))
}

/// List Documents
#[utoipa::path(post, path = "/v1/collections/{collection_identifier}/documents/list",
    tag = "Collection Documents",
    params(("collection_identifier" = String, Path), PageQuery, ListDocumentsQuery),
    request_body = ListDocumentsRequest,
    responses((status = 200, body = ListDocumentsResponse), (status = 422, body = HttpValidationError)))]
fn list_documents() -> MethodRouter<AppState> {
    listing::post::<DocumentList>()
}

/// List Documents (query parameters only)
#[utoipa::path(get, path = "/v1/collections/{collection_identifier}/documents",
    tag = "Collection Documents",
    params(("collection_identifier" = String, Path), PageQuery, ListDocumentsQuery),
    responses((status = 200, body = ListDocumentsResponse), (status = 422, body = HttpValidationError)))]
fn list_documents_get() -> MethodRouter<AppState> {
    listing::get::<DocumentList>()
}

struct DocumentList;

impl ListRoute for DocumentList {
    type Scope = (NamespaceScope, Path<String>);
    type Query = ListDocumentsQuery;
    type GetQuery = NoQuery;
    type Body = ListDocumentsRequest;
    type Response = ListDocumentsResponse;

    async fn list(
        state: AppState,
        (scope, Path(collection_identifier)): (NamespaceScope, Path<String>),
        request: ListRequest<Self>,
    ) -> ApiResult<ListDocumentsResponse> {
        let (query, body) = (&request.query, &request.body);
        let filters = body.filters.clone().or_else(|| query.filters());
        let matcher = compile_filters(filters.as_ref())?;
        let page = request.page()?;
        let (ns, collection) = collection_in(&state, &scope, &collection_identifier).await?;
        let return_vectors = body.return_vectors || query.return_vectors.unwrap_or(false);
        let shown = VectorsShown::asked(body.return_vector_names.as_ref(), return_vectors);
        let namespace_id = scope.namespace.namespace_id.as_str();
        let sort = body.sort.clone().or_else(|| query.sort());
        // `None`: a sort on a field that is not a column, done in memory below. The times
        // are also named by their place in the document's `_internal`.
        let column_sort = sort.as_ref().map_or(Some((sorts::CREATED_AT, true)), |s| {
            let name = match s.field.as_str() {
                "_internal.created_at" => "created_at",
                "_internal.updated_at" => "updated_at",
                field => field,
            };
            SortColumn::named(sorts::DOCUMENTS, name).map(|c| (c, s.descending()))
        });
        let (results, total) = match (column_sort, matcher) {
            // Column sorts without filters page in SQL, from indexes.
            (Some(sort), None) => {
                let (docs, total) = state
                    .store
                    .list_documents(
                        ns,
                        &collection.collection_id,
                        &DocumentListQuery {
                            sort: Some(sort),
                            source_object_id: None,
                            limit: page.limit,
                            offset: page.offset,
                        },
                    )
                    .await?;
                let results: Vec<DocumentResponse> = docs
                    .into_iter()
                    .map(|d| document_response(namespace_id, d, shown))
                    .collect();
                (results, total)
            }
            (_, matcher) => {
                let order = match &sort {
                    Some(s) => FieldOrder {
                        field: match s.field.as_str() {
                            "created_at" | "updated_at" => format!("_internal.{}", s.field),
                            other => other.to_owned(),
                        },
                        descending: s.descending(),
                    },
                    None => FieldOrder {
                        field: "_internal.created_at".into(),
                        descending: true,
                    },
                };
                let store = &state.store;
                let collection_id = collection.collection_id.as_str();
                select_page(
                    |after, limit| async move {
                        let after = after.as_ref().map(|(at, id)| (*at, id.as_str()));
                        store.documents_after(ns, collection_id, after, limit).await
                    },
                    |d: &DocumentRecord| (d.created_at, d.document_id.clone()),
                    |d| Ok(document_response(namespace_id, d, shown)),
                    |_| true,
                    matcher.as_ref(),
                    &order,
                    &page,
                )
                .await?
            }
        };
        let returned = results.len();
        let mut pagination = page.pagination(returned, total);
        if body.include_total == Some(true) {
            pagination.total = Some(total);
            pagination.total_pages = Some((total + page.limit - 1) / page.limit);
        }
        Ok(ListDocumentsResponse {
            results: Some(results),
            groups: None,
            pagination,
            total_documents: Some(total),
            stats: DocumentListStats {
                total_documents: Some(total),
                avg_blobs_per_document: 0.0,
                total_groups: None,
                avg_documents_per_group: None,
            },
            group_by_field: None,
            warnings: None,
        })
    }
}
