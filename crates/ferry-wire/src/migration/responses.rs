//! The migration record ([`GetMigrationResponse`], also the items of a list) and the answers
//! to create, validate, start and cancel.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::ToSchema;

use super::config::MigrationConfig;
use super::enums::MigrationStatus;
use super::progress::MigrationProgress;
use super::validation::{DependencyGraph, ValidationResult};

/// Response for getting migration details (`GET /v1/namespaces/migrations/{id}`; also the
/// items of [`ListMigrationsResponse::results`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct GetMigrationResponse {
    /// Migration ID
    pub migration_id: String,
    /// Organization internal ID
    pub internal_id: String,
    /// Source namespace ID
    pub namespace_id: String,
    /// Migration configuration
    pub config: MigrationConfig,
    /// Current status
    pub status: MigrationStatus,
    /// Progress tracking
    pub progress: MigrationProgress,
    /// Validation result
    pub validation_result: Option<ValidationResult>,
    /// Dependency graph
    pub dependency_graph: Option<DependencyGraph>,
    /// Task ID for tracking migration progress (`GET /v1/tasks/{task_id}`)
    pub task_id: Option<String>,
    /// Creation timestamp
    pub created_at: DateTime<Utc>,
    /// Start timestamp
    pub started_at: Option<DateTime<Utc>>,
    /// Completion timestamp
    pub completed_at: Option<DateTime<Utc>>,
    /// Error if failed
    pub error_message: Option<String>,
    /// Additional metadata (e.g. a dry run's plan, benchmark results). Always an object: the
    /// spec does not make it nullable (the SDK would also take `null`).
    #[serde(default)]
    pub additional_data: Map<String, Value>,
}

/// Response after creating a migration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({
    "created_at": "2025-12-03T10:00:00Z",
    "message": "Migration created successfully. Use POST /migrations/{id}/start to begin execution.",
    "migration_id": "mig_abc123xyz789",
    "status": "draft",
    "validation_result": {
        "errors": [],
        "estimated_duration_seconds": 1800,
        "estimated_resources": {"cluster": 1, "collection": 5, "taxonomy": 2},
        "valid": true,
        "warnings": []
    }
}))]
pub struct CreateMigrationResponse {
    /// Created migration ID
    pub migration_id: String,
    /// Current status
    pub status: MigrationStatus,
    /// Validation result if available
    pub validation_result: Option<ValidationResult>,
    /// Creation timestamp
    pub created_at: DateTime<Utc>,
    /// Human-readable message
    pub message: String,
}

/// Response for migration validation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({
    "message": "Configuration is valid with 1 warning",
    "validation_result": {
        "errors": [],
        "estimated_duration_seconds": 1800,
        "estimated_resources": {"collection": 5, "taxonomy": 2},
        "valid": true,
        "warnings": [{
            "error_code": "RE_EXTRACT_COST_WARNING",
            "message": "RE_EXTRACT migration will reprocess all documents and incur processing costs",
            "severity": "warning"
        }]
    }
}))]
pub struct ValidateMigrationResponse {
    /// Validation result
    pub validation_result: ValidationResult,
    /// Dependency graph if validation passed
    pub dependency_graph: Option<DependencyGraph>,
    /// Human-readable message
    pub message: String,
}

/// Response after starting a migration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({
    "message": "Migration started successfully. Track progress at GET /migrations/{id}",
    "migration_id": "mig_abc123xyz789",
    "started_at": "2025-12-03T10:05:00Z",
    "status": "pending",
    "task_id": "task_xyz789"
}))]
pub struct StartMigrationResponse {
    /// Migration ID
    pub migration_id: String,
    /// Current status
    pub status: MigrationStatus,
    /// Task ID for tracking migration progress (`GET /v1/tasks/{task_id}`).
    ///
    /// **Spec vs SDK:** the spec describes it as "Celery task ID"; the SDK's description (used
    /// here) names what it is for. Same type and requiredness in both.
    pub task_id: String,
    /// Start timestamp
    pub started_at: DateTime<Utc>,
    /// Human-readable message
    pub message: String,
}

/// Response after cancelling a migration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct CancelMigrationResponse {
    /// Migration ID
    pub migration_id: String,
    /// Current status
    pub status: MigrationStatus,
    /// Cancellation timestamp
    pub cancelled_at: DateTime<Utc>,
    /// Human-readable message
    pub message: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::migration::test_support::*;
    use crate::migration::MigrationStage;
    use serde_json::json;

    #[test]
    fn responses_write_null_for_absent_values() {
        let value = serde_json::to_value(minimal_get()).unwrap();
        for key in [
            "validation_result",
            "dependency_graph",
            "task_id",
            "started_at",
            "completed_at",
            "error_message",
        ] {
            assert_eq!(value[key], Value::Null, "{key}");
        }
        assert_eq!(value["additional_data"], json!({}));
        assert_eq!(value["created_at"], json!("2025-12-03T10:00:00Z"));
        let stages = value["progress"]["stages"].as_array().unwrap();
        let names: Vec<&str> = stages
            .iter()
            .map(|s| s["stage"].as_str().unwrap())
            .collect();
        assert_eq!(
            names,
            MigrationStage::ALL.map(MigrationStage::as_str).to_vec(),
            "all seven stages, in order"
        );
        assert!(stages
            .iter()
            .all(|s| s["status"] == "pending" && s["started_at"].is_null()));
        // Responses read back as they were written.
        let full = full_get();
        let back: GetMigrationResponse =
            serde_json::from_value(serde_json::to_value(&full).unwrap()).unwrap();
        assert_eq!(back, full);
    }
}
