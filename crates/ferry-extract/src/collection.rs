//! What a collection's definition takes from its extractor: the vector indexes its documents
//! carry and the fields the extractor adds to its output schema. Creating a collection and
//! re-extracting one into a new version (a `re_extract` migration) both derive them here.

use ferry_wire::bucket::{BucketSchemaField, BucketSchemaFieldType};
use ferry_wire::collection::{
    CollectionVectorIndex, VectorDistance, VectorIndexKind, VectorIndexStorage, VectorType,
};
use serde_json::{Map, Value};

use crate::{Extractor, Metric};

/// The vector indexes of a collection using `extractor` with `resolved` parameters: one
/// dense index per vector output, then the keyword index of a text extractor.
pub fn vector_indexes(
    extractor: &dyn Extractor,
    resolved: &Map<String, Value>,
) -> Vec<CollectionVectorIndex> {
    let storage = crate::vector_storage::VectorStorage::of(resolved);
    let dense = extractor
        .vector_outputs(resolved)
        .into_iter()
        .map(|o| CollectionVectorIndex {
            feature_uri: extractor.feature_uri(&o.name),
            kind: VectorIndexKind::Single,
            index: VectorIndexStorage {
                name: extractor.storage_name(&o.name),
                dimensions: Some(o.dimension as i64),
                vector_type: VectorType::Dense,
                distance: match o.metric {
                    Metric::Cosine => VectorDistance::Cosine,
                    Metric::Dot => VectorDistance::Dot,
                    Metric::Euclidean => VectorDistance::Euclidean,
                },
                inference_name: Some(extractor.id()),
                datatype: Some(storage.datatype),
                on_disk: Some(storage.on_disk),
            },
            name: o.name,
        });
    let keywords = extractor
        .keyword_output()
        .map(|output| CollectionVectorIndex {
            feature_uri: extractor.feature_uri(output),
            kind: VectorIndexKind::Single,
            index: VectorIndexStorage {
                name: extractor.storage_name(output),
                dimensions: None,
                vector_type: VectorType::Sparse,
                // BM25 scores are sums of term weights, compared as they are.
                distance: VectorDistance::Dot,
                inference_name: Some(crate::KEYWORD_SCORING.into()),
                datatype: None,
                on_disk: None,
            },
            name: output.to_owned(),
        });
    dense.chain(keywords).collect()
}

/// The output-schema fields `extractor` contributes: its own fields, and one float array per
/// vector index (named by storage name, so versions never share one).
pub fn output_schema_fields(
    extractor: &dyn Extractor,
    resolved: &Map<String, Value>,
) -> Result<Vec<(String, BucketSchemaField)>, serde_json::Error> {
    let mut fields = Vec::new();
    for (name, definition) in extractor.output_fields() {
        fields.push((name, serde_json::from_value(definition)?));
    }
    for output in extractor.vector_outputs(resolved) {
        let mut field = BucketSchemaField::of(BucketSchemaFieldType::Array);
        field.items = Some(Box::new(BucketSchemaField::of(
            BucketSchemaFieldType::Float,
        )));
        field.description = Some(format!(
            "{}-dimensional {} vector",
            output.dimension, output.name
        ));
        fields.push((extractor.storage_name(&output.name), field));
    }
    Ok(fields)
}
