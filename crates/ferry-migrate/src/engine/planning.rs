//! Stage 2, `batch_creation`: keyset batches over the selected items (keys only), and the
//! later waves of a multi-tier re_extract.

use std::collections::HashSet;

use ferry_store::{BatchKind, NamespaceKey, NewBatch};
use ferry_wire::migration::{MigrationStage, ResourceType};

use super::progress::StageCounts;
use super::run::{not_set_up, Run};
use super::Engine;
use crate::error::MigrateError;

impl Engine {
    /// Stage 2: keyset batches over the selected buckets' objects and collections'
    /// documents, within `date_range`.
    pub(super) async fn batch_creation(&self, run: &mut Run) -> Result<(), MigrateError> {
        self.record_watermarks(run).await?;
        let batches = self.plan_batches(run).await?;
        self.store
            .replace_migration_batches(run.key(), &batches)
            .await?;
        let items: i64 = batches.iter().map(|b| b.item_count).sum();
        let stage = &mut run.progress.stages[MigrationStage::BatchProcessing.index()];
        stage.items_total = items as u64;
        let n = batches.len() as u64;
        self.finish_stage(run, MigrationStage::BatchCreation, StageCounts::all(n))
            .await
    }

    /// Records where each selected bucket's and collection's change feed stands, before any
    /// key is read: every change up to there is in the batches planned next, so a cutover
    /// catches up from there (see `crate::cutover`). A resumed run keeps the first reading.
    async fn record_watermarks(&self, run: &Run) -> Result<(), MigrateError> {
        let mut feeds = Vec::new();
        for node in &run.graph.nodes {
            let (ns, id) = (run.source.key, node.resource_id.as_str());
            let seq = match node.resource_type {
                ResourceType::Bucket => self.store.bucket_change_seq(ns, id).await?,
                ResourceType::Collection => self.store.collection_change_seq(ns, id).await?,
                _ => continue,
            };
            if let Some(seq) = seq {
                feeds.push((node.resource_id.clone(), seq));
            }
        }
        Ok(self
            .store
            .record_migration_watermarks(run.key(), &feeds)
            .await?)
    }

    /// The batches the selection makes (keys only are read), in order: copies of the
    /// selected buckets' objects and collections' documents, and for a rebuilt collection
    /// that reads buckets, extraction batches over the source objects. A rebuilt collection
    /// that reads collections is planned later, once they are written ([`Self::plan_wave`]).
    pub(super) async fn plan_batches(&self, run: &Run) -> Result<Vec<NewBatch>, MigrateError> {
        let (after, before) = run.config.filters_or_default().date_bounds();
        let window = (
            after.map_or(i64::MIN, |t| t.timestamp_micros()),
            before.map_or(i64::MAX, |t| t.timestamp_micros()),
        );
        let mut batches: Vec<NewBatch> = Vec::new();
        for node in &run.graph.nodes {
            let id = &node.resource_id;
            match node.resource_type {
                ResourceType::Bucket => {
                    let read = Reading::Objects(run.source.key, id);
                    batches.extend(
                        self.ranges(run, read, window, BatchKind::Objects, id, None)
                            .await?,
                    );
                }
                ResourceType::Collection if run.rebuild(id).is_some() => {
                    let c = self.store.get_collection(run.source.key, id).await?;
                    if c.fields.source["type"] != "bucket" {
                        continue;
                    }
                    for bucket in crate::graph::source_ids(&c.fields.source) {
                        let read = Reading::Objects(run.source.key, &bucket);
                        let planned = self
                            .ranges(run, read, window, BatchKind::Extract, id, Some(&bucket))
                            .await?;
                        batches.extend(planned);
                    }
                }
                ResourceType::Collection => {
                    let read = Reading::Documents(run.source.key, id);
                    batches.extend(
                        self.ranges(run, read, window, BatchKind::Documents, id, None)
                            .await?,
                    );
                }
                _ => {}
            }
        }
        Ok(batches)
    }

    /// Keyset batches of `batch_size` over what `read` names, within `window`.
    async fn ranges(
        &self,
        run: &Run,
        read: Reading<'_>,
        window: (i64, i64),
        kind: BatchKind,
        resource_id: &str,
        input_id: Option<&str>,
    ) -> Result<Vec<NewBatch>, MigrateError> {
        let batch_size = run.config.batch_options_or_default().batch_size.max(1);
        let mut batches = Vec::new();
        let mut cursor: Option<(i64, String)> = None;
        loop {
            let after = cursor.as_ref().map(|(t, id)| (*t, id.as_str()));
            let keys = match read {
                Reading::Objects(ns, bucket) => {
                    self.store
                        .object_keys_after(ns, bucket, after, window, batch_size)
                        .await?
                }
                Reading::Documents(ns, collection) => {
                    self.store
                        .document_keys_after(ns, collection, after, window, batch_size)
                        .await?
                }
            };
            let Some(last) = keys.last().cloned() else {
                break;
            };
            batches.push(NewBatch {
                kind,
                resource_id: resource_id.to_owned(),
                after: cursor.clone(),
                last: last.clone(),
                item_count: keys.len() as i64,
                input_id: input_id.map(str::to_owned),
            });
            if (keys.len() as i64) < batch_size {
                break;
            }
            cursor = Some(last);
        }
        Ok(batches)
    }

    /// Plans the extraction batches of rebuilt collections whose upstream collections are now
    /// completely written in the target (one wave of a multi-tier rebuild). `planned` holds
    /// the rebuilt collections already planned. Returns whether batches were added.
    pub(super) async fn plan_wave(
        &self,
        run: &Run,
        planned: &mut HashSet<String>,
    ) -> Result<bool, MigrateError> {
        let summary = self.batch_summaries(run).await?;
        let map = self.id_map(run).await?;
        let target = self.target(run).await?;
        // Planned in this call, so not written yet.
        let mut fresh: Vec<String> = Vec::new();
        let mut added = false;
        for (id, _) in &run.rebuilds {
            if planned.contains(id) {
                continue;
            }
            let c = self.store.get_collection(run.source.key, id).await?;
            if summary.contains_key(id) || c.fields.source["type"] == "bucket" {
                planned.insert(id.clone());
                continue;
            }
            let upstream = crate::graph::source_ids(&c.fields.source);
            let ready = upstream.iter().all(|u| {
                let written = summary.get(u).is_none_or(|s| s.batches == s.batches_done);
                let settled = run.rebuild(u).is_none() || planned.contains(u);
                written && settled && !fresh.contains(u)
            });
            if !ready {
                continue;
            }
            let mut batches = Vec::new();
            for u in &upstream {
                let input = map.resource(u).ok_or_else(|| not_set_up(u))?;
                let read = Reading::Documents(target.key, input);
                let window = (i64::MIN, i64::MAX);
                batches.extend(
                    self.ranges(run, read, window, BatchKind::Extract, id, Some(input))
                        .await?,
                );
            }
            if !batches.is_empty() {
                self.store
                    .append_migration_batches(run.key(), id, &batches)
                    .await?;
                added = true;
                fresh.push(id.clone());
            }
            planned.insert(id.clone());
        }
        Ok(added)
    }
}

/// How to read the keys of a batch plan: a bucket's objects or a collection's documents.
#[derive(Clone, Copy)]
enum Reading<'a> {
    Objects(NamespaceKey, &'a str),
    Documents(NamespaceKey, &'a str),
}
