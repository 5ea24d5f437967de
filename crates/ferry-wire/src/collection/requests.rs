//! The collection request bodies: create, patch (the mutable fields), list (body and query)
//! and trigger.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::{IntoParams, ToSchema};

use super::applications::{yes, ClusterApplicationConfig, TaxonomyApplicationConfig};
use super::extractor::FeatureExtractorConfigInput;
use super::source::SourceConfig;
use super::validate_collection_name;
use crate::filter::{LogicalOperator, SortOption};
use crate::paging::validate_paging;
use crate::schema::BucketSchema;
use crate::validate::{Errors, Validate};

/// Request model for creating a new collection.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateCollectionRequest {
    /// Name of the collection to create; unique in the namespace.
    pub collection_name: String,
    pub description: Option<String>,
    pub source: SourceConfig,
    /// Fields the source offers; inferred from the source bucket or collection when absent.
    pub input_schema: Option<BucketSchema>,
    /// The extractor this collection runs. Optional in the SDK (which also offers `features`
    /// and `retriever_transform`); Ferry builds collections from extractors only, so it is
    /// required here.
    pub feature_extractor: Option<FeatureExtractorConfigInput>,
    /// Accepted and ignored: Ferry selects processing by `feature_extractor`.
    pub features: Option<Vec<String>>,
    #[serde(default = "yes")]
    pub enabled: bool,
    pub metadata: Option<Map<String, Value>>,
    /// Accepted and ignored: Ferry has no scheduled re-processing; trigger the collection.
    #[schema(value_type = Option<Object>)]
    pub schedule: Option<Value>,
    pub taxonomy_applications: Option<Vec<TaxonomyApplicationConfig>>,
    pub cluster_applications: Option<Vec<ClusterApplicationConfig>>,
    /// Accepted and ignored.
    #[schema(value_type = Option<Vec<Object>>)]
    pub alert_applications: Option<Vec<Value>>,
    /// Accepted and ignored.
    #[schema(value_type = Option<Vec<Object>>)]
    pub retriever_enrichments: Option<Vec<Value>>,
    /// Accepted and ignored.
    #[schema(value_type = Option<Object>)]
    pub retriever_transform: Option<Value>,
    /// Accepted and ignored: Ferry's extractors are not instruction-aware.
    pub embedding_task: Option<String>,
}

impl Validate for CreateCollectionRequest {
    fn validate(&self, errors: &mut Errors) {
        validate_collection_name(errors, "collection_name", Some(&self.collection_name));
        errors.at("source", |errors| self.source.validate(errors));
        if self.feature_extractor.is_none() {
            errors.push("feature_extractor", "missing", "Field required");
        }
        errors.each(
            "taxonomy_applications",
            self.taxonomy_applications.as_deref(),
        );
        errors.each("cluster_applications", self.cluster_applications.as_deref());
    }
}

/// Body of `PATCH /v1/collections/{collection_identifier}`: the mutable fields.
///
/// The SDK sends this body as a free-form dict; the fields it may change are the ones the
/// endpoint documents (`collection_name`, `description`, `taxonomy_applications`, `enabled`),
/// plus `metadata` and `cluster_applications` (a cluster must name the collection as its input,
/// so it can only be attached after the collection exists). Source and extractor are fixed
/// for a collection's life; moving them is what re-extract migrations are for.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatchCollectionRequest {
    pub collection_name: Option<String>,
    pub description: Option<String>,
    /// Replaces the collection's taxonomy applications.
    pub taxonomy_applications: Option<Vec<TaxonomyApplicationConfig>>,
    /// Replaces the collection's cluster applications.
    pub cluster_applications: Option<Vec<ClusterApplicationConfig>>,
    pub enabled: Option<bool>,
    /// Replaces the collection's metadata.
    pub metadata: Option<Map<String, Value>>,
}

impl Validate for PatchCollectionRequest {
    fn validate(&self, errors: &mut Errors) {
        validate_collection_name(errors, "collection_name", self.collection_name.as_deref());
        errors.each(
            "taxonomy_applications",
            self.taxonomy_applications.as_deref(),
        );
        errors.each("cluster_applications", self.cluster_applications.as_deref());
    }
}

/// Request model for listing collections. Body paging wins over query paging.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ListCollectionsRequest {
    pub limit: Option<i64>,
    /// Alias of `limit`; `limit` wins when both are given.
    pub page_size: Option<i64>,
    pub offset: Option<i64>,
    /// 1-indexed page; `offset` wins when both are given.
    pub page: Option<i64>,
    /// Filters on collection fields; dot notation reaches nested ones
    /// (`taxonomy_applications.taxonomy_id`).
    pub filters: Option<LogicalOperator>,
    pub sort: Option<SortOption>,
    /// Takes precedence over `sort`; the first entry is the primary sort.
    pub sorts: Option<Vec<SortOption>>,
    /// Substring search over collection id, name and description.
    pub search: Option<String>,
    /// Accepted and ignored: Ferry has no system collections.
    #[serde(default)]
    pub include_system: bool,
    /// Filters and search match case-sensitively.
    #[serde(default)]
    pub case_sensitive: bool,
}

impl Validate for ListCollectionsRequest {
    fn validate(&self, errors: &mut Errors) {
        validate_paging(errors, self.limit, self.page_size, self.offset, self.page);
        errors.nested("filters", self.filters.as_ref());
    }
}

/// Query parameters of `GET /v1/collections` beyond paging ([`crate::paging::PageQuery`]).
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
pub struct ListCollectionsQuery {
    /// Substring search over collection names.
    pub search: Option<String>,
    /// Accepted and ignored: the namespace comes from `X-Namespace`.
    pub namespace_id: Option<String>,
    /// Accepted and ignored: Ferry has no system collections.
    pub include_system: Option<bool>,
}

impl Validate for ListCollectionsQuery {
    fn validate(&self, _errors: &mut Errors) {}
}

/// How sources already processed in earlier batches are handled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema, Default)]
#[serde(rename_all = "lowercase")]
pub enum DedupStrategy {
    /// Skip sources already materialized in this collection.
    #[default]
    Skip,
    /// Delete the sources' existing documents and materialize them again.
    Replace,
    /// Process every source again, keeping existing documents.
    Force,
}

/// Body of `POST /v1/collections/{collection_identifier}/trigger` (optional).
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TriggerCollectionRequest {
    /// Only objects from these buckets (ids or names); bucket-sourced collections only.
    pub include_buckets: Option<Vec<String>>,
    /// Only documents from these collections (ids or names); collection-sourced only.
    pub include_collections: Option<Vec<String>>,
    /// Only these objects; bucket-sourced collections only.
    pub object_ids: Option<Vec<String>>,
    /// Field filters on the source objects or documents.
    pub source_filters: Option<LogicalOperator>,
    /// `skip` when absent.
    pub dedup_strategy: Option<DedupStrategy>,
    /// Accepted and ignored: stored-text re-embedding is what re-extract migrations do.
    #[schema(value_type = Option<Object>)]
    pub reembed: Option<Value>,
}

impl Validate for TriggerCollectionRequest {
    fn validate(&self, errors: &mut Errors) {
        errors.nested("source_filters", self.source_filters.as_ref());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collection::{
        FeatureExtractorConfigOutput, InputMappings, InputSourceType, SourceType,
    };
    use serde_json::json;

    /// `CreateCollectionRequest(...)` as the SDK sends it (see the module's conformance notes).
    fn sdk_create_body() -> Value {
        json!({
            "collection_name": "article_embeddings",
            "description": "News articles with text embeddings",
            "source": {"type": "bucket", "bucket_ids": ["bkt_articles"],
                       "source_filters": {"filters": {"AND": [
                           {"case_sensitive": false, "field": "lang", "operator": "eq", "value": "en"}
                       ], "case_sensitive": false}}},
            "feature_extractor": {
                "feature_extractor_name": "text_extractor",
                "version": "v1",
                "parameters": {"chunk": 512},
                "input_mappings": {"text": "content"},
                "field_passthrough": [{"source_path": "title", "required": true},
                                      {"source_path": "meta.author", "target_path": "author", "required": false}],
                "include_all_source_fields": false
            },
            "enabled": true,
            "metadata": {"team": "search"},
            "taxonomy_applications": [{"taxonomy_id": "tax_topics", "execution_mode": "materialize",
                                       "execution_phase": 1, "priority": 0}],
            "cluster_applications": [{"cluster_id": "clu_1", "auto_execute_on_batch": true,
                                      "cooldown_seconds": 3600, "execution_phase": 2, "priority": 0}],
            "schedule": {"trigger_type": "cron", "schedule_config": {"cron_expression": "0 * * * *"}},
            "embedding_task": "retrieval_document"
        })
    }

    #[test]
    fn sdk_create_request_parses_and_validates() {
        let req: CreateCollectionRequest = serde_json::from_value(sdk_create_body()).unwrap();
        assert!(
            req.validation_errors().is_empty(),
            "{:?}",
            req.validation_errors()
        );
        let fe = req.feature_extractor.unwrap();
        assert_eq!(
            fe.input_mappings,
            Some(InputMappings::Fields(
                json!({"text": "content"}).as_object().unwrap().clone()
            ))
        );
        assert_eq!(fe.field_passthrough.as_ref().unwrap()[1].target(), "author");
        let out = FeatureExtractorConfigOutput::from(fe);
        assert_eq!(out.feature_extractor_id, "text_extractor_v1");
        assert_eq!(req.source.source_type, SourceType::Bucket);
    }

    #[test]
    fn list_form_input_mappings_keep_error_locations() {
        let mut body = sdk_create_body();
        body["feature_extractor"]["input_mappings"] =
            json!([{"input_key": "text", "source_type": "payload", "path": "content"}]);
        let req: CreateCollectionRequest = serde_json::from_value(body.clone()).unwrap();
        assert!(matches!(
            req.feature_extractor.unwrap().input_mappings,
            Some(InputMappings::List(ref l)) if l[0].source_type == Some(InputSourceType::Payload)
        ));
        body["feature_extractor"]["input_mappings"][0]["source_type"] = json!("attic");
        let err = serde_json::from_value::<CreateCollectionRequest>(body).unwrap_err();
        assert!(
            err.to_string().starts_with("unknown variant `attic`"),
            "{err}"
        );
    }

    #[test]
    fn unknown_keys_are_refused_at_every_level() {
        let mut body = sdk_create_body();
        body["colour"] = json!("blue");
        let err = serde_json::from_value::<CreateCollectionRequest>(body).unwrap_err();
        assert!(
            err.to_string().starts_with("unknown field `colour`"),
            "{err}"
        );
        let mut body = sdk_create_body();
        body["feature_extractor"]["input_mapping"] = json!({"text": "content"});
        let err = serde_json::from_value::<CreateCollectionRequest>(body).unwrap_err();
        assert!(
            err.to_string().starts_with("unknown field `input_mapping`"),
            "{err}"
        );
        let mut body = sdk_create_body();
        body["source"]["bucket_id"] = json!("bkt_1");
        let err = serde_json::from_value::<CreateCollectionRequest>(body).unwrap_err();
        assert!(
            err.to_string().starts_with("unknown field `bucket_id`"),
            "{err}"
        );
    }

    #[test]
    fn bounds_and_source_rules_are_located() {
        let mut body = sdk_create_body();
        body["collection_name"] = json!("ab");
        body["cluster_applications"][0]["execution_phase"] = json!(4);
        body["taxonomy_applications"][0]["priority"] = json!(-1);
        body["source"] = json!({"type": "collection", "bucket_ids": []});
        body.as_object_mut().unwrap().remove("feature_extractor");
        let req: CreateCollectionRequest = serde_json::from_value(body).unwrap();
        let got: Vec<(Vec<Value>, &str)> = req
            .validation_errors()
            .iter()
            .map(|e| (e.loc_values(), e.kind))
            .collect();
        assert_eq!(
            got,
            vec![
                (vec![json!("collection_name")], "string_too_short"),
                (vec![json!("source"), json!("bucket_ids")], "too_short"),
                (vec![json!("source"), json!("collection_id")], "missing"),
                (vec![json!("source"), json!("bucket_ids")], "value_error"),
                (vec![json!("feature_extractor")], "missing"),
                (
                    vec![json!("taxonomy_applications"), json!(0), json!("priority")],
                    "greater_than_equal"
                ),
                (
                    vec![
                        json!("cluster_applications"),
                        json!(0),
                        json!("execution_phase")
                    ],
                    "less_than_equal"
                ),
            ]
        );
    }

    #[test]
    fn reserved_and_unsupported_sources_are_refused() {
        let mut body = sdk_create_body();
        body["collection_name"] = json!("col_abc");
        body["source"] = json!({"type": "taxonomy"});
        let req: CreateCollectionRequest = serde_json::from_value(body).unwrap();
        let kinds: Vec<_> = req
            .validation_errors()
            .iter()
            .map(|e| (e.loc_values(), e.kind))
            .collect();
        assert_eq!(
            kinds,
            vec![
                (vec![json!("collection_name")], "value_error"),
                (vec![json!("source"), json!("type")], "value_error"),
            ]
        );
    }

    #[test]
    fn patch_accepts_mutable_fields_only() {
        let patch: PatchCollectionRequest = serde_json::from_value(json!({
            "collection_name": "renamed", "enabled": false, "metadata": {"k": 1},
            "cluster_applications": [{"cluster_id": "clu_1"}]
        }))
        .unwrap();
        assert!(patch.validation_errors().is_empty());
        let clusters = patch.cluster_applications.unwrap();
        assert_eq!(clusters[0].cooldown_seconds, 3600);
        assert_eq!(clusters[0].execution_phase, 2);
        assert!(clusters[0].auto_execute_on_batch);
        let err = serde_json::from_value::<PatchCollectionRequest>(
            json!({"source": {"type": "bucket", "bucket_ids": ["bkt_1"]}}),
        )
        .unwrap_err();
        assert!(
            err.to_string().starts_with("unknown field `source`"),
            "{err}"
        );
    }

    #[test]
    fn list_request_bounds() {
        let req: ListCollectionsRequest = serde_json::from_value(json!({
            "limit": 1001, "offset": 10001, "page": 0,
            "filters": {"AND": [{"field": "taxonomy_applications.taxonomy_id", "operator": "eq",
                                 "value": "tax_1"}]},
            "sort": {"field": "created_at", "direction": "desc"},
            "sorts": [{"field": "collection_name", "direction": "asc"}],
            "search": "art", "include_system": false, "case_sensitive": false
        }))
        .unwrap();
        let got: Vec<_> = req
            .validation_errors()
            .iter()
            .map(|e| (e.loc_values(), e.kind))
            .collect();
        assert_eq!(
            got,
            vec![
                (vec![json!("limit")], "less_than_equal"),
                (vec![json!("offset")], "less_than_equal"),
                (vec![json!("page")], "greater_than_equal"),
            ]
        );
        let err = serde_json::from_value::<ListCollectionsRequest>(
            json!({"sort": {"field": "created_at", "direction": "down"}}),
        )
        .unwrap_err();
        assert!(err.to_string().starts_with("unknown variant `down`"));
    }

    #[test]
    fn trigger_request_parses_sdk_body() {
        let req: TriggerCollectionRequest = serde_json::from_value(json!({
            "object_ids": ["obj_1"], "dedup_strategy": "replace",
            "source_filters": {"AND": [{"case_sensitive": false, "field": "status",
                                        "operator": "in", "value": ["new"]}],
                               "case_sensitive": false}
        }))
        .unwrap();
        assert_eq!(req.dedup_strategy, Some(DedupStrategy::Replace));
        assert!(req.validation_errors().is_empty());
        let err = serde_json::from_value::<TriggerCollectionRequest>(
            json!({"dedup_strategy": "sometimes"}),
        )
        .unwrap_err();
        assert!(err.to_string().starts_with("unknown variant `sometimes`"));
    }
}
