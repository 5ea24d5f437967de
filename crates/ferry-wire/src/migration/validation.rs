//! The pre-flight report of a migration: its issues ([`ValidationIssue`], readable in both the
//! spec's and the SDK's shape), the [`ValidationResult`] that splits them by severity, and the
//! [`DependencyGraph`] of the resources selected.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use super::enums::ResourceType;
use crate::validate::{FieldError, Loc};

/// How serious a [`ValidationIssue`] is: errors block the migration, warnings block `start`
/// unless it is forced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum IssueSeverity {
    #[default]
    Error,
    Warning,
}

/// One item of [`ValidationResult::errors`] or [`ValidationResult::warnings`]: the spec's
/// `ValidationError` as the official SDK reads it.
///
/// **Spec vs SDK.** The spec's schema for these items is FastAPI's `ValidationError`
/// (`loc`, `msg`, `type`, all required), while the spec's own example and the SDK's
/// `ValidationError` model use `{error_code, message, resource_id, resource_type, severity}`
/// (`error_code` and `message` required, `severity` defaulting to `"error"`). Each item
/// carries both sets, always all eight keys (`resource_id`/`resource_type` may be `null`), so
/// it satisfies the schema and the SDK: `type` = `error_code` (a stable machine code such as
/// `namespace_name_taken` or `RE_EXTRACT_COST`), `msg` = `message`, `loc` = the path into
/// the request body (e.g. `["config","filters","collection_ids",0]`).
///
/// Reading is lenient: either set alone is enough, and the missing twin is copied from the
/// other, so the spec's example (`error_code`/`message`/`severity` only) reads too.
///
/// In the OpenAPI document it keeps the spec's name, `ValidationError`, the name
/// [`crate::error::ValidationErrorItem`] (the same two sets, for 422 bodies) also has.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(from = "ValidationIssueIn")]
#[schema(as = ValidationError)]
pub struct ValidationIssue {
    /// Location: the path into the request body.
    #[schema(schema_with = crate::error::location_schema)]
    pub loc: Vec<Value>,
    /// Message (same as `message`).
    pub msg: String,
    /// Error type (same as `error_code`).
    #[serde(rename = "type")]
    pub error_type: String,
    /// Error code
    pub error_code: String,
    /// Human-readable error message
    pub message: String,
    /// Related resource ID
    pub resource_id: Option<String>,
    /// Resource type
    pub resource_type: Option<ResourceType>,
    /// Severity: error or warning
    #[schema(inline)]
    pub severity: IssueSeverity,
}

/// What [`ValidationIssue`] reads: either set of keys.
#[derive(Deserialize)]
struct ValidationIssueIn {
    #[serde(default)]
    loc: Option<Vec<Value>>,
    #[serde(default)]
    msg: Option<String>,
    #[serde(default, rename = "type")]
    error_type: Option<String>,
    #[serde(default)]
    error_code: Option<String>,
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    resource_id: Option<String>,
    #[serde(default)]
    resource_type: Option<ResourceType>,
    #[serde(default)]
    severity: Option<IssueSeverity>,
}

impl From<ValidationIssueIn> for ValidationIssue {
    fn from(i: ValidationIssueIn) -> Self {
        let message = i.message.or(i.msg).unwrap_or_default();
        let code = i.error_code.or(i.error_type).unwrap_or_default();
        ValidationIssue {
            loc: i.loc.unwrap_or_else(|| vec![Value::from("config")]),
            msg: message.clone(),
            error_type: code.clone(),
            error_code: code,
            message,
            resource_id: i.resource_id,
            resource_type: i.resource_type,
            severity: i.severity.unwrap_or_default(),
        }
    }
}

impl ValidationIssue {
    /// An issue about the configuration as a whole (`loc` = `["config"]`).
    pub fn new(
        severity: IssueSeverity,
        code: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        let code = code.into();
        let message = message.into();
        ValidationIssue {
            loc: vec![Value::from("config")],
            msg: message.clone(),
            error_type: code.clone(),
            error_code: code,
            message,
            resource_id: None,
            resource_type: None,
            severity,
        }
    }

    /// An error: the migration cannot proceed.
    pub fn error(code: impl Into<String>, message: impl Into<String>) -> Self {
        Self::new(IssueSeverity::Error, code, message)
    }

    /// A warning: `start` refuses it unless forced.
    pub fn warning(code: impl Into<String>, message: impl Into<String>) -> Self {
        Self::new(IssueSeverity::Warning, code, message)
    }

    /// Sets the location, relative to the request body (e.g. `["config", "filters",
    /// "collection_ids", 0]`).
    pub fn at(mut self, loc: impl IntoIterator<Item = Loc>) -> Self {
        self.loc = loc
            .into_iter()
            .map(|segment| Value::from(&segment))
            .collect();
        self
    }

    /// Names the resource concerned.
    pub fn about(mut self, resource_type: ResourceType, resource_id: impl Into<String>) -> Self {
        self.resource_type = Some(resource_type);
        self.resource_id = Some(resource_id.into());
        self
    }
}

impl From<&FieldError> for ValidationIssue {
    fn from(e: &FieldError) -> Self {
        ValidationIssue::error(e.kind, e.msg.clone()).at(e.loc.iter().cloned())
    }
}

/// Result of pre-flight validation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ValidationResult {
    /// Whether migration can proceed
    pub valid: bool,
    /// Validation errors
    #[serde(default)]
    pub errors: Vec<ValidationIssue>,
    /// Validation warnings
    #[serde(default)]
    pub warnings: Vec<ValidationIssue>,
    /// Estimated resource counts, per resource type
    #[serde(default)]
    pub estimated_resources: BTreeMap<ResourceType, u64>,
    /// Estimated migration duration
    pub estimated_duration_seconds: Option<i64>,
}

impl ValidationResult {
    /// A result from its issues: `valid` exactly when there is no error.
    pub fn from_issues(issues: impl IntoIterator<Item = ValidationIssue>) -> Self {
        let (errors, warnings) = issues
            .into_iter()
            .partition::<Vec<_>, _>(|i| i.severity == IssueSeverity::Error);
        ValidationResult {
            valid: errors.is_empty(),
            errors,
            warnings,
            estimated_resources: BTreeMap::new(),
            estimated_duration_seconds: None,
        }
    }
}

/// Node in dependency graph: one resource of the source namespace.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct DependencyNode {
    /// Resource ID
    pub resource_id: String,
    /// Resource type
    pub resource_type: ResourceType,
    /// IDs of resources this depends on
    #[serde(default)]
    pub dependencies: Vec<String>,
    /// Dependency tier (0=no deps; else 1 + the highest tier among its dependencies)
    #[serde(default)]
    #[schema(default = 0, minimum = 0)]
    pub tier: u32,
}

/// Dependency graph for migration ordering.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct DependencyGraph {
    /// All resource nodes
    #[serde(default)]
    pub nodes: Vec<DependencyNode>,
    /// Topologically sorted execution order (resource IDs)
    #[serde(default)]
    pub execution_order: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::migration::test_support::*;
    use serde_json::json;

    #[test]
    fn validation_results_split_issues_by_severity() {
        let result = full_validation_result();
        assert!(!result.valid);
        assert_eq!(result.errors.len(), 1);
        assert_eq!(result.warnings.len(), 1);
        let error = serde_json::to_value(&result.errors[0]).unwrap();
        assert_eq!(
            error,
            json!({
                "loc": ["config", "filters", "collection_ids", 0],
                "msg": "collection col_2 is not selected",
                "type": "missing_dependency",
                "error_code": "missing_dependency",
                "message": "collection col_2 is not selected",
                "resource_id": "col_2",
                "resource_type": "collection",
                "severity": "error"
            })
        );
        assert_eq!(
            serde_json::to_value(&result).unwrap()["estimated_resources"],
            json!({"bucket": 1, "collection": 2})
        );
        assert!(ValidationResult::from_issues([ValidationIssue::warning("w", "w")]).valid);
        let field = FieldError {
            loc: vec!["config".into(), "webhook_url".into()],
            msg: "bad".into(),
            kind: "value_error",
        };
        let issue = ValidationIssue::from(&field);
        assert_eq!(issue.loc, vec![json!("config"), json!("webhook_url")]);
        assert_eq!(
            (issue.error_type.as_str(), issue.msg.as_str()),
            ("value_error", "bad")
        );
    }
}
