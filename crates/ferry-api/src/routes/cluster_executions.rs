//! `/v1/clusters/{id}/execute` and the execution history (X-Namespace scoped).
//!
//! Executing a cluster resolves the feature to each collection's stored vector names into a
//! `ClusterPlan` and queues it as an `engine_cluster_build` task that the pipeline workers run
//! (see `ferry_pipeline`); each run is recorded as an execution.

use axum::routing::{get, post, MethodRouter};
use axum::{Json, Router};
use ferry_pipeline::CLUSTER_TASK;
use ferry_store::{ClusterExecution, HistoryQuery, NamespaceKey};
use ferry_wire::cluster::{
    ClusterExecutionCentroid, ClusterExecutionListStats, ClusterExecutionMetrics,
    ClusterExecutionResult, ExecuteClusterByIdRequest, ListClusterExecutionsRequest,
    ListClusterExecutionsResponse,
};
use ferry_wire::paging::PageQuery;
use ferry_wire::task::TaskResponse;
use ferry_wire::{ErrorCode, ErrorResponse, HttpValidationError, Validate};
use serde::Deserialize;
use serde_json::{json, Map, Value};
use utoipa::IntoParams;

use crate::error::{bad_request, ApiError, ApiResult};
use crate::extract::{InNamespace, JsonBody, NamespaceScope, Path, QueryParams};
use crate::filtered::status_filter;
use crate::json::{from_json, to_json};
use crate::listing::{self, ListRequest, ListRoute, NoQuery};
use crate::paging::newest_first;
use crate::routes::cluster_inputs::resolve_inputs;
use crate::routes::clusters::{definition, refuse_filters};
use crate::routes::tasks::task_response;
use crate::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
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
            list_executions(),
        )
        .route(
            "/v1/clusters/{cluster_identifier}/executions/{run_id}",
            get(get_execution),
        )
}

/// Execute Clustering: queue a full k-means run as an `engine_cluster_build` task; poll it
/// at `/v1/tasks/{task_id}`. While a run of the cluster is queued or running, that run's task
/// is returned instead.
#[utoipa::path(post, path = "/v1/clusters/{cluster_id}/execute", tag = "Clusters",
    params(("cluster_id" = String, Path)), request_body = ExecuteClusterByIdRequest,
    responses((status = 200, body = TaskResponse), (status = 400, body = ErrorResponse),
              (status = 404, body = ErrorResponse)))]
async fn execute_cluster(
    InNamespace(state, scope, identifier): InNamespace<String>,
    JsonBody(req): JsonBody<ExecuteClusterByIdRequest>,
) -> ApiResult<Json<TaskResponse>> {
    let ns = scope.namespace.key;
    if req.mode != "full" {
        return Err(bad_request(
            ErrorCode::ExecutionModeUnsupported,
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
    InNamespace(state, scope, identifier): InNamespace<String>,
    QueryParams(query): QueryParams<ExecutionQuery>,
) -> ApiResult<Json<ClusterExecutionResult>> {
    let ns = scope.namespace.key;
    let cluster_id = cluster_id_of(&state, ns, &identifier).await?;
    let (mut runs, _) = state
        .store
        .list_cluster_executions(
            ns,
            &cluster_id,
            &HistoryQuery {
                descending: true,
                limit: 1,
                offset: 0,
                ..Default::default()
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
    InNamespace(state, scope, (identifier, run_id)): InNamespace<(String, String)>,
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

/// List Cluster Executions, newest first unless sorted otherwise.
#[utoipa::path(post, path = "/v1/clusters/{cluster_id}/executions/list", tag = "Cluster Executions",
    params(("cluster_id" = String, Path), PageQuery), request_body = ListClusterExecutionsRequest,
    responses((status = 200, body = ListClusterExecutionsResponse), (status = 404, body = ErrorResponse),
              (status = 422, body = HttpValidationError)))]
fn list_executions() -> MethodRouter<AppState> {
    listing::post::<ExecutionList>()
}

struct ExecutionList;

impl ListRoute for ExecutionList {
    type Scope = (NamespaceScope, Path<String>);
    type Query = NoQuery;
    type GetQuery = NoQuery;
    type Body = ListClusterExecutionsRequest;
    type Response = ListClusterExecutionsResponse;

    async fn list(
        state: AppState,
        (scope, Path(identifier)): (NamespaceScope, Path<String>),
        request: ListRequest<Self>,
    ) -> ApiResult<ListClusterExecutionsResponse> {
        let ns = scope.namespace.key;
        let cluster_id = cluster_id_of(&state, ns, &identifier).await?;
        let page = request.page()?;
        let body = request.body;
        let descending = newest_first(body.sort.as_ref(), &["sort", "field"])?;
        let (runs, total) = state
            .store
            .list_cluster_executions(
                ns,
                &cluster_id,
                &HistoryQuery {
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
            stats.avg_execution_time_ms =
                finished_ms.iter().sum::<f64>() / finished_ms.len() as f64;
        }
        stats.executions_by_status = Some(by_status);
        Ok(ListClusterExecutionsResponse {
            pagination: page.pagination(results.len(), total),
            total_count: total,
            results,
            stats: Some(stats),
        })
    }
}
