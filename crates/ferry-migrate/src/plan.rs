//! Validation and planning (DESIGN §3 Validation, Filters): reads the source namespace's
//! resources, selects what the filters ask for, places it in the dependency graph, and checks
//! the configuration against the source and target. The result is what `validate` answers,
//! what `create` stores, and what the engine later runs from (the stored graph), so the plan
//! a user saw is the plan that runs.

use std::collections::BTreeMap;

use ferry_store::{Namespace, NamespaceKey, Store, StoreError, StoreResult};
use ferry_wire::migration::{
    DependencyGraph, DependencyNode, MigrationConfig, MigrationType, ResourceType, ValidationIssue,
    ValidationResult,
};
use ferry_wire::Loc;
use serde_json::Value;

use crate::graph::{self, GraphError, Node, ResourceKind, Selection};

/// Items (objects and documents) a copy moves per second, from the migration bench on the
/// reference machine (37–45k documents/s at 100k documents on either store, rounded down for
/// objects, which are copied row by row); the duration estimate divides by it.
pub const ESTIMATED_ITEMS_PER_SECOND: f64 = 30_000.0;

/// Most resources of one type a plan reads from a namespace.
const MAX_RESOURCES: i64 = 10_000;

/// Everything validation found, and the plan when there is one.
#[derive(Debug, Clone)]
pub struct Planned {
    pub result: ValidationResult,
    pub graph: Option<DependencyGraph>,
    /// The source namespace, when it exists.
    pub source: Option<Namespace>,
}

pub fn wire_type(kind: ResourceKind) -> ResourceType {
    match kind {
        ResourceKind::Bucket => ResourceType::Bucket,
        ResourceKind::Collection => ResourceType::Collection,
        ResourceKind::Retriever => ResourceType::Retriever,
        ResourceKind::Taxonomy => ResourceType::Taxonomy,
        ResourceKind::Cluster => ResourceType::Cluster,
    }
}

/// The collection ids a collection's `source` reads from, or its bucket ids.
pub fn source_ids(source: &Value) -> Vec<String> {
    let list = |key: &str| -> Vec<String> {
        source
            .get(key)
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    };
    let mut ids = list("bucket_ids");
    ids.extend(list("collection_ids"));
    if let Some(id) = source.get("collection_id").and_then(Value::as_str) {
        ids.push(id.to_owned());
    }
    ids
}

/// Every resource of the namespace as a graph node, with the counts of items to move.
pub async fn source_nodes(
    store: &Store,
    ns: NamespaceKey,
) -> StoreResult<(Vec<Node>, BTreeMap<String, i64>)> {
    let mut nodes = Vec::new();
    let mut items = BTreeMap::new();
    let (buckets, _) = store
        .list_buckets(
            ns,
            &ferry_store::BucketListQuery {
                bucket_id: None,
                bucket_name: None,
                search: None,
                case_sensitive: false,
                sort: None,
                limit: MAX_RESOURCES,
                offset: 0,
            },
        )
        .await?;
    for b in buckets {
        items.insert(b.bucket_id.clone(), b.object_count);
        nodes.push(Node {
            kind: ResourceKind::Bucket,
            id: b.bucket_id,
            created_at: b.created_at,
            dependencies: vec![],
        });
    }
    for c in store.all_collections(ns).await? {
        items.insert(c.collection_id.clone(), c.document_count);
        nodes.push(Node {
            kind: ResourceKind::Collection,
            dependencies: source_ids(&c.fields.source),
            id: c.collection_id,
            created_at: c.created_at,
        });
    }
    let (retrievers, _) = store
        .list_retrievers(
            ns,
            &ferry_store::RetrieverListQuery {
                search: None,
                case_sensitive: false,
                sort: None,
                limit: MAX_RESOURCES,
                offset: 0,
            },
        )
        .await?;
    for r in retrievers {
        nodes.push(Node {
            kind: ResourceKind::Retriever,
            dependencies: r.fields.collection_ids.clone(),
            id: r.retriever_id,
            created_at: r.created_at,
        });
    }
    let (taxonomies, _) = store
        .list_taxonomies(
            ns,
            &ferry_store::TaxonomyListQuery {
                search: None,
                case_sensitive: false,
                sort: None,
                limit: MAX_RESOURCES,
                offset: 0,
            },
        )
        .await?;
    for t in taxonomies {
        nodes.push(Node {
            kind: ResourceKind::Taxonomy,
            dependencies: vec![
                t.fields.retriever_id.clone(),
                t.fields.source_collection_id.clone(),
            ],
            id: t.taxonomy_id,
            created_at: t.created_at,
        });
    }
    let (clusters, _) = store
        .list_clusters(
            ns,
            &ferry_store::ClusterListQuery {
                search: None,
                sort: None,
                limit: MAX_RESOURCES,
                offset: 0,
            },
        )
        .await?;
    for c in clusters {
        nodes.push(Node {
            kind: ResourceKind::Cluster,
            dependencies: c.fields.input_collections.clone(),
            id: c.cluster_id,
            created_at: c.created_at,
        });
    }
    Ok((nodes, items))
}

fn key(k: &str) -> Loc {
    Loc::Key(k.to_owned())
}

/// The explicit selection of `config.filters`, with the location of each id.
fn selection(config: &MigrationConfig) -> (Selection, Vec<(ResourceKind, String, Vec<Loc>)>) {
    let filters = config.filters_or_default();
    let mut located = Vec::new();
    for (field, kind, ids) in [
        (
            "collection_ids",
            ResourceKind::Collection,
            &filters.collection_ids,
        ),
        (
            "taxonomy_ids",
            ResourceKind::Taxonomy,
            &filters.taxonomy_ids,
        ),
        ("cluster_ids", ResourceKind::Cluster, &filters.cluster_ids),
        (
            "retriever_ids",
            ResourceKind::Retriever,
            &filters.retriever_ids,
        ),
    ] {
        for (i, id) in ids.iter().flatten().enumerate() {
            located.push((
                kind,
                id.clone(),
                vec![key("config"), key("filters"), key(field), Loc::Index(i)],
            ));
        }
    }
    let any = [
        &filters.collection_ids,
        &filters.taxonomy_ids,
        &filters.cluster_ids,
        &filters.retriever_ids,
    ]
    .iter()
    .any(|ids| ids.is_some());
    let selection = Selection {
        explicit: any.then(|| located.iter().map(|(k, id, _)| (*k, id.clone())).collect()),
        auto_include_dependencies: filters.auto_include_dependencies,
    };
    (selection, located)
}

fn target_name(source: &Namespace, config: &MigrationConfig, existing: i64) -> String {
    let kind = config.migration_type.as_str();
    format!("{}_{kind}_{}", source.namespace_name, existing + 1)
}

/// Validates `config` for organization `org` and plans it.
pub async fn validate(store: &Store, org: &str, config: &MigrationConfig) -> StoreResult<Planned> {
    let mut errors: Vec<ValidationIssue> = Vec::new();
    let mut warnings: Vec<ValidationIssue> = Vec::new();
    let source = match store.get_namespace(org, &config.source_namespace_id).await {
        Ok(ns) => Some(ns),
        Err(StoreError::NotFound { .. }) => {
            errors.push(
                ValidationIssue::error(
                    "source_namespace_not_found",
                    format!(
                        "Source namespace '{}' does not exist",
                        config.source_namespace_id
                    ),
                )
                .at([key("config"), key("source_namespace_id")]),
            );
            None
        }
        Err(e) => return Err(e),
    };

    match config.migration_type {
        MigrationType::Copy => {}
        other => errors.push(
            ValidationIssue::error(
                "migration_type_not_supported",
                format!(
                    "Ferry runs 'copy' migrations; '{}' is not available yet",
                    other.as_str()
                ),
            )
            .at([key("config"), key("migration_type")]),
        ),
    }
    // Options whose effect is not built yet are refused rather than silently ignored.
    if config.cluster_options_or_default().recompute_clusters {
        errors.push(
            ValidationIssue::error(
                "recompute_clusters_not_supported",
                "Recomputing clusters in the target is not available yet; copy them instead",
            )
            .at([
                key("config"),
                key("cluster_options"),
                key("recompute_clusters"),
            ]),
        );
    }
    if config.feature_extractors.is_some() && config.migration_type != MigrationType::ReExtract {
        errors.push(
            ValidationIssue::error(
                "feature_extractors_not_allowed",
                "feature_extractors applies to re_extract migrations only",
            )
            .at([key("config"), key("feature_extractors")]),
        );
    }
    // The target of a copy must not exist.
    if config.migration_type != MigrationType::Extend {
        if let Some(id) = &config.target_namespace_id {
            if store.get_namespace(org, id).await.is_ok() {
                errors.push(
                    ValidationIssue::error(
                        "namespace_id_taken",
                        format!("Target namespace '{id}' already exists"),
                    )
                    .at([key("config"), key("target_namespace_id")]),
                );
            }
        }
        if let Some(name) = &config.target_namespace_name {
            if store.get_namespace(org, name).await.is_ok() {
                errors.push(
                    ValidationIssue::error(
                        "namespace_name_taken",
                        format!("A namespace named '{name}' already exists"),
                    )
                    .at([key("config"), key("target_namespace_name")]),
                );
            }
        }
    }

    let mut graph = None;
    let mut estimated_resources = BTreeMap::new();
    let mut estimated_duration_seconds = None;
    if let Some(source) = &source {
        let (nodes, items) = source_nodes(store, source.key).await?;
        let (selection, located) = selection(config);
        match graph::plan(&nodes, &selection) {
            Ok(planned) => {
                let moved: i64 = planned
                    .nodes
                    .iter()
                    .filter_map(|p| items.get(&p.node.id))
                    .sum();
                estimated_duration_seconds =
                    Some((moved as f64 / ESTIMATED_ITEMS_PER_SECOND).ceil() as i64 + 1);
                for (kind, n) in graph::counts(&planned) {
                    estimated_resources.insert(wire_type(kind), n as u64);
                }
                // A copy's target is new: a taxonomy there needs its reference collection.
                if !config
                    .taxonomy_options_or_default()
                    .migrate_reference_collections
                {
                    for p in planned
                        .nodes
                        .iter()
                        .filter(|p| p.node.kind == ResourceKind::Taxonomy)
                    {
                        errors.push(
                            ValidationIssue::error(
                                "reference_collection_required",
                                format!(
                                    "Taxonomy '{}' cannot work in a new namespace without its \
                                     reference collection; set \
                                     taxonomy_options.migrate_reference_collections or leave \
                                     the taxonomy out",
                                    p.node.id
                                ),
                            )
                            .at([
                                key("config"),
                                key("taxonomy_options"),
                                key("migrate_reference_collections"),
                            ])
                            .about(ResourceType::Taxonomy, p.node.id.clone()),
                        );
                    }
                }
                if planned.nodes.is_empty() {
                    warnings.push(ValidationIssue::warning(
                        "EMPTY_SELECTION",
                        "The source namespace has no resources to migrate",
                    ));
                }
                graph = Some(DependencyGraph {
                    nodes: planned
                        .nodes
                        .iter()
                        .map(|p| DependencyNode {
                            resource_id: p.node.id.clone(),
                            resource_type: wire_type(p.node.kind),
                            dependencies: p.node.dependencies.clone(),
                            tier: p.tier as u32,
                        })
                        .collect(),
                    execution_order: planned.execution_order,
                });
            }
            Err(graph_errors) => {
                for e in graph_errors {
                    errors.push(match e {
                        GraphError::UnknownResource { kind, id } => {
                            let loc = located
                                .iter()
                                .find(|(k, i, _)| *k == kind && *i == id)
                                .map(|(_, _, l)| l.clone())
                                .unwrap_or_else(|| vec![key("config"), key("filters")]);
                            ValidationIssue::error(
                                "resource_not_found",
                                format!(
                                    "{} '{id}' does not exist in the source namespace",
                                    kind.as_str()
                                ),
                            )
                            .at(loc)
                            .about(wire_type(kind), id)
                        }
                        GraphError::MissingDependency {
                            resource,
                            kind,
                            missing,
                        } => ValidationIssue::error(
                            "missing_dependency",
                            format!(
                                "{} '{resource}' depends on '{missing}', which is not selected \
                                 (set auto_include_dependencies or select it)",
                                kind.as_str()
                            ),
                        )
                        .at([key("config"), key("filters")])
                        .about(wire_type(kind), resource),
                        GraphError::Cycle(ids) => ValidationIssue::error(
                            "dependency_cycle",
                            format!("Dependency cycle: {}", ids.join(" -> ")),
                        ),
                    });
                }
            }
        }
    }
    let result = ValidationResult {
        valid: errors.is_empty(),
        errors,
        warnings,
        estimated_resources,
        estimated_duration_seconds,
    };
    Ok(Planned {
        result,
        graph,
        source,
    })
}

/// The name a copy's target gets: the configured one, or `<source>_<type>_<n>` with the
/// first `n` no namespace of the organization has.
pub async fn resolve_target_name(
    store: &Store,
    org: &str,
    source: &Namespace,
    config: &MigrationConfig,
) -> StoreResult<String> {
    if let Some(name) = &config.target_namespace_name {
        return Ok(name.clone());
    }
    for n in 0..10_000 {
        let name = target_name(source, config, n);
        match store.get_namespace(org, &name).await {
            Err(StoreError::NotFound { .. }) => return Ok(name),
            Err(e) => return Err(e),
            Ok(_) => continue,
        }
    }
    Err(StoreError::Conflict {
        code: "namespace_name_taken",
        message: "no free target namespace name".into(),
    })
}
