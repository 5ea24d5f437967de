//! Runs a [`Pipeline`] for one or more input sets over a namespace's collections.
//!
//! Each input set keeps its own candidate list, which every stage transforms in order. A
//! `feature_search` fills the list (or, later in the pipeline, narrows it); a filter or sort
//! that comes first starts from every document of the searched collections, streamed and
//! capped at [`MAX_CANDIDATES`]. Several input sets (a taxonomy's batch of documents) share
//! each stage's work: one extractor call and one scan per searched collection.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::time::Instant;

use ferry_extract::vector_storage::VectorStorage;
use ferry_extract::{ExtractError, Extractor, ExtractorInput, Metric, Registry};
use ferry_store::{Collection, DocumentRecord, NamespaceKey, Store, StoreError};
use ferry_wire::collection::{CollectionVectorIndex, VectorDistance};
use ferry_wire::filter::LogicalOperator;
use ferry_wire::filter_match::{lookup_field, sort_order, Matcher};
use ferry_wire::retriever::{RetrieverInputSchemaField, RetrieverInputSchemaFieldType};
use ferry_wire::{ErrorCode, Errors, Loc};
use serde_json::{Map, Value};

use crate::bm25;
use crate::plan::{Fusion, Pipeline, QueryMode, Search, StageKind, MAX_CANDIDATES};
use crate::search::{KeywordRequest, SearchRequest, TopK, VectorSearch};
use crate::template;

/// Rank constant of reciprocal rank fusion (the value of the original paper).
const RRF_K: f64 = 60.0;
/// Documents read per round trip when a filter-first pipeline scans collections.
const SCAN_PAGE: i64 = 512;

#[derive(Debug, thiserror::Error)]
pub enum RetrieveError {
    /// The request or the retriever cannot run as given; a client error with a stable code.
    #[error("{message}")]
    Invalid { code: ErrorCode, message: String },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("extractor: {0}")]
    Extract(#[from] ExtractError),
}

fn invalid(code: ErrorCode, message: impl Into<String>) -> RetrieveError {
    RetrieveError::Invalid {
        code,
        message: message.into(),
    }
}

/// A document with its relevance score.
#[derive(Debug, Clone)]
pub struct Scored {
    pub score: f64,
    pub document: DocumentRecord,
}

/// What one stage did, summed over the input sets.
#[derive(Debug, Clone, PartialEq)]
pub struct StageReport {
    pub name: String,
    pub input_count: i64,
    pub output_count: i64,
    pub duration_ms: f64,
}

/// The results of one input set.
#[derive(Debug, Clone, Default)]
pub struct Outcome {
    pub results: Vec<Scored>,
}

/// The results of every input set, with what the stages did.
#[derive(Debug, Clone, Default)]
pub struct Run {
    pub outcomes: Vec<Outcome>,
    pub stages: Vec<StageReport>,
    /// Documents the stages examined.
    pub processed: i64,
    pub warnings: Vec<String>,
}

/// A searched collection, with what searching it needs.
struct Target {
    collection: Collection,
    indexes: Vec<CollectionVectorIndex>,
}

impl Target {
    fn index(&self, feature_uri: &str) -> Option<&CollectionVectorIndex> {
        self.indexes.iter().find(|i| i.feature_uri == feature_uri)
    }

    fn extractor_parameters(&self) -> Map<String, Value> {
        self.collection
            .fields
            .feature_extractor
            .get("parameters")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default()
    }
}

/// The JSON a filter or sort sees for a document: its fields, ids and score.
pub fn document_view(scored: &Scored) -> Value {
    record_view(&scored.document, scored.score)
}

/// [`document_view`] of a document not (yet) scored, without copying its vectors.
pub fn record_view(document: &DocumentRecord, score: f64) -> Value {
    let mut view = document.fields.clone();
    view.insert("document_id".into(), document.document_id.clone().into());
    view.insert(
        "collection_id".into(),
        document.collection_id.clone().into(),
    );
    view.insert("score".into(), score.into());
    Value::Object(view)
}

fn compile(filter: &LogicalOperator) -> Result<Matcher, RetrieveError> {
    let mut errors = Errors::new();
    Matcher::compile(filter, &mut errors).ok_or_else(|| {
        let reasons: Vec<String> = errors
            .items
            .iter()
            .map(|e| {
                let at: Vec<String> = e
                    .loc
                    .iter()
                    .map(|l| match l {
                        Loc::Key(k) => k.clone(),
                        Loc::Index(i) => i.to_string(),
                    })
                    .collect();
                format!("{}: {}", at.join("."), e.msg)
            })
            .collect();
        invalid(
            ErrorCode::InvalidFilter,
            format!("filter: {}", reasons.join("; ")),
        )
    })
}

/// A dense index's dimension (0 when unknown: searched exactly, queries unchecked).
/// A vector index's dimension, 0 where it is not declared.
fn dimensions(index: &CollectionVectorIndex) -> usize {
    index
        .index
        .dimensions
        .and_then(|d| usize::try_from(d).ok())
        .unwrap_or(0)
}

/// A search of `queries` in one collection's dense vector index.
pub fn dense_request<'a>(
    ns: NamespaceKey,
    collection_id: &'a str,
    index: &'a CollectionVectorIndex,
    queries: &'a [Vec<f32>],
    k: usize,
) -> SearchRequest<'a> {
    SearchRequest {
        ns,
        collection_id,
        vector_name: &index.index.name,
        dimensions: dimensions(index),
        metric: match index.index.distance {
            VectorDistance::Cosine => Metric::Cosine,
            VectorDistance::Dot => Metric::Dot,
            _ => Metric::Euclidean,
        },
        storage: VectorStorage {
            datatype: index.index.datatype.unwrap_or_default(),
            on_disk: index.index.on_disk.unwrap_or(false),
        },
        queries,
        k,
    }
}

/// Fills defaults from the retriever's `input_schema` and checks required inputs and types.
pub fn prepare_inputs(
    schema: Option<&BTreeMap<String, RetrieverInputSchemaField>>,
    mut given: Map<String, Value>,
) -> Result<Map<String, Value>, RetrieveError> {
    let Some(schema) = schema else {
        return Ok(given);
    };
    for (name, field) in schema {
        match given.get(name) {
            None | Some(Value::Null) => {
                if let Some(default) = &field.default {
                    given.insert(name.clone(), default.clone());
                } else if field.required {
                    return Err(invalid(
                        ErrorCode::MissingInput,
                        format!("input '{name}' is required by the retriever's input_schema"),
                    ));
                }
            }
            Some(value) => {
                use RetrieverInputSchemaFieldType as T;
                let fits = match field.kind {
                    T::String | T::Text | T::Date | T::Datetime | T::DocumentReference => {
                        value.is_string()
                    }
                    T::Number | T::Float => value.is_number(),
                    T::Integer => value.is_i64() || value.is_u64(),
                    T::Boolean => value.is_boolean(),
                    T::Object => value.is_object(),
                    T::Array => value.is_array(),
                    // Media inputs arrive as URLs, base64 strings or vectors.
                    _ => true,
                };
                if !fits {
                    return Err(invalid(
                        ErrorCode::InvalidInput,
                        format!("input '{name}' must be of type {:?}", field.kind),
                    ));
                }
                if let Some(allowed) = &field.allowed {
                    if !allowed.contains(value) {
                        return Err(invalid(
                            ErrorCode::InvalidInput,
                            format!(
                                "input '{name}' must be one of {}",
                                Value::from(allowed.clone())
                            ),
                        ));
                    }
                }
            }
        }
    }
    Ok(given)
}

/// Runs retriever pipelines; cheap to clone.
#[derive(Clone)]
pub struct Engine {
    store: Store,
    registry: Arc<Registry>,
    search: Arc<dyn VectorSearch>,
}

impl Engine {
    pub fn new(store: Store, registry: Arc<Registry>, search: Arc<dyn VectorSearch>) -> Self {
        Engine {
            store,
            registry,
            search,
        }
    }

    async fn targets(
        &self,
        ns: NamespaceKey,
        collection_ids: &[String],
    ) -> Result<Vec<Target>, RetrieveError> {
        let mut targets = Vec::with_capacity(collection_ids.len());
        for id in collection_ids {
            let collection = self
                .store
                .get_collection(ns, id)
                .await
                .map_err(|e| match e {
                    StoreError::NotFound { .. } => invalid(
                        ErrorCode::CollectionNotFound,
                        format!("collection '{id}' searched by the retriever no longer exists"),
                    ),
                    other => other.into(),
                })?;
            let indexes: Vec<CollectionVectorIndex> =
                serde_json::from_value(collection.fields.vector_indexes.clone())
                    .map_err(|e| StoreError::Corrupt(format!("vector_indexes of {id}: {e}")))?;
            targets.push(Target {
                collection,
                indexes,
            });
        }
        Ok(targets)
    }

    fn extractor_for(&self, feature_uri: &str) -> Result<Arc<dyn Extractor>, RetrieveError> {
        let parsed = feature_uri
            .strip_prefix("mixpeek://")
            .and_then(|rest| rest.split_once('/'))
            .and_then(|(id, _)| id.split_once('@'));
        parsed
            .and_then(|(name, version)| self.registry.get(name, version))
            .ok_or_else(|| {
                invalid(
                    ErrorCode::FeatureNotFound,
                    format!("no extractor produces feature '{feature_uri}'"),
                )
            })
    }

    /// The query vector of each input set for `search` against `target`.
    async fn query_vectors(
        &self,
        search: &Search,
        search_index: usize,
        target: &Target,
        index: &CollectionVectorIndex,
        values: &[Value],
    ) -> Result<Vec<Vec<f32>>, RetrieveError> {
        let dimension = dimensions(index);
        match search.mode {
            QueryMode::Vector => values
                .iter()
                .map(|v| {
                    let vector: Option<Vec<f32>> = v.as_array().and_then(|items| {
                        items.iter().map(|x| x.as_f64().map(|f| f as f32)).collect()
                    });
                    match vector {
                        Some(v) if dimension == 0 || v.len() == dimension => Ok(v),
                        _ => Err(invalid(
                            ErrorCode::InvalidQuery,
                            format!(
                                "search {search_index}: the query must be a vector of \
                                 {dimension} numbers"
                            ),
                        )),
                    }
                })
                .collect(),
            QueryMode::Text => {
                let texts = values
                    .iter()
                    .map(|v| match v {
                        Value::String(s) => Ok(ExtractorInput::Text(s.clone())),
                        _ => Err(invalid(
                            ErrorCode::InvalidQuery,
                            format!("search {search_index}: the query must be text"),
                        )),
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                let extractor = self.extractor_for(&search.feature_uri)?;
                if extractor.input_kind() != ferry_extract::InputKind::Text {
                    return Err(invalid(
                        ErrorCode::InvalidQuery,
                        format!(
                            "feature '{}' embeds images; query it with input_mode 'vector'",
                            search.feature_uri
                        ),
                    ));
                }
                let chunks = extractor
                    .extract(&texts, &target.extractor_parameters())
                    .await?;
                Ok(chunks
                    .into_iter()
                    .map(|mut per_input| {
                        // A query is one text; if the extractor chunked it, its first chunk
                        // stands for it.
                        per_input
                            .drain(..)
                            .next()
                            .and_then(|c| c.vectors.into_iter().find(|(n, _)| *n == index.name))
                            .map(|(_, v)| v)
                            .unwrap_or_default()
                    })
                    .collect())
            }
        }
    }

    /// Runs one search for every input set: the best `top_k` over all targets that carry
    /// the feature. With `candidates` (what an earlier stage kept, such as a filter's
    /// matches), each input set is ranked over its own candidates instead, every one scored
    /// exactly, so a filter followed by a search gives the true top `top_k` of the documents
    /// that passed the filter.
    #[allow(clippy::too_many_arguments)]
    async fn run_search(
        &self,
        ns: NamespaceKey,
        targets: &[Target],
        search: &Search,
        search_index: usize,
        inputs: &[Map<String, Value>],
        candidates: Option<&[Vec<Scored>]>,
        processed: &mut i64,
    ) -> Result<Vec<Vec<Scored>>, RetrieveError> {
        let values = rendered_queries(search, inputs)?;
        let mut lists: Vec<Vec<Scored>> = vec![Vec::new(); inputs.len()];
        let mut searched = false;
        for target in targets {
            let Some(index) = target.index(&search.feature_uri) else {
                continue;
            };
            searched = true;
            let collection_id = target.collection.collection_id.as_str();
            if !index.is_dense() {
                let texts = query_texts(search, search_index, &values)?;
                if let Some(candidates) = candidates {
                    rank_by_keywords(&texts, candidates, collection_id, &mut lists, processed);
                    continue;
                }
                let result = self
                    .search
                    .keywords(KeywordRequest {
                        ns,
                        collection_id,
                        index_name: &index.index.name,
                        queries: &texts,
                        k: search.top_k,
                    })
                    .await?;
                *processed += result.scanned;
                extend_scored(&mut lists, result.hits);
                continue;
            }
            let queries = self
                .query_vectors(search, search_index, target, index, &values)
                .await?;
            let request = dense_request(ns, collection_id, index, &queries, search.top_k);
            if let Some(candidates) = candidates {
                rank_by_vector(&request, candidates, &mut lists, processed);
                continue;
            }
            let result = self.search.search(request).await?;
            *processed += result.scanned;
            extend_scored(&mut lists, result.hits);
        }
        if !searched {
            return Err(no_feature(&search.feature_uri));
        }
        finish(&mut lists, search);
        Ok(lists)
    }

    /// Every document of the targets that `matcher` accepts, capped at [`MAX_CANDIDATES`].
    async fn scan_all(
        &self,
        ns: NamespaceKey,
        targets: &[Target],
        matcher: Option<&Matcher>,
        processed: &mut i64,
        warnings: &mut Vec<String>,
    ) -> Result<Vec<Scored>, RetrieveError> {
        let mut found = Vec::new();
        for target in targets {
            let mut pages =
                self.store
                    .document_pages(ns, &target.collection.collection_id, SCAN_PAGE);
            while let Some(page) = pages.next().await? {
                for document in page {
                    *processed += 1;
                    let scored = Scored {
                        score: 1.0,
                        document,
                    };
                    if matcher.is_none_or(|m| m.matches(&document_view(&scored))) {
                        if found.len() == MAX_CANDIDATES {
                            warnings.push(format!(
                                "more than {MAX_CANDIDATES} documents matched before any search; \
                                 the first {MAX_CANDIDATES} were kept"
                            ));
                            return Ok(found);
                        }
                        found.push(scored);
                    }
                }
            }
        }
        Ok(found)
    }

    /// Runs `pipeline` over `collection_ids` for each input set; `extra_filter` (the
    /// execution's own `filters`) is applied to the final results.
    pub async fn run(
        &self,
        ns: NamespaceKey,
        collection_ids: &[String],
        pipeline: &Pipeline,
        inputs: &[Map<String, Value>],
        extra_filter: Option<&LogicalOperator>,
    ) -> Result<Run, RetrieveError> {
        let targets = self.targets(ns, collection_ids).await?;
        let mut lists: Option<Vec<Vec<Scored>>> = None;
        let mut run = Run::default();
        for stage in &pipeline.stages {
            let started = Instant::now();
            let input_count = lists
                .as_ref()
                .map_or(0, |l| l.iter().map(Vec::len).sum::<usize>() as i64);
            let next = match &stage.kind {
                StageKind::FeatureSearch {
                    searches,
                    final_top_k,
                    fusion,
                } => {
                    let mut per_search = Vec::with_capacity(searches.len());
                    for (i, search) in searches.iter().enumerate() {
                        let processed = &mut run.processed;
                        let kept = lists.as_deref();
                        per_search.push(
                            self.run_search(ns, &targets, search, i, inputs, kept, processed)
                                .await?,
                        );
                    }
                    let mut fused = fuse(per_search, *fusion, inputs.len());
                    for (i, list) in fused.iter_mut().enumerate() {
                        if let Some(previous) = lists.as_ref().map(|l| &l[i]) {
                            let allowed: HashSet<&str> = previous
                                .iter()
                                .map(|s| s.document.document_id.as_str())
                                .collect();
                            list.retain(|s| allowed.contains(s.document.document_id.as_str()));
                        }
                        list.truncate(*final_top_k);
                    }
                    fused
                }
                StageKind::AttributeFilter { filter } => {
                    let mut next = Vec::with_capacity(inputs.len());
                    for (i, input) in inputs.iter().enumerate() {
                        let rendered = template::render(filter, input)
                            .map_err(|m| invalid(ErrorCode::MissingInput, m))?;
                        let parsed: LogicalOperator =
                            serde_json::from_value(rendered).map_err(|e| {
                                invalid(ErrorCode::InvalidFilter, format!("filter: {e}"))
                            })?;
                        let matcher = compile(&parsed)?;
                        let list = match lists.as_mut() {
                            Some(lists) => {
                                let mut list = std::mem::take(&mut lists[i]);
                                list.retain(|s| matcher.matches(&document_view(s)));
                                list
                            }
                            None => {
                                self.scan_all(
                                    ns,
                                    &targets,
                                    Some(&matcher),
                                    &mut run.processed,
                                    &mut run.warnings,
                                )
                                .await?
                            }
                        };
                        next.push(list);
                    }
                    next
                }
                StageKind::SortAttribute { .. }
                | StageKind::SortRelevance
                | StageKind::Limit { .. } => {
                    let mut current = match lists.take() {
                        Some(l) => l,
                        None => {
                            let all = self
                                .scan_all(ns, &targets, None, &mut run.processed, &mut run.warnings)
                                .await?;
                            vec![all; inputs.len()]
                        }
                    };
                    for list in &mut current {
                        match &stage.kind {
                            StageKind::SortAttribute { field, descending } => {
                                sort_by_field(list, field, *descending)
                            }
                            StageKind::SortRelevance => sort_by_score(list),
                            StageKind::Limit { limit, offset } => {
                                let kept: Vec<Scored> =
                                    list.drain(..).skip(*offset).take(*limit).collect();
                                *list = kept;
                            }
                            _ => unreachable!("matched above"),
                        }
                    }
                    current
                }
            };
            run.stages.push(StageReport {
                name: stage.name.clone(),
                input_count,
                output_count: next.iter().map(Vec::len).sum::<usize>() as i64,
                duration_ms: started.elapsed().as_secs_f64() * 1000.0,
            });
            lists = Some(next);
        }
        let mut lists = lists.unwrap_or_else(|| vec![Vec::new(); inputs.len()]);
        if let Some(filter) = extra_filter.filter(|f| !f.is_empty()) {
            let matcher = compile(filter)?;
            for list in &mut lists {
                list.retain(|s| matcher.matches(&document_view(s)));
            }
        }
        run.outcomes = lists
            .into_iter()
            .map(|results| Outcome { results })
            .collect();
        Ok(run)
    }
}

/// A search's query value rendered for each input set.
fn rendered_queries(
    search: &Search,
    inputs: &[Map<String, Value>],
) -> Result<Vec<Value>, RetrieveError> {
    inputs
        .iter()
        .map(|i| template::render(&search.value, i))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|m| invalid(ErrorCode::MissingInput, m))
}

/// Scores each input set's candidates of `collection_id` by BM25 against its query text, into
/// that set's list; a candidate that shares no term with the query is left out.
fn rank_by_keywords(
    texts: &[String],
    candidates: &[Vec<Scored>],
    collection_id: &str,
    lists: &mut [Vec<Scored>],
    processed: &mut i64,
) {
    for ((text, kept), list) in texts.iter().zip(candidates).zip(lists) {
        let kept: Vec<&DocumentRecord> = kept
            .iter()
            .map(|c| &c.document)
            .filter(|d| d.collection_id == collection_id)
            .collect();
        *processed += kept.len() as i64;
        let scores = bm25::score_among(text, &kept);
        list.extend(kept.into_iter().zip(scores).filter(|(_, s)| *s > 0.0).map(
            |(document, score)| Scored {
                score,
                document: document.clone(),
            },
        ));
    }
}

/// Scores each input set's candidates of the request's collection exactly against that set's
/// query vector, into that set's list: its best `k`.
fn rank_by_vector(
    request: &SearchRequest<'_>,
    candidates: &[Vec<Scored>],
    lists: &mut [Vec<Scored>],
    processed: &mut i64,
) {
    for ((query, kept), list) in request.queries.iter().zip(candidates).zip(lists) {
        let one = SearchRequest {
            queries: std::slice::from_ref(query),
            ..*request
        };
        let mut top = TopK::new(&one);
        for candidate in kept
            .iter()
            .filter(|c| c.document.collection_id == request.collection_id)
        {
            *processed += 1;
            top.offer(&candidate.document, request.vector_name, None);
        }
        extend_scored(std::slice::from_mut(list), top.into_hits());
    }
}

/// Appends each input set's hits to its list.
fn extend_scored(lists: &mut [Vec<Scored>], hits: Vec<Vec<crate::search::Hit>>) {
    for (list, hits) in lists.iter_mut().zip(hits) {
        list.extend(hits.into_iter().map(|h| Scored {
            score: h.score,
            document: h.document,
        }));
    }
}

/// The text queries of a keyword search, one per input set.
fn query_texts(
    search: &Search,
    search_index: usize,
    values: &[Value],
) -> Result<Vec<String>, RetrieveError> {
    if search.mode != QueryMode::Text {
        return Err(invalid(
            ErrorCode::InvalidQuery,
            format!(
                "search {search_index}: feature '{}' is a keyword index; query it with \
                 input_mode 'text'",
                search.feature_uri
            ),
        ));
    }
    values
        .iter()
        .map(|v| match v {
            Value::String(s) => Ok(s.clone()),
            _ => Err(invalid(
                ErrorCode::InvalidQuery,
                format!("search {search_index}: the query must be text"),
            )),
        })
        .collect()
}

fn no_feature(feature_uri: &str) -> RetrieveError {
    invalid(
        ErrorCode::FeatureNotFound,
        format!("none of the retriever's collections has vectors of feature '{feature_uri}'"),
    )
}

/// A search's lists, best first, cut to its `top_k` and `min_score`.
fn finish(lists: &mut [Vec<Scored>], search: &Search) {
    for list in lists {
        sort_by_score(list);
        list.truncate(search.top_k);
        if let Some(min) = search.min_score {
            list.retain(|s| s.score >= min);
        }
    }
}

fn sort_by_score(list: &mut [Scored]) {
    list.sort_by(|a, b| {
        b.score
            .total_cmp(&a.score)
            .then_with(|| a.document.document_id.cmp(&b.document.document_id))
    });
}

/// Stable sort by the value at `field` of each document's view (missing values as null).
fn sort_by_field(list: &mut Vec<Scored>, field: &str, descending: bool) {
    let mut keyed: Vec<(Value, Scored)> = list
        .drain(..)
        .map(|s| {
            let key = lookup_field(&document_view(&s), field)
                .cloned()
                .unwrap_or(Value::Null);
            (key, s)
        })
        .collect();
    keyed.sort_by(|(a, _), (b, _)| {
        let order = sort_order(a, b);
        if descending {
            order.reverse()
        } else {
            order
        }
    });
    list.extend(keyed.into_iter().map(|(_, s)| s));
}

/// Fuses the ranked lists of several searches, per input set.
fn fuse(per_search: Vec<Vec<Vec<Scored>>>, fusion: Fusion, sets: usize) -> Vec<Vec<Scored>> {
    if per_search.len() == 1 {
        return per_search.into_iter().next().unwrap_or_default();
    }
    let mut fused = Vec::with_capacity(sets);
    for set in 0..sets {
        let mut by_id: HashMap<String, Scored> = HashMap::new();
        for lists in &per_search {
            for (rank, hit) in lists[set].iter().enumerate() {
                let contribution = match fusion {
                    Fusion::Rrf => 1.0 / (RRF_K + rank as f64 + 1.0),
                    Fusion::Max => hit.score,
                };
                by_id
                    .entry(hit.document.document_id.clone())
                    .and_modify(|s| {
                        s.score = match fusion {
                            Fusion::Rrf => s.score + contribution,
                            Fusion::Max => s.score.max(contribution),
                        }
                    })
                    .or_insert_with(|| Scored {
                        score: contribution,
                        document: hit.document.clone(),
                    });
            }
        }
        let mut list: Vec<Scored> = by_id.into_values().collect();
        sort_by_score(&mut list);
        fused.push(list);
    }
    fused
}
