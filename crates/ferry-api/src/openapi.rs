//! `GET /openapi.json`: the document describing what this server serves.

use std::sync::OnceLock;

use axum::Json;
use serde_json::{json, Map, Value};
use utoipa::OpenApi;

use crate::routes::{
    aliases, buckets, cluster_executions, clusters, collection_indexes, collections, cutover,
    documents, evaluations, extractors, health, interactions, migrations, namespaces, objects,
    retriever_executions, retrievers, tasks, taxonomies,
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
        aliases::create_alias,
        aliases::get_alias,
        aliases::update_alias,
        aliases::delete_alias,
        aliases::list_aliases,
        aliases::list_aliases_get,
        cutover::cutover_alias,
        cutover::roll_back_alias,
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
        collection_indexes::get_collection_indexes,
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
        cluster_executions::execute_cluster,
        cluster_executions::get_latest_execution,
        cluster_executions::get_execution,
        cluster_executions::list_executions,
        retrievers::create_retriever,
        retrievers::get_retriever,
        retrievers::patch_retriever,
        retrievers::delete_retriever,
        retrievers::list_retrievers,
        retrievers::list_retrievers_get,
        retriever_executions::execute_retriever,
        retriever_executions::get_execution,
        retriever_executions::list_executions,
        interactions::create_interaction,
        interactions::get_interaction,
        interactions::delete_interaction,
        interactions::list_interactions,
        evaluations::create_evaluation,
        evaluations::list_evaluations_get,
        evaluations::list_evaluations,
        evaluations::get_evaluation,
        evaluations::delete_evaluation,
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
    components(schemas(
        ferry_wire::namespace::ListView,
        ferry_wire::evaluation::benchmark::RetrieverBenchmark,
    )),
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

/// Paths anyone may call without a key (see `extract::Authenticated`'s callers): health and the
/// extractor registry, which the SDK reads without a key.
const PUBLIC_PATH_PREFIXES: [&str; 3] = [
    "/v1/health",
    "/v1/collections/features/extractors",
    "/openapi.json",
];

/// Path prefixes whose operations are scoped by `X-Namespace` and so can answer 400
/// `namespace_required` and 404 for an unknown namespace.
const NAMESPACE_SCOPED_PREFIXES: [&str; 6] = [
    "/v1/buckets",
    "/v1/collections",
    "/v1/retrievers",
    "/v1/taxonomies",
    "/v1/clusters",
    "/v1/namespaces/{namespace_identifier}",
];

/// The served document, built once: utoipa's output with the responses every operation can
/// really give added, so a client (or a fuzzer) validating against it sees no surprise.
pub fn document() -> &'static Value {
    static DOCUMENT: OnceLock<Value> = OnceLock::new();
    DOCUMENT.get_or_init(|| {
        let mut doc = serde_json::to_value(ApiDoc::openapi()).unwrap_or(Value::Null);
        complete_responses(&mut doc);
        mark_extensions(&mut doc);
        open_flattened_schemas(&mut doc);
        doc
    })
}

pub async fn serve() -> Json<&'static Value> {
    Json(document())
}

/// Operations Ferry serves beyond Mixpeek's API (path prefixes), and the schemas only they
/// (and the benchmark report in a migration's `additional_data`) use. Each is marked
/// `x-ferry-extension: true`, so a reader can tell the spec's contract from Ferry's own.
const EXTENSION_PATH_PREFIXES: [&str; 3] = [
    "/v1/namespaces/aliases",
    "/v1/retrievers/{retriever_id}/evaluations",
    "/v1/collections/{collection_identifier}/indexes",
];
const EXTENSION_SCHEMAS: [&str; 29] = [
    "CutoverRequest",
    "CutoverThresholds",
    "CutoverResponse",
    "GateCheck",
    "CatchUpReport",
    "RollbackResponse",
    "CreateAliasRequest",
    "UpdateAliasRequest",
    "NamespaceAlias",
    "AliasTarget",
    "AliasAction",
    "ListAliasesRequest",
    "ListAliasesResponse",
    "DeleteAliasResponse",
    "CollectionIndexesResponse",
    "CollectionIndexStatus",
    "IndexStateName",
    "CreateEvaluationRequest",
    "EvaluationQuery",
    "RelevantItem",
    "EvaluationSet",
    "ListEvaluationsRequest",
    "ListEvaluationsResponse",
    "DeleteEvaluationResponse",
    "RetrieverBenchmark",
    "EvaluationSetBenchmark",
    "InteractionBenchmark",
    "RetrievalFigures",
    "QueryRegression",
];

fn mark_extensions(doc: &mut Value) {
    if let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) {
        for (path, item) in paths.iter_mut() {
            if !EXTENSION_PATH_PREFIXES.iter().any(|p| path.starts_with(p)) {
                continue;
            }
            for operation in item
                .as_object_mut()
                .into_iter()
                .flat_map(|i| i.values_mut())
            {
                if let Some(operation) = operation.as_object_mut() {
                    operation.insert("x-ferry-extension".into(), Value::Bool(true));
                }
            }
        }
    }
    if let Some(schemas) = doc
        .pointer_mut("/components/schemas")
        .and_then(Value::as_object_mut)
    {
        for name in EXTENSION_SCHEMAS {
            if let Some(schema) = schemas.get_mut(name).and_then(Value::as_object_mut) {
                schema.insert("x-ferry-extension".into(), Value::Bool(true));
            }
        }
    }
}

fn response_ref(schema: &str) -> Value {
    json!({"description": "", "content": {"application/json": {"schema": {
        "$ref": format!("#/components/schemas/{schema}")}}}})
}

/// Adds what the shared extractors can answer on any operation: 401 for a missing or bad key
/// (public operations instead say they need no security), 422 for a malformed body, query or
/// path, 404 where a path or `X-Namespace` names something, 400 for a missing `X-Namespace`.
fn complete_responses(doc: &mut Value) {
    let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) else {
        return;
    };
    for (path, item) in paths.iter_mut() {
        let Some(item) = item.as_object_mut() else {
            continue;
        };
        let public = PUBLIC_PATH_PREFIXES.iter().any(|p| path.starts_with(p));
        let scoped = !public
            && NAMESPACE_SCOPED_PREFIXES
                .iter()
                .any(|p| path.starts_with(p));
        for operation in item.values_mut().filter_map(Value::as_object_mut) {
            if public {
                operation.insert("security".into(), json!([]));
            }
            let Some(responses) = operation
                .get_mut("responses")
                .and_then(Value::as_object_mut)
            else {
                continue;
            };
            let mut add = |status: &str, schema: &str| {
                responses
                    .entry(status)
                    .or_insert_with(|| response_ref(schema));
            };
            add("422", "HTTPValidationError");
            if !public {
                add("401", "ErrorResponse");
            }
            if path.contains('{') || scoped {
                add("404", "ErrorResponse");
            }
            if scoped {
                add("400", "ErrorResponse");
            }
        }
    }
}

/// utoipa renders `#[serde(flatten)]` of a struct that denies unknown fields as `allOf` of that
/// closed schema and the outer fields, which no value can satisfy. Such an `allOf` becomes one
/// object with the properties and required names of all its parts.
fn open_flattened_schemas(doc: &mut Value) {
    let Some(schemas) = doc
        .pointer("/components/schemas")
        .and_then(Value::as_object)
        .cloned()
    else {
        return;
    };
    let resolve = |part: &Value| -> Value {
        match part.get("$ref").and_then(Value::as_str) {
            Some(reference) => reference
                .strip_prefix("#/components/schemas/")
                .and_then(|name| schemas.get(name))
                .cloned()
                .unwrap_or(Value::Null),
            None => part.clone(),
        }
    };
    let Some(targets) = doc
        .pointer_mut("/components/schemas")
        .and_then(Value::as_object_mut)
    else {
        return;
    };
    for schema in targets.values_mut() {
        let Some(parts) = schema.get("allOf").and_then(Value::as_array) else {
            continue;
        };
        let resolved: Vec<Value> = parts.iter().map(resolve).collect();
        let closed = resolved
            .iter()
            .any(|p| p.get("additionalProperties") == Some(&Value::Bool(false)));
        if !closed || resolved.iter().any(|p| p.get("properties").is_none()) {
            continue;
        }
        let mut properties = Map::new();
        let mut required = Vec::new();
        for part in &resolved {
            if let Some(props) = part.get("properties").and_then(Value::as_object) {
                properties.extend(props.clone());
            }
            if let Some(names) = part.get("required").and_then(Value::as_array) {
                required.extend(names.iter().cloned());
            }
        }
        let mut merged = Map::new();
        merged.insert("type".into(), "object".into());
        merged.insert("properties".into(), Value::Object(properties));
        merged.insert("required".into(), Value::Array(required));
        if let Some(description) = schema.get("description") {
            merged.insert("description".into(), description.clone());
        }
        *schema = Value::Object(merged);
    }
}
