//! What a `re_extract` migration rebuilds: the collections whose extractor
//! `feature_extractors` names (run again with the new version and parameters), the
//! collections downstream of them (run again with their own extractor over the rebuilt
//! documents), and how resources that name the old version's vectors are re-pointed.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use ferry_extract::vector_storage::{self, VectorStorage};
use ferry_extract::{Extractor, Registry};
use ferry_pipeline::CollectionConfig;
use ferry_store::{CollectionFields, NamespaceKey, Store, StoreResult};
use ferry_wire::migration::{DependencyGraph, MigrationConfig, ResourceType, ValidationIssue};
use ferry_wire::Loc;
use serde_json::{Map, Value};

use crate::error::MigrateError;

/// A `feature_extractors` entry resolved against the registry.
#[derive(Clone)]
pub struct NewExtractor {
    pub extractor: Arc<dyn Extractor>,
    /// Parameters with defaults filled in, as a collection stores them.
    pub resolved: Map<String, Value>,
    /// Whether the entry chose the vector storage (`datatype`, `on_disk`); where it did
    /// not, each rebuilt collection keeps its own.
    pub chooses_storage: bool,
}

/// How one collection of the plan is rebuilt.
#[derive(Clone)]
pub enum Rebuild {
    /// Its extractor is one `feature_extractors` names: it runs with the new one.
    Direct(NewExtractor),
    /// It reads a rebuilt collection: it runs again, with its own extractor.
    Downstream,
}

fn at(index: usize, field: &str) -> Vec<Loc> {
    vec![
        Loc::Key("config".into()),
        Loc::Key("feature_extractors".into()),
        Loc::Index(index),
        Loc::Key(field.into()),
    ]
}

/// Resolves `config.feature_extractors` by name; what cannot be resolved becomes an error.
/// A missing version means the newest the registry has.
pub fn resolve_extractors(
    registry: &Registry,
    config: &MigrationConfig,
    errors: &mut Vec<ValidationIssue>,
) -> BTreeMap<String, NewExtractor> {
    let mut resolved = BTreeMap::new();
    let entries = config.feature_extractors.as_deref().unwrap_or_default();
    if entries.is_empty() {
        errors.push(
            ValidationIssue::error(
                "feature_extractors_required",
                "A re_extract migration needs at least one entry in feature_extractors",
            )
            .at([
                Loc::Key("config".into()),
                Loc::Key("feature_extractors".into()),
            ]),
        );
    }
    for (i, entry) in entries.iter().enumerate() {
        let name = &entry.feature_extractor_name;
        let versions = registry.versions(name);
        // Newest by number (`v10` after `v2`), then by text for other spellings.
        let version = entry.version.clone().or_else(|| {
            versions
                .iter()
                .max_by_key(|v| {
                    let number = v.trim_start_matches('v').parse::<u64>().ok();
                    (number, v.to_string())
                })
                .cloned()
        });
        let Some(extractor) = version.as_deref().and_then(|v| registry.get(name, v)) else {
            let (field, message) = if versions.is_empty() {
                (
                    "feature_extractor_name",
                    format!("Unknown feature extractor '{name}'"),
                )
            } else {
                (
                    "version",
                    format!(
                        "Feature extractor '{name}' has no version '{}'; known versions: {}",
                        version.unwrap_or_default(),
                        versions.join(", ")
                    ),
                )
            };
            errors.push(ValidationIssue::error("extractor_not_found", message).at(at(i, field)));
            continue;
        };
        if resolved.contains_key(name) {
            errors.push(
                ValidationIssue::error(
                    "duplicate_feature_extractor",
                    format!("Feature extractor '{name}' is listed twice"),
                )
                .at(at(i, "feature_extractor_name")),
            );
            continue;
        }
        let given = entry.parameters.clone().unwrap_or_default();
        match extractor.resolve_parameters(&given) {
            Ok(params) => {
                resolved.insert(
                    name.clone(),
                    NewExtractor {
                        extractor,
                        resolved: params,
                        chooses_storage: vector_storage::PARAMETERS
                            .iter()
                            .any(|key| given.contains_key(*key)),
                    },
                );
            }
            Err(problems) => {
                for p in problems {
                    let mut loc = at(i, "parameters");
                    loc.extend(p.loc.into_iter().map(Loc::Key));
                    // A local model's problem (not installed, corrupt, unsupported) keeps its
                    // own code: the fix is an install, not a different parameter value.
                    let code = if p.kind.starts_with("model_") {
                        p.kind
                    } else {
                        "invalid_extractor_parameters"
                    };
                    errors.push(
                        ValidationIssue::error(code, format!("Parameters of '{name}': {}", p.msg))
                            .at(loc),
                    );
                }
            }
        }
    }
    resolved
}

/// The collections of `graph` to rebuild, in execution order, with how. A collection is
/// `Direct` when its extractor's name is in `extractors`, `Downstream` when one of its
/// source collections is rebuilt.
pub async fn rebuilds(
    store: &Store,
    ns: NamespaceKey,
    graph: &DependencyGraph,
    extractors: &BTreeMap<String, NewExtractor>,
) -> StoreResult<Vec<(String, Rebuild)>> {
    let mut rebuilt = Vec::new();
    let mut ids: HashSet<String> = HashSet::new();
    for id in &graph.execution_order {
        let is_collection = graph
            .nodes
            .iter()
            .any(|n| &n.resource_id == id && n.resource_type == ResourceType::Collection);
        if !is_collection {
            continue;
        }
        let c = store.get_collection(ns, id).await?;
        let rebuild = if let Some(new) = extractors.get(&c.fields.extractor_name) {
            Some(Rebuild::Direct(new.clone()))
        } else if crate::graph::source_ids(&c.fields.source)
            .iter()
            .any(|s| ids.contains(s))
        {
            Some(Rebuild::Downstream)
        } else {
            None
        };
        if let Some(rebuild) = rebuild {
            ids.insert(id.clone());
            rebuilt.push((id.clone(), rebuild));
        }
    }
    Ok(rebuilt)
}

/// A collection's definition moved to `new`: extractor configuration, version, vector
/// indexes, and the output-schema fields the old extractor contributed replaced by the new
/// one's. Passed-through source fields stay.
pub fn rebuilt_fields(
    fields: CollectionFields,
    registry: &Registry,
    new: &NewExtractor,
) -> Result<CollectionFields, String> {
    let extractor = new.extractor.as_ref();
    let old_params = fields.feature_extractor["parameters"]
        .as_object()
        .cloned()
        .unwrap_or_default();
    let mut resolved = new.resolved.clone();
    if !new.chooses_storage {
        VectorStorage::of(&old_params).resolve_into(&mut resolved);
    }
    let mut config = fields.feature_extractor.clone();
    config["version"] = Value::from(extractor.version());
    config["parameters"] = Value::Object(resolved.clone());
    let mut schema = fields.output_schema.clone();
    if let Some(properties) = schema.get_mut("properties").and_then(Value::as_object_mut) {
        // The old version's own fields and vectors (by its registry entry when it is still
        // known; by storage-name prefix either way).
        let old_prefix = format!("{}_{}_", fields.extractor_name, fields.extractor_version);
        if let Some(old) = registry.get(&fields.extractor_name, &fields.extractor_version) {
            for (name, _) in
                ferry_extract::collection::output_schema_fields(old.as_ref(), &old_params)
                    .map_err(|e| e.to_string())?
            {
                properties.remove(&name);
            }
        }
        properties.retain(|name, _| !name.starts_with(&old_prefix));
        for (name, field) in ferry_extract::collection::output_schema_fields(extractor, &resolved)
            .map_err(|e| e.to_string())?
        {
            properties.insert(
                name,
                serde_json::to_value(field).map_err(|e| e.to_string())?,
            );
        }
    }
    let vector_indexes = ferry_extract::collection::vector_indexes(extractor, &resolved);
    Ok(CollectionFields {
        feature_extractor: config,
        extractor_version: extractor.version().to_owned(),
        output_schema: schema,
        vector_indexes: serde_json::to_value(vector_indexes).map_err(|e| e.to_string())?,
        ..fields
    })
}

/// Old → new spellings of a rebuilt extractor's vectors: feature URIs
/// (`mixpeek://name@v1/` → `mixpeek://name@v2/`) and storage names (`name_v1_` → `name_v2_`).
#[derive(Debug, Clone, Default)]
pub struct Repoint {
    renames: Vec<(String, String)>,
}

impl Repoint {
    /// Adds the renames of `name` moving from `old_version` to `new_version`.
    pub fn add(&mut self, name: &str, old_version: &str, new_version: &str) {
        if old_version == new_version {
            return;
        }
        for (old, new) in [
            (
                format!("mixpeek://{name}@{old_version}/"),
                format!("mixpeek://{name}@{new_version}/"),
            ),
            (
                format!("{name}_{old_version}_"),
                format!("{name}_{new_version}_"),
            ),
        ] {
            if !self.renames.contains(&(old.clone(), new.clone())) {
                self.renames.push((old, new));
            }
        }
    }

    /// `value` with every string that starts with an old spelling re-pointed.
    pub fn apply(&self, value: &Value) -> Value {
        match value {
            Value::String(s) => Value::String(
                self.renames
                    .iter()
                    .find(|(old, _)| s.starts_with(old.as_str()))
                    .map_or_else(
                        || s.clone(),
                        |(old, new)| format!("{new}{}", &s[old.len()..]),
                    ),
            ),
            Value::Array(items) => Value::Array(items.iter().map(|v| self.apply(v)).collect()),
            Value::Object(map) => Value::Object(
                map.iter()
                    .map(|(k, v)| (k.clone(), self.apply(v)))
                    .collect(),
            ),
            other => other.clone(),
        }
    }
}

/// Each rebuilt collection's configuration and extractor, by target collection id.
pub type Extractions = HashMap<String, (CollectionConfig, Arc<dyn ferry_extract::Extractor>)>;

/// Extracts `items` for the rebuilt collection `target_collection` with its new extractor.
/// Items that fail are left out, as a trigger leaves them out, and logged (the first, with
/// the count), naming `during`; returns the documents and how many items failed.
pub async fn extract_rebuilt(
    extractions: &Extractions,
    blobs: &ferry_store::blobs::BlobStore,
    target_collection: &str,
    items: &[ferry_pipeline::Item],
    during: &'static str,
) -> Result<(Vec<ferry_store::NewDocument>, usize), MigrateError> {
    let (config, extractor) = extractions.get(target_collection).ok_or_else(|| {
        MigrateError::Unrunnable(format!("{target_collection} is not a rebuilt collection"))
    })?;
    let (docs, failures) =
        ferry_pipeline::extract_items(blobs, target_collection, config, extractor, items).await?;
    if let Some((id, error)) = failures.first() {
        tracing::warn!(
            item = id,
            error,
            failed = failures.len(),
            during,
            "items failed extraction"
        );
    }
    Ok((docs, failures.len()))
}

/// The extractor of each of `rebuilds` as its target collection was set up in `target`
/// (collections not set up yet are left out).
pub async fn rebuilt_extractors(
    store: &Store,
    registry: &ferry_extract::Registry,
    target: NamespaceKey,
    map: &crate::ids::IdMap,
    rebuilds: &[(String, Rebuild)],
) -> Result<Extractions, MigrateError> {
    let mut extractions = HashMap::new();
    for (source_id, _) in rebuilds {
        let Some(target_id) = map.resource(source_id) else {
            continue;
        };
        let collection = store.get_collection(target, target_id).await?;
        let config: CollectionConfig = serde_json::from_value(collection.fields.feature_extractor)
            .map_err(|e| MigrateError::Corrupt(format!("{target_id}: {e}")))?;
        let extractor = registry
            .get(&config.feature_extractor_name, &config.version)
            .ok_or_else(|| {
                MigrateError::Unrunnable(format!(
                    "extractor {}@{} is not registered",
                    config.feature_extractor_name, config.version
                ))
            })?;
        extractions.insert(target_id.to_owned(), (config, extractor));
    }
    Ok(extractions)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferry_wire::migration::{FeatureExtractorConfig, MigrationType};
    use serde_json::json;

    /// An omitted version means the newest, v3, the neural one; with no model installed its
    /// validation names the directory and the model, under a code of its own.
    #[test]
    fn an_omitted_version_means_the_newest() {
        let models = std::env::temp_dir().join("ferry-no-models-here");
        let registry = Registry::builtin(Default::default(), models.clone());
        let mut config = MigrationConfig::new(MigrationType::ReExtract, String::from("ns"));
        config.feature_extractors = Some(vec![FeatureExtractorConfig {
            feature_extractor_name: "text_extractor".into(),
            version: None,
            parameters: None,
        }]);
        let mut errors = Vec::new();
        let resolved = resolve_extractors(&registry, &config, &mut errors);
        assert!(resolved.is_empty());
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert_eq!(errors[0].error_code, "model_not_installed");
        assert_eq!(errors[0].loc.last(), Some(&json!("model")));
        assert!(errors[0].message.contains("all-MiniLM-L6-v2"));
        assert!(errors[0].message.contains(&models.display().to_string()));
    }

    #[test]
    fn repointing_moves_uris_and_storage_names_only() {
        let mut r = Repoint::default();
        r.add("text_extractor", "v1", "v2");
        let stages = json!({"uri": "mixpeek://text_extractor@v1/embedding",
                            "vec": "text_extractor_v1_embedding",
                            "other": "mixpeek://image_extractor@v1/embedding", "n": 3});
        assert_eq!(
            r.apply(&stages),
            json!({"uri": "mixpeek://text_extractor@v2/embedding",
                   "vec": "text_extractor_v2_embedding",
                   "other": "mixpeek://image_extractor@v1/embedding", "n": 3})
        );
    }
}
