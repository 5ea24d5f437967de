//! Validation and planning: reads the source namespace's
//! resources, selects what the filters ask for, places it in the dependency graph, and checks
//! the configuration against the source and target. The result is what `validate` answers,
//! what `create` stores, and what the engine later runs from (the stored graph), so the plan
//! a user saw is the plan that runs.

use std::collections::BTreeMap;

use ferry_extract::Registry;
use ferry_store::{Namespace, NamespaceKey, SourceKind, Store, StoreError, StoreResult};
use ferry_wire::migration::{
    DependencyGraph, DependencyNode, IssueSeverity, MigrationConfig, MigrationType, ResourceType,
    ValidationIssue, ValidationResult,
};
use ferry_wire::Loc;

use crate::error::{corrupt, MigrateError};
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

/// A started migration's configuration and plan, as stored.
pub fn stored_plan(
    migration: &ferry_store::MigrationRecord,
) -> Result<(MigrationConfig, DependencyGraph), MigrateError> {
    let config: MigrationConfig =
        serde_json::from_value(migration.config.clone()).map_err(corrupt("config"))?;
    let graph: DependencyGraph = migration
        .dependency_graph
        .clone()
        .map(serde_json::from_value)
        .transpose()
        .map_err(corrupt("dependency graph"))?
        .ok_or_else(|| MigrateError::Corrupt("the migration has no plan".into()))?;
    Ok((config, graph))
}

/// What an `extend` continues from: the latest completed migration from the same source
/// into the same target, the resources it mapped, and how it derived item ids.
#[derive(Debug, Clone)]
pub struct ExtendBase {
    pub migration_id: String,
    pub map: crate::ids::IdMap,
}

/// The base of an extend from `source` into `target`, if an earlier migration made one.
pub async fn extend_base(
    store: &Store,
    org: &str,
    source: &str,
    target: &str,
) -> StoreResult<Option<ExtendBase>> {
    let Some(base) = store.last_completed_migration(org, source, target).await? else {
        return Ok(None);
    };
    Ok(Some(ExtendBase {
        migration_id: base.migration_id().to_owned(),
        map: crate::ids::IdMap::load(store, &base).await?,
    }))
}

/// Source items an earlier migration copied into `target` that the source has deleted since:
/// per bucket or collection, how many and a sample of target ids; deleted when `apply`.
pub async fn source_deletions(
    store: &Store,
    base: &ExtendBase,
    source: NamespaceKey,
    target: NamespaceKey,
    graph: &DependencyGraph,
    apply: bool,
) -> StoreResult<Vec<(String, i64, Vec<String>)>> {
    let mut found = Vec::new();
    let Some(tag) = base.map.items.tag.as_deref() else {
        // Preserved ids cannot tell a copied item from one written in the target itself.
        return Ok(found);
    };
    for node in &graph.nodes {
        let kind = match node.resource_type {
            ResourceType::Bucket => SourceKind::Object,
            ResourceType::Collection => SourceKind::Document,
            _ => continue,
        };
        let Some(target_id) = base.map.resource(&node.resource_id) else {
            continue;
        };
        let (n, sample) = store
            .items_gone_from_source(
                kind,
                (source, &node.resource_id),
                (target, target_id),
                tag,
                apply,
                20,
            )
            .await?;
        if n > 0 {
            found.push((node.resource_id.clone(), n, sample));
        }
    }
    Ok(found)
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

pub fn kind_of(resource_type: ResourceType) -> ResourceKind {
    match resource_type {
        ResourceType::Bucket => ResourceKind::Bucket,
        ResourceType::Collection => ResourceKind::Collection,
        ResourceType::Retriever => ResourceKind::Retriever,
        ResourceType::Taxonomy => ResourceKind::Taxonomy,
        ResourceType::Cluster => ResourceKind::Cluster,
    }
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
                limit: MAX_RESOURCES,
                ..Default::default()
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
            dependencies: graph::source_ids(&c.fields.source),
            id: c.collection_id,
            created_at: c.created_at,
        });
    }
    let (retrievers, _) = store
        .list_retrievers(
            ns,
            &ferry_store::NamedListQuery {
                limit: MAX_RESOURCES,
                ..Default::default()
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
            &ferry_store::NamedListQuery {
                limit: MAX_RESOURCES,
                ..Default::default()
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
            &ferry_store::NamedListQuery {
                limit: MAX_RESOURCES,
                ..Default::default()
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

/// The display name of a source resource, for name-clash checks.
async fn resource_name(
    store: &Store,
    ns: NamespaceKey,
    kind: ResourceKind,
    id: &str,
) -> StoreResult<String> {
    Ok(match kind {
        ResourceKind::Bucket => store.get_bucket(ns, id).await?.fields.bucket_name,
        ResourceKind::Collection => store.get_collection(ns, id).await?.fields.collection_name,
        ResourceKind::Retriever => store.get_retriever(ns, id).await?.fields.retriever_name,
        ResourceKind::Taxonomy => store.get_taxonomy(ns, id).await?.fields.taxonomy_name,
        ResourceKind::Cluster => store.get_cluster(ns, id).await?.fields.cluster_name,
    })
}

/// The id of the namespace's resource of `kind` whose id or name is `identifier`, if any.
pub(crate) async fn find_resource(
    store: &Store,
    ns: NamespaceKey,
    kind: ResourceKind,
    identifier: &str,
) -> StoreResult<Option<String>> {
    let found = match kind {
        ResourceKind::Bucket => store.get_bucket(ns, identifier).await.map(|r| r.bucket_id),
        ResourceKind::Collection => store
            .get_collection(ns, identifier)
            .await
            .map(|r| r.collection_id),
        ResourceKind::Retriever => store
            .get_retriever(ns, identifier)
            .await
            .map(|r| r.retriever_id),
        ResourceKind::Taxonomy => store
            .get_taxonomy(ns, identifier)
            .await
            .map(|r| r.taxonomy_id),
        ResourceKind::Cluster => store
            .get_cluster(ns, identifier)
            .await
            .map(|r| r.cluster_id),
    };
    match found {
        Ok(id) => Ok(Some(id)),
        Err(StoreError::NotFound { .. }) => Ok(None),
        Err(e) => Err(e),
    }
}

/// The existing target of an extend, or the error that there is none.
pub(crate) async fn extend_target(
    store: &Store,
    org: &str,
    config: &MigrationConfig,
    source: Option<&Namespace>,
) -> StoreResult<Result<Namespace, ValidationIssue>> {
    let (field, identifier) = match (&config.target_namespace_id, &config.target_namespace_name) {
        (Some(id), _) => ("target_namespace_id", id),
        (None, Some(name)) => ("target_namespace_name", name),
        (None, None) => {
            return Ok(Err(ValidationIssue::error(
                "target_namespace_required",
                "An extend migration merges into an existing namespace: set \
                 target_namespace_id or target_namespace_name",
            )
            .at([key("config"), key("target_namespace_id")])))
        }
    };
    let target = match store.get_namespace(org, identifier).await {
        Ok(ns) => ns,
        Err(StoreError::NotFound { .. }) => {
            return Ok(Err(ValidationIssue::error(
                "target_namespace_not_found",
                format!("Target namespace '{identifier}' does not exist"),
            )
            .at([key("config"), key(field)])))
        }
        Err(e) => return Err(e),
    };
    if source.is_some_and(|s| s.namespace_id == target.namespace_id) {
        return Ok(Err(ValidationIssue::error(
            "target_is_source",
            "An extend migration cannot merge a namespace into itself",
        )
        .at([key("config"), key(field)])));
    }
    Ok(Ok(target))
}

/// Validates `config` for organization `org` and plans it.
pub async fn validate(
    store: &Store,
    registry: &Registry,
    org: &str,
    config: &MigrationConfig,
) -> StoreResult<Planned> {
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

    let extractors = if config.migration_type == MigrationType::ReExtract {
        crate::reextract::resolve_extractors(registry, config, &mut errors)
    } else {
        BTreeMap::new()
    };
    let extend_target = if config.migration_type == MigrationType::Extend {
        match extend_target(store, org, config, source.as_ref()).await? {
            Ok(target) => Some(target),
            Err(issue) => {
                errors.push(issue);
                None
            }
        }
    } else {
        None
    };
    if config.feature_extractors.is_some() && config.migration_type != MigrationType::ReExtract {
        errors.push(
            ValidationIssue::error(
                "feature_extractors_not_allowed",
                "feature_extractors applies to re_extract migrations only",
            )
            .at([key("config"), key("feature_extractors")]),
        );
    }
    // The target of a copy must not exist, and is created under the rules every namespace
    // follows (`POST /v1/namespaces`).
    if config.migration_type != MigrationType::Extend {
        errors.extend(crate::target_name::naming_issues(config));
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
                let plan_graph = DependencyGraph {
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
                };
                if config.migration_type == MigrationType::ReExtract {
                    for issue in
                        check_rebuilds(store, source.key, &plan_graph, &extractors, &items, config)
                            .await?
                    {
                        match issue.severity {
                            IssueSeverity::Warning => warnings.push(issue),
                            IssueSeverity::Error => errors.push(issue),
                        }
                    }
                }
                if let Some(target) = &extend_target {
                    let (clashes, deletions) =
                        check_extend(store, org, source, target, &plan_graph).await?;
                    errors.extend(clashes);
                    warnings.extend(deletions);
                }
                graph = Some(plan_graph);
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

/// A re_extract's checks over its plan: every named extractor is used by a selected
/// collection, and the `RE_EXTRACT_COST` warning with how many documents are reprocessed.
async fn check_rebuilds(
    store: &Store,
    ns: NamespaceKey,
    graph: &DependencyGraph,
    extractors: &BTreeMap<String, crate::reextract::NewExtractor>,
    items: &BTreeMap<String, i64>,
    config: &MigrationConfig,
) -> StoreResult<Vec<ValidationIssue>> {
    let rebuilds = crate::reextract::rebuilds(store, ns, graph, extractors).await?;
    let mut issues = Vec::new();
    for (i, entry) in config.feature_extractors.iter().flatten().enumerate() {
        let name = &entry.feature_extractor_name;
        if !extractors.contains_key(name) {
            continue; // already reported as unknown
        }
        let used = rebuilds.iter().any(|(_, r)| {
            matches!(r, crate::reextract::Rebuild::Direct(n) if n.extractor.name() == name)
        });
        if !used {
            issues.push(
                ValidationIssue::error(
                    "extractor_not_used",
                    format!("No selected collection uses the feature extractor '{name}'"),
                )
                .at([
                    key("config"),
                    key("feature_extractors"),
                    Loc::Index(i),
                    key("feature_extractor_name"),
                ]),
            );
        }
    }
    if !rebuilds.is_empty() {
        let documents: i64 = rebuilds.iter().filter_map(|(id, _)| items.get(id)).sum();
        issues.push(ValidationIssue::warning(
            "RE_EXTRACT_COST",
            format!(
                "Re-extraction reprocesses {documents} documents in {} collections ({})",
                rebuilds.len(),
                rebuilds
                    .iter()
                    .map(|(id, _)| id.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ));
    }
    Ok(issues)
}

/// An extend's checks against its existing target: a selected resource whose name the target
/// already uses is an error unless an earlier migration from this source created it; source
/// deletions since that migration are a `SOURCE_DELETIONS` warning (a forced start applies
/// them).
async fn check_extend(
    store: &Store,
    org: &str,
    source: &Namespace,
    target: &Namespace,
    graph: &DependencyGraph,
) -> StoreResult<(Vec<ValidationIssue>, Vec<ValidationIssue>)> {
    let base = extend_base(store, org, &source.namespace_id, &target.namespace_id).await?;
    let mut errors = Vec::new();
    for node in &graph.nodes {
        let kind = kind_of(node.resource_type);
        let name = resource_name(store, source.key, kind, &node.resource_id).await?;
        let Some(existing) = find_resource(store, target.key, kind, &name).await? else {
            continue;
        };
        let migrated_before = base
            .as_ref()
            .and_then(|b| b.map.resource(&node.resource_id))
            == Some(existing.as_str());
        if migrated_before && kind == ResourceKind::Collection {
            // Copying source documents into a collection that runs another extractor version
            // (a re_extract's target) would mix vectors of two spaces in one collection.
            let from = store.get_collection(source.key, &node.resource_id).await?;
            let into = store.get_collection(target.key, &existing).await?;
            let version = |c: &ferry_store::Collection| {
                format!("{}@{}", c.fields.extractor_name, c.fields.extractor_version)
            };
            if version(&from) != version(&into) {
                errors.push(
                    ValidationIssue::error(
                        "extractor_version_mismatch",
                        format!(
                            "Collection '{name}' runs {} in the source but {} in the target; \
                             extending it would mix vectors of both (run a re_extract instead)",
                            version(&from),
                            version(&into)
                        ),
                    )
                    .at([key("config"), key("target_namespace_id")])
                    .about(node.resource_type, node.resource_id.clone()),
                );
            }
        }
        if !migrated_before {
            errors.push(
                ValidationIssue::error(
                    "resource_name_taken",
                    format!(
                        "The target already has a {} named '{name}' ({existing}) that no \
                         earlier migration from this source created",
                        kind.as_str()
                    ),
                )
                .at([key("config"), key("target_namespace_id")])
                .about(node.resource_type, node.resource_id.clone()),
            );
        }
    }
    let mut warnings = Vec::new();
    if let Some(base) = &base {
        let gone = source_deletions(store, base, source.key, target.key, graph, false).await?;
        let total: i64 = gone.iter().map(|(_, n, _)| n).sum();
        if total > 0 {
            warnings.push(ValidationIssue::warning(
                "SOURCE_DELETIONS",
                format!(
                    "{total} items migrated by {} were deleted from the source since; start \
                     with force=true to delete them from the target too",
                    base.migration_id
                ),
            ));
        }
    }
    Ok((errors, warnings))
}
