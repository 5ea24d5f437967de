//! The one way list endpoints query: equality and search conditions on indexed columns, a
//! whitelisted order, a LIMIT/OFFSET window, and a separate COUNT of all matches. Keyset
//! conditions (`(created_at, id) > cursor`) build the scans of [`crate::keyset`].

use sqlx::any::AnyRow;
use sqlx::AnyPool;

use crate::{Backend, StoreResult};

/// A listed table: where its rows are, the columns a page reads, and how one such row
/// becomes a `T`.
pub(crate) struct Rows<T> {
    /// A table, or a store-chosen join.
    pub table: &'static str,
    pub columns: &'static str,
    pub from_row: fn(&AnyRow) -> StoreResult<T>,
}

#[derive(Debug, Clone)]
enum Param {
    Text(String),
    Int(i64),
}

/// A list query under construction. Conditions are built from fixed SQL fragments chosen by
/// the store; every value travels as a bound parameter.
#[derive(Debug, Clone, Default)]
pub(crate) struct Listing {
    conditions: Vec<String>,
    params: Vec<Param>,
}

impl Listing {
    fn next(&mut self, param: Param) -> String {
        self.params.push(param);
        format!("${}", self.params.len())
    }

    pub fn eq_int(mut self, column: &str, value: i64) -> Self {
        let p = self.next(Param::Int(value));
        self.conditions.push(format!("{column} = {p}"));
        self
    }

    pub fn eq_text(mut self, column: &str, value: Option<&str>) -> Self {
        if let Some(value) = value {
            let p = self.next(Param::Text(value.to_owned()));
            self.conditions.push(format!("{column} = {p}"));
        }
        self
    }

    /// Rows where any of `columns` contains `needle` (case-insensitively unless asked).
    pub fn search(
        mut self,
        backend: Backend,
        columns: &[&str],
        needle: Option<&str>,
        case_sensitive: bool,
    ) -> Self {
        let Some(needle) = needle.filter(|n| !n.is_empty()) else {
            return self;
        };
        let position = backend.position_fn();
        let (needle, wrap): (String, fn(&str) -> String) = if case_sensitive {
            (needle.to_owned(), |c| format!("COALESCE({c}, '')"))
        } else {
            (needle.to_lowercase(), |c| {
                format!("lower(COALESCE({c}, ''))")
            })
        };
        let p = self.next(Param::Text(needle));
        let any: Vec<String> = columns
            .iter()
            .map(|c| format!("{position}({}, {p}) > 0", wrap(c)))
            .collect();
        self.conditions.push(format!("({})", any.join(" OR ")));
        self
    }

    /// Rows whose `(created_at, id_column)` key comes after `after`; every row when `None`.
    pub fn key_after(mut self, id_column: &str, after: Option<(i64, &str)>) -> Self {
        let (created, id) = after.unwrap_or((i64::MIN, ""));
        let c = self.next(Param::Int(created));
        let i = self.next(Param::Text(id.to_owned()));
        self.conditions
            .push(format!("(created_at, {id_column}) > ({c}, {i})"));
        self
    }

    /// Rows whose `(created_at, id_column)` key is `last` or comes before it.
    pub fn key_through(mut self, id_column: &str, last: (i64, &str)) -> Self {
        let c = self.next(Param::Int(last.0));
        let i = self.next(Param::Text(last.1.to_owned()));
        self.conditions
            .push(format!("(created_at, {id_column}) <= ({c}, {i})"));
        self
    }

    /// Rows created in `[from, until)`.
    pub fn created_within(mut self, (from, until): (i64, i64)) -> Self {
        let f = self.next(Param::Int(from));
        let u = self.next(Param::Int(until));
        self.conditions
            .push(format!("created_at >= {f} AND created_at < {u}"));
        self
    }

    fn where_clause(&self) -> String {
        if self.conditions.is_empty() {
            String::new()
        } else {
            format!("WHERE {}", self.conditions.join(" AND "))
        }
    }

    fn bind<'q>(
        &self,
        mut query: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>,
    ) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>> {
        for p in &self.params {
            query = match p {
                Param::Text(t) => query.bind(t.clone()),
                Param::Int(i) => query.bind(*i),
            };
        }
        query
    }

    pub async fn count(&self, pool: &AnyPool, table: &str) -> StoreResult<i64> {
        let sql = format!("SELECT COUNT(*) FROM {table} {}", self.where_clause());
        let row = self.bind(sqlx::query(&sql)).fetch_one(pool).await?;
        Ok(sqlx::Row::try_get(&row, 0)?)
    }

    /// One window of rows; `order_by` must be a store-chosen fragment.
    pub async fn page(
        &self,
        pool: &AnyPool,
        table: &str,
        columns: &str,
        order_by: &str,
        limit: i64,
        offset: i64,
    ) -> StoreResult<Vec<AnyRow>> {
        let n = self.params.len();
        let sql = format!(
            "SELECT {columns} FROM {table} {} ORDER BY {order_by} LIMIT ${} OFFSET ${}",
            self.where_clause(),
            n + 1,
            n + 2
        );
        Ok(self
            .bind(sqlx::query(&sql))
            .bind(limit)
            .bind(offset)
            .fetch_all(pool)
            .await?)
    }

    /// One window of matches in `order_by` (a store-chosen fragment), each read as a `T`,
    /// with the number of all matches.
    pub async fn window<T>(
        &self,
        pool: &AnyPool,
        rows: &Rows<T>,
        order_by: &str,
        (limit, offset): (i64, i64),
    ) -> StoreResult<(Vec<T>, i64)> {
        let total = self.count(pool, rows.table).await?;
        let page = self
            .page(pool, rows.table, rows.columns, order_by, limit, offset)
            .await?;
        let items = page
            .iter()
            .map(rows.from_row)
            .collect::<StoreResult<Vec<_>>>()?;
        Ok((items, total))
    }

    /// Every matching row in `order_by` (a store-chosen fragment), at most `limit` of them.
    pub async fn rows(
        &self,
        pool: &AnyPool,
        table: &str,
        columns: &str,
        order_by: &str,
        limit: Option<i64>,
    ) -> StoreResult<Vec<AnyRow>> {
        let limit_clause = match limit {
            Some(_) => format!(" LIMIT ${}", self.params.len() + 1),
            None => String::new(),
        };
        let sql = format!(
            "SELECT {columns} FROM {table} {} ORDER BY {order_by}{limit_clause}",
            self.where_clause()
        );
        let mut query = self.bind(sqlx::query(&sql));
        if let Some(limit) = limit {
            query = query.bind(limit);
        }
        Ok(query.fetch_all(pool).await?)
    }
}

/// A list's order: `column`, then `id_column` so rows that tie keep one order, both in the
/// same direction.
pub(crate) fn order_by(column: &str, id_column: &str, descending: bool) -> String {
    let direction = if descending { "DESC" } else { "ASC" };
    format!("{column} {direction}, {id_column} {direction}")
}

/// The order a list asked for as `(column, descending)`, newest first when it asked for none.
pub(crate) fn ordered(sort: Option<(SortColumn, bool)>, id_column: &str) -> String {
    let (column, descending) = sort.unwrap_or((sorts::CREATED_AT, true));
    order_by(column.0, id_column, descending)
}

/// One window of a named resource's list (collections, retrievers, taxonomies, clusters):
/// those whose id, name or description holds `search`, in the order `sort` asks for.
#[derive(Debug, Clone, Default)]
pub struct NamedListQuery {
    pub search: Option<String>,
    pub case_sensitive: bool,
    /// `(column, descending)`, one of the resource's [`sorts`]; newest first when absent.
    pub sort: Option<(SortColumn, bool)>,
    pub limit: i64,
    pub offset: i64,
}

/// One window of an execution history (a cluster's runs, a retriever's executions), in
/// creation order.
#[derive(Debug, Clone, Default)]
pub struct HistoryQuery {
    pub status: Option<String>,
    /// A substring of the execution's id.
    pub search: Option<String>,
    /// Newest first.
    pub descending: bool,
    pub limit: i64,
    pub offset: i64,
}

/// A column a list may be ordered by. Only this crate makes them, one list of them per
/// resource in [`sorts`], so a requested order is always one of the table's indexed columns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SortColumn(&'static str);

impl SortColumn {
    /// The column's name, as a list request names it.
    pub fn name(self) -> &'static str {
        self.0
    }

    /// The column of `columns` that a request names `name`.
    pub fn named(columns: &[SortColumn], name: &str) -> Option<SortColumn> {
        columns.iter().copied().find(|c| c.0 == name)
    }
}

/// The columns each list may be ordered by, in the order its errors name them.
pub mod sorts {
    use super::SortColumn;

    /// Every list's default order, newest first.
    pub const CREATED_AT: SortColumn = SortColumn("created_at");
    const UPDATED_AT: SortColumn = SortColumn("updated_at");

    pub const COLLECTIONS: &[SortColumn] = &[
        CREATED_AT,
        UPDATED_AT,
        SortColumn("collection_name"),
        SortColumn("document_count"),
    ];
    pub const RETRIEVERS: &[SortColumn] = &[CREATED_AT, UPDATED_AT, SortColumn("retriever_name")];
    pub const TAXONOMIES: &[SortColumn] = &[CREATED_AT, UPDATED_AT, SortColumn("taxonomy_name")];
    pub const CLUSTERS: &[SortColumn] = &[CREATED_AT, UPDATED_AT, SortColumn("cluster_name")];
    pub const OBJECTS: &[SortColumn] = &[
        CREATED_AT,
        UPDATED_AT,
        SortColumn("object_id"),
        SortColumn("key_prefix"),
    ];
    pub const DOCUMENTS: &[SortColumn] = &[CREATED_AT, UPDATED_AT, SortColumn("document_id")];
}

/// The `VALUES` rows of a multi-row `INSERT`: `count` rows of `width` consecutive
/// placeholders from `$first`, each row's list passed through `row` (which adds the
/// parameters every row shares), joined with commas.
pub(crate) fn value_rows(
    count: usize,
    first: usize,
    width: usize,
    row: impl Fn(String) -> String,
) -> String {
    (0..count)
        .map(|r| {
            let start = first + r * width;
            let params: Vec<String> = (start..start + width).map(|n| format!("${n}")).collect();
            row(params.join(", "))
        })
        .collect::<Vec<_>>()
        .join(", ")
}
