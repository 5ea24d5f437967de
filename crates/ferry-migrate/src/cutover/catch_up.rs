//! Catching a migration's target up with its source: the objects and documents the source
//! wrote or deleted after the migration read it, read from the source's change feeds
//! (`ferry_store::changes`) past the migration's watermarks and applied to the target as the
//! migration would have: ids renamed as it named them, documents copied with their lineage
//! remapped, and rebuilt collections re-extracted from the changed objects with the new
//! extractor. Each source feed's watermark advances once its changes are applied, so a pass
//! repeated after a failure starts where the last one stopped, and replaying a page is
//! harmless (both writes replace by id). A tombstone whose item exists again in the source
//! (deleted and rewritten, as a trigger rewrites its documents) is no deletion: the item's
//! write follows in the same range.

use std::collections::{HashMap, HashSet};

use ferry_pipeline::Item;
use ferry_store::blobs::BlobStore;
use ferry_store::freeze::FrozenFeeds;
use ferry_store::{
    DocumentRecord, Documents, Feed, FeedPage, MigrationRecord, Namespace, NewDocument, Objects,
    SourceKind, Store,
};
use ferry_wire::cutover::CatchUpReport;
use ferry_wire::migration::{DependencyGraph, MigrationType, ResourceType};

use crate::error::MigrateError;
use crate::ids::{Enrichment, IdMap};
use crate::reextract::{extract_rebuilt, Extractions};

/// Changes read and applied at a time.
const PAGE: i64 = 256;

/// Everything a catch-up of one migration needs, resolved once.
pub struct CatchUp {
    store: Store,
    blobs: BlobStore,
    migration: MigrationRecord,
    graph: DependencyGraph,
    source: Namespace,
    target: Namespace,
    map: IdMap,
    enrichment: Enrichment,
    /// The migration's `date_range` (creation times, microseconds): items outside it were
    /// not migrated, and their changes are not either.
    window: (i64, i64),
    /// Source ids of the rebuilt collections.
    rebuilt: HashSet<String>,
    /// Each rebuilt collection's extractor, by target collection id.
    extractions: Extractions,
    /// Source bucket or collection id → the rebuilt source collections reading it.
    readers: HashMap<String, Vec<String>>,
}

impl CatchUp {
    /// Resolves the migration's map, rebuilds and extractors.
    pub async fn load(
        store: &Store,
        blobs: &BlobStore,
        registry: &ferry_extract::Registry,
        migration: MigrationRecord,
        source: Namespace,
        target: Namespace,
    ) -> Result<CatchUp, MigrateError> {
        let (config, graph) = crate::plan::stored_plan(&migration)?;
        let map = IdMap::load(store, &migration).await?;
        let rebuilds = if config.migration_type == MigrationType::ReExtract {
            let mut errors = Vec::new();
            let extractors = crate::reextract::resolve_extractors(registry, &config, &mut errors);
            if let Some(e) = errors.first() {
                return Err(MigrateError::Unrunnable(e.message.clone()));
            }
            crate::reextract::rebuilds(store, source.key, &graph, &extractors).await?
        } else {
            Vec::new()
        };
        let extractions =
            crate::reextract::rebuilt_extractors(store, registry, target.key, &map, &rebuilds)
                .await?;
        let mut readers: HashMap<String, Vec<String>> = HashMap::new();
        for (id, _) in &rebuilds {
            let c = store.get_collection(source.key, id).await?;
            for input in crate::graph::source_ids(&c.fields.source) {
                readers.entry(input).or_default().push(id.clone());
            }
        }
        let (after, before) = config.filters_or_default().date_bounds();
        Ok(CatchUp {
            store: store.clone(),
            blobs: blobs.clone(),
            enrichment: Enrichment::of(&config),
            window: (
                after.map_or(i64::MIN, |t| t.timestamp_micros()),
                before.map_or(i64::MAX, |t| t.timestamp_micros()),
            ),
            migration,
            graph,
            source,
            target,
            map,
            rebuilt: rebuilds.into_iter().map(|(id, _)| id).collect(),
            extractions,
            readers,
        })
    }

    /// One pass over every migrated bucket and collection: the changes since its watermark,
    /// through `through` (the frozen feeds) or, without a freeze, through what the feed
    /// holds now. Adds what it applied to `report`.
    pub async fn pass(
        &self,
        through: Option<&FrozenFeeds>,
        report: &mut CatchUpReport,
    ) -> Result<(), MigrateError> {
        let key = &self.migration.key;
        let marks = self.store.migration_watermarks(key).await?;
        report.passes += 1;
        for id in &self.graph.execution_order {
            let Some(node) = self.graph.nodes.iter().find(|n| &n.resource_id == id) else {
                continue;
            };
            let is_bucket = match node.resource_type {
                ResourceType::Bucket => true,
                // A rebuilt collection follows its inputs' changes, not its own source's.
                ResourceType::Collection if !self.rebuilt.contains(id) => false,
                _ => continue,
            };
            let from = *marks.get(id).ok_or_else(|| {
                MigrateError::Unrunnable(format!("{id} has no watermark: it was not migrated"))
            })?;
            let frozen = through.and_then(|f| {
                if is_bucket {
                    f.buckets.get(id)
                } else {
                    f.collections.get(id)
                }
            });
            let now = match frozen {
                Some(seq) => Some(*seq),
                None if is_bucket => self.store.bucket_change_seq(self.source.key, id).await?,
                None => {
                    self.store
                        .collection_change_seq(self.source.key, id)
                        .await?
                }
            };
            // A resource deleted from the source since has nothing left to bring.
            let Some(to) = now else { continue };
            if to <= from {
                continue;
            }
            if is_bucket {
                self.bucket_changes(id, (from, to), report).await?;
            } else {
                self.collection_changes(id, (from, to), report).await?;
            }
            self.store.advance_migration_watermark(key, id, to).await?;
        }
        Ok(())
    }

    fn in_window(&self, created_at: i64) -> bool {
        // As the batch planner reads `date_range` (`created_within`).
        created_at >= self.window.0 && created_at < self.window.1
    }

    fn target_of(&self, source_id: &str) -> Result<&str, MigrateError> {
        self.map
            .resource(source_id)
            .ok_or_else(|| MigrateError::Unrunnable(format!("{source_id} was not migrated")))
    }

    /// The target's ids of the source rows under `parent` whose tombstones are `ids` and
    /// that are still absent (a row written again after its deletion is not deleted).
    async fn deleted_in_target<F: Feed>(
        &self,
        parent: &str,
        ids: Vec<String>,
    ) -> Result<Vec<String>, MigrateError> {
        let ids = self
            .store
            .absent_ids::<F>(self.source.key, parent, ids)
            .await?;
        Ok(ids.iter().map(|id| self.map.item(id)).collect())
    }

    async fn bucket_changes(
        &self,
        bucket: &str,
        range: (i64, i64),
        report: &mut CatchUpReport,
    ) -> Result<(), MigrateError> {
        let target_bucket = self.target_of(bucket)?.to_owned();
        let mut pages = self
            .store
            .feed_pages::<Objects>(self.source.key, bucket, range, PAGE);
        while let Some(page) = pages.next().await? {
            match page {
                FeedPage::Deleted(ids) => {
                    let ids = self.deleted_in_target::<Objects>(bucket, ids).await?;
                    let deleted = self
                        .store
                        .apply_object_changes(self.target.key, &target_bucket, &[], &ids)
                        .await?;
                    report.objects_deleted += deleted as u64;
                    self.reextract(bucket, Vec::new(), ids, report).await?;
                }
                FeedPage::Written(mut objects) => {
                    objects.retain(|o| self.in_window(o.created_at));
                    for o in &mut objects {
                        o.object_id = self.map.item(&o.object_id);
                        o.bucket_id.clone_from(&target_bucket);
                    }
                    self.store
                        .apply_object_changes(self.target.key, &target_bucket, &objects, &[])
                        .await?;
                    report.objects_written += objects.len() as u64;
                    let items = objects
                        .into_iter()
                        .map(|object| Item::Object {
                            bucket_id: target_bucket.clone(),
                            object,
                        })
                        .collect();
                    self.reextract(bucket, items, Vec::new(), report).await?;
                }
            }
        }
        Ok(())
    }

    async fn collection_changes(
        &self,
        collection: &str,
        range: (i64, i64),
        report: &mut CatchUpReport,
    ) -> Result<(), MigrateError> {
        let target_collection = self.target_of(collection)?.to_owned();
        let mut pages = self
            .store
            .change_pages(self.source.key, collection, range, PAGE);
        while let Some(page) = pages.next().await? {
            match page {
                FeedPage::Deleted(ids) => {
                    let ids = self.deleted_in_target::<Documents>(collection, ids).await?;
                    let deleted = self
                        .store
                        .apply_document_changes(self.target.key, &target_collection, &[], &ids)
                        .await?;
                    report.documents_deleted += deleted as u64;
                    self.reextract(collection, Vec::new(), ids, report).await?;
                }
                FeedPage::Written(docs) => {
                    let docs: Vec<DocumentRecord> = docs
                        .into_iter()
                        .filter(|d| self.in_window(d.created_at))
                        .map(|d| {
                            self.map
                                .target_document(d, &target_collection, self.enrichment)
                        })
                        .collect();
                    let new: Vec<NewDocument> = docs.iter().map(new_document).collect();
                    self.store
                        .apply_document_changes(self.target.key, &target_collection, &new, &[])
                        .await?;
                    report.documents_written += new.len() as u64;
                    let items = docs.into_iter().map(Item::Document).collect();
                    self.reextract(collection, items, Vec::new(), report)
                        .await?;
                }
            }
        }
        Ok(())
    }

    /// Re-extracts, in every rebuilt collection reading source resource `input`, what a page
    /// of its changes touched: `written` items (as the target holds them) are extracted
    /// again, and the documents made from `deleted` ones (target ids) are removed.
    async fn reextract(
        &self,
        input: &str,
        written: Vec<Item>,
        deleted: Vec<String>,
        report: &mut CatchUpReport,
    ) -> Result<(), MigrateError> {
        let Some(readers) = self.readers.get(input) else {
            return Ok(());
        };
        for reader in readers {
            if self.readers.contains_key(reader) {
                // Its own readers would need the ids of the documents it replaces, which a
                // re-extraction does not report; refusing keeps the target exact.
                return Err(MigrateError::Unrunnable(format!(
                    "the source changed under collection {reader}, which is rebuilt from a \
                     rebuilt collection; catching up a multi-tier re-extraction is not \
                     supported: run a new re_extract migration instead"
                )));
            }
            let target_collection = self.target_of(reader)?;
            let (docs, _) = extract_rebuilt(
                &self.extractions,
                &self.blobs,
                target_collection,
                &written,
                "a cutover's catch-up",
            )
            .await?;
            let sources: Vec<String> = written
                .iter()
                .map(|i| i.id().to_owned())
                .chain(deleted.iter().cloned())
                .collect();
            let replaced = self
                .store
                .replace_documents(
                    self.target.key,
                    target_collection,
                    self.input_kind(input),
                    &sources,
                    &docs,
                    None,
                )
                .await?;
            report.documents_written += docs.len() as u64;
            report.documents_deleted += replaced.saturating_sub(docs.len() as i64).max(0) as u64;
        }
        Ok(())
    }

    /// What the documents of a collection reading source resource `input` name as their
    /// source: objects for a bucket, documents for a collection.
    fn input_kind(&self, input: &str) -> SourceKind {
        let is_bucket = self
            .graph
            .nodes
            .iter()
            .any(|n| n.resource_id == input && n.resource_type == ResourceType::Bucket);
        if is_bucket {
            SourceKind::Object
        } else {
            SourceKind::Document
        }
    }
}

fn new_document(d: &DocumentRecord) -> NewDocument {
    NewDocument {
        document_id: d.document_id.clone(),
        lineage: d.lineage.clone(),
        chunk_index: d.chunk_index,
        fields: d.fields.clone(),
        vectors: d.vectors.clone(),
    }
}
