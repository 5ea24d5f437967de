//! The named resources of a namespace (buckets, collections, retrievers, taxonomies, clusters,
//! evaluation sets): each is found by its id or its name, read and deleted the same way, and
//! edited optimistically. One [`Named`] per table describes it; the statements are written
//! here once.
//!
//! A resource's user-editable columns are its [`Fields`]: its create writes them
//! ([`Named::insert`]) and its edits replace them ([`Named::edit`]). An edit is optimistic: it
//! reads the row, changes a copy of the fields, and writes them back only where `updated_at`
//! has not moved since the read; a lost race reads again, up to [`UPDATE_ATTEMPTS`] times.

use ferry_wire::ErrorCode;
use sqlx::any::AnyRow;
use sqlx::{Any, AnyPool, Executor, Transaction};

use crate::error::is_unique_violation;
use crate::listing::{ordered, Listing, NamedListQuery};
use crate::namespaces::NamespaceKey;
use crate::row::AnyQuery;
use crate::time::now_micros;
use crate::{Backend, StoreError, StoreResult};

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

/// The user-editable columns of a named resource, in one order for its create and its edits.
pub(crate) trait Fields: Clone {
    /// The columns, in the order [`Fields::bind`] binds their values.
    const COLUMNS: &'static [&'static str];
    fn bind<'q>(&'q self, query: AnyQuery<'q>) -> AnyQuery<'q>;
    /// The resource's name, which a unique violation is about.
    fn name(&self) -> &str;
}

/// A named row whose [`Fields`] are edited in place; [`editable!`] implements it.
pub(crate) trait Editable {
    type Fields: Fields;
    /// Whether the table keeps a `version`, 1 at creation, that an edit may bump.
    const VERSIONED: bool = false;
    fn id(&self) -> &str;
    fn fields(&self) -> &Self::Fields;
    fn updated_at(&self) -> i64;
    /// The row's `version`, for a table that keeps one.
    fn version(&self) -> i64 {
        0
    }
}

/// `editable!(Bucket, BucketFields, bucket_id)`, or with a last `version` for a record whose
/// table keeps one: [`Editable`] for a record with `fields` and `updated_at`.
macro_rules! editable {
    ($record:ty, $fields:ty, $id:ident $(, $version:ident)?) => {
        impl $crate::named::Editable for $record {
            type Fields = $fields;
            $(
                const VERSIONED: bool = true;
                fn version(&self) -> i64 {
                    self.$version
                }
            )?
            fn id(&self) -> &str {
                &self.$id
            }
            fn fields(&self) -> &$fields {
                &self.fields
            }
            fn updated_at(&self) -> i64 {
                self.updated_at
            }
        }
    };
}
pub(crate) use editable;

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

    /// One window of the namespace's rows that `query` asks for, with the number of all
    /// matches.
    pub async fn list(
        &self,
        pool: &AnyPool,
        backend: Backend,
        ns: NamespaceKey,
        query: &NamedListQuery,
    ) -> StoreResult<(Vec<T>, i64)> {
        let searched = [self.id_column, self.name_column, "description"];
        let listing = Listing::default().eq_int("ns_key", ns.0).search(
            backend,
            &searched,
            query.search.as_deref(),
            query.case_sensitive,
        );
        let order = ordered(query.sort, self.id_column);
        listing
            .window(pool, &self.rows(), &order, (query.limit, query.offset))
            .await
    }

    /// An insert's outcome, a unique violation being `name` taken.
    fn inserted(&self, result: Result<AnyRow, sqlx::Error>, name: &str) -> StoreResult<T> {
        match result {
            Ok(row) => (self.from_row)(&row),
            Err(e) if is_unique_violation(&e) => Err(self.name_taken(name)),
            Err(e) => Err(e.into()),
        }
    }

    /// One optimistic write's outcome: the row written, `None` where another writer moved
    /// `updated_at` first (read again), or the error, a unique violation being `name` taken.
    fn written(
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

impl<T: Editable> Named<T> {
    /// Inserts a row of `fields` with id `id` (at version 1 where the table keeps versions);
    /// a unique violation is the name taken.
    pub async fn insert<'c>(
        &self,
        db: impl Executor<'c, Database = Any>,
        ns: NamespaceKey,
        id: &str,
        fields: &T::Fields,
    ) -> StoreResult<T> {
        let names = T::Fields::COLUMNS;
        let n = names.len();
        let values: Vec<String> = (1..=n).map(|p| format!("${p}")).collect();
        let (version, first) = if T::VERSIONED {
            (", version", ", 1")
        } else {
            ("", "")
        };
        let sql = format!(
            "INSERT INTO {table} ({columns}{version}, ns_key, {id_column}, created_at, updated_at) \
             VALUES ({values}{first}, ${a}, ${b}, ${c}, ${c}) RETURNING {returning}",
            table = self.table,
            columns = names.join(", "),
            id_column = self.id_column,
            values = values.join(", "),
            a = n + 1,
            b = n + 2,
            c = n + 3,
            returning = self.columns,
        );
        let result = fields
            .bind(sqlx::query(&sql))
            .bind(ns.0)
            .bind(id)
            .bind(now_micros())
            .fetch_one(db)
            .await;
        self.inserted(result, fields.name())
    }

    /// Applies `change` to the fields of the row `identifier` names, optimistically (see the
    /// module doc). Where the table keeps versions, the version goes up by one when
    /// `bump(current, edited)` says so. The write is made in a transaction handed back open,
    /// so that the caller can add to it before it commits.
    pub async fn edit(
        &self,
        pool: &AnyPool,
        ns: NamespaceKey,
        identifier: &str,
        mut change: impl FnMut(&mut T::Fields),
        bump: impl Fn(&T, &T::Fields) -> bool,
    ) -> StoreResult<(T, Transaction<'static, Any>)> {
        let mut set: Vec<String> = T::Fields::COLUMNS
            .iter()
            .zip(1..)
            .map(|(column, p)| format!("{column} = ${p}"))
            .collect();
        if T::VERSIONED {
            set.push(format!("version = ${}", set.len() + 1));
        }
        let at = set.len() + 1;
        let sql = format!(
            "UPDATE {table} SET {set}, updated_at = ${at} WHERE ns_key = ${ns_at} \
             AND {id_column} = ${id_at} AND updated_at = ${read_at} RETURNING {returning}",
            table = self.table,
            set = set.join(", "),
            ns_at = at + 1,
            id_column = self.id_column,
            id_at = at + 2,
            read_at = at + 3,
            returning = self.columns,
        );
        for _ in 0..UPDATE_ATTEMPTS {
            let current = self.one(Action::Get, pool, ns, None, identifier).await?;
            let mut edited = current.fields().clone();
            change(&mut edited);
            let mut query = edited.bind(sqlx::query(&sql));
            if T::VERSIONED {
                query = query.bind(current.version() + i64::from(bump(&current, &edited)));
            }
            let mut tx = pool.begin().await?;
            let result = query
                .bind(now_micros().max(current.updated_at() + 1))
                .bind(ns.0)
                .bind(current.id())
                .bind(current.updated_at())
                .fetch_optional(&mut *tx)
                .await;
            if let Some(row) = self.written(result, edited.name())? {
                return Ok((row, tx));
            }
        }
        Err(self.kept_changing())
    }

    /// [`Named::edit`] of a row whose version, if any, stays, committed.
    pub async fn update(
        &self,
        pool: &AnyPool,
        ns: NamespaceKey,
        identifier: &str,
        change: impl FnMut(&mut T::Fields),
    ) -> StoreResult<T> {
        let (row, tx) = self
            .edit(pool, ns, identifier, change, |_, _| false)
            .await?;
        tx.commit().await?;
        Ok(row)
    }
}

#[cfg(test)]
mod tests;
