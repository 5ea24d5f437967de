//! The `benchmark_evaluation` stage's comparison of one migrated retriever with its source:
//! the same queries run on the source retriever and on its copy in the target, and the two
//! result lists are compared by lineage ([`lineage`]: same object and chunk, or a copy), so a
//! re_extract's rebuilt documents match the source documents they replace.
//!
//! Three sources of queries, each reported in [`RetrieverBenchmark`]:
//! - recorded executions (newest 50): overlap@k;
//! - interactions on those executions (clicks, positive feedback …): recall@k, MRR@k and
//!   NDCG@k on source and target;
//! - the retriever's evaluation sets ([`sets`]): the same figures per set, with per-query wins,
//!   losses and the worst regressions.
//!
//! `docs/ARCHITECTURE.md` places this stage in a migration's path.

pub mod lineage;
pub mod metrics;
mod sets;

use std::collections::{BTreeMap, HashMap};

use ferry_retrieve::{prepare_inputs, Engine as Retrieval, Pipeline};
use ferry_store::{HistoryQuery, InteractionListQuery, NamespaceKey, Store};
use ferry_wire::evaluation::benchmark::{InteractionBenchmark, RetrieverBenchmark};
use ferry_wire::retriever::{RetrieverInputSchemaField, StageConfig};
use serde_json::{Map, Value};

use crate::error::MigrateError;
use crate::ids::IdMap;
use lineage::{source_key, target_key, ItemKey, Judged, Judgment};

/// Most recorded executions replayed per retriever (newest first).
pub const MAX_QUERIES: i64 = 50;
/// Results compared per query.
pub const K: usize = 10;

/// Interaction types that mark a result as relevant.
const POSITIVE: [&str; 6] = [
    "click",
    "positive_feedback",
    "purchase",
    "add_to_cart",
    "bookmark",
    "long_view",
];

/// A retriever the benchmark cannot run (its stored stages no longer parse).
fn plan_error(e: impl std::fmt::Display) -> MigrateError {
    MigrateError::Corrupt(format!("benchmark: {e}"))
}

/// One side of the comparison: a retriever, parsed, in its namespace.
struct Side {
    ns: NamespaceKey,
    retriever_id: String,
    pipeline: Pipeline,
    schema: Option<BTreeMap<String, RetrieverInputSchemaField>>,
    collections: Vec<String>,
}

impl Side {
    async fn load(store: &Store, ns: NamespaceKey, id: &str) -> Result<Side, MigrateError> {
        let r = store.get_retriever(ns, id).await?;
        let stages: Vec<StageConfig> =
            serde_json::from_value(r.fields.stages).map_err(plan_error)?;
        let pipeline = Pipeline::parse(&stages).map_err(|_| plan_error("stages do not parse"))?;
        let schema = r
            .fields
            .input_schema
            .map(serde_json::from_value)
            .transpose()
            .map_err(plan_error)?;
        Ok(Side {
            ns,
            retriever_id: r.retriever_id,
            pipeline,
            schema,
            collections: r.fields.collection_ids,
        })
    }
}

/// The source and target retrievers, and how to name source items as the target does.
pub(crate) struct Comparison<'a> {
    store: &'a Store,
    retrieval: &'a Retrieval,
    map: &'a IdMap,
    source: Side,
    target: Side,
}

impl Comparison<'_> {
    /// The top `K` of the source (`on_source`) or the target for `inputs`, as lineage keys.
    async fn top_k(
        &self,
        on_source: bool,
        inputs: &Map<String, Value>,
    ) -> Result<Vec<ItemKey>, MigrateError> {
        let side = if on_source {
            &self.source
        } else {
            &self.target
        };
        let run = self
            .retrieval
            .run(
                side.ns,
                &side.collections,
                &side.pipeline,
                std::slice::from_ref(inputs),
                None,
            )
            .await
            .map_err(plan_error)?;
        let results = run.outcomes.into_iter().next().unwrap_or_default().results;
        Ok(results
            .iter()
            .take(K)
            .map(|s| match on_source {
                true => source_key(self.map, &s.document),
                false => target_key(&s.document),
            })
            .collect())
    }

    /// Both sides' top `K` for `inputs`, prepared by the source's input schema; `None` when
    /// the source retriever no longer accepts them.
    async fn both(
        &self,
        inputs: Map<String, Value>,
    ) -> Result<Option<(Vec<ItemKey>, Vec<ItemKey>)>, MigrateError> {
        let Ok(inputs) = prepare_inputs(self.source.schema.as_ref(), inputs) else {
            return Ok(None);
        };
        let source = self.top_k(true, &inputs).await?;
        let target = self.top_k(false, &inputs).await?;
        Ok(Some((source, target)))
    }

    /// The lineage keys of source documents `ids` (of the source retriever's collections);
    /// an id no collection holds keeps its copied name.
    async fn keys_of_documents(
        &self,
        ids: &[String],
    ) -> Result<HashMap<String, ItemKey>, MigrateError> {
        let found = self
            .store
            .document_lineages(self.source.ns, &self.source.collections, ids)
            .await?;
        let mut keys: HashMap<String, ItemKey> = found
            .iter()
            .map(|d| (d.document_id.clone(), source_key(self.map, d)))
            .collect();
        for id in ids {
            keys.entry(id.clone())
                .or_insert_with(|| ItemKey::Document(self.map.item(id)));
        }
        Ok(keys)
    }
}

/// Every evaluation set of a retriever, oldest first, with its queries parsed.
pub async fn evaluation_sets(
    store: &Store,
    ns: NamespaceKey,
    retriever_id: &str,
) -> Result<
    Vec<(
        ferry_store::EvaluationRecord,
        Vec<ferry_wire::evaluation::EvaluationQuery>,
    )>,
    MigrateError,
> {
    Ok(sets::load(store, ns, retriever_id)
        .await?
        .into_iter()
        .map(|s| (s.record, s.queries))
        .collect())
}

/// Compares one retriever's source and target answers on its recorded queries and its
/// evaluation sets; `None` when it has neither.
pub async fn evaluate(
    store: &Store,
    retrieval: &Retrieval,
    source: (NamespaceKey, &str),
    target: (NamespaceKey, &str),
    map: &IdMap,
) -> Result<Option<RetrieverBenchmark>, MigrateError> {
    let (executions, _) = store
        .list_retriever_executions(
            source.0,
            source.1,
            &HistoryQuery {
                descending: true,
                limit: MAX_QUERIES,
                offset: 0,
                ..Default::default()
            },
        )
        .await?;
    let evaluation_sets = sets::load(store, source.0, source.1).await?;
    if executions.is_empty() && evaluation_sets.is_empty() {
        return Ok(None);
    }
    let cmp = Comparison {
        store,
        retrieval,
        map,
        source: Side::load(store, source.0, source.1).await?,
        target: Side::load(store, target.0, target.1).await?,
    };
    let mut overlaps = Vec::new();
    let (mut on_source, mut on_target) = (Vec::new(), Vec::new());
    for execution in &executions {
        let inputs = execution.inputs.as_object().cloned().unwrap_or_default();
        let Some((source_top, target_top)) = cmp.both(inputs).await? else {
            continue;
        };
        overlaps.push(metrics::overlap(&source_top, &target_top, K));
        let judgments = interaction_judgments(&cmp, &execution.execution_id).await?;
        if !judgments.is_empty() {
            on_source.push(metrics::score(&source_top, &judgments, K));
            on_target.push(metrics::score(&target_top, &judgments, K));
        }
    }
    let interactions = (!on_source.is_empty()).then(|| {
        let (source, target) = (metrics::mean(&on_source), metrics::mean(&on_target));
        InteractionBenchmark {
            judged_queries: on_source.len(),
            source,
            target,
            delta: target.minus(&source),
        }
    });
    let mut set_reports = Vec::new();
    for set in &evaluation_sets {
        set_reports.push(sets::evaluate(&cmp, set).await?);
    }
    Ok(Some(RetrieverBenchmark {
        retriever_id: cmp.source.retriever_id.clone(),
        target_retriever_id: cmp.target.retriever_id.clone(),
        queries: executions.len(),
        k: K,
        matching: "lineage".into(),
        overlap_at_k: (!overlaps.is_empty())
            .then(|| overlaps.iter().sum::<f64>() / overlaps.len() as f64),
        judged_queries: interactions.as_ref().map_or(0, |i| i.judged_queries),
        recall_at_k: interactions.as_ref().map(|i| i.target.recall_at_k),
        ndcg_at_k: interactions.as_ref().map(|i| i.target.ndcg_at_k),
        interactions,
        evaluation_sets: set_reports,
    }))
}

/// The documents positive interactions on `execution_id` marked, each judged relevant
/// (grade 1), by lineage.
async fn interaction_judgments(
    cmp: &Comparison<'_>,
    execution_id: &str,
) -> Result<Vec<Judgment>, MigrateError> {
    let (interactions, _) = cmp
        .store
        .list_interactions(
            cmp.source.ns,
            &InteractionListQuery {
                execution_id: Some(execution_id.to_owned()),
                limit: 1000,
                ..Default::default()
            },
        )
        .await?;
    let mut ids: Vec<String> = interactions
        .iter()
        .filter(|i| {
            i.interaction_types
                .iter()
                .any(|t| POSITIVE.contains(&t.as_str()))
        })
        .map(|i| i.feature_id.clone())
        .collect();
    ids.sort();
    ids.dedup();
    let keys = cmp.keys_of_documents(&ids).await?;
    let mut judgments: Vec<Judgment> = Vec::new();
    for id in &ids {
        let judged = Judged::Item(keys[id].clone());
        if !judgments.iter().any(|j| j.judged == judged) {
            judgments.push(Judgment { judged, grade: 1 });
        }
    }
    Ok(judgments)
}
