//! What migrations report to the process's metrics recorder (rendered at `GET /metrics`):
//! batches by outcome with their latency, items written, and webhook deliveries. Kept in one
//! place so the engine and the webhook sender each call one function per event.

use std::time::Instant;

use ferry_store::{BatchKind, NewBatch};

/// One migration batch attempt ended, `committed` or not.
pub(crate) fn batch(batch: &NewBatch, started: Instant, committed: bool) {
    let outcome = if committed { "committed" } else { "failed" };
    metrics::counter!("ferry_batches_total", "kind" => "migration", "outcome" => outcome)
        .increment(1);
    metrics::histogram!("ferry_batch_duration_seconds", "kind" => "migration")
        .record(started.elapsed().as_secs_f64());
    if committed {
        let items = u64::try_from(batch.item_count).unwrap_or(0);
        let name = if batch.kind == BatchKind::Objects {
            "ferry_objects_written_total"
        } else {
            "ferry_documents_written_total"
        };
        metrics::counter!(name, "kind" => "migration").increment(items);
    }
}

/// A webhook delivery reached its final state (`delivered` or `failed`) or was retried.
pub(crate) fn webhook(outcome: &str) {
    metrics::counter!("ferry_webhook_deliveries_total", "outcome" => outcome.to_owned())
        .increment(1);
}
