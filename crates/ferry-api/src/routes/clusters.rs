//! `/v1/clusters…` (X-Namespace scoped): create, get, list, patch, delete, execute, and the
//! execution history.
//!
//! Creating a cluster checks its references (every input collection exists and carries the
//! feature to cluster); executing one resolves the feature to each collection's stored vector
//! names into a [`ClusterPlan`] and queues it as an `engine_cluster_build` task that the
//! pipeline workers run (see `ferry_pipeline`).

use crate::extract::Path;
use axum::extract::State;
use axum::routing::{get, post};
use axum::{Json, Router};
use ferry_pipeline::{ClusterDefinition as Definition, CLUSTER_TASK};
use ferry_store::{
    Cluster, ClusterExecution, ClusterFields, ClusterListQuery, ClusterSortKey, ExecutionListQuery,
    NamespaceKey, StoreError,
};
use ferry_wire::cluster::{
    ClusterExecutionCentroid, ClusterExecutionListStats, ClusterExecutionMetrics,
    ClusterExecutionResult, ClusterListStats, ClusterMetadata, ClusterModel, ClusterType,
    ClusteringAlgorithm, CreateClusterRequest, DeleteClusterResponse, ExecuteClusterByIdRequest,
    ListClusterExecutionsRequest, ListClusterExecutionsResponse, ListClustersRequest,
    ListClustersResponse, PatchClusterRequest,
};
use ferry_wire::filter::LogicalOperator;
use ferry_wire::namespace::SortDirection;
use ferry_wire::paging::PageQuery;
use ferry_wire::task::TaskResponse;
use ferry_wire::{ErrorResponse, FieldError, HttpValidationError, Validate};
use serde::Deserialize;
use serde_json::{json, Map, Value};
use utoipa::IntoParams;

use crate::error::{bad_request, body_loc, ApiError, ApiResult};
use crate::extract::{JsonBody, NamespaceScope, QueryParams};
use crate::filtered::refuse_list_filters;
use crate::json::{from_json, to_json, wire_enum};
use crate::paging::{sort_key, BodyPaging, Page};
use crate::routes::cluster_inputs::{kmeans_params, only_feature_uri, resolve_inputs};
use crate::routes::tasks::task_response;
use crate::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/clusters", post(create_cluster).get(list_clusters_get))
        .route("/v1/clusters/list", post(list_clusters))
        .route(
            "/v1/clusters/{cluster_identifier}",
            get(get_cluster).patch(patch_cluster).delete(delete_cluster),
        )
        // The SDK names this segment `cluster_id` on these paths; the router keeps one name
        // per segment, and ids and names are both accepted.
        .route(
            "/v1/clusters/{cluster_identifier}/execute",
            post(execute_cluster),
        )
        .route(
            "/v1/clusters/{cluster_identifier}/executions",
            get(get_latest_execution),
        )
        .route(
            "/v1/clusters/{cluster_identifier}/executions/list",
            post(list_executions),
        )
        .route(
            "/v1/clusters/{cluster_identifier}/executions/{run_id}",
            get(get_execution),
        )
}

/// Refuses a pre-filter: clustering a subset silently as if it were everything would be wrong.
fn refuse_filters(given: bool) -> ApiResult<()> {
    if given {
        return Err(bad_request(
            "cluster_filters_unsupported",
            "Ferry clusters every document of the input collections; pre-filters are not \
             supported"
                .into(),
            json!({}),
        ));
    }
    Ok(())
}

fn definition(cluster: &Cluster) -> ApiResult<Definition> {
    from_json("cluster definition", &cluster.fields.definition)
}

fn object(value: Option<&Value>) -> Option<Map<String, Value>> {
    value.and_then(Value::as_object).cloned()
}

fn cluster_metadata(cluster: Cluster, namespace_id: &str) -> ApiResult<ClusterMetadata> {
    let def = definition(&cluster)?;
    let time = |t: Option<i64>| t.map(ferry_store::time::from_micros);
    let s = &cluster.summary;
    Ok(ClusterMetadata {
        cluster_id: Some(cluster.cluster_id.clone()),
        cluster_name: cluster.fields.cluster_name.clone(),
        description: cluster.fields.description.clone(),
        namespace_id: namespace_id.to_owned(),
        input_collections: cluster.fields.input_collections.clone(),
        source_cluster_ids: None,
        source_bucket_ids: None,
        filters: None,
        cluster_type: "vector".into(),
        feature_uris: Some(def.vector_config.resolved_feature_uris()),
        multi_feature_strategy: Some(def.vector_config.multi_feature_strategy.clone()),
        effective_feature_method: Some(def.vector_config.effective_feature_method.clone()),
        sample_size: def.vector_config.sample_size,
        vis_n_components: Some(def.vector_config.vis_n_components),
        layout_stability: def.vector_config.layout_stability.clone(),
        output_collection_ids: Some(cluster.fields.input_collections.clone()),
        algorithm: Some("kmeans".into()),
        algorithm_params: object(Some(&to_json(&def.kmeans)?)),
        enrich_source: true,
        num_clusters: s.num_clusters,
        num_documents_clustered: s.num_documents_clustered,
        execution_time_seconds: s.execution_time_seconds,
        quality_metrics: object(s.quality_metrics.as_ref()),
        hierarchy_detected: false,
        status: s
            .status
            .as_deref()
            .map(|st| wire_enum("status", st))
            .transpose()?,
        error: s.error.clone(),
        last_execution_task_id: s.last_task_id.clone(),
        last_run_id: s.last_run_id.clone(),
        created_at: time(Some(cluster.created_at)),
        updated_at: time(Some(cluster.updated_at)),
        last_executed_at: time(s.last_executed_at),
        completed_at: time(s.completed_at),
        metadata: object(cluster.fields.metadata.as_ref()),
    })
}

/// Create Cluster
#[utoipa::path(post, path = "/v1/clusters", tag = "Clusters",
    request_body = CreateClusterRequest,
    responses((status = 200, body = ClusterMetadata), (status = 400, body = ErrorResponse),
              (status = 422, body = HttpValidationError)))]
async fn create_cluster(
    State(state): State<AppState>,
    scope: NamespaceScope,
    JsonBody(req): JsonBody<CreateClusterRequest>,
) -> ApiResult<Json<ClusterMetadata>> {
    let ns = scope.namespace.key;
    if req.cluster_type == Some(ClusterType::Attribute) || req.attribute_config.is_some() {
        return Err(bad_request(
            "cluster_type_unsupported",
            "Ferry runs vector clustering only; attribute clustering is not supported".into(),
            json!({"cluster_type": "attribute"}),
        ));
    }
    if req.source_cluster_ids.is_some() {
        return Err(bad_request(
            "composite_cluster_unsupported",
            "Composite clusters (source_cluster_ids) are not supported".into(),
            json!({}),
        ));
    }
    refuse_filters(req.filters.as_ref().is_some_and(|f| !f.is_empty()))?;
    let Some(mut config) = req.vector_config.clone() else {
        return Err(ApiError::Validation(vec![FieldError {
            loc: body_loc(&["vector_config"]),
            msg: "Field required".into(),
            kind: "missing",
        }]));
    };
    if !matches!(
        config.clustering_method,
        ClusteringAlgorithm::Kmeans | ClusteringAlgorithm::Auto
    ) {
        return Err(bad_request(
            "clustering_method_unsupported",
            format!(
                "Ferry clusters with k-means; clustering_method {} is not supported",
                to_json(&config.clustering_method)?
            ),
            json!({"clustering_method": config.clustering_method, "supported": ["kmeans", "auto"]}),
        ));
    }
    if config.multi_feature_strategy != "concatenate" {
        return Err(bad_request(
            "multi_feature_strategy_unsupported",
            "Ferry concatenates several features (multi_feature_strategy 'concatenate')".into(),
            json!({"multi_feature_strategy": config.multi_feature_strategy}),
        ));
    }
    let kmeans = kmeans_params(
        config.kmeans_parameters.as_ref(),
        config.algorithm_params.as_ref(),
        &["vector_config", "algorithm_params"],
    )?;
    let collection_ids = req.collection_ids.clone().unwrap_or_default();
    let mut feature_uris = config.resolved_feature_uris();
    if feature_uris.is_empty() {
        feature_uris = only_feature_uri(&state, ns, &collection_ids).await?;
    }
    let inputs = resolve_inputs(&state, ns, &collection_ids, &feature_uris).await?;
    config.clustering_method = ClusteringAlgorithm::Kmeans;
    config.feature_uris = Some(feature_uris);
    config.feature_uri = None;
    config.kmeans_parameters = Some(kmeans.clone());
    let def = Definition {
        vector_config: config,
        kmeans,
        llm_labeling: req.llm_labeling.clone(),
        enrich_source_collection: req.enrich_source_collection,
        source_enrichment_config: req.source_enrichment_config.clone(),
        auto_execute_on_batch: req.auto_execute_on_batch,
        auto_execute_min_documents: req.auto_execute_min_documents,
        auto_execute_cooldown_seconds: req.auto_execute_cooldown_seconds,
    };
    let cluster_id = ferry_store::ids::new_id("clust");
    let cluster = state
        .store
        .create_cluster(
            ns,
            Some(cluster_id.clone()),
            ClusterFields {
                // A cluster without a name is called by its id.
                cluster_name: req.cluster_name.clone().unwrap_or(cluster_id),
                description: req.description.clone(),
                input_collections: inputs.into_iter().map(|c| c.collection_id).collect(),
                definition: to_json(&def)?,
                metadata: req.metadata.clone().map(Value::Object),
            },
        )
        .await?;
    Ok(Json(cluster_metadata(
        cluster,
        &scope.namespace.namespace_id,
    )?))
}

/// Get Cluster (by id or name)
#[utoipa::path(get, path = "/v1/clusters/{cluster_identifier}", tag = "Clusters",
    params(("cluster_identifier" = String, Path)),
    responses((status = 200, body = ClusterMetadata), (status = 404, body = ErrorResponse)))]
async fn get_cluster(
    State(state): State<AppState>,
    scope: NamespaceScope,
    Path(identifier): Path<String>,
) -> ApiResult<Json<ClusterMetadata>> {
    let cluster = state
        .store
        .get_cluster(scope.namespace.key, &identifier)
        .await?;
    Ok(Json(cluster_metadata(
        cluster,
        &scope.namespace.namespace_id,
    )?))
}

/// Patch Cluster: name, description, metadata, and the parameters of later executions.
#[utoipa::path(patch, path = "/v1/clusters/{cluster_identifier}", tag = "Clusters",
    params(("cluster_identifier" = String, Path)), request_body = PatchClusterRequest,
    responses((status = 200, body = ClusterModel), (status = 400, body = ErrorResponse),
              (status = 404, body = ErrorResponse), (status = 422, body = HttpValidationError)))]
async fn patch_cluster(
    State(state): State<AppState>,
    scope: NamespaceScope,
    Path(identifier): Path<String>,
    JsonBody(req): JsonBody<PatchClusterRequest>,
) -> ApiResult<Json<ClusterModel>> {
    let ns = scope.namespace.key;
    if req.source_cluster_ids.is_some() {
        return Err(bad_request(
            "composite_cluster_unsupported",
            "Composite clusters (source_cluster_ids) are not supported".into(),
            json!({}),
        ));
    }
    refuse_filters(req.filters.as_ref().is_some_and(|f| !f.is_empty()))?;
    let current = state.store.get_cluster(ns, &identifier).await?;
    let mut def = definition(&current)?;
    if let Some(overrides) = &req.algorithm_params {
        def.kmeans = kmeans_params(Some(&def.kmeans), Some(overrides), &["algorithm_params"])?;
        def.vector_config.kmeans_parameters = Some(def.kmeans.clone());
        def.vector_config.algorithm_params = Some(overrides.clone());
    }
    if let Some(size) = req.sample_size {
        def.vector_config.sample_size = Some(size);
    }
    if req.llm_labeling.is_some() {
        def.llm_labeling = req.llm_labeling.clone();
    }
    let stored = to_json(&def)?;
    let cluster = state
        .store
        .update_cluster(ns, &current.cluster_id, |c| {
            if let Some(name) = &req.cluster_name {
                c.cluster_name = name.clone();
            }
            if let Some(d) = &req.description {
                c.description = Some(d.clone());
            }
            if let Some(m) = &req.metadata {
                c.metadata = Some(Value::Object(m.clone()));
            }
            c.definition = stored.clone();
        })
        .await?;
    let parquet_path = match &cluster.summary.last_run_id {
        Some(run) => match state
            .store
            .get_cluster_execution(ns, &cluster.cluster_id, run)
            .await
        {
            Ok(execution) => execution.artifact_key,
            Err(StoreError::NotFound { .. }) => None,
            Err(e) => return Err(e.into()),
        },
        None => None,
    };
    let def = definition(&cluster)?;
    Ok(Json(ClusterModel {
        collection_ids: Some(cluster.fields.input_collections.clone()),
        source_cluster_ids: None,
        cluster_name: Some(cluster.fields.cluster_name.clone()),
        description: cluster.fields.description.clone(),
        metadata: object(cluster.fields.metadata.as_ref()),
        cluster_type: Some(ClusterType::Vector),
        vector_config: Some(def.vector_config),
        attribute_config: None,
        filters: None,
        llm_labeling: def.llm_labeling,
        enrich_source_collection: def.enrich_source_collection,
        source_enrichment_config: def.source_enrichment_config,
        auto_execute_on_batch: def.auto_execute_on_batch,
        auto_execute_min_documents: def.auto_execute_min_documents,
        auto_execute_cooldown_seconds: def.auto_execute_cooldown_seconds,
        cluster_id: Some(cluster.cluster_id.clone()),
        members_key: parquet_path.clone(),
        parquet_path,
        num_clusters: cluster.summary.num_clusters,
        cluster_stats: None,
        status: cluster
            .summary
            .status
            .as_deref()
            .map(|st| wire_enum("status", st))
            .transpose()?,
        task_id: cluster.summary.last_task_id.clone(),
        last_run_id: cluster.summary.last_run_id.clone(),
        created_at: Some(ferry_store::time::from_micros(cluster.created_at)),
        updated_at: Some(ferry_store::time::from_micros(cluster.updated_at)),
    }))
}

/// Delete Cluster and its execution history. Assignments already written stay on the
/// documents.
#[utoipa::path(delete, path = "/v1/clusters/{cluster_id}", tag = "Clusters",
    params(("cluster_id" = String, Path)),
    responses((status = 200, body = DeleteClusterResponse), (status = 404, body = ErrorResponse)))]
async fn delete_cluster(
    State(state): State<AppState>,
    scope: NamespaceScope,
    Path(identifier): Path<String>,
) -> ApiResult<Json<DeleteClusterResponse>> {
    let deleted = state
        .store
        .delete_cluster(scope.namespace.key, &identifier)
        .await?;
    Ok(Json(DeleteClusterResponse {
        success: true,
        message: format!("Cluster '{}' deleted", deleted.fields.cluster_name),
        cluster_id: deleted.cluster_id,
    }))
}

/// Query parameters of `GET /v1/clusters` beyond paging.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
pub struct ListClustersQuery {
    pub search: Option<String>,
}

impl Validate for ListClustersQuery {
    fn validate(&self, _errors: &mut ferry_wire::Errors) {}
}

/// List Clusters
#[utoipa::path(post, path = "/v1/clusters/list", tag = "Clusters", params(PageQuery),
    request_body = ListClustersRequest,
    responses((status = 200, body = ListClustersResponse), (status = 422, body = HttpValidationError)))]
async fn list_clusters(
    State(state): State<AppState>,
    scope: NamespaceScope,
    QueryParams(query): QueryParams<PageQuery>,
    JsonBody(body): JsonBody<ListClustersRequest>,
) -> ApiResult<Json<ListClustersResponse>> {
    list(&state, &scope, &query, &body).await.map(Json)
}

/// List Clusters (query parameters only)
#[utoipa::path(get, path = "/v1/clusters", tag = "Clusters", params(PageQuery, ListClustersQuery),
    responses((status = 200, body = ListClustersResponse), (status = 422, body = HttpValidationError)))]
async fn list_clusters_get(
    State(state): State<AppState>,
    scope: NamespaceScope,
    QueryParams(query): QueryParams<PageQuery>,
    QueryParams(extra): QueryParams<ListClustersQuery>,
) -> ApiResult<Json<ListClustersResponse>> {
    let body = ListClustersRequest {
        search: extra.search,
        ..Default::default()
    };
    list(&state, &scope, &query, &body).await.map(Json)
}

async fn list(
    state: &AppState,
    scope: &NamespaceScope,
    query: &PageQuery,
    body: &ListClustersRequest,
) -> ApiResult<ListClustersResponse> {
    refuse_list_filters(body.filters.as_ref(), "clusters")?;
    let page = Page::resolve(
        query,
        BodyPaging {
            limit: body.limit,
            page_size: body.page_size,
            offset: body.offset,
            page: body.page,
        },
    )?;
    let sort = sort_key(
        body.sorts.as_ref(),
        body.sort.as_ref(),
        &[
            ("created_at", ClusterSortKey::CreatedAt),
            ("updated_at", ClusterSortKey::UpdatedAt),
            ("cluster_name", ClusterSortKey::ClusterName),
        ],
    )?;
    let (clusters, total) = state
        .store
        .list_clusters(
            scope.namespace.key,
            &ClusterListQuery {
                search: body.search.clone(),
                sort,
                limit: page.limit,
                offset: page.offset,
            },
        )
        .await?;
    let mut stats = ClusterListStats::default();
    let mut by_status: Map<String, Value> = Map::new();
    let mut results = Vec::with_capacity(clusters.len());
    for c in clusters {
        stats.total_clusters += 1;
        stats.total_documents += c.summary.num_documents_clustered.unwrap_or(0);
        if let Some(status) = &c.summary.status {
            let n = by_status.get(status).and_then(Value::as_i64).unwrap_or(0);
            by_status.insert(status.clone(), (n + 1).into());
        }
        results.push(cluster_metadata(c, &scope.namespace.namespace_id)?);
    }
    if stats.total_clusters > 0 {
        stats.avg_documents_per_cluster =
            stats.total_documents as f64 / stats.total_clusters as f64;
    }
    stats.clusters_by_status = Some(by_status);
    Ok(ListClustersResponse {
        pagination: page.pagination(results.len(), total),
        total_count: total,
        results,
        stats: Some(stats),
    })
}

/// Execute Clustering: queue a full k-means run as an `engine_cluster_build` task; poll it
/// at `/v1/tasks/{task_id}`. While a run of the cluster is queued or running, that run's task
/// is returned instead.
#[utoipa::path(post, path = "/v1/clusters/{cluster_id}/execute", tag = "Clusters",
    params(("cluster_id" = String, Path)), request_body = ExecuteClusterByIdRequest,
    responses((status = 200, body = TaskResponse), (status = 400, body = ErrorResponse),
              (status = 404, body = ErrorResponse)))]
async fn execute_cluster(
    State(state): State<AppState>,
    scope: NamespaceScope,
    Path(identifier): Path<String>,
    JsonBody(req): JsonBody<ExecuteClusterByIdRequest>,
) -> ApiResult<Json<TaskResponse>> {
    let ns = scope.namespace.key;
    if req.mode != "full" {
        return Err(bad_request(
            "execution_mode_unsupported",
            format!(
                "Ferry runs mode 'full' only; mode '{}' is not supported",
                req.mode
            ),
            json!({"mode": req.mode}),
        ));
    }
    refuse_filters(req.filters.as_ref().is_some_and(|f| !f.is_empty()))?;
    let cluster = state.store.get_cluster(ns, &identifier).await?;
    // Two runs of one cluster at once would race to write `cluster_id`; the second request
    // gets the run already queued, as a repeated collection trigger does.
    let running = state
        .store
        .active_tasks(ns, CLUSTER_TASK)
        .await?
        .into_iter()
        .find(|t| t.inputs["cluster_id"] == cluster.cluster_id.as_str());
    if let Some(task) = running {
        return Ok(Json(task_response(task)?));
    }
    let def = definition(&cluster)?;
    let feature_uris = def.vector_config.resolved_feature_uris();
    let collections =
        resolve_inputs(&state, ns, &cluster.fields.input_collections, &feature_uris).await?;
    let plan = def.plan(
        &cluster.cluster_id,
        &scope.namespace.namespace_id,
        collections,
        req.sample_size.map(|s| s as usize),
    );
    let (task, _run) = state
        .store
        .start_cluster_execution(
            &scope.org.internal_id,
            ns,
            &cluster.cluster_id,
            CLUSTER_TASK,
            to_json(&plan)?,
        )
        .await?;
    Ok(Json(task_response(task)?))
}

/// Query parameters of the single-execution GETs.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
pub struct ExecutionQuery {
    /// Include each centroid's vector.
    pub include_vectors: Option<bool>,
}

impl Validate for ExecutionQuery {
    fn validate(&self, _errors: &mut ferry_wire::Errors) {}
}

fn execution_result(
    run: ClusterExecution,
    include_vectors: bool,
) -> ApiResult<ClusterExecutionResult> {
    let centroids = match &run.centroids {
        Some(Value::Array(items)) => {
            let mut out = Vec::with_capacity(items.len());
            for item in items {
                let mut centroid: ClusterExecutionCentroid = from_json("centroid", item)?;
                if !include_vectors {
                    centroid.centroid_vector = None;
                }
                out.push(centroid);
            }
            Some(out)
        }
        _ => None,
    };
    let count = |key: &str| run.metrics.as_ref().and_then(|m| m[key].as_i64());
    let metrics: Option<ClusterExecutionMetrics> = run
        .metrics
        .as_ref()
        .map(|m| from_json("metrics", m))
        .transpose()?;
    Ok(ClusterExecutionResult {
        source_documents: count("source_documents"),
        vectors_retrieved: count("vectors_retrieved"),
        vectors_clustered: run.metrics.as_ref().map(|_| run.num_points),
        run_id: run.run_id,
        cluster_id: run.cluster_id,
        status: run.status,
        num_clusters: run.num_clusters,
        num_points: run.num_points,
        metrics,
        member_counts_stale: false,
        centroids,
        created_at: ferry_store::time::from_micros(run.created_at),
        completed_at: run.completed_at.map(ferry_store::time::from_micros),
        error_message: run.error_message,
        mode: Some("full".into()),
    })
}

/// The cluster's id, after checking it exists in this namespace (404 otherwise).
async fn cluster_id_of(state: &AppState, ns: NamespaceKey, identifier: &str) -> ApiResult<String> {
    Ok(state.store.get_cluster(ns, identifier).await?.cluster_id)
}

/// Get Cluster Execution: the latest run.
#[utoipa::path(get, path = "/v1/clusters/{cluster_id}/executions", tag = "Cluster Executions",
    params(("cluster_id" = String, Path), ExecutionQuery),
    responses((status = 200, body = ClusterExecutionResult), (status = 404, body = ErrorResponse)))]
async fn get_latest_execution(
    State(state): State<AppState>,
    scope: NamespaceScope,
    Path(identifier): Path<String>,
    QueryParams(query): QueryParams<ExecutionQuery>,
) -> ApiResult<Json<ClusterExecutionResult>> {
    let ns = scope.namespace.key;
    let cluster_id = cluster_id_of(&state, ns, &identifier).await?;
    let (mut runs, _) = state
        .store
        .list_cluster_executions(
            ns,
            &cluster_id,
            &ExecutionListQuery {
                status: None,
                search: None,
                descending: true,
                limit: 1,
                offset: 0,
            },
        )
        .await?;
    let run = runs.pop().ok_or_else(|| ApiError::NotFound {
        resource: "execution",
        id: cluster_id.clone(),
    })?;
    Ok(Json(execution_result(
        run,
        query.include_vectors.unwrap_or(false),
    )?))
}

/// Get Cluster Execution by run id.
#[utoipa::path(get, path = "/v1/clusters/{cluster_id}/executions/{run_id}", tag = "Cluster Executions",
    params(("cluster_id" = String, Path), ("run_id" = String, Path), ExecutionQuery),
    responses((status = 200, body = ClusterExecutionResult), (status = 404, body = ErrorResponse)))]
async fn get_execution(
    State(state): State<AppState>,
    scope: NamespaceScope,
    Path((identifier, run_id)): Path<(String, String)>,
    QueryParams(query): QueryParams<ExecutionQuery>,
) -> ApiResult<Json<ClusterExecutionResult>> {
    let ns = scope.namespace.key;
    let cluster_id = cluster_id_of(&state, ns, &identifier).await?;
    let run = state
        .store
        .get_cluster_execution(ns, &cluster_id, &run_id)
        .await?;
    Ok(Json(execution_result(
        run,
        query.include_vectors.unwrap_or(false),
    )?))
}

/// The `status` an execution-history filter asks for: `{"status": "…"}` shorthand or one
/// `eq` condition on `status`; anything else is refused.
fn status_filter(filters: Option<&LogicalOperator>) -> ApiResult<Option<String>> {
    let Some(filters) = filters.filter(|f| !f.is_empty()) else {
        return Ok(None);
    };
    let refused = || {
        ApiError::Validation(vec![FieldError {
            loc: body_loc(&["filters"]),
            msg: "Value error, execution history filters on 'status' (eq) only".into(),
            kind: "value_error",
        }])
    };
    let as_json = to_json(filters)?;
    if let Some(status) = as_json
        .as_object()
        .filter(|m| m.len() == 1)
        .and_then(|m| m.get("status"))
        .and_then(Value::as_str)
    {
        return Ok(Some(status.to_owned()));
    }
    match as_json["AND"].as_array().map(Vec::as_slice) {
        Some([only]) if only["field"] == "status" && only["operator"] == "eq" => only["value"]
            .as_str()
            .map(|s| Some(s.to_owned()))
            .ok_or_else(refused),
        _ => Err(refused()),
    }
}

/// List Cluster Executions, newest first unless sorted otherwise.
#[utoipa::path(post, path = "/v1/clusters/{cluster_id}/executions/list", tag = "Cluster Executions",
    params(("cluster_id" = String, Path), PageQuery), request_body = ListClusterExecutionsRequest,
    responses((status = 200, body = ListClusterExecutionsResponse), (status = 404, body = ErrorResponse),
              (status = 422, body = HttpValidationError)))]
async fn list_executions(
    State(state): State<AppState>,
    scope: NamespaceScope,
    Path(identifier): Path<String>,
    QueryParams(query): QueryParams<PageQuery>,
    JsonBody(body): JsonBody<ListClusterExecutionsRequest>,
) -> ApiResult<Json<ListClusterExecutionsResponse>> {
    let ns = scope.namespace.key;
    let cluster_id = cluster_id_of(&state, ns, &identifier).await?;
    let page = Page::resolve(&query, BodyPaging::default())?;
    let descending = match &body.sort {
        None => true,
        Some(s) if s.field == "created_at" => s.direction() == SortDirection::Desc,
        Some(_) => {
            return Err(ApiError::Validation(vec![FieldError {
                loc: body_loc(&["sort", "field"]),
                msg: "Input should be 'created_at'".into(),
                kind: "enum",
            }]))
        }
    };
    let (runs, total) = state
        .store
        .list_cluster_executions(
            ns,
            &cluster_id,
            &ExecutionListQuery {
                status: status_filter(body.filters.as_ref())?,
                search: body.search.clone(),
                descending,
                limit: page.limit,
                offset: page.offset,
            },
        )
        .await?;
    let mut stats = ClusterExecutionListStats::default();
    let mut by_status: Map<String, Value> = Map::new();
    let mut finished_ms = Vec::new();
    let mut results = Vec::with_capacity(runs.len());
    for run in runs {
        stats.total_executions += 1;
        stats.total_documents_clustered += run.num_points;
        stats.avg_num_clusters += run.num_clusters as f64;
        let n = by_status
            .get(&run.status)
            .and_then(Value::as_i64)
            .unwrap_or(0);
        by_status.insert(run.status.clone(), (n + 1).into());
        if let Some(done) = run.completed_at {
            finished_ms.push((done - run.created_at) as f64 / 1000.0);
        }
        results.push(execution_result(run, false)?);
    }
    if stats.total_executions > 0 {
        stats.avg_num_clusters /= stats.total_executions as f64;
    }
    if !finished_ms.is_empty() {
        stats.avg_execution_time_ms = finished_ms.iter().sum::<f64>() / finished_ms.len() as f64;
    }
    stats.executions_by_status = Some(by_status);
    Ok(Json(ListClusterExecutionsResponse {
        pagination: page.pagination(results.len(), total),
        total_count: total,
        results,
        stats: Some(stats),
    }))
}
