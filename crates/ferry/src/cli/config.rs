//! A migration's configuration as the command line takes it: a JSON or YAML file in the
//! `MigrationConfig` shape, flags, or both (flags win). The result is sent as it is; the
//! server validates it, so the command line and the API can never disagree on what is valid.

use std::path::PathBuf;

use clap::Args;
use serde_json::{Map, Value};

use super::client::Failure;

#[derive(Args, Debug, Clone, Default)]
pub struct ConfigArgs {
    /// A JSON or YAML file in the MigrationConfig shape; the flags below override its fields.
    #[arg(long, short = 'f', value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Migration type: copy, re_extract or extend.
    #[arg(long = "type", value_name = "TYPE")]
    pub migration_type: Option<String>,
    /// Source namespace (id or name).
    #[arg(long, value_name = "NAMESPACE")]
    pub source: Option<String>,
    /// Name of the target namespace (copy and re_extract create it; extend merges into it).
    #[arg(long, value_name = "NAME")]
    pub target_name: Option<String>,
    /// Id of an existing target namespace (extend).
    #[arg(long, value_name = "ID")]
    pub target_id: Option<String>,
    /// An extractor to re-extract with, `NAME@VERSION` (re_extract; repeatable).
    #[arg(long = "extractor", value_name = "NAME@VERSION")]
    pub extractors: Vec<String>,
    /// Migrate only this collection (and what it depends on; repeatable).
    #[arg(long = "collection", value_name = "ID")]
    pub collections: Vec<String>,
    /// Documents per batch (1..1000).
    #[arg(long, value_name = "N")]
    pub batch_size: Option<i64>,
    /// Batches in flight at once (1..50).
    #[arg(long, value_name = "N")]
    pub max_workers: Option<i64>,
    /// Keep the source's resource ids in the target.
    #[arg(long)]
    pub preserve_ids: bool,
    /// Validate and plan only; write nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Receives the migration's signed webhook events.
    #[arg(long, value_name = "URL")]
    pub webhook_url: Option<String>,
}

impl ConfigArgs {
    /// The `MigrationConfig` JSON these arguments describe.
    pub fn build(&self) -> Result<Value, Failure> {
        let mut config = match &self.config {
            Some(path) => read_file(path)?,
            None => Map::new(),
        };
        let mut set = |key: &str, value: Option<Value>| {
            if let Some(value) = value {
                config.insert(key.to_owned(), value);
            }
        };
        set(
            "migration_type",
            self.migration_type.clone().map(Value::from),
        );
        set("source_namespace_id", self.source.clone().map(Value::from));
        set(
            "target_namespace_name",
            self.target_name.clone().map(Value::from),
        );
        set(
            "target_namespace_id",
            self.target_id.clone().map(Value::from),
        );
        set("webhook_url", self.webhook_url.clone().map(Value::from));
        set(
            "preserve_resource_ids",
            self.preserve_ids.then_some(Value::Bool(true)),
        );
        set("dry_run", self.dry_run.then_some(Value::Bool(true)));
        if !self.extractors.is_empty() {
            let extractors = self
                .extractors
                .iter()
                .map(|e| extractor(e))
                .collect::<Result<Vec<_>, _>>()?;
            config.insert("feature_extractors".into(), Value::Array(extractors));
        }
        if !self.collections.is_empty() {
            let filters = object_at(&mut config, "filters");
            filters.insert("collection_ids".into(), self.collections.clone().into());
        }
        for (key, value) in [
            ("batch_size", self.batch_size),
            ("max_workers", self.max_workers),
        ] {
            if let Some(n) = value {
                object_at(&mut config, "batch_options").insert(key.into(), n.into());
            }
        }
        Ok(Value::Object(config))
    }
}

/// `config[key]` as an object, created (or replaced, if it was not one) when needed.
fn object_at<'a>(config: &'a mut Map<String, Value>, key: &str) -> &'a mut Map<String, Value> {
    let slot = config
        .entry(key)
        .or_insert_with(|| Value::Object(Map::new()));
    if !slot.is_object() {
        *slot = Value::Object(Map::new());
    }
    slot.as_object_mut().expect("just made an object")
}

/// `NAME@VERSION` (or `NAME` for the newest version) as a `FeatureExtractorConfig`.
fn extractor(spec: &str) -> Result<Value, Failure> {
    let (name, version) = match spec.split_once('@') {
        Some((name, version)) => (name, Some(version)),
        None => (spec, None),
    };
    if name.is_empty() || version.is_some_and(str::is_empty) {
        return Err(Failure::Usage(format!(
            "--extractor {spec:?}: expected NAME@VERSION, e.g. text_extractor@v2"
        )));
    }
    let mut out = Map::new();
    out.insert("feature_extractor_name".into(), name.into());
    if let Some(v) = version {
        out.insert("version".into(), v.into());
    }
    Ok(Value::Object(out))
}

/// A config file: JSON when it parses as JSON, else YAML (a superset for this purpose).
fn read_file(path: &PathBuf) -> Result<Map<String, Value>, Failure> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| Failure::Usage(format!("cannot read {}: {e}", path.display())))?;
    let value: Value = match serde_json::from_str(&text) {
        Ok(v) => v,
        Err(json_error) => serde_yaml_ng::from_str(&text).map_err(|yaml_error| {
            Failure::Usage(format!(
                "{} is neither JSON ({json_error}) nor YAML ({yaml_error})",
                path.display()
            ))
        })?,
    };
    match value {
        Value::Object(map) => Ok(map),
        other => Err(Failure::Usage(format!(
            "{} must hold a MigrationConfig object, not {}",
            path.display(),
            match other {
                Value::Array(_) => "a list",
                Value::Null => "nothing",
                _ => "a single value",
            }
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_override_the_file_and_fill_nested_options() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.yaml");
        std::fs::write(
            &path,
            "migration_type: copy\nsource_namespace_id: a\nbatch_options:\n  batch_size: 10\n",
        )
        .unwrap();
        let args = ConfigArgs {
            config: Some(path),
            source: Some("b".into()),
            max_workers: Some(3),
            extractors: vec!["text_extractor@v2".into()],
            ..Default::default()
        };
        let config = args.build().unwrap();
        assert_eq!(config["migration_type"], "copy");
        assert_eq!(config["source_namespace_id"], "b");
        assert_eq!(config["batch_options"]["batch_size"], 10);
        assert_eq!(config["batch_options"]["max_workers"], 3);
        assert_eq!(
            config["feature_extractors"][0],
            serde_json::json!({"feature_extractor_name": "text_extractor", "version": "v2"})
        );
    }

    #[test]
    fn a_malformed_extractor_or_file_is_a_usage_error() {
        let bad = ConfigArgs {
            extractors: vec!["text_extractor@".into()],
            ..Default::default()
        };
        assert!(matches!(bad.build(), Err(Failure::Usage(_))));
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("list.json");
        std::fs::write(&path, "[1, 2]").unwrap();
        let list = ConfigArgs {
            config: Some(path),
            ..Default::default()
        };
        assert!(matches!(list.build(), Err(Failure::Usage(_))));
    }
}
