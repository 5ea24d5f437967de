//! Injected failures and breakpoints, so tests can prove that processing survives a crash at a
//! chosen point instead of hoping it does. Both are inactive unless configured.
//!
//! A worker (and the migration engine) passes two points of every batch it runs, counted in
//! batches of its lifetime: [`Breakpoint::BeforeCommit`] (the batch is read and extracted,
//! nothing of it is written) and [`Breakpoint::AfterCommit`] (its transaction committed), by
//! calling [`checkpoint`]. There a [`FaultPoint`] ends the whole process, as a kill would (the
//! subprocess tests, which prove real process death), and [`Breakpoints`] installed by an
//! in-process test hold the worker until the test lets it go: the test acts meanwhile (cancels
//! over HTTP, reads the store) and resumes it, or never resumes it and aborts the worker's task
//! at exactly that point, which is a crash in process. Meilisearch's index-scheduler steps its
//! scheduler the same way.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::str::FromStr;
use std::sync::Arc;

use tokio::sync::watch;

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

/// A point in the life of a worker's batch, counted in batches of the worker's lifetime.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Breakpoint {
    /// Batch N is read and extracted; nothing of it is written yet.
    BeforeCommit(u64),
    /// Batch N, its progress and its done mark are committed.
    AfterCommit(u64),
}

impl Breakpoint {
    /// The fault that exits the process at this point.
    fn exit(self) -> FaultPoint {
        match self {
            Breakpoint::BeforeCommit(n) => FaultPoint::ExitBeforeCommit(n),
            Breakpoint::AfterCommit(n) => FaultPoint::ExitAfterCommit(n),
        }
    }
}

type Hook = dyn Fn(Breakpoint) -> Pin<Box<dyn Future<Output = ()> + Send>> + Send + Sync;

/// The hook a worker awaits at each [`Breakpoint`]; none by default. Cheap to clone: clones
/// share the hook.
#[derive(Clone, Default)]
pub struct Breakpoints(Option<Arc<Hook>>);

impl fmt::Debug for Breakpoints {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.0.is_some() {
            "Breakpoints(hook)"
        } else {
            "Breakpoints(none)"
        })
    }
}

impl Breakpoints {
    /// Calls `hook` at every breakpoint; the worker goes on when the returned future does.
    pub fn new<F, Fut>(hook: F) -> Breakpoints
    where
        F: Fn(Breakpoint) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let hook: Arc<Hook> =
            Arc::new(move |at| -> Pin<Box<dyn Future<Output = ()> + Send>> { Box::pin(hook(at)) });
        Breakpoints(Some(hook))
    }

    /// Holds the worker at `point` until [`Pause::resume`]; every other point passes.
    pub fn pause_at(point: Breakpoint) -> (Breakpoints, Pause) {
        let pause = Pause {
            reached: watch::Sender::new(false),
            resumed: watch::Sender::new(false),
        };
        let held = pause.clone();
        let breakpoints = Breakpoints::new(move |at| {
            let held = (at == point).then(|| held.clone());
            async move {
                if let Some(held) = held {
                    held.reached.send_replace(true);
                    // The hook keeps a sender, so this ends only on `resume`.
                    let _ = held.resumed.subscribe().wait_for(|resumed| *resumed).await;
                }
            }
        });
        (breakpoints, pause)
    }

    /// Waits for the hook at `at`, if one is installed.
    pub async fn reach(&self, at: Breakpoint) {
        if let Some(hook) = &self.0 {
            hook(at).await;
        }
    }
}

/// A test's handle on a worker held at a breakpoint (see [`Breakpoints::pause_at`]).
#[derive(Clone)]
pub struct Pause {
    reached: watch::Sender<bool>,
    resumed: watch::Sender<bool>,
}

impl Pause {
    /// Resolves once the worker is held at the breakpoint (at once if it already is).
    pub async fn reached(&self) {
        let _ = self.reached.subscribe().wait_for(|reached| *reached).await;
    }

    /// Lets the held worker go on (and any that reaches the point later pass through).
    pub fn resume(&self) {
        self.resumed.send_replace(true);
    }
}

/// Batch processing reaching `at`: exits the process if `fault` names this point, then waits
/// at the breakpoint if a test installed one.
pub async fn checkpoint(fault: Option<FaultPoint>, breakpoints: &Breakpoints, at: Breakpoint) {
    if fault == Some(at.exit()) {
        die(at.exit());
    }
    breakpoints.reach(at).await;
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn fault_points_parse_as_documented() {
        assert_eq!("after_commit:2".parse(), Ok(FaultPoint::ExitAfterCommit(2)));
        assert_eq!(
            "before_commit:7".parse(),
            Ok(FaultPoint::ExitBeforeCommit(7))
        );
        assert_eq!("fail_batch:3".parse(), Ok(FaultPoint::FailBatch(3)));
        assert_eq!("slow_batches:150".parse(), Ok(FaultPoint::SlowBatches(150)));
        assert!("after_commit".parse::<FaultPoint>().is_err());
        assert!("after_commit:x".parse::<FaultPoint>().is_err());
        assert!("sideways:1".parse::<FaultPoint>().is_err());
    }

    #[tokio::test]
    async fn a_pause_holds_only_its_point_until_resumed() {
        let (breakpoints, pause) = Breakpoints::pause_at(Breakpoint::AfterCommit(2));
        let (passed, mut seen) = watch::channel(0u64);
        let worker = tokio::spawn({
            let breakpoints = breakpoints.clone();
            async move {
                for n in 1..=3 {
                    checkpoint(None, &breakpoints, Breakpoint::BeforeCommit(n)).await;
                    checkpoint(None, &breakpoints, Breakpoint::AfterCommit(n)).await;
                    passed.send_replace(n);
                }
            }
        });
        pause.reached().await;
        assert_eq!(*seen.borrow_and_update(), 1, "held after batch 2 committed");
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(!seen.has_changed().unwrap(), "still held");
        pause.resume();
        worker.await.unwrap();
        assert_eq!(*seen.borrow(), 3);
    }

    #[tokio::test]
    async fn without_a_hook_every_point_passes() {
        let none = Breakpoints::default();
        checkpoint(None, &none, Breakpoint::BeforeCommit(1)).await;
        checkpoint(
            Some(FaultPoint::FailBatch(1)),
            &none,
            Breakpoint::AfterCommit(1),
        )
        .await;
    }
}
