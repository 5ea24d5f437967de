//! `/v1/buckets/{bucket}/objects…` (X-Namespace scoped): create (one or a batch of up to
//! 100), get, patch, put, delete and list. Objects are checked against their bucket's schema;
//! blob bytes go to the content-addressed blob store before the row is written.

use crate::extract::Path;
use axum::routing::{get, post, MethodRouter};
use axum::{Json, Router};
use ferry_store::{
    sorts, Bucket, Inserted, NamespaceKey, NewObject, ObjectListQuery, ObjectRecord, SortColumn,
};
use ferry_wire::bucket::BucketSchema;
use ferry_wire::object::{
    check_object_against_schema, BatchObjectResult, BlobDetails, BlobModel, CreateObjectRequest,
    CreateObjectsBatchRequest, CreateObjectsBatchResponse, FailedObjectError, ListObjectsRequest,
    ListObjectsResponse, ObjectListStats, ObjectResponse, PatchObjectRequest, UpdateObjectRequest,
};
use ferry_wire::paging::PageQuery;
use ferry_wire::{ErrorResponse, Errors, FieldError, HttpValidationError, Loc, Validate};
use serde::Deserialize;
use serde_json::{Map, Value};
use utoipa::IntoParams;

use crate::blob_input;
use crate::error::{ApiError, ApiResult};
use crate::extract::{InNamespace, JsonBody, NamespaceScope, QueryParams};
use crate::filtered::{compile_filters, select_page, FieldOrder};
use crate::json::from_json;
use crate::listing::{self, ListRequest, ListRoute, NoQuery};
use crate::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/v1/buckets/{bucket_identifier}/objects",
            post(create_object).merge(list_objects_get()),
        )
        .route(
            "/v1/buckets/{bucket_identifier}/objects/batch",
            post(create_objects_batch),
        )
        .route(
            "/v1/buckets/{bucket_identifier}/objects/list",
            list_objects(),
        )
        .route(
            "/v1/buckets/{bucket_identifier}/objects/{object_identifier}",
            get(get_object)
                .patch(patch_object)
                .put(update_object)
                .delete(delete_object),
        )
}

/// Query of the create endpoints.
#[derive(Debug, Default, Deserialize, IntoParams)]
struct CreateObjectQuery {
    /// Accepted and ignored: with an `idempotency_key`, a repeated create returns the object
    /// it first made.
    #[allow(dead_code)]
    policy: Option<String>,
    /// Accepted and ignored: collections process objects when triggered.
    #[allow(dead_code)]
    auto_process: Option<bool>,
}

impl Validate for CreateObjectQuery {
    fn validate(&self, _errors: &mut Errors) {}
}

pub(crate) fn object_response(object: ObjectRecord) -> ApiResult<ObjectResponse> {
    Ok(ObjectResponse {
        blobs: from_json("blobs", &object.blobs)?,
        object_id: object.object_id,
        bucket_id: object.bucket_id,
        key_prefix: object.key_prefix,
        status: object.status,
        error: object.error,
        created_at: ferry_store::time::from_micros(object.created_at),
        updated_at: ferry_store::time::from_micros(object.updated_at),
        document_count: object.document_count,
        fields: object.fields,
    })
}

fn bucket_schema(bucket: &Bucket) -> ApiResult<BucketSchema> {
    from_json("bucket_schema", &bucket.fields.bucket_schema)
}

/// Validates `req` against the bucket schema and stores its blobs; the result is ready to
/// insert. Errors are located relative to `root` (`["body"]` or `["body","objects",i]`).
async fn prepare_object(
    state: &AppState,
    schema: &BucketSchema,
    mut req: CreateObjectRequest,
    root: &[Loc],
) -> Result<NewObject, Vec<FieldError>> {
    let blobs = req.blobs.take().unwrap_or_default();
    let mut errors = Errors::new();
    check_object_against_schema(&mut errors, schema, &mut req.fields, &blobs, true);
    let mut decoded = Vec::with_capacity(blobs.len());
    for (i, blob) in blobs.iter().enumerate() {
        let Some(data) = &blob.data else { continue };
        match blob_input::decode(blob.blob_type, data) {
            Ok(d) => decoded.push((i, d)),
            Err(msg) => errors.at("blobs", |errors| {
                errors.at(i, |errors| {
                    errors.push("data", "value_error", format!("Value error, {msg}"))
                })
            }),
        }
    }
    let relocate = |errors: Vec<FieldError>| {
        errors
            .into_iter()
            .map(|mut e| {
                e.loc.splice(0..0, root.iter().cloned());
                e
            })
            .collect::<Vec<_>>()
    };
    if !errors.items.is_empty() {
        return Err(relocate(errors.items));
    }
    let mut records = Vec::with_capacity(decoded.len());
    let mut size_bytes = 0i64;
    for (i, blob) in decoded {
        let request = &blobs[i];
        let size = blob.bytes.len() as i64;
        let hash = ferry_store::blobs::content_hash(&blob.bytes);
        if let Some(expected) = &request.checksum {
            let expected = expected.trim_start_matches("sha256:");
            if !expected.eq_ignore_ascii_case(&hash) {
                let mut errors = Errors::new();
                errors.at("blobs", |errors| {
                    errors.at(i, |errors| {
                        errors.push(
                            "checksum",
                            "value_error",
                            format!("Value error, content hashes to sha256 {hash}"),
                        )
                    })
                });
                return Err(relocate(errors.items));
            }
        }
        // Bytes go in before the row that refers to them; a row never points at nothing. A
        // failed insert leaves an unreferenced blob, harmless under content addressing.
        if let Err(e) = state.blobs.put(blob.bytes).await {
            tracing::error!(error = %e, "blob store write failed");
            return Err(vec![FieldError {
                loc: root.to_vec(),
                msg: "the blob store refused the content; try again".into(),
                kind: "blob_store_error",
            }]);
        }
        size_bytes += size;
        let mut properties = request.metadata.clone().unwrap_or_default();
        if let Some(text) = blob.text {
            properties.insert("text".into(), Value::String(text));
        }
        records.push(BlobModel {
            blob_id: ferry_store::ids::new_id("blob"),
            property: request.property.clone(),
            key_prefix: request.key_prefix.clone(),
            blob_type: request.blob_type,
            properties,
            details: BlobDetails {
                filename: blob.filename,
                size_bytes: size,
                mime_type: blob.mime_type,
                hash,
            },
        });
    }
    Ok(NewObject {
        object_id: None,
        key_prefix: req.key_prefix,
        blobs: serde_json::to_value(&records).unwrap_or(Value::Array(vec![])),
        fields: req.fields,
        size_bytes,
        idempotency_key: req.idempotency_key,
    })
}

/// Create Object
#[utoipa::path(post, path = "/v1/buckets/{bucket_identifier}/objects", tag = "Bucket Objects",
    params(("bucket_identifier" = String, Path, description = "Bucket id or name"), CreateObjectQuery),
    request_body = CreateObjectRequest,
    responses((status = 200, body = ObjectResponse), (status = 404, body = ErrorResponse),
              (status = 422, body = HttpValidationError)))]
async fn create_object(
    InNamespace(state, scope, bucket_identifier): InNamespace<String>,
    QueryParams(_query): QueryParams<CreateObjectQuery>,
    JsonBody(req): JsonBody<CreateObjectRequest>,
) -> ApiResult<Json<ObjectResponse>> {
    let ns = scope.namespace.key;
    let bucket = state.store.get_bucket(ns, &bucket_identifier).await?;
    let schema = bucket_schema(&bucket)?;
    let new = prepare_object(&state, &schema, req, &[Loc::Key("body".into())])
        .await
        .map_err(ApiError::Validation)?;
    let inserted = state
        .store
        .insert_objects(ns, &bucket.bucket_id, vec![new])
        .await?;
    crate::metrics::objects_written(&inserted);
    match inserted.into_iter().next() {
        Some(Inserted::Created(object) | Inserted::Replayed(object)) => {
            Ok(Json(object_response(object)?))
        }
        None => Err(ApiError::Internal("insert returned no row".into())),
    }
}

/// Create Objects Batch: each object succeeds or fails on its own.
#[utoipa::path(post, path = "/v1/buckets/{bucket_identifier}/objects/batch", tag = "Bucket Objects",
    params(("bucket_identifier" = String, Path, description = "Bucket id or name"), CreateObjectQuery),
    request_body = CreateObjectsBatchRequest,
    responses((status = 200, body = CreateObjectsBatchResponse), (status = 404, body = ErrorResponse),
              (status = 422, body = HttpValidationError)))]
async fn create_objects_batch(
    InNamespace(state, scope, bucket_identifier): InNamespace<String>,
    QueryParams(_query): QueryParams<CreateObjectQuery>,
    JsonBody(req): JsonBody<CreateObjectsBatchRequest>,
) -> ApiResult<Json<CreateObjectsBatchResponse>> {
    let ns = scope.namespace.key;
    let bucket = state.store.get_bucket(ns, &bucket_identifier).await?;
    let schema = bucket_schema(&bucket)?;
    let total_requested = req.objects.len();
    let mut ready = Vec::new();
    let mut indexes = Vec::new();
    let mut failed = Vec::new();
    for (i, object) in req.objects.into_iter().enumerate() {
        let mut errors = Errors::new();
        errors.at(i, |errors| object.validate(errors));
        let root = [Loc::Key("objects".into()), Loc::Index(i)];
        let prepared = if errors.items.is_empty() {
            prepare_object(&state, &schema, object, &root).await
        } else {
            Err(errors.items)
        };
        match prepared {
            Ok(new) => {
                ready.push(new);
                indexes.push(i);
            }
            Err(errors) => failed.push(FailedObjectError {
                object_index: i,
                error: errors
                    .iter()
                    .map(|e| format!("{}: {}", loc_text(&e.loc), e.msg))
                    .collect::<Vec<_>>()
                    .join("; "),
                error_type: "ValidationError".into(),
            }),
        }
    }
    let inserted = if ready.is_empty() {
        Vec::new()
    } else {
        state
            .store
            .insert_objects(ns, &bucket.bucket_id, ready)
            .await?
    };
    crate::metrics::objects_written(&inserted);
    let mut succeeded = Vec::with_capacity(inserted.len());
    for (object_index, row) in indexes.into_iter().zip(inserted) {
        let (object, replayed) = match row {
            Inserted::Created(o) => (o, false),
            Inserted::Replayed(o) => (o, true),
        };
        succeeded.push(BatchObjectResult {
            object: object_response(object)?,
            object_index,
            replayed,
            replayed_by: replayed.then(|| "idempotency_key".to_owned()),
        });
    }
    Ok(Json(CreateObjectsBatchResponse {
        total_requested,
        succeeded_count: succeeded.len(),
        failed_count: failed.len(),
        succeeded,
        failed,
    }))
}

fn loc_text(loc: &[Loc]) -> String {
    loc.iter()
        .map(|l| match l {
            Loc::Key(k) => k.clone(),
            Loc::Index(i) => i.to_string(),
        })
        .collect::<Vec<_>>()
        .join(".")
}

/// Get Object
#[utoipa::path(get, path = "/v1/buckets/{bucket_identifier}/objects/{object_identifier}",
    tag = "Bucket Objects",
    params(("bucket_identifier" = String, Path), ("object_identifier" = String, Path)),
    responses((status = 200, body = ObjectResponse), (status = 404, body = ErrorResponse)))]
async fn get_object(
    InNamespace(state, scope, (bucket_identifier, object_id)): InNamespace<(String, String)>,
) -> ApiResult<Json<ObjectResponse>> {
    let ns = scope.namespace.key;
    let bucket = state.store.get_bucket(ns, &bucket_identifier).await?;
    let object = state
        .store
        .get_object(ns, &bucket.bucket_id, &object_id)
        .await?;
    let mut response = [object_response(object)?];
    fill_document_counts(&state, ns, &mut response).await?;
    let [response] = response;
    Ok(Json(response))
}

/// Sets each object's `document_count`: the documents collections have produced from it so
/// far, counted at read time so it stays true through triggers, re-triggers and deletions.
async fn fill_document_counts(
    state: &AppState,
    ns: NamespaceKey,
    objects: &mut [ObjectResponse],
) -> ApiResult<()> {
    let ids: Vec<&str> = objects.iter().map(|o| o.object_id.as_str()).collect();
    let counts = state.store.document_counts_by_object(ns, &ids).await?;
    for object in objects {
        object.document_count = counts.get(&object.object_id).copied().unwrap_or(0);
    }
    Ok(())
}

/// Applies new custom field values after checking them against the schema.
async fn change_fields(
    object: InNamespace<(String, String)>,
    key_prefix: Option<String>,
    changes: Map<String, Value>,
    root: &[&str],
) -> ApiResult<Json<ObjectResponse>> {
    let InNamespace(state, scope, (bucket_identifier, object_id)) = object;
    let ns = scope.namespace.key;
    let bucket = state.store.get_bucket(ns, &bucket_identifier).await?;
    let schema = bucket_schema(&bucket)?;
    let mut checked = changes.clone();
    let mut errors = Errors::new();
    check_object_against_schema(&mut errors, &schema, &mut checked, &[], false);
    if !errors.items.is_empty() {
        return Err(ApiError::Validation(
            errors
                .items
                .into_iter()
                .map(|mut e| {
                    e.loc
                        .splice(0..0, root.iter().map(|k| Loc::Key((*k).into())));
                    e
                })
                .collect(),
        ));
    }
    let object = state
        .store
        .update_object(ns, &bucket.bucket_id, &object_id, |prefix, fields| {
            if let Some(p) = &key_prefix {
                *prefix = Some(p.clone());
            }
            for (k, v) in &changes {
                fields.insert(k.clone(), v.clone());
            }
        })
        .await?;
    let mut response = [object_response(object)?];
    fill_document_counts(&state, ns, &mut response).await?;
    let [response] = response;
    Ok(Json(response))
}

/// Patch Object: custom fields sent at the root change; the rest stay.
#[utoipa::path(patch, path = "/v1/buckets/{bucket_identifier}/objects/{object_identifier}",
    tag = "Bucket Objects",
    params(("bucket_identifier" = String, Path), ("object_identifier" = String, Path)),
    request_body = PatchObjectRequest,
    responses((status = 200, body = ObjectResponse), (status = 404, body = ErrorResponse),
              (status = 422, body = HttpValidationError)))]
async fn patch_object(
    object: InNamespace<(String, String)>,
    JsonBody(req): JsonBody<PatchObjectRequest>,
) -> ApiResult<Json<ObjectResponse>> {
    change_fields(object, req.key_prefix, req.fields, &["body"]).await
}

/// Update Object: custom fields to change travel in `metadata`.
#[utoipa::path(put, path = "/v1/buckets/{bucket_identifier}/objects/{object_identifier}",
    tag = "Bucket Objects",
    params(("bucket_identifier" = String, Path), ("object_identifier" = String, Path)),
    request_body = UpdateObjectRequest,
    responses((status = 200, body = ObjectResponse), (status = 404, body = ErrorResponse),
              (status = 422, body = HttpValidationError)))]
async fn update_object(
    object: InNamespace<(String, String)>,
    JsonBody(req): JsonBody<UpdateObjectRequest>,
) -> ApiResult<Json<ObjectResponse>> {
    let changes = req.metadata.unwrap_or_default();
    change_fields(object, req.key_prefix, changes, &["body", "metadata"]).await
}

/// Delete Object
#[utoipa::path(delete, path = "/v1/buckets/{bucket_identifier}/objects/{object_identifier}",
    tag = "Bucket Objects",
    params(("bucket_identifier" = String, Path), ("object_identifier" = String, Path)),
    responses((status = 200, body = Object), (status = 404, body = ErrorResponse)))]
async fn delete_object(
    InNamespace(state, scope, (bucket_identifier, object_id)): InNamespace<(String, String)>,
) -> ApiResult<Json<Value>> {
    let ns = scope.namespace.key;
    let bucket = state.store.get_bucket(ns, &bucket_identifier).await?;
    let object = state
        .store
        .delete_object(ns, &bucket.bucket_id, &object_id)
        .await?;
    Ok(Json(serde_json::json!({
        "success": true,
        "message": format!("Object '{}' deleted", object.object_id),
        "object_id": object.object_id,
        "bucket_id": object.bucket_id,
    })))
}

/// List Objects
#[utoipa::path(post, path = "/v1/buckets/{bucket_identifier}/objects/list", tag = "Bucket Objects",
    params(("bucket_identifier" = String, Path), PageQuery), request_body = ListObjectsRequest,
    responses((status = 200, body = ListObjectsResponse), (status = 422, body = HttpValidationError)))]
fn list_objects() -> MethodRouter<AppState> {
    listing::post::<ObjectList>()
}

/// List Objects (query parameters only)
#[utoipa::path(get, path = "/v1/buckets/{bucket_identifier}/objects", tag = "Bucket Objects",
    params(("bucket_identifier" = String, Path), PageQuery),
    responses((status = 200, body = ListObjectsResponse), (status = 422, body = HttpValidationError)))]
fn list_objects_get() -> MethodRouter<AppState> {
    listing::get::<ObjectList>()
}

struct ObjectList;

impl ListRoute for ObjectList {
    type Scope = (NamespaceScope, Path<String>);
    type Query = NoQuery;
    type GetQuery = NoQuery;
    type Body = ListObjectsRequest;
    type Response = ListObjectsResponse;

    async fn list(
        state: AppState,
        (scope, Path(bucket_identifier)): (NamespaceScope, Path<String>),
        request: ListRequest<Self>,
    ) -> ApiResult<ListObjectsResponse> {
        let page = request.page()?;
        let body = &request.body;
        let ns = scope.namespace.key;
        let bucket = state.store.get_bucket(ns, &bucket_identifier).await?;
        // `None`: a sort on a field that is not a column, done in memory below.
        let column_sort = match &body.sort {
            None => Some((sorts::CREATED_AT, true)),
            Some(s) => SortColumn::named(sorts::OBJECTS, &s.field).map(|c| (c, s.descending())),
        };
        let matcher = compile_filters(body.filters.as_ref())?;
        let (results, total) = match (column_sort, matcher) {
            // Column sorts without filters page in SQL, from indexes.
            (Some(sort), None) => {
                let (objects, total) = state
                    .store
                    .list_objects(
                        ns,
                        &bucket.bucket_id,
                        &ObjectListQuery {
                            search: body.search.clone(),
                            sort: Some(sort),
                            limit: page.limit,
                            offset: page.offset,
                        },
                    )
                    .await?;
                let results = objects
                    .into_iter()
                    .map(object_response)
                    .collect::<ApiResult<Vec<_>>>()?;
                (results, total)
            }
            (_, matcher) => {
                let order = match &body.sort {
                    Some(s) => FieldOrder {
                        field: s.field.clone(),
                        descending: s.descending(),
                    },
                    None => FieldOrder {
                        field: "created_at".into(),
                        descending: true,
                    },
                };
                let search = body.search.as_deref().map(str::to_lowercase);
                let store = &state.store;
                let bucket_id = bucket.bucket_id.as_str();
                select_page(
                    |after, limit| async move {
                        let after = after.as_ref().map(|(at, id)| (*at, id.as_str()));
                        store.objects_after(ns, bucket_id, after, limit).await
                    },
                    |o: &ObjectRecord| (o.created_at, o.object_id.clone()),
                    object_response,
                    |o: &ObjectResponse| search.as_deref().is_none_or(|s| matches_search(o, s)),
                    matcher.as_ref(),
                    &order,
                    &page,
                )
                .await?
            }
        };
        let mut results = results;
        fill_document_counts(&state, ns, &mut results).await?;
        let mut stats = ObjectListStats::default();
        let mut by_status: Map<String, Value> = Map::new();
        for object in &results {
            stats.total_objects += 1;
            stats.total_blobs += object.blobs.len() as i64;
            let count = by_status
                .entry(object.status.clone())
                .or_insert(Value::from(0));
            *count = Value::from(count.as_i64().unwrap_or(0) + 1);
        }
        if stats.total_objects > 0 {
            stats.avg_blobs_per_object = stats.total_blobs as f64 / stats.total_objects as f64;
        }
        stats.objects_by_status = by_status;
        Ok(ListObjectsResponse {
            pagination: page.pagination(results.len(), total),
            results,
            stats,
        })
    }
}

/// The list's `search`: a case-insensitive substring of the object id or key prefix (what the
/// SQL path's `search` matches).
fn matches_search(object: &ObjectResponse, needle_lower: &str) -> bool {
    object.object_id.to_lowercase().contains(needle_lower)
        || object
            .key_prefix
            .as_deref()
            .is_some_and(|k| k.to_lowercase().contains(needle_lower))
}
