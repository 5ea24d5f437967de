//! Request extractors that speak the error contract: JSON bodies, query strings and path
//! parameters parsed with the failing field located (`loc`), the caller's organization from its
//! API key, and the namespace named by `X-Namespace`.
//!
//! They also keep out the one character PostgreSQL cannot store in text or JSONB, U+0000, so
//! both stores answer alike: a NUL in a body or query value is a 422 at that value, and a path
//! identifier holding one names nothing (404), without reaching the store.

use axum::body::Bytes;
use axum::extract::{FromRef, FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::StatusCode;
use ferry_store::{Namespace, Organization};
use ferry_wire::{ErrorCode, FieldError, Loc, Validate};
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
                ApiError::coded(
                    ErrorCode::PayloadTooLarge,
                    "Request body exceeds the server's limit",
                )
            } else {
                ApiError::coded(ErrorCode::UnreadableBody, rejection.body_text())
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
        refuse_nul_in_json(text)?;
        let mut de = serde_json::Deserializer::from_slice(text);
        let value: T = serde_path_to_error::deserialize(&mut de)
            .map_err(|e| ApiError::Validation(vec![json_error::<T>(e, text)]))?;
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
        if let Some((key, _)) = form_urlencoded::parse(query.as_bytes())
            .find(|(key, value)| key.contains('\0') || value.contains('\0'))
        {
            return Err(ApiError::Validation(vec![nul_error(vec![
                Loc::Key("query".into()),
                Loc::Key(key.into_owned()),
            ])]));
        }
        let de = serde_urlencoded::Deserializer::new(form_urlencoded::parse(query.as_bytes()));
        let value: T = serde_path_to_error::deserialize(de)
            .map_err(|e| ApiError::Validation(vec![query_error(e)]))?;
        validated("query", value).map(QueryParams)
    }
}

/// Path parameters, as axum's `Path` extracts them, with the error contract: a parameter that
/// is not UTF-8 is a 422 at `["path", name]`, and an identifier containing NUL is the 404 of
/// the resource it names (no resource can have such an id).
pub struct Path<T>(pub T);

impl<T> std::ops::Deref for Path<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.0
    }
}

impl<S, T> FromRequestParts<S> for Path<T>
where
    S: Send + Sync,
    T: DeserializeOwned + Send,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        use axum::extract::rejection::RawPathParamsRejection;
        use axum::extract::RawPathParams;
        match RawPathParams::from_request_parts(parts, state).await {
            Ok(params) => {
                if let Some((key, value)) = params.iter().find(|(_, v)| v.contains('\0')) {
                    return Err(ApiError::NotFound {
                        resource: path_resource(key),
                        id: value.replace('\0', "\\0"),
                    });
                }
            }
            Err(RawPathParamsRejection::InvalidUtf8InPathParam(e)) => {
                let name = e.body_text();
                let name = backticked(&name).unwrap_or("path").to_owned();
                return Err(ApiError::Validation(vec![FieldError {
                    loc: vec![Loc::Key("path".into()), Loc::Key(name)],
                    msg: "Input should be a valid string, unable to parse raw data as a \
                          unicode string"
                        .into(),
                    kind: "string_unicode",
                }]));
            }
            Err(_) => {}
        }
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Path(value)| Path(value))
            .map_err(|rejection| {
                ApiError::Validation(vec![FieldError {
                    loc: vec![Loc::Key("path".into())],
                    msg: rejection.body_text(),
                    kind: "value_error",
                }])
            })
    }
}

/// The resource a path parameter names: `bucket_identifier` → `bucket`, `run_id` →
/// `execution` (a cluster run is an execution), as the store's own not-found errors say.
fn path_resource(key: &str) -> &'static str {
    const RESOURCES: [&str; 15] = [
        "namespace",
        "alias",
        "bucket",
        "object",
        "collection",
        "document",
        "task",
        "cluster",
        "execution",
        "retriever",
        "interaction",
        "taxonomy",
        "migration",
        "feature_extractor",
        "run",
    ];
    let stem = key
        .strip_suffix("_identifier")
        .or_else(|| key.strip_suffix("_id"))
        .or_else(|| key.strip_suffix("_name"))
        .unwrap_or(key);
    match RESOURCES.iter().find(|r| **r == stem) {
        Some(&"run") => "execution",
        Some(resource) => resource,
        None => "resource",
    }
}

fn nul_error(loc: Vec<Loc>) -> FieldError {
    FieldError {
        loc,
        msg: "String should not contain the NUL character (U+0000)".into(),
        kind: "string_contains_nul",
    }
}

/// A 422 at the first key or string value of `text` holding U+0000, if any. JSON can only
/// carry NUL escaped, so bodies without `\u0000` skip the walk.
fn refuse_nul_in_json(text: &[u8]) -> Result<(), ApiError> {
    const ESCAPED_NUL: &[u8] = b"\\u0000";
    if !text.windows(ESCAPED_NUL.len()).any(|w| w == ESCAPED_NUL) {
        return Ok(());
    }
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(text) else {
        return Ok(()); // malformed: the typed parse reports where
    };
    fn find(value: &serde_json::Value, loc: &mut Vec<Loc>) -> bool {
        match value {
            serde_json::Value::String(s) => s.contains('\0'),
            serde_json::Value::Array(items) => items.iter().enumerate().any(|(i, item)| {
                loc.push(Loc::Index(i));
                let found = find(item, loc);
                if !found {
                    loc.pop();
                }
                found
            }),
            serde_json::Value::Object(map) => map.iter().any(|(key, item)| {
                loc.push(Loc::Key(key.clone()));
                let found = key.contains('\0') || find(item, loc);
                if !found {
                    loc.pop();
                }
                found
            }),
            _ => false,
        }
    }
    let mut loc = vec![Loc::Key("body".into())];
    if find(&value, &mut loc) {
        return Err(ApiError::Validation(vec![nul_error(loc)]));
    }
    Ok(())
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

fn json_error<T: DeserializeOwned>(
    e: serde_path_to_error::Error<serde_json::Error>,
    text: &[u8],
) -> FieldError {
    let loc = path_locs("body", e.path());
    let inner = e.into_inner();
    match inner.classify() {
        serde_json::error::Category::Syntax | serde_json::error::Category::Eof => {
            // serde_json reports a number, `null` or array where an enum belongs as a syntax
            // error ("expected value") at a column; on well-formed JSON the same parse from a
            // `Value` says which field it was.
            serde_json::from_slice::<serde_json::Value>(text)
                .ok()
                .and_then(located_data_error::<T>)
                .unwrap_or_else(|| json_syntax_error(&inner))
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

/// The located error of parsing `value` as `T`, if it fails. A wrong-typed enum value
/// (serde says "expected string or map") is reported as an `enum` error listing the accepted
/// values, learned by parsing again with a string no enum accepts in its place.
fn located_data_error<T: DeserializeOwned>(value: serde_json::Value) -> Option<FieldError> {
    const PROBE: &str = "\u{1}";
    let error = serde_path_to_error::deserialize::<_, T>(value.clone()).err()?;
    let loc = path_locs("body", error.path());
    let message = error.into_inner().to_string();
    if message.contains("expected string or map") {
        let pointer: String = loc[1..]
            .iter()
            .map(|segment| match segment {
                Loc::Key(k) => format!("/{}", k.replace('~', "~0").replace('/', "~1")),
                Loc::Index(i) => format!("/{i}"),
            })
            .collect();
        let mut probed = value;
        if let Some(slot) = probed.pointer_mut(&pointer) {
            *slot = serde_json::Value::String(PROBE.into());
            if let Some(again) = serde_path_to_error::deserialize::<_, T>(probed).err() {
                let same_place = path_locs("body", again.path()) == loc;
                let text = again.into_inner().to_string();
                if same_place && text.starts_with("unknown variant") {
                    return Some(data_error(loc, &text));
                }
            }
        }
        return Some(FieldError {
            loc,
            msg: "Input should be a valid enumeration member".into(),
            kind: "enum",
        });
    }
    Some(data_error(loc, &message))
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
            return Err(ApiError::coded(
                ErrorCode::MissingApiKey,
                "Missing API key: send 'Authorization: Bearer <key>'",
            ));
        };
        let key = header
            .strip_prefix("Bearer ")
            .or_else(|| header.strip_prefix("bearer "))
            .unwrap_or(header)
            .trim();
        match state.store.authenticate(key).await? {
            Some(org) => Ok(Authenticated(org)),
            None => Err(ApiError::coded(ErrorCode::InvalidApiKey, "Invalid API key")),
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
            return Err(ApiError::coded(
                ErrorCode::NamespaceRequired,
                "This endpoint is namespace-scoped: send the 'X-Namespace' header with a \
                 namespace id or name",
            ));
        };
        let namespace = AppState::from_ref(state)
            .store
            .get_namespace(&org.internal_id, identifier)
            .await?;
        Ok(NamespaceScope { org, namespace })
    }
}

/// A request about a resource of the namespace `X-Namespace` names: the state, the
/// [`NamespaceScope`] and the path parameters `P`, extracted in that order (so a request with
/// several faults reports the same one first on every route). Handlers destructure it:
/// `InNamespace(state, scope, identifier): InNamespace<String>`.
pub struct InNamespace<P>(pub AppState, pub NamespaceScope, pub P);

/// A request about a resource of the caller's organization, extracted as [`InNamespace`] is:
/// `InOrganization(state, Authenticated(org), name): InOrganization<String>`.
pub struct InOrganization<P>(pub AppState, pub Authenticated, pub P);

/// Implements the extraction of a scoped request: scope, then path.
macro_rules! scoped_requests {
    ($($request:ident($scope:ty)),*) => {$(
        impl<P: DeserializeOwned + Send> FromRequestParts<AppState> for $request<P> {
            type Rejection = ApiError;

            async fn from_request_parts(
                parts: &mut Parts,
                state: &AppState,
            ) -> Result<Self, ApiError> {
                let scope = <$scope>::from_request_parts(parts, state).await?;
                let Path(path) = Path::<P>::from_request_parts(parts, state).await?;
                Ok($request(state.clone(), scope, path))
            }
        }
    )*};
}

scoped_requests!(InNamespace(NamespaceScope), InOrganization(Authenticated));
