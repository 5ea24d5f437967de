//! Error bodies: the spec's `ErrorResponse` and FastAPI's `HTTPValidationError`.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::ToSchema;

use crate::error_code::ErrorCode;
use crate::validate::{FieldError, Loc};

/// Error detail model.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct ErrorDetail {
    /// Human-readable error message
    pub message: String,
    /// Stable error type identifier (machine-readable)
    #[serde(rename = "type")]
    pub error_type: String,
    /// Fine-grained error code for programmatic handling (e.g., namespace_name_taken).
    pub code: Option<String>,
    /// Optional structured details to help debugging (validation errors, IDs, etc.)
    pub details: Option<Map<String, Value>>,
}

/// Error response model.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct ErrorResponse {
    /// Always false for error responses
    #[serde(default)]
    pub success: bool,
    /// HTTP status code for this error
    pub status: u16,
    /// Error details payload
    pub error: ErrorDetail,
}

/// One item of a 422's `detail`.
///
/// The spec names FastAPI's `ValidationError` (`loc`, `msg`, `type`); the SDK's model of the
/// same name reads `{error_code, message, severity, resource_id, resource_type}`. Each item
/// carries both sets, so it validates in either.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
#[schema(as = ValidationError)]
pub struct ValidationErrorItem {
    #[schema(schema_with = location_schema)]
    pub loc: Vec<Value>,
    pub msg: String,
    #[serde(rename = "type")]
    pub error_type: String,
    /// Same as `type`.
    pub error_code: String,
    /// Same as `msg`.
    pub message: String,
    /// `error` or `warning`.
    pub severity: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource_type: Option<String>,
}

/// `loc` as the spec declares it: an array of strings (keys) and integers (indexes).
pub(crate) fn location_schema() -> utoipa::openapi::Array {
    use utoipa::openapi::schema::{AnyOfBuilder, ArrayBuilder, ObjectBuilder, Type};
    ArrayBuilder::new()
        .title(Some("Location"))
        .items(
            AnyOfBuilder::new()
                .item(ObjectBuilder::new().schema_type(Type::String))
                .item(ObjectBuilder::new().schema_type(Type::Integer)),
        )
        .build()
}

impl From<&FieldError> for ValidationErrorItem {
    fn from(e: &FieldError) -> Self {
        ValidationErrorItem {
            loc: e
                .loc
                .iter()
                .map(|segment| match segment {
                    Loc::Key(k) => Value::String(k.clone()),
                    Loc::Index(i) => Value::from(*i),
                })
                .collect(),
            msg: e.msg.clone(),
            error_type: e.kind.to_owned(),
            error_code: e.kind.to_owned(),
            message: e.msg.clone(),
            severity: "error".to_owned(),
            resource_id: None,
            resource_type: None,
        }
    }
}

/// The 422 body.
///
/// The spec declares FastAPI's `HTTPValidationError` (`detail[]`) for 422, while the official
/// SDK deserializes every non-2xx body, 422 included, as `ErrorResponse` and looks for the
/// failing fields in `error.details.validation_errors`. Ferry's 422 carries both: `detail` for
/// the spec and FastAPI clients, `success`/`status`/`error` for the SDK. Each model ignores the
/// other's keys, so the one body validates in both.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
#[schema(as = HTTPValidationError)]
pub struct HttpValidationError {
    pub detail: Vec<ValidationErrorItem>,
    #[serde(default)]
    pub success: bool,
    pub status: u16,
    pub error: ErrorDetail,
}

impl HttpValidationError {
    pub fn new(errors: &[FieldError]) -> Self {
        let detail: Vec<ValidationErrorItem> = errors.iter().map(Into::into).collect();
        let message = match errors {
            [only] => format!("{}: {}", loc_path(&only.loc), only.msg),
            _ => format!("{} validation errors in the request", errors.len()),
        };
        let mut details = Map::new();
        details.insert(
            "validation_errors".into(),
            serde_json::to_value(&detail).unwrap_or(Value::Null),
        );
        HttpValidationError {
            detail,
            success: false,
            status: ErrorCode::RequestValidationFailed.status(),
            error: ErrorDetail {
                message,
                error_type: ErrorCode::RequestValidationFailed
                    .error_type()
                    .name()
                    .into(),
                code: Some(ErrorCode::RequestValidationFailed.code().into()),
                details: Some(details),
            },
        }
    }
}

fn loc_path(loc: &[Loc]) -> String {
    loc.iter()
        .map(|s| match s {
            Loc::Key(k) => k.clone(),
            Loc::Index(i) => i.to_string(),
        })
        .collect::<Vec<_>>()
        .join(".")
}
