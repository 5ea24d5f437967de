//! What a cluster reads, checked before it is stored or run: its k-means parameters, the
//! feature to cluster when none is named, and each input collection with the stored vector
//! names of the features.

use ferry_pipeline::PlanCollection;
use ferry_store::NamespaceKey;
use ferry_wire::cluster::KMeansParams;
use ferry_wire::collection::CollectionVectorIndex;
use ferry_wire::{FieldError, Validate};
use serde_json::{json, Map, Value};

use crate::error::{bad_request, body_loc, ApiError, ApiResult};
use crate::json::{from_json, to_json};
use crate::routes::collections::input_collection;
use crate::AppState;
use ferry_wire::ErrorCode;

/// `kmeans_parameters` with `algorithm_params` laid over it; a bad key or value is a 422
/// located at `loc`.
pub(super) fn kmeans_params(
    base: Option<&KMeansParams>,
    overrides: Option<&Map<String, Value>>,
    loc: &[&str],
) -> ApiResult<KMeansParams> {
    let mut merged = to_json(&base.cloned().unwrap_or_default())?;
    if let (Value::Object(m), Some(overrides)) = (&mut merged, overrides) {
        m.extend(overrides.clone());
    }
    let params: KMeansParams = serde_json::from_value(merged).map_err(|e| {
        ApiError::Validation(vec![FieldError {
            loc: body_loc(loc),
            msg: format!("Value error, {e}"),
            kind: "value_error",
        }])
    })?;
    let errors = params.validation_errors();
    if !errors.is_empty() {
        return Err(ApiError::Validation(
            errors
                .into_iter()
                .map(|e| {
                    let mut full = body_loc(loc);
                    full.extend(e.loc);
                    FieldError { loc: full, ..e }
                })
                .collect(),
        ));
    }
    Ok(params)
}

/// The feature to cluster when a request names none (the reference spec requires only
/// `clustering_method`): the one dense feature the collections have. None or several is a
/// 422 at `vector_config.feature_uris`, listing the candidates.
pub(super) async fn only_feature_uri(
    state: &AppState,
    ns: NamespaceKey,
    identifiers: &[String],
) -> ApiResult<Vec<String>> {
    let mut candidates: Vec<String> = Vec::new();
    for identifier in identifiers {
        let Ok(collection) = state.store.get_collection(ns, identifier).await else {
            continue; // `resolve_inputs` reports a missing collection
        };
        let indexes: Vec<CollectionVectorIndex> =
            from_json("vector_indexes", &collection.fields.vector_indexes)?;
        for index in indexes.into_iter().filter(CollectionVectorIndex::is_dense) {
            if !candidates.contains(&index.feature_uri) {
                candidates.push(index.feature_uri);
            }
        }
    }
    if let [only] = candidates.as_slice() {
        return Ok(vec![only.clone()]);
    }
    let msg = if candidates.is_empty() {
        "Field required: the collections have no vector feature to cluster; give \
         feature_uris"
            .to_owned()
    } else {
        format!(
            "Field required: the collections have several vector features, choose among: {}",
            candidates.join(", ")
        )
    };
    Err(ApiError::Validation(vec![FieldError {
        loc: body_loc(&["vector_config", "feature_uris"]),
        msg,
        kind: "missing",
    }]))
}

/// Resolves each collection (id or name) and the stored vector names of `feature_uris` in it:
/// a 400 naming the collection when it is missing, lacks a feature, or has no documents.
pub(super) async fn resolve_inputs(
    state: &AppState,
    ns: NamespaceKey,
    identifiers: &[String],
    feature_uris: &[String],
) -> ApiResult<Vec<PlanCollection>> {
    let mut resolved = Vec::with_capacity(identifiers.len());
    for identifier in identifiers {
        let (collection, indexes) = input_collection(state, ns, identifier).await?;
        let mut vector_names = Vec::with_capacity(feature_uris.len());
        for uri in feature_uris {
            let dense = || indexes.iter().filter(|i| i.is_dense());
            let Some(index) = dense().find(|i| &i.feature_uri == uri) else {
                let known: Vec<&str> = dense().map(|i| i.feature_uri.as_str()).collect();
                return Err(bad_request(
                    ErrorCode::FeatureNotFound,
                    format!(
                        "Collection '{}' has no vectors of feature '{uri}' (its features: {})",
                        collection.collection_id,
                        if known.is_empty() {
                            "none".to_owned()
                        } else {
                            known.join(", ")
                        }
                    ),
                    json!({"collection_id": collection.collection_id, "feature_uri": uri,
                           "available_feature_uris": known}),
                ));
            };
            vector_names.push(index.index.name.clone());
        }
        if collection.document_count == 0 {
            return Err(bad_request(
                ErrorCode::CollectionHasNoVectors,
                format!(
                    "Collection '{}' has no documents with vectors to cluster; trigger it first",
                    collection.collection_id
                ),
                json!({"collection_id": collection.collection_id}),
            ));
        }
        resolved.push(PlanCollection {
            collection_id: collection.collection_id,
            vector_names,
        });
    }
    Ok(resolved)
}
