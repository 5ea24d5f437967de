//! The one way list endpoints query: equality and search conditions on indexed columns, a
//! whitelisted order, a LIMIT/OFFSET window, and a separate COUNT of all matches.

use sqlx::any::AnyRow;
use sqlx::AnyPool;

use crate::{Backend, StoreResult};

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
