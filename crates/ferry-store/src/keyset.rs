//! Keyset scans: reading one parent's rows (a bucket's objects, a collection's documents) in
//! `(created_at, id)` order, a page at a time after a cursor, so a whole bucket or collection
//! streams in bounded memory and a page never skips or repeats a row, whatever is written
//! meanwhile. The scans of objects, documents and retrievers go through [`Keyset`].
//!
//! A cursor is the `(created_at, id)` of the last row read (`None`: from the start). To scan
//! another table, name it with [`Keyset::new`]: its id column, the columns to read, and the
//! [`Listing`] that scopes it (always `ns_key`, then the parent column, if any). A statement
//! the helper does not issue itself (an `INSERT … SELECT` over a batch's range, say) builds
//! the same range on its own `Listing` with `key_after` and `key_through`.

use sqlx::any::AnyRow;
use sqlx::{AnyPool, Row};

use crate::listing::Listing;
use crate::StoreResult;

/// A keyset scan of one table, scoped to one parent.
pub(crate) struct Keyset {
    table: &'static str,
    id_column: &'static str,
    columns: &'static str,
    scope: Listing,
}

impl Keyset {
    /// Scans `table` in `(created_at, id_column)` order, reading `columns`, over the rows
    /// `scope` selects.
    pub fn new(
        table: &'static str,
        id_column: &'static str,
        columns: &'static str,
        scope: Listing,
    ) -> Self {
        Keyset {
            table,
            id_column,
            columns,
            scope,
        }
    }

    fn order(&self) -> String {
        format!("created_at, {}", self.id_column)
    }

    /// The next `limit` rows after `after`.
    pub async fn after(
        &self,
        pool: &AnyPool,
        after: Option<(i64, &str)>,
        limit: i64,
    ) -> StoreResult<Vec<AnyRow>> {
        self.scope
            .clone()
            .key_after(self.id_column, after)
            .rows(pool, self.table, self.columns, &self.order(), Some(limit))
            .await
    }

    /// The rows of `(after, last]`: one batch's range, read again.
    pub async fn through(
        &self,
        pool: &AnyPool,
        after: Option<(i64, &str)>,
        last: (i64, &str),
    ) -> StoreResult<Vec<AnyRow>> {
        self.scope
            .clone()
            .key_after(self.id_column, after)
            .key_through(self.id_column, last)
            .rows(pool, self.table, self.columns, &self.order(), None)
            .await
    }

    /// The `(created_at, id)` keys of the next `limit` rows after `after` created in
    /// `window` (`[from, until)`): keys only, to enumerate without reading the rows.
    pub async fn keys_after(
        &self,
        pool: &AnyPool,
        after: Option<(i64, &str)>,
        window: (i64, i64),
        limit: i64,
    ) -> StoreResult<Vec<(i64, String)>> {
        let columns = self.order();
        let rows = self
            .scope
            .clone()
            .key_after(self.id_column, after)
            .created_within(window)
            .rows(pool, self.table, &columns, &columns, Some(limit))
            .await?;
        rows.iter()
            .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
            .collect()
    }
}
