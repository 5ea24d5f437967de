//! The request bodies that act on one migration: create, validate (without creating), start
//! and cancel. Start and cancel take an optional body.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::config::MigrationConfig;
use crate::validate::{Errors, Validate};

/// Request to create a new migration (`POST /v1/namespaces/migrations/`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "config": {
        "feature_extractors": [{
            "feature_extractor_name": "openai_text_embedding",
            "parameters": {"model": "text-embedding-3-large"},
            "version": "v3"
        }],
        "migration_type": "re_extract",
        "source_namespace_id": "ns_abc123",
        "target_namespace_name": "my_namespace_v2"
    },
    "start_immediately": false
}))]
pub struct CreateMigrationRequest {
    /// Migration configuration
    pub config: MigrationConfig,
    /// Start execution immediately after validation
    #[serde(default)]
    #[schema(default = false)]
    pub start_immediately: bool,
}

impl Validate for CreateMigrationRequest {
    fn validate(&self, errors: &mut Errors) {
        errors.at("config", |errors| self.config.validate(errors));
    }
}

/// Request to validate a migration configuration without creating it
/// (`POST /v1/namespaces/migrations/validate`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ValidateMigrationRequest {
    /// Migration configuration
    pub config: MigrationConfig,
}

impl Validate for ValidateMigrationRequest {
    fn validate(&self, errors: &mut Errors) {
        errors.at("config", |errors| self.config.validate(errors));
    }
}

/// Request to start a migration (`POST /v1/namespaces/migrations/{id}/start`). The body is
/// optional; without one it is `{"force": false}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StartMigrationRequest {
    /// Force start even if validation warnings exist
    #[serde(default)]
    #[schema(default = false)]
    pub force: bool,
}

impl Validate for StartMigrationRequest {
    fn validate(&self, _errors: &mut Errors) {}
}

/// Request to cancel a migration (`POST /v1/namespaces/migrations/{id}/cancel`). The body is
/// optional; without one it is `{}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CancelMigrationRequest {
    /// Cancellation reason
    pub reason: Option<String>,
}

impl Validate for CancelMigrationRequest {
    fn validate(&self, _errors: &mut Errors) {}
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::migration::test_support::*;
    use crate::migration::{ListMigrationsRequest, MigrationType};
    use serde_json::{json, Value};

    #[test]
    fn defaults_are_the_spec_defaults() {
        let (req, errors) = parse::<CreateMigrationRequest>(json!({
            "config": {"migration_type": "copy", "source_namespace_id": "ns_x"}
        }))
        .unwrap();
        assert!(errors.is_empty());
        assert_eq!(
            serde_json::to_value(&req).unwrap(),
            json!({
                "config": {
                    "migration_type": "copy",
                    "source_namespace_id": "ns_x",
                    "target_namespace_id": null,
                    "target_namespace_name": null,
                    "feature_extractors": null,
                    "filters": null,
                    "batch_options": null,
                    "taxonomy_options": null,
                    "cluster_options": null,
                    "retriever_options": null,
                    "preserve_resource_ids": false,
                    "dry_run": false,
                    "webhook_url": null
                },
                "start_immediately": false
            })
        );
        // Empty option objects take every default the spec states.
        let (req, _) = parse::<CreateMigrationRequest>(json!({
            "config": {"migration_type": "copy", "source_namespace_id": "ns_x",
                       "filters": {}, "batch_options": {}, "taxonomy_options": {},
                       "cluster_options": {}, "retriever_options": {}}
        }))
        .unwrap();
        let config = serde_json::to_value(&req.config).unwrap();
        assert_eq!(
            config["filters"],
            json!({"collection_ids": null, "taxonomy_ids": null, "cluster_ids": null,
                   "retriever_ids": null, "date_range": null, "auto_include_dependencies": true})
        );
        assert_eq!(
            config["batch_options"],
            json!({"batch_size": 100, "max_workers": 10, "retry_failed": true})
        );
        assert_eq!(
            config["taxonomy_options"],
            json!({"preserve_taxonomy_ids": true, "preserve_enrichment_fields": true,
                   "re_run_enrichment": false, "migrate_reference_collections": true})
        );
        assert_eq!(
            config["cluster_options"],
            json!({"preserve_cluster_ids": true, "preserve_assignments": true,
                   "migrate_artifacts": true, "preserve_centroids": true,
                   "recompute_clusters": false})
        );
        assert_eq!(
            config["retriever_options"],
            json!({"preserve_retriever_ids": false, "migrate_interactions": false,
                   "migrate_execution_history": false, "validate_references": true})
        );
        // The `…_or_default` accessors agree with what an empty object gives.
        let bare = MigrationConfig::new(MigrationType::Copy, "ns_x");
        assert_eq!(
            bare.batch_options_or_default(),
            req.config.batch_options.unwrap()
        );
        assert_eq!(bare.filters_or_default(), req.config.filters.unwrap());
        assert_eq!(
            bare.taxonomy_options_or_default(),
            req.config.taxonomy_options.unwrap()
        );
        assert_eq!(
            bare.cluster_options_or_default(),
            req.config.cluster_options.unwrap()
        );
        assert_eq!(
            bare.retriever_options_or_default(),
            req.config.retriever_options.unwrap()
        );

        let (list, _) = parse::<ListMigrationsRequest>(json!({})).unwrap();
        assert_eq!(list, ListMigrationsRequest::default());
        assert_eq!((list.limit, list.offset), (20, 0));
        assert!(!parse::<StartMigrationRequest>(json!({})).unwrap().0.force);
        assert_eq!(
            parse::<CancelMigrationRequest>(json!({})).unwrap().0.reason,
            None
        );
    }

    #[test]
    fn out_of_range_numbers_are_located() {
        let (_, errors) = parse::<CreateMigrationRequest>(json!({
            "config": {"migration_type": "copy", "source_namespace_id": "ns_x",
                       "batch_options": {"batch_size": 0, "max_workers": 51}}
        }))
        .unwrap();
        assert_eq!(
            locs(&errors),
            vec![
                (
                    loc(&["config", "batch_options", "batch_size"]),
                    "greater_than_equal"
                ),
                (
                    loc(&["config", "batch_options", "max_workers"]),
                    "less_than_equal"
                ),
            ]
        );
        let (_, errors) = parse::<ValidateMigrationRequest>(json!({
            "config": {"migration_type": "copy", "source_namespace_id": "ns_x",
                       "batch_options": {"batch_size": 1001, "max_workers": 0}}
        }))
        .unwrap();
        assert_eq!(
            locs(&errors),
            vec![
                (
                    loc(&["config", "batch_options", "batch_size"]),
                    "less_than_equal"
                ),
                (
                    loc(&["config", "batch_options", "max_workers"]),
                    "greater_than_equal"
                ),
            ]
        );
        let (_, errors) =
            parse::<CreateMigrationRequest>(json!({"config": {"migration_type": "copy",
                "source_namespace_id": "ns_x",
                "batch_options": {"batch_size": 1000, "max_workers": 50}}}))
            .unwrap();
        assert!(errors.is_empty(), "the bounds are inclusive");

        let (_, errors) =
            parse::<ListMigrationsRequest>(json!({"limit": 0, "offset": -1})).unwrap();
        assert_eq!(
            locs(&errors),
            vec![
                (loc(&["limit"]), "greater_than_equal"),
                (loc(&["offset"]), "greater_than_equal"),
            ]
        );
        let (_, errors) = parse::<ListMigrationsRequest>(json!({"limit": 1001})).unwrap();
        assert_eq!(locs(&errors), vec![(loc(&["limit"]), "less_than_equal")]);
        let (_, errors) =
            parse::<ListMigrationsRequest>(json!({"limit": 1000, "offset": 0})).unwrap();
        assert!(errors.is_empty());
    }

    #[test]
    fn unknown_keys_wrong_types_and_unknown_enum_values_are_refused() {
        let refused = |body: Value| parse::<CreateMigrationRequest>(body).unwrap_err();
        let base = || json!({"migration_type": "copy", "source_namespace_id": "ns_x"});
        let e = refused(json!({"config": base(), "start_now": true}));
        assert!(e.contains("unknown field `start_now`"), "{e}");
        let mut config = base();
        config["colour"] = json!("red");
        let e = refused(json!({"config": config}));
        assert!(
            e.starts_with("config.colour: unknown field `colour`"),
            "{e}"
        );
        for (option, key) in [
            ("batch_options", "batch"),
            ("filters", "collections"),
            ("taxonomy_options", "x"),
            ("cluster_options", "x"),
            ("retriever_options", "x"),
        ] {
            let mut config = base();
            config[option] = json!({key: 1});
            let e = refused(json!({"config": config}));
            assert!(
                e.starts_with(&format!("config.{option}.{key}: unknown field `{key}`")),
                "{e}"
            );
        }
        let mut config = base();
        config["feature_extractors"] = json!([{"feature_extractor_name": "x", "params": {}}]);
        assert!(refused(json!({"config": config})).contains("unknown field `params`"));
        let mut config = base();
        config["migration_type"] = json!("merge");
        assert!(refused(json!({"config": config})).contains("unknown variant `merge`"));
        let mut config = base();
        config["batch_options"] = json!({"batch_size": null});
        assert!(refused(json!({"config": config})).contains("invalid type: null"));
        assert!(refused(json!({})).contains("missing field `config`"));
        assert!(refused(json!({"config": {"migration_type": "copy"}}))
            .contains("missing field `source_namespace_id`"));
        assert!(parse::<ListMigrationsRequest>(json!({"page": 2})).is_err());
        assert!(parse::<ListMigrationsRequest>(json!({"status": "running"})).is_err());
        assert!(parse::<StartMigrationRequest>(json!({"force": true, "now": 1})).is_err());
        assert!(parse::<CancelMigrationRequest>(json!({"why": "x"})).is_err());
        assert!(parse::<ValidateMigrationRequest>(json!({"config": base(), "x": 1})).is_err());
        // `null` is accepted where the spec allows it.
        let (list, errors) = parse::<ListMigrationsRequest>(
            json!({"status": null, "migration_type": null, "source_namespace_id": null}),
        )
        .unwrap();
        assert!(errors.is_empty() && list.status.is_none());
    }
}
