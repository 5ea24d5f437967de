//! Background writes under a cutover's write freeze (see `ferry_store::freeze`).

use std::future::Future;
use std::time::Duration;

use ferry_store::freeze::UNTIL_LIFTED;
use ferry_store::{StoreError, StoreResult};

/// Runs `write` until it is not refused by a passing write freeze. A freeze lasts seconds (a
/// cutover's catch-up), so a task waits it out instead of failing; nothing was written by a
/// refused attempt, so repeating it is safe. A namespace retired by a cutover stays
/// read-only, and that refusal is returned.
pub async fn through_freeze<T, F, Fut>(mut write: F) -> StoreResult<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = StoreResult<T>>,
{
    loop {
        match write().await {
            Err(StoreError::Frozen { until, .. }) if until != UNTIL_LIFTED => {
                let left = until.saturating_sub(ferry_store::time::now_micros());
                tracing::debug!(left_us = left, "write frozen by a cutover; waiting");
                tokio::time::sleep(Duration::from_micros(left.clamp(10_000, 250_000) as u64)).await;
            }
            done => return done,
        }
    }
}
