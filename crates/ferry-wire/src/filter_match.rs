//! What a filter means: [`Matcher`] evaluates a [`LogicalOperator`] against a JSON record (an
//! object as its response shows it, a document's fields, …). Every place that filters —
//! list endpoints, retriever attribute stages, taxonomy scrolls — uses this one evaluator, so
//! a filter means the same thing wherever it is sent.
//!
//! Semantics, as the SDK documents them and a user would expect:
//! - field paths use dots (`metadata.title`); a missing field is `null`;
//! - string comparisons ignore case unless `case_sensitive` is set (per condition or on an
//!   enclosing operator);
//! - numbers compare as numbers (`1 == 1.0`); strings that both read as datetimes compare as
//!   instants (`created_at gte "2026-01-01T00:00:00"`), other strings lexicographically;
//! - an array field matches `eq`/`in`/`contains` when any element does;
//! - `exists` (value `true`/`false`) tests presence; `is_null` tests null-or-missing;
//! - `text` needs every word of the value in the field, `words` any word, `phrase` the words
//!   in order; words are lower-cased alphanumeric runs;
//! - geo operators read `{lat, lon}` points: `geo_radius` `{center:{lat,lon}, radius}` in
//!   metres, `geo_bounding_box` `{top_left, bottom_right}`, `geo_polygon` `{points:[…]}`.
//!
//! Regular expressions are compiled once, when the matcher is built, so a bad pattern is a 422
//! at the request rather than a failure per record.

use std::cmp::Ordering;

use regex::{Regex, RegexBuilder};
use serde_json::{Map, Value};

use crate::filter::{FilterCondition, FilterNode, FilterOperator, LogicalOperator};
use crate::time::parse_datetime;
use crate::validate::Errors;

/// A compiled filter, ready to test records.
#[derive(Debug, Clone)]
pub struct Matcher {
    root: Node,
}

#[derive(Debug, Clone)]
enum Node {
    All(Vec<Node>),
    Any(Vec<Node>),
    None(Vec<Node>),
    Test(Test),
}

#[derive(Debug, Clone)]
struct Test {
    path: Vec<String>,
    operator: FilterOperator,
    value: Value,
    case_sensitive: bool,
    regex: Option<Regex>,
}

impl Matcher {
    /// Compiles `filter`, reporting bad values (a regex that does not compile, a geo shape
    /// without coordinates, a `DynamicValue` where there are no inputs) into `errors` at their
    /// locations. Returns `None` when anything was reported.
    pub fn compile(filter: &LogicalOperator, errors: &mut Errors) -> Option<Matcher> {
        let before = errors.items.len();
        let root = compile_operator(filter, false, errors);
        (errors.items.len() == before).then_some(Matcher { root })
    }

    /// Whether `record` satisfies the filter.
    pub fn matches(&self, record: &Value) -> bool {
        self.root.matches(record)
    }
}

fn compile_operator(op: &LogicalOperator, enclosing_cs: bool, errors: &mut Errors) -> Node {
    let cs = op.is_case_sensitive(enclosing_cs);
    let mut all = Vec::new();
    for (field, value) in &op.equals {
        all.push(Node::Test(Test {
            path: split_path(field),
            operator: FilterOperator::Eq,
            value: value.clone(),
            case_sensitive: cs,
            regex: None,
        }));
    }
    let list = |key: &'static str, nodes: &Option<Vec<FilterNode>>, errors: &mut Errors| {
        let mut out = Vec::new();
        if let Some(nodes) = nodes {
            errors.at(key, |errors| {
                for (i, node) in nodes.iter().enumerate() {
                    errors.at(i, |errors| {
                        out.push(match node {
                            FilterNode::Condition(c) => compile_condition(c, cs, errors),
                            FilterNode::Operator(o) => compile_operator(o, cs, errors),
                        })
                    });
                }
            });
        }
        out
    };
    let and = list("AND", &op.and, errors);
    let or = list("OR", &op.or, errors);
    let not = list("NOT", &op.not, errors);
    all.extend(and);
    if !or.is_empty() {
        all.push(Node::Any(or));
    }
    if !not.is_empty() {
        all.push(Node::None(not));
    }
    Node::All(all)
}

fn compile_condition(c: &FilterCondition, enclosing_cs: bool, errors: &mut Errors) -> Node {
    let case_sensitive = c.is_case_sensitive(enclosing_cs);
    let mut regex = None;
    if c.value.get("type").and_then(Value::as_str) == Some("dynamic") {
        errors.push(
            "value",
            "value_error",
            "Value error, dynamic values are resolved from retriever inputs and cannot be used here",
        );
    }
    match c.operator {
        FilterOperator::Regex => match c.value.as_str() {
            Some(pattern) => match RegexBuilder::new(pattern)
                .case_insensitive(!case_sensitive)
                .size_limit(1 << 20)
                .build()
            {
                Ok(r) => regex = Some(r),
                Err(e) => errors.push(
                    "value",
                    "value_error",
                    format!("Value error, invalid regular expression: {e}"),
                ),
            },
            None => errors.push(
                "value",
                "string_type",
                "Input should be a valid string (a regular expression)",
            ),
        },
        FilterOperator::In | FilterOperator::Nin if !c.value.is_array() => errors.push(
            "value",
            "value_error",
            "Value error, operators 'in' and 'nin' need a list value",
        ),
        FilterOperator::Exists | FilterOperator::IsNull if !c.value.is_boolean() => errors.push(
            "value",
            "bool_type",
            "Input should be a valid boolean (true tests presence, false absence)",
        ),
        FilterOperator::StartsWith
        | FilterOperator::EndsWith
        | FilterOperator::Text
        | FilterOperator::Phrase
        | FilterOperator::Words
            if !c.value.is_string() =>
        {
            errors.push("value", "string_type", "Input should be a valid string")
        }
        FilterOperator::GeoRadius if geo_radius(&c.value).is_none() => errors.push(
            "value",
            "value_error",
            "Value error, geo_radius needs {\"center\": {\"lat\", \"lon\"}, \"radius\": metres}",
        ),
        FilterOperator::GeoBoundingBox if geo_box(&c.value).is_none() => errors.push(
            "value",
            "value_error",
            "Value error, geo_bounding_box needs {\"top_left\": {\"lat\", \"lon\"}, \
             \"bottom_right\": {\"lat\", \"lon\"}}",
        ),
        FilterOperator::GeoPolygon if geo_polygon(&c.value).is_none_or(|p| p.len() < 3) => errors
            .push(
                "value",
                "value_error",
                "Value error, geo_polygon needs {\"points\": [{\"lat\", \"lon\"}, …]} with at least 3 points",
            ),
        _ => {}
    }
    Node::Test(Test {
        path: split_path(&c.field),
        operator: c.operator,
        value: c.value.clone(),
        case_sensitive,
        regex,
    })
}

fn split_path(field: &str) -> Vec<String> {
    field.split('.').map(str::to_owned).collect()
}

/// The value at a dotted path, `None` when any step is missing.
pub fn lookup<'a>(record: &'a Value, path: &[String]) -> Option<&'a Value> {
    path.iter().try_fold(record, |value, key| match value {
        Value::Object(map) => map.get(key),
        Value::Array(items) => key.parse::<usize>().ok().and_then(|i| items.get(i)),
        _ => None,
    })
}

/// The value at a dotted field name (`metadata.title`).
pub fn lookup_field<'a>(record: &'a Value, field: &str) -> Option<&'a Value> {
    lookup(record, &split_path(field))
}

impl Node {
    fn matches(&self, record: &Value) -> bool {
        match self {
            Node::All(nodes) => nodes.iter().all(|n| n.matches(record)),
            Node::Any(nodes) => nodes.iter().any(|n| n.matches(record)),
            Node::None(nodes) => !nodes.iter().any(|n| n.matches(record)),
            Node::Test(test) => test.matches(record),
        }
    }
}

impl Test {
    fn matches(&self, record: &Value) -> bool {
        let found = lookup(record, &self.path);
        let field = found.unwrap_or(&Value::Null);
        let cs = self.case_sensitive;
        match self.operator {
            FilterOperator::Eq => any_element(field, |v| equal(v, &self.value, cs)),
            FilterOperator::Ne => !any_element(field, |v| equal(v, &self.value, cs)),
            FilterOperator::Gt => ordered(field, &self.value, cs, Ordering::is_gt),
            FilterOperator::Gte => ordered(field, &self.value, cs, Ordering::is_ge),
            FilterOperator::Lt => ordered(field, &self.value, cs, Ordering::is_lt),
            FilterOperator::Lte => ordered(field, &self.value, cs, Ordering::is_le),
            FilterOperator::In => self.in_list(field),
            FilterOperator::Nin => !self.in_list(field),
            FilterOperator::Contains => match field {
                Value::Array(items) => items.iter().any(|v| equal(v, &self.value, cs)),
                Value::String(s) => self
                    .value
                    .as_str()
                    .is_some_and(|needle| fold(s, cs).contains(&fold(needle, cs))),
                Value::Object(map) => self.value.as_str().is_some_and(|k| map.contains_key(k)),
                _ => false,
            },
            FilterOperator::StartsWith => self.with_strings(field, |s, v| s.starts_with(v)),
            FilterOperator::EndsWith => self.with_strings(field, |s, v| s.ends_with(v)),
            FilterOperator::Regex => match (&self.regex, field.as_str()) {
                (Some(r), Some(s)) => r.is_match(s),
                _ => false,
            },
            FilterOperator::Exists => {
                let present = found.is_some_and(|v| !v.is_null());
                present == self.value.as_bool().unwrap_or(true)
            }
            FilterOperator::IsNull => field.is_null() == self.value.as_bool().unwrap_or(true),
            FilterOperator::Text | FilterOperator::Words | FilterOperator::Phrase => {
                let (Some(text), Some(query)) = (field.as_str(), self.value.as_str()) else {
                    return false;
                };
                let have = words(text);
                let want = words(query);
                match self.operator {
                    FilterOperator::Text => want.iter().all(|w| have.contains(w)),
                    FilterOperator::Words => want.iter().any(|w| have.contains(w)),
                    _ => {
                        !want.is_empty()
                            && have
                                .windows(want.len())
                                .any(|window| window == want.as_slice())
                    }
                }
            }
            FilterOperator::GeoRadius => match (point(field), geo_radius(&self.value)) {
                (Some(p), Some((center, radius))) => haversine_m(p, center) <= radius,
                _ => false,
            },
            FilterOperator::GeoBoundingBox => match (point(field), geo_box(&self.value)) {
                (Some((lat, lon)), Some(((top, left), (bottom, right)))) => {
                    (bottom..=top).contains(&lat) && (left..=right).contains(&lon)
                }
                _ => false,
            },
            FilterOperator::GeoPolygon => match (point(field), geo_polygon(&self.value)) {
                (Some(p), Some(points)) => in_polygon(p, &points),
                _ => false,
            },
        }
    }

    fn in_list(&self, field: &Value) -> bool {
        let Some(options) = self.value.as_array() else {
            return false;
        };
        any_element(field, |v| {
            options.iter().any(|o| equal(v, o, self.case_sensitive))
        })
    }

    fn with_strings(&self, field: &Value, test: impl Fn(&str, &str) -> bool) -> bool {
        match (field.as_str(), self.value.as_str()) {
            (Some(s), Some(v)) => {
                test(&fold(s, self.case_sensitive), &fold(v, self.case_sensitive))
            }
            _ => false,
        }
    }
}

/// An array field matches when any element does; anything else is tested itself.
fn any_element(field: &Value, test: impl Fn(&Value) -> bool) -> bool {
    match field {
        Value::Array(items) => items.iter().any(&test) || test(field),
        other => test(other),
    }
}

fn fold(s: &str, case_sensitive: bool) -> String {
    if case_sensitive {
        s.to_owned()
    } else {
        s.to_lowercase()
    }
}

fn equal(a: &Value, b: &Value, case_sensitive: bool) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::String(x), Value::String(y)) => {
            if case_sensitive {
                x == y
            } else {
                x.to_lowercase() == y.to_lowercase()
            }
        }
        _ => a == b,
    }
}

fn ordered(a: &Value, b: &Value, cs: bool, test: fn(Ordering) -> bool) -> bool {
    compare(a, b, cs).is_some_and(test)
}

/// Orders two values of the same kind: numbers numerically, datetimes as instants, other
/// strings lexicographically; `None` for values that do not compare (a number and a string).
pub fn compare(a: &Value, b: &Value, case_sensitive: bool) -> Option<Ordering> {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64()?.partial_cmp(&y.as_f64()?),
        (Value::String(x), Value::String(y)) => {
            if let (Some(x), Some(y)) = (parse_datetime(x), parse_datetime(y)) {
                return Some(x.cmp(&y));
            }
            Some(fold(x, case_sensitive).cmp(&fold(y, case_sensitive)))
        }
        (Value::Bool(x), Value::Bool(y)) => Some(x.cmp(y)),
        _ => None,
    }
}

/// Orders two field values for sorting: comparable values by [`compare`], and otherwise by
/// kind (null < bool < number < string < array < object), so every record has a place.
pub fn sort_order(a: &Value, b: &Value) -> Ordering {
    fn rank(v: &Value) -> u8 {
        match v {
            Value::Null => 0,
            Value::Bool(_) => 1,
            Value::Number(_) => 2,
            Value::String(_) => 3,
            Value::Array(_) => 4,
            Value::Object(_) => 5,
        }
    }
    compare(a, b, true).unwrap_or_else(|| rank(a).cmp(&rank(b)))
}

fn words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect()
}

type Point = (f64, f64);

fn point(v: &Value) -> Option<Point> {
    let map: &Map<String, Value> = v.as_object()?;
    let lat = map.get("lat")?.as_f64()?;
    let lon = map.get("lon").or_else(|| map.get("lng"))?.as_f64()?;
    Some((lat, lon))
}

fn geo_radius(v: &Value) -> Option<(Point, f64)> {
    let center = point(v.get("center")?)?;
    let radius = v.get("radius")?.as_f64()?;
    (radius >= 0.0).then_some((center, radius))
}

fn geo_box(v: &Value) -> Option<(Point, Point)> {
    Some((point(v.get("top_left")?)?, point(v.get("bottom_right")?)?))
}

fn geo_polygon(v: &Value) -> Option<Vec<Point>> {
    v.get("points")?.as_array()?.iter().map(point).collect()
}

/// Great-circle distance in metres.
fn haversine_m((lat1, lon1): Point, (lat2, lon2): Point) -> f64 {
    const EARTH_RADIUS_M: f64 = 6_371_008.8;
    let (p1, p2) = (lat1.to_radians(), lat2.to_radians());
    let dp = p2 - p1;
    let dl = (lon2 - lon1).to_radians();
    let h = (dp / 2.0).sin().powi(2) + p1.cos() * p2.cos() * (dl / 2.0).sin().powi(2);
    2.0 * EARTH_RADIUS_M * h.sqrt().asin()
}

/// Even-odd ray casting on (lat, lon) as plane coordinates: exact enough for the polygons a
/// filter names, which are small next to the earth.
fn in_polygon((y, x): Point, points: &[Point]) -> bool {
    let mut inside = false;
    let mut j = points.len() - 1;
    for i in 0..points.len() {
        let (yi, xi) = points[i];
        let (yj, xj) = points[j];
        if (yi > y) != (yj > y) && x < (xj - xi) * (y - yi) / (yj - yi) + xi {
            inside = !inside;
        }
        j = i;
    }
    inside
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn matcher(filter: Value) -> Matcher {
        let op: LogicalOperator = serde_json::from_value(filter).unwrap();
        let mut errors = Errors::new();
        Matcher::compile(&op, &mut errors).unwrap_or_else(|| panic!("{errors:?}"))
    }

    fn errors_of(filter: Value) -> Vec<String> {
        let op: LogicalOperator = serde_json::from_value(filter).unwrap();
        let mut errors = Errors::new();
        assert!(Matcher::compile(&op, &mut errors).is_none());
        errors
            .items
            .into_iter()
            .map(|e| {
                let loc: Vec<String> = e
                    .loc
                    .iter()
                    .map(|l| match l {
                        crate::Loc::Key(k) => k.clone(),
                        crate::Loc::Index(i) => i.to_string(),
                    })
                    .collect();
                format!("{}: {}", loc.join("."), e.kind)
            })
            .collect()
    }

    #[test]
    fn comparisons_by_kind() {
        let rec = json!({"n": 3, "title": "Hello World", "at": "2026-03-01T10:00:00Z",
                         "tags": ["a", "B"], "meta": {"lang": "en"}});
        assert!(matcher(json!({"n": 3.0})).matches(&rec));
        assert!(matcher(json!({"title": "hello world"})).matches(&rec));
        assert!(!matcher(json!({"title": "hello world", "case_sensitive": true})).matches(&rec));
        assert!(matcher(json!({"meta.lang": "EN"})).matches(&rec));
        assert!(
            matcher(json!({"AND": [{"field": "n", "operator": "gt", "value": 2}]})).matches(&rec)
        );
        assert!(
            !matcher(json!({"AND": [{"field": "n", "operator": "gt", "value": 3}]})).matches(&rec)
        );
        // Datetimes compare as instants whatever their spelling.
        assert!(matcher(json!({"AND": [{"field": "at", "operator": "gte",
                                        "value": "2026-03-01T12:00:00+02:00"}]}))
        .matches(&rec));
        assert!(!matcher(
            json!({"AND": [{"field": "at", "operator": "lt", "value": "2026-02-01T00:00:00"}]})
        )
        .matches(&rec));
        assert!(
            matcher(json!({"AND": [{"field": "tags", "operator": "contains", "value": "b"}]}))
                .matches(&rec)
        );
        assert!(matcher(json!({"tags": "a"})).matches(&rec));
        assert!(
            matcher(json!({"AND": [{"field": "n", "operator": "in", "value": [1, 3]}]}))
                .matches(&rec)
        );
        assert!(
            matcher(json!({"AND": [{"field": "n", "operator": "nin", "value": [1, 2]}]}))
                .matches(&rec)
        );
        // A number never orders against a string.
        assert!(
            !matcher(json!({"AND": [{"field": "n", "operator": "lt", "value": "9"}]}))
                .matches(&rec)
        );
    }

    #[test]
    fn logic_presence_and_text() {
        let rec = json!({"title": "The quick brown fox", "gone": null});
        assert!(matcher(json!({"OR": [{"field": "title", "operator": "eq", "value": "x"},
                                     {"field": "title", "operator": "starts_with", "value": "the"}]}))
        .matches(&rec));
        assert!(!matcher(
            json!({"NOT": [{"field": "title", "operator": "ends_with", "value": "FOX"}]})
        )
        .matches(&rec));
        assert!(matcher(
            json!({"AND": [{"field": "gone", "operator": "exists", "value": false},
                                      {"field": "missing", "operator": "is_null", "value": true},
                                      {"field": "title", "operator": "exists", "value": true}]})
        )
        .matches(&rec));
        assert!(matcher(
            json!({"AND": [{"field": "title", "operator": "text", "value": "fox quick"}]})
        )
        .matches(&rec));
        assert!(!matcher(
            json!({"AND": [{"field": "title", "operator": "phrase", "value": "fox quick"}]})
        )
        .matches(&rec));
        assert!(matcher(
            json!({"AND": [{"field": "title", "operator": "phrase", "value": "quick brown"}]})
        )
        .matches(&rec));
        assert!(matcher(
            json!({"AND": [{"field": "title", "operator": "words", "value": "cat fox"}]})
        )
        .matches(&rec));
        assert!(matcher(
            json!({"AND": [{"field": "title", "operator": "regex", "value": "^the .* FOX$"}]})
        )
        .matches(&rec));
        assert!(matcher(json!({})).matches(&rec));
    }

    #[test]
    fn geo_shapes() {
        let paris = json!({"loc": {"lat": 48.8566, "lon": 2.3522}});
        assert!(
            matcher(json!({"AND": [{"field": "loc", "operator": "geo_radius",
            "value": {"center": {"lat": 48.86, "lon": 2.35}, "radius": 1000}}]}))
            .matches(&paris)
        );
        assert!(
            !matcher(json!({"AND": [{"field": "loc", "operator": "geo_radius",
            "value": {"center": {"lat": 51.5, "lon": -0.12}, "radius": 100000}}]}))
            .matches(&paris)
        );
        assert!(matcher(
            json!({"AND": [{"field": "loc", "operator": "geo_bounding_box",
            "value": {"top_left": {"lat": 50, "lon": 0}, "bottom_right": {"lat": 40, "lon": 10}}}]})
        )
        .matches(&paris));
        assert!(matcher(json!({"AND": [{"field": "loc", "operator": "geo_polygon",
            "value": {"points": [{"lat": 40, "lon": 0}, {"lat": 50, "lon": 0}, {"lat": 50, "lon": 10}]}}]}))
        .matches(&paris));
    }

    #[test]
    fn bad_values_are_located() {
        assert_eq!(
            errors_of(
                json!({"AND": [{"field": "t", "operator": "regex", "value": "("}],
                             "OR": [{"field": "n", "operator": "in", "value": 3}]})
            ),
            vec!["AND.0.value: value_error", "OR.0.value: value_error"]
        );
        assert_eq!(
            errors_of(json!({"AND": [{"field": "t", "operator": "eq",
                                      "value": {"type": "dynamic", "field": "inputs.q"}}]})),
            vec!["AND.0.value: value_error"]
        );
    }
}
