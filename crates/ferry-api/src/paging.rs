//! Turning the SDK's many paging knobs into one window, and the window back into
//! `PaginationResponse`.

use ferry_store::SortColumn;
use ferry_wire::paging::{PageQuery, PaginationResponse};
use ferry_wire::{FieldError, Loc};

use crate::error::ApiError;

/// Page size when a request names none.
pub const DEFAULT_PAGE_SIZE: i64 = 20;

/// Paging values a request body may carry; each wins over its query counterpart.
#[derive(Debug, Clone, Copy, Default)]
pub struct BodyPaging {
    pub limit: Option<i64>,
    pub page_size: Option<i64>,
    pub offset: Option<i64>,
    pub page: Option<i64>,
}

/// The window a list request asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    pub limit: i64,
    pub offset: i64,
    /// The page number asked for, when the window came from `page`.
    page: Option<i64>,
    include_total: bool,
}

/// Cursors are the offset of the next page, opaque to clients; a cursor stays valid as long as
/// the list's order does.
fn decode_cursor(cursor: &str) -> Option<i64> {
    cursor
        .strip_prefix("off_")?
        .parse()
        .ok()
        .filter(|n: &i64| *n >= 0)
}

impl Page {
    /// Body values win over query values; `limit` wins over `page_size`; an explicit offset
    /// wins over `page`, which wins over a cursor.
    pub fn resolve(query: &PageQuery, body: BodyPaging) -> Result<Page, ApiError> {
        let limit = body
            .limit
            .or(body.page_size)
            .or(query.limit)
            .or(query.page_size)
            .unwrap_or(DEFAULT_PAGE_SIZE);
        let cursor = query
            .cursor
            .as_ref()
            .or(query.next_cursor.as_ref())
            .or(query.after.as_ref());
        let cursor_offset = match cursor {
            Some(c) => Some(decode_cursor(c).ok_or_else(|| {
                ApiError::Validation(vec![FieldError {
                    loc: vec![Loc::Key("query".into()), Loc::Key("cursor".into())],
                    msg: "Cursor is not one this server issued".into(),
                    kind: "value_error",
                }])
            })?),
            None => None,
        };
        // `page` has no upper bound in the SDK's schema, so its offset saturates: a page past
        // the largest offset is simply past the end, and stays the page the caller named.
        let page_offset = |page: i64| (page - 1).saturating_mul(limit);
        let page = match (body.offset, body.page, query.offset) {
            (Some(_), _, _) => None,
            (None, Some(page), _) => Some(page),
            (None, None, Some(_)) => None,
            (None, None, None) => query.page,
        };
        let offset = body
            .offset
            .or(body.page.map(page_offset))
            .or(query.offset)
            .or(query.page.map(page_offset))
            .or(cursor_offset)
            .unwrap_or(0);
        Ok(Page {
            limit,
            offset,
            page,
            include_total: query.include_total.unwrap_or(false),
        })
    }

    /// Describes this window after `returned` of `total` matches came back.
    pub fn pagination(&self, returned: usize, total: i64) -> PaginationResponse {
        let next_offset = self.offset.saturating_add(returned as i64);
        PaginationResponse {
            total: self.include_total.then_some(total),
            page: Some(self.page.unwrap_or(self.offset / self.limit + 1)),
            page_size: Some(self.limit),
            total_pages: self
                .include_total
                .then_some((total + self.limit - 1) / self.limit),
            next_page: None,
            previous_page: None,
            next_cursor: (next_offset < total).then(|| format!("off_{next_offset}")),
        }
    }
}

/// The sort a list body asks for: its first `sorts` entry, else `sort`.
pub fn chosen_sort<'a, S>(sorts: Option<&'a Vec<S>>, sort: Option<&'a S>) -> Option<&'a S> {
    sorts.and_then(|s| s.first()).or(sort)
}

/// The column order a list body asks for: its first `sorts` entry, else `sort`, one of
/// `columns`, with whether it is descending. An unknown field is a 422 at `body.sort.field`
/// naming the accepted ones.
pub fn sort_column(
    sorts: Option<&Vec<ferry_wire::filter::SortOption>>,
    sort: Option<&ferry_wire::filter::SortOption>,
    columns: &[SortColumn],
) -> Result<Option<(SortColumn, bool)>, ApiError> {
    let Some(chosen) = chosen_sort(sorts, sort) else {
        return Ok(None);
    };
    let Some(column) = SortColumn::named(columns, &chosen.field) else {
        let names: Vec<String> = columns.iter().map(|c| format!("'{}'", c.name())).collect();
        return Err(ApiError::Validation(vec![FieldError {
            loc: ["body", "sort", "field"]
                .iter()
                .map(|k| Loc::Key((*k).to_owned()))
                .collect(),
            msg: format!("Input should be {}", names.join(", ")),
            kind: "enum",
        }]));
    };
    Ok(Some((column, chosen.descending())))
}

/// Whether a list ordered by creation alone runs newest first: it does unless `sort` asks for
/// `created_at` ascending. Any other field is a 422 at `body.{loc}`.
pub fn newest_first(
    sort: Option<&ferry_wire::filter::SortOption>,
    loc: &[&str],
) -> Result<bool, ApiError> {
    match sort {
        None => Ok(true),
        Some(s) if s.field == "created_at" => Ok(s.descending()),
        Some(_) => Err(ApiError::Validation(vec![FieldError {
            loc: crate::error::body_loc(loc),
            msg: "Input should be 'created_at'".into(),
            kind: "enum",
        }])),
    }
}
