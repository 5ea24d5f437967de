//! Exit codes of the client commands (`ferry migrations …`, `ferry demo …`): one table, so
//! scripts can tell a finished migration from a failed, cancelled or unwatchable one.

use std::process::ExitCode;

/// How a command ended. The numbers are a stable interface (README, "Exit codes").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Done; for `watch`, the migration completed.
    Ok,
    /// The watched migration failed.
    Failed,
    /// The command line or a config file is wrong (clap's own usage errors exit 2 as well).
    Usage,
    /// The watched migration was cancelled.
    Cancelled,
    /// The configuration is invalid: `validate` found errors, or create/start was refused
    /// with a validation error (400 `MigrationValidationError`, or 422).
    Invalid,
    /// The API refused the request otherwise (401, 404, `InvalidStateError`, 5xx …).
    Api,
    /// The server could not be reached.
    Unreachable,
    /// Ctrl-C stopped `watch`; the migration goes on running.
    Interrupted,
}

impl Exit {
    pub fn code(self) -> u8 {
        match self {
            Exit::Ok => 0,
            Exit::Failed => 1,
            Exit::Usage => 2,
            Exit::Cancelled => 3,
            Exit::Invalid => 4,
            Exit::Api => 5,
            Exit::Unreachable => 6,
            Exit::Interrupted => 130,
        }
    }

    /// The exit of `watch` for a migration that settled in `status`.
    pub fn of_status(status: &str) -> Exit {
        match status {
            "completed" => Exit::Ok,
            "cancelled" => Exit::Cancelled,
            _ => Exit::Failed,
        }
    }
}

impl From<Exit> for ExitCode {
    fn from(exit: Exit) -> ExitCode {
        ExitCode::from(exit.code())
    }
}
