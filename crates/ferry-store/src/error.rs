//! The store's one error type.

use ferry_wire::ErrorCode;

/// What can go wrong in the store. Callers branch on `NotFound` and `Conflict`; everything
/// else is an internal failure to be logged, never shown to a client.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{resource} {id} not found")]
    NotFound { resource: &'static str, id: String },
    /// A uniqueness or concurrency rule was broken; `code` (from the one table of error
    /// codes) is what clients see.
    #[error("{message}")]
    Conflict { code: ErrorCode, message: String },
    #[error("configuration: {0}")]
    Config(String),
    #[error("blob store: {0}")]
    Blob(String),
    #[error("corrupt row: {0}")]
    Corrupt(String),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    #[error(transparent)]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

pub type StoreResult<T> = Result<T, StoreError>;

/// True when `err` is a violated UNIQUE or PRIMARY KEY constraint.
pub(crate) fn is_unique_violation(err: &sqlx::Error) -> bool {
    matches!(err, sqlx::Error::Database(db) if db.is_unique_violation())
}
