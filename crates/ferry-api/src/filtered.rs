//! Filtered and field-sorted lists: one page chosen from a keyset scan of the whole
//! collection or bucket.
//!
//! Filters and sorts name any field a record shows (custom fields at an object's root,
//! `metadata.*` of a document, …), so they are evaluated by the one filter evaluator
//! ([`Matcher`]) over each record's response JSON rather than translated into two SQL
//! dialects' JSON functions. The scan reads the store in batches and keeps only the best
//! `offset + limit` matches, so memory is bounded by the page asked for, not by the data; the
//! cost is a pass over the scanned rows, which is what an unindexed filter costs in any store.

use std::future::Future;

use ferry_store::StoreResult;
use ferry_wire::filter::{FilterNode, FilterOperator, LogicalOperator};
use ferry_wire::filter_match::{lookup_field, sort_order, Matcher};
use ferry_wire::Errors;
use serde::Serialize;
use serde_json::Value;

use crate::error::{ApiError, ApiResult};
use crate::paging::Page;

/// Rows read from the store per round trip.
const SCAN_BATCH: i64 = 500;

/// The order of a field-sorted list: a field path of the response, then the record's
/// creation key as tie-breaker so pages never overlap.
#[derive(Debug, Clone)]
pub struct FieldOrder {
    pub field: String,
    pub descending: bool,
}

struct Candidate<T> {
    key: Value,
    cursor: (i64, String),
    item: T,
}

/// Scans every record through `fetch` (a keyset page after a `(created_at, id)` cursor),
/// renders each with `render`, keeps those `accept` and `matcher` both accept, and returns
/// the page `page` selects in `order`, with the number of matches.
pub async fn select_page<R, T, Fetch, Fut>(
    mut fetch: Fetch,
    cursor_of: impl Fn(&R) -> (i64, String),
    render: impl Fn(R) -> ApiResult<T>,
    accept: impl Fn(&T) -> bool,
    matcher: Option<&Matcher>,
    order: &FieldOrder,
    page: &Page,
) -> ApiResult<(Vec<T>, i64)>
where
    T: Serialize,
    Fetch: FnMut(Option<(i64, String)>, i64) -> Fut,
    Fut: Future<Output = StoreResult<Vec<R>>>,
{
    let keep = usize::try_from(page.offset.saturating_add(page.limit)).unwrap_or(usize::MAX);
    let compare = |a: &Candidate<T>, b: &Candidate<T>| {
        let by_key = sort_order(&a.key, &b.key).then_with(|| a.cursor.cmp(&b.cursor));
        if order.descending {
            by_key.reverse()
        } else {
            by_key
        }
    };
    let mut best: Vec<Candidate<T>> = Vec::new();
    let mut total = 0i64;
    let mut after: Option<(i64, String)> = None;
    loop {
        let rows = fetch(after.clone(), SCAN_BATCH).await?;
        let last_batch = (rows.len() as i64) < SCAN_BATCH;
        for row in rows {
            let cursor = cursor_of(&row);
            after = Some(cursor.clone());
            let item = render(row)?;
            if !accept(&item) {
                continue;
            }
            let view =
                serde_json::to_value(&item).map_err(|e| ApiError::Internal(e.to_string()))?;
            if matcher.is_some_and(|m| !m.matches(&view)) {
                continue;
            }
            total += 1;
            let key = lookup_field(&view, &order.field)
                .cloned()
                .unwrap_or(Value::Null);
            best.push(Candidate { key, cursor, item });
            // Trim in amortised O(n log k): sort and cut only when twice the window is held.
            if best.len() >= keep.saturating_mul(2).max(64) {
                best.sort_by(compare);
                best.truncate(keep);
            }
        }
        if last_batch {
            break;
        }
    }
    best.sort_by(compare);
    best.truncate(keep);
    let offset = usize::try_from(page.offset).unwrap_or(usize::MAX);
    let items = best.into_iter().skip(offset).map(|c| c.item).collect();
    Ok((items, total))
}

/// Compiles a list's `filters` (located at `body.filters` in errors); `None` when there are
/// none or they test nothing.
pub fn compile_filters(filters: Option<&LogicalOperator>) -> ApiResult<Option<Matcher>> {
    let Some(filters) = filters.filter(|f| !f.is_empty()) else {
        return Ok(None);
    };
    let mut errors = Errors::new();
    let mut matcher = None;
    errors.at("body", |errors| {
        errors.at("filters", |errors| {
            matcher = Matcher::compile(filters, errors);
        })
    });
    match matcher {
        Some(m) => Ok(Some(m)),
        None => Err(ApiError::Validation(errors.items)),
    }
}

/// Refuses `filters` on a list that pages in SQL by column only (422 at `body.filters`),
/// rather than ignoring them and answering more than was asked for.
pub fn refuse_list_filters(filters: Option<&LogicalOperator>, what: &str) -> ApiResult<()> {
    if filters.is_some_and(|f| !f.is_empty()) {
        return Err(ApiError::Validation(vec![ferry_wire::FieldError {
            loc: crate::error::body_loc(&["filters"]),
            msg: format!("Value error, filters on {what} are not supported; use search or sort"),
            kind: "value_error",
        }]));
    }
    Ok(())
}

/// The `status` an execution history's `filters` ask for: the `{"status": "…"}` shorthand,
/// or one `eq` condition on `status` under `AND`. Anything else is a 422 at `body.filters`:
/// a history is filtered by status only.
pub fn status_filter(filters: Option<&LogicalOperator>) -> ApiResult<Option<String>> {
    let Some(filters) = filters.filter(|f| !f.is_empty()) else {
        return Ok(None);
    };
    let only = |and: bool, equals: usize| {
        filters.and.is_some() == and
            && filters.or.is_none()
            && filters.not.is_none()
            && filters.equals.len() == equals
    };
    let status = if only(false, 1) {
        filters.equals.get("status").and_then(Value::as_str)
    } else if only(true, 0) {
        match filters.and.as_deref() {
            Some([FilterNode::Condition(c)])
                if c.field == "status" && c.operator == FilterOperator::Eq =>
            {
                c.value.as_str()
            }
            _ => None,
        }
    } else {
        None
    };
    match status {
        Some(status) => Ok(Some(status.to_owned())),
        None => Err(ApiError::Validation(vec![ferry_wire::FieldError {
            loc: crate::error::body_loc(&["filters"]),
            msg: "Value error, an execution history is filtered on 'status' (eq) only: \
                  {\"status\": …}"
                .into(),
            kind: "value_error",
        }])),
    }
}
