//! Progress of a migration as responses report it: overall, per stage (all seven, in run
//! order) and per resource.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::enums::{MigrationStage, MigrationStatus, ResourceType};

/// Progress tracking for a migration stage.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct StageProgress {
    /// Stage name
    pub stage: MigrationStage,
    /// Stage status. Ferry uses `pending` (not reached), `in_progress`, `completed` (also for
    /// a stage with nothing to do: zero items), `failed` and `cancelled`.
    pub status: MigrationStatus,
    /// Stage start time
    pub started_at: Option<DateTime<Utc>>,
    /// Stage completion time
    pub completed_at: Option<DateTime<Utc>>,
    /// Progress %
    #[serde(default)]
    #[schema(default = 0, minimum = 0, maximum = 100)]
    pub progress_percent: f64,
    /// Total items to process
    #[serde(default)]
    #[schema(default = 0, minimum = 0)]
    pub items_total: u64,
    /// Items completed
    #[serde(default)]
    #[schema(default = 0, minimum = 0)]
    pub items_completed: u64,
    /// Items failed
    #[serde(default)]
    #[schema(default = 0, minimum = 0)]
    pub items_failed: u64,
    /// Error if failed
    pub error_message: Option<String>,
}

impl StageProgress {
    /// A stage not yet reached.
    pub fn pending(stage: MigrationStage) -> Self {
        StageProgress {
            stage,
            status: MigrationStatus::Pending,
            started_at: None,
            completed_at: None,
            progress_percent: 0.0,
            items_total: 0,
            items_completed: 0,
            items_failed: 0,
            error_message: None,
        }
    }
}

/// Progress tracking for individual resources.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ResourceProgress {
    /// Resource ID
    pub resource_id: String,
    /// Resource type
    pub resource_type: ResourceType,
    /// Resource status (the values [`StageProgress::status`] uses)
    pub status: MigrationStatus,
    /// Progress %
    #[serde(default)]
    #[schema(default = 0, minimum = 0, maximum = 100)]
    pub progress_percent: f64,
    /// Error if failed
    pub error_message: Option<String>,
}

/// Overall progress tracking for a migration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct MigrationProgress {
    /// Overall migration status
    pub overall_status: MigrationStatus,
    /// Overall progress %: monotonic, 100 exactly at completion.
    #[serde(default)]
    #[schema(default = 0, minimum = 0, maximum = 100)]
    pub overall_progress_percent: f64,
    /// Currently executing stage
    pub current_stage: Option<MigrationStage>,
    /// Progress for each stage: all seven, in run order.
    #[serde(default)]
    pub stages: Vec<StageProgress>,
    /// Progress for each resource
    #[serde(default)]
    pub resources: Vec<ResourceProgress>,
    /// Migration start time
    pub started_at: Option<DateTime<Utc>>,
    /// Estimated completion time
    pub estimated_completion: Option<DateTime<Utc>>,
}

impl MigrationProgress {
    /// Progress before any work: every stage listed and `pending`.
    pub fn new(overall_status: MigrationStatus) -> Self {
        MigrationProgress {
            overall_status,
            overall_progress_percent: 0.0,
            current_stage: None,
            stages: MigrationStage::ALL.map(StageProgress::pending).to_vec(),
            resources: Vec::new(),
            started_at: None,
            estimated_completion: None,
        }
    }
}
