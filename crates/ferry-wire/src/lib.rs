//! Ferry's wire model: every JSON body the server reads or writes, named and shaped as the
//! Mixpeek spec and the official SDK (`mixpeek==1.3.783`) spell them.
//!
//! This crate owns the *shape* of the contract and the request-level checks the spec states
//! (bounds, lengths, enums). It does no I/O and knows nothing of storage or HTTP, so the same
//! types serve the server, the OpenAPI document and the tests.
//!
//! Where this crate sits among the layers, and which rules of the contract it enforces, is
//! described in `docs/ARCHITECTURE.md` ("Layers", "The wire contract").

pub mod alias;
pub mod bucket;
pub mod cluster;
pub mod collection;
pub mod cutover;
pub mod document;
pub mod error;
pub mod error_code;
pub mod evaluation;
pub mod extractor;
pub mod filter;
pub mod filter_match;
pub mod health;
pub mod migration;
pub mod namespace;
pub mod object;
pub mod paging;
pub mod retriever;
pub mod schema;
pub mod task;
pub mod taxonomy;
pub mod text_enum;
pub mod time;
pub mod validate;

pub use error::{ErrorDetail, ErrorResponse, HttpValidationError, ValidationErrorItem};
pub use error_code::{ErrorCode, ErrorType};
pub use validate::{Errors, FieldError, Loc, Validate};
