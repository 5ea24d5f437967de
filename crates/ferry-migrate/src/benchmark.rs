//! The `benchmark_evaluation` stage: for each migrated retriever with recorded executions,
//! the same queries run on the source retriever and on its copy in the target, and the two
//! result lists are compared (target ids mapped back through the migration's id map):
//! overlap@k, and recall@k and NDCG@k where interactions marked results as relevant.

use std::collections::HashSet;

use ferry_retrieve::{prepare_inputs, Engine as Retrieval, Pipeline};
use ferry_store::{InteractionListQuery, NamespaceKey, RetrieverExecutionListQuery, Store};
use ferry_wire::retriever::{RetrieverInputSchemaField, StageConfig};
use serde_json::{json, Map, Value};

use crate::error::MigrateError;
use crate::ids::IdMap;

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

/// `(stages, input schema, collections)` of a retriever, parsed.
async fn retriever_plan(
    store: &Store,
    ns: NamespaceKey,
    id: &str,
) -> Result<
    (
        Pipeline,
        Option<std::collections::BTreeMap<String, RetrieverInputSchemaField>>,
        Vec<String>,
    ),
    MigrateError,
> {
    let r = store.get_retriever(ns, id).await?;
    let stages: Vec<StageConfig> = serde_json::from_value(r.fields.stages).map_err(plan_error)?;
    let pipeline = Pipeline::parse(&stages).map_err(|_| plan_error("stages do not parse"))?;
    let schema = r
        .fields
        .input_schema
        .map(serde_json::from_value)
        .transpose()
        .map_err(plan_error)?;
    Ok((pipeline, schema, r.fields.collection_ids))
}

fn dcg(hits: &[bool]) -> f64 {
    hits.iter()
        .enumerate()
        .filter(|(_, hit)| **hit)
        .map(|(i, _)| 1.0 / ((i + 2) as f64).log2())
        .sum()
}

/// Compares one retriever's source and target answers on its recorded queries; `None` when
/// it has no recorded executions.
pub async fn evaluate(
    store: &Store,
    retrieval: &Retrieval,
    source: (NamespaceKey, &str),
    target: (NamespaceKey, &str),
    map: &IdMap,
) -> Result<Option<Value>, MigrateError> {
    let (executions, _) = store
        .list_retriever_executions(
            source.0,
            source.1,
            &RetrieverExecutionListQuery {
                status: None,
                descending: true,
                limit: MAX_QUERIES,
                offset: 0,
            },
        )
        .await?;
    if executions.is_empty() {
        return Ok(None);
    }
    let (source_plan, schema, source_collections) =
        retriever_plan(store, source.0, source.1).await?;
    let (target_plan, _, target_collections) = retriever_plan(store, target.0, target.1).await?;
    let (mut overlap, mut recall, mut ndcg, mut judged) = (0.0, 0.0, 0.0, 0usize);
    for execution in &executions {
        let inputs: Map<String, Value> = execution.inputs.as_object().cloned().unwrap_or_default();
        let Ok(inputs) = prepare_inputs(schema.as_ref(), inputs) else {
            continue;
        };
        let run = |plan: &Pipeline, ns: NamespaceKey, collections: &[String]| {
            let inputs = inputs.clone();
            let plan = plan.clone();
            let collections = collections.to_vec();
            async move {
                retrieval
                    .run(ns, &collections, &plan, &[inputs], None)
                    .await
                    .map(|r| {
                        r.outcomes
                            .into_iter()
                            .next()
                            .map(|o| o.results)
                            .unwrap_or_default()
                            .into_iter()
                            .take(K)
                            .map(|s| s.document.document_id)
                            .collect::<Vec<_>>()
                    })
                    .map_err(plan_error)
            }
        };
        let expected: Vec<String> = run(&source_plan, source.0, &source_collections)
            .await?
            .iter()
            .map(|id| map.item(id))
            .collect();
        let got = run(&target_plan, target.0, &target_collections).await?;
        let got_set: HashSet<&String> = got.iter().collect();
        let k = expected.len().max(1);
        overlap += expected.iter().filter(|id| got_set.contains(id)).count() as f64 / k as f64;

        let (interactions, _) = store
            .list_interactions(
                source.0,
                &InteractionListQuery {
                    execution_id: Some(execution.execution_id.clone()),
                    limit: 1000,
                    ..Default::default()
                },
            )
            .await?;
        let relevant: HashSet<String> = interactions
            .iter()
            .filter(|i| {
                i.interaction_types
                    .iter()
                    .any(|t| POSITIVE.contains(&t.as_str()))
            })
            .map(|i| map.item(&i.feature_id))
            .collect();
        if !relevant.is_empty() {
            judged += 1;
            let hits: Vec<bool> = got.iter().map(|id| relevant.contains(id)).collect();
            recall += hits.iter().filter(|h| **h).count() as f64 / relevant.len() as f64;
            let ideal: Vec<bool> = (0..got.len().min(relevant.len())).map(|_| true).collect();
            let best = dcg(&ideal);
            ndcg += if best > 0.0 { dcg(&hits) / best } else { 0.0 };
        }
    }
    let queries = executions.len() as f64;
    Ok(Some(json!({
        "retriever_id": source.1,
        "target_retriever_id": target.1,
        "queries": executions.len(),
        "k": K,
        "overlap_at_k": overlap / queries,
        "judged_queries": judged,
        "recall_at_k": (judged > 0).then(|| recall / judged as f64),
        "ndcg_at_k": (judged > 0).then(|| ndcg / judged as f64),
    })))
}
