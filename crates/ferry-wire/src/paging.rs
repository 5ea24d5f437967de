//! Paging shared by every list endpoint: the query parameters the SDK sends and the
//! `PaginationResponse` it reads back.

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::validate::{Errors, Validate};

/// Query parameters every list endpoint accepts. Body values, where a body has them, win.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
pub struct PageQuery {
    pub limit: Option<i64>,
    pub page_size: Option<i64>,
    pub offset: Option<i64>,
    pub page: Option<i64>,
    /// Opaque cursor from a previous page's `next_cursor`.
    pub cursor: Option<String>,
    /// Alias of `cursor`.
    pub next_cursor: Option<String>,
    /// Alias of `cursor`.
    pub after: Option<String>,
    /// Fill `pagination.total` and `pagination.total_pages`.
    pub include_total: Option<bool>,
}

/// Checks the paging bounds the SDK declares (`limit`/`page_size` 1..1000, `offset` 0..10000,
/// `page` ≥ 1), wherever they appear.
pub fn validate_paging(
    errors: &mut Errors,
    limit: Option<i64>,
    page_size: Option<i64>,
    offset: Option<i64>,
    page: Option<i64>,
) {
    errors.int_range("limit", limit, Some(1), Some(1000));
    errors.int_range("page_size", page_size, Some(1), Some(1000));
    errors.int_range("offset", offset, Some(0), Some(10_000));
    errors.int_range("page", page, Some(1), None);
}

impl Validate for PageQuery {
    fn validate(&self, errors: &mut Errors) {
        validate_paging(errors, self.limit, self.page_size, self.offset, self.page);
    }
}

/// Pagination information for the current result window.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
pub struct PaginationResponse {
    /// Matching items across all pages; null unless `include_total=true`.
    pub total: Option<i64>,
    pub page: Option<i64>,
    pub page_size: Option<i64>,
    /// Null unless `include_total=true`.
    pub total_pages: Option<i64>,
    pub next_page: Option<String>,
    pub previous_page: Option<String>,
    pub next_cursor: Option<String>,
}
