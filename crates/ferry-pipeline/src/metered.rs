//! What collection triggers report to the process's metrics recorder (rendered at
//! `GET /metrics`): batches by outcome, their latency from reading the sources to the commit,
//! and documents written.

use std::time::Instant;

/// A trigger batch committed with `documents` written.
pub(crate) fn batch_committed(started: Instant, documents: usize) {
    metrics::counter!("ferry_batches_total", "kind" => "pipeline", "outcome" => "committed")
        .increment(1);
    metrics::histogram!("ferry_batch_duration_seconds", "kind" => "pipeline")
        .record(started.elapsed().as_secs_f64());
    metrics::counter!("ferry_documents_written_total", "kind" => "pipeline")
        .increment(documents as u64);
}

/// A trigger batch's commit failed (the task fails and is retried from its last cursor).
pub(crate) fn batch_failed() {
    metrics::counter!("ferry_batches_total", "kind" => "pipeline", "outcome" => "failed")
        .increment(1);
}
