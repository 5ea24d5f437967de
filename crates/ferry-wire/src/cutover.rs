//! Cutover and rollback of a namespace alias (Ferry's extension), served at
//! `POST /v1/namespaces/aliases/{alias_name}/cutover` and `…/rollback`.
//!
//! A cutover moves an alias from a completed migration's source to its target, after a
//! quality gate over the migration's benchmark figures and a catch-up of the writes the
//! source received since the migration read it. These bodies are Ferry's own.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::alias::NamespaceAlias;
use crate::validate::{Errors, Validate};

/// Longest write freeze a cutover may hold, in seconds.
pub const MAX_FREEZE_SECONDS: i64 = 300;

fn default_freeze_seconds() -> i64 {
    30
}

/// Body of `POST /v1/namespaces/aliases/{alias_name}/cutover`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CutoverRequest {
    /// A completed, verified migration whose source the alias points to now.
    pub migration_id: String,
    /// What the migration's benchmark must show; each figure is checked on every migrated
    /// retriever that has it.
    #[serde(default)]
    pub thresholds: CutoverThresholds,
    /// Cut over even where figures fail the thresholds (they are still reported). A migration
    /// that did not complete or failed verification is never cut over.
    #[serde(default)]
    pub force: bool,
    /// Longest the source's writes stay frozen while the last changes are caught up (1–300
    /// seconds, default 30). Writes meanwhile get a 503 `namespace_frozen` with
    /// `Retry-After`. A catch-up that does not finish in time gives up and changes nothing.
    #[serde(default = "default_freeze_seconds")]
    pub freeze_timeout_seconds: i64,
}

impl Validate for CutoverRequest {
    fn validate(&self, errors: &mut Errors) {
        errors.str_len("migration_id", Some(&self.migration_id), 1, 128);
        errors.int_range(
            "freeze_timeout_seconds",
            Some(self.freeze_timeout_seconds),
            Some(1),
            Some(MAX_FREEZE_SECONDS),
        );
        errors.nested("thresholds", Some(&self.thresholds));
    }
}

/// The quality gate. Drops are `source − target` of a figure, so `0.0` (the default) asks
/// that the target be at least as good.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CutoverThresholds {
    /// Largest NDCG@k drop allowed, per evaluation set and on interactions (0–1, default 0).
    #[serde(default)]
    pub max_ndcg_drop: f64,
    /// Largest recall@k drop allowed, likewise (0–1, default 0).
    #[serde(default)]
    pub max_recall_drop: f64,
    /// Largest MRR@k drop allowed, likewise (0–1, default 0).
    #[serde(default)]
    pub max_mrr_drop: f64,
    /// Smallest overlap@k allowed between source and target results (recorded executions and
    /// evaluation sets, matched by lineage; 0–1). Unset: not checked, as a re-extraction is
    /// expected to change results.
    pub min_overlap: Option<f64>,
}

impl Validate for CutoverThresholds {
    fn validate(&self, errors: &mut Errors) {
        let fields = [
            ("max_ndcg_drop", Some(self.max_ndcg_drop)),
            ("max_recall_drop", Some(self.max_recall_drop)),
            ("max_mrr_drop", Some(self.max_mrr_drop)),
            ("min_overlap", self.min_overlap),
        ];
        for (field, value) in fields {
            match value {
                Some(v) if !(0.0..=1.0).contains(&v) => errors.push(
                    field,
                    "value_error",
                    "Value error, must be a fraction between 0 and 1",
                ),
                _ => {}
            }
        }
    }
}

/// One figure the gate checked.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct GateCheck {
    /// `ndcg_at_k`, `recall_at_k`, `mrr_at_k`, `overlap_at_k` or `judged_queries`.
    pub figure: String,
    /// The source retriever the figure is about.
    pub retriever_id: String,
    /// The evaluation set, when the figure is one set's; absent for interactions and for
    /// recorded executions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evaluation_id: Option<String>,
    /// Where the figure comes from: `evaluation_set`, `interactions`, `executions`, or
    /// `migration` (for `judged_queries`).
    pub basis: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<f64>,
    /// What is compared with the threshold: a drop (`source − target`), an overlap, or a
    /// count of judged queries.
    pub value: f64,
    pub threshold: f64,
    pub passed: bool,
    /// The check in words, e.g. "ndcg_at_k on evaluation set 'gold' dropped 0.12 (0.71 →
    /// 0.59), more than the 0.00 allowed".
    pub message: String,
}

/// What a cutover brought from the source into the target before moving the alias.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct CatchUpReport {
    pub objects_written: u64,
    pub objects_deleted: u64,
    pub documents_written: u64,
    pub documents_deleted: u64,
    /// Catch-up passes run: one while writes continue, one under the freeze.
    pub passes: u32,
    /// How long the source's writes were frozen, in milliseconds.
    pub frozen_ms: u64,
}

/// Answer of a cutover: the alias as it is now, what was checked, what was caught up.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CutoverResponse {
    /// Always `namespace_alias_cutover`.
    pub object: String,
    pub alias: NamespaceAlias,
    pub migration_id: String,
    /// The migration's source: read-only from now on, until a rollback.
    pub from_namespace_id: String,
    pub to_namespace_id: String,
    /// Whether `force` overrode failing figures.
    pub forced: bool,
    pub checks: Vec<GateCheck>,
    pub catch_up: CatchUpReport,
}

/// Answer of a rollback.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct RollbackResponse {
    /// Always `namespace_alias_rollback`.
    pub object: String,
    pub alias: NamespaceAlias,
    /// Where the alias pointed until now: read-only from now on.
    pub from_namespace_id: String,
    /// Where it points again: writable again.
    pub to_namespace_id: String,
    /// The migration whose cutover is undone, if a cutover made the move.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub migration_id: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn thresholds_are_fractions_and_the_freeze_is_bounded() {
        let req: CutoverRequest = serde_json::from_value(json!({
            "migration_id": "mig_1",
            "thresholds": {"max_ndcg_drop": 1.5, "min_overlap": -0.1},
            "freeze_timeout_seconds": 0,
        }))
        .unwrap();
        let locs: Vec<Vec<serde_json::Value>> = req
            .validation_errors()
            .iter()
            .map(|e| e.loc_values())
            .collect();
        assert_eq!(
            locs,
            vec![
                vec![json!("freeze_timeout_seconds")],
                vec![json!("thresholds"), json!("max_ndcg_drop")],
                vec![json!("thresholds"), json!("min_overlap")],
            ]
        );
        let defaults: CutoverRequest =
            serde_json::from_value(json!({"migration_id": "mig_1"})).unwrap();
        assert!(defaults.validation_errors().is_empty());
        assert_eq!(defaults.freeze_timeout_seconds, 30);
        assert_eq!(defaults.thresholds, CutoverThresholds::default());
    }
}
