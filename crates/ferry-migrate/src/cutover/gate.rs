//! The cutover's quality gate: every figure of a migration's benchmark
//! (`additional_data.benchmark`) checked against the request's thresholds. Pure, so each rule
//! is tested here without a store.

use ferry_wire::cutover::{CutoverThresholds, GateCheck};
use ferry_wire::evaluation::benchmark::{RetrievalFigures, RetrieverBenchmark};

/// Figures are rounded to this before comparing: equal-looking figures must not fail on
/// the last bit of a float sum.
const EPSILON: f64 = 1e-9;

/// Every check of `benchmarks` under `thresholds`. A `re_extract` without a single judged
/// query (no evaluation set, no interactions) fails `judged_queries`: a changed model's
/// quality cannot be shown without them.
pub fn checks(
    benchmarks: &[RetrieverBenchmark],
    thresholds: &CutoverThresholds,
    re_extract: bool,
) -> Vec<GateCheck> {
    let mut out = Vec::new();
    let mut judged = 0usize;
    for b in benchmarks {
        let id = &b.retriever_id;
        if let (Some(min), Some(overlap)) = (thresholds.min_overlap, b.overlap_at_k) {
            out.push(overlap_check(id, None, "executions", overlap, min));
        }
        if let Some(i) = &b.interactions {
            judged += i.judged_queries;
            drops(
                &mut out,
                thresholds,
                id,
                None,
                "interactions",
                &i.source,
                &i.target,
            );
        }
        for set in &b.evaluation_sets {
            judged += set.queries;
            let at = Some(set.evaluation_id.as_str());
            drops(
                &mut out,
                thresholds,
                id,
                at,
                "evaluation_set",
                &set.source,
                &set.target,
            );
            if let Some(min) = thresholds.min_overlap {
                out.push(overlap_check(
                    id,
                    at,
                    "evaluation_set",
                    set.overlap_at_k,
                    min,
                ));
            }
        }
    }
    if re_extract && judged == 0 {
        out.push(GateCheck {
            figure: "judged_queries".into(),
            retriever_id: benchmarks
                .first()
                .map_or_else(String::new, |b| b.retriever_id.clone()),
            evaluation_id: None,
            basis: "migration".into(),
            source: None,
            target: None,
            value: 0.0,
            threshold: 1.0,
            passed: false,
            message: "the re_extract has no judged query (no evaluation set, no interactions) \
                      on any migrated retriever, so its retrieval quality cannot be shown; add \
                      an evaluation set and run the migration again, or force the cutover"
                .into(),
        });
    }
    out
}

/// The NDCG, recall and MRR drops of one basis.
fn drops(
    out: &mut Vec<GateCheck>,
    thresholds: &CutoverThresholds,
    retriever_id: &str,
    evaluation_id: Option<&str>,
    basis: &str,
    source: &RetrievalFigures,
    target: &RetrievalFigures,
) {
    let figures = [
        (
            "ndcg_at_k",
            source.ndcg_at_k,
            target.ndcg_at_k,
            thresholds.max_ndcg_drop,
        ),
        (
            "recall_at_k",
            source.recall_at_k,
            target.recall_at_k,
            thresholds.max_recall_drop,
        ),
        (
            "mrr_at_k",
            source.mrr_at_k,
            target.mrr_at_k,
            thresholds.max_mrr_drop,
        ),
    ];
    for (figure, s, t, allowed) in figures {
        let drop = s - t;
        let passed = drop <= allowed + EPSILON;
        let on = describe(basis, evaluation_id);
        let message = if passed {
            format!("{figure} {on}: {s:.4} → {t:.4}, within the {allowed:.4} drop allowed")
        } else {
            format!(
                "{figure} {on} dropped {drop:.4} ({s:.4} → {t:.4}), more than the {allowed:.4} \
                 allowed"
            )
        };
        out.push(GateCheck {
            figure: figure.into(),
            retriever_id: retriever_id.to_owned(),
            evaluation_id: evaluation_id.map(str::to_owned),
            basis: basis.into(),
            source: Some(s),
            target: Some(t),
            value: drop,
            threshold: allowed,
            passed,
            message,
        });
    }
}

fn overlap_check(
    retriever_id: &str,
    evaluation_id: Option<&str>,
    basis: &str,
    overlap: f64,
    min: f64,
) -> GateCheck {
    let passed = overlap + EPSILON >= min;
    let on = describe(basis, evaluation_id);
    GateCheck {
        figure: "overlap_at_k".into(),
        retriever_id: retriever_id.to_owned(),
        evaluation_id: evaluation_id.map(str::to_owned),
        basis: basis.into(),
        source: None,
        target: None,
        value: overlap,
        threshold: min,
        passed,
        message: if passed {
            format!("overlap_at_k {on} is {overlap:.4}, at least the {min:.4} required")
        } else {
            format!("overlap_at_k {on} is {overlap:.4}, below the {min:.4} required")
        },
    }
}

fn describe(basis: &str, evaluation_id: Option<&str>) -> String {
    match (basis, evaluation_id) {
        (_, Some(id)) => format!("on evaluation set {id}"),
        ("interactions", None) => "on interactions".into(),
        _ => "on recorded executions".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferry_wire::evaluation::benchmark::EvaluationSetBenchmark;

    fn figures(ndcg: f64) -> RetrievalFigures {
        RetrievalFigures {
            recall_at_k: ndcg,
            mrr_at_k: ndcg,
            ndcg_at_k: ndcg,
        }
    }

    fn benchmark(source: f64, target: f64, overlap: f64) -> RetrieverBenchmark {
        RetrieverBenchmark {
            retriever_id: "ret_1".into(),
            target_retriever_id: "ret_2".into(),
            queries: 0,
            k: 10,
            matching: "lineage".into(),
            overlap_at_k: None,
            judged_queries: 0,
            recall_at_k: None,
            ndcg_at_k: None,
            interactions: None,
            evaluation_sets: vec![EvaluationSetBenchmark {
                evaluation_id: "eval_1".into(),
                evaluation_name: "gold".into(),
                queries: 20,
                skipped_queries: 0,
                k: 10,
                source: figures(source),
                target: figures(target),
                delta: figures(target).minus(&figures(source)),
                overlap_at_k: overlap,
                wins: 0,
                losses: 0,
                ties: 0,
                worst_regressions: Vec::new(),
            }],
        }
    }

    #[test]
    fn a_drop_beyond_the_threshold_fails_and_says_by_how_much() {
        let strict = CutoverThresholds::default();
        let checks = checks(&[benchmark(0.7, 0.5, 0.3)], &strict, true);
        let failed: Vec<&GateCheck> = checks.iter().filter(|c| !c.passed).collect();
        assert_eq!(failed.len(), 3, "{checks:?}");
        assert!(
            failed[0].message.contains("dropped 0.2000"),
            "{}",
            failed[0].message
        );
        assert_eq!(failed[0].evaluation_id.as_deref(), Some("eval_1"));

        let lenient = CutoverThresholds {
            max_ndcg_drop: 0.25,
            max_recall_drop: 0.25,
            max_mrr_drop: 0.25,
            min_overlap: Some(0.5),
        };
        let checks = super::checks(&[benchmark(0.7, 0.5, 0.3)], &lenient, true);
        let failed: Vec<&str> = checks
            .iter()
            .filter(|c| !c.passed)
            .map(|c| c.figure.as_str())
            .collect();
        assert_eq!(failed, ["overlap_at_k"]);
    }

    #[test]
    fn an_equal_or_better_target_passes_the_default_gate() {
        let checks = checks(
            &[benchmark(0.6, 0.6, 1.0)],
            &CutoverThresholds::default(),
            true,
        );
        assert!(checks.iter().all(|c| c.passed), "{checks:?}");
        let better = super::checks(
            &[benchmark(0.6, 0.8, 0.4)],
            &CutoverThresholds::default(),
            true,
        );
        assert!(better.iter().all(|c| c.passed));
    }

    #[test]
    fn a_re_extract_without_judgments_cannot_pass_but_a_copy_can() {
        let mut unjudged = benchmark(0.0, 0.0, 0.0);
        unjudged.evaluation_sets.clear();
        let re_extract = checks(&[unjudged.clone()], &CutoverThresholds::default(), true);
        assert_eq!(re_extract.len(), 1);
        assert_eq!(re_extract[0].figure, "judged_queries");
        assert!(!re_extract[0].passed);
        assert!(checks(&[unjudged], &CutoverThresholds::default(), false).is_empty());
    }
}
