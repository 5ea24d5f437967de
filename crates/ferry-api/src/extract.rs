//! Request extractors that speak the error contract: JSON bodies and query strings parsed
//! with the failing field located (`loc`), the caller's organization from its API key, and the
//! namespace named by `X-Namespace`.

use axum::body::Bytes;
use axum::extract::{FromRef, FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::StatusCode;
use ferry_store::{Namespace, Organization};
use ferry_wire::{FieldError, Loc, Validate};
use serde::de::DeserializeOwned;

use crate::error::ApiError;
use crate::AppState;

/// A JSON body parsed into `T` and validated. An empty body parses as `{}`, so endpoints whose
/// body is optional (lists) take one and required fields still report `missing`.
pub struct JsonBody<T>(pub T);

impl<S, T> FromRequest<S> for JsonBody<T>
where
    S: Send + Sync,
    T: DeserializeOwned + Validate,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let bytes = Bytes::from_request(req, state).await.map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::PayloadTooLarge
            } else {
                ApiError::BadRequest {
                    error_type: "BadRequestError",
                    code: "unreadable_body",
                    message: rejection.body_text(),
                    details: None,
                }
            }
        })?;
        let text: &[u8] = if bytes.iter().all(u8::is_ascii_whitespace) {
            b"{}"
        } else {
            &bytes
        };
        // Every request body is a JSON object; serde would also accept a struct written as an
        // array, which no client means.
        let starts_as_object = text.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{');
        if !starts_as_object && serde_json::from_slice::<serde_json::Value>(text).is_ok() {
            return Err(ApiError::Validation(vec![FieldError {
                loc: vec![Loc::Key("body".into())],
                msg: "Input should be a valid dictionary or object to extract fields from".into(),
                kind: "model_attributes_type",
            }]));
        }
        let mut de = serde_json::Deserializer::from_slice(text);
        let value: T = serde_path_to_error::deserialize(&mut de)
            .map_err(|e| ApiError::Validation(vec![json_error(e)]))?;
        // Trailing content after the JSON value is malformed JSON too.
        de.end()
            .map_err(|e| ApiError::Validation(vec![json_syntax_error(&e)]))?;
        validated("body", value).map(JsonBody)
    }
}

/// Query parameters parsed into `T` and validated. Unknown parameters are ignored, as FastAPI
/// ignores them.
pub struct QueryParams<T>(pub T);

impl<S, T> FromRequestParts<S> for QueryParams<T>
where
    S: Send + Sync,
    T: DeserializeOwned + Validate,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ApiError> {
        let query = parts.uri.query().unwrap_or_default();
        let de = serde_urlencoded::Deserializer::new(form_urlencoded::parse(query.as_bytes()));
        let value: T = serde_path_to_error::deserialize(de)
            .map_err(|e| ApiError::Validation(vec![query_error(e)]))?;
        validated("query", value).map(QueryParams)
    }
}

fn validated<T: Validate>(root: &str, value: T) -> Result<T, ApiError> {
    let errors = value.validation_errors();
    if errors.is_empty() {
        return Ok(value);
    }
    Err(ApiError::Validation(
        errors
            .into_iter()
            .map(|mut e| {
                e.loc.insert(0, Loc::Key(root.to_owned()));
                e
            })
            .collect(),
    ))
}

fn path_locs(root: &str, path: &serde_path_to_error::Path) -> Vec<Loc> {
    use serde_path_to_error::Segment;
    let mut loc = vec![Loc::Key(root.to_owned())];
    for segment in path.iter() {
        match segment {
            Segment::Seq { index } => loc.push(Loc::Index(*index)),
            Segment::Map { key } => loc.push(Loc::Key(key.clone())),
            Segment::Enum { variant } => loc.push(Loc::Key(variant.clone())),
            Segment::Unknown => {}
        }
    }
    loc
}

/// Text between the first pair of backticks: serde names fields and variants that way.
fn backticked(msg: &str) -> Option<&str> {
    let start = msg.find('`')? + 1;
    let len = msg[start..].find('`')?;
    Some(&msg[start..start + len])
}

/// Every backticked name after `expected` (serde writes "expected `a` or `b`" and
/// "expected one of `a`, `b`, `c`").
fn expected_names(msg: &str) -> Vec<&str> {
    msg.split_once(", expected ")
        .map(|(_, rest)| rest.split('`').skip(1).step_by(2).collect())
        .unwrap_or_default()
}

/// Pydantic's error type and message for what serde expected.
fn type_error(expected: &str) -> (&'static str, &'static str) {
    let expected = expected.trim();
    if [
        "i8", "i16", "i32", "i64", "u8", "u16", "u32", "u64", "usize",
    ]
    .iter()
    .any(|t| expected.starts_with(t))
    {
        ("int_type", "Input should be a valid integer")
    } else if expected.starts_with("f32") || expected.starts_with("f64") {
        ("float_type", "Input should be a valid number")
    } else if expected.starts_with("a boolean") {
        ("bool_type", "Input should be a valid boolean")
    } else if expected.starts_with("a string") || expected.starts_with("a borrowed string") {
        ("string_type", "Input should be a valid string")
    } else if expected.starts_with("a sequence") {
        ("list_type", "Input should be a valid list")
    } else if expected.starts_with("a map") || expected.starts_with("struct") {
        ("dict_type", "Input should be a valid dictionary or object")
    } else if expected.contains("date") || expected.contains("RFC") {
        (
            "datetime_from_date_parsing",
            "Input should be a valid datetime",
        )
    } else {
        ("value_error", "Input is not valid here")
    }
}

/// Maps a serde failure to one located, typed error. `message` is serde's text without any
/// position suffix.
fn data_error(mut loc: Vec<Loc>, message: &str) -> FieldError {
    let push_field = |loc: &mut Vec<Loc>, name: &str| {
        if loc.last() != Some(&Loc::Key(name.to_owned())) {
            loc.push(Loc::Key(name.to_owned()));
        }
    };
    if message.starts_with("missing field") {
        if let Some(name) = backticked(message) {
            push_field(&mut loc, name);
        }
        return FieldError {
            loc,
            msg: "Field required".into(),
            kind: "missing",
        };
    }
    if message.starts_with("unknown field") {
        if let Some(name) = backticked(message) {
            push_field(&mut loc, name);
        }
        let accepted = expected_names(message).join(", ");
        let msg = if accepted.is_empty() {
            "Extra inputs are not permitted".to_owned()
        } else {
            format!("Extra inputs are not permitted; accepted keys: {accepted}")
        };
        return FieldError {
            loc,
            msg,
            kind: "extra_forbidden",
        };
    }
    if message.starts_with("unknown variant") {
        let allowed: Vec<String> = expected_names(message)
            .iter()
            .map(|v| format!("'{v}'"))
            .collect();
        let msg = match allowed.split_last() {
            Some((last, [])) => format!("Input should be {last}"),
            Some((last, rest)) => format!("Input should be {} or {last}", rest.join(", ")),
            None => "Input should be one of the allowed values".to_owned(),
        };
        return FieldError {
            loc,
            msg,
            kind: "enum",
        };
    }
    if let Some(expected) = message
        .strip_prefix("invalid type: ")
        .or_else(|| message.strip_prefix("invalid value: "))
        .and_then(|rest| rest.split_once(", expected "))
        .map(|(_, expected)| expected)
    {
        let (kind, msg) = type_error(expected);
        return FieldError {
            loc,
            msg: msg.into(),
            kind,
        };
    }
    if message.starts_with("invalid length") {
        return FieldError {
            loc,
            msg: format!("Invalid length: {message}"),
            kind: "value_error",
        };
    }
    if message.contains("input contains invalid characters")
        || message.contains("premature end of input")
        || message.contains("trailing input")
    {
        return FieldError {
            loc,
            msg: "Input should be a valid datetime".into(),
            kind: "datetime_from_date_parsing",
        };
    }
    FieldError {
        loc,
        msg: message.to_owned(),
        kind: "value_error",
    }
}

fn json_error(e: serde_path_to_error::Error<serde_json::Error>) -> FieldError {
    let loc = path_locs("body", e.path());
    let inner = e.into_inner();
    match inner.classify() {
        serde_json::error::Category::Syntax | serde_json::error::Category::Eof => {
            json_syntax_error(&inner)
        }
        _ => {
            let text = inner.to_string();
            // serde_json appends " at line L column C"; the location already says where.
            let message = text
                .rsplit_once(" at line ")
                .map_or(text.as_str(), |(m, _)| m);
            data_error(loc, message)
        }
    }
}

fn json_syntax_error(e: &serde_json::Error) -> FieldError {
    FieldError {
        loc: vec![
            Loc::Key("body".into()),
            Loc::Index(e.column().saturating_sub(1)),
        ],
        msg: format!("JSON decode error: {e}"),
        kind: "json_invalid",
    }
}

fn query_error(e: serde_path_to_error::Error<serde_urlencoded::de::Error>) -> FieldError {
    let loc = path_locs("query", e.path());
    let message = e.into_inner().to_string();
    if message.contains("invalid digit")
        || message.contains("number too large")
        || message.contains("cannot parse integer")
    {
        return FieldError {
            loc,
            msg: "Input should be a valid integer, unable to parse string as an integer".into(),
            kind: "int_parsing",
        };
    }
    if message.contains("`true` or `false`") {
        return FieldError {
            loc,
            msg: "Input should be a valid boolean, unable to interpret input".into(),
            kind: "bool_parsing",
        };
    }
    data_error(loc, &message)
}

/// The organization whose API key authorized the request.
pub struct Authenticated(pub Organization);

impl<S> FromRequestParts<S> for Authenticated
where
    S: Send + Sync,
    AppState: FromRef<S>,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let state = AppState::from_ref(state);
        let header = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
            .filter(|v| !v.is_empty());
        let Some(header) = header else {
            return Err(ApiError::Authentication {
                code: "missing_api_key",
                message: "Missing API key: send 'Authorization: Bearer <key>'".into(),
            });
        };
        let key = header
            .strip_prefix("Bearer ")
            .or_else(|| header.strip_prefix("bearer "))
            .unwrap_or(header)
            .trim();
        match state.store.authenticate(key).await? {
            Some(org) => Ok(Authenticated(org)),
            None => Err(ApiError::Authentication {
                code: "invalid_api_key",
                message: "Invalid API key".into(),
            }),
        }
    }
}

/// The caller's organization and the namespace its `X-Namespace` header names (id or name).
pub struct NamespaceScope {
    pub org: Organization,
    pub namespace: Namespace,
}

impl<S> FromRequestParts<S> for NamespaceScope
where
    S: Send + Sync,
    AppState: FromRef<S>,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let Authenticated(org) = Authenticated::from_request_parts(parts, state).await?;
        let identifier = parts
            .headers
            .get("x-namespace")
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
            .filter(|v| !v.is_empty());
        let Some(identifier) = identifier else {
            return Err(ApiError::BadRequest {
                error_type: "BadRequestError",
                code: "namespace_required",
                message: "This endpoint is namespace-scoped: send the 'X-Namespace' header \
                          with a namespace id or name"
                    .into(),
                details: None,
            });
        };
        let namespace = AppState::from_ref(state)
            .store
            .get_namespace(&org.internal_id, identifier)
            .await?;
        Ok(NamespaceScope { org, namespace })
    }
}
