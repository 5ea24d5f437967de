//! Stage 1, `namespace_setup`: the target namespace, then every selected resource in
//! execution order, each recorded in the id map so a restarted setup finds what it made.

use ferry_store::{
    ClusterFields, CollectionFields, ItemIds, Namespace, NamespaceFields, NewNamespace,
    RetrieverFields, StoreError, TaxonomyFields,
};
use ferry_wire::migration::{DependencyNode, MigrationStage, MigrationType, ResourceType};
use serde_json::Value;

use super::progress::{pending_resources, StageCounts};
use super::run::Run;
use super::Engine;
use crate::error::MigrateError;
use crate::ids::{derived, IdMap, ITEMS_ROW};
use crate::reextract::Rebuild;
use crate::target_name::resolve_target_name;

impl Engine {
    pub(super) async fn namespace_setup(&self, run: &mut Run) -> Result<(), MigrateError> {
        let org = run.migration.org_id().to_owned();
        let target_id = run
            .config
            .target_namespace_id
            .clone()
            .unwrap_or_else(|| derived(run.migration.migration_id(), &run.source.namespace_id));
        let target = if run.config.migration_type == MigrationType::Extend {
            // An extend's target exists (validated); it is never created.
            self.extend_target(run).await?
        } else {
            match self.store.get_namespace(&org, &target_id).await {
                Ok(ns) => ns,
                Err(StoreError::NotFound { .. }) => {
                    let name =
                        resolve_target_name(&self.store, &org, &run.source, &run.config).await?;
                    self.store
                        .create_namespace(
                            &org,
                            NewNamespace {
                                namespace_id: Some(target_id.clone()),
                                namespace_type: run.source.namespace_type.clone(),
                                mode: run.source.mode.clone(),
                                fields: NamespaceFields {
                                    namespace_name: name,
                                    ..run.source.fields.clone()
                                },
                            },
                        )
                        .await?
                }
                Err(e) => return Err(e.into()),
            }
        };
        run.migration.target_namespace_id = Some(target.namespace_id.clone());
        self.save(run, None).await?;

        // How items are named, fixed now for the whole run: an extend names them as its base
        // did, so items that base copied are recognised.
        let items = match &run.base {
            Some(base) => base.map.items.clone(),
            None => ItemIds {
                tag: (!run.config.preserve_resource_ids)
                    .then(|| crate::ids::item_tag(run.migration.migration_id())),
            },
        };
        self.store
            .map_migration_id(
                run.key(),
                ITEMS_ROW,
                "*",
                items.tag.as_deref().unwrap_or(""),
            )
            .await?;
        let mut map = self.id_map(run).await?;
        let order = run.graph.execution_order.clone();
        let total = order.len() as u64;
        run.progress.resources = pending_resources(run);
        for (done, source_id) in order.iter().enumerate() {
            let node = run
                .graph
                .nodes
                .iter()
                .find(|n| &n.resource_id == source_id)
                .cloned()
                .ok_or_else(|| MigrateError::Corrupt(format!("{source_id} is not in the plan")))?;
            if map.resource(source_id).is_none() {
                let target_id = match self.adopted(run, &target, &node).await? {
                    Some(id) => id,
                    None => {
                        self.create_resource(run, &target, node.resource_type, source_id, &map)
                            .await?
                    }
                };
                self.store
                    .map_migration_id(
                        run.key(),
                        node.resource_type.as_str(),
                        source_id,
                        &target_id,
                    )
                    .await?;
                map.resources.insert(source_id.clone(), target_id);
            }
            let s = &mut run.progress.stages[MigrationStage::NamespaceSetup.index()];
            s.items_total = total;
            s.items_completed = done as u64 + 1;
            s.progress_percent = 100.0 * (done as f64 + 1.0) / total.max(1) as f64;
            self.save(run, None).await?;
        }
        self.finish_stage(run, MigrationStage::NamespaceSetup, StageCounts::all(total))
            .await
    }

    /// An extend's target resource that its base created from `node` (and that still
    /// exists): the extend continues into it instead of creating one.
    async fn adopted(
        &self,
        run: &Run,
        target: &Namespace,
        node: &DependencyNode,
    ) -> Result<Option<String>, MigrateError> {
        let Some(earlier) = run
            .base
            .as_ref()
            .and_then(|b| b.map.resource(&node.resource_id))
        else {
            return Ok(None);
        };
        let kind = crate::plan::kind_of(node.resource_type);
        let found = crate::plan::find_resource(&self.store, target.key, kind, earlier).await?;
        Ok(found.filter(|id| id == earlier))
    }

    fn preserved(&self, run: &Run, resource_type: ResourceType) -> bool {
        run.config.preserve_resource_ids
            || match resource_type {
                ResourceType::Taxonomy => {
                    run.config
                        .taxonomy_options_or_default()
                        .preserve_taxonomy_ids
                }
                ResourceType::Cluster => {
                    run.config.cluster_options_or_default().preserve_cluster_ids
                }
                ResourceType::Retriever => {
                    run.config
                        .retriever_options_or_default()
                        .preserve_retriever_ids
                }
                _ => false,
            }
    }

    /// Creates one resource in the target; returns its id. A resource this migration created
    /// before a crash (same derived id) is found, not created twice.
    async fn create_resource(
        &self,
        run: &Run,
        target: &Namespace,
        resource_type: ResourceType,
        source_id: &str,
        map: &IdMap,
    ) -> Result<String, MigrateError> {
        let src = run.source.key;
        let ns = target.key;
        let target_id = if self.preserved(run, resource_type) {
            source_id.to_owned()
        } else {
            derived(run.migration.migration_id(), source_id)
        };
        // The target id of a resource this one depends on (created earlier in the order).
        let target_of = |dependency: &str| {
            map.resource(dependency).map(str::to_owned).ok_or_else(|| {
                MigrateError::Unrunnable(format!(
                    "{source_id} depends on {dependency}, which was not migrated"
                ))
            })
        };
        let targets_of = |ids: &[String]| {
            ids.iter()
                .map(|id| target_of(id))
                .collect::<Result<Vec<_>, _>>()
        };
        let created: Result<(), StoreError> = match resource_type {
            ResourceType::Bucket => {
                let b = self.store.get_bucket(src, source_id).await?;
                self.store
                    .create_bucket(ns, Some(target_id.clone()), b.fields)
                    .await
                    .map(|_| ())
            }
            ResourceType::Collection => {
                let c = self.store.get_collection(src, source_id).await?;
                targets_of(&crate::graph::source_ids(&c.fields.source))?;
                let fields = match run.rebuild(source_id) {
                    Some(Rebuild::Direct(new)) => {
                        crate::reextract::rebuilt_fields(c.fields, &self.registry, new)
                            .map_err(MigrateError::Unrunnable)?
                    }
                    _ => c.fields,
                };
                let fields = CollectionFields {
                    source: map.remap_json(&fields.source),
                    // Attachments are re-pointed at finalization, once their targets exist.
                    taxonomy_applications: None,
                    cluster_applications: None,
                    ..fields
                };
                self.store
                    .create_collection(ns, Some(target_id.clone()), fields)
                    .await
                    .map(|_| ())
            }
            ResourceType::Retriever => {
                let r = self.store.get_retriever(src, source_id).await?;
                let collection_ids = targets_of(&r.fields.collection_ids)?;
                if run
                    .config
                    .retriever_options_or_default()
                    .validate_references
                {
                    check_stage_references(&r.fields.stages, map, source_id)?;
                }
                let fields = RetrieverFields {
                    collection_ids,
                    stages: run.repoint.apply(&map.remap_json(&r.fields.stages)),
                    ..r.fields
                };
                self.store
                    .create_retriever(ns, Some(target_id.clone()), fields)
                    .await
                    .map(|_| ())
            }
            ResourceType::Taxonomy => {
                let t = self.store.get_taxonomy(src, source_id).await?;
                let retriever_id = target_of(&t.fields.retriever_id)?;
                let source_collection_id = target_of(&t.fields.source_collection_id)?;
                let fields = TaxonomyFields {
                    config: run.repoint.apply(&map.remap_json(&t.fields.config)),
                    retriever_id,
                    source_collection_id,
                    ..t.fields
                };
                self.store
                    .create_taxonomy(ns, Some(target_id.clone()), fields)
                    .await
                    .map(|_| ())
            }
            ResourceType::Cluster => {
                let c = self.store.get_cluster(src, source_id).await?;
                let inputs = targets_of(&c.fields.input_collections)?;
                let fields = ClusterFields {
                    input_collections: inputs,
                    definition: run.repoint.apply(&c.fields.definition),
                    ..c.fields
                };
                self.store
                    .create_cluster(ns, Some(target_id.clone()), fields)
                    .await
                    .map(|_| ())
            }
        };
        match created {
            Ok(()) => Ok(target_id),
            // The same id already in the target: this migration made it before a restart.
            Err(StoreError::Conflict { .. }) => Ok(target_id),
            Err(e) => Err(e.into()),
        }
    }
}

/// Prefixes of the resource ids a retriever stage may mention.
const RESOURCE_PREFIXES: [&str; 5] = ["col_", "ret_", "tax_", "clust_", "bkt_"];

/// Checks that every resource id a retriever's stages mention was migrated.
fn check_stage_references(
    stages: &Value,
    map: &IdMap,
    retriever: &str,
) -> Result<(), MigrateError> {
    fn walk(value: &Value, found: &mut Vec<String>) {
        match value {
            Value::String(s) if RESOURCE_PREFIXES.iter().any(|p| s.starts_with(p)) => {
                found.push(s.clone())
            }
            Value::Array(items) => items.iter().for_each(|v| walk(v, found)),
            Value::Object(m) => m.values().for_each(|v| walk(v, found)),
            _ => {}
        }
    }
    let mut found = Vec::new();
    walk(stages, &mut found);
    let missing: Vec<String> = found
        .into_iter()
        .filter(|id| map.resource(id).is_none())
        .collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(MigrateError::Unrunnable(format!(
            "retriever {retriever} references resources that are not migrated: {}",
            missing.join(", ")
        )))
    }
}
