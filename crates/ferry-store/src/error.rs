//! The store's one error type.

use ferry_wire::migration::MigrationStatus;
use ferry_wire::ErrorCode;

/// What can go wrong in the store. Callers branch on `NotFound`, `Conflict`, `StatusChanged`,
/// `LeaseLost` and `Frozen`; everything else is an internal failure to be logged, never shown to a
/// client.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{resource} {id} not found")]
    NotFound { resource: &'static str, id: String },
    /// A uniqueness or concurrency rule was broken; `code` (from the one table of error
    /// codes) is what clients see.
    #[error("{message}")]
    Conflict { code: ErrorCode, message: String },
    /// A migration's status change lost a race: the migration is no longer in a status the
    /// change allows. `current` is the status met; `None` when another change was committing
    /// at that moment.
    #[error("migration {migration_id} is {}", current.map_or("being changed by another request", MigrationStatus::as_str))]
    StatusChanged {
        migration_id: String,
        current: Option<MigrationStatus>,
    },
    /// A task's or batch's lease passed to another worker (this one was presumed dead): its
    /// write was not applied, and the new owner does the work.
    #[error("{0}")]
    LeaseLost(String),
    /// A write met a write freeze (see [`crate::freeze`]): nothing was written. `until` is
    /// when the freeze ends ([`crate::freeze::UNTIL_LIFTED`] for a namespace retired by a
    /// cutover).
    #[error("{resource} is frozen for writes")]
    Frozen { resource: String, until: i64 },
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

/// True when `err` is a violated FOREIGN KEY constraint (a row still referenced, or a
/// reference to a missing row).
pub(crate) fn is_foreign_key_violation(err: &sqlx::Error) -> bool {
    matches!(err, sqlx::Error::Database(db) if db.is_foreign_key_violation())
}
