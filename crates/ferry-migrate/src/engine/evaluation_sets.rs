//! Evaluation sets travel with their retriever: finalization writes each migrated retriever's
//! sets into the target, with the judged ids named as the target names them.
//!
//! An object keeps its copied id. A document of a copied collection keeps its copied id; a
//! document of a rebuilt collection (re_extract) becomes the document the rebuild made of the
//! same object and chunk, or, when the new extractor made no such chunk, a judgment of the
//! object itself (any chunk of it then counts). Set ids are derived from the migration, so a
//! repeated finalization writes the same rows.

use std::collections::HashMap;

use ferry_store::{EvaluationRecord, Namespace};
use ferry_wire::evaluation::{EvaluationQuery, RelevantItem};
use ferry_wire::migration::ResourceType;

use super::run::Run;
use super::Engine;
use crate::error::{corrupt, MigrateError};
use crate::ids::{derived, IdMap};

impl Engine {
    /// Copies the evaluation sets of every migrated retriever; returns how many.
    pub(super) async fn copy_evaluation_sets(
        &self,
        run: &Run,
        target: &Namespace,
        map: &IdMap,
    ) -> Result<i64, MigrateError> {
        let mut copied = 0;
        for (source_retriever, target_retriever) in run.migrated(ResourceType::Retriever, map) {
            let source = self
                .store
                .get_retriever(run.source.key, source_retriever)
                .await?;
            let sets =
                crate::benchmark::evaluation_sets(&self.store, run.source.key, source_retriever)
                    .await?;
            for (record, queries) in sets {
                let renamed = self
                    .rename_judgments(run, target, map, &source.fields.collection_ids, queries)
                    .await?;
                let judgments: usize = renamed.iter().map(|q| q.relevant.len()).sum();
                let now = ferry_store::time::now_micros();
                let copy = EvaluationRecord {
                    evaluation_id: derived(run.migration.migration_id(), &record.evaluation_id),
                    retriever_id: target_retriever.to_owned(),
                    queries: serde_json::to_value(&renamed)
                        .map_err(corrupt("evaluation set queries"))?,
                    query_count: renamed.len() as i64,
                    judgment_count: judgments as i64,
                    created_at: now,
                    updated_at: now,
                    ..record
                };
                self.store.put_evaluation(target.key, &copy).await?;
                copied += 1;
            }
        }
        Ok(copied)
    }

    /// `queries` with every judged id named as the target names it (see the module doc).
    async fn rename_judgments(
        &self,
        run: &Run,
        target: &Namespace,
        map: &IdMap,
        collections: &[String],
        mut queries: Vec<EvaluationQuery>,
    ) -> Result<Vec<EvaluationQuery>, MigrateError> {
        let mut documents: Vec<String> = queries
            .iter()
            .flat_map(|q| q.relevant.iter().filter_map(|r| r.document_id.clone()))
            .collect();
        documents.sort();
        documents.dedup();
        let lineages = self
            .store
            .document_lineages(run.source.key, collections, &documents)
            .await?;
        let mut renamed: HashMap<String, RelevantItem> = HashMap::new();
        for d in &lineages {
            let rebuilt_into = map
                .resource(&d.collection_id)
                .filter(|_| run.rebuild(&d.collection_id).is_some());
            let item = match (rebuilt_into, &d.source_object_id) {
                (Some(collection), Some(object)) => {
                    let object = map.item(object);
                    match self
                        .store
                        .document_of_chunk(target.key, collection, &object, d.chunk_index)
                        .await?
                    {
                        Some(document) => judged_document(document),
                        None => RelevantItem {
                            document_id: None,
                            object_id: Some(object),
                            grade: 1,
                        },
                    }
                }
                _ => judged_document(map.item(&d.document_id)),
            };
            renamed.insert(d.document_id.clone(), item);
        }
        for query in &mut queries {
            let mut items: Vec<RelevantItem> = Vec::with_capacity(query.relevant.len());
            for r in &query.relevant {
                let mut item = match (&r.document_id, &r.object_id) {
                    (Some(d), _) => renamed
                        .get(d)
                        .cloned()
                        .unwrap_or_else(|| judged_document(map.item(d))),
                    (None, object) => RelevantItem {
                        document_id: None,
                        object_id: object.as_deref().map(|o| map.item(o)),
                        grade: 1,
                    },
                };
                item.grade = r.grade;
                // Two chunks that fell back to one object stay one judgment, at the higher grade.
                match items
                    .iter_mut()
                    .find(|i| i.document_id == item.document_id && i.object_id == item.object_id)
                {
                    Some(existing) => existing.grade = existing.grade.max(item.grade),
                    None => items.push(item),
                }
            }
            query.relevant = items;
        }
        Ok(queries)
    }
}

fn judged_document(document_id: String) -> RelevantItem {
    RelevantItem {
        document_id: Some(document_id),
        object_id: None,
        grade: 1,
    }
}
