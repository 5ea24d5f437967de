//! Ferry's persistence layer: every SQL statement the product runs lives here.
//!
//! One [`Store`] serves both backends. Queries are written once, in the SQL that SQLite and
//! PostgreSQL share (`$N` placeholders, `ON CONFLICT`, `RETURNING`), and run through sqlx's
//! `Any` driver; the few places where the dialects differ ask [`Backend`]. Only the schema is
//! kept per backend (`migrations/sqlite`, `migrations/postgres`), applied at connect.
//!
//! Every function that touches tenant data takes the organization's `internal_id` (and the
//! namespace where one applies), so no caller can forget tenant scoping.

mod aliases;
pub mod blobs;
mod buckets;
mod changes;
pub mod clusters;
mod collections;
mod documents;
mod error;
mod evaluations;
pub mod freeze;
pub mod ids;
mod keyset;
mod listing;
pub mod migrations;
mod named;
mod namespaces;
mod objects;
mod organizations;
mod retrievers;
mod row;
pub mod stats;
pub mod tasks;
mod taxonomies;
pub mod time;
pub mod vectors;
mod webhooks;

use std::path::Path;
use std::str::FromStr;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, ConnectOptions, Executor};

pub use aliases::{Alias, AliasHistoryEntry, AliasListQuery};
pub use buckets::{Bucket, BucketFields, BucketListQuery};
pub use changes::{ChangePage, ChangePages, Documents, Feed, FeedPage, ObjectChangePage, Objects};
pub use clusters::{Cluster, ClusterExecution, ClusterFields, ClusterSummary, ExecutionOutcome};
pub use collections::{Collection, CollectionFields};
pub use documents::{
    BatchProgress, DocumentListQuery, DocumentPages, DocumentRecord, Lineage, NewDocument,
    SourceKind,
};
pub use error::{StoreError, StoreResult};
pub use evaluations::{DocumentLineage, EvaluationListQuery, EvaluationRecord};
pub use listing::{sorts, HistoryQuery, NamedListQuery, SortColumn};
pub use migrations::{
    BatchDone, BatchKind, BatchStatus, BatchSummary, ItemIds, MigrationBatch, MigrationKey,
    MigrationListQuery, MigrationRecord, NewBatch, NewMigration, StatusChange,
};
pub use namespaces::{
    Namespace, NamespaceFields, NamespaceKey, NamespaceListPage, NamespaceListQuery,
    NamespaceStats, NewNamespace,
};
pub use objects::{Inserted, NewObject, ObjectListQuery, ObjectRecord};
pub use organizations::{Organization, DEFAULT_ORGANIZATION};
pub use retrievers::{
    Interaction, InteractionListQuery, Retriever, RetrieverExecution, RetrieverFields,
};
pub use tasks::{LeaseRenewal, Task, TaskListQuery};
pub use taxonomies::{Taxonomy, TaxonomyFields};
pub use webhooks::WebhookDelivery;

/// Which database a [`Store`] runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    /// SQL function returning the 1-based position of a substring (0 when absent).
    pub(crate) fn position_fn(self) -> &'static str {
        match self {
            Backend::Sqlite => "instr",
            Backend::Postgres => "strpos",
        }
    }
}

/// Where a store keeps its data.
#[derive(Debug, Clone)]
pub enum StoreLocation {
    /// A `postgres://` or `postgresql://` URL.
    Postgres(String),
    /// An SQLite database file (created if missing).
    SqliteFile(std::path::PathBuf),
}

impl StoreLocation {
    /// PostgreSQL when `database_url` is a `postgres://` URL, else `ferry.db` in `data_dir`.
    pub fn resolve(database_url: Option<&str>, data_dir: &Path) -> StoreResult<Self> {
        match database_url.filter(|u| !u.is_empty()) {
            Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
                Ok(StoreLocation::Postgres(url.to_owned()))
            }
            Some(url) if url.starts_with("sqlite:") => Ok(StoreLocation::SqliteFile(
                url.trim_start_matches("sqlite://")
                    .trim_start_matches("sqlite:")
                    .split('?')
                    .next()
                    .unwrap_or_default()
                    .into(),
            )),
            Some(other) => Err(StoreError::Config(format!(
                "unsupported database URL {other:?}: use postgres://… or sqlite://…"
            ))),
            None => Ok(StoreLocation::SqliteFile(data_dir.join("ferry.db"))),
        }
    }
}

/// Handle to Ferry's database. Cheap to clone.
#[derive(Clone)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
}

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

impl Store {
    /// Connects, and applies any schema migration the database has not seen yet.
    pub async fn connect(location: &StoreLocation) -> StoreResult<Store> {
        sqlx::any::install_default_drivers();
        let (url, backend) = match location {
            StoreLocation::Postgres(url) => (url.clone(), Backend::Postgres),
            StoreLocation::SqliteFile(path) => {
                if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
                    std::fs::create_dir_all(parent).map_err(|e| {
                        StoreError::Config(format!("cannot create {}: {e}", parent.display()))
                    })?;
                }
                (
                    format!("sqlite://{}?mode=rwc", path.display()),
                    Backend::Sqlite,
                )
            }
        };
        let options = AnyConnectOptions::from_str(&url)
            .map_err(|e| StoreError::Config(format!("invalid database URL: {e}")))?
            .log_statements(tracing::log::LevelFilter::Trace);
        let pool = match backend {
            Backend::Sqlite => {
                // WAL lets readers run beside the single writer; it is a property of the file,
                // so it is set once here rather than racing on every new connection.
                let mut first = options.connect().await?;
                first.execute("PRAGMA journal_mode = WAL").await?;
                AnyPoolOptions::new()
                    .max_connections(8)
                    .after_connect(|conn, _meta| {
                        Box::pin(async move {
                            // A 16 MiB page cache per connection keeps the upper levels of
                            // large document indexes in memory (the default is 2 MiB) while
                            // bounding what the 8 connections can hold to 128 MiB.
                            conn.execute(
                                "PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; \
                                 PRAGMA busy_timeout = 10000; PRAGMA cache_size = -16384",
                            )
                            .await?;
                            Ok(())
                        })
                    })
                    .connect_with(options)
                    .await?
            }
            Backend::Postgres => {
                AnyPoolOptions::new()
                    .max_connections(16)
                    .connect_with(options)
                    .await?
            }
        };
        let migrator = match backend {
            Backend::Sqlite => &SQLITE_MIGRATIONS,
            Backend::Postgres => &POSTGRES_MIGRATIONS,
        };
        migrator.run(&pool).await?;
        Ok(Store { pool, backend })
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Answers whether the database takes queries.
    pub async fn ping(&self) -> bool {
        sqlx::query("SELECT 1").execute(&self.pool).await.is_ok()
    }

    /// Closes every connection; pending work finishes first.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}
