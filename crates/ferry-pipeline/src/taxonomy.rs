//! Taxonomy materialization (`api_taxonomies_materialize` tasks): every document of a
//! collection is matched, through the taxonomy's retriever, against the taxonomy's reference
//! (source) collection, and the matches are written onto it.
//!
//! What a document gets, for taxonomy `tax_X`:
//! - `_taxonomy_tax_X`: `{taxonomy_id, taxonomy_name, version, matches: [{document_id,
//!   collection_id, score, …enrichment values}]}`, best match first, at most `top_k`;
//!   `matches` is empty when nothing matched, so every visited document shows it was processed;
//! - each of the source collection's `enrichment_fields`, copied from the best match onto
//!   `target_field` (`replace`), or gathered from every match into a list (`append`).
//!
//! A batch's writes and the task's resume cursor commit together (the lease renewal carries
//! the cursor), so a run that dies resumes after the last committed batch; writing a
//! document's fields again writes the same values.

use ferry_retrieve::{
    document_view, prepare_inputs, record_view, Engine, Pipeline as Stages, Scored,
};
use ferry_store::{DocumentRecord, LeaseRenewal, NamespaceKey, Task, Taxonomy};
use ferry_wire::collection::CollectionVectorIndex;
use ferry_wire::filter::LogicalOperator;
use ferry_wire::filter_match::{lookup_field, Matcher};
use ferry_wire::retriever::{RetrieverInputSchemaField, StageConfig};
use ferry_wire::task::TaskStatusEnum;
use ferry_wire::taxonomy::{EnrichmentMergeMode, FlatTaxonomyConfig, InputSourceType};
use ferry_wire::Errors;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use crate::fault::Breakpoint;
use crate::worker::{Pipeline, PipelineError};

/// Task type of a taxonomy application, as the SDK's `TaskType` names it.
pub const TAXONOMY_TASK: &str = "api_taxonomies_materialize";

/// The inputs of a taxonomy task.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TaxonomyApplication {
    pub taxonomy_id: String,
    /// The collection whose documents are enriched.
    pub collection_id: String,
    /// Documents read per batch.
    pub batch_size: i64,
    /// Only documents matching these are enriched.
    pub scroll_filters: Option<LogicalOperator>,
}

/// The field a taxonomy's matches are written under.
pub fn taxonomy_field(taxonomy_id: &str) -> String {
    format!("_taxonomy_{taxonomy_id}")
}

/// Where a run stands: the last document done and what the run counted so far.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Progress {
    created_at: Option<i64>,
    document_id: Option<String>,
    processed: i64,
    enriched: i64,
    unmatched: i64,
    /// Documents left alone: filtered out, or without the fields the mappings read.
    skipped: i64,
}

fn config_error(message: impl Into<String>) -> PipelineError {
    PipelineError::Config(message.into())
}

/// The retriever inputs for one document, or `None` when a mapped field is missing.
/// `view` is the document's [`record_view`].
fn inputs_for(
    config: &FlatTaxonomyConfig,
    doc: &DocumentRecord,
    view: &Value,
    indexes: &[CollectionVectorIndex],
) -> Option<Map<String, Value>> {
    let mut inputs = Map::new();
    for mapping in &config.input_mappings {
        let value = match mapping.source_type.unwrap_or(InputSourceType::Payload) {
            InputSourceType::Literal => mapping.override_value.clone()?,
            InputSourceType::Payload => lookup_field(view, mapping.path.as_deref()?).cloned()?,
            InputSourceType::Vector => {
                let path = mapping.path.as_deref()?;
                let name = indexes
                    .iter()
                    .find(|i| i.feature_uri == path || i.name == path)
                    .map_or(path, |i| i.index.name.as_str());
                let (_, vector) = doc.vectors.iter().find(|(n, _)| n == name)?;
                Value::from(vector.clone())
            }
            InputSourceType::Blob => return None,
        };
        inputs.insert(mapping.input_key.clone(), value);
    }
    Some(inputs)
}

/// The fields one document gets from its matches.
fn enrichment(
    taxonomy: &Taxonomy,
    config: &FlatTaxonomyConfig,
    matches: &[Scored],
) -> Map<String, Value> {
    let enrichment_fields = config
        .source_collection
        .enrichment_fields
        .as_deref()
        .unwrap_or_default();
    let views: Vec<Value> = matches.iter().map(document_view).collect();
    let mut fields = Map::new();
    let mut listed = Vec::with_capacity(matches.len());
    for (m, view) in matches.iter().zip(&views) {
        let mut entry = json!({
            "document_id": m.document.document_id,
            "collection_id": m.document.collection_id,
            "score": m.score,
        });
        for field in enrichment_fields {
            if let Some(value) = lookup_field(view, &field.field_path) {
                entry[&field.field_path] = value.clone();
            }
        }
        listed.push(entry);
    }
    for field in enrichment_fields {
        let target = field
            .target_field
            .clone()
            .unwrap_or_else(|| field.field_path.clone());
        let values = views
            .iter()
            .filter_map(|view| lookup_field(view, &field.field_path).cloned());
        match field.merge_mode.unwrap_or(EnrichmentMergeMode::Replace) {
            EnrichmentMergeMode::Replace => {
                if let Some(best) = values.into_iter().next() {
                    fields.insert(target, best);
                }
            }
            EnrichmentMergeMode::Append => {
                let mut all: Vec<Value> = Vec::new();
                for v in values {
                    if !all.contains(&v) {
                        all.push(v);
                    }
                }
                fields.insert(target, Value::Array(all));
            }
        }
    }
    fields.insert(
        taxonomy_field(&taxonomy.taxonomy_id),
        json!({
            "taxonomy_id": taxonomy.taxonomy_id,
            "taxonomy_name": taxonomy.fields.taxonomy_name,
            "version": taxonomy.version,
            "matches": listed,
        }),
    );
    fields
}

impl Pipeline {
    /// Runs one claimed taxonomy task to its end, from its resume cursor.
    pub(crate) async fn run_taxonomy_task(
        &self,
        task: Task,
        batches_done: &mut u64,
    ) -> Result<(), PipelineError> {
        let ns: NamespaceKey = task
            .namespace
            .ok_or_else(|| config_error("taxonomy task without a namespace"))?;
        let application: TaxonomyApplication = serde_json::from_value(task.inputs.clone())
            .map_err(|e| config_error(format!("taxonomy task inputs: {e}")))?;
        let store = self.store();
        let taxonomy = store.get_taxonomy(ns, &application.taxonomy_id).await?;
        let config: FlatTaxonomyConfig = serde_json::from_value(taxonomy.fields.config.clone())
            .map_err(|e| config_error(format!("taxonomy config: {e}")))?;
        let retriever = store
            .get_retriever(ns, &taxonomy.fields.retriever_id)
            .await?;
        let stage_configs: Vec<StageConfig> = serde_json::from_value(retriever.fields.stages)
            .map_err(|e| config_error(format!("retriever stages: {e}")))?;
        let stages = Stages::parse(&stage_configs)
            .map_err(|_| config_error("the taxonomy's retriever stages do not parse"))?;
        let schema: Option<std::collections::BTreeMap<String, RetrieverInputSchemaField>> =
            retriever
                .fields
                .input_schema
                .map(serde_json::from_value)
                .transpose()
                .map_err(|e| config_error(format!("retriever input_schema: {e}")))?;
        let collection = store.get_collection(ns, &application.collection_id).await?;
        let indexes: Vec<CollectionVectorIndex> =
            serde_json::from_value(collection.fields.vector_indexes.clone())
                .map_err(|e| config_error(format!("vector_indexes: {e}")))?;
        let matcher = match application
            .scroll_filters
            .as_ref()
            .filter(|f| !f.is_empty())
        {
            Some(filter) => {
                let mut errors = Errors::new();
                Some(
                    Matcher::compile(filter, &mut errors)
                        .ok_or_else(|| config_error("scroll_filters do not compile"))?,
                )
            }
            None => None,
        };
        let engine = Engine::new(store.clone(), self.registry().clone(), self.search());
        let reference = vec![taxonomy.fields.source_collection_id.clone()];
        store
            .set_task_total(&task.task_id, self.worker_id(), collection.document_count)
            .await?;

        let mut progress: Progress = task
            .resume_cursor
            .as_deref()
            .and_then(|c| serde_json::from_str(c).ok())
            .unwrap_or_default();
        let batch_size = application.batch_size.max(1);
        loop {
            let after = progress.created_at.zip(progress.document_id.as_deref());
            let batch = store
                .documents_after(ns, &collection.collection_id, after, batch_size)
                .await?;
            let Some(last) = batch.last() else { break };
            progress.created_at = Some(last.created_at);
            progress.document_id = Some(last.document_id.clone());
            progress.processed += batch.len() as i64;

            let mut targets: Vec<&DocumentRecord> = Vec::with_capacity(batch.len());
            let mut inputs = Vec::with_capacity(batch.len());
            for doc in &batch {
                let view = record_view(doc, 0.0);
                let wanted = matcher.as_ref().is_none_or(|m| m.matches(&view));
                let prepared = inputs_for(&config, doc, &view, &indexes)
                    .filter(|_| wanted)
                    .and_then(|i| prepare_inputs(schema.as_ref(), i).ok());
                match prepared {
                    Some(i) => {
                        targets.push(doc);
                        inputs.push(i);
                    }
                    None => progress.skipped += 1,
                }
            }
            let mut updates = Vec::with_capacity(targets.len());
            if !inputs.is_empty() {
                let run = engine
                    .run(ns, &reference, &stages, &inputs, None)
                    .await
                    .map_err(|e| config_error(format!("taxonomy retriever: {e}")))?;
                for (doc, outcome) in targets.into_iter().zip(run.outcomes) {
                    let matches: Vec<Scored> = outcome
                        .results
                        .into_iter()
                        .take(config.top_k.max(1) as usize)
                        .collect();
                    if matches.is_empty() {
                        progress.unmatched += 1;
                    } else {
                        progress.enriched += 1;
                    }
                    updates.push((
                        doc.document_id.clone(),
                        enrichment(&taxonomy, &config, &matches),
                    ));
                }
            }
            let cursor = serde_json::to_string(&progress)
                .map_err(|e| config_error(format!("cursor: {e}")))?;
            *batches_done += 1;
            self.checkpoint(Breakpoint::BeforeCommit(*batches_done))
                .await;
            let renewal = LeaseRenewal {
                task_id: &task.task_id,
                owner: self.worker_id(),
                lease_until: self.lease_deadline(),
                processed: progress.processed,
                resume_cursor: Some(&cursor),
            };
            crate::through_freeze(|| {
                store.merge_document_fields(ns, &collection.collection_id, &updates, &renewal)
            })
            .await?;
            self.checkpoint(Breakpoint::AfterCommit(*batches_done))
                .await;
        }
        let outputs = json!({
            "taxonomy_id": taxonomy.taxonomy_id,
            "collection_id": collection.collection_id,
            "documents_enriched": progress.enriched,
            "documents_unmatched": progress.unmatched,
            "documents_skipped": progress.skipped,
        });
        self.end_task(&task.task_id, TaskStatusEnum::Completed, &outputs)
            .await?;
        tracing::info!(
            task_id = task.task_id,
            enriched = progress.enriched,
            "taxonomy applied"
        );
        Ok(())
    }
}
