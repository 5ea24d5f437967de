//! Reading documents: the body and query parameters of the list endpoints (filters, sort,
//! paging, partitions, what to return) and of a single document's read.

use std::fmt;

use serde::de::{self, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::filter::{filters_from_query, LogicalOperator, SortOption};
use crate::validate::{Errors, Validate};

/// `return_vector_names`: `true` lists the names of a document's vectors under `_vectors`; a
/// list of names returns those vectors as root fields.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[serde(untagged)]
pub enum ReturnVectorNames {
    List(bool),
    Names(Vec<String>),
}

impl<'de> Deserialize<'de> for ReturnVectorNames {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct FormVisitor;
        impl<'de> Visitor<'de> for FormVisitor {
            type Value = ReturnVectorNames;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a boolean or a list of vector names")
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<ReturnVectorNames, E> {
                Ok(ReturnVectorNames::List(v))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<ReturnVectorNames, A::Error> {
                Vec::deserialize(de::value::SeqAccessDeserializer::new(seq))
                    .map(ReturnVectorNames::Names)
            }
        }
        deserializer.deserialize_any(FormVisitor)
    }
}

impl ReturnVectorNames {
    /// Reads the query form: `true`/`false`, or comma-separated names.
    pub fn from_query(text: &str) -> ReturnVectorNames {
        match text.trim() {
            "true" => ReturnVectorNames::List(true),
            "false" | "" => ReturnVectorNames::List(false),
            names => ReturnVectorNames::Names(
                names
                    .split(',')
                    .map(str::trim)
                    .filter(|n| !n.is_empty())
                    .map(str::to_owned)
                    .collect(),
            ),
        }
    }
}

/// One of `count` disjoint partitions of a listing, split on document id, so several workers
/// can page through a collection in parallel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ListPartition {
    /// This worker's partition, from 0 to `count - 1`.
    pub index: i64,
    pub count: i64,
}

impl Validate for ListPartition {
    fn validate(&self, errors: &mut Errors) {
        errors.int_range("index", Some(self.index), Some(0), None);
        errors.int_range("count", Some(self.count), Some(1), Some(256));
        if self.index >= 0 && (1..=256).contains(&self.count) && self.index >= self.count {
            errors.push(
                "index",
                "value_error",
                "Value error, index must be less than count",
            );
        }
    }
}

/// Default page size of a document listing.
pub const DEFAULT_DOCUMENT_LIMIT: i64 = 10;

/// Request model for listing documents. Body values win over their query counterparts.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ListDocumentsRequest {
    pub filters: Option<LogicalOperator>,
    pub sort: Option<SortOption>,
    /// Free-text search over common document fields.
    pub search: Option<String>,
    /// `pagination.next_cursor` of the previous page; offsets are ignored with it.
    pub cursor: Option<String>,
    pub partition: Option<ListPartition>,
    /// Count the matching documents into `pagination.total` and `total_documents`.
    pub include_total: Option<bool>,
    /// Presign blob URLs; also a query parameter (either being true enables it).
    #[serde(default)]
    pub return_presigned_urls: bool,
    /// Return each document's vectors as root fields; also a query parameter.
    #[serde(default)]
    pub return_vectors: bool,
    pub return_vector_names: Option<ReturnVectorNames>,
    /// Field to group documents by (dot notation); groups are paged instead of documents.
    pub group_by: Option<String>,
    /// Fields to return (dot notation); `document_id` and `collection_id` always are.
    pub select: Option<Vec<String>>,
    /// Fields holding document ids to resolve inline under `_expanded`.
    pub expand: Option<Vec<String>>,
    /// Page size, [`DEFAULT_DOCUMENT_LIMIT`] when neither body nor query names one. Left
    /// unset here, not defaulted, so a query `limit` still applies when the body has none.
    #[serde(alias = "page_size")]
    pub limit: Option<i64>,
    pub offset: Option<i64>,
}

impl Validate for ListDocumentsRequest {
    fn validate(&self, errors: &mut Errors) {
        errors.nested("filters", self.filters.as_ref());
        errors.nested("partition", self.partition.as_ref());
        errors.int_range("limit", self.limit, Some(1), Some(1000));
        // The body's offset has no upper bound in the SDK; only the query's has.
        errors.int_range("offset", self.offset, Some(0), None);
    }
}

/// Query parameters of `GET …/documents/{document_id}`.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
pub struct GetDocumentQuery {
    /// Presign the document's blob URLs.
    pub return_presigned_urls: Option<bool>,
    /// Return the document's vectors as root fields.
    pub return_vectors: Option<bool>,
    /// `true` for a `_vectors` list of vector names; or comma-separated names of vectors to
    /// return as root fields.
    pub return_vector_names: Option<String>,
    /// Comma-separated fields to resolve inline under `_expanded` (`parent`, `root_object`,
    /// `ancestors`, `children`, or fields holding document ids).
    pub expand: Option<String>,
}

impl GetDocumentQuery {
    pub fn vector_names(&self) -> Option<ReturnVectorNames> {
        self.return_vector_names
            .as_deref()
            .map(ReturnVectorNames::from_query)
    }

    pub fn expand_fields(&self) -> Vec<String> {
        split_list(self.expand.as_deref())
    }
}

impl Validate for GetDocumentQuery {
    fn validate(&self, _errors: &mut Errors) {}
}

fn split_list(text: Option<&str>) -> Vec<String> {
    text.unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Query parameters of the document lists beyond paging ([`crate::paging::PageQuery`]). On
/// `POST …/documents/list` the body's values win.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
pub struct ListDocumentsQuery {
    pub return_presigned_urls: Option<bool>,
    pub return_vectors: Option<bool>,
    /// URL-encoded JSON in `LogicalOperator` shape.
    pub filters: Option<String>,
    pub search: Option<String>,
    /// JSON (`{"field":"created_at","direction":"desc"}`) or `field:direction`.
    pub sort: Option<String>,
}

impl ListDocumentsQuery {
    /// The parsed `filters` parameter; `None` when absent or (for an unvalidated query) invalid.
    pub fn filters(&self) -> Option<LogicalOperator> {
        filters_from_query(&mut Errors::new(), "filters", self.filters.as_deref())
    }

    /// The parsed `sort` parameter; `None` when absent or (for an unvalidated query) invalid.
    pub fn sort(&self) -> Option<SortOption> {
        SortOption::from_query(self.sort.as_deref()?).ok()
    }
}

impl Validate for ListDocumentsQuery {
    fn validate(&self, errors: &mut Errors) {
        filters_from_query(errors, "filters", self.filters.as_deref());
        if let Some(sort) = self.sort.as_deref() {
            if let Err(e) = SortOption::from_query(sort) {
                errors.push("sort", "value_error", format!("Value error, {e}"));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::document::locs;
    use serde_json::json;

    #[test]
    fn sdk_list_request_parses() {
        // `ListDocumentsRequest(filters=…, sort=…, limit=50).to_dict()`: the SDK adds its
        // defaults (`return_presigned_urls`, `return_vectors`, `offset`).
        let req: ListDocumentsRequest = serde_json::from_value(json!({
            "filters": {"AND": [{"case_sensitive": false, "field": "metadata.lang",
                                 "operator": "eq", "value": "en"}], "case_sensitive": false},
            "sort": {"field": "created_at", "direction": "desc"},
            "include_total": true,
            "return_presigned_urls": false,
            "return_vectors": true,
            "return_vector_names": ["text_extractor_v1_embedding"],
            "select": ["title"],
            "limit": 50,
            "offset": 0
        }))
        .unwrap();
        assert!(req.validation_errors().is_empty());
        assert!(req.return_vectors);
        assert_eq!(
            req.return_vector_names,
            Some(ReturnVectorNames::Names(vec![
                "text_extractor_v1_embedding".into()
            ]))
        );
        let by_alias: ListDocumentsRequest =
            serde_json::from_value(json!({"page_size": 5, "return_vector_names": true})).unwrap();
        assert_eq!(by_alias.limit, Some(5));
        assert_eq!(
            by_alias.return_vector_names,
            Some(ReturnVectorNames::List(true))
        );
    }

    #[test]
    fn list_request_bounds_and_unknown_keys() {
        let req: ListDocumentsRequest = serde_json::from_value(json!({
            "limit": 0, "offset": 20000, "partition": {"index": 4, "count": 4}
        }))
        .unwrap();
        assert_eq!(
            locs(&req.validation_errors()),
            vec![
                (vec![json!("partition"), json!("index")], "value_error"),
                (vec![json!("limit")], "greater_than_equal"),
            ]
        );
        let req: ListDocumentsRequest =
            serde_json::from_value(json!({"partition": {"index": 0, "count": 300}})).unwrap();
        assert_eq!(
            locs(&req.validation_errors()),
            vec![(vec![json!("partition"), json!("count")], "less_than_equal")]
        );
        let err = serde_json::from_value::<ListDocumentsRequest>(json!({"page": 2})).unwrap_err();
        assert!(err.to_string().starts_with("unknown field `page`"), "{err}");
    }

    #[test]
    fn list_query_parses_json_filters_and_compact_sort() {
        let q = ListDocumentsQuery {
            filters: Some(
                r#"{"AND":[{"field":"metadata.status","operator":"eq","value":"active"}]}"#.into(),
            ),
            sort: Some("created_at:desc".into()),
            ..Default::default()
        };
        assert!(q.validation_errors().is_empty());
        assert_eq!(q.filters().unwrap().and.unwrap().len(), 1);
        assert_eq!(q.sort().unwrap().field, "created_at");
        let bad = ListDocumentsQuery {
            filters: Some("{".into()),
            sort: Some("created_at:up".into()),
            ..Default::default()
        };
        assert_eq!(
            locs(&bad.validation_errors()),
            vec![
                (vec![json!("filters")], "json_invalid"),
                (vec![json!("sort")], "value_error"),
            ]
        );
    }

    #[test]
    fn get_query_helpers() {
        let q = GetDocumentQuery {
            return_vector_names: Some("a, b".into()),
            expand: Some("parent,root_object".into()),
            ..Default::default()
        };
        assert_eq!(
            q.vector_names(),
            Some(ReturnVectorNames::Names(vec!["a".into(), "b".into()]))
        );
        assert_eq!(q.expand_fields(), vec!["parent", "root_object"]);
    }
}
