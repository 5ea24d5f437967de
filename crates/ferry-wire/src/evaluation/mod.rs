//! Evaluation sets (Ferry's extension): judged queries owned by a retriever, served at
//! `/v1/retrievers/{retriever_id}/evaluations`. Each query carries the retriever's inputs and
//! the documents or objects that answer it, with a graded relevance (1 = relevant, higher =
//! more relevant). A migration copies them with the retriever and its benchmark stage scores
//! source and target on them ([`benchmark`]).
//!
//! Mixpeek's SDK names a different resource at the same path (evaluation runs over stored
//! datasets); these bodies are Ferry's own, and `/openapi.json` marks them so
//! (`docs/ARCHITECTURE.md`, "The wire contract").

pub mod benchmark;

use std::collections::HashSet;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::ToSchema;

use crate::paging::{validate_paging, PaginationResponse};
use crate::validate::{Errors, Validate};

/// Most queries one evaluation set holds.
pub const MAX_QUERIES: usize = 1000;
/// Most judged items one query holds.
pub const MAX_RELEVANT: usize = 100;
/// Highest relevance grade.
pub const MAX_GRADE: i64 = 10;

fn default_grade() -> i64 {
    1
}

/// One judged item: a document, or an object (any document extracted from it counts).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RelevantItem {
    /// A document of one of the retriever's collections.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub document_id: Option<String>,
    /// An object of the namespace: every document extracted from it matches.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub object_id: Option<String>,
    /// Graded relevance, 1 (relevant) to 10; default 1.
    #[serde(default = "default_grade")]
    #[schema(minimum = 1, maximum = 10, default = 1)]
    pub grade: i64,
}

impl Validate for RelevantItem {
    fn validate(&self, errors: &mut Errors) {
        match (&self.document_id, &self.object_id) {
            (Some(_), None) | (None, Some(_)) => {}
            _ => errors.push_here(
                "value_error",
                "Value error, give exactly one of document_id and object_id",
            ),
        }
        errors.str_len("document_id", self.document_id.as_deref(), 1, 128);
        errors.str_len("object_id", self.object_id.as_deref(), 1, 128);
        errors.int_range("grade", Some(self.grade), Some(1), Some(MAX_GRADE));
    }
}

/// One judged query.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EvaluationQuery {
    /// A label unique within the set; `q<n>` (1-based position) when omitted.
    pub query_id: Option<String>,
    /// The retriever's inputs, as `POST /v1/retrievers/{id}/execute` takes them.
    #[schema(value_type = Object)]
    pub inputs: Map<String, Value>,
    /// What answers the query, with graded relevance (1 to 100 items).
    pub relevant: Vec<RelevantItem>,
}

impl Validate for EvaluationQuery {
    fn validate(&self, errors: &mut Errors) {
        errors.str_len("query_id", self.query_id.as_deref(), 1, 128);
        errors.list_not_empty("relevant", Some(self.relevant.len()));
        errors.list_len("relevant", Some(self.relevant.len()), MAX_RELEVANT);
        errors.each("relevant", Some(&self.relevant));
        let mut seen = HashSet::new();
        errors.at("relevant", |errors| {
            for (i, item) in self.relevant.iter().enumerate() {
                let key = (item.document_id.as_deref(), item.object_id.as_deref());
                if !seen.insert(key) {
                    errors.at(i, |errors| {
                        errors.push_here("value_error", "Value error, this item is judged twice")
                    });
                }
            }
        });
    }
}

/// Body of `POST /v1/retrievers/{retriever_id}/evaluations`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateEvaluationRequest {
    /// Unique among the retriever's evaluation sets.
    pub evaluation_name: String,
    pub description: Option<String>,
    /// The judged queries (1 to 1000).
    pub queries: Vec<EvaluationQuery>,
}

impl CreateEvaluationRequest {
    /// The queries with every `query_id` filled in (`q<n>` where omitted).
    pub fn labelled_queries(self) -> Vec<EvaluationQuery> {
        self.queries
            .into_iter()
            .enumerate()
            .map(|(i, mut q)| {
                q.query_id.get_or_insert_with(|| format!("q{}", i + 1));
                q
            })
            .collect()
    }
}

impl Validate for CreateEvaluationRequest {
    fn validate(&self, errors: &mut Errors) {
        errors.str_len("evaluation_name", Some(&self.evaluation_name), 1, 128);
        errors.str_len("description", self.description.as_deref(), 0, 2000);
        errors.list_not_empty("queries", Some(self.queries.len()));
        errors.list_len("queries", Some(self.queries.len()), MAX_QUERIES);
        errors.each("queries", Some(&self.queries));
        let mut seen = HashSet::new();
        errors.at("queries", |errors| {
            for (i, q) in self.queries.iter().enumerate() {
                let label = q.query_id.clone().unwrap_or_else(|| format!("q{}", i + 1));
                if !seen.insert(label) {
                    errors.at(i, |errors| {
                        errors.push(
                            "query_id",
                            "value_error",
                            "Value error, query_id is not unique within the set",
                        )
                    });
                }
            }
        });
    }
}

/// An evaluation set as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct EvaluationSet {
    pub evaluation_id: String,
    pub evaluation_name: String,
    pub description: Option<String>,
    /// The retriever that owns the set.
    pub retriever_id: String,
    pub queries: Vec<EvaluationQuery>,
    pub query_count: i64,
    /// Judged items over all queries.
    pub judgment_count: i64,
    /// ISO 8601.
    pub created_at: String,
    pub updated_at: String,
}

/// Body of `POST /v1/retrievers/{retriever_id}/evaluations/list`: paging and a name search.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ListEvaluationsRequest {
    pub limit: Option<i64>,
    pub page_size: Option<i64>,
    pub offset: Option<i64>,
    pub page: Option<i64>,
    /// Case-insensitive substring of the name, id or description.
    pub search: Option<String>,
}

impl Validate for ListEvaluationsRequest {
    fn validate(&self, errors: &mut Errors) {
        validate_paging(errors, self.limit, self.page_size, self.offset, self.page);
    }
}

/// A page of evaluation sets, newest first.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ListEvaluationsResponse {
    pub results: Vec<EvaluationSet>,
    pub pagination: PaginationResponse,
}

/// Answer of `DELETE /v1/retrievers/{retriever_id}/evaluations/{evaluation_id}`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct DeleteEvaluationResponse {
    pub evaluation_id: String,
    pub deleted: bool,
    pub message: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn errors_of(body: Value) -> Vec<(Vec<Value>, &'static str)> {
        let req: CreateEvaluationRequest = serde_json::from_value(body).unwrap();
        req.validation_errors()
            .into_iter()
            .map(|e| (e.loc_values(), e.kind))
            .collect()
    }

    #[test]
    fn items_name_exactly_one_thing_with_a_grade_in_range() {
        let errors = errors_of(json!({"evaluation_name": "e", "queries": [
            {"inputs": {}, "relevant": [{"grade": 2}, {"document_id": "doc_a", "grade": 0},
                                        {"document_id": "doc_b", "object_id": "obj_b"}]}]}));
        assert_eq!(
            errors,
            vec![
                (
                    json!(["queries", 0, "relevant", 0])
                        .as_array()
                        .unwrap()
                        .clone(),
                    "value_error"
                ),
                (
                    json!(["queries", 0, "relevant", 1, "grade"])
                        .as_array()
                        .unwrap()
                        .clone(),
                    "greater_than_equal"
                ),
                (
                    json!(["queries", 0, "relevant", 2])
                        .as_array()
                        .unwrap()
                        .clone(),
                    "value_error"
                ),
            ]
        );
    }

    #[test]
    fn sets_need_queries_and_unique_labels() {
        assert_eq!(
            errors_of(json!({"evaluation_name": "e", "queries": []})),
            vec![(vec![json!("queries")], "too_short")]
        );
        let twice = json!({"evaluation_name": "e", "queries": [
            {"query_id": "a", "inputs": {}, "relevant": [{"object_id": "obj_1"}, {"object_id": "obj_1"}]},
            {"query_id": "a", "inputs": {}, "relevant": [{"object_id": "obj_1"}]}]});
        let kinds: Vec<_> = errors_of(twice).into_iter().map(|(l, _)| l).collect();
        assert_eq!(
            kinds,
            vec![
                json!(["queries", 0, "relevant", 1])
                    .as_array()
                    .unwrap()
                    .clone(),
                json!(["queries", 1, "query_id"])
                    .as_array()
                    .unwrap()
                    .clone(),
            ]
        );
    }

    #[test]
    fn omitted_labels_are_positions() {
        let req: CreateEvaluationRequest = serde_json::from_value(json!({
            "evaluation_name": "e", "queries": [
                {"inputs": {"q": 1}, "relevant": [{"object_id": "obj_1"}]},
                {"query_id": "mine", "inputs": {}, "relevant": [{"object_id": "obj_1"}]}]}))
        .unwrap();
        let labels: Vec<_> = req
            .labelled_queries()
            .into_iter()
            .map(|q| q.query_id.unwrap())
            .collect();
        assert_eq!(labels, ["q1", "mine"]);
    }
}
