//! Webhook secrets (one per organization, created on first use) and the record of every
//! delivery of a migration event.

use base64::Engine as _;
use rand::RngCore;
use sqlx::Row;

use crate::time::now_micros;
use crate::{Store, StoreResult};

/// One delivery of one event, as recorded.
#[derive(Debug, Clone, PartialEq)]
pub struct WebhookDelivery {
    /// Also the `webhook-id` header the receiver sees.
    pub delivery_id: String,
    pub migration_id: String,
    /// Order of the event within its migration.
    pub sequence: i64,
    pub event: String,
    pub url: String,
    /// `pending`, `delivered` or `failed`.
    pub status: String,
    pub attempts: i64,
    pub last_status_code: Option<i64>,
    pub last_error: Option<String>,
    pub created_at: i64,
}

impl Store {
    /// The organization's signing secret (`whsec_` + base64 of 32 random bytes), created the
    /// first time it is asked for.
    pub async fn webhook_secret(&self, org: &str) -> StoreResult<String> {
        let mut bytes = [0u8; 32];
        rand::thread_rng().fill_bytes(&mut bytes);
        let fresh = format!(
            "whsec_{}",
            base64::engine::general_purpose::STANDARD.encode(bytes)
        );
        sqlx::query(
            "INSERT INTO webhook_secrets (org_id, secret, created_at) VALUES ($1, $2, $3) \
             ON CONFLICT (org_id) DO NOTHING",
        )
        .bind(org)
        .bind(&fresh)
        .bind(now_micros())
        .execute(&self.pool)
        .await?;
        Ok(
            sqlx::query_scalar("SELECT secret FROM webhook_secrets WHERE org_id = $1")
                .bind(org)
                .fetch_one(&self.pool)
                .await?,
        )
    }

    /// Records a delivery (or its latest attempt): inserted the first time, updated after.
    pub async fn record_webhook_delivery(&self, d: &WebhookDelivery) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO webhook_deliveries (delivery_id, migration_id, sequence, event, url, \
             status, attempts, last_status_code, last_error, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) \
             ON CONFLICT (delivery_id) DO UPDATE SET status = excluded.status, \
             attempts = excluded.attempts, last_status_code = excluded.last_status_code, \
             last_error = excluded.last_error, updated_at = excluded.updated_at",
        )
        .bind(&d.delivery_id)
        .bind(&d.migration_id)
        .bind(d.sequence)
        .bind(&d.event)
        .bind(&d.url)
        .bind(&d.status)
        .bind(d.attempts)
        .bind(d.last_status_code)
        .bind(&d.last_error)
        .bind(d.created_at)
        .bind(now_micros())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// A migration's deliveries, in event order.
    pub async fn webhook_deliveries(
        &self,
        migration: &crate::MigrationKey,
    ) -> StoreResult<Vec<WebhookDelivery>> {
        let rows = sqlx::query(
            "SELECT delivery_id, migration_id, sequence, event, url, status, attempts, \
             last_status_code, last_error, created_at FROM webhook_deliveries \
             WHERE migration_id = $1 ORDER BY sequence",
        )
        .bind(migration.id())
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(WebhookDelivery {
                    delivery_id: r.try_get(0)?,
                    migration_id: r.try_get(1)?,
                    sequence: r.try_get(2)?,
                    event: r.try_get(3)?,
                    url: r.try_get(4)?,
                    status: r.try_get(5)?,
                    attempts: r.try_get(6)?,
                    last_status_code: r.try_get(7)?,
                    last_error: r.try_get(8)?,
                    created_at: r.try_get(9)?,
                })
            })
            .collect()
    }
}
