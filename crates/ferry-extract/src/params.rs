//! Parameter checking shared by the extractors, reported in pydantic's vocabulary so the API
//! can answer 422 with `loc`/`msg`/`type`.

use serde_json::{Map, Value};

/// A parameter problem, located relative to the parameters object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParamError {
    pub loc: Vec<String>,
    pub msg: String,
    pub kind: &'static str,
}

impl ParamError {
    pub(crate) fn new(field: &str, kind: &'static str, msg: impl Into<String>) -> Self {
        ParamError {
            loc: vec![field.to_owned()],
            msg: msg.into(),
            kind,
        }
    }
}

/// Refuses keys outside `accepted`.
pub(crate) fn known_keys(
    params: &Map<String, Value>,
    accepted: &[&str],
    errors: &mut Vec<ParamError>,
) {
    for key in params.keys() {
        if !accepted.contains(&key.as_str()) {
            errors.push(ParamError::new(
                key,
                "extra_forbidden",
                format!(
                    "Extra inputs are not permitted; accepted parameters: {}",
                    accepted
                        .iter()
                        .chain(&crate::vector_storage::PARAMETERS)
                        .copied()
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ));
        }
    }
}

/// A boolean parameter, `false` when absent or null.
pub(crate) fn boolean(
    params: &Map<String, Value>,
    key: &str,
    errors: &mut Vec<ParamError>,
) -> bool {
    match params.get(key) {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => {
            errors.push(ParamError::new(
                key,
                "bool_type",
                "Input should be a valid boolean",
            ));
            false
        }
    }
}

/// An integer parameter ≥ `min`, or its default.
pub(crate) fn int_at_least(
    params: &Map<String, Value>,
    key: &str,
    min: i64,
    default: Option<i64>,
    errors: &mut Vec<ParamError>,
) -> Option<i64> {
    match params.get(key) {
        None | Some(Value::Null) => {
            if default.is_none() {
                errors.push(ParamError::new(key, "missing", "Field required"));
            }
            default
        }
        Some(v) => match v.as_i64() {
            Some(n) if n >= min => Some(n),
            Some(_) => {
                errors.push(ParamError::new(
                    key,
                    "greater_than_equal",
                    format!("Input should be greater than or equal to {min}"),
                ));
                None
            }
            None => {
                errors.push(ParamError::new(
                    key,
                    "int_type",
                    "Input should be a valid integer",
                ));
                None
            }
        },
    }
}

/// A string parameter, or its default.
pub(crate) fn string(
    params: &Map<String, Value>,
    key: &str,
    errors: &mut Vec<ParamError>,
) -> Option<String> {
    match params.get(key) {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => {
            errors.push(ParamError::new(
                key,
                "string_type",
                "Input should be a valid string",
            ));
            None
        }
    }
}

/// One of `allowed`, or `default`.
pub(crate) fn one_of(
    params: &Map<String, Value>,
    key: &str,
    allowed: &[&str],
    default: &str,
    errors: &mut Vec<ParamError>,
) -> String {
    match params.get(key) {
        None | Some(Value::Null) => default.to_owned(),
        Some(Value::String(s)) if allowed.contains(&s.as_str()) => s.clone(),
        Some(_) => {
            let names: Vec<String> = allowed.iter().map(|a| format!("'{a}'")).collect();
            errors.push(ParamError::new(
                key,
                "enum",
                format!("Input should be {}", names.join(", ")),
            ));
            default.to_owned()
        }
    }
}
