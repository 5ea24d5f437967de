//! What a collection reads: the objects of its buckets, or the documents of its upstream
//! collections, streamed in creation order from a resumable cursor.

use ferry_extract::ExtractorInput;
use ferry_store::blobs::BlobStore;
use ferry_store::{DocumentRecord, Lineage, NamespaceKey, ObjectRecord, SourceKind, Store};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::config::lookup;
use crate::worker::PipelineError;

/// One upstream source of a collection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    Bucket(String),
    Collection(String),
}

impl Source {
    /// The sources a collection's stored `source` names, in order.
    pub fn list(source: &Value) -> Result<Vec<Source>, PipelineError> {
        let ids = |key: &str| -> Vec<String> {
            source
                .get(key)
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(Value::as_str)
                        .map(str::to_owned)
                        .collect()
                })
                .unwrap_or_default()
        };
        match source.get("type").and_then(Value::as_str) {
            Some("bucket") => Ok(ids("bucket_ids").into_iter().map(Source::Bucket).collect()),
            Some("collection") => {
                let mut all = ids("collection_ids");
                if let Some(one) = source.get("collection_id").and_then(Value::as_str) {
                    all.insert(0, one.to_owned());
                }
                Ok(all.into_iter().map(Source::Collection).collect())
            }
            other => Err(PipelineError::Config(format!(
                "unknown source type {other:?}"
            ))),
        }
    }

    pub fn kind(&self) -> SourceKind {
        match self {
            Source::Bucket(_) => SourceKind::Object,
            Source::Collection(_) => SourceKind::Document,
        }
    }
}

/// Where processing stands: the source index and the last item done in it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cursor {
    pub source: usize,
    pub created_at: Option<i64>,
    pub id: Option<String>,
}

/// An item read from a source.
pub enum Item {
    Object {
        bucket_id: String,
        object: ObjectRecord,
    },
    Document(DocumentRecord),
}

impl Item {
    pub fn id(&self) -> &str {
        match self {
            Item::Object { object, .. } => &object.object_id,
            Item::Document(d) => &d.document_id,
        }
    }

    pub fn created_at(&self) -> i64 {
        match self {
            Item::Object { object, .. } => object.created_at,
            Item::Document(d) => d.created_at,
        }
    }

    pub fn fields(&self) -> &Map<String, Value> {
        match self {
            Item::Object { object, .. } => &object.fields,
            Item::Document(d) => &d.fields,
        }
    }

    /// The lineage documents made from this item carry.
    pub fn lineage(&self) -> Lineage {
        match self {
            Item::Object { bucket_id, object } => Lineage {
                source_object_id: Some(object.object_id.clone()),
                root_object_id: Some(object.object_id.clone()),
                source_document_id: None,
                root_bucket_id: Some(bucket_id.clone()),
            },
            Item::Document(d) => Lineage {
                source_object_id: d.lineage.source_object_id.clone(),
                root_object_id: d
                    .lineage
                    .root_object_id
                    .clone()
                    .or_else(|| d.lineage.source_object_id.clone()),
                source_document_id: Some(d.document_id.clone()),
                root_bucket_id: d.lineage.root_bucket_id.clone(),
            },
        }
    }

    /// The extractor input found at `path`: a blob of the object (text, or bytes from the
    /// blob store) or a field holding text.
    pub async fn input(
        &self,
        path: &str,
        wants_image: bool,
        blobs: &BlobStore,
    ) -> Result<ExtractorInput, String> {
        if let Item::Object { object, .. } = self {
            let blob = object
                .blobs
                .as_array()
                .and_then(|all| all.iter().find(|b| b["property"] == path));
            if let Some(blob) = blob {
                if !wants_image {
                    if let Some(text) = blob["properties"]["text"].as_str() {
                        return Ok(ExtractorInput::Text(text.to_owned()));
                    }
                }
                let hash = blob["details"]["hash"]
                    .as_str()
                    .ok_or_else(|| format!("blob '{path}' has no content hash"))?;
                let bytes = blobs
                    .get(hash)
                    .await
                    .map_err(|e| format!("blob '{path}': {e}"))?;
                return Ok(if wants_image {
                    ExtractorInput::Image(bytes.to_vec())
                } else {
                    ExtractorInput::Text(
                        String::from_utf8(bytes.to_vec())
                            .map_err(|_| format!("blob '{path}' is not UTF-8 text"))?,
                    )
                });
            }
        }
        match lookup(self.fields(), path) {
            Some(Value::String(text)) if !wants_image => Ok(ExtractorInput::Text(text.clone())),
            Some(Value::Null) | None => Err(format!("the source has no '{path}'")),
            Some(_) => Err(format!(
                "'{path}' is not {}",
                if wants_image { "an image blob" } else { "text" }
            )),
        }
    }
}

/// Reads the next `limit` items of `source` after the cursor position.
pub async fn next_items(
    store: &Store,
    ns: NamespaceKey,
    source: &Source,
    after: Option<(i64, &str)>,
    limit: i64,
) -> Result<Vec<Item>, PipelineError> {
    Ok(match source {
        Source::Bucket(bucket_id) => store
            .objects_after(ns, bucket_id, after, limit)
            .await?
            .into_iter()
            .map(|object| Item::Object {
                bucket_id: bucket_id.clone(),
                object,
            })
            .collect(),
        Source::Collection(collection_id) => store
            .documents_after(ns, collection_id, after, limit)
            .await?
            .into_iter()
            .map(Item::Document)
            .collect(),
    })
}
