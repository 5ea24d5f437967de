//! Reading typed values out of a row's text columns: JSON documents, and enumerations stored
//! by their wire names. A text that does not parse is [`StoreError::Corrupt`], naming the
//! column. Also the type of a statement values are bound to, [`AnyQuery`].
//!
//! Where this sits among the layers: `docs/ARCHITECTURE.md` ("Where each rule lives").

use serde_json::Value;
use sqlx::any::AnyRow;
use sqlx::Row;

use crate::{StoreError, StoreResult};

/// A statement being bound, as `sqlx::query` makes it.
pub(crate) type AnyQuery<'q> = sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>;

/// A JSON document stored as text.
pub(crate) fn parse_json(column: &str, text: &str) -> StoreResult<Value> {
    serde_json::from_str(text).map_err(|e| StoreError::Corrupt(format!("{column}: {e}")))
}

/// A list of strings (ids), as the JSON array text a column holds.
pub(crate) fn json_list(items: &[String]) -> String {
    Value::from(items.to_vec()).to_string()
}

/// A nullable text column holding a JSON document.
pub(crate) fn optional_json(
    row: &AnyRow,
    index: usize,
    column: &str,
) -> StoreResult<Option<Value>> {
    row.try_get::<Option<String>, _>(index)?
        .map(|text| parse_json(column, &text))
        .transpose()
}

/// A text column holding one of `T`'s names (a status, a type).
pub(crate) fn parse_text<T: std::str::FromStr>(
    row: &AnyRow,
    index: usize,
    column: &str,
) -> StoreResult<T> {
    let text: String = row.try_get(index)?;
    text.parse()
        .map_err(|_| StoreError::Corrupt(format!("{column} {text:?}")))
}
