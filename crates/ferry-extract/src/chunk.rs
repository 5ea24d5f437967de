//! Splitting one text into the chunks that become separate documents, and the chunking
//! parameters every text extractor shares (their schema, checks and defaults).

use serde_json::{json, Map, Value};

use crate::params::{int_at_least, one_of, ParamError};

/// How a text is decomposed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SplitBy {
    None,
    Characters,
    Words,
    Sentences,
    Paragraphs,
}

impl SplitBy {
    pub fn parse(name: &str) -> SplitBy {
        match name {
            "characters" => SplitBy::Characters,
            "words" => SplitBy::Words,
            "sentences" => SplitBy::Sentences,
            "paragraphs" => SplitBy::Paragraphs,
            _ => SplitBy::None,
        }
    }
}

/// The JSON-schema properties of the chunking parameters (`split_by`, `chunk_size`), for a
/// text extractor's `parameter_schema`.
pub fn schema_properties() -> Map<String, Value> {
    let properties = json!({
        "split_by": {"type": "string", "enum": SPLIT_NAMES, "default": "none",
                     "description": "How one text is decomposed into documents"},
        "chunk_size": {"type": "integer", "minimum": 1, "default": 1000,
                       "description": "Units (characters, words, sentences, paragraphs) per chunk"}
    });
    properties.as_object().cloned().unwrap_or_default()
}

/// The chunking parameters a request gave, checked (see [`Chunking::check`]).
pub struct Chunking {
    split_by: String,
    chunk_size: Option<i64>,
}

impl Chunking {
    /// Reads `split_by` and `chunk_size` from `params`, collecting what is wrong in `errors`.
    pub(crate) fn check(params: &Map<String, Value>, errors: &mut Vec<ParamError>) -> Self {
        Chunking {
            split_by: one_of(params, "split_by", SPLIT_NAMES, "none", errors),
            chunk_size: int_at_least(params, "chunk_size", 1, Some(1000), errors),
        }
    }

    /// Adds the chunking parameters, defaults filled in, to resolved parameters.
    pub(crate) fn resolve_into(self, resolved: &mut Map<String, Value>) {
        resolved.insert("split_by".into(), Value::String(self.split_by));
        let chunk_size = Value::from(self.chunk_size.unwrap_or(1000));
        resolved.insert("chunk_size".into(), chunk_size);
    }
}

/// How resolved text parameters ask for chunking: `split_by` (default `none`) and
/// `chunk_size` (default 1000), shared by every text extractor.
pub fn settings(resolved: &serde_json::Map<String, serde_json::Value>) -> (SplitBy, usize) {
    let split_by = SplitBy::parse(
        resolved
            .get("split_by")
            .and_then(serde_json::Value::as_str)
            .unwrap_or("none"),
    );
    let size = resolved
        .get("chunk_size")
        .and_then(serde_json::Value::as_u64)
        .unwrap_or(1000) as usize;
    (split_by, size)
}

pub const SPLIT_NAMES: &[&str] = &["none", "characters", "words", "sentences", "paragraphs"];

/// Groups `units` by `size` into chunks joined with `sep`.
fn group(units: Vec<&str>, size: usize, sep: &str) -> Vec<String> {
    units.chunks(size.max(1)).map(|c| c.join(sep)).collect()
}

/// Sentences end at `.`, `!` or `?` followed by whitespace (or the end).
fn sentences(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    let bytes = text.as_bytes();
    for (i, &b) in bytes.iter().enumerate() {
        let at_boundary = matches!(b, b'.' | b'!' | b'?')
            && bytes.get(i + 1).is_none_or(|n| n.is_ascii_whitespace());
        if at_boundary {
            let s = text[start..=i].trim();
            if !s.is_empty() {
                out.push(s);
            }
            start = i + 1;
        }
    }
    let rest = text[start..].trim();
    if !rest.is_empty() {
        out.push(rest);
    }
    out
}

/// The non-empty chunks of `text`; an empty or blank text has none.
pub fn split(text: &str, by: SplitBy, size: usize) -> Vec<String> {
    if text.trim().is_empty() {
        return Vec::new();
    }
    match by {
        SplitBy::None => vec![text.to_owned()],
        SplitBy::Characters => {
            let chars: Vec<char> = text.chars().collect();
            chars
                .chunks(size.max(1))
                .map(|c| c.iter().collect::<String>())
                .filter(|c| !c.trim().is_empty())
                .collect()
        }
        SplitBy::Words => group(text.split_whitespace().collect(), size, " "),
        SplitBy::Sentences => group(sentences(text), size, " "),
        SplitBy::Paragraphs => group(
            text.split("\n\n")
                .map(str::trim)
                .filter(|p| !p.is_empty())
                .collect(),
            size,
            "\n\n",
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_split_mode_counts_its_units() {
        let text = "One two three. Four five six! Seven?\n\nEight nine ten.";
        assert_eq!(split(text, SplitBy::None, 1000).len(), 1);
        assert_eq!(split(text, SplitBy::Words, 4).len(), 3);
        assert_eq!(split(text, SplitBy::Sentences, 1).len(), 4);
        assert_eq!(split(text, SplitBy::Sentences, 2).len(), 2);
        assert_eq!(split(text, SplitBy::Paragraphs, 1).len(), 2);
        assert_eq!(
            split("abcdefghij", SplitBy::Characters, 3),
            ["abc", "def", "ghi", "j"]
        );
        assert!(split("   ", SplitBy::None, 10).is_empty());
    }
}
