//! Filters and sorts of list bodies, shaped as the SDK's `LogicalOperator`, `FilterCondition`,
//! `FilterOperator` and `SortOption`. Every data-plane list (collections, documents, tasks, and
//! collection `source_filters` / taxonomy `scroll_filters`) reads these.
//!
//! A `LogicalOperator` holds `AND` / `OR` / `NOT` lists whose items are either conditions
//! (`{field, operator, value}`) or nested operators, plus the shorthand the spec documents:
//! any other key is an equality test (`{"metadata.title": "x"}`). The SDK's generated client
//! cannot tell the two item kinds apart either: it parses every condition as a `LogicalOperator`
//! and sends it back with `case_sensitive: false` added, so conditions accept `case_sensitive`.
//!
//! Items are told apart by their keys, read once, without buffering the document, so a bad
//! operator deep in a tree is reported at its own location (`…, "AND", 0, "operator"`) as an
//! `enum` error.

use std::fmt;

use serde::de::{self, MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};
use utoipa::ToSchema;

use crate::namespace::SortDirection;
use crate::validate::{Errors, Validate};

/// Comparison operator of a filter condition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema, Default)]
#[serde(rename_all = "snake_case")]
pub enum FilterOperator {
    #[default]
    Eq,
    Ne,
    Gt,
    Lt,
    Gte,
    Lte,
    In,
    Nin,
    Contains,
    StartsWith,
    EndsWith,
    Regex,
    Exists,
    IsNull,
    Text,
    Phrase,
    Words,
    GeoRadius,
    GeoBoundingBox,
    GeoPolygon,
}

/// A single filter condition: `field` compared with `value` by `operator`.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct FilterCondition {
    /// Field name to filter on; dot notation reaches nested fields.
    pub field: String,
    /// Comparison operator; `eq` when absent.
    pub operator: FilterOperator,
    /// Value to compare against: any JSON value, or a `DynamicValue`
    /// (`{"type": "dynamic", "field": "inputs.x"}`) that retrievers resolve at run time.
    #[schema(value_type = Object)]
    pub value: Value,
    /// Case-sensitive matching for this condition. See [`FilterCondition::is_case_sensitive`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub case_sensitive: Option<bool>,
}

impl FilterCondition {
    /// Whether this condition matches case-sensitively inside operators of which any says
    /// `enclosing`. `true` anywhere on the way down wins: the SDK writes `case_sensitive: false`
    /// into every nested item it sends, so a `false` there says nothing about the caller's
    /// intent and must not undo an enclosing `true`.
    pub fn is_case_sensitive(&self, enclosing: bool) -> bool {
        enclosing || self.case_sensitive == Some(true)
    }
}

/// A logical operation (AND, OR, NOT) on filter conditions, nestable.
#[derive(Debug, Clone, Default, PartialEq, Serialize, ToSchema)]
pub struct LogicalOperator {
    /// All conditions must be true.
    #[serde(rename = "AND", skip_serializing_if = "Option::is_none")]
    pub and: Option<Vec<FilterNode>>,
    /// At least one condition must be true.
    #[serde(rename = "OR", skip_serializing_if = "Option::is_none")]
    pub or: Option<Vec<FilterNode>>,
    /// All conditions must be false.
    #[serde(rename = "NOT", skip_serializing_if = "Option::is_none")]
    pub not: Option<Vec<FilterNode>>,
    /// Whether to perform case-sensitive matching; false when absent. It holds for everything
    /// inside, whatever nested items say (see [`FilterCondition::is_case_sensitive`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub case_sensitive: Option<bool>,
    /// Shorthand equality tests: every other key is a field path, its value the value it must
    /// equal.
    #[serde(flatten)]
    pub equals: Map<String, Value>,
}

/// One item of an `AND` / `OR` / `NOT` list. (`no_recursion` stops OpenAPI schema collection
/// at the operator it came from; whoever names the operator collects it.)
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(untagged)]
pub enum FilterNode {
    Condition(FilterCondition),
    #[schema(no_recursion)]
    Operator(LogicalOperator),
}

impl LogicalOperator {
    /// Whether items inside match case-sensitively, given the operators enclosing this one.
    pub fn is_case_sensitive(&self, enclosing: bool) -> bool {
        enclosing || self.case_sensitive == Some(true)
    }

    /// True when the operator tests nothing, so it matches everything.
    pub fn is_empty(&self) -> bool {
        self.and.as_ref().is_none_or(Vec::is_empty)
            && self.or.as_ref().is_none_or(Vec::is_empty)
            && self.not.as_ref().is_none_or(Vec::is_empty)
            && self.equals.is_empty()
    }
}

/// Keys a condition may hold, as named in `extra_forbidden` errors.
const CONDITION_KEYS: &[&str] = &["field", "operator", "value", "case_sensitive"];

/// Reads one node key by key. Conditions are recognised by `field`, `operator` or `value`;
/// anything else is an operator whose unknown keys are shorthand equality tests.
struct NodeVisitor;

impl<'de> Visitor<'de> for NodeVisitor {
    type Value = FilterNode;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a filter object: {field, operator, value} or {AND, OR, NOT}")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<FilterNode, A::Error> {
        let mut field: Option<String> = None;
        let mut operator: Option<FilterOperator> = None;
        let mut value: Option<Value> = None;
        let mut and: Option<Option<Vec<FilterNode>>> = None;
        let mut or: Option<Option<Vec<FilterNode>>> = None;
        let mut not: Option<Option<Vec<FilterNode>>> = None;
        let mut case_sensitive: Option<Option<bool>> = None;
        let mut equals = Map::new();

        fn once<T, E: de::Error>(slot: &mut Option<T>, key: &'static str, v: T) -> Result<(), E> {
            if slot.is_some() {
                return Err(E::duplicate_field(key));
            }
            *slot = Some(v);
            Ok(())
        }

        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "field" => once(&mut field, "field", map.next_value()?)?,
                "operator" => once(&mut operator, "operator", map.next_value()?)?,
                "value" => once(&mut value, "value", map.next_value()?)?,
                "AND" => once(&mut and, "AND", map.next_value()?)?,
                "OR" => once(&mut or, "OR", map.next_value()?)?,
                "NOT" => once(&mut not, "NOT", map.next_value()?)?,
                "case_sensitive" => once(&mut case_sensitive, "case_sensitive", map.next_value()?)?,
                _ => {
                    let v: Value = map.next_value()?;
                    if equals.insert(key.clone(), v).is_some() {
                        return Err(de::Error::custom(format!("duplicate field `{key}`")));
                    }
                }
            }
        }

        let case_sensitive = case_sensitive.flatten();
        if field.is_some() || operator.is_some() || value.is_some() {
            if and.is_some() || or.is_some() || not.is_some() {
                return Err(de::Error::custom(
                    "a filter condition ({field, operator, value}) cannot also hold AND, OR or NOT",
                ));
            }
            if let Some(extra) = equals.keys().next() {
                return Err(de::Error::unknown_field(extra, CONDITION_KEYS));
            }
            return Ok(FilterNode::Condition(FilterCondition {
                field: field.ok_or_else(|| de::Error::missing_field("field"))?,
                operator: operator.unwrap_or_default(),
                value: value.ok_or_else(|| de::Error::missing_field("value"))?,
                case_sensitive,
            }));
        }
        Ok(FilterNode::Operator(LogicalOperator {
            and: and.flatten(),
            or: or.flatten(),
            not: not.flatten(),
            case_sensitive,
            equals,
        }))
    }
}

impl<'de> Deserialize<'de> for FilterNode {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(NodeVisitor)
    }
}

impl<'de> Deserialize<'de> for LogicalOperator {
    /// A bare condition where an operator is expected is read as `{"AND": [condition]}`: the
    /// spec's shorthand would otherwise turn it into equality tests on fields named `field`,
    /// `operator` and `value`, which no caller means.
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Ok(match deserializer.deserialize_map(NodeVisitor)? {
            FilterNode::Operator(op) => op,
            condition @ FilterNode::Condition(_) => LogicalOperator {
                and: Some(vec![condition]),
                ..LogicalOperator::default()
            },
        })
    }
}

fn validate_nodes(errors: &mut Errors, key: &str, nodes: &Option<Vec<FilterNode>>) {
    let Some(nodes) = nodes else { return };
    errors.at(key, |errors| {
        for (i, node) in nodes.iter().enumerate() {
            errors.at(i, |errors| match node {
                FilterNode::Condition(c) => c.validate(errors),
                FilterNode::Operator(op) => op.validate(errors),
            });
        }
    });
}

impl Validate for FilterCondition {
    fn validate(&self, errors: &mut Errors) {
        // `in` / `nin` test membership; a scalar there is a caller's mistake that would
        // otherwise match nothing silently.
        if matches!(self.operator, FilterOperator::In | FilterOperator::Nin)
            && !self.value.is_array()
            && !is_dynamic(&self.value)
        {
            errors.push(
                "value",
                "value_error",
                "Value error, operators 'in' and 'nin' need a list value",
            );
        }
    }
}

/// A `DynamicValue`: resolved from a retriever's inputs at run time.
fn is_dynamic(value: &Value) -> bool {
    value.get("type").and_then(Value::as_str) == Some("dynamic")
}

impl Validate for LogicalOperator {
    fn validate(&self, errors: &mut Errors) {
        validate_nodes(errors, "AND", &self.and);
        validate_nodes(errors, "OR", &self.or);
        validate_nodes(errors, "NOT", &self.not);
    }
}

/// Specifies how to sort query results.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SortOption {
    /// Field to sort by, supports dot notation for nested fields.
    pub field: String,
    /// Sort direction; ascending when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub direction: Option<SortDirection>,
}

impl SortOption {
    /// The direction, defaulting as the spec does (`asc`).
    pub fn direction(&self) -> SortDirection {
        self.direction.unwrap_or(SortDirection::Asc)
    }

    pub fn descending(&self) -> bool {
        self.direction() == SortDirection::Desc
    }

    /// Reads a `sort` query parameter: JSON (`{"field":"created_at","direction":"desc"}`) or
    /// the compact `field:direction` form (`created_at:desc`, or a bare `created_at`).
    pub fn from_query(text: &str) -> Result<SortOption, String> {
        let trimmed = text.trim();
        if trimmed.starts_with('{') {
            return serde_json::from_str(trimmed).map_err(|e| e.to_string());
        }
        let (field, direction) = match trimmed.rsplit_once(':') {
            Some((field, "asc")) => (field, Some(SortDirection::Asc)),
            Some((field, "desc")) => (field, Some(SortDirection::Desc)),
            Some((_, other)) => {
                return Err(format!(
                    "unknown sort direction '{other}', expected asc or desc"
                ))
            }
            None => (trimmed, None),
        };
        if field.is_empty() {
            return Err("sort names no field".into());
        }
        Ok(SortOption {
            field: field.to_owned(),
            direction,
        })
    }
}

/// Reads a `filters` query parameter (URL-decoded JSON in `LogicalOperator` shape) and checks
/// it, reporting problems as they would be reported in a body, located under `field`.
pub fn filters_from_query(
    errors: &mut Errors,
    field: &str,
    text: Option<&str>,
) -> Option<LogicalOperator> {
    let text = text?;
    match serde_json::from_str::<LogicalOperator>(text) {
        Ok(filters) => {
            errors.at(field, |errors| filters.validate(errors));
            Some(filters)
        }
        Err(e) => {
            let kind = match e.classify() {
                serde_json::error::Category::Syntax | serde_json::error::Category::Eof => {
                    "json_invalid"
                }
                _ if e.to_string().starts_with("unknown variant") => "enum",
                _ if e.to_string().starts_with("unknown field") => "extra_forbidden",
                _ if e.to_string().starts_with("missing field") => "missing",
                _ => "value_error",
            };
            errors.push(field, kind, format!("Invalid filters: {e}"));
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(v: Value) -> Result<LogicalOperator, String> {
        serde_json::from_value(v).map_err(|e| e.to_string())
    }

    #[test]
    fn sdk_serialized_filters_parse_as_conditions_and_groups() {
        // What `LogicalOperatorInput.from_dict(...)` sends back through the SDK: every condition
        // gains `case_sensitive: false`.
        let f = parse(json!({
            "AND": [
                {"case_sensitive": false, "field": "x", "operator": "eq", "value": "y"},
                {"OR": [{"case_sensitive": false, "field": "n", "operator": "gte", "value": 3}],
                 "case_sensitive": false}
            ],
            "case_sensitive": false,
            "metadata.title": "t"
        }))
        .unwrap();
        let and = f.and.as_ref().unwrap();
        assert_eq!(
            and[0],
            FilterNode::Condition(FilterCondition {
                field: "x".into(),
                operator: FilterOperator::Eq,
                value: json!("y"),
                case_sensitive: Some(false),
            })
        );
        let FilterNode::Operator(inner) = &and[1] else {
            panic!("nested operator expected")
        };
        let FilterNode::Condition(c) = &inner.or.as_ref().unwrap()[0] else {
            panic!("condition expected")
        };
        assert_eq!(c.operator, FilterOperator::Gte);
        assert_eq!(f.equals.get("metadata.title"), Some(&json!("t")));
        // The SDK's `false` on nested items does not undo a `true` above them.
        assert!(c.is_case_sensitive(inner.is_case_sensitive(true)));
        assert!(!c.is_case_sensitive(inner.is_case_sensitive(false)));
        assert!(f.validation_errors().is_empty());
    }

    #[test]
    fn operator_defaults_to_eq_and_null_value_is_kept() {
        let f = parse(json!({"AND": [{"field": "deleted_at", "value": null}]})).unwrap();
        let FilterNode::Condition(c) = &f.and.unwrap()[0] else {
            panic!()
        };
        assert_eq!(c.operator, FilterOperator::Eq);
        assert_eq!(c.value, Value::Null);
    }

    #[test]
    fn unknown_operator_is_an_enum_error() {
        let err =
            parse(json!({"AND": [{"field": "x", "operator": "like", "value": 1}]})).unwrap_err();
        assert!(err.starts_with("unknown variant `like`"), "{err}");
    }

    #[test]
    fn condition_without_value_or_with_stray_keys_is_refused() {
        let err = parse(json!({"OR": [{"field": "x", "operator": "exists"}]})).unwrap_err();
        assert!(err.starts_with("missing field `value`"), "{err}");
        let err = parse(json!({"OR": [{"field": "x", "value": 1, "colour": 2}]})).unwrap_err();
        assert!(err.starts_with("unknown field `colour`"), "{err}");
        let err = parse(json!({"OR": [{"operator": "eq", "value": 1}]})).unwrap_err();
        assert!(err.starts_with("missing field `field`"), "{err}");
        let err = parse(json!({"AND": [{"field": "x", "value": 1, "AND": []}]})).unwrap_err();
        assert!(err.contains("cannot also hold"), "{err}");
    }

    #[test]
    fn bare_condition_at_the_top_becomes_and() {
        let f = parse(json!({"field": "status", "operator": "ne", "value": "FAILED"})).unwrap();
        assert_eq!(f.and.as_ref().map(Vec::len), Some(1));
        assert!(f.equals.is_empty());
    }

    #[test]
    fn in_needs_a_list() {
        let f = parse(json!({"NOT": [{"AND": [{"field": "x", "operator": "in", "value": 3}]}]}))
            .unwrap();
        let errors = f.validation_errors();
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].kind, "value_error");
        let loc: Vec<Value> = errors[0]
            .loc
            .iter()
            .map(|l| serde_json::to_value(l).unwrap())
            .collect();
        assert_eq!(
            loc,
            vec![
                json!("NOT"),
                json!(0),
                json!("AND"),
                json!(0),
                json!("value")
            ]
        );
    }

    #[test]
    fn filters_round_trip() {
        let v = json!({
            "AND": [{"field": "a", "operator": "in", "value": [1, 2]}],
            "NOT": [{"OR": [{"field": "b", "operator": "eq", "value": "c", "case_sensitive": true}]}],
            "case_sensitive": true,
            "tag": "x"
        });
        let f = parse(v.clone()).unwrap();
        assert_eq!(serde_json::to_value(&f).unwrap(), v);
    }

    #[test]
    fn sort_query_forms() {
        assert_eq!(
            SortOption::from_query("created_at:desc").unwrap(),
            SortOption {
                field: "created_at".into(),
                direction: Some(SortDirection::Desc)
            }
        );
        assert_eq!(
            SortOption::from_query(r#"{"field":"metadata.n","direction":"asc"}"#)
                .unwrap()
                .direction(),
            SortDirection::Asc
        );
        assert_eq!(
            SortOption::from_query("name").unwrap().direction(),
            SortDirection::Asc
        );
        assert!(SortOption::from_query("name:sideways").is_err());
        assert!(SortOption::from_query(r#"{"field":"a","order":"asc"}"#).is_err());
    }

    #[test]
    fn query_filters_report_their_kind() {
        let mut errors = Errors::new();
        assert!(filters_from_query(&mut errors, "filters", Some("{not json")).is_none());
        assert_eq!(errors.items[0].kind, "json_invalid");
        let mut errors = Errors::new();
        let text = r#"{"AND":[{"field":"a","operator":"almost","value":1}]}"#;
        assert!(filters_from_query(&mut errors, "filters", Some(text)).is_none());
        assert_eq!(errors.items[0].kind, "enum");
        let mut errors = Errors::new();
        let text = r#"{"AND":[{"field":"a","operator":"eq","value":1}]}"#;
        assert!(filters_from_query(&mut errors, "filters", Some(text)).is_some());
        assert!(errors.items.is_empty());
    }
}
