//! One batch: a copy of objects or documents, or an extraction, written with its done mark
//! in one transaction.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use ferry_pipeline::{
    checkpoint, next_items, Breakpoint, FaultPoint, Item, Source, STATISTICS_EVERY_BATCHES,
};
use ferry_store::{
    BatchDone, BatchKind, DocumentRecord, MigrationBatch, MigrationKey, NamespaceKey, SourceKind,
};
use ferry_wire::migration::{MigrationType, ResourceType};

use super::run::{not_set_up, Run};
use super::Engine;
use crate::error::MigrateError;
use crate::ids::{Enrichment, IdMap};
use crate::reextract::extract_rebuilt;

impl Engine {
    /// What every batch of the run needs, resolved once: the id map, the target bucket of
    /// each source bucket, and each rebuilt collection's extractor.
    pub(super) async fn batch_context(&self, run: &Run) -> Result<BatchContext, MigrateError> {
        let target = self.target(run).await?;
        let map = Arc::new(self.id_map(run).await?);
        let root_buckets = run
            .migrated(ResourceType::Bucket, &map)
            .map(|(source, target)| (source.to_owned(), target.to_owned()))
            .collect();
        // Each rebuilt collection's extractor, resolved once for all its batches.
        let extractions = crate::reextract::rebuilt_extractors(
            &self.store,
            &self.registry,
            target.key,
            &map,
            &run.rebuilds,
        )
        .await?;
        Ok(BatchContext {
            key: run.key().clone(),
            source: run.source.key,
            target: target.key,
            map,
            root_buckets,
            extractions,
            enrichment: Enrichment::of(&run.config),
            refresh_changed: run.config.migration_type == MigrationType::Extend,
        })
    }

    /// One batch: checks the injected faults (tests), then copies or extracts it. Its rows
    /// and its done mark commit in one transaction.
    pub(super) async fn copy_batch(
        &self,
        batch: &MigrationBatch,
        cx: &BatchContext,
    ) -> Result<(), MigrateError> {
        let n = self.batches_started.fetch_add(1, Ordering::SeqCst) + 1;
        match self.config.fault {
            Some(FaultPoint::FailBatch(f)) if f == n => {
                return Err(MigrateError::InjectedFault(n));
            }
            Some(FaultPoint::SlowBatches(ms)) => {
                tokio::time::sleep(Duration::from_millis(ms)).await
            }
            _ => {}
        }
        let b = &batch.batch;
        let after = b.after.as_ref().map(|(t, id)| (*t, id.as_str()));
        let last = (b.last.0, b.last.1.as_str());
        let target_resource = cx
            .map
            .resource(&b.resource_id)
            .ok_or_else(|| not_set_up(&b.resource_id))?
            .to_owned();
        let done = BatchDone {
            migration: &cx.key,
            batch_no: batch.batch_no,
            owner: &self.worker_id,
            items_written: b.item_count,
            items_failed: 0,
        };
        checkpoint(
            self.config.fault,
            &self.config.breakpoints,
            Breakpoint::BeforeCommit(n),
        )
        .await;
        match b.kind {
            BatchKind::Extract => {
                self.extract_batch(batch, cx, &target_resource, done)
                    .await?;
            }
            BatchKind::Objects => {
                let mut objects = self
                    .store
                    .objects_between(cx.source, &b.resource_id, after, last)
                    .await?;
                for o in &mut objects {
                    o.object_id = cx.map.item(&o.object_id);
                    o.bucket_id = target_resource.clone();
                }
                self.store
                    .copy_objects_batch(
                        cx.target,
                        &target_resource,
                        &objects,
                        cx.refresh_changed,
                        &done,
                    )
                    .await?;
            }
            BatchKind::Documents => {
                // Rows that carry taxonomy results (ids to remap) or cluster assignments to drop
                // are rewritten here; every other row is copied by the database as it is.
                let mut rewrite_when = vec![r#"%"_taxonomy_%"#];
                if !cx.enrichment.keep_clusters {
                    rewrite_when.push(r#"%"cluster_id"%"#);
                }
                self.store
                    .copy_documents_range(
                        (cx.source, &b.resource_id),
                        (cx.target, &target_resource),
                        (after, last),
                        &cx.map.items,
                        &cx.root_buckets,
                        &rewrite_when,
                        |d| cx.transform_document(d, &target_resource),
                        cx.refresh_changed,
                        &done,
                    )
                    .await?;
            }
        }
        checkpoint(
            self.config.fault,
            &self.config.breakpoints,
            Breakpoint::AfterCommit(n),
        )
        .await;
        Ok(())
    }

    /// Runs the target collection's extractor over one batch of its inputs (source objects
    /// renamed as the target names them, or target documents of an upstream collection) and
    /// writes the documents, replacing what the same items made before, with the done mark.
    pub(super) async fn extract_batch(
        &self,
        batch: &MigrationBatch,
        cx: &BatchContext,
        target_collection: &str,
        done: BatchDone<'_>,
    ) -> Result<(), MigrateError> {
        let b = &batch.batch;
        let input = b
            .input_id
            .as_deref()
            .ok_or_else(|| MigrateError::Corrupt("an extraction batch without an input".into()))?;
        let after = b.after.as_ref().map(|(t, id)| (*t, id.as_str()));
        let in_range = |i: &Item| (i.created_at(), i.id()) <= (b.last.0, b.last.1.as_str());
        let bucket = cx.root_buckets.iter().find(|(source, _)| source == input);
        let (items, kind) = match bucket {
            Some((source_bucket, target_bucket)) => {
                let source = Source::Bucket(source_bucket.clone());
                let mut items =
                    next_items(&self.store, cx.source, &source, after, b.item_count).await?;
                items.retain(in_range);
                for item in &mut items {
                    if let Item::Object { bucket_id, object } = item {
                        object.object_id = cx.map.item(&object.object_id);
                        bucket_id.clone_from(target_bucket);
                    }
                }
                (items, SourceKind::Object)
            }
            None => {
                let source = Source::Collection(input.to_owned());
                let mut items =
                    next_items(&self.store, cx.target, &source, after, b.item_count).await?;
                items.retain(in_range);
                (items, SourceKind::Document)
            }
        };
        let (docs, failed) = extract_rebuilt(
            &cx.extractions,
            &self.blobs,
            target_collection,
            &items,
            "a re_extract batch",
        )
        .await?;
        let sources: Vec<String> = items.iter().map(|i| i.id().to_owned()).collect();
        let failed = failed as i64;
        // As for a trigger: without fresh statistics PostgreSQL answers each batch's "delete
        // what these items made" with a scan of the growing collection.
        let written = self.extractions.fetch_add(1, Ordering::Relaxed);
        if written % STATISTICS_EVERY_BATCHES == 1 {
            if let Err(e) = self.store.refresh_document_statistics().await {
                tracing::warn!(error = %e, "refreshing document statistics failed");
            }
        }
        self.store
            .write_extracted_batch(
                cx.target,
                target_collection,
                kind,
                &sources,
                &docs,
                &BatchDone {
                    items_written: items.len() as i64 - failed,
                    items_failed: failed,
                    ..done
                },
            )
            .await?;
        Ok(())
    }
}

/// What every batch of one migration needs.
pub(super) struct BatchContext {
    /// The migration whose batches these are.
    pub key: MigrationKey,
    source: NamespaceKey,
    target: NamespaceKey,
    map: Arc<IdMap>,
    /// Source → target bucket ids, for documents' `root_bucket_id`.
    root_buckets: Vec<(String, String)>,
    /// re_extract: each rebuilt target collection's configuration and extractor.
    extractions: crate::reextract::Extractions,
    enrichment: Enrichment,
    /// extend: items the target holds in an older version are overwritten.
    refresh_changed: bool,
}

impl BatchContext {
    /// A source document as the target holds it (see [`IdMap::target_document`]).
    fn transform_document(&self, d: DocumentRecord, collection_id: &str) -> DocumentRecord {
        self.map.target_document(d, collection_id, self.enrichment)
    }
}
