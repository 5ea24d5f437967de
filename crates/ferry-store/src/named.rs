//! The named resources of a namespace (buckets, collections, retrievers, taxonomies, clusters,
//! evaluation sets): each is found by its id or its name, read and deleted the same way, and
//! edited optimistically. One [`Named`] per table describes it; the statements are written
//! here once.
//!
//! An optimistic edit reads the row, changes a copy, and writes it back only where
//! `updated_at` has not moved since the read; a lost race reads again, up to
//! [`UPDATE_ATTEMPTS`] times. [`Named::written`] turns one attempt's outcome into the answer.

use ferry_wire::ErrorCode;
use sqlx::any::AnyRow;
use sqlx::{Any, Executor};

use crate::error::is_unique_violation;
use crate::namespaces::NamespaceKey;
use crate::{StoreError, StoreResult};

/// How many times an optimistic edit reads again after losing a race before giving up with
/// `concurrent_update`.
pub(crate) const UPDATE_ATTEMPTS: usize = 8;

/// The error of an optimistic edit of a `resource` that lost every race.
pub(crate) fn kept_changing(resource: &str) -> StoreError {
    StoreError::Conflict {
        code: ErrorCode::ConcurrentUpdate,
        message: format!("the {resource} kept changing while it was being updated; try again"),
    }
}

/// What [`Named::one`] does with the row it names.
pub(crate) enum Action {
    Get,
    Delete,
}

/// One table of named resources.
pub(crate) struct Named<T> {
    /// The resource's name in errors (`bucket`).
    pub resource: &'static str,
    pub table: &'static str,
    pub id_column: &'static str,
    pub name_column: &'static str,
    /// A parent the identifier is unique under, beside the namespace (an evaluation set's
    /// `retriever_id`).
    pub parent_column: Option<&'static str>,
    /// The columns [`Named::from_row`] reads.
    pub columns: &'static str,
    pub from_row: fn(&AnyRow) -> StoreResult<T>,
    /// The code of a name already taken in the namespace.
    pub name_taken: ErrorCode,
}

/// `named!("bucket", "buckets", COLUMNS, bucket_from_row, BucketNameTaken)`: the table of a
/// resource whose columns are `{resource}_id` and `{resource}_name`.
macro_rules! named {
    ($resource:literal, $table:literal, $columns:expr, $from_row:expr, $taken:ident) => {
        $crate::named::Named {
            resource: $resource,
            table: $table,
            id_column: concat!($resource, "_id"),
            name_column: concat!($resource, "_name"),
            parent_column: None,
            columns: $columns,
            from_row: $from_row,
            name_taken: ferry_wire::ErrorCode::$taken,
        }
    };
}
pub(crate) use named;

impl<T> Named<T> {
    /// The table as a list reads it.
    pub fn rows(&self) -> crate::listing::Rows<T> {
        crate::listing::Rows {
            table: self.table,
            columns: self.columns,
            from_row: self.from_row,
        }
    }

    pub fn not_found(&self, identifier: &str) -> StoreError {
        StoreError::NotFound {
            resource: self.resource,
            id: identifier.to_owned(),
        }
    }

    pub fn name_taken(&self, name: &str) -> StoreError {
        StoreError::Conflict {
            code: self.name_taken,
            message: format!(
                "a {} named '{name}' already exists in this namespace",
                self.resource
            ),
        }
    }

    pub fn kept_changing(&self) -> StoreError {
        kept_changing(self.resource)
    }

    /// `WHERE` over the namespace, the parent (if any), and the id or the name.
    fn identified(&self) -> String {
        let (id, name) = (self.id_column, self.name_column);
        match self.parent_column {
            None => format!("ns_key = $1 AND ({id} = $2 OR {name} = $2)"),
            Some(parent) => {
                format!("ns_key = $1 AND {parent} = $2 AND ({id} = $3 OR {name} = $3)")
            }
        }
    }

    /// Reads, or deletes, the row whose id or name is `identifier` (under `parent` for a
    /// table that has one), and returns what it is or was. A delete runs in the caller's
    /// transaction, which removes what hangs off the row.
    pub async fn one<'c>(
        &self,
        action: Action,
        db: impl Executor<'c, Database = Any>,
        ns: NamespaceKey,
        parent: Option<&str>,
        identifier: &str,
    ) -> StoreResult<T> {
        debug_assert_eq!(parent.is_some(), self.parent_column.is_some());
        let (columns, table, identified) = (self.columns, self.table, self.identified());
        let sql = match action {
            Action::Get => format!("SELECT {columns} FROM {table} WHERE {identified}"),
            Action::Delete => format!("DELETE FROM {table} WHERE {identified} RETURNING {columns}"),
        };
        let query = sqlx::query(&sql).bind(ns.0);
        let query = match parent {
            Some(parent) => query.bind(parent).bind(identifier),
            None => query.bind(identifier),
        };
        match query.fetch_optional(db).await? {
            Some(row) => (self.from_row)(&row),
            None => Err(self.not_found(identifier)),
        }
    }

    /// An insert's outcome, a unique violation being `name` taken.
    pub fn inserted(&self, result: Result<AnyRow, sqlx::Error>, name: &str) -> StoreResult<T> {
        match result {
            Ok(row) => (self.from_row)(&row),
            Err(e) if is_unique_violation(&e) => Err(self.name_taken(name)),
            Err(e) => Err(e.into()),
        }
    }

    /// One optimistic write's outcome: the row written, `None` where another writer moved
    /// `updated_at` first (read again), or the error, a unique violation being `name` taken.
    pub fn written(
        &self,
        result: Result<Option<AnyRow>, sqlx::Error>,
        name: &str,
    ) -> StoreResult<Option<T>> {
        result
            .transpose()
            .map(|result| self.inserted(result, name))
            .transpose()
    }
}
