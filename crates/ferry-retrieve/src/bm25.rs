//! BM25 over a collection's document `text`: how text becomes terms, and how a document is
//! scored for a query. The keyword index (`index::keywords`, tantivy) and the exact keyword
//! scan ([`crate::search::ExactScan`]) both score through here, so a document scores the
//! same whichever of them finds it.
//!
//! Scoring is tantivy's own [`Bm25Weight`] (k1 1.2, b 0.75, Lucene's idf, document lengths
//! quantized as tantivy stores them); only the statistics differ in where they come from: a
//! tantivy searcher, or [`ScanStats`] counted over a scan.

use std::collections::{BTreeSet, HashMap};

use ferry_store::DocumentRecord;
use serde_json::Value;
use tantivy::fieldnorm::FieldNormReader;
use tantivy::query::{Bm25StatisticsProvider, Bm25Weight};
use tantivy::schema::{Field, Schema, TextFieldIndexing, TextOptions, STORED, STRING};
use tantivy::tokenizer::{
    Language, LowerCaser, RemoveLongFilter, SimpleTokenizer, Stemmer, TextAnalyzer,
};
use tantivy::Term;

/// The name the analyzer is registered under in every keyword index.
pub(crate) const ANALYZER: &str = "ferry_en";

/// The document field a keyword index covers: what text extractors write.
pub const TEXT_FIELD: &str = "text";

/// Words split on anything not alphanumeric, tokens over 40 bytes dropped (hashes, base64),
/// lower-cased, and stemmed with the English Snowball stemmer ("creates" finds "create"):
/// chosen over the unstemmed analyzer by the evaluation in the README ("Keyword search").
pub(crate) fn analyzer() -> TextAnalyzer {
    TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(RemoveLongFilter::limit(40))
        .filter(LowerCaser)
        .filter(Stemmer::new(Language::English))
        .build()
}

/// The schema of a keyword index: the document id (stored, and indexed whole so a
/// document's entry can be deleted by it) and its analyzed text.
pub(crate) struct KeywordSchema {
    pub schema: Schema,
    pub id: Field,
    pub text: Field,
}

impl KeywordSchema {
    pub fn new() -> Self {
        let mut builder = Schema::builder();
        let id = builder.add_text_field("id", STRING | STORED);
        let indexing = TextFieldIndexing::default()
            .set_tokenizer(ANALYZER)
            .set_index_option(tantivy::schema::IndexRecordOption::WithFreqs);
        let text = builder.add_text_field(
            TEXT_FIELD,
            TextOptions::default().set_indexing_options(indexing),
        );
        KeywordSchema {
            schema: builder.build(),
            id,
            text,
        }
    }
}

/// The text a document contributes to keyword search (empty when it has none).
pub fn text_of(document: &DocumentRecord) -> &str {
    document
        .fields
        .get(TEXT_FIELD)
        .and_then(Value::as_str)
        .unwrap_or("")
}

/// A text's terms with their frequencies, and its length in terms.
pub(crate) struct Analyzed {
    pub frequencies: HashMap<String, u32>,
    pub length: u32,
}

pub(crate) fn analyze(analyzer: &mut TextAnalyzer, text: &str) -> Analyzed {
    let mut frequencies: HashMap<String, u32> = HashMap::new();
    let mut length = 0u32;
    let mut stream = analyzer.token_stream(text);
    while stream.advance() {
        length += 1;
        *frequencies.entry(stream.token().text.clone()).or_default() += 1;
    }
    Analyzed {
        frequencies,
        length,
    }
}

/// The distinct terms of a query, in a stable order. A term repeated in the query counts
/// once, as in a boolean query of its terms.
pub(crate) fn query_terms(analyzer: &mut TextAnalyzer, query: &str) -> Vec<String> {
    let mut terms = BTreeSet::new();
    let mut stream = analyzer.token_stream(query);
    while stream.advance() {
        terms.insert(stream.token().text.clone());
    }
    terms.into_iter().collect()
}

/// One query's term weights under some collection statistics.
pub(crate) struct QueryWeights {
    weights: Vec<(String, Bm25Weight)>,
}

impl QueryWeights {
    /// Weights for `terms` under `stats`; `None` when there is nothing to score against (an
    /// empty collection or a query without terms).
    pub fn new(
        stats: &dyn Bm25StatisticsProvider,
        text: Field,
        terms: &[String],
    ) -> tantivy::Result<Option<Self>> {
        if terms.is_empty() || stats.total_num_docs()? == 0 {
            return Ok(None);
        }
        let weights = terms
            .iter()
            .map(|t| {
                let term = Term::from_field_text(text, t);
                Ok((t.clone(), Bm25Weight::for_terms(stats, &[term])?))
            })
            .collect::<tantivy::Result<_>>()?;
        Ok(Some(QueryWeights { weights }))
    }

    /// The BM25 score of an analyzed document: 0 when it holds none of the terms.
    pub fn score(&self, document: &Analyzed) -> f64 {
        let norm = FieldNormReader::fieldnorm_to_id(document.length);
        self.weights
            .iter()
            .filter_map(|(term, weight)| {
                let frequency = *document.frequencies.get(term)?;
                Some(f64::from(weight.score(norm, frequency)))
            })
            .sum()
    }
}

/// Collection statistics counted over a scan, for the exact keyword search: what a
/// tantivy searcher over the same documents reports.
#[derive(Default)]
pub(crate) struct ScanStats {
    pub documents: u64,
    pub tokens: u64,
    /// Documents holding each term of interest.
    pub frequencies: HashMap<String, u64>,
}

impl ScanStats {
    /// Counts `document`, and which of `wanted` it holds.
    pub fn count(&mut self, document: &Analyzed, wanted: &BTreeSet<String>) {
        self.documents += 1;
        self.tokens += u64::from(document.length);
        for term in wanted {
            if document.frequencies.contains_key(term) {
                *self.frequencies.entry(term.clone()).or_default() += 1;
            }
        }
    }
}

impl Bm25StatisticsProvider for ScanStats {
    fn total_num_tokens(&self, _field: Field) -> tantivy::Result<u64> {
        Ok(self.tokens)
    }

    fn total_num_docs(&self) -> tantivy::Result<u64> {
        Ok(self.documents)
    }

    fn doc_freq(&self, term: &Term) -> tantivy::Result<u64> {
        let value = term.value();
        let text = value.as_str().unwrap_or_default();
        Ok(self.frequencies.get(text).copied().unwrap_or(0))
    }
}

/// BM25 scores of `documents` for `query`, with the statistics of `documents` themselves:
/// what a keyword search after a filter ranks by (BM25 among the documents that passed).
pub fn score_among(query: &str, documents: &[&DocumentRecord]) -> Vec<f64> {
    let mut analyzer = analyzer();
    let terms = query_terms(&mut analyzer, query);
    let wanted: BTreeSet<String> = terms.iter().cloned().collect();
    let analyzed: Vec<Analyzed> = documents
        .iter()
        .map(|d| analyze(&mut analyzer, text_of(d)))
        .collect();
    let mut stats = ScanStats::default();
    for document in &analyzed {
        stats.count(document, &wanted);
    }
    match QueryWeights::new(&stats, KeywordSchema::new().text, &terms) {
        Ok(Some(weights)) => analyzed.iter().map(|d| weights.score(d)).collect(),
        _ => vec![0.0; documents.len()],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn analysis_lowercases_stems_and_drops_long_tokens() {
        let mut a = analyzer();
        let long = "x".repeat(41);
        let analyzed = analyze(&mut a, &format!("Creates files, CREATE file {long}"));
        assert_eq!(analyzed.length, 4);
        assert_eq!(analyzed.frequencies.get("creat"), Some(&2));
        assert_eq!(analyzed.frequencies.get("file"), Some(&2));
        assert_eq!(query_terms(&mut a, "file FILES create"), ["creat", "file"]);
    }

    #[test]
    fn a_document_with_more_of_a_rare_term_scores_higher() {
        let mut a = analyzer();
        let schema = KeywordSchema::new();
        let docs = [
            "open a file and read the file",
            "close the socket",
            "open the door",
        ];
        let analyzed: Vec<Analyzed> = docs.iter().map(|d| analyze(&mut a, d)).collect();
        let terms = query_terms(&mut a, "file");
        let wanted: BTreeSet<String> = terms.iter().cloned().collect();
        let mut stats = ScanStats::default();
        for d in &analyzed {
            stats.count(d, &wanted);
        }
        let weights = QueryWeights::new(&stats, schema.text, &terms)
            .unwrap()
            .unwrap();
        assert!(weights.score(&analyzed[0]) > 0.0);
        assert_eq!(weights.score(&analyzed[1]), 0.0);
        let empty = ScanStats::default();
        assert!(QueryWeights::new(&empty, schema.text, &terms)
            .unwrap()
            .is_none());
    }
}
