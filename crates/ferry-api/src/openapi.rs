//! `GET /openapi.json`: the document describing what this server serves.

use axum::Json;
use utoipa::OpenApi;

use crate::routes::{
    buckets, clusters, collections, documents, extractors, health, interactions, migrations,
    namespaces, objects, retrievers, tasks, taxonomies,
};

#[derive(OpenApi)]
#[openapi(
    info(title = "Ferry", description = "Mixpeek-compatible retrieval warehouse with namespace migrations."),
    paths(
        health::health,
        health::liveness,
        namespaces::create_namespace,
        namespaces::get_namespace,
        namespaces::patch_namespace,
        namespaces::update_namespace,
        namespaces::delete_namespace,
        namespaces::list_namespaces,
        namespaces::list_namespaces_get,
        buckets::create_bucket,
        buckets::get_bucket,
        buckets::patch_bucket,
        buckets::update_bucket,
        buckets::delete_bucket,
        buckets::list_buckets,
        buckets::list_buckets_get,
        objects::create_object,
        objects::create_objects_batch,
        objects::get_object,
        objects::patch_object,
        objects::update_object,
        objects::delete_object,
        objects::list_objects,
        objects::list_objects_get,
        extractors::list_feature_extractors,
        extractors::get_feature_extractor,
        collections::create_collection,
        collections::get_collection,
        collections::patch_collection,
        collections::delete_collection,
        collections::list_collections,
        collections::list_collections_get,
        collections::trigger_collection,
        documents::create_document,
        documents::get_document,
        documents::patch_document,
        documents::delete_document,
        documents::list_documents,
        documents::list_documents_get,
        tasks::get_task,
        tasks::list_tasks,
        clusters::create_cluster,
        clusters::get_cluster,
        clusters::patch_cluster,
        clusters::delete_cluster,
        clusters::list_clusters,
        clusters::list_clusters_get,
        clusters::execute_cluster,
        clusters::get_latest_execution,
        clusters::get_execution,
        clusters::list_executions,
        retrievers::create_retriever,
        retrievers::get_retriever,
        retrievers::patch_retriever,
        retrievers::delete_retriever,
        retrievers::list_retrievers,
        retrievers::list_retrievers_get,
        retrievers::execute_retriever,
        retrievers::get_execution,
        retrievers::list_executions,
        interactions::create_interaction,
        interactions::get_interaction,
        interactions::delete_interaction,
        interactions::list_interactions,
        taxonomies::create_taxonomy,
        taxonomies::get_taxonomy,
        taxonomies::patch_taxonomy,
        taxonomies::delete_taxonomy,
        taxonomies::create_version,
        taxonomies::list_versions,
        taxonomies::list_taxonomies,
        taxonomies::list_taxonomies_get,
        taxonomies::apply_taxonomy,
        migrations::create_migration,
        migrations::validate_migration,
        migrations::list_migrations,
        migrations::get_migration,
        migrations::start_migration,
        migrations::cancel_migration,
        migrations::delete_migration,
    ),
    modifiers(&BearerAuth),
    security(("BearerAuth" = []))
)]
pub struct ApiDoc;

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "BearerAuth",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

pub async fn serve() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}
