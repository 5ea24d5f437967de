//! [`Run`]: a started migration being run. The driver loads it once per run (the record, its
//! config, plan and progress, the source namespace, and what the migration type needs); the
//! stages read it and record what they did in it.

use ferry_store::{MigrationKey, MigrationRecord, Namespace, Task};
use ferry_wire::migration::{DependencyGraph, MigrationConfig, MigrationProgress, ResourceType};
use serde_json::Value;

use super::Engine;
use crate::error::MigrateError;
use crate::ids::IdMap;
use crate::plan::ExtendBase;
use crate::reextract::{Rebuild, Repoint};

pub(super) struct Run {
    /// Stages completed since the last look (the driver turns them into webhook events).
    pub completed_stages: Vec<Value>,
    /// Per-retriever comparisons of the benchmark stage, for `additional_data.benchmark`.
    pub benchmark: Vec<Value>,
    /// What finalization (or a dry run) reported, for the `migration.completed` event.
    pub additional_data: Option<Value>,
    pub migration: MigrationRecord,
    pub config: MigrationConfig,
    pub graph: DependencyGraph,
    pub source: Namespace,
    pub progress: MigrationProgress,
    pub task: Task,
    /// re_extract: the source collections rebuilt, in execution order, and how.
    pub rebuilds: Vec<(String, Rebuild)>,
    /// re_extract: how the old extractor versions' vector names become the new ones.
    pub repoint: Repoint,
    /// extend: the earlier migration it continues.
    pub base: Option<ExtendBase>,
    /// Started with `force`: an extend applies source deletions.
    pub force: bool,
    /// The run completed the migration, which ended its task in the same transaction.
    pub task_ended: bool,
}

impl Run {
    pub fn key(&self) -> &MigrationKey {
        &self.migration.key
    }

    /// How `source_collection` is rebuilt by this re_extract, if it is.
    pub fn rebuild(&self, source_collection: &str) -> Option<&Rebuild> {
        self.rebuilds
            .iter()
            .find(|(id, _)| id == source_collection)
            .map(|(_, r)| r)
    }

    /// The migrated resources of `kind`, in execution order: each source id with its
    /// target's, where `map` has one.
    pub fn migrated<'a>(
        &'a self,
        kind: ResourceType,
        map: &'a IdMap,
    ) -> impl Iterator<Item = (&'a str, &'a str)> + 'a {
        self.graph
            .nodes
            .iter()
            .filter(move |n| n.resource_type == kind)
            .filter_map(|n| Some((n.resource_id.as_str(), map.resource(&n.resource_id)?)))
    }

    /// The target namespace's id, once `namespace_setup` made or found it.
    pub fn target_id(&self) -> Result<&str, MigrateError> {
        self.migration
            .target_namespace_id
            .as_deref()
            .ok_or_else(|| MigrateError::Unrunnable("the target namespace is not set up".into()))
    }
}

impl Engine {
    pub(super) async fn id_map(&self, run: &Run) -> Result<IdMap, MigrateError> {
        Ok(IdMap::load(&self.store, &run.migration).await?)
    }

    pub(super) async fn target(&self, run: &Run) -> Result<Namespace, MigrateError> {
        let id = run.target_id()?;
        Ok(self.store.get_namespace(run.migration.org_id(), id).await?)
    }
}

/// `resource` is missing from the id map: its setup did not happen.
pub(super) fn not_set_up(resource: &str) -> MigrateError {
    MigrateError::Unrunnable(format!("{resource} was not set up"))
}
