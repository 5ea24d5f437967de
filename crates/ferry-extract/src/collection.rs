//! What a collection's definition takes from its extractor: the vector indexes its documents
//! carry and the fields the extractor adds to its output schema. Creating a collection and
//! re-extracting one into a new version (a `re_extract` migration) both derive them here.

use ferry_wire::bucket::{BucketSchemaField, BucketSchemaFieldType};
use ferry_wire::collection::{
    CollectionVectorIndex, VectorDistance, VectorIndexKind, VectorIndexStorage,
};
use serde_json::{Map, Value};

use crate::{Extractor, Metric};

/// The vector indexes of a collection using `extractor` with `resolved` parameters.
pub fn vector_indexes(
    extractor: &dyn Extractor,
    resolved: &Map<String, Value>,
) -> Vec<CollectionVectorIndex> {
    extractor
        .vector_outputs(resolved)
        .into_iter()
        .map(|o| CollectionVectorIndex {
            feature_uri: extractor.feature_uri(&o.name),
            kind: VectorIndexKind::Single,
            index: VectorIndexStorage {
                name: extractor.storage_name(&o.name),
                dimensions: o.dimension as i64,
                distance: match o.metric {
                    Metric::Cosine => VectorDistance::Cosine,
                    Metric::Dot => VectorDistance::Dot,
                    Metric::Euclidean => VectorDistance::Euclidean,
                },
                inference_name: Some(extractor.id()),
            },
            name: o.name,
        })
        .collect()
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
