//! `/v1/tasks…`: asynchronous work and its progress.

use axum::routing::{get, MethodRouter};
use axum::{Json, Router};
use ferry_store::{Task, TaskListQuery};
use ferry_wire::paging::PageQuery;
use ferry_wire::task::{ListTasksRequest, ListTasksResponse, TaskIo, TaskResponse, TaskStatusEnum};
use ferry_wire::{ErrorResponse, HttpValidationError};
use serde_json::{json, Map, Value};

use crate::error::ApiResult;
use crate::extract::{Authenticated, InOrganization};
use crate::json::{wire_enum, wire_name};
use crate::listing::{self, ListRequest, ListRoute, NoQuery};
use crate::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/tasks/{task_id}", get(get_task))
        .route("/v1/tasks/list", list_tasks())
}

fn object(value: &Value) -> Option<Vec<TaskIo>> {
    value.as_object().map(|m| vec![TaskIo::Object(m.clone())])
}

/// A task as the SDK's `TaskResponse`; progress travels in `additional_data`.
pub(crate) fn task_response(task: Task) -> ApiResult<TaskResponse> {
    let percent = match task.total {
        Some(total) if total > 0 => (task.processed as f64 / total as f64 * 100.0).min(100.0),
        _ if matches!(
            task.status,
            TaskStatusEnum::Completed | TaskStatusEnum::CompletedWithErrors
        ) =>
        {
            100.0
        }
        _ => 0.0,
    };
    let mut additional: Map<String, Value> = json!({
        "processed": task.processed,
        "total": task.total,
        "failed": task.failed,
        "progress_percent": percent,
        "attempts": task.attempts,
        "created_at": ferry_store::time::from_micros(task.created_at),
        "updated_at": ferry_store::time::from_micros(task.updated_at),
        "started_at": task.started_at.map(ferry_store::time::from_micros),
        "completed_at": task.completed_at.map(ferry_store::time::from_micros),
    })
    .as_object()
    .cloned()
    .unwrap_or_default();
    additional.retain(|_, v| !v.is_null());
    Ok(TaskResponse {
        task_type: wire_enum("task_type", &task.task_type)?,
        status: task.status,
        inputs: object(&task.inputs),
        outputs: task.outputs.as_ref().and_then(object),
        additional_data: Some(additional),
        error: task.error,
        task_id: task.task_id,
    })
}

/// Get Task
#[utoipa::path(get, path = "/v1/tasks/{task_id}", tag = "Tasks",
    params(("task_id" = String, Path)),
    responses((status = 200, body = TaskResponse), (status = 404, body = ErrorResponse)))]
async fn get_task(
    InOrganization(state, Authenticated(org), task_id): InOrganization<String>,
) -> ApiResult<Json<TaskResponse>> {
    let task = state.store.get_task(&org.internal_id, &task_id).await?;
    Ok(Json(task_response(task)?))
}

/// List Tasks, newest first
#[utoipa::path(post, path = "/v1/tasks/list", tag = "Tasks", params(PageQuery),
    request_body = ListTasksRequest,
    responses((status = 200, body = ListTasksResponse), (status = 422, body = HttpValidationError)))]
fn list_tasks() -> MethodRouter<AppState> {
    listing::post::<TaskList>()
}

struct TaskList;

impl ListRoute for TaskList {
    type Scope = Authenticated;
    type Query = NoQuery;
    type GetQuery = NoQuery;
    type Body = ListTasksRequest;
    type Response = ListTasksResponse;

    async fn list(
        state: AppState,
        Authenticated(org): Authenticated,
        request: ListRequest<Self>,
    ) -> ApiResult<ListTasksResponse> {
        let body = &request.body;
        let page = request.page()?;
        let (tasks, total) = state
            .store
            .list_tasks(
                &org.internal_id,
                &TaskListQuery {
                    status: body.status,
                    task_type: body.task_type.as_ref().map(wire_name).transpose()?,
                    limit: page.limit,
                    offset: page.offset,
                },
            )
            .await?;
        let returned = tasks.len();
        let results = tasks
            .into_iter()
            .map(task_response)
            .collect::<ApiResult<Vec<_>>>()?;
        Ok(ListTasksResponse {
            pagination: page.pagination(returned, total),
            results,
        })
    }
}
