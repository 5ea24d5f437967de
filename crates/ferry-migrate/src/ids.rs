//! Target ids. Every id a migration gives a target resource, object or document is either
//! the source's (when preserved) or derived from the migration id and the source id, so a
//! step repeated after a crash writes the same ids and never duplicates anything.

use std::collections::HashMap;

use ferry_store::{DocumentRecord, ItemIds, MigrationRecord, Store, StoreResult};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

/// `<prefix>_<20 hex>` from the migration and the source id, keeping the source's prefix
/// (`doc_`, `obj_`, `col_`, `clust_` …) so the id still says what it names.
pub fn derived(migration_id: &str, source_id: &str) -> String {
    let prefix = source_id.split_once('_').map_or("id", |(p, _)| p);
    let digest = Sha256::digest(format!("{migration_id}\0{source_id}").as_bytes());
    format!("{prefix}_{}", &hex::encode(digest)[..20])
}

/// The tag a migration's derived item ids carry (see [`ItemIds`]).
pub fn item_tag(migration_id: &str) -> String {
    hex::encode(Sha256::digest(migration_id.as_bytes()))[..8].to_owned()
}

/// Id-map row kind recording how the migration names items (`target_id` = the tag, empty
/// when ids are kept). An extend records its base's, so it names items as its base did.
pub const ITEMS_ROW: &str = "items";
/// Id-map row kind recording a task the migration queued (`source_id` says for what), so a
/// resumed run waits for it instead of queueing it again.
pub const TASK_ROW: &str = "task";

/// How source ids become target ids for one migration.
#[derive(Debug, Clone)]
pub struct IdMap {
    pub migration_id: String,
    /// Objects and documents: kept, or tagged with the migration.
    pub items: ItemIds,
    /// Resource ids (buckets, collections, retrievers, taxonomies, clusters) already mapped.
    pub resources: HashMap<String, String>,
}

impl IdMap {
    /// The map `migration` recorded: its resources, and its item naming (as recorded at
    /// setup; before that, what its configuration implies).
    pub async fn load(store: &Store, migration: &MigrationRecord) -> StoreResult<IdMap> {
        let mut resources = HashMap::new();
        let mut recorded = None;
        for (kind, source, target) in store.migration_id_map(&migration.key).await? {
            match kind.as_str() {
                ITEMS_ROW => recorded = Some((!target.is_empty()).then_some(target)),
                TASK_ROW => {}
                _ => {
                    resources.insert(source, target);
                }
            }
        }
        let preserved = migration.config["preserve_resource_ids"]
            .as_bool()
            .unwrap_or(false);
        let tag =
            recorded.unwrap_or_else(|| (!preserved).then(|| item_tag(migration.migration_id())));
        Ok(IdMap {
            migration_id: migration.migration_id().to_owned(),
            items: ItemIds { tag },
            resources,
        })
    }

    /// The target id of a resource, if it has been created.
    pub fn resource(&self, source_id: &str) -> Option<&str> {
        self.resources.get(source_id).map(String::as_str)
    }

    /// The target id of an object or document (mapped whether or not it was copied yet).
    pub fn item(&self, source_id: &str) -> String {
        self.items.map(source_id)
    }

    /// `value` with every string that is a mapped resource id replaced by its target id
    /// (stage parameters, taxonomy configurations and collection sources name resources by
    /// id anywhere in their JSON).
    pub fn remap_json(&self, value: &Value) -> Value {
        match value {
            Value::String(s) => Value::String(self.resource(s).unwrap_or(s).to_owned()),
            Value::Array(items) => Value::Array(items.iter().map(|v| self.remap_json(v)).collect()),
            Value::Object(map) => Value::Object(
                map.iter()
                    .map(|(k, v)| (k.clone(), self.remap_json(v)))
                    .collect::<Map<_, _>>(),
            ),
            other => other.clone(),
        }
    }

    /// A source document as the target holds it: ids and lineage remapped, enrichment
    /// fields kept (re-keyed to the target taxonomy, matches remapped) or dropped per
    /// `enrichment`.
    pub fn target_document(
        &self,
        mut d: DocumentRecord,
        collection_id: &str,
        enrichment: Enrichment,
    ) -> DocumentRecord {
        d.document_id = self.item(&d.document_id);
        d.collection_id = collection_id.to_owned();
        let l = &mut d.lineage;
        l.source_object_id = l.source_object_id.as_ref().map(|id| self.item(id));
        l.root_object_id = l.root_object_id.as_ref().map(|id| self.item(id));
        l.source_document_id = l.source_document_id.as_ref().map(|id| self.item(id));
        l.root_bucket_id = l
            .root_bucket_id
            .as_ref()
            .map(|id| self.resource(id).unwrap_or(id).to_owned());
        if !enrichment.keep_clusters {
            d.fields.remove("cluster_id");
        }
        let taxonomy_keys: Vec<String> = d
            .fields
            .keys()
            .filter(|k| k.starts_with("_taxonomy_"))
            .cloned()
            .collect();
        for key in taxonomy_keys {
            let Some(mut value) = d.fields.remove(&key) else {
                continue;
            };
            if !enrichment.keep_taxonomy {
                continue;
            }
            let source_taxonomy = key.trim_start_matches("_taxonomy_");
            let Some(target_taxonomy) = self.resource(source_taxonomy) else {
                continue;
            };
            value["taxonomy_id"] = Value::from(target_taxonomy);
            if let Some(matches) = value.get_mut("matches").and_then(Value::as_array_mut) {
                for m in matches {
                    if let Some(id) = m["document_id"].as_str().map(|id| self.item(id)) {
                        m["document_id"] = Value::from(id);
                    }
                    if let Some(c) = m["collection_id"].as_str().and_then(|c| self.resource(c)) {
                        m["collection_id"] = Value::from(c);
                    }
                }
            }
            d.fields
                .insert(format!("_taxonomy_{target_taxonomy}"), value);
        }
        d
    }
}

/// What copied documents keep of their enrichment (the migration's taxonomy and cluster
/// options).
#[derive(Debug, Clone, Copy)]
pub struct Enrichment {
    pub keep_taxonomy: bool,
    pub keep_clusters: bool,
}

impl Enrichment {
    pub fn of(config: &ferry_wire::migration::MigrationConfig) -> Self {
        Enrichment {
            keep_taxonomy: config
                .taxonomy_options_or_default()
                .preserve_enrichment_fields,
            keep_clusters: config.cluster_options_or_default().preserve_assignments,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derived_ids_are_stable_distinct_and_keep_the_prefix() {
        let a = derived("mig_1", "doc_abc");
        assert_eq!(a, derived("mig_1", "doc_abc"));
        assert_ne!(a, derived("mig_2", "doc_abc"));
        assert!(a.starts_with("doc_") && a.len() == 24, "{a}");
        assert!(derived("mig_1", "clust_x").starts_with("clust_"));
    }

    #[test]
    fn json_remapping_replaces_only_mapped_ids() {
        let map = IdMap {
            migration_id: "m".into(),
            items: ItemIds { tag: None },
            resources: [("col_a".to_owned(), "col_b".to_owned())]
                .into_iter()
                .collect(),
        };
        let remapped = map.remap_json(&serde_json::json!({"ids": ["col_a", "col_z"], "n": 1}));
        assert_eq!(
            remapped,
            serde_json::json!({"ids": ["col_b", "col_z"], "n": 1})
        );
    }
}
