//! `{{INPUT.name}}` templates in stage parameters, resolved against an execution's inputs.
//!
//! Mixpeek evaluates stage parameters as Jinja2. Ferry implements the part every retriever
//! uses, input references (`{{INPUT.x}}`, `{{inputs.x.y}}`, any case of the namespace), and
//! refuses every other expression when the retriever is created, rather than accepting a
//! template it would later render wrongly. A parameter that is exactly one reference takes
//! the input's JSON value (a vector stays a vector); a reference inside longer text is
//! replaced by the value's text.

use serde_json::{Map, Value};

/// One `{{ … }}` reference: the input path it names.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Reference {
    /// Byte range of `{{ … }}` in the string.
    start: usize,
    end: usize,
    /// `["query"]` for `{{INPUT.query}}`.
    path: Vec<String>,
}

const INPUT_NAMESPACES: [&str; 2] = ["input", "inputs"];

fn parse_references(text: &str) -> Result<Vec<Reference>, String> {
    let mut references = Vec::new();
    let mut from = 0;
    while let Some(open) = text[from..].find("{{").map(|i| i + from) {
        let close = text[open..]
            .find("}}")
            .map(|i| i + open)
            .ok_or_else(|| format!("unclosed template in '{text}'"))?;
        let expression = text[open + 2..close].trim();
        let mut parts = expression.split('.');
        let namespace = parts.next().unwrap_or_default().to_ascii_lowercase();
        let path: Vec<String> = parts.map(str::to_owned).collect();
        let simple = |s: &String| {
            !s.is_empty()
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        };
        if !INPUT_NAMESPACES.contains(&namespace.as_str())
            || path.is_empty()
            || !path.iter().all(simple)
        {
            return Err(format!(
                "template '{{{{{expression}}}}}' is not supported: Ferry resolves input \
                 references such as {{{{INPUT.query}}}} only"
            ));
        }
        references.push(Reference {
            start: open,
            end: close + 2,
            path,
        });
        from = close + 2;
    }
    Ok(references)
}

/// Checks every template in `value`; returns the input names they reference.
pub fn check(value: &Value) -> Result<Vec<String>, String> {
    let mut names = Vec::new();
    walk(value, &mut |text| {
        for r in parse_references(text)? {
            names.push(r.path[0].clone());
        }
        Ok(())
    })?;
    Ok(names)
}

fn walk(value: &Value, f: &mut impl FnMut(&str) -> Result<(), String>) -> Result<(), String> {
    match value {
        Value::String(s) => f(s),
        Value::Array(items) => items.iter().try_for_each(|v| walk(v, f)),
        Value::Object(map) => map.values().try_for_each(|v| walk(v, f)),
        _ => Ok(()),
    }
}

fn lookup<'a>(inputs: &'a Map<String, Value>, path: &[String]) -> Option<&'a Value> {
    let (first, rest) = path.split_first()?;
    rest.iter()
        .try_fold(inputs.get(first)?, |v, key| v.get(key.as_str()))
}

/// `value` with every template replaced from `inputs`. A reference to a missing input is an
/// error naming it.
pub fn render(value: &Value, inputs: &Map<String, Value>) -> Result<Value, String> {
    Ok(match value {
        Value::String(text) => {
            let references = parse_references(text)?;
            if references.is_empty() {
                return Ok(value.clone());
            }
            let resolve = |r: &Reference| {
                lookup(inputs, &r.path).ok_or_else(|| {
                    format!("input '{}' is required by the retriever", r.path.join("."))
                })
            };
            if references.len() == 1 && references[0].start == 0 && references[0].end == text.len()
            {
                return resolve(&references[0]).cloned();
            }
            let mut out = String::with_capacity(text.len());
            let mut at = 0;
            for r in &references {
                out.push_str(&text[at..r.start]);
                match resolve(r)? {
                    Value::String(s) => out.push_str(s),
                    other => out.push_str(&other.to_string()),
                }
                at = r.end;
            }
            out.push_str(&text[at..]);
            Value::String(out)
        }
        Value::Array(items) => Value::Array(
            items
                .iter()
                .map(|v| render(v, inputs))
                .collect::<Result<_, _>>()?,
        ),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| Ok((k.clone(), render(v, inputs)?)))
                .collect::<Result<_, String>>()?,
        ),
        other => other.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn inputs() -> Map<String, Value> {
        json!({"query": "red fox", "min": 3, "v": [0.5, 0.5], "o": {"k": "deep"}})
            .as_object()
            .cloned()
            .unwrap()
    }

    #[test]
    fn a_whole_reference_keeps_the_inputs_type_and_any_case_of_namespace_works() {
        let rendered = render(
            &json!({"a": "{{INPUT.min}}", "b": "{{ inputs.v }}", "c": "{{Input.o.k}}"}),
            &inputs(),
        )
        .unwrap();
        assert_eq!(rendered, json!({"a": 3, "b": [0.5, 0.5], "c": "deep"}));
    }

    #[test]
    fn references_inside_text_are_interpolated() {
        let rendered = render(&json!("find {{INPUT.query}} x{{INPUT.min}}"), &inputs()).unwrap();
        assert_eq!(rendered, json!("find red fox x3"));
    }

    #[test]
    fn a_missing_input_is_an_error_naming_it() {
        let err = render(&json!("{{INPUT.nope}}"), &inputs()).unwrap_err();
        assert!(err.contains("'nope'"), "{err}");
    }

    #[test]
    fn expressions_and_other_namespaces_are_refused_at_check() {
        for bad in [
            "{{20 * inputs.page_size}}",
            "{{DOC.title}}",
            "{{INPUT.}}",
            "{{INPUT.a",
        ] {
            assert!(check(&json!(bad)).is_err(), "{bad}");
        }
        assert_eq!(
            check(&json!({"x": ["{{INPUT.query}}", "{{inputs.min}}"]})).unwrap(),
            vec!["query".to_owned(), "min".to_owned()]
        );
    }
}
