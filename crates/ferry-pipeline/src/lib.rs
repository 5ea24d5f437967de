//! Collection processing. A trigger becomes a task (`api_collections_trigger`); a worker takes
//! the task's lease and streams the collection's source (bucket objects, or an upstream
//! collection's documents) in keyset-ordered batches through the collection's feature
//! extractor. Each batch's documents, the task's progress and its resume cursor commit in one
//! transaction, and document ids are derived from (collection, source, chunk), so a task
//! resumed after a crash — by this process or any other sharing the database — neither loses
//! nor duplicates a document.

mod config;
mod fault;
mod source;
mod worker;

pub use config::CollectionConfig;
pub use fault::FaultPoint;
pub use worker::{Pipeline, PipelineConfig, PipelineError, TRIGGER_TASK};
