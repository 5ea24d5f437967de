//! How a collection keeps the search graphs of its dense vector indexes: the spec's
//! `VectorIndex.datatype` and `on_disk`, chosen per collection through two extractor
//! parameters of the same names that every extractor accepts. The vectors themselves are
//! always stored in full (float32) with the documents; these choose only how the graph that
//! proposes search candidates holds them.

use ferry_wire::collection::VectorDataType;
use serde_json::{json, Map, Value};

use crate::params::{boolean, one_of, ParamError};

/// The parameter names, as the spec names the `VectorIndex` fields.
pub const PARAMETERS: [&str; 2] = ["datatype", "on_disk"];

const DATATYPES: &[&str] = &["float32", "uint8"];

/// The storage choices of a collection's dense indexes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct VectorStorage {
    pub datatype: VectorDataType,
    pub on_disk: bool,
}

impl VectorStorage {
    /// The JSON-schema properties of the two parameters.
    pub fn schema_properties() -> Map<String, Value> {
        let properties = json!({
            "datatype": {"type": "string", "enum": DATATYPES, "default": "float32",
                "description": "How the search graph of each dense vector index holds vectors: \
                    float32, or uint8 (quantized, about a quarter of the memory). Results are \
                    ranked against the stored float32 vectors either way."},
            "on_disk": {"type": "boolean", "default": false,
                "description": "Search the graph from its saved file, mapped into memory, \
                    instead of holding it in the process: memory the operating system can \
                    reclaim, at the cost of reads when it is not cached. Changes are merged \
                    into the file in the background."}
        });
        properties.as_object().cloned().unwrap_or_default()
    }

    /// Reads both parameters from `params`, collecting what is wrong in `errors`.
    fn check(params: &Map<String, Value>, errors: &mut Vec<ParamError>) -> Self {
        let datatype = match one_of(params, "datatype", DATATYPES, "float32", errors).as_str() {
            "uint8" => VectorDataType::Uint8,
            _ => VectorDataType::Float32,
        };
        let on_disk = boolean(params, "on_disk", errors);
        VectorStorage { datatype, on_disk }
    }

    /// The choices recorded in resolved parameters; defaults where absent (collections
    /// created before the parameters existed).
    pub fn of(resolved: &Map<String, Value>) -> Self {
        let mut ignored = Vec::new();
        VectorStorage::check(resolved, &mut ignored)
    }

    /// Records these choices in resolved parameters.
    pub fn resolve_into(self, resolved: &mut Map<String, Value>) {
        let datatype = match self.datatype {
            VectorDataType::Float32 => "float32",
            VectorDataType::Uint8 => "uint8",
        };
        resolved.insert("datatype".into(), Value::from(datatype));
        resolved.insert("on_disk".into(), Value::Bool(self.on_disk));
    }
}

/// An extractor's own parameter schema with the storage parameters added.
pub(crate) fn with_schema(mut own: Value) -> Value {
    if let Some(properties) = own.get_mut("properties").and_then(Value::as_object_mut) {
        properties.extend(VectorStorage::schema_properties());
    }
    own
}

/// Resolves `params`: the storage parameters here, the rest by `resolve_own`; every
/// problem of both is reported.
pub(crate) fn resolve(
    params: &Map<String, Value>,
    resolve_own: impl FnOnce(&Map<String, Value>) -> Result<Map<String, Value>, Vec<ParamError>>,
) -> Result<Map<String, Value>, Vec<ParamError>> {
    let mut errors = Vec::new();
    let storage = VectorStorage::check(params, &mut errors);
    let own: Map<String, Value> = params
        .iter()
        .filter(|(key, _)| !PARAMETERS.contains(&key.as_str()))
        .map(|(key, value)| (key.clone(), value.clone()))
        .collect();
    match resolve_own(&own) {
        Ok(mut resolved) if errors.is_empty() => {
            storage.resolve_into(&mut resolved);
            Ok(resolved)
        }
        Ok(_) => Err(errors),
        Err(own_errors) => {
            errors.extend(own_errors);
            Err(errors)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(value: Value) -> Map<String, Value> {
        value.as_object().cloned().unwrap()
    }

    fn resolve_nothing(own: &Map<String, Value>) -> Result<Map<String, Value>, Vec<ParamError>> {
        match own.keys().next() {
            Some(key) => Err(vec![ParamError::new(key, "extra_forbidden", "no")]),
            None => Ok(Map::new()),
        }
    }

    #[test]
    fn defaults_are_float32_in_memory() {
        let resolved = resolve(&Map::new(), resolve_nothing).unwrap();
        assert_eq!(
            resolved,
            params(json!({"datatype": "float32", "on_disk": false}))
        );
        assert_eq!(VectorStorage::of(&resolved), VectorStorage::default());
    }

    #[test]
    fn choices_are_kept_and_read_back() {
        let resolved = resolve(
            &params(json!({"datatype": "uint8", "on_disk": true})),
            resolve_nothing,
        )
        .unwrap();
        let storage = VectorStorage::of(&resolved);
        assert_eq!(storage.datatype, VectorDataType::Uint8);
        assert!(storage.on_disk);
    }

    #[test]
    fn bad_values_and_the_extractors_own_errors_are_all_reported() {
        let errors = resolve(
            &params(json!({"datatype": "float16", "on_disk": "yes", "other": 1})),
            resolve_nothing,
        )
        .unwrap_err();
        let fields: Vec<&str> = errors.iter().map(|e| e.loc[0].as_str()).collect();
        assert_eq!(fields, ["datatype", "on_disk", "other"]);
        assert_eq!(errors[0].kind, "enum");
        assert_eq!(errors[1].kind, "bool_type");
    }
}
