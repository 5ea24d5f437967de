//! [`MigrateError`]: why a migration run stopped. Each variant is one kind of cause, so the
//! driver can tell a cancelled run (settled as the migration says) from a failed one (the
//! migration is marked `failed` with the message), and the batch runner can tell a lease lost
//! to another worker (nothing to do) from a failure to retry. The messages are what clients
//! read in `error_message`.

use ferry_store::StoreError;
use ferry_wire::migration::MigrationStatus;

#[derive(Debug, thiserror::Error)]
pub enum MigrateError {
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Reading a batch's inputs or extracting them failed.
    #[error(transparent)]
    Pipeline(#[from] ferry_pipeline::PipelineError),
    /// The migration left `in_progress` while running (cancelled, typically).
    #[error("stopped: the migration is {0}")]
    Stopped(MigrationStatus),
    /// What the stored migration holds cannot be read back (its config, plan or progress).
    #[error("stored migration: {0}")]
    Corrupt(String),
    /// The run cannot go on as planned: something it needs is gone or was not set up (a
    /// resource, an extractor, an extend's target), or a retriever references resources
    /// that are not migrated.
    #[error("{0}")]
    Unrunnable(String),
    /// Batches failed for good, after any retries; a restart re-runs only these.
    #[error(
        "{failed} of {total} batches failed ({items} items); start the migration again to \
         retry them"
    )]
    BatchesFailed { failed: i64, total: i64, items: i64 },
    /// Test-only: the failure injected into batch N of this process.
    #[error("injected failure of batch {0}")]
    InjectedFault(u64),
    /// Finalization found target counts that do not match what the batches wrote.
    #[error("count verification failed for {}", .0.join(", "))]
    Verification(Vec<String>),
    /// A task the run queued and waited for (a cluster's k-means, a taxonomy run) failed.
    #[error("{what} failed: {message}")]
    TaskFailed { what: String, message: String },
    /// A batch worker ended without a result (it panicked, or was aborted).
    #[error("batch worker: {0}")]
    Worker(String),
}

impl MigrateError {
    /// A lease this process held passed to another worker: the other worker does the work,
    /// so this is not a failure of the migration.
    pub fn is_lease_lost(&self) -> bool {
        matches!(self, MigrateError::Store(StoreError::LeaseLost(_)))
    }
}

/// A stored JSON column that no longer parses as its type.
pub(crate) fn corrupt(what: &str) -> impl FnOnce(serde_json::Error) -> MigrateError + '_ {
    move |e| MigrateError::Corrupt(format!("{what}: {e}"))
}
