//! Request-level validation in FastAPI's vocabulary.
//!
//! serde rejects malformed JSON, wrong types, unknown keys and unknown enum values while it
//! parses; what the spec states beyond types (bounds, lengths, patterns) is checked here, after
//! parsing, so every violation is reported with the `loc`/`msg`/`type` a Mixpeek client expects.

use serde::Serialize;

/// One segment of an error location: an object key or an array index.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum Loc {
    Key(String),
    Index(usize),
}

impl From<&str> for Loc {
    fn from(key: &str) -> Self {
        Loc::Key(key.to_owned())
    }
}

impl From<usize> for Loc {
    fn from(index: usize) -> Self {
        Loc::Index(index)
    }
}

impl From<&Loc> for serde_json::Value {
    /// A segment as it stands in a JSON `loc` array: a string or an integer.
    fn from(segment: &Loc) -> Self {
        match segment {
            Loc::Key(k) => serde_json::Value::String(k.clone()),
            Loc::Index(i) => serde_json::Value::from(*i),
        }
    }
}

/// A violation found in a request, located relative to the request body.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldError {
    pub loc: Vec<Loc>,
    pub msg: String,
    /// Pydantic's error type, e.g. `greater_than_equal`, `string_too_short`, `missing`.
    pub kind: &'static str,
}

impl FieldError {
    /// The location as a JSON `loc` array: strings for keys, integers for indexes.
    pub fn loc_values(&self) -> Vec<serde_json::Value> {
        self.loc.iter().map(serde_json::Value::from).collect()
    }
}

/// Collects violations while walking a request. `at` scopes the location of nested checks.
#[derive(Debug, Default)]
pub struct Errors {
    prefix: Vec<Loc>,
    pub items: Vec<FieldError>,
}

impl Errors {
    pub fn new() -> Self {
        Self::default()
    }

    /// Runs `f` with `segment` appended to the current location.
    pub fn at(&mut self, segment: impl Into<Loc>, f: impl FnOnce(&mut Errors)) {
        self.prefix.push(segment.into());
        f(self);
        self.prefix.pop();
    }

    /// Validates `value`, when there is one, with its errors located below `segment`.
    pub fn nested<T: Validate>(&mut self, segment: impl Into<Loc>, value: Option<&T>) {
        if let Some(value) = value {
            self.at(segment, |errors| value.validate(errors));
        }
    }

    /// Validates each of `items`, when there are any, located below `segment` and its index.
    pub fn each<T: Validate>(&mut self, segment: impl Into<Loc>, items: Option<&[T]>) {
        let Some(items) = items else { return };
        self.at(segment, |errors| {
            for (i, item) in items.iter().enumerate() {
                errors.at(i, |errors| item.validate(errors));
            }
        });
    }

    /// The current location, for errors about the value at it rather than a field below it.
    pub fn location(&self) -> Vec<Loc> {
        self.prefix.clone()
    }

    /// Records an error about the value at the current location.
    pub fn push_here(&mut self, kind: &'static str, msg: impl Into<String>) {
        let loc = self.location();
        self.items.push(FieldError {
            loc,
            msg: msg.into(),
            kind,
        });
    }

    pub fn push(&mut self, field: &str, kind: &'static str, msg: impl Into<String>) {
        let mut loc = self.prefix.clone();
        loc.push(Loc::Key(field.to_owned()));
        self.items.push(FieldError {
            loc,
            msg: msg.into(),
            kind,
        });
    }

    pub fn int_range(
        &mut self,
        field: &str,
        value: Option<i64>,
        min: Option<i64>,
        max: Option<i64>,
    ) {
        let Some(value) = value else { return };
        if let Some(min) = min {
            if value < min {
                self.push(
                    field,
                    "greater_than_equal",
                    format!("Input should be greater than or equal to {min}"),
                );
            }
        }
        if let Some(max) = max {
            if value > max {
                self.push(
                    field,
                    "less_than_equal",
                    format!("Input should be less than or equal to {max}"),
                );
            }
        }
    }

    pub fn str_len(&mut self, field: &str, value: Option<&str>, min: usize, max: usize) {
        let Some(value) = value else { return };
        let len = value.chars().count();
        if len < min {
            let unit = if min == 1 { "character" } else { "characters" };
            self.push(
                field,
                "string_too_short",
                format!("String should have at least {min} {unit}"),
            );
        } else if len > max {
            self.push(
                field,
                "string_too_long",
                format!("String should have at most {max} characters"),
            );
        }
    }

    /// Pydantic's `min_length=1` on a list: an empty list (a `len` of 0) is `too_short`.
    pub fn list_not_empty(&mut self, field: &str, len: Option<usize>) {
        if len == Some(0) {
            self.push(
                field,
                "too_short",
                "List should have at least 1 item after validation, not 0",
            );
        }
    }

    pub fn list_len(&mut self, field: &str, len: Option<usize>, max: usize) {
        if let Some(len) = len {
            if len > max {
                self.push(
                    field,
                    "too_long",
                    format!("List should have at most {max} items after validation, not {len}"),
                );
            }
        }
    }
}

/// Checks a parsed request against the spec's constraints.
pub trait Validate {
    fn validate(&self, errors: &mut Errors);

    fn validation_errors(&self) -> Vec<FieldError> {
        let mut errors = Errors::new();
        self.validate(&mut errors);
        errors.items
    }
}
