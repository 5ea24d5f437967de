//! What a migration's `benchmark_evaluation` stage reports, per migrated retriever, in
//! `additional_data.benchmark` (Ferry's extension of the free-form `additional_data`).
//!
//! Source and target results are compared by lineage: two documents are the same item when
//! they come from the same source object and chunk (in the same collection), or when one is a
//! copy of the other. The figures are computed at `k` results per query.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::ToSchema;

/// Recall@k, MRR@k and NDCG@k averaged over queries (or of one query).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct RetrievalFigures {
    /// Judged items found in the top k, over the judged items.
    pub recall_at_k: f64,
    /// 1 / rank of the first relevant result in the top k (0 when none).
    pub mrr_at_k: f64,
    /// DCG of the top k (gain 2^grade − 1, discount log2(rank + 1)) over the ideal DCG.
    pub ndcg_at_k: f64,
}

impl RetrievalFigures {
    /// `self − base`, figure by figure.
    pub fn minus(&self, base: &RetrievalFigures) -> RetrievalFigures {
        RetrievalFigures {
            recall_at_k: self.recall_at_k - base.recall_at_k,
            mrr_at_k: self.mrr_at_k - base.mrr_at_k,
            ndcg_at_k: self.ndcg_at_k - base.ndcg_at_k,
        }
    }
}

/// One query that scored worse on the target than on the source.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct QueryRegression {
    pub query_id: String,
    #[schema(value_type = Object)]
    pub inputs: Map<String, Value>,
    pub source: RetrievalFigures,
    pub target: RetrievalFigures,
    /// Target NDCG@k minus source NDCG@k (negative).
    pub delta_ndcg_at_k: f64,
}

/// One evaluation set of the retriever, scored on source and target.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct EvaluationSetBenchmark {
    pub evaluation_id: String,
    pub evaluation_name: String,
    /// Queries scored.
    pub queries: usize,
    /// Queries whose inputs the retriever no longer accepts (not scored).
    pub skipped_queries: usize,
    pub k: usize,
    pub source: RetrievalFigures,
    pub target: RetrievalFigures,
    /// `target − source`.
    pub delta: RetrievalFigures,
    /// Mean share of the source's top k that the target's top k holds (by lineage).
    pub overlap_at_k: f64,
    /// Queries whose NDCG@k rose on the target.
    pub wins: usize,
    /// Queries whose NDCG@k fell on the target.
    pub losses: usize,
    pub ties: usize,
    /// The largest NDCG@k drops, worst first (at most 10).
    pub worst_regressions: Vec<QueryRegression>,
}

/// Judgments derived from recorded interactions (clicks, positive feedback …) on replayed
/// executions, scored on source and target.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct InteractionBenchmark {
    /// Replayed executions with at least one positive interaction.
    pub judged_queries: usize,
    pub source: RetrievalFigures,
    pub target: RetrievalFigures,
    pub delta: RetrievalFigures,
}

/// One migrated retriever compared with its source: recorded executions replayed on both
/// (overlap@k), interaction judgments, and every evaluation set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct RetrieverBenchmark {
    pub retriever_id: String,
    pub target_retriever_id: String,
    /// Recorded executions replayed (newest first, at most 50).
    pub queries: usize,
    pub k: usize,
    /// How source and target results are matched: `lineage`.
    pub matching: String,
    /// Mean overlap@k over the replayed executions; null without any.
    pub overlap_at_k: Option<f64>,
    /// Replayed executions judged by interactions.
    pub judged_queries: usize,
    /// Target recall@k on interaction judgments (as `interactions.target`); null without any.
    pub recall_at_k: Option<f64>,
    /// Target NDCG@k on interaction judgments; null without any.
    pub ndcg_at_k: Option<f64>,
    pub interactions: Option<InteractionBenchmark>,
    pub evaluation_sets: Vec<EvaluationSetBenchmark>,
}
