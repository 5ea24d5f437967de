//! Organizations and their API keys.
//!
//! Keys are stored as SHA-256 digests. A key is 40 random base-62 characters (≈238 bits), so a
//! fast unsalted digest is enough: there is no low-entropy secret to brute-force, and lookup by
//! digest stays a primary-key read on every request.

use ferry_wire::ErrorCode;
use rand::distributions::Alphanumeric;
use rand::Rng;
use sha2::{Digest, Sha256};
use sqlx::Row;

use crate::time::now_micros;
use crate::{ids, Store, StoreError, StoreResult};

/// The organization a fresh store creates and `FERRY_API_KEY` belongs to.
pub const DEFAULT_ORGANIZATION: &str = "default";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Organization {
    /// `org_…`; scopes every tenant row.
    pub internal_id: String,
    pub name: String,
}

fn key_digest(key: &str) -> String {
    hex::encode(Sha256::digest(key.as_bytes()))
}

/// The first characters of a key, kept in clear so an operator can tell keys apart.
fn key_prefix(key: &str) -> String {
    key.chars().take(8).collect()
}

impl Store {
    pub async fn organization_count(&self) -> StoreResult<i64> {
        let row = sqlx::query("SELECT COUNT(*) FROM organizations")
            .fetch_one(&self.pool)
            .await?;
        Ok(row.try_get(0)?)
    }

    /// Returns the organization called `name`, creating it if missing.
    pub async fn ensure_organization(&self, name: &str) -> StoreResult<Organization> {
        sqlx::query(
            "INSERT INTO organizations (internal_id, name, created_at) VALUES ($1, $2, $3) \
             ON CONFLICT (name) DO NOTHING",
        )
        .bind(ids::new_id("org"))
        .bind(name)
        .bind(now_micros())
        .execute(&self.pool)
        .await?;
        let row = sqlx::query("SELECT internal_id, name FROM organizations WHERE name = $1")
            .bind(name)
            .fetch_one(&self.pool)
            .await?;
        Ok(Organization {
            internal_id: row.try_get(0)?,
            name: row.try_get(1)?,
        })
    }

    /// Creates a new key for `org` and returns it; only its digest is kept.
    pub async fn create_api_key(&self, org: &Organization) -> StoreResult<String> {
        let random: String = rand::thread_rng()
            .sample_iter(&Alphanumeric)
            .take(40)
            .map(char::from)
            .collect();
        let key = format!("sk_{random}");
        self.register_api_key(org, &key).await?;
        Ok(key)
    }

    /// Makes `key` valid for `org`. Idempotent; refuses a key that belongs to another
    /// organization.
    pub async fn register_api_key(&self, org: &Organization, key: &str) -> StoreResult<()> {
        let digest = key_digest(key);
        sqlx::query(
            "INSERT INTO api_keys (key_hash, internal_id, key_prefix, created_at) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (key_hash) DO NOTHING",
        )
        .bind(&digest)
        .bind(&org.internal_id)
        .bind(key_prefix(key))
        .bind(now_micros())
        .execute(&self.pool)
        .await?;
        let owner: String = sqlx::query("SELECT internal_id FROM api_keys WHERE key_hash = $1")
            .bind(&digest)
            .fetch_one(&self.pool)
            .await?
            .try_get(0)?;
        if owner != org.internal_id {
            return Err(StoreError::Conflict {
                code: ErrorCode::ApiKeyTaken,
                message: "this API key already belongs to another organization".into(),
            });
        }
        Ok(())
    }

    /// The organization `key` belongs to, if any.
    pub async fn authenticate(&self, key: &str) -> StoreResult<Option<Organization>> {
        let row = sqlx::query(
            "SELECT o.internal_id, o.name FROM api_keys k \
             JOIN organizations o ON o.internal_id = k.internal_id WHERE k.key_hash = $1",
        )
        .bind(key_digest(key))
        .fetch_optional(&self.pool)
        .await?;
        row.map(|row| {
            Ok(Organization {
                internal_id: row.try_get(0)?,
                name: row.try_get(1)?,
            })
        })
        .transpose()
    }
}
