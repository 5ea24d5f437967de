//! `/v1/collections…` (X-Namespace scoped): create, get, patch, delete, list, and trigger.
//!
//! Creating a collection pins its extractor version, resolves its parameters, and computes
//! its output schema and vector indexes; a trigger queues a task that the pipeline workers
//! run (see `ferry_pipeline`).

use std::collections::BTreeMap;

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post, MethodRouter};
use axum::{Json, Router};
use ferry_extract::{Extractor, InputKind};
use ferry_pipeline::TRIGGER_TASK;
use ferry_store::{sorts, Collection, CollectionFields, NamespaceKey, StoreError};
use ferry_wire::bucket::{BucketSchema, BucketSchemaField, BucketSchemaFieldType};
use ferry_wire::collection::{
    CollectionListStats, CollectionResponse, CollectionVectorIndex, CreateCollectionRequest,
    DeleteCollectionResponse, FeatureExtractorConfigInput, FeatureExtractorConfigOutput,
    ListCollectionsQuery, ListCollectionsRequest, ListCollectionsResponse, PatchCollectionRequest,
    SourceConfig, SourceType, TriggerCollectionRequest, TriggerCollectionResponse,
};
use ferry_wire::paging::PageQuery;
use ferry_wire::{ErrorResponse, FieldError, HttpValidationError, Loc};
use serde_json::{json, Map, Value};

use crate::error::{bad_request, body_loc, ApiError, ApiResult};
use crate::extract::{InNamespace, JsonBody, NamespaceScope};
use crate::json::{from_json, to_json};
use crate::listing::{self, ListRequest, ListRoute, NoQuery};
use crate::routes::taxonomies::check_taxonomy_applications;
use crate::AppState;
use ferry_wire::ErrorCode;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/v1/collections",
            post(create_collection).merge(list_collections_get()),
        )
        .route("/v1/collections/list", list_collections())
        .route(
            "/v1/collections/{collection_identifier}",
            get(get_collection)
                .patch(patch_collection)
                .delete(delete_collection),
        )
        .route(
            "/v1/collections/{collection_identifier}/trigger",
            post(trigger_collection),
        )
}

/// A collection a request names as an input (a retriever's, a cluster's), with its vector
/// indexes. An unknown one is a 400 `collection_not_found`, not a 404: the request is wrong,
/// not its path.
pub(crate) async fn input_collection(
    state: &AppState,
    ns: NamespaceKey,
    identifier: &str,
) -> ApiResult<(Collection, Vec<CollectionVectorIndex>)> {
    let collection = state
        .store
        .get_collection(ns, identifier)
        .await
        .map_err(|e| match e {
            StoreError::NotFound { .. } => bad_request(
                ErrorCode::CollectionNotFound,
                format!("Collection '{identifier}' does not exist in this namespace"),
                json!({"collection_id": identifier}),
            ),
            other => other.into(),
        })?;
    let indexes = from_json("vector_indexes", &collection.fields.vector_indexes)?;
    Ok((collection, indexes))
}

pub(crate) fn collection_response(c: Collection) -> ApiResult<CollectionResponse> {
    let f = c.fields;
    Ok(CollectionResponse {
        collection_id: c.collection_id,
        collection_name: f.collection_name,
        description: f.description,
        input_schema: f
            .input_schema
            .as_ref()
            .map(|v| from_json("input_schema", v))
            .transpose()?,
        output_schema: from_json("output_schema", &f.output_schema)?,
        feature_extractor: from_json("feature_extractor", &f.feature_extractor)?,
        source: from_json("source", &f.source)?,
        source_lineage: None,
        vector_indexes: Some(from_json("vector_indexes", &f.vector_indexes)?),
        enabled: f.enabled,
        disabled_reason: None,
        metadata: f
            .metadata
            .as_ref()
            .map(|v| from_json("metadata", v))
            .transpose()?,
        created_at: ferry_store::time::from_micros(c.created_at),
        updated_at: ferry_store::time::from_micros(c.updated_at),
        document_count: c.document_count,
        vector_count: Some(c.document_count),
        taxonomy_count: None,
        retriever_count: None,
        taxonomy_applications: f
            .taxonomy_applications
            .as_ref()
            .map(|v| from_json("taxonomy_applications", v))
            .transpose()?,
        cluster_applications: f
            .cluster_applications
            .as_ref()
            .map(|v| from_json("cluster_applications", v))
            .transpose()?,
        warnings: None,
    })
}

/// Resolves the source's ids (bucket or collection names become ids) and the schema its
/// items offer.
async fn resolve_source(
    state: &AppState,
    ns: NamespaceKey,
    source: &SourceConfig,
) -> ApiResult<(SourceConfig, Option<BucketSchema>)> {
    let mut resolved = source.clone();
    match source.source_type {
        SourceType::Bucket => {
            let mut ids = Vec::new();
            let mut schema: Option<BucketSchema> = None;
            for identifier in source.bucket_ids.clone().unwrap_or_default() {
                let bucket =
                    state
                        .store
                        .get_bucket(ns, &identifier)
                        .await
                        .map_err(|e| match e {
                            ferry_store::StoreError::NotFound { .. } => bad_request(
                                ErrorCode::SourceBucketNotFound,
                                format!(
                                    "Source bucket '{identifier}' does not exist in this namespace"
                                ),
                                json!({"bucket_id": identifier}),
                            ),
                            other => other.into(),
                        })?;
                let bucket_schema: BucketSchema =
                    from_json("bucket_schema", &bucket.fields.bucket_schema)?;
                match &mut schema {
                    None => schema = Some(bucket_schema),
                    Some(s) => s.properties.extend(bucket_schema.properties),
                }
                ids.push(bucket.bucket_id);
            }
            resolved.bucket_ids = Some(ids);
            Ok((resolved, schema))
        }
        SourceType::Collection => {
            let mut wanted: Vec<String> = source.collection_ids.clone().unwrap_or_default();
            if let Some(one) = &source.collection_id {
                wanted.insert(0, one.clone());
            }
            let mut ids = Vec::new();
            let mut schema: Option<BucketSchema> = None;
            for identifier in wanted {
                let upstream = state
                    .store
                    .get_collection(ns, &identifier)
                    .await
                    .map_err(|e| match e {
                        ferry_store::StoreError::NotFound { .. } => bad_request(
                            ErrorCode::SourceCollectionNotFound,
                            format!(
                                "Source collection '{identifier}' does not exist in this namespace"
                            ),
                            json!({"collection_id": identifier}),
                        ),
                        other => other.into(),
                    })?;
                let output: BucketSchema =
                    from_json("output_schema", &upstream.fields.output_schema)?;
                match &mut schema {
                    None => schema = Some(output),
                    Some(s) => s.properties.extend(output.properties),
                }
                ids.push(upstream.collection_id);
            }
            if ids.len() == 1 {
                resolved.collection_id = ids.pop();
                resolved.collection_ids = None;
            } else {
                resolved.collection_id = None;
                resolved.collection_ids = Some(ids);
            }
            Ok((resolved, schema))
        }
        other => Err(ApiError::Validation(vec![FieldError {
            loc: body_loc(&["source", "type"]),
            msg: format!("Input should be 'bucket' or 'collection' (not {other:?})"),
            kind: "enum",
        }])),
    }
}

/// The extractor a configuration names, or a 400 naming what is unknown.
fn find_extractor(
    state: &AppState,
    config: &FeatureExtractorConfigInput,
) -> ApiResult<std::sync::Arc<dyn Extractor>> {
    state
        .registry
        .get(&config.feature_extractor_name, &config.version)
        .ok_or_else(|| {
            let versions = state.registry.versions(&config.feature_extractor_name);
            let message = if versions.is_empty() {
                format!(
                    "Unknown feature extractor '{}'",
                    config.feature_extractor_name
                )
            } else {
                format!(
                    "Feature extractor '{}' has no version '{}'; known versions: {}",
                    config.feature_extractor_name,
                    config.version,
                    versions.join(", ")
                )
            };
            bad_request(
                ErrorCode::FeatureExtractorNotFound,
                message,
                json!({"feature_extractor_name": config.feature_extractor_name,
                       "version": config.version, "known_versions": versions}),
            )
        })
}

/// Schema of the documents a collection writes: passed-through fields (typed as the source
/// types them), the extractor's own fields, and one array per vector index.
fn output_schema(
    extractor: &dyn Extractor,
    config: &FeatureExtractorConfigInput,
    resolved: &Map<String, Value>,
    input_schema: Option<&BucketSchema>,
) -> ApiResult<BucketSchema> {
    let mut properties: BTreeMap<String, BucketSchemaField> = BTreeMap::new();
    if config.include_all_source_fields {
        if let Some(schema) = input_schema {
            for (name, field) in &schema.properties {
                if !matches!(
                    field.field_type,
                    BucketSchemaFieldType::Image
                        | BucketSchemaFieldType::Audio
                        | BucketSchemaFieldType::Video
                        | BucketSchemaFieldType::Pdf
                        | BucketSchemaFieldType::Excel
                ) {
                    properties.insert(name.clone(), field.clone());
                }
            }
        }
    }
    for pass in config.field_passthrough.iter().flatten() {
        let root = pass
            .source_path
            .split('.')
            .next()
            .unwrap_or(&pass.source_path);
        let field = input_schema
            .and_then(|s| s.properties.get(root))
            .filter(|_| !pass.source_path.contains('.'))
            .cloned()
            .unwrap_or_else(|| BucketSchemaField::of(BucketSchemaFieldType::Object));
        properties.insert(pass.target().to_owned(), field);
    }
    let extractor_fields = ferry_extract::collection::output_schema_fields(extractor, resolved)
        .map_err(|e| ApiError::Internal(format!("extractor output field: {e}")))?;
    properties.extend(extractor_fields);
    Ok(BucketSchema { properties })
}

/// Create Collection
#[utoipa::path(post, path = "/v1/collections", tag = "Collections",
    request_body = CreateCollectionRequest,
    responses((status = 200, body = CollectionResponse), (status = 400, body = ErrorResponse),
              (status = 422, body = HttpValidationError)))]
async fn create_collection(
    State(state): State<AppState>,
    scope: NamespaceScope,
    JsonBody(req): JsonBody<CreateCollectionRequest>,
) -> ApiResult<Json<CollectionResponse>> {
    let ns = scope.namespace.key;
    check_taxonomy_applications(&state, ns, req.taxonomy_applications.as_ref(), None).await?;
    let Some(config) = req.feature_extractor.clone() else {
        return Err(ApiError::Validation(vec![FieldError {
            loc: body_loc(&["feature_extractor"]),
            msg: "Field required".into(),
            kind: "missing",
        }]));
    };
    let extractor = find_extractor(&state, &config)?;
    let mut given = config.parameters.clone().unwrap_or_default();
    given.extend(config.params.clone().unwrap_or_default());
    let resolved = extractor.resolve_parameters(&given).map_err(|errors| {
        ApiError::Validation(
            errors
                .into_iter()
                .map(|e| {
                    let mut loc = body_loc(&["feature_extractor", "parameters"]);
                    loc.extend(e.loc.into_iter().map(Loc::Key));
                    FieldError {
                        loc,
                        msg: e.msg,
                        kind: e.kind,
                    }
                })
                .collect(),
        )
    })?;
    let (source, source_schema) = resolve_source(&state, ns, &req.source).await?;
    let input_schema = req.input_schema.clone().or(source_schema);

    // The extractor's input must come from somewhere the source has.
    let input_name = match extractor.input_kind() {
        InputKind::Text => "text",
        InputKind::Image => "image",
    };
    let pipeline_config: ferry_pipeline::CollectionConfig = from_json(
        "feature_extractor",
        &json!({"feature_extractor_name": config.feature_extractor_name, "version": config.version,
                "input_mappings": to_json(&config.input_mappings)?}),
    )?;
    let path = pipeline_config.input_path(input_name);
    if let Some(schema) = &input_schema {
        let root = path.split('.').next().unwrap_or(&path);
        if !schema.properties.contains_key(root) {
            let known: Vec<&str> = schema.properties.keys().map(String::as_str).collect();
            return Err(ApiError::Validation(vec![FieldError {
                loc: body_loc(&["feature_extractor", "input_mappings", input_name]),
                msg: format!(
                    "Value error, '{path}' is not a field of the source (fields: {}); map the \
                     extractor's '{input_name}' input to one",
                    known.join(", ")
                ),
                kind: "value_error",
            }]));
        }
    }

    let mut stored_config = FeatureExtractorConfigOutput::from(config.clone());
    stored_config.parameters = Some(resolved.clone());
    stored_config.params = None;
    let output = output_schema(
        extractor.as_ref(),
        &config,
        &resolved,
        input_schema.as_ref(),
    )?;
    let collection = state
        .store
        .create_collection(
            ns,
            None,
            CollectionFields {
                collection_name: req.collection_name.clone(),
                description: req.description.clone(),
                source: to_json(&source)?,
                feature_extractor: to_json(&stored_config)?,
                extractor_name: config.feature_extractor_name.clone(),
                extractor_version: config.version.clone(),
                input_schema: input_schema.as_ref().map(to_json).transpose()?,
                output_schema: to_json(&output)?,
                vector_indexes: to_json(&ferry_extract::collection::vector_indexes(
                    extractor.as_ref(),
                    &resolved,
                ))?,
                taxonomy_applications: req
                    .taxonomy_applications
                    .as_ref()
                    .map(to_json)
                    .transpose()?,
                cluster_applications: req.cluster_applications.as_ref().map(to_json).transpose()?,
                metadata: req.metadata.as_ref().map(to_json).transpose()?,
                enabled: req.enabled,
            },
        )
        .await?;
    Ok(Json(collection_response(collection)?))
}

/// Get Collection (by id or name)
#[utoipa::path(get, path = "/v1/collections/{collection_identifier}", tag = "Collections",
    params(("collection_identifier" = String, Path)),
    responses((status = 200, body = CollectionResponse), (status = 404, body = ErrorResponse)))]
async fn get_collection(
    InNamespace(state, scope, identifier): InNamespace<String>,
) -> ApiResult<Json<CollectionResponse>> {
    let collection = state
        .store
        .get_collection(scope.namespace.key, &identifier)
        .await?;
    Ok(Json(collection_response(collection)?))
}

/// Patch Collection: name, description, enabled, metadata, taxonomy and cluster applications.
#[utoipa::path(patch, path = "/v1/collections/{collection_identifier}", tag = "Collections",
    params(("collection_identifier" = String, Path)), request_body = PatchCollectionRequest,
    responses((status = 200, body = CollectionResponse), (status = 404, body = ErrorResponse),
              (status = 422, body = HttpValidationError)))]
async fn patch_collection(
    InNamespace(state, scope, identifier): InNamespace<String>,
    JsonBody(req): JsonBody<PatchCollectionRequest>,
) -> ApiResult<Json<CollectionResponse>> {
    if req.taxonomy_applications.is_some() {
        let current = state
            .store
            .get_collection(scope.namespace.key, &identifier)
            .await?;
        check_taxonomy_applications(
            &state,
            scope.namespace.key,
            req.taxonomy_applications.as_ref(),
            Some(&current.collection_id),
        )
        .await?;
    }
    let taxonomies = req
        .taxonomy_applications
        .as_ref()
        .map(to_json)
        .transpose()?;
    let clusters = req.cluster_applications.as_ref().map(to_json).transpose()?;
    let metadata = req.metadata.as_ref().map(to_json).transpose()?;
    let collection = state
        .store
        .update_collection(scope.namespace.key, &identifier, |c| {
            if let Some(name) = &req.collection_name {
                c.collection_name = name.clone();
            }
            if let Some(d) = &req.description {
                c.description = Some(d.clone());
            }
            if let Some(e) = req.enabled {
                c.enabled = e;
            }
            if taxonomies.is_some() {
                c.taxonomy_applications = taxonomies.clone();
            }
            if clusters.is_some() {
                c.cluster_applications = clusters.clone();
            }
            if metadata.is_some() {
                c.metadata = metadata.clone();
            }
        })
        .await?;
    Ok(Json(collection_response(collection)?))
}

/// Delete Collection and its documents. Refused while another collection reads from it.
#[utoipa::path(delete, path = "/v1/collections/{collection_identifier}", tag = "Collections",
    params(("collection_identifier" = String, Path)),
    responses((status = 200, body = DeleteCollectionResponse), (status = 400, body = ErrorResponse),
              (status = 404, body = ErrorResponse)))]
async fn delete_collection(
    InNamespace(state, scope, identifier): InNamespace<String>,
) -> ApiResult<Json<DeleteCollectionResponse>> {
    let ns = scope.namespace.key;
    let target = state.store.get_collection(ns, &identifier).await?;
    for other in state.store.all_collections(ns).await? {
        let reads_it = other.fields.source["collection_id"] == target.collection_id.as_str()
            || other.fields.source["collection_ids"]
                .as_array()
                .is_some_and(|ids| ids.iter().any(|id| id == target.collection_id.as_str()));
        if reads_it {
            return Err(bad_request(
                ErrorCode::CollectionInUse,
                format!(
                    "Collection '{}' is the source of collection '{}'; delete that one first",
                    target.collection_id, other.collection_id
                ),
                json!({"collection_id": target.collection_id, "dependent_collection_id": other.collection_id}),
            ));
        }
    }
    let deleted = state
        .store
        .delete_collection(ns, &target.collection_id)
        .await?;
    Ok(Json(DeleteCollectionResponse {
        success: true,
        message: format!("Collection '{}' deleted", deleted.fields.collection_name),
        collection_id: deleted.collection_id,
        collection_name: deleted.fields.collection_name,
    }))
}

/// List Collections
#[utoipa::path(post, path = "/v1/collections/list", tag = "Collections", params(PageQuery),
    request_body = ListCollectionsRequest,
    responses((status = 200, body = ListCollectionsResponse), (status = 422, body = HttpValidationError)))]
fn list_collections() -> MethodRouter<AppState> {
    listing::post::<CollectionList>()
}

/// List Collections (query parameters only)
#[utoipa::path(get, path = "/v1/collections", tag = "Collections", params(PageQuery, ListCollectionsQuery),
    responses((status = 200, body = ListCollectionsResponse), (status = 422, body = HttpValidationError)))]
fn list_collections_get() -> MethodRouter<AppState> {
    listing::get::<CollectionList>()
}

struct CollectionList;

impl ListRoute for CollectionList {
    type Scope = NamespaceScope;
    type Query = NoQuery;
    type GetQuery = ListCollectionsQuery;
    type Body = ListCollectionsRequest;
    type Response = ListCollectionsResponse;

    async fn list(
        state: AppState,
        scope: NamespaceScope,
        request: ListRequest<Self>,
    ) -> ApiResult<ListCollectionsResponse> {
        let body = &request.body;
        if body.filters.is_some() {
            return Err(ApiError::Validation(vec![FieldError {
                loc: body_loc(&["filters"]),
                msg: "Value error, filters on collections are not supported; use search or sort"
                    .into(),
                kind: "value_error",
            }]));
        }
        let (page, query) = request.named(sorts::COLLECTIONS)?;
        let (collections, total) = state
            .store
            .list_collections(scope.namespace.key, &query)
            .await?;
        let mut stats = CollectionListStats::default();
        let mut results = Vec::with_capacity(collections.len());
        for c in collections {
            stats.total_documents += c.document_count;
            stats.total_feature_extractors += 1;
            if c.fields
                .taxonomy_applications
                .as_ref()
                .and_then(Value::as_array)
                .is_some_and(|a| !a.is_empty())
            {
                stats.collections_with_taxonomies += 1;
            }
            results.push(collection_response(c)?);
        }
        if !results.is_empty() {
            stats.avg_documents_per_collection =
                stats.total_documents as f64 / results.len() as f64;
        }
        Ok(ListCollectionsResponse {
            pagination: page.pagination(results.len(), total),
            total_count: total,
            results,
            stats,
        })
    }
}

/// How many collections deep the source chain goes (1 for a bucket-fed collection).
async fn tiers(state: &AppState, ns: NamespaceKey, collection: &Collection) -> ApiResult<i64> {
    let mut depth = 1;
    let mut current = collection.clone();
    while let Some(upstream) = current.fields.source["collection_id"]
        .as_str()
        .map(str::to_owned)
    {
        current = state.store.get_collection(ns, &upstream).await?;
        depth += 1;
        if depth > 64 {
            break;
        }
    }
    Ok(depth)
}

/// Trigger Collection: process the collection's source into documents, as a task. A trigger
/// while one is pending or running returns that one.
#[utoipa::path(post, path = "/v1/collections/{collection_identifier}/trigger", tag = "Collections",
    params(("collection_identifier" = String, Path)), request_body = TriggerCollectionRequest,
    responses((status = 202, body = TriggerCollectionResponse), (status = 404, body = ErrorResponse)))]
async fn trigger_collection(
    InNamespace(state, scope, identifier): InNamespace<String>,
    JsonBody(_req): JsonBody<TriggerCollectionRequest>,
) -> ApiResult<(StatusCode, Json<TriggerCollectionResponse>)> {
    let ns = scope.namespace.key;
    let collection = state.store.get_collection(ns, &identifier).await?;
    let source: SourceConfig = from_json("source", &collection.fields.source)?;
    let running = state
        .store
        .active_tasks(ns, TRIGGER_TASK)
        .await?
        .into_iter()
        .find(|t| t.inputs["collection_id"] == collection.collection_id.as_str());
    let (task, message) = match running {
        Some(task) => (
            task,
            "A trigger for this collection is already queued or running",
        ),
        None => {
            let task = state
                .store
                .create_task(
                    &scope.org.internal_id,
                    Some(ns),
                    TRIGGER_TASK,
                    &json!({"collection_id": collection.collection_id,
                            "namespace_id": scope.namespace.namespace_id}),
                )
                .await?;
            (task, "Collection processing queued")
        }
    };
    let mut object_count = None;
    let mut document_count = None;
    if let Some(buckets) = &source.bucket_ids {
        let mut n = 0;
        for b in buckets {
            n += state.store.get_bucket(ns, b).await?.object_count;
        }
        object_count = Some(n);
    } else {
        let mut n = 0;
        for c in source
            .collection_id
            .iter()
            .chain(source.collection_ids.iter().flatten())
        {
            n += state.store.get_collection(ns, c).await?.document_count;
        }
        document_count = Some(n);
    }
    Ok((
        StatusCode::ACCEPTED,
        Json(TriggerCollectionResponse {
            batch_id: None,
            task_id: task.task_id,
            total_tiers: tiers(&state, ns, &collection).await?,
            collection_id: collection.collection_id,
            source_bucket_ids: source.bucket_ids.clone(),
            source_collection_ids: source
                .collection_id
                .clone()
                .map(|c| vec![c])
                .or(source.collection_ids.clone()),
            object_count,
            document_count,
            message: message.into(),
        }),
    ))
}
