//! Migration webhooks: `migration.started`, `migration.stage_completed`,
//! `migration.completed`, `migration.failed` and `migration.cancelled`, and an alias's
//! `namespace.alias.cutover` and `namespace.alias.rollback` made with the migration, POSTed to the
//! migration's `webhook_url` and signed the Standard Webhooks way: headers `webhook-id`,
//! `webhook-timestamp` and `webhook-signature: v1,<base64 HMAC-SHA256 of
//! "id.timestamp.body">`, keyed by the organization's secret (`ferry admin webhook-secret`).
//!
//! Each migration run has one sender task fed by a channel, so a receiver sees the events in
//! the order they happened. The engine only enqueues: a slow or dead receiver delays later
//! deliveries, never the migration. A delivery is retried with exponential backoff; every
//! attempt is recorded (`webhook_deliveries`) and shown on the migration.

use std::time::Duration;

use base64::Engine as _;
use ferry_store::{Store, WebhookDelivery};
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;
use tokio::sync::mpsc;

/// Attempts per delivery, the first included.
pub const MAX_ATTEMPTS: i64 = 5;
/// How long one attempt may take.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(5);

/// The Standard Webhooks signature of `body` for message `id` sent at `timestamp` (seconds):
/// `v1,` + base64 of HMAC-SHA256 over `id.timestamp.body`, keyed by the secret's bytes
/// (base64 after `whsec_`).
pub fn sign(secret: &str, id: &str, timestamp: i64, body: &str) -> String {
    let key = base64::engine::general_purpose::STANDARD
        .decode(secret.trim_start_matches("whsec_"))
        .unwrap_or_else(|_| secret.as_bytes().to_vec());
    // HMAC takes keys of any length; `new_from_slice` cannot fail for it.
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).expect("HMAC accepts any key length");
    mac.update(format!("{id}.{timestamp}.{body}").as_bytes());
    format!(
        "v1,{}",
        base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
    )
}

struct Event {
    sequence: i64,
    name: &'static str,
    data: Value,
}

/// Which of a migration's events a [`Notifier`] sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    /// A run's, in order.
    Run,
    /// One sent later about the migration: an alias's cutover or rollback.
    Announcement,
}

/// Sends one migration run's events, in order, off the engine's path.
pub struct Notifier {
    sender: Option<mpsc::UnboundedSender<Event>>,
    sequence: i64,
}

impl Notifier {
    /// A notifier that sends nothing (no `webhook_url`).
    pub fn disabled() -> Self {
        Notifier {
            sender: None,
            sequence: 0,
        }
    }

    /// Starts the sender task of one run. `first_sequence` continues the numbering of an
    /// earlier run of the same migration, so delivery ids stay unique; `id_tag` (empty for
    /// a run) sets an announcement's ids apart.
    fn start(
        store: Store,
        url: String,
        secret: String,
        (migration_id, id_tag): (String, String),
        first_sequence: i64,
        backoff: Duration,
    ) -> Self {
        let (sender, mut events) = mpsc::unbounded_channel::<Event>();
        tokio::spawn(async move {
            let client = reqwest::Client::builder()
                .timeout(ATTEMPT_TIMEOUT)
                .build()
                .unwrap_or_default();
            while let Some(event) = events.recv().await {
                let id = format!("msg_{migration_id}{id_tag}_{}", event.sequence);
                deliver(
                    &store,
                    &client,
                    (&url, &secret),
                    (&migration_id, id),
                    event,
                    backoff,
                )
                .await;
            }
        });
        Notifier {
            sender: Some(sender),
            sequence: first_sequence,
        }
    }

    /// The sender of `migration`'s events (disabled without a `webhook_url`), numbering on
    /// from the deliveries it already made. An [`Stream::Announcement`]'s delivery ids carry
    /// a tag of their own: the run's sender may still be delivering (retries run for
    /// minutes), so a count of recorded deliveries cannot make them unique.
    pub async fn for_migration(
        store: &Store,
        migration: &ferry_store::MigrationRecord,
        stream: Stream,
        backoff: Duration,
    ) -> ferry_store::StoreResult<Self> {
        let Some(url) = migration.config["webhook_url"].as_str().map(str::to_owned) else {
            return Ok(Notifier::disabled());
        };
        let secret = store.webhook_secret(migration.org_id()).await?;
        let sent_before = store.webhook_deliveries(&migration.key).await?.len() as i64;
        let id_tag = match stream {
            Stream::Run => String::new(),
            Stream::Announcement => format!("_{}", ferry_store::ids::new_id("ann")),
        };
        Ok(Notifier::start(
            store.clone(),
            url,
            secret,
            (migration.migration_id().to_owned(), id_tag),
            sent_before,
            backoff,
        ))
    }

    /// Enqueues an event; never waits.
    pub fn send(&mut self, name: &'static str, data: Value) {
        if let Some(sender) = &self.sender {
            self.sequence += 1;
            let _ = sender.send(Event {
                sequence: self.sequence,
                name,
                data,
            });
        }
    }
}

async fn deliver(
    store: &Store,
    client: &reqwest::Client,
    (url, secret): (&str, &str),
    (migration_id, id): (&str, String),
    event: Event,
    backoff: Duration,
) {
    let mut record = WebhookDelivery {
        delivery_id: id.clone(),
        migration_id: migration_id.to_owned(),
        sequence: event.sequence,
        event: event.name.to_owned(),
        url: url.to_owned(),
        status: "pending".into(),
        attempts: 0,
        last_status_code: None,
        last_error: None,
        created_at: ferry_store::time::now_micros(),
    };
    let body = json!({
        "type": event.name,
        "timestamp": chrono::Utc::now().to_rfc3339(),
        "data": event.data,
    })
    .to_string();
    for attempt in 1..=MAX_ATTEMPTS {
        let timestamp = chrono::Utc::now().timestamp();
        let sent = client
            .post(url)
            .header("content-type", "application/json")
            .header("webhook-id", &id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", sign(secret, &id, timestamp, &body))
            .body(body.clone())
            .send()
            .await;
        record.attempts = attempt;
        match sent {
            Ok(response) if response.status().is_success() => {
                record.status = "delivered".into();
                record.last_status_code = Some(i64::from(response.status().as_u16()));
                record.last_error = None;
            }
            Ok(response) => {
                record.last_status_code = Some(i64::from(response.status().as_u16()));
                record.last_error = Some(format!("receiver answered {}", response.status()));
            }
            Err(e) => record.last_error = Some(e.to_string()),
        }
        if record.status != "delivered" && attempt == MAX_ATTEMPTS {
            record.status = "failed".into();
        }
        if let Err(e) = store.record_webhook_delivery(&record).await {
            tracing::warn!(error = %e, delivery = id, "recording a webhook delivery failed");
        }
        crate::metered::webhook(match record.status.as_str() {
            "pending" => "retried",
            final_status => final_status,
        });
        if record.status != "pending" {
            return;
        }
        tokio::time::sleep(backoff * 2u32.pow(attempt as u32 - 1)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_matches_the_standard_webhooks_reference_vector() {
        // From the Standard Webhooks specification's test vectors.
        let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
        let id = "msg_p5jXN8AQM9LWM0D4loKWxJek";
        let body = r#"{"test": 2432232314}"#;
        assert_eq!(
            sign(secret, id, 1614265330, body),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
    }
}
