//! Conformance of the migration types to the spec document: every schema has exactly its
//! properties on the wire, under the spec's names, with the spec's defaults and bounds, and the
//! spec's examples read back.

use std::collections::BTreeSet;

use serde_json::{json, Value};

use super::test_support::*;
use super::*;

/// A representative value of every type with properties, fully and minimally populated,
/// keyed by the spec's schema name.
fn samples() -> Vec<(&'static str, Value)> {
    let v = |x: &dyn erased::Ser| x.value();
    let full_get = full_get();
    let minimal_get = minimal_get();
    let start = StartMigrationResponse {
        migration_id: "mig_1".into(),
        status: MigrationStatus::Pending,
        task_id: "task_1".into(),
        started_at: at(0),
        message: "Migration started".into(),
    };
    let cancel = CancelMigrationResponse {
        migration_id: "mig_1".into(),
        status: MigrationStatus::Cancelled,
        cancelled_at: at(5),
        message: "Migration cancelled".into(),
    };
    let created = |validation_result| CreateMigrationResponse {
        migration_id: "mig_1".into(),
        status: MigrationStatus::Draft,
        validation_result,
        created_at: at(0),
        message: "Migration created".into(),
    };
    let validated = |dependency_graph| ValidateMigrationResponse {
        validation_result: full_validation_result(),
        dependency_graph,
        message: "Configuration is valid".into(),
    };
    vec![
        ("BatchOptions", v(&BatchOptions::default())),
        (
            "CancelMigrationRequest",
            v(&CancelMigrationRequest::default()),
        ),
        ("CancelMigrationResponse", v(&cancel)),
        ("ClusterOptions", v(&ClusterOptions::default())),
        (
            "CreateMigrationRequest",
            v(&CreateMigrationRequest {
                config: full_config(),
                start_immediately: true,
            }),
        ),
        (
            "CreateMigrationResponse",
            v(&created(Some(full_validation_result()))),
        ),
        ("CreateMigrationResponse", v(&created(None))),
        ("DependencyGraph", v(&full_graph())),
        ("DependencyNode", v(&full_graph().nodes[1])),
        ("GetMigrationResponse", v(&full_get)),
        ("GetMigrationResponse", v(&minimal_get)),
        (
            "ListMigrationsRequest",
            v(&ListMigrationsRequest::default()),
        ),
        (
            "ListMigrationsResponse",
            v(&ListMigrationsResponse {
                results: vec![full_get.clone(), minimal_get.clone()],
                total: 2,
                limit: 20,
                offset: 0,
            }),
        ),
        ("MigrationConfig", v(&full_config())),
        (
            "MigrationConfig",
            v(&MigrationConfig::new(MigrationType::Copy, "ns")),
        ),
        ("MigrationProgress", v(&full_progress())),
        (
            "MigrationProgress",
            v(&MigrationProgress::new(MigrationStatus::Draft)),
        ),
        ("ResourceFilter", v(&full_config().filters.unwrap())),
        ("ResourceFilter", v(&ResourceFilter::default())),
        ("ResourceProgress", v(&full_progress().resources[0])),
        ("RetrieverOptions", v(&RetrieverOptions::default())),
        ("StageProgress", v(&full_progress().stages[0])),
        (
            "StageProgress",
            v(&StageProgress::pending(MigrationStage::Finalization)),
        ),
        (
            "StartMigrationRequest",
            v(&StartMigrationRequest::default()),
        ),
        ("StartMigrationResponse", v(&start)),
        ("TaxonomyOptions", v(&TaxonomyOptions::default())),
        (
            "ValidateMigrationRequest",
            v(&ValidateMigrationRequest {
                config: full_config(),
            }),
        ),
        (
            "ValidateMigrationResponse",
            v(&validated(Some(full_graph()))),
        ),
        ("ValidateMigrationResponse", v(&validated(None))),
        ("ValidationError", v(&full_validation_result().errors[0])),
        ("ValidationError", v(&full_validation_result().warnings[0])),
        ("ValidationResult", v(&full_validation_result())),
        ("ValidationResult", v(&ValidationResult::from_issues([]))),
        (
            "shared__namespaces__migrations__models__FeatureExtractorConfig",
            v(&full_config().feature_extractors.unwrap()[0]),
        ),
    ]
}

/// Serializes any sample without naming its type in the list above.
mod erased {
    pub trait Ser {
        fn value(&self) -> serde_json::Value;
    }
    impl<T: serde::Serialize> Ser for T {
        fn value(&self) -> serde_json::Value {
            serde_json::to_value(self).unwrap()
        }
    }
}

/// Keys the SDK's `ValidationError` reads that the spec's (FastAPI's) does not list.
const SDK_ONLY_ISSUE_KEYS: [&str; 5] = [
    "error_code",
    "message",
    "resource_id",
    "resource_type",
    "severity",
];

#[test]
fn every_spec_schema_has_exactly_its_properties_on_the_wire() {
    let spec = spec();
    let schemas = spec["components"]["schemas"].as_object().unwrap();
    let samples = samples();
    for (name, schema) in schemas {
        if matches!(
            name.as_str(),
            "ErrorDetail" | "ErrorResponse" | "HTTPValidationError"
        ) {
            continue;
        }
        if let Some(values) = schema.get("enum") {
            let wire: Vec<Value> = match name.as_str() {
                "MigrationType" => MigrationType::ALL.iter().map(|x| json!(x)).collect(),
                "MigrationStatus" => MigrationStatus::ALL.iter().map(|x| json!(x)).collect(),
                "MigrationStage" => MigrationStage::ALL.iter().map(|x| json!(x)).collect(),
                "shared__namespaces__migrations__models__ResourceType" => {
                    ResourceType::ALL.iter().map(|x| json!(x)).collect()
                }
                other => panic!("no Rust enumeration for {other}"),
            };
            assert_eq!(&Value::Array(wire), values, "{name}");
            continue;
        }
        let declared: BTreeSet<&str> = schema["properties"]
            .as_object()
            .unwrap_or_else(|| panic!("{name} has no properties"))
            .keys()
            .map(String::as_str)
            .collect();
        let mut expected = declared.clone();
        if name == "ValidationError" {
            expected.extend(SDK_ONLY_ISSUE_KEYS);
        }
        let mine: Vec<&Value> = samples
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, v)| v)
            .collect();
        assert!(!mine.is_empty(), "no sample for {name}");
        for value in mine {
            let keys: BTreeSet<&str> = value
                .as_object()
                .unwrap()
                .keys()
                .map(String::as_str)
                .collect();
            assert_eq!(keys, expected, "{name}: {value}");
        }
    }
    // Every sample names a schema of the spec.
    for (name, _) in &samples {
        assert!(schemas.contains_key(*name), "{name} is not in the spec");
    }
}

#[test]
fn openapi_names_are_the_spec_names() {
    use utoipa::ToSchema;
    let spec = spec();
    let names = [
        BatchOptions::name(),
        CancelMigrationRequest::name(),
        CancelMigrationResponse::name(),
        ClusterOptions::name(),
        CreateMigrationRequest::name(),
        CreateMigrationResponse::name(),
        DependencyGraph::name(),
        DependencyNode::name(),
        GetMigrationResponse::name(),
        ListMigrationsRequest::name(),
        ListMigrationsResponse::name(),
        MigrationConfig::name(),
        MigrationProgress::name(),
        MigrationStage::name(),
        MigrationStatus::name(),
        MigrationType::name(),
        ResourceFilter::name(),
        ResourceProgress::name(),
        RetrieverOptions::name(),
        StageProgress::name(),
        StartMigrationRequest::name(),
        StartMigrationResponse::name(),
        TaxonomyOptions::name(),
        ValidateMigrationRequest::name(),
        ValidateMigrationResponse::name(),
        ValidationIssue::name(),
        ValidationResult::name(),
        FeatureExtractorConfig::name(),
        ResourceType::name(),
    ];
    let spec_names: BTreeSet<&str> = spec["components"]["schemas"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .filter(|n| !matches!(*n, "ErrorDetail" | "ErrorResponse" | "HTTPValidationError"))
        .collect();
    let mine: BTreeSet<&str> = names.iter().map(|n| n.as_ref()).collect();
    assert_eq!(mine, spec_names);
}

#[test]
fn spec_request_examples_parse_and_validate() {
    let spec = spec();
    let example = schema(&spec, "CreateMigrationRequest")["example"].clone();
    let (req, errors) = parse::<CreateMigrationRequest>(example).unwrap();
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(req.config.migration_type, MigrationType::ReExtract);
    assert_eq!(
        req.config.target_namespace_name.as_deref(),
        Some("my_namespace_v2")
    );
    let extractor = &req.config.feature_extractors.as_ref().unwrap()[0];
    assert_eq!(extractor.version.as_deref(), Some("v3"));
    assert_eq!(
        extractor.parameters.as_ref().unwrap()["model"],
        "text-embedding-3-large"
    );
    // The bodies the start and cancel endpoints assume when none is sent.
    let paths = &spec["paths"];
    let start = &paths["/v1/namespaces/migrations/{migration_id}/start"]["post"];
    let default = start["requestBody"]["content"]["application/json"]["schema"]["default"].clone();
    assert_eq!(
        parse::<StartMigrationRequest>(default).unwrap().0,
        StartMigrationRequest::default()
    );
    let cancel = &paths["/v1/namespaces/migrations/{migration_id}/cancel"]["post"];
    let default = cancel["requestBody"]["content"]["application/json"]["schema"]["default"].clone();
    assert_eq!(
        parse::<CancelMigrationRequest>(default).unwrap().0,
        CancelMigrationRequest::default()
    );
}

#[test]
fn spec_response_examples_read_and_gain_both_issue_shapes() {
    let spec = spec();
    let created: CreateMigrationResponse =
        serde_json::from_value(schema(&spec, "CreateMigrationResponse")["example"].clone())
            .unwrap();
    let result = created.validation_result.unwrap();
    assert_eq!(result.estimated_resources[&ResourceType::Collection], 5);
    assert_eq!(result.estimated_duration_seconds, Some(1800));
    let started: StartMigrationResponse =
        serde_json::from_value(schema(&spec, "StartMigrationResponse")["example"].clone()).unwrap();
    assert_eq!(started.status, MigrationStatus::Pending);
    let validated: ValidateMigrationResponse =
        serde_json::from_value(schema(&spec, "ValidateMigrationResponse")["example"].clone())
            .unwrap();
    let warning = &validated.validation_result.warnings[0];
    assert_eq!(warning.severity, IssueSeverity::Warning);
    // The SDK-shaped example item is written back with FastAPI's keys as well.
    assert_eq!(
        serde_json::to_value(warning).unwrap(),
        json!({
            "loc": ["config"],
            "msg": "RE_EXTRACT migration will reprocess all documents and incur processing costs",
            "type": "RE_EXTRACT_COST_WARNING",
            "error_code": "RE_EXTRACT_COST_WARNING",
            "message": "RE_EXTRACT migration will reprocess all documents and incur processing costs",
            "resource_id": null,
            "resource_type": null,
            "severity": "warning"
        })
    );
    // A FastAPI-shaped item reads too.
    let fastapi: ValidationIssue = serde_json::from_value(
        json!({"loc": ["config", "source_namespace_id"], "msg": "not found", "type": "source_not_found"}),
    )
    .unwrap();
    assert_eq!(fastapi.error_code, "source_not_found");
    assert_eq!(fastapi.message, "not found");
    assert_eq!(fastapi.severity, IssueSeverity::Error);
}

#[test]
fn defaults_match_the_spec_document() {
    // Each `default` the spec states is what an empty object (or a bare config) yields.
    let spec = spec();
    let bare = json!({"migration_type": "copy", "source_namespace_id": "ns"});
    let cases: Vec<(&str, Value)> = vec![
        (
            "BatchOptions",
            serde_json::to_value(BatchOptions::default()).unwrap(),
        ),
        (
            "TaxonomyOptions",
            serde_json::to_value(TaxonomyOptions::default()).unwrap(),
        ),
        (
            "ClusterOptions",
            serde_json::to_value(ClusterOptions::default()).unwrap(),
        ),
        (
            "RetrieverOptions",
            serde_json::to_value(RetrieverOptions::default()).unwrap(),
        ),
        (
            "ResourceFilter",
            serde_json::to_value(ResourceFilter::default()).unwrap(),
        ),
        (
            "ListMigrationsRequest",
            serde_json::to_value(ListMigrationsRequest::default()).unwrap(),
        ),
        (
            "StartMigrationRequest",
            serde_json::to_value(StartMigrationRequest::default()).unwrap(),
        ),
        (
            "MigrationConfig",
            serde_json::to_value(serde_json::from_value::<MigrationConfig>(bare.clone()).unwrap())
                .unwrap(),
        ),
        (
            "CreateMigrationRequest",
            serde_json::to_value(
                serde_json::from_value::<CreateMigrationRequest>(json!({"config": bare})).unwrap(),
            )
            .unwrap(),
        ),
        (
            "StageProgress",
            serde_json::to_value(
                serde_json::from_value::<StageProgress>(
                    json!({"stage": "finalization", "status": "pending"}),
                )
                .unwrap(),
            )
            .unwrap(),
        ),
        (
            "ResourceProgress",
            serde_json::to_value(
                serde_json::from_value::<ResourceProgress>(json!({
                    "resource_id": "col_1", "resource_type": "collection", "status": "pending"
                }))
                .unwrap(),
            )
            .unwrap(),
        ),
        (
            "MigrationProgress",
            serde_json::to_value(
                serde_json::from_value::<MigrationProgress>(json!({"overall_status": "draft"}))
                    .unwrap(),
            )
            .unwrap(),
        ),
        (
            "DependencyNode",
            serde_json::to_value(
                serde_json::from_value::<DependencyNode>(
                    json!({"resource_id": "bkt_1", "resource_type": "bucket"}),
                )
                .unwrap(),
            )
            .unwrap(),
        ),
    ];
    for (name, value) in cases {
        for (key, property) in schema(&spec, name)["properties"].as_object().unwrap() {
            if let Some(default) = property.get("default") {
                let mine = &value[key];
                let same = match (mine.as_f64(), default.as_f64()) {
                    (Some(a), Some(b)) => a == b,
                    _ => mine == default,
                };
                assert!(same, "{name}.{key}: {mine} vs the spec's {default}");
            }
        }
    }
}

#[test]
fn openapi_schemas_state_the_spec_contract() {
    use utoipa::openapi::{ComponentsBuilder, OpenApiBuilder};
    use utoipa::ToSchema;

    let mut schemas = Vec::new();
    ListMigrationsResponse::schemas(&mut schemas);
    CreateMigrationRequest::schemas(&mut schemas);
    ListMigrationsRequest::schemas(&mut schemas);
    CreateMigrationResponse::schemas(&mut schemas);
    ValidateMigrationResponse::schemas(&mut schemas);
    let mut components = ComponentsBuilder::new();
    for (name, schema) in schemas {
        components = components.schema(name, schema);
    }
    macro_rules! top {
        ($($t:ty),*) => { $( components = components.schema(<$t>::name(), <$t as utoipa::PartialSchema>::schema()); )* };
    }
    top!(
        CreateMigrationRequest,
        ValidateMigrationRequest,
        ListMigrationsRequest,
        StartMigrationRequest,
        CancelMigrationRequest,
        GetMigrationResponse,
        ListMigrationsResponse,
        CreateMigrationResponse,
        ValidateMigrationResponse,
        StartMigrationResponse,
        CancelMigrationResponse
    );
    let doc = OpenApiBuilder::new()
        .components(Some(components.build()))
        .build();
    let doc = serde_json::to_value(&doc).unwrap();
    let mine = doc["components"]["schemas"].as_object().unwrap();
    let spec = spec();
    for (name, theirs) in spec["components"]["schemas"].as_object().unwrap() {
        if matches!(
            name.as_str(),
            "ErrorDetail" | "ErrorResponse" | "HTTPValidationError"
        ) {
            continue;
        }
        let ours = mine.get(name).unwrap_or_else(|| panic!("{name} missing"));
        if let Some(values) = theirs.get("enum") {
            assert_eq!(ours.get("enum"), Some(values), "{name}");
            continue;
        }
        let keys = |s: &Value| -> BTreeSet<String> {
            s["properties"]
                .as_object()
                .unwrap()
                .keys()
                .cloned()
                .collect()
        };
        let required = |s: &Value| -> BTreeSet<String> {
            s.get("required")
                .and_then(Value::as_array)
                .map(|r| r.iter().map(|k| k.as_str().unwrap().to_owned()).collect())
                .unwrap_or_default()
        };
        if name == "ValidationError" {
            // Both shapes (see `ValidationIssue`): the spec's keys, all still required.
            assert!(keys(theirs).is_subset(&keys(ours)), "{name}");
            assert!(required(theirs).is_subset(&required(ours)), "{name}");
        } else {
            assert_eq!(keys(ours), keys(theirs), "{name}");
            assert_eq!(required(ours), required(theirs), "{name}");
        }
        for (key, property) in theirs["properties"].as_object().unwrap() {
            for attr in ["default", "minimum", "maximum"] {
                let same = match (property.get(attr), ours["properties"][key].get(attr)) {
                    (Some(a), Some(b)) => a.as_f64().map_or(a == b, |a| Some(a) == b.as_f64()),
                    (a, b) => a == b,
                };
                assert!(same, "{name}.{key}: {attr} differs from the spec");
            }
        }
    }
}
