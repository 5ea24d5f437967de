//! Ferry's retrieval engine: what a retriever's stages mean ([`plan`]), how input templates
//! resolve ([`template`]), nearest-neighbour and BM25 keyword search behind an interface
//! ([`search`], [`bm25`]) with indexes that accelerate both ([`index`]), and the engine that
//! runs a pipeline for one or many input sets ([`engine`]).
//!
//! The HTTP layer uses it to execute retrievers; the pipeline workers use it to apply
//! taxonomies; migrations use it to compare retrieval before and after.

pub mod bm25;
pub mod engine;
pub mod index;
pub mod plan;
pub mod search;
pub mod template;

pub use engine::{
    document_view, prepare_inputs, record_view, Engine, Outcome, RetrieveError, Run, Scored,
    StageReport,
};
pub use index::{IndexConfig, IndexedSearch};
pub use plan::{Fusion, Pipeline, PlanError, Stage, StageKind};
pub use search::{ExactScan, Hit, KeywordRequest, SearchRequest, SearchResult, VectorSearch};
