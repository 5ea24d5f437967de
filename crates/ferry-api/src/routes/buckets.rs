//! `/v1/buckets…` (X-Namespace scoped): create, get, patch, put, delete and list.

use axum::extract::State;
use axum::routing::{get, post, MethodRouter};
use axum::{Json, Router};
use ferry_store::{Bucket, BucketFields, BucketListQuery};
use ferry_wire::bucket::{
    BucketCreateRequest, BucketListStats, BucketPatchRequest, BucketResponse, BucketUpdateRequest,
    DeleteBucketResponse, ListBucketsRequest, ListBucketsResponse,
};
use ferry_wire::namespace::SortDirection;
use ferry_wire::paging::PageQuery;
use ferry_wire::{ErrorResponse, HttpValidationError};

use crate::error::{ApiError, ApiResult};
use crate::extract::{InNamespace, JsonBody, NamespaceScope};
use crate::json::{from_json, to_json};
use crate::listing::{self, ListRequest, ListRoute, NoQuery};
use crate::paging::chosen_sort;
use crate::AppState;
use ferry_wire::ErrorCode;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/buckets", post(create_bucket).merge(list_buckets_get()))
        .route("/v1/buckets/list", list_buckets())
        .route(
            "/v1/buckets/{bucket_identifier}",
            get(get_bucket)
                .patch(patch_bucket)
                .put(update_bucket)
                .delete(delete_bucket),
        )
}

pub(crate) fn bucket_response(bucket: Bucket) -> ApiResult<BucketResponse> {
    let fields = bucket.fields;
    Ok(BucketResponse {
        bucket_schema: from_json("bucket_schema", &fields.bucket_schema)?,
        unique_key: fields
            .unique_key
            .as_ref()
            .map(|v| from_json("unique_key", v))
            .transpose()?,
        metadata: fields
            .metadata
            .as_ref()
            .map(|v| from_json("metadata", v))
            .transpose()?,
        storage_class: fields
            .storage_class
            .as_deref()
            .map(|v| crate::json::wire_enum("storage_class", v))
            .transpose()?,
        bucket_id: bucket.bucket_id,
        bucket_name: fields.bucket_name,
        description: fields.description,
        object_count: bucket.object_count,
        failed_object_count: bucket.failed_object_count,
        total_size_bytes: bucket.total_size_bytes,
        created_at: ferry_store::time::from_micros(bucket.created_at),
        updated_at: ferry_store::time::from_micros(bucket.updated_at),
        last_upload_at: bucket.last_upload_at.map(ferry_store::time::from_micros),
        status: "ACTIVE".into(),
        is_locked: false,
    })
}

fn optional_json<T: serde::Serialize>(value: &Option<T>) -> ApiResult<Option<serde_json::Value>> {
    value.as_ref().map(to_json).transpose()
}

fn optional_name<T: serde::Serialize>(value: &Option<T>) -> ApiResult<Option<String>> {
    value.as_ref().map(crate::json::wire_name).transpose()
}

/// Create Bucket
#[utoipa::path(post, path = "/v1/buckets", tag = "Buckets", request_body = BucketCreateRequest,
    responses((status = 200, body = BucketResponse), (status = 400, body = ErrorResponse),
              (status = 404, body = ErrorResponse), (status = 422, body = HttpValidationError)))]
async fn create_bucket(
    State(state): State<AppState>,
    scope: NamespaceScope,
    JsonBody(req): JsonBody<BucketCreateRequest>,
) -> ApiResult<Json<BucketResponse>> {
    let bucket = state
        .store
        .create_bucket(
            scope.namespace.key,
            None,
            BucketFields {
                bucket_name: req.bucket_name,
                description: req.description,
                bucket_schema: to_json(&req.bucket_schema)?,
                unique_key: optional_json(&req.unique_key)?,
                metadata: optional_json(&req.metadata)?,
                storage_class: optional_name(&req.storage_class)?,
            },
        )
        .await?;
    Ok(Json(bucket_response(bucket)?))
}

/// Get Bucket (by id or name)
#[utoipa::path(get, path = "/v1/buckets/{bucket_identifier}", tag = "Buckets",
    params(("bucket_identifier" = String, Path, description = "Bucket id or name")),
    responses((status = 200, body = BucketResponse), (status = 404, body = ErrorResponse)))]
async fn get_bucket(
    InNamespace(state, scope, identifier): InNamespace<String>,
) -> ApiResult<Json<BucketResponse>> {
    let bucket = state
        .store
        .get_bucket(scope.namespace.key, &identifier)
        .await?;
    Ok(Json(bucket_response(bucket)?))
}

/// Patch Bucket: fields sent change, the rest stay.
#[utoipa::path(patch, path = "/v1/buckets/{bucket_identifier}", tag = "Buckets",
    params(("bucket_identifier" = String, Path, description = "Bucket id or name")),
    request_body = BucketPatchRequest,
    responses((status = 200, body = BucketResponse), (status = 400, body = ErrorResponse),
              (status = 404, body = ErrorResponse), (status = 422, body = HttpValidationError)))]
async fn patch_bucket(
    bucket: InNamespace<String>,
    JsonBody(req): JsonBody<BucketPatchRequest>,
) -> ApiResult<Json<BucketResponse>> {
    update_bucket(bucket, JsonBody(req.into())).await
}

/// Update Bucket (PUT): fields sent change, the rest stay.
#[utoipa::path(put, path = "/v1/buckets/{bucket_identifier}", tag = "Buckets",
    params(("bucket_identifier" = String, Path, description = "Bucket id or name")),
    request_body = BucketUpdateRequest,
    responses((status = 200, body = BucketResponse), (status = 400, body = ErrorResponse),
              (status = 404, body = ErrorResponse), (status = 422, body = HttpValidationError)))]
async fn update_bucket(
    InNamespace(state, scope, identifier): InNamespace<String>,
    JsonBody(req): JsonBody<BucketUpdateRequest>,
) -> ApiResult<Json<BucketResponse>> {
    let current = state
        .store
        .get_bucket(scope.namespace.key, &identifier)
        .await?;
    if let Some(key) = &req.unique_key {
        let stored: Option<ferry_wire::bucket::UniqueKeyConfig> = current
            .fields
            .unique_key
            .as_ref()
            .map(|v| from_json("unique_key", v))
            .transpose()?;
        if stored.as_ref().map(|k| &k.fields) != Some(&key.fields) {
            return Err(ApiError::coded(
                ErrorCode::UniqueKeyFixed,
                "A bucket's unique key fields are fixed at creation; only default_policy may \
                 change",
            ));
        }
    }
    let schema = optional_json(&req.bucket_schema)?;
    let unique_key = optional_json(&req.unique_key)?;
    let metadata = optional_json(&req.metadata)?;
    let storage_class = optional_name(&req.storage_class)?;
    let bucket = state
        .store
        .update_bucket(scope.namespace.key, &current.bucket_id, |b| {
            if let Some(name) = &req.bucket_name {
                b.bucket_name = name.clone();
            }
            if let Some(description) = &req.description {
                b.description = Some(description.clone());
            }
            if let Some(schema) = &schema {
                b.bucket_schema = schema.clone();
            }
            if unique_key.is_some() {
                b.unique_key = unique_key.clone();
            }
            if metadata.is_some() {
                b.metadata = metadata.clone();
            }
            if storage_class.is_some() {
                b.storage_class = storage_class.clone();
            }
        })
        .await?;
    Ok(Json(bucket_response(bucket)?))
}

/// Delete Bucket and its objects.
#[utoipa::path(delete, path = "/v1/buckets/{bucket_identifier}", tag = "Buckets",
    params(("bucket_identifier" = String, Path, description = "Bucket id or name")),
    responses((status = 200, body = DeleteBucketResponse), (status = 404, body = ErrorResponse)))]
async fn delete_bucket(
    InNamespace(state, scope, identifier): InNamespace<String>,
) -> ApiResult<Json<DeleteBucketResponse>> {
    let bucket = state
        .store
        .delete_bucket(scope.namespace.key, &identifier)
        .await?;
    Ok(Json(DeleteBucketResponse {
        success: true,
        message: format!("Bucket '{}' deleted", bucket.fields.bucket_name),
        bucket_id: bucket.bucket_id,
        deleted_object_count: bucket.object_count,
    }))
}

/// List Buckets
#[utoipa::path(post, path = "/v1/buckets/list", tag = "Buckets", params(PageQuery),
    request_body = ListBucketsRequest,
    responses((status = 200, body = ListBucketsResponse), (status = 422, body = HttpValidationError)))]
fn list_buckets() -> MethodRouter<AppState> {
    listing::post::<BucketList>()
}

/// List Buckets (query parameters only)
#[utoipa::path(get, path = "/v1/buckets", tag = "Buckets", params(PageQuery),
    responses((status = 200, body = ListBucketsResponse), (status = 422, body = HttpValidationError)))]
fn list_buckets_get() -> MethodRouter<AppState> {
    listing::get::<BucketList>()
}

struct BucketList;

impl ListRoute for BucketList {
    type Scope = NamespaceScope;
    type Query = NoQuery;
    type GetQuery = NoQuery;
    type Body = ListBucketsRequest;
    type Response = ListBucketsResponse;

    async fn list(
        state: AppState,
        scope: NamespaceScope,
        request: ListRequest<Self>,
    ) -> ApiResult<ListBucketsResponse> {
        let page = request.page()?;
        let body = request.body;
        let sort = chosen_sort(body.sorts.as_ref(), body.sort.as_ref())
            .map(|s| (s.field, s.direction == SortDirection::Desc));
        let filters = body.filters.clone().unwrap_or_default();
        let (buckets, total) = state
            .store
            .list_buckets(
                scope.namespace.key,
                &BucketListQuery {
                    bucket_id: filters.bucket_id,
                    bucket_name: filters.bucket_name,
                    search: body.search,
                    case_sensitive: body.case_sensitive,
                    sort,
                    limit: page.limit,
                    offset: page.offset,
                },
            )
            .await?;
        let mut stats = BucketListStats::default();
        let mut results = Vec::with_capacity(buckets.len());
        for bucket in buckets {
            stats.total_objects += bucket.object_count;
            stats.total_size_bytes += bucket.total_size_bytes;
            results.push(bucket_response(bucket)?);
        }
        if !results.is_empty() {
            stats.avg_objects_per_bucket = stats.total_objects as f64 / results.len() as f64;
            stats.avg_size_per_bucket = stats.total_size_bytes as f64 / results.len() as f64;
        }
        Ok(ListBucketsResponse {
            pagination: page.pagination(results.len(), total),
            total_count: total,
            results,
            stats,
        })
    }
}
