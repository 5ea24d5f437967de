//! `/v1/clusters…` (X-Namespace scoped): create, get, list, patch and delete; executing one
//! and its execution history are in [`super::cluster_executions`].
//!
//! Creating a cluster checks its references: every input collection exists and carries the
//! feature to cluster.

use axum::extract::State;
use axum::routing::{get, post, MethodRouter};
use axum::{Json, Router};
use ferry_pipeline::ClusterDefinition as Definition;
use ferry_store::{sorts, Cluster, ClusterFields, StoreError};
use ferry_wire::cluster::{
    ClusterListStats, ClusterMetadata, ClusterModel, ClusterType, ClusteringAlgorithm,
    CreateClusterRequest, DeleteClusterResponse, ListClustersRequest, ListClustersResponse,
    PatchClusterRequest,
};
use ferry_wire::paging::PageQuery;
use ferry_wire::{ErrorCode, ErrorResponse, FieldError, HttpValidationError};
use serde_json::{json, Map, Value};

use crate::error::{bad_request, body_loc, ApiError, ApiResult};
use crate::extract::{InNamespace, JsonBody, NamespaceScope};
use crate::filtered::refuse_list_filters;
use crate::json::{from_json, to_json, wire_enum};
use crate::listing::{self, ListRequest, ListRoute, NoQuery, SearchQuery};
use crate::routes::cluster_inputs::{kmeans_params, only_feature_uri, resolve_inputs};
use crate::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/v1/clusters",
            post(create_cluster).merge(list_clusters_get()),
        )
        .route("/v1/clusters/list", list_clusters())
        .route(
            "/v1/clusters/{cluster_identifier}",
            get(get_cluster).patch(patch_cluster).delete(delete_cluster),
        )
        .merge(super::cluster_executions::router())
}

/// Refuses a pre-filter: clustering a subset silently as if it were everything would be wrong.
/// What a cluster's create and patch refuse alike: composite clusters (`source_cluster_ids`)
/// and pre-filters.
fn refuse_unsupported(composite: bool, filtered: bool) -> ApiResult<()> {
    if composite {
        return Err(bad_request(
            ErrorCode::CompositeClusterUnsupported,
            "Composite clusters (source_cluster_ids) are not supported".into(),
            json!({}),
        ));
    }
    refuse_filters(filtered)
}

pub(super) fn refuse_filters(given: bool) -> ApiResult<()> {
    if given {
        return Err(bad_request(
            ErrorCode::ClusterFiltersUnsupported,
            "Ferry clusters every document of the input collections; pre-filters are not \
             supported"
                .into(),
            json!({}),
        ));
    }
    Ok(())
}

pub(super) fn definition(cluster: &Cluster) -> ApiResult<Definition> {
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
            ErrorCode::ClusterTypeUnsupported,
            "Ferry runs vector clustering only; attribute clustering is not supported".into(),
            json!({"cluster_type": "attribute"}),
        ));
    }
    let filtered = req.filters.as_ref().is_some_and(|f| !f.is_empty());
    refuse_unsupported(req.source_cluster_ids.is_some(), filtered)?;
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
            ErrorCode::ClusteringMethodUnsupported,
            format!(
                "Ferry clusters with k-means; clustering_method {} is not supported",
                to_json(&config.clustering_method)?
            ),
            json!({"clustering_method": config.clustering_method, "supported": ["kmeans", "auto"]}),
        ));
    }
    if config.multi_feature_strategy != "concatenate" {
        return Err(bad_request(
            ErrorCode::MultiFeatureStrategyUnsupported,
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
    InNamespace(state, scope, identifier): InNamespace<String>,
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
    InNamespace(state, scope, identifier): InNamespace<String>,
    JsonBody(req): JsonBody<PatchClusterRequest>,
) -> ApiResult<Json<ClusterModel>> {
    let ns = scope.namespace.key;
    let filtered = req.filters.as_ref().is_some_and(|f| !f.is_empty());
    refuse_unsupported(req.source_cluster_ids.is_some(), filtered)?;
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
    InNamespace(state, scope, identifier): InNamespace<String>,
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

/// List Clusters
#[utoipa::path(post, path = "/v1/clusters/list", tag = "Clusters", params(PageQuery),
    request_body = ListClustersRequest,
    responses((status = 200, body = ListClustersResponse), (status = 422, body = HttpValidationError)))]
fn list_clusters() -> MethodRouter<AppState> {
    listing::post::<ClusterList>()
}

/// List Clusters (query parameters only)
#[utoipa::path(get, path = "/v1/clusters", tag = "Clusters", params(PageQuery, SearchQuery),
    responses((status = 200, body = ListClustersResponse), (status = 422, body = HttpValidationError)))]
fn list_clusters_get() -> MethodRouter<AppState> {
    listing::get::<ClusterList>()
}

struct ClusterList;

impl ListRoute for ClusterList {
    type Scope = NamespaceScope;
    type Query = NoQuery;
    type GetQuery = SearchQuery;
    type Body = ListClustersRequest;
    type Response = ListClustersResponse;

    async fn list(
        state: AppState,
        scope: NamespaceScope,
        request: ListRequest<Self>,
    ) -> ApiResult<ListClustersResponse> {
        let body = &request.body;
        refuse_list_filters(body.filters.as_ref(), "clusters")?;
        let (page, query) = request.named(sorts::CLUSTERS)?;
        let (clusters, total) = state
            .store
            .list_clusters(scope.namespace.key, &query)
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
}
