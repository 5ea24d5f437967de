//! The HTTP error contract: every failure leaves the server as the spec's `ErrorResponse`, or
//! as the 422 body of [`HttpValidationError`]. Internal details are logged, never sent.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use ferry_store::StoreError;
use ferry_wire::{ErrorDetail, ErrorResponse, FieldError, HttpValidationError, Loc};
use serde_json::{Map, Value};

/// Every way a request can fail, with the HTTP status and error `type` it maps to.
#[derive(Debug)]
pub enum ApiError {
    /// 422: the request does not match its schema. Locations include `body`/`query`/`path`.
    Validation(Vec<FieldError>),
    /// 401 `AuthenticationError`.
    Authentication { code: &'static str, message: String },
    /// 404 `NotFoundError`: absent, or another organization's (indistinguishable on purpose).
    NotFound { resource: &'static str, id: String },
    /// 400 with a stable `type` and `code`.
    BadRequest {
        error_type: &'static str,
        code: &'static str,
        message: String,
        details: Option<Map<String, Value>>,
    },
    /// 405 `MethodNotAllowedError`.
    MethodNotAllowed,
    /// 413 `PayloadTooLargeError`.
    PayloadTooLarge,
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

    fn parts(self) -> (StatusCode, ErrorDetail) {
        let detail = |error_type: &str, code: Option<&str>, message: String, details| ErrorDetail {
            message,
            error_type: error_type.to_owned(),
            code: code.map(str::to_owned),
            details,
        };
        match self {
            ApiError::Validation(_) => unreachable!("422 has its own body"),
            ApiError::Authentication { code, message } => (
                StatusCode::UNAUTHORIZED,
                detail("AuthenticationError", Some(code), message, None),
            ),
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
                (
                    StatusCode::NOT_FOUND,
                    detail("NotFoundError", Some(&code), message, Some(details)),
                )
            }
            ApiError::BadRequest {
                error_type,
                code,
                message,
                details,
            } => (
                StatusCode::BAD_REQUEST,
                detail(error_type, Some(code), message, details),
            ),
            ApiError::MethodNotAllowed => (
                StatusCode::METHOD_NOT_ALLOWED,
                detail(
                    "MethodNotAllowedError",
                    Some("method_not_allowed"),
                    "Method not allowed on this route".into(),
                    None,
                ),
            ),
            ApiError::PayloadTooLarge => (
                StatusCode::PAYLOAD_TOO_LARGE,
                detail(
                    "PayloadTooLargeError",
                    Some("payload_too_large"),
                    "Request body exceeds the server's limit".into(),
                    None,
                ),
            ),
            ApiError::Internal(message) => {
                tracing::error!(error = %message, "internal error");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    detail(
                        "InternalError",
                        Some("internal_error"),
                        "An internal error occurred; it has been logged".into(),
                        None,
                    ),
                )
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
        let body = ErrorResponse {
            success: false,
            status: status.as_u16(),
            error,
        };
        (status, Json(body)).into_response()
    }
}

/// A 400 `BadRequestError` with a stable `code`; `details` (an object) names what was wrong.
pub fn bad_request(code: &'static str, message: String, details: Value) -> ApiError {
    ApiError::BadRequest {
        error_type: "BadRequestError",
        code,
        message,
        details: details.as_object().cloned(),
    }
}

/// Maps a missing referenced resource to 400 `code` naming it (a request that names a missing
/// resource is a bad request, not a missing route); other store errors map as usual.
pub fn missing_reference<'a>(
    kind: &'static str,
    code: &'static str,
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
            StoreError::Conflict { code, message } => ApiError::BadRequest {
                error_type: "BadRequestError",
                code,
                message,
                details: None,
            },
            e @ StoreError::StatusChanged { .. } => ApiError::BadRequest {
                error_type: "BadRequestError",
                code: "status_changed",
                message: e.to_string(),
                details: None,
            },
            other => ApiError::Internal(other.to_string()),
        }
    }
}
