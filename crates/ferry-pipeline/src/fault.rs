//! Injected failures, so tests can prove that processing survives a crash at a chosen point
//! instead of hoping it does. Inactive unless configured.

use std::str::FromStr;

/// Where a worker process dies, counted in batches of this process's lifetime.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultPoint {
    /// Exit right after batch N committed.
    ExitAfterCommit(u64),
    /// Exit while batch N is extracted but not yet committed.
    ExitBeforeCommit(u64),
    /// Fail batch N with an error (the process lives on): a transient failure, for retries.
    FailBatch(u64),
    /// Make every batch take at least N milliseconds longer: a slow run, to act on mid-way.
    SlowBatches(u64),
}

impl FromStr for FaultPoint {
    type Err = String;

    /// `after_commit:N`, `before_commit:N`, `fail_batch:N` or `slow_batches:MS`.
    fn from_str(s: &str) -> Result<Self, String> {
        let (point, n) = s
            .split_once(':')
            .ok_or_else(|| format!("{s:?}: expected after_commit:N or before_commit:N"))?;
        let n: u64 = n
            .parse()
            .map_err(|_| format!("{s:?}: N must be a number"))?;
        match point {
            "after_commit" => Ok(FaultPoint::ExitAfterCommit(n)),
            "before_commit" => Ok(FaultPoint::ExitBeforeCommit(n)),
            "fail_batch" => Ok(FaultPoint::FailBatch(n)),
            "slow_batches" => Ok(FaultPoint::SlowBatches(n)),
            other => Err(format!("unknown fault point {other:?}")),
        }
    }
}

/// Ends the process at once, as a kill would: no destructors, no graceful shutdown.
pub fn die(point: FaultPoint) -> ! {
    tracing::warn!(?point, "injected fault: exiting now");
    std::process::exit(86)
}
