//! Matching results by lineage. A migration renames what it copies (`IdMap`) and a re_extract
//! rebuilds collections whose documents get new ids, derived from the objects (or upstream
//! documents) they were extracted from. So a source result and a target result are the same
//! item when they come from the same object and chunk in corresponding collections, or when
//! one is a copy of the other. Every key here names things as the target does.

use ferry_store::{DocumentLineage, DocumentRecord};

use crate::ids::IdMap;

/// What a result is, independent of which namespace holds it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ItemKey {
    /// A document extracted from an object: its collection, object and chunk.
    Chunk {
        collection: String,
        object: String,
        chunk: i64,
    },
    /// A document without object lineage (written directly): by its id.
    Document(String),
}

impl ItemKey {
    /// The object the item was extracted from.
    pub fn object(&self) -> Option<&str> {
        match self {
            ItemKey::Chunk { object, .. } => Some(object),
            ItemKey::Document(_) => None,
        }
    }
}

/// The parts of a document lineage matching reads.
pub struct Parts<'a> {
    pub collection_id: &'a str,
    pub document_id: &'a str,
    pub source_object_id: Option<&'a str>,
    pub chunk_index: i64,
}

impl<'a> From<&'a DocumentRecord> for Parts<'a> {
    fn from(d: &'a DocumentRecord) -> Self {
        Parts {
            collection_id: &d.collection_id,
            document_id: &d.document_id,
            source_object_id: d.lineage.source_object_id.as_deref(),
            chunk_index: d.chunk_index,
        }
    }
}

impl<'a> From<&'a DocumentLineage> for Parts<'a> {
    fn from(d: &'a DocumentLineage) -> Self {
        Parts {
            collection_id: &d.collection_id,
            document_id: &d.document_id,
            source_object_id: d.source_object_id.as_deref(),
            chunk_index: d.chunk_index,
        }
    }
}

/// The key of a source document, named as the target names it.
pub fn source_key<'a>(map: &IdMap, doc: impl Into<Parts<'a>>) -> ItemKey {
    let d = doc.into();
    match d.source_object_id {
        Some(object) => ItemKey::Chunk {
            collection: map
                .resource(d.collection_id)
                .unwrap_or(d.collection_id)
                .to_owned(),
            object: map.item(object),
            chunk: d.chunk_index,
        },
        None => ItemKey::Document(map.item(d.document_id)),
    }
}

/// The key of a target document.
pub fn target_key<'a>(doc: impl Into<Parts<'a>>) -> ItemKey {
    let d = doc.into();
    match d.source_object_id {
        Some(object) => ItemKey::Chunk {
            collection: d.collection_id.to_owned(),
            object: object.to_owned(),
            chunk: d.chunk_index,
        },
        None => ItemKey::Document(d.document_id.to_owned()),
    }
}

/// What a judgment names, as the target names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Judged {
    /// One item (a judged document).
    Item(ItemKey),
    /// Every item extracted from this object.
    Object(String),
}

/// One graded judgment of a query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Judgment {
    pub judged: Judged,
    pub grade: i64,
}

impl Judgment {
    pub fn matches(&self, key: &ItemKey) -> bool {
        match &self.judged {
            Judged::Item(item) => item == key,
            Judged::Object(object) => key.object() == Some(object.as_str()),
        }
    }
}

#[cfg(test)]
mod tests {
    use ferry_store::ItemIds;

    use super::*;

    fn map(tag: Option<&str>) -> IdMap {
        IdMap {
            migration_id: "mig_1".into(),
            items: ItemIds {
                tag: tag.map(str::to_owned),
            },
            resources: [("col_src".to_owned(), "col_dst".to_owned())]
                .into_iter()
                .collect(),
        }
    }

    fn lineage(collection: &str, id: &str, object: Option<&str>, chunk: i64) -> DocumentLineage {
        DocumentLineage {
            document_id: id.into(),
            collection_id: collection.into(),
            source_object_id: object.map(str::to_owned),
            chunk_index: chunk,
        }
    }

    #[test]
    fn a_rebuilt_document_matches_its_source_by_object_and_chunk() {
        let map = map(Some("ab"));
        let source = source_key(&map, &lineage("col_src", "doc_1", Some("obj_9"), 2));
        // A re_extract's document: a new id, the copied object, the same chunk.
        let rebuilt = target_key(&lineage("col_dst", "doc_zz", Some("obj_ab9"), 2));
        assert_eq!(source, rebuilt);
        let other_chunk = target_key(&lineage("col_dst", "doc_zy", Some("obj_ab9"), 1));
        assert_ne!(source, other_chunk);
        let other_collection = target_key(&lineage("col_x", "doc_zx", Some("obj_ab9"), 2));
        assert_ne!(source, other_collection);
    }

    #[test]
    fn documents_without_objects_match_their_copies() {
        let map = map(Some("ab"));
        let source = source_key(&map, &lineage("col_src", "doc_1", None, 0));
        assert_eq!(source, target_key(&lineage("col_dst", "doc_ab1", None, 0)));
        let kept = IdMap {
            items: ItemIds { tag: None },
            ..map
        };
        assert_eq!(
            source_key(&kept, &lineage("col_src", "doc_1", None, 0)),
            ItemKey::Document("doc_1".into())
        );
    }

    #[test]
    fn an_object_judgment_matches_every_chunk_of_the_object() {
        let judged = Judgment {
            judged: Judged::Object("obj_ab9".into()),
            grade: 2,
        };
        assert!(judged.matches(&target_key(&lineage("col_dst", "d1", Some("obj_ab9"), 0))));
        assert!(judged.matches(&target_key(&lineage("col_dst", "d2", Some("obj_ab9"), 3))));
        assert!(!judged.matches(&target_key(&lineage("col_dst", "d3", Some("obj_x"), 0))));
        assert!(!judged.matches(&ItemKey::Document("obj_ab9".into())));
    }
}
