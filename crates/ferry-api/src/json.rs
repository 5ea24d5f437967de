//! Moving values between the store's JSON columns and wire types. A stored value the wire type
//! cannot read is corruption: an internal error, logged, never a client's fault.

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

use crate::error::{ApiError, ApiResult};

pub fn to_json<T: Serialize>(value: &T) -> ApiResult<Value> {
    serde_json::to_value(value).map_err(|e| ApiError::Internal(e.to_string()))
}

pub fn from_json<T: DeserializeOwned>(what: &str, value: &Value) -> ApiResult<T> {
    serde_json::from_value(value.clone())
        .map_err(|e| ApiError::Internal(format!("stored {what} unreadable: {e}")))
}

/// A wire enum from its stored name.
pub fn wire_enum<T: DeserializeOwned>(what: &str, name: &str) -> ApiResult<T> {
    from_json(what, &Value::String(name.to_owned()))
}

/// The name a wire enum serializes to, for storing.
pub fn wire_name<T: Serialize>(value: &T) -> ApiResult<String> {
    match to_json(value)? {
        Value::String(s) => Ok(s),
        other => Err(ApiError::Internal(format!("{other} is not a name"))),
    }
}
