//! Retrieval figures of one ranked list against graded judgments: recall@k, MRR@k and NDCG@k
//! (gain 2^grade − 1, discount log2(rank + 1)), and the overlap of two lists. Pure functions
//! of keys; what a key is (lineage) is [`super::lineage`]'s business.

use std::collections::HashSet;

use ferry_wire::evaluation::benchmark::RetrievalFigures;

use super::lineage::{ItemKey, Judgment};

fn gain(grade: i64) -> f64 {
    2f64.powi(grade.clamp(0, 30) as i32) - 1.0
}

fn discount(rank0: usize) -> f64 {
    1.0 / ((rank0 + 2) as f64).log2()
}

/// Scores the first `k` of `results` against `judgments`. Each judgment is credited once, to
/// the first result it matches (a result matching several takes the highest grade still
/// uncredited), so several chunks of one judged object count once. Without judgments every
/// figure is 0.
pub fn score(results: &[ItemKey], judgments: &[Judgment], k: usize) -> RetrievalFigures {
    if judgments.is_empty() {
        return RetrievalFigures::default();
    }
    let mut credited = vec![false; judgments.len()];
    let mut dcg = 0.0;
    let mut first_relevant = None;
    for (rank0, key) in results.iter().take(k).enumerate() {
        let best = judgments
            .iter()
            .enumerate()
            .filter(|(j, judgment)| !credited[*j] && judgment.matches(key))
            .max_by_key(|(j, judgment)| (judgment.grade, std::cmp::Reverse(*j)));
        if let Some((j, judgment)) = best {
            credited[j] = true;
            dcg += gain(judgment.grade) * discount(rank0);
            first_relevant.get_or_insert(rank0);
        }
    }
    let mut grades: Vec<i64> = judgments.iter().map(|j| j.grade).collect();
    grades.sort_unstable_by(|a, b| b.cmp(a));
    let ideal: f64 = grades
        .iter()
        .take(k)
        .enumerate()
        .map(|(rank0, g)| gain(*g) * discount(rank0))
        .sum();
    RetrievalFigures {
        recall_at_k: credited.iter().filter(|c| **c).count() as f64 / judgments.len() as f64,
        mrr_at_k: first_relevant.map_or(0.0, |r| 1.0 / (r + 1) as f64),
        ndcg_at_k: if ideal > 0.0 { dcg / ideal } else { 0.0 },
    }
}

/// The share of `source`'s first `k` that `target`'s first `k` holds (1 when both are empty).
pub fn overlap(source: &[ItemKey], target: &[ItemKey], k: usize) -> f64 {
    let expected: Vec<&ItemKey> = source.iter().take(k).collect();
    if expected.is_empty() {
        return if target.is_empty() { 1.0 } else { 0.0 };
    }
    let got: HashSet<&ItemKey> = target.iter().take(k).collect();
    expected.iter().filter(|key| got.contains(*key)).count() as f64 / expected.len() as f64
}

/// The mean of each figure over `figures` (zeros when there are none).
pub fn mean(figures: &[RetrievalFigures]) -> RetrievalFigures {
    if figures.is_empty() {
        return RetrievalFigures::default();
    }
    let n = figures.len() as f64;
    RetrievalFigures {
        recall_at_k: figures.iter().map(|f| f.recall_at_k).sum::<f64>() / n,
        mrr_at_k: figures.iter().map(|f| f.mrr_at_k).sum::<f64>() / n,
        ndcg_at_k: figures.iter().map(|f| f.ndcg_at_k).sum::<f64>() / n,
    }
}

#[cfg(test)]
mod tests {
    use super::super::lineage::Judged;
    use super::*;

    fn doc(id: &str) -> ItemKey {
        ItemKey::Document(id.into())
    }

    fn chunk(object: &str, chunk: i64) -> ItemKey {
        ItemKey::Chunk {
            collection: "col".into(),
            object: object.into(),
            chunk,
        }
    }

    fn judged(id: &str, grade: i64) -> Judgment {
        Judgment {
            judged: Judged::Item(doc(id)),
            grade,
        }
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-12
    }

    #[test]
    fn graded_ndcg_uses_exponential_gain_and_log2_discount() {
        let results = [doc("a"), doc("b"), doc("c")];
        let judgments = [judged("c", 3), judged("a", 1), judged("z", 2)];
        let f = score(&results, &judgments, 3);
        let dcg = 1.0 / 2f64.log2() + 7.0 / 4f64.log2();
        let ideal = 7.0 / 2f64.log2() + 3.0 / 3f64.log2() + 1.0 / 4f64.log2();
        assert!(close(f.ndcg_at_k, dcg / ideal), "{f:?}");
        assert!(close(f.recall_at_k, 2.0 / 3.0));
        assert!(close(f.mrr_at_k, 1.0));
    }

    #[test]
    fn only_the_first_k_count() {
        let results = [doc("x"), doc("y"), doc("a")];
        let f = score(&results, &[judged("a", 1)], 2);
        assert_eq!(f, RetrievalFigures::default());
        let f = score(&results, &[judged("a", 1)], 3);
        assert!(close(f.mrr_at_k, 1.0 / 3.0) && close(f.recall_at_k, 1.0));
    }

    #[test]
    fn an_object_judgment_is_credited_once() {
        let results = [chunk("o", 0), chunk("o", 1)];
        let judgments = [Judgment {
            judged: Judged::Object("o".into()),
            grade: 1,
        }];
        let f = score(&results, &judgments, 10);
        assert!(
            close(f.ndcg_at_k, 1.0) && close(f.recall_at_k, 1.0),
            "{f:?}"
        );
    }

    #[test]
    fn overlap_is_the_share_of_the_source_list_kept() {
        let source = [doc("a"), doc("b"), doc("c"), doc("d")];
        let target = [doc("d"), doc("a"), doc("x")];
        assert!(close(overlap(&source, &target, 10), 0.5));
        assert!(close(overlap(&source, &target, 1), 0.0));
        assert!(close(overlap(&[], &[], 10), 1.0));
    }
}
