//! Tasks: `GET /v1/tasks/{task_id}` and `POST /v1/tasks/list`, shaped as the SDK's
//! `TaskResponse`, `TaskStatusEnum`, `TaskType`, `ListTasksRequest` and `ListTasksResponse`.
//!
//! A task reports asynchronous work (collection triggers, migrations). Its progress travels in
//! `additional_data`, the one place the SDK's model leaves open for it.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::ToSchema;

use crate::filter::{LogicalOperator, SortOption};
use crate::namespace::PaginationResponse;
use crate::text_enum::text_enum;
use crate::validate::{Errors, Validate};

/// Status of a task. Terminal: `COMPLETED`, `COMPLETED_WITH_ERRORS`, `FAILED`, `CANCELED`.
/// `ACTIVE`, `ARCHIVED`, `SUSPENDED`, `DEACTIVATED` and `DRAFT` describe entities rather than
/// operations; the SDK shares the enumeration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TaskStatusEnum {
    Pending,
    Queued,
    InProgress,
    Processing,
    Completed,
    CompletedWithErrors,
    Failed,
    Canceled,
    Interrupted,
    Unknown,
    Skipped,
    Draft,
    Active,
    Archived,
    Suspended,
    Deactivated,
}

text_enum!(TaskStatusEnum, 16, {
    Pending => "PENDING",
    Queued => "QUEUED",
    InProgress => "IN_PROGRESS",
    Processing => "PROCESSING",
    Completed => "COMPLETED",
    CompletedWithErrors => "COMPLETED_WITH_ERRORS",
    Failed => "FAILED",
    Canceled => "CANCELED",
    Interrupted => "INTERRUPTED",
    Unknown => "UNKNOWN",
    Skipped => "SKIPPED",
    Draft => "DRAFT",
    Active => "ACTIVE",
    Archived => "ARCHIVED",
    Suspended => "SUSPENDED",
    Deactivated => "DEACTIVATED",
});

impl TaskStatusEnum {
    /// Pending or running: a worker may still claim it (`PENDING`, `IN_PROGRESS`).
    pub fn is_active(self) -> bool {
        matches!(self, Self::Pending | Self::InProgress)
    }

    /// A task in a terminal status never changes again; clients stop polling.
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            Self::Completed | Self::CompletedWithErrors | Self::Failed | Self::Canceled
        )
    }
}

/// Kind of operation a task tracks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TaskType {
    ApiNamespacesCreate,
    ApiNamespacesDelete,
    ApiNamespacesSnapshotCreate,
    ApiNamespacesSnapshotRestore,
    ApiNamespacesMigrationsRun,
    ApiBucketsObjectsCreate,
    ApiBucketsDelete,
    ApiBucketsBatchesProcess,
    ApiBucketsBatchesSubmit,
    ApiBucketsUploadsCreate,
    ApiBucketsUploadsConfirm,
    ApiBucketsUploadsBatchConfirm,
    ApiCollectionsDocumentsCreate,
    ApiCollectionsDocumentsBulkUpdate,
    ApiCollectionsDocumentsBulkDelete,
    ApiCollectionsReembed,
    ApiCollectionsExtractionArtifacts,
    ApiTaxonomiesCreate,
    ApiTaxonomiesExecute,
    ApiTaxonomiesMaterialize,
    ApiEvaluationsRun,
    ApiEvaluationsDatasetCreate,
    ApiRetrieversPublish,
    ApiManifestApply,
    ApiRetrieversExecute,
    ApiCollectionsExport,
    ApiCollectionsTrigger,
    EngineFeatureExtractorRun,
    EngineInferenceRun,
    EngineObjectProcessing,
    EngineClusterBuild,
    Thumbnail,
    VideoSegment,
    AudioSegment,
    ConvertedVideo,
    Materialize,
    PluginCustom,
    ModelCustom,
}

/// One input or output of a task: an id, or an object describing it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(untagged)]
pub enum TaskIo {
    Id(String),
    #[schema(value_type = Object)]
    Object(Map<String, Value>),
}

/// Status of an asynchronous task.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct TaskResponse {
    /// Poll `GET /v1/tasks/{task_id}` with it.
    pub task_id: String,
    pub task_type: TaskType,
    pub status: TaskStatusEnum,
    /// What the task was started with: ids or configuration objects.
    pub inputs: Option<Vec<TaskIo>>,
    /// What the task produced, once it has.
    pub outputs: Option<Vec<TaskIo>>,
    /// Task-specific context: progress (counts, current stage), ids of what it works on, and
    /// `error` when it failed.
    pub additional_data: Option<Map<String, Value>>,
    /// `additional_data.error` of a failed task, flattened for convenience.
    pub error: Option<String>,
}

/// Request model for listing tasks. Paging comes from the query
/// ([`crate::paging::PageQuery`]); this body carries none.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ListTasksRequest {
    pub status: Option<TaskStatusEnum>,
    pub task_type: Option<TaskType>,
    /// Advanced filters on task fields.
    pub filters: Option<LogicalOperator>,
    pub sort: Option<SortOption>,
    /// Substring search over task id and type.
    pub search: Option<String>,
}

impl Validate for ListTasksRequest {
    fn validate(&self, errors: &mut Errors) {
        errors.nested("filters", self.filters.as_ref());
    }
}

/// Response model for listing tasks.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ListTasksResponse {
    pub results: Vec<TaskResponse>,
    pub pagination: PaginationResponse,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn status_and_type_spellings() {
        assert_eq!(
            serde_json::to_value(TaskStatusEnum::CompletedWithErrors).unwrap(),
            json!("COMPLETED_WITH_ERRORS")
        );
        assert_eq!(
            serde_json::to_value(TaskStatusEnum::InProgress).unwrap(),
            json!("IN_PROGRESS")
        );
        assert_eq!(
            serde_json::to_value(TaskType::ApiNamespacesMigrationsRun).unwrap(),
            json!("api_namespaces_migrations_run")
        );
        crate::text_enum::check_round_trip(&TaskStatusEnum::ALL);
        assert!(TaskStatusEnum::Canceled.is_terminal());
        assert!(!TaskStatusEnum::Queued.is_terminal());
    }

    #[test]
    fn sdk_list_request_parses() {
        // `ListTasksRequest(status=TaskStatusEnum.FAILED, task_type=TaskType.API_COLLECTIONS_TRIGGER,
        // filters=…, sort=SortOption(field="created_at", direction="desc")).to_dict()`
        let req: ListTasksRequest = serde_json::from_value(json!({
            "status": "FAILED",
            "task_type": "api_collections_trigger",
            "filters": {"AND": [{"case_sensitive": false, "field": "additional_data.collection_id",
                                 "operator": "eq", "value": "col_1"}], "case_sensitive": false},
            "sort": {"field": "created_at", "direction": "desc"},
            "search": "col_1"
        }))
        .unwrap();
        assert_eq!(req.status, Some(TaskStatusEnum::Failed));
        assert_eq!(req.task_type, Some(TaskType::ApiCollectionsTrigger));
        assert!(req.validation_errors().is_empty());
    }

    #[test]
    fn unknown_keys_and_values_are_refused() {
        let err = serde_json::from_value::<ListTasksRequest>(json!({"limit": 5})).unwrap_err();
        assert!(
            err.to_string().starts_with("unknown field `limit`"),
            "{err}"
        );
        let err =
            serde_json::from_value::<ListTasksRequest>(json!({"status": "DONE"})).unwrap_err();
        assert!(
            err.to_string().starts_with("unknown variant `DONE`"),
            "{err}"
        );
        let req: ListTasksRequest = serde_json::from_value(json!({
            "filters": {"OR": [{"field": "task_id", "operator": "nin", "value": "task_1"}]}
        }))
        .unwrap();
        let errors = req.validation_errors();
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].kind, "value_error");
        assert_eq!(errors[0].loc.len(), 4);
    }

    #[test]
    fn responses_serialize_required_keys() {
        let task = TaskResponse {
            task_id: "task_1".into(),
            task_type: TaskType::ApiCollectionsTrigger,
            status: TaskStatusEnum::InProgress,
            inputs: Some(vec![
                TaskIo::Id("col_1".into()),
                TaskIo::Object(
                    json!({"object_ids": ["obj_1"]})
                        .as_object()
                        .unwrap()
                        .clone(),
                ),
            ]),
            outputs: None,
            additional_data: Some(
                json!({"processed": 3, "total": 10})
                    .as_object()
                    .unwrap()
                    .clone(),
            ),
            error: None,
        };
        let v = serde_json::to_value(&task).unwrap();
        assert_eq!(v["inputs"], json!(["col_1", {"object_ids": ["obj_1"]}]));
        for key in ["task_id", "task_type", "status"] {
            assert!(v.get(key).is_some());
        }
        let back: TaskResponse = serde_json::from_value(v).unwrap();
        assert_eq!(back, task);
        let list = serde_json::to_value(ListTasksResponse {
            results: vec![],
            pagination: PaginationResponse::default(),
        })
        .unwrap();
        assert_eq!(list["results"], json!([]));
        assert!(list["pagination"].is_object());
    }
}
