//! Cutover (Ferry's extension): moves a namespace alias from a completed migration's source
//! to its target, only when the migration's figures pass a quality gate, and only after the
//! writes the source received since the migration read it are in the target.
//!
//! The steps, each safe to stop at (nothing moves until the last):
//! 1. readiness: the migration completed (not a dry run), its count verification passed,
//!    its target exists, and the alias points to its source;
//! 2. the gate ([`gate`]): every benchmark figure against the thresholds; a failure refuses
//!    the cutover and names each failing figure, unless `force`;
//! 3. a catch-up pass ([`catch_up`]) while writes go on, which brings the bulk;
//! 4. a write freeze of the source (`ferry_store::freeze`): writes get a retryable 503, and
//!    when the freeze is in place every earlier write is committed;
//! 5. a last catch-up pass, through the feeds as the freeze found them: now the target holds
//!    every acknowledged write and delete;
//! 6. the move, in one transaction: the alias to the target (only if it still points to the
//!    source and the freeze still holds), its history entry, and the source retired
//!    (read-only, so a writer that resolved the alias just before the move cannot land a
//!    write there; a rollback reinstates it).
//!
//! A failure after step 4 lifts the freeze and changes nothing else. Webhooks
//! `namespace.alias.cutover` and `namespace.alias.rollback` go to the migration's
//! `webhook_url`.

pub mod catch_up;
pub mod gate;

use std::time::{Duration, Instant};

use ferry_store::blobs::BlobStore;
use ferry_store::{Alias, MigrationRecord, Namespace, Store, StoreError};
use ferry_wire::alias::AliasAction;
use ferry_wire::cutover::{CatchUpReport, CutoverRequest, GateCheck};
use ferry_wire::evaluation::benchmark::RetrieverBenchmark;
use ferry_wire::migration::{MigrationStatus, MigrationType};
use serde_json::{json, Value};

use crate::error::MigrateError;
use crate::webhooks::{Notifier, Stream};
use catch_up::CatchUp;

/// Why a cutover or rollback did not happen.
#[derive(Debug, thiserror::Error)]
pub enum CutoverError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Migrate(#[from] MigrateError),
    /// The body names a migration the organization does not have.
    #[error("no migration {0}")]
    MigrationNotFound(String),
    /// The migration cannot be cut over with (each reason listed).
    #[error("the alias cannot be cut over with this migration: {}", .0.join("; "))]
    NotReady(Vec<String>),
    /// Figures failed the thresholds, and `force` was not set.
    #[error("the quality gate refused the cutover: {}", failures(.0))]
    Refused(Vec<GateCheck>),
    /// A rollback of an alias that never pointed elsewhere.
    #[error("alias '{0}' has no earlier target to roll back to")]
    NothingToRollBack(String),
}

fn failures(checks: &[GateCheck]) -> String {
    checks
        .iter()
        .filter(|c| !c.passed)
        .map(|c| format!("{} (retriever {})", c.message, c.retriever_id))
        .collect::<Vec<_>>()
        .join("; ")
}

/// A completed cutover.
#[derive(Debug)]
pub struct CutoverOutcome {
    pub alias: Alias,
    pub migration_id: String,
    pub from: Namespace,
    pub to: Namespace,
    pub forced: bool,
    pub checks: Vec<GateCheck>,
    pub catch_up: CatchUpReport,
}

/// A completed rollback.
#[derive(Debug)]
pub struct RollbackOutcome {
    pub alias: Alias,
    pub from: Namespace,
    pub to: Namespace,
    pub migration_id: Option<String>,
}

/// Runs cutovers and rollbacks; cheap to clone.
#[derive(Clone)]
pub struct Cutover {
    store: Store,
    blobs: BlobStore,
    registry: std::sync::Arc<ferry_extract::Registry>,
    webhook_backoff: Duration,
}

impl Cutover {
    pub fn new(
        store: Store,
        blobs: BlobStore,
        registry: std::sync::Arc<ferry_extract::Registry>,
    ) -> Self {
        Cutover {
            store,
            blobs,
            registry,
            webhook_backoff: Duration::from_millis(500),
        }
    }

    /// Cuts alias `alias_name` of organization `org` over per `request` (see the module doc).
    pub async fn cut_over(
        &self,
        org: &str,
        alias_name: &str,
        request: &CutoverRequest,
    ) -> Result<CutoverOutcome, CutoverError> {
        let alias = self.store.get_alias(org, alias_name).await?;
        let migration = match self.store.get_migration(org, &request.migration_id).await {
            Ok(m) => m,
            Err(StoreError::NotFound { .. }) => {
                return Err(CutoverError::MigrationNotFound(
                    request.migration_id.clone(),
                ))
            }
            Err(e) => return Err(e.into()),
        };
        let (source, target) = self.ready(org, &alias, &migration).await?;
        let benchmarks: Vec<RetrieverBenchmark> = migration
            .additional_data
            .as_ref()
            .and_then(|a| a.get("benchmark"))
            .cloned()
            .map(serde_json::from_value)
            .transpose()
            .map_err(|e| MigrateError::Corrupt(format!("benchmark: {e}")))?
            .unwrap_or_default();
        let re_extract = migration.migration_type == MigrationType::ReExtract;
        let checks = gate::checks(&benchmarks, &request.thresholds, re_extract);
        let failed = checks.iter().any(|c| !c.passed);
        if failed && !request.force {
            return Err(CutoverError::Refused(checks));
        }
        let catch_up = CatchUp::load(
            &self.store,
            &self.blobs,
            &self.registry,
            migration.clone(),
            source.clone(),
            target.clone(),
        )
        .await?;
        let mut report = CatchUpReport::default();
        catch_up.pass(None, &mut report).await?;

        let until = ferry_store::time::now_micros() + request.freeze_timeout_seconds * 1_000_000;
        let frozen_at = Instant::now();
        let feeds = self.store.freeze_namespace(source.key, until).await?;
        let moved = async {
            catch_up.pass(Some(&feeds), &mut report).await?;
            let moved = self
                .store
                .switch_alias(
                    org,
                    alias_name,
                    (source.key, target.key),
                    AliasAction::Cutover,
                    Some(migration.migration_id()),
                    Some(until),
                )
                .await?;
            Ok::<_, CutoverError>(moved)
        }
        .await;
        report.frozen_ms = frozen_at.elapsed().as_millis() as u64;
        let alias = match moved {
            Ok(alias) => alias,
            Err(e) => {
                if let Err(lift) = self.store.lift_freeze(source.key, until).await {
                    tracing::warn!(error = %lift, "lifting a failed cutover's freeze failed");
                }
                return Err(e);
            }
        };
        self.announce(
            &migration,
            "namespace.alias.cutover",
            json!({"alias_name": alias_name, "migration_id": migration.migration_id(),
                   "from_namespace_id": source.namespace_id,
                   "to_namespace_id": target.namespace_id, "forced": failed,
                   "catch_up": report}),
        )
        .await;
        Ok(CutoverOutcome {
            alias,
            migration_id: migration.migration_id().to_owned(),
            from: source,
            to: target,
            forced: failed,
            checks,
            catch_up: report,
        })
    }

    /// The migration's source and target, if the alias can be cut over with it.
    async fn ready(
        &self,
        org: &str,
        alias: &Alias,
        migration: &MigrationRecord,
    ) -> Result<(Namespace, Namespace), CutoverError> {
        let mut reasons = Vec::new();
        if migration.status != MigrationStatus::Completed {
            reasons.push(format!(
                "migration {} is {}, not completed",
                migration.migration_id(),
                migration.status.as_str()
            ));
        }
        if migration.config["dry_run"].as_bool() == Some(true) {
            reasons.push("the migration was a dry run: it has no target".into());
        }
        let additional = migration.additional_data.clone().unwrap_or(Value::Null);
        if let Some(verification) = additional["verification"].as_object() {
            for (id, v) in verification {
                if v["verified"].as_bool() == Some(false) {
                    reasons.push(format!("count verification failed for {id}"));
                }
            }
        }
        let source = self
            .store
            .find_namespace(org, &migration.source_namespace_id)
            .await?;
        let target = match &migration.target_namespace_id {
            Some(id) => self.store.find_namespace(org, id).await?,
            None => None,
        };
        match &source {
            Some(s) if s.key != alias.target => reasons.push(format!(
                "alias '{}' points to {} ({}), not to the migration's source {} ({})",
                alias.alias_name,
                alias.namespace_name,
                alias.namespace_id,
                s.fields.namespace_name,
                s.namespace_id
            )),
            Some(_) => {}
            None => reasons.push("the migration's source namespace no longer exists".into()),
        }
        if target.is_none() && migration.config["dry_run"].as_bool() != Some(true) {
            reasons.push("the migration's target namespace no longer exists".into());
        }
        if reasons.is_empty()
            && self
                .store
                .migration_watermarks(&migration.key)
                .await?
                .is_empty()
        {
            reasons.push(
                "the migration ran before Ferry tracked source changes, so the writes since \
                 cannot be caught up: run a new migration"
                    .into(),
            );
        }
        match (source, target) {
            (Some(source), Some(target)) if reasons.is_empty() => Ok((source, target)),
            _ => Err(CutoverError::NotReady(reasons)),
        }
    }

    /// Points alias `alias_name` back to the namespace it pointed to before its last move:
    /// that one is writable again, the one it leaves becomes read-only. Writes made through
    /// the alias since the move stay where they were made.
    pub async fn roll_back(
        &self,
        org: &str,
        alias_name: &str,
    ) -> Result<RollbackOutcome, CutoverError> {
        let alias = self.store.get_alias(org, alias_name).await?;
        let n = alias.history.len();
        if n < 2 {
            return Err(CutoverError::NothingToRollBack(alias_name.to_owned()));
        }
        let current = &alias.history[n - 1];
        let previous = &alias.history[n - 2];
        let Some(to) = self
            .store
            .find_namespace(org, &previous.namespace_id)
            .await?
        else {
            return Err(CutoverError::NotReady(vec![format!(
                "the namespace it pointed to before ({}) no longer exists",
                previous.namespace_id
            )]));
        };
        let from = self.store.get_namespace(org, &alias.namespace_id).await?;
        let migration_id = current.migration_id.clone();
        let moved = self
            .store
            .switch_alias(
                org,
                alias_name,
                (from.key, to.key),
                AliasAction::Rollback,
                migration_id.as_deref(),
                None,
            )
            .await?;
        if let Some(id) = &migration_id {
            if let Ok(migration) = self.store.get_migration(org, id).await {
                self.announce(
                    &migration,
                    "namespace.alias.rollback",
                    json!({"alias_name": alias_name, "migration_id": id,
                           "from_namespace_id": from.namespace_id,
                           "to_namespace_id": to.namespace_id}),
                )
                .await;
            }
        }
        Ok(RollbackOutcome {
            alias: moved,
            from,
            to,
            migration_id,
        })
    }

    /// Sends one event to the migration's webhook (if it has one); a failure to start the
    /// sender is logged, as the move it reports has happened.
    async fn announce(&self, migration: &MigrationRecord, event: &'static str, data: Value) {
        let stream = Stream::Announcement;
        match Notifier::for_migration(&self.store, migration, stream, self.webhook_backoff).await {
            Ok(mut notifier) => notifier.send(event, data),
            Err(e) => tracing::warn!(error = %e, event, "starting a webhook sender failed"),
        }
    }
}
