//! A retriever's stages, parsed and checked once (when the retriever is created or patched)
//! into a [`Pipeline`] the engine runs.
//!
//! Stage ids Ferry runs (`config.stage_id`, with `config.parameters`):
//!
//! | stage_id | type | parameters |
//! |---|---|---|
//! | `feature_search` | filter | `searches[]` (`feature_uri`, `query`, `top_k` 1..1000 = 100, `min_score`), `final_top_k`, `fusion` (`rrf` or `max`) |
//! | `attribute_filter` | filter | `field`, `operator` (= `eq`), `value`; or `filters` (a `LogicalOperator`) |
//! | `sort_attribute` | sort | `field`, `direction` (`asc` / `desc` = `desc`) |
//! | `sort_relevance` | sort | none: by score, best first |
//! | `limit` | reduce | `limit` 1..10000, `offset` (= 0) |
//!
//! A search's `query` is `"{{INPUT.query}}"` (text), or `{input_mode: "text", value}` /
//! `{input_mode: "vector", value}`. Unknown stage ids, parameters and template expressions
//! are refused with the location of the offending key.

use std::collections::BTreeSet;

use ferry_wire::filter::LogicalOperator;
use ferry_wire::retriever::{StageConfig, StageType};
use ferry_wire::Loc;
use serde_json::{json, Map, Value};

use crate::template;

/// Largest `top_k` of one search.
pub const MAX_TOP_K: usize = 1000;
/// Largest `limit` of a limit stage, and the cap on candidates a filter-only pipeline keeps.
pub const MAX_CANDIDATES: usize = 10_000;

/// A problem with one stage, located relative to the request body's `stages`.
#[derive(Debug, Clone, PartialEq)]
pub struct PlanError {
    pub loc: Vec<Loc>,
    pub msg: String,
}

/// How the ranked lists of several searches become one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fusion {
    /// Reciprocal rank fusion (k = 60): robust when the searches' scores are not comparable.
    Rrf,
    /// A document's best score over the searches.
    Max,
}

impl Fusion {
    pub fn name(self) -> &'static str {
        match self {
            Fusion::Rrf => "rrf",
            Fusion::Max => "max",
        }
    }
}

/// What a search embeds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QueryMode {
    /// Text embedded by the searched collection's extractor.
    Text,
    /// A vector given as is.
    Vector,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Search {
    pub feature_uri: String,
    pub mode: QueryMode,
    /// The query value, possibly a template.
    pub value: Value,
    pub top_k: usize,
    pub min_score: Option<f64>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum StageKind {
    FeatureSearch {
        searches: Vec<Search>,
        final_top_k: usize,
        fusion: Fusion,
    },
    /// A `LogicalOperator` as JSON, possibly with templates.
    AttributeFilter {
        filter: Value,
    },
    SortAttribute {
        field: String,
        descending: bool,
    },
    SortRelevance,
    Limit {
        limit: usize,
        offset: usize,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub struct Stage {
    pub name: String,
    pub kind: StageKind,
}

/// A checked retriever pipeline.
#[derive(Debug, Clone, PartialEq)]
pub struct Pipeline {
    pub stages: Vec<Stage>,
}

/// The functional type of a stage id, or `None` for an id Ferry does not run.
pub fn stage_type(stage_id: &str) -> Option<StageType> {
    Some(match stage_id {
        "feature_search" | "attribute_filter" => StageType::Filter,
        "sort_attribute" | "sort_relevance" => StageType::Sort,
        "limit" => StageType::Reduce,
        _ => return None,
    })
}

const STAGE_IDS: &str = "feature_search, attribute_filter, sort_attribute, sort_relevance, limit";

/// Collects errors at locations below one stage.
struct StageErrors<'a> {
    base: Vec<Loc>,
    errors: &'a mut Vec<PlanError>,
}

impl StageErrors<'_> {
    fn push(&mut self, path: &[Loc], msg: impl Into<String>) {
        let mut loc = self.base.clone();
        loc.extend_from_slice(path);
        self.errors.push(PlanError {
            loc,
            msg: msg.into(),
        });
    }
}

fn key(k: &str) -> Loc {
    Loc::Key(k.to_owned())
}

fn refuse_unknown_keys(
    params: &Map<String, Value>,
    known: &[&str],
    at: &[Loc],
    errors: &mut StageErrors<'_>,
) {
    for k in params.keys().filter(|k| !known.contains(&k.as_str())) {
        let mut loc = at.to_vec();
        loc.push(key(k));
        errors.push(
            &loc,
            format!(
                "unknown parameter '{k}'; this stage takes: {}",
                known.join(", ")
            ),
        );
    }
}

fn check_templates(value: &Value, at: &[Loc], errors: &mut StageErrors<'_>) {
    if let Err(msg) = template::check(value) {
        errors.push(at, msg);
    }
}

/// A positive integer parameter within `1..=max`, `default` when absent.
fn count(
    params: &Map<String, Value>,
    name: &str,
    default: Option<usize>,
    max: usize,
    at: &[Loc],
    errors: &mut StageErrors<'_>,
) -> usize {
    let mut loc = at.to_vec();
    loc.push(key(name));
    match params.get(name) {
        None | Some(Value::Null) => default.unwrap_or_else(|| {
            errors.push(&loc, "Field required");
            1
        }),
        Some(v) => match v.as_u64() {
            Some(n) if n >= 1 && n as usize <= max => n as usize,
            _ => {
                errors.push(&loc, format!("must be an integer from 1 to {max}"));
                1
            }
        },
    }
}

fn parse_search(value: &Value, at: &[Loc], errors: &mut StageErrors<'_>) -> Option<Search> {
    let Some(search) = value.as_object() else {
        errors.push(at, "a search is an object with feature_uri and query");
        return None;
    };
    refuse_unknown_keys(
        search,
        &["feature_uri", "query", "top_k", "min_score"],
        at,
        errors,
    );
    let feature_uri = match search.get("feature_uri").and_then(Value::as_str) {
        Some(uri) if uri.starts_with("mixpeek://") => uri.to_owned(),
        _ => {
            let mut loc = at.to_vec();
            loc.push(key("feature_uri"));
            errors.push(
                &loc,
                "Field required: a feature URI such as mixpeek://text_extractor@v1/text_embedding",
            );
            return None;
        }
    };
    let mut query_loc = at.to_vec();
    query_loc.push(key("query"));
    let (mode, query_value) = match search.get("query") {
        Some(Value::String(s)) => (QueryMode::Text, Value::String(s.clone())),
        Some(Value::Object(q)) => {
            let mode = match q
                .get("input_mode")
                .and_then(Value::as_str)
                .unwrap_or("text")
            {
                "text" => QueryMode::Text,
                "vector" => QueryMode::Vector,
                other => {
                    errors.push(
                        &query_loc,
                        format!("input_mode '{other}' is not supported; use 'text' or 'vector'"),
                    );
                    return None;
                }
            };
            let value = q
                .get("value")
                .or_else(|| q.get("text"))
                .or_else(|| q.get("vector"));
            let Some(value) = value else {
                errors.push(&query_loc, "the query needs a value");
                return None;
            };
            refuse_unknown_keys(
                q,
                &["input_mode", "value", "text", "vector"],
                &query_loc,
                errors,
            );
            (mode, value.clone())
        }
        _ => {
            errors.push(
                &query_loc,
                "Field required: a text template or {input_mode, value}",
            );
            return None;
        }
    };
    check_templates(&query_value, &query_loc, errors);
    let top_k = count(search, "top_k", Some(100), MAX_TOP_K, at, errors);
    let min_score = search.get("min_score").and_then(Value::as_f64);
    Some(Search {
        feature_uri,
        mode,
        value: query_value,
        top_k,
        min_score,
    })
}

fn parse_feature_search(params: &Map<String, Value>, errors: &mut StageErrors<'_>) -> StageKind {
    refuse_unknown_keys(params, &["searches", "final_top_k", "fusion"], &[], errors);
    let mut searches = Vec::new();
    match params.get("searches").and_then(Value::as_array) {
        Some(list) if !list.is_empty() => {
            for (i, s) in list.iter().enumerate() {
                if let Some(search) = parse_search(s, &[key("searches"), Loc::Index(i)], errors) {
                    searches.push(search);
                }
            }
        }
        _ => errors.push(&[key("searches")], "at least one search is required"),
    }
    let widest = searches.iter().map(|s| s.top_k).max().unwrap_or(1);
    let final_top_k = count(params, "final_top_k", Some(widest), MAX_TOP_K, &[], errors);
    let fusion = match params.get("fusion").and_then(Value::as_str) {
        None | Some("rrf") => Fusion::Rrf,
        Some("max") => Fusion::Max,
        Some(other) => {
            errors.push(
                &[key("fusion")],
                format!("fusion '{other}' is not supported; use 'rrf' or 'max'"),
            );
            Fusion::Rrf
        }
    };
    StageKind::FeatureSearch {
        searches,
        final_top_k,
        fusion,
    }
}

fn parse_attribute_filter(params: &Map<String, Value>, errors: &mut StageErrors<'_>) -> StageKind {
    let filter = if let Some(filters) = params.get("filters") {
        refuse_unknown_keys(params, &["filters"], &[], errors);
        filters.clone()
    } else {
        refuse_unknown_keys(params, &["field", "operator", "value"], &[], errors);
        if !params.get("field").is_some_and(Value::is_string) {
            errors.push(&[key("field")], "Field required: the field path to test");
        }
        json!({"AND": [{
            "field": params.get("field").cloned().unwrap_or(Value::Null),
            "operator": params.get("operator").cloned().unwrap_or_else(|| json!("eq")),
            "value": params.get("value").cloned().unwrap_or(Value::Null),
        }]})
    };
    check_templates(&filter, &[], errors);
    if let Err(e) = serde_json::from_value::<LogicalOperator>(filter.clone()) {
        errors.push(&[], format!("not a valid filter: {e}"));
    }
    StageKind::AttributeFilter { filter }
}

fn parse_sort_attribute(params: &Map<String, Value>, errors: &mut StageErrors<'_>) -> StageKind {
    refuse_unknown_keys(params, &["field", "direction"], &[], errors);
    let field = match params.get("field").and_then(Value::as_str) {
        Some(f) if !f.is_empty() => f.to_owned(),
        _ => {
            errors.push(&[key("field")], "Field required: the field path to sort by");
            String::new()
        }
    };
    let descending = match params.get("direction").and_then(Value::as_str) {
        None | Some("desc") => true,
        Some("asc") => false,
        Some(other) => {
            errors.push(
                &[key("direction")],
                format!("direction '{other}' is not 'asc' or 'desc'"),
            );
            true
        }
    };
    StageKind::SortAttribute { field, descending }
}

fn parse_limit(params: &Map<String, Value>, errors: &mut StageErrors<'_>) -> StageKind {
    refuse_unknown_keys(params, &["limit", "offset"], &[], errors);
    let limit = count(params, "limit", None, MAX_CANDIDATES, &[], errors);
    let offset = match params.get("offset") {
        None | Some(Value::Null) => 0,
        Some(v) => v.as_u64().map(|n| n as usize).unwrap_or_else(|| {
            errors.push(&[key("offset")], "must be a non-negative integer");
            0
        }),
    };
    StageKind::Limit { limit, offset }
}

impl Pipeline {
    /// Parses and checks `stages`; every problem is reported, located under `stages`.
    pub fn parse(stages: &[StageConfig]) -> Result<Pipeline, Vec<PlanError>> {
        let mut errors = Vec::new();
        let mut parsed = Vec::with_capacity(stages.len());
        for (i, stage) in stages.iter().enumerate() {
            let base = vec![key("stages"), Loc::Index(i), key("config")];
            let mut errs = StageErrors {
                base: base.clone(),
                errors: &mut errors,
            };
            let Some(stage_id) = stage.config.get("stage_id").and_then(Value::as_str) else {
                errs.push(
                    &[key("stage_id")],
                    format!("Field required: one of {STAGE_IDS}"),
                );
                continue;
            };
            let Some(inferred) = stage_type(stage_id) else {
                errs.push(
                    &[key("stage_id")],
                    format!("stage '{stage_id}' is not one Ferry runs; use one of {STAGE_IDS}"),
                );
                continue;
            };
            if stage.stage_type.is_some_and(|t| t != inferred) {
                errs.errors.push(PlanError {
                    loc: vec![key("stages"), Loc::Index(i), key("stage_type")],
                    msg: format!("stage '{stage_id}' is of type {inferred:?}, not the one given"),
                });
            }
            refuse_unknown_keys(&stage.config, &["stage_id", "parameters"], &[], &mut errs);
            let empty = Map::new();
            let params = match stage.config.get("parameters") {
                None | Some(Value::Null) => &empty,
                Some(Value::Object(p)) => p,
                Some(_) => {
                    errs.push(&[key("parameters")], "parameters must be an object");
                    continue;
                }
            };
            let mut errs = StageErrors {
                base: [base, vec![key("parameters")]].concat(),
                errors: &mut errors,
            };
            let kind = match stage_id {
                "feature_search" => parse_feature_search(params, &mut errs),
                "attribute_filter" => parse_attribute_filter(params, &mut errs),
                "sort_attribute" => parse_sort_attribute(params, &mut errs),
                "sort_relevance" => {
                    refuse_unknown_keys(params, &[], &[], &mut errs);
                    StageKind::SortRelevance
                }
                _ => parse_limit(params, &mut errs),
            };
            parsed.push(Stage {
                name: stage.stage_name.clone(),
                kind,
            });
        }
        if errors.is_empty() {
            Ok(Pipeline { stages: parsed })
        } else {
            Err(errors)
        }
    }

    fn searches(&self) -> impl Iterator<Item = &Search> {
        self.stages.iter().flat_map(|s| match &s.kind {
            StageKind::FeatureSearch { searches, .. } => searches.as_slice(),
            _ => &[],
        })
    }

    /// The feature URIs the pipeline searches, in order of first use.
    pub fn feature_uris(&self) -> Vec<String> {
        let mut seen = Vec::new();
        for s in self.searches() {
            if !seen.contains(&s.feature_uri) {
                seen.push(s.feature_uri.clone());
            }
        }
        seen
    }

    /// The fusion of the first multi-search stage, if any.
    pub fn fusion(&self) -> Option<Fusion> {
        self.stages.iter().find_map(|s| match &s.kind {
            StageKind::FeatureSearch {
                searches, fusion, ..
            } if searches.len() > 1 => Some(*fusion),
            _ => None,
        })
    }

    /// The input names the stages reference.
    pub fn input_names(&self) -> BTreeSet<String> {
        let mut names = BTreeSet::new();
        for stage in &self.stages {
            let value = match &stage.kind {
                StageKind::AttributeFilter { filter } => filter.clone(),
                StageKind::FeatureSearch { searches, .. } => {
                    Value::Array(searches.iter().map(|s| s.value.clone()).collect())
                }
                _ => continue,
            };
            names.extend(template::check(&value).unwrap_or_default());
        }
        names
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stage(config: Value) -> StageConfig {
        StageConfig {
            stage_name: "s".into(),
            stage_type: None,
            config: config.as_object().cloned().unwrap(),
            batch_size: None,
            description: None,
            on_error: None,
            output_alias: None,
        }
    }

    #[test]
    fn parses_the_stages_ferry_runs() {
        let pipeline = Pipeline::parse(&[
            stage(json!({"stage_id": "feature_search", "parameters": {"searches": [
                {"feature_uri": "mixpeek://text_extractor@v1/text_embedding",
                 "query": {"input_mode": "text", "value": "{{INPUT.query}}"}, "top_k": 10}]}})),
            stage(json!({"stage_id": "attribute_filter", "parameters":
                {"field": "metadata.price", "operator": "gt", "value": "{{inputs.min}}"}})),
            stage(json!({"stage_id": "sort_attribute", "parameters": {"field": "n", "direction": "asc"}})),
            stage(json!({"stage_id": "limit", "parameters": {"limit": 5}})),
        ])
        .unwrap();
        assert_eq!(pipeline.stages.len(), 4);
        assert_eq!(
            pipeline.feature_uris(),
            vec!["mixpeek://text_extractor@v1/text_embedding".to_owned()]
        );
        assert_eq!(
            pipeline.input_names().into_iter().collect::<Vec<_>>(),
            vec!["min".to_owned(), "query".to_owned()]
        );
        assert!(matches!(
            pipeline.stages[0].kind,
            StageKind::FeatureSearch {
                final_top_k: 10,
                fusion: Fusion::Rrf,
                ..
            }
        ));
    }

    #[test]
    fn every_problem_is_located() {
        let errors = Pipeline::parse(&[
            stage(json!({"stage_id": "llm_filter", "parameters": {}})),
            stage(
                json!({"stage_id": "feature_search", "parameters": {"searches": [
                {"feature_uri": "nope", "query": "{{x * 2}}"}], "bogus": 1}}),
            ),
            stage(json!({"stage_id": "limit", "parameters": {"limit": 0}})),
        ])
        .unwrap_err();
        let locs: Vec<String> = errors
            .iter()
            .map(|e| {
                e.loc
                    .iter()
                    .map(|l| match l {
                        Loc::Key(k) => k.clone(),
                        Loc::Index(i) => i.to_string(),
                    })
                    .collect::<Vec<_>>()
                    .join(".")
            })
            .collect();
        assert!(
            locs.contains(&"stages.0.config.stage_id".to_owned()),
            "{locs:?}"
        );
        assert!(
            locs.contains(&"stages.1.config.parameters.bogus".to_owned()),
            "{locs:?}"
        );
        assert!(
            locs.contains(&"stages.1.config.parameters.searches.0.feature_uri".to_owned()),
            "{locs:?}"
        );
        assert!(
            locs.contains(&"stages.2.config.parameters.limit".to_owned()),
            "{locs:?}"
        );
    }
}
