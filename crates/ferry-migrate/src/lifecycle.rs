//! The migration state machine, in one place: which action is allowed
//! from which status, what it leads to, and the stable code of each refusal.
//!
//! | action | allowed from | to |
//! |---|---|---|
//! | start | draft, failed | pending |
//! | cancel | draft, validating, pending, in_progress | cancelled |
//! | delete | draft, completed, failed, cancelled | (deleted) |
//! | begin (engine) | pending | in_progress |
//! | complete (engine) | in_progress | completed |
//! | fail (engine) | pending, in_progress | failed |
//!
//! The store applies a transition as compare-and-set on these `from` lists, so a transition
//! checked here and raced by another one fails there instead of overwriting it.

use ferry_wire::migration::MigrationStatus;
use ferry_wire::ErrorCode;

use MigrationStatus::*;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Start,
    Cancel,
    Delete,
    Begin,
    Complete,
    Fail,
}

/// A transition the current status does not allow: its code (an `InvalidStateError` in the
/// error-code table) and a sentence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub code: ErrorCode,
    pub message: String,
}

impl Action {
    /// The statuses this action is allowed from.
    pub fn allowed_from(self) -> &'static [MigrationStatus] {
        match self {
            Action::Start => &[Draft, Failed],
            Action::Cancel => &[Draft, Validating, Pending, InProgress],
            Action::Delete => &[Draft, Completed, Failed, Cancelled],
            Action::Begin => &[Pending],
            Action::Complete => &[InProgress],
            Action::Fail => &[Pending, InProgress],
        }
    }

    /// The status the action leads to; `None` for delete.
    pub fn target(self) -> Option<MigrationStatus> {
        match self {
            Action::Start => Some(Pending),
            Action::Cancel => Some(Cancelled),
            Action::Delete => None,
            Action::Begin => Some(InProgress),
            Action::Complete => Some(Completed),
            Action::Fail => Some(Failed),
        }
    }

    fn name(self) -> &'static str {
        match self {
            Action::Start => "started",
            Action::Cancel => "cancelled",
            Action::Delete => "deleted",
            Action::Begin => "begun",
            Action::Complete => "completed",
            Action::Fail => "failed",
        }
    }

    /// Checks the action against the current status.
    pub fn check(self, current: MigrationStatus) -> Result<Option<MigrationStatus>, Refusal> {
        if self.allowed_from().contains(&current) {
            return Ok(self.target());
        }
        let code = match (self, current) {
            (Action::Start, Pending | Validating | InProgress) => {
                ErrorCode::MigrationAlreadyRunning
            }
            (Action::Start, Completed) => ErrorCode::MigrationAlreadyCompleted,
            (Action::Start, Cancelled) => ErrorCode::MigrationCancelled,
            (Action::Cancel, Completed) => ErrorCode::MigrationAlreadyCompleted,
            (Action::Cancel, Failed) => ErrorCode::MigrationAlreadyFailed,
            (Action::Cancel, Cancelled) => ErrorCode::MigrationAlreadyCancelled,
            (Action::Delete, _) => ErrorCode::MigrationRunning,
            _ => ErrorCode::InvalidTransition,
        };
        let allowed: Vec<&str> = self.allowed_from().iter().map(|s| s.as_str()).collect();
        Err(Refusal {
            code,
            message: format!(
                "A migration that is {} cannot be {}; allowed from: {}",
                current.as_str(),
                self.name(),
                allowed.join(", ")
            ),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: [MigrationStatus; 7] = [
        Draft, Validating, Pending, InProgress, Completed, Failed, Cancelled,
    ];

    #[test]
    fn every_pair_is_allowed_or_refused_with_a_code() {
        for action in [
            Action::Start,
            Action::Cancel,
            Action::Delete,
            Action::Begin,
            Action::Complete,
            Action::Fail,
        ] {
            for status in ALL {
                match action.check(status) {
                    Ok(to) => {
                        assert!(action.allowed_from().contains(&status));
                        assert_eq!(to, action.target());
                    }
                    Err(refusal) => {
                        assert!(!action.allowed_from().contains(&status));
                        assert_eq!(refusal.code.error_type().name(), "InvalidStateError");
                        assert!(refusal.message.contains(status.as_str()), "{refusal:?}");
                    }
                }
            }
        }
    }

    #[test]
    fn user_facing_refusals_name_the_rule() {
        assert_eq!(
            Action::Start.check(Completed).unwrap_err().code,
            ErrorCode::MigrationAlreadyCompleted
        );
        assert_eq!(
            Action::Cancel.check(Cancelled).unwrap_err().code,
            ErrorCode::MigrationAlreadyCancelled
        );
        assert_eq!(
            Action::Delete.check(InProgress).unwrap_err().code,
            ErrorCode::MigrationRunning
        );
        assert_eq!(Action::Start.check(Failed), Ok(Some(Pending)));
    }
}
