//! Evaluation sets in the benchmark: every judged query of a set runs on source and target,
//! is scored on both against the set's graded judgments (named as the target names them), and
//! the per-query NDCG@k deltas give the wins, losses and worst regressions.

use std::collections::HashMap;

use ferry_store::{EvaluationListQuery, EvaluationRecord, NamespaceKey, Store};
use ferry_wire::evaluation::benchmark::{EvaluationSetBenchmark, QueryRegression};
use ferry_wire::evaluation::EvaluationQuery;

use super::lineage::{Judged, Judgment};
use super::{metrics, Comparison, K};
use crate::error::{corrupt, MigrateError};

/// Most regressions listed per set.
pub const MAX_REGRESSIONS: usize = 10;

/// A per-query NDCG@k change smaller than this is a tie.
const TIE: f64 = 1e-9;

/// Sets read per page.
const PAGE: i64 = 100;

/// A stored set with its queries parsed.
pub(crate) struct LoadedSet {
    pub record: EvaluationRecord,
    pub queries: Vec<EvaluationQuery>,
}

/// Every evaluation set of a retriever, oldest first.
pub(crate) async fn load(
    store: &Store,
    ns: NamespaceKey,
    retriever_id: &str,
) -> Result<Vec<LoadedSet>, MigrateError> {
    let mut sets = Vec::new();
    loop {
        let (page, _) = store
            .list_evaluations(
                ns,
                retriever_id,
                &EvaluationListQuery {
                    search: None,
                    limit: PAGE,
                    offset: sets.len() as i64,
                },
            )
            .await?;
        let n = page.len() as i64;
        for record in page {
            let queries = serde_json::from_value(record.queries.clone())
                .map_err(corrupt("evaluation set queries"))?;
            sets.push(LoadedSet { record, queries });
        }
        if n < PAGE {
            break;
        }
    }
    sets.reverse();
    Ok(sets)
}

/// The judgments of every query of `set`, named as the target names things.
async fn judgments(
    cmp: &Comparison<'_>,
    set: &LoadedSet,
) -> Result<Vec<Vec<Judgment>>, MigrateError> {
    let mut documents: Vec<String> = set
        .queries
        .iter()
        .flat_map(|q| q.relevant.iter().filter_map(|r| r.document_id.clone()))
        .collect();
    documents.sort();
    documents.dedup();
    let keys: HashMap<_, _> = cmp.keys_of_documents(&documents).await?;
    Ok(set
        .queries
        .iter()
        .map(|q| {
            q.relevant
                .iter()
                .map(|r| Judgment {
                    judged: match (&r.document_id, &r.object_id) {
                        (Some(d), _) => Judged::Item(keys[d].clone()),
                        (None, Some(o)) => Judged::Object(cmp.map.item(o)),
                        (None, None) => Judged::Object(String::new()),
                    },
                    grade: r.grade,
                })
                .collect()
        })
        .collect())
}

/// Scores `set` on both sides.
pub(crate) async fn evaluate(
    cmp: &Comparison<'_>,
    set: &LoadedSet,
) -> Result<EvaluationSetBenchmark, MigrateError> {
    let judged = judgments(cmp, set).await?;
    let (mut on_source, mut on_target, mut overlaps) = (Vec::new(), Vec::new(), Vec::new());
    let (mut wins, mut losses, mut ties, mut skipped) = (0, 0, 0, 0);
    let mut regressions = Vec::new();
    for (query, judgments) in set.queries.iter().zip(&judged) {
        let Some((source_top, target_top)) = cmp.both(query.inputs.clone()).await? else {
            skipped += 1;
            continue;
        };
        let source = metrics::score(&source_top, judgments, K);
        let target = metrics::score(&target_top, judgments, K);
        overlaps.push(metrics::overlap(&source_top, &target_top, K));
        let delta = target.ndcg_at_k - source.ndcg_at_k;
        if delta > TIE {
            wins += 1;
        } else if delta < -TIE {
            losses += 1;
            regressions.push(QueryRegression {
                query_id: query.query_id.clone().unwrap_or_default(),
                inputs: query.inputs.clone(),
                source,
                target,
                delta_ndcg_at_k: delta,
            });
        } else {
            ties += 1;
        }
        on_source.push(source);
        on_target.push(target);
    }
    // Worst first; equal drops keep the set's order (the sort is stable).
    regressions.sort_by(|a, b| a.delta_ndcg_at_k.total_cmp(&b.delta_ndcg_at_k));
    regressions.truncate(MAX_REGRESSIONS);
    let (source, target) = (metrics::mean(&on_source), metrics::mean(&on_target));
    Ok(EvaluationSetBenchmark {
        evaluation_id: set.record.evaluation_id.clone(),
        evaluation_name: set.record.evaluation_name.clone(),
        queries: on_source.len(),
        skipped_queries: skipped,
        k: K,
        source,
        target,
        delta: target.minus(&source),
        overlap_at_k: if overlaps.is_empty() {
            0.0
        } else {
            overlaps.iter().sum::<f64>() / overlaps.len() as f64
        },
        wins,
        losses,
        ties,
        worst_regressions: regressions,
    })
}
