//! The HTTP error contract: every failure leaves the server as the spec's `ErrorResponse`, or
//! as the 422 body of [`HttpValidationError`]. Internal details are logged, never sent.
//!
//! A failure names its stable code ([`ErrorCode`]); the status and error `type` it is answered
//! with come from that code's row of the one table, `ferry_wire::error_code` (see
//! `docs/ARCHITECTURE.md`, "The wire contract").

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use ferry_store::StoreError;
use ferry_wire::{
    ErrorCode, ErrorDetail, ErrorResponse, ErrorType, FieldError, HttpValidationError, Loc,
};
use serde_json::{Map, Value};

/// Every way a request can fail. The HTTP status and error `type` of each come from the one
/// table in [`ferry_wire::error_code`].
#[derive(Debug)]
pub enum ApiError {
    /// 422: the request does not match its schema. Locations include `body`/`query`/`path`.
    Validation(Vec<FieldError>),
    /// 404 `NotFoundError`: absent, or another organization's (indistinguishable on purpose).
    /// The code names the resource: `{resource}_not_found`.
    NotFound { resource: &'static str, id: String },
    /// A failure with a stable code; its status and `type` are the code's.
    Coded {
        code: ErrorCode,
        message: String,
        details: Option<Map<String, Value>>,
    },
    /// 500 `InternalError`; the message is logged, the client gets a generic one.
    Internal(String),
}

pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    pub fn route_not_found(path: &str) -> Self {
        ApiError::NotFound {
            resource: "route",
            id: path.to_owned(),
        }
    }

    /// A coded failure with no details.
    pub fn coded(code: ErrorCode, message: impl Into<String>) -> Self {
        ApiError::Coded {
            code,
            message: message.into(),
            details: None,
        }
    }

    fn parts(self) -> (StatusCode, ErrorDetail) {
        let detail = |error_type: ErrorType, code: &str, message: String, details| {
            let status = StatusCode::from_u16(error_type.status())
                .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let detail = ErrorDetail {
                message,
                error_type: error_type.name().to_owned(),
                code: Some(code.to_owned()),
                details,
            };
            (status, detail)
        };
        match self {
            ApiError::Validation(_) => unreachable!("422 has its own body"),
            ApiError::NotFound { resource, id } => {
                let mut details = Map::new();
                details.insert("resource".into(), resource.into());
                details.insert("id".into(), id.clone().into());
                let message = if resource == "route" {
                    format!("No route matches {id}")
                } else {
                    format!("{} '{id}' not found", capitalized(resource))
                };
                let code = format!("{resource}_not_found");
                detail(ErrorType::NotFound, &code, message, Some(details))
            }
            ApiError::Coded {
                code,
                message,
                details,
            } => detail(code.error_type(), code.code(), message, details),
            ApiError::Internal(message) => {
                tracing::error!(error = %message, "internal error");
                let code = ErrorCode::InternalError;
                let message = "An internal error occurred; it has been logged".to_owned();
                detail(code.error_type(), code.code(), message, None)
            }
        }
    }
}

fn capitalized(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let ApiError::Validation(errors) = self {
            return (
                StatusCode::UNPROCESSABLE_ENTITY,
                Json(HttpValidationError::new(&errors)),
            )
                .into_response();
        }
        let (status, error) = self.parts();
        let retry_after = error
            .details
            .as_ref()
            .and_then(|d| d.get(RETRY_AFTER))
            .and_then(Value::as_i64);
        let body = ErrorResponse {
            success: false,
            status: status.as_u16(),
            error,
        };
        let mut response = (status, Json(body)).into_response();
        if let Some(seconds) = retry_after {
            response
                .headers_mut()
                .insert(axum::http::header::RETRY_AFTER, seconds.into());
        }
        response
    }
}

/// A failure with a stable `code` (a 400 `BadRequestError` for most); `details` (an object)
/// names what was wrong.
pub fn bad_request(code: ErrorCode, message: String, details: Value) -> ApiError {
    ApiError::Coded {
        code,
        message,
        details: details.as_object().cloned(),
    }
}

/// Maps a missing referenced resource to 400 `code` naming it (a request that names a missing
/// resource is a bad request, not a missing route); other store errors map as usual.
pub fn missing_reference<'a>(
    kind: &'static str,
    code: ErrorCode,
    id: &'a str,
) -> impl FnOnce(StoreError) -> ApiError + 'a {
    move |e| match e {
        StoreError::NotFound { .. } => bad_request(
            code,
            format!("The {kind} '{id}' does not exist in this namespace"),
            serde_json::json!({format!("{kind}_id"): id}),
        ),
        other => other.into(),
    }
}

/// A location in the request body: `["body", …path]`.
pub fn body_loc(path: &[&str]) -> Vec<Loc> {
    std::iter::once("body")
        .chain(path.iter().copied())
        .map(|k| Loc::Key(k.to_owned()))
        .collect()
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound { resource, id } => ApiError::NotFound { resource, id },
            StoreError::Conflict { code, message } => ApiError::coded(code, message),
            e @ StoreError::StatusChanged { .. } => {
                ApiError::coded(ErrorCode::StatusChanged, e.to_string())
            }
            e @ StoreError::LeaseLost(_) => ApiError::coded(ErrorCode::LeaseLost, e.to_string()),
            StoreError::Frozen { resource, until } => frozen(resource, until),
            other => ApiError::Internal(other.to_string()),
        }
    }
}

/// A write refused by a write freeze: `namespace_frozen` (503, retry after the seconds left)
/// while a cutover catches up, `namespace_read_only` (409) once an alias was cut over from
/// the namespace.
fn frozen(resource: String, until: i64) -> ApiError {
    let mut details = Map::new();
    details.insert("resource".into(), resource.clone().into());
    if until == ferry_store::freeze::UNTIL_LIFTED {
        return ApiError::Coded {
            code: ErrorCode::NamespaceReadOnly,
            message: format!(
                "{resource} belongs to a namespace an alias was cut over from; it is read-only \
                 until a rollback (write through the alias instead)"
            ),
            details: Some(details),
        };
    }
    let left = (until - ferry_store::time::now_micros()).max(0);
    let seconds = (left + 999_999) / 1_000_000;
    details.insert(RETRY_AFTER.into(), seconds.max(1).into());
    ApiError::Coded {
        code: ErrorCode::NamespaceFrozen,
        message: format!(
            "{resource} is frozen while a cutover catches its writes up; nothing was written, \
             retry after the Retry-After seconds"
        ),
        details: Some(details),
    }
}

/// The `details` key of a retryable refusal whose value becomes the `Retry-After` header.
const RETRY_AFTER: &str = "retry_after_seconds";
