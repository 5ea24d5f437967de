//! Fixtures shared by the migration module's tests: the spec document, request parsing as the
//! API does it, and fully and minimally populated values of every response type.

use std::collections::BTreeMap;

use chrono::{DateTime, TimeZone, Utc};
use serde::de::DeserializeOwned;
use serde_json::{json, Map, Value};

use super::*;
use crate::validate::{FieldError, Loc, Validate};

/// The normative spec; the worktree and `shared/` are both directly under the same folder.
const SPEC_PATH: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/spec/migrations.openapi.json"
);

pub(super) fn spec() -> Value {
    let text =
        std::fs::read_to_string(SPEC_PATH).unwrap_or_else(|e| panic!("reading {SPEC_PATH}: {e}"));
    serde_json::from_str(&text).unwrap()
}

pub(super) fn schema(spec: &Value, name: &str) -> Value {
    spec["components"]["schemas"][name].clone()
}

/// Parses as the API does (so errors carry a path) and returns the request-level errors.
pub(super) fn parse<T: DeserializeOwned + Validate>(
    body: Value,
) -> Result<(T, Vec<FieldError>), String> {
    let value: T = serde_path_to_error::deserialize(body).map_err(|e| e.to_string())?;
    let errors = value.validation_errors();
    Ok((value, errors))
}

pub(super) fn locs(errors: &[FieldError]) -> Vec<(Vec<Loc>, &'static str)> {
    errors.iter().map(|e| (e.loc.clone(), e.kind)).collect()
}

pub(super) fn loc(segments: &[&str]) -> Vec<Loc> {
    segments.iter().map(|s| Loc::from(*s)).collect()
}

pub(super) fn at(seconds: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(1_764_756_000 + seconds, 0).unwrap()
}

pub(super) fn full_config() -> MigrationConfig {
    MigrationConfig {
        migration_type: MigrationType::ReExtract,
        source_namespace_id: "ns_src".into(),
        target_namespace_id: Some("ns_dst".into()),
        target_namespace_name: Some("dst".into()),
        feature_extractors: Some(vec![FeatureExtractorConfig {
            feature_extractor_name: "text_extractor".into(),
            version: Some("v2".into()),
            parameters: Some(Map::from_iter([("model".into(), json!("m"))])),
        }]),
        filters: Some(ResourceFilter {
            collection_ids: Some(vec!["col_1".into()]),
            taxonomy_ids: Some(vec!["tax_1".into()]),
            cluster_ids: Some(vec!["clu_1".into()]),
            retriever_ids: Some(vec!["ret_1".into()]),
            date_range: Some(BTreeMap::from([
                ("after".into(), "2025-01-01T00:00:00Z".into()),
                ("before".into(), "2025-12-31".into()),
            ])),
            auto_include_dependencies: false,
        }),
        batch_options: Some(BatchOptions::default()),
        taxonomy_options: Some(TaxonomyOptions::default()),
        cluster_options: Some(ClusterOptions::default()),
        retriever_options: Some(RetrieverOptions::default()),
        preserve_resource_ids: true,
        dry_run: true,
        webhook_url: Some("https://hooks.example.com/ferry".into()),
    }
}

pub(super) fn full_validation_result() -> ValidationResult {
    let mut result = ValidationResult::from_issues([
        ValidationIssue::error("missing_dependency", "collection col_2 is not selected")
            .at([
                Loc::from("config"),
                "filters".into(),
                "collection_ids".into(),
                0.into(),
            ])
            .about(ResourceType::Collection, "col_2"),
        ValidationIssue::warning("RE_EXTRACT_COST", "12 documents will be reprocessed"),
    ]);
    result.estimated_resources =
        BTreeMap::from([(ResourceType::Bucket, 1), (ResourceType::Collection, 2)]);
    result.estimated_duration_seconds = Some(30);
    result
}

pub(super) fn full_graph() -> DependencyGraph {
    DependencyGraph {
        nodes: vec![
            DependencyNode {
                resource_id: "bkt_1".into(),
                resource_type: ResourceType::Bucket,
                dependencies: vec![],
                tier: 0,
            },
            DependencyNode {
                resource_id: "col_1".into(),
                resource_type: ResourceType::Collection,
                dependencies: vec!["bkt_1".into()],
                tier: 1,
            },
        ],
        execution_order: vec!["bkt_1".into(), "col_1".into()],
    }
}

pub(super) fn full_progress() -> MigrationProgress {
    let mut progress = MigrationProgress::new(MigrationStatus::InProgress);
    progress.overall_progress_percent = 42.5;
    progress.current_stage = Some(MigrationStage::BatchProcessing);
    progress.stages[0].status = MigrationStatus::Completed;
    progress.stages[0].started_at = Some(at(0));
    progress.stages[0].completed_at = Some(at(1));
    progress.stages[0].progress_percent = 100.0;
    progress.stages[2].status = MigrationStatus::Failed;
    progress.stages[2].items_total = 10;
    progress.stages[2].items_completed = 4;
    progress.stages[2].items_failed = 1;
    progress.stages[2].error_message = Some("batch 3 failed".into());
    progress.resources = vec![ResourceProgress {
        resource_id: "col_1".into(),
        resource_type: ResourceType::Collection,
        status: MigrationStatus::InProgress,
        progress_percent: 40.0,
        error_message: Some("one batch failed".into()),
    }];
    progress.started_at = Some(at(0));
    progress.estimated_completion = Some(at(600));
    progress
}

pub(super) fn full_get() -> GetMigrationResponse {
    GetMigrationResponse {
        migration_id: "mig_1".into(),
        internal_id: "org_1".into(),
        namespace_id: "ns_src".into(),
        config: full_config(),
        status: MigrationStatus::InProgress,
        progress: full_progress(),
        validation_result: Some(full_validation_result()),
        dependency_graph: Some(full_graph()),
        task_id: Some("task_1".into()),
        created_at: at(-10),
        started_at: Some(at(0)),
        completed_at: Some(at(700)),
        error_message: Some("boom".into()),
        additional_data: Map::from_iter([("plan".into(), json!({"batches": 3}))]),
    }
}

pub(super) fn minimal_get() -> GetMigrationResponse {
    GetMigrationResponse {
        migration_id: "mig_2".into(),
        internal_id: "org_1".into(),
        namespace_id: "ns_src".into(),
        config: MigrationConfig::new(MigrationType::Copy, "ns_src"),
        status: MigrationStatus::Draft,
        progress: MigrationProgress::new(MigrationStatus::Draft),
        validation_result: None,
        dependency_graph: None,
        task_id: None,
        created_at: at(0),
        started_at: None,
        completed_at: None,
        error_message: None,
        additional_data: Map::new(),
    }
}
