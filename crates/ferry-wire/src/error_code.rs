//! The one table of error codes: every stable `code` an `ErrorResponse` can carry, with the
//! error `type` and HTTP status it always travels with.
//!
//! A failure is named once, by its [`ErrorCode`]; the HTTP layer reads the `type` and status
//! from here, so a code cannot leave the server with two different statuses. Codes are part of
//! the contract (clients branch on them): a variant may be added, never renamed.
//!
//! One family of codes is not listed: the 404 of a resource a request's path addresses. Its
//! code names the resource (`{resource}_not_found`) and its type is [`ErrorType::NotFound`].
//! A missing resource that a request *body* names is the request's fault, not the route's, so
//! it is a 400 with a code from this table (`collection_not_found`, `retriever_not_found`, …).

use std::fmt;

/// The error `type` of an `ErrorResponse`, and the HTTP status each type is answered with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorType {
    BadRequest,
    Authentication,
    NotFound,
    MethodNotAllowed,
    PayloadTooLarge,
    Validation,
    Internal,
    /// A migration's configuration failed validation (a 400).
    MigrationValidation,
    /// A migration's status does not allow the action (a 400).
    InvalidState,
    /// The request conflicts with the resource's state (a 409; Ferry's cutover).
    Conflict,
    /// Refused for now; retry after the `Retry-After` header's seconds (a 503).
    Unavailable,
}

impl ErrorType {
    /// The `type` string on the wire.
    pub const fn name(self) -> &'static str {
        match self {
            ErrorType::BadRequest => "BadRequestError",
            ErrorType::Authentication => "AuthenticationError",
            ErrorType::NotFound => "NotFoundError",
            ErrorType::MethodNotAllowed => "MethodNotAllowedError",
            ErrorType::PayloadTooLarge => "PayloadTooLargeError",
            ErrorType::Validation => "ValidationError",
            ErrorType::Internal => "InternalError",
            ErrorType::MigrationValidation => "MigrationValidationError",
            ErrorType::InvalidState => "InvalidStateError",
            ErrorType::Conflict => "ConflictError",
            ErrorType::Unavailable => "ServiceUnavailableError",
        }
    }

    /// The HTTP status.
    pub const fn status(self) -> u16 {
        match self {
            ErrorType::BadRequest | ErrorType::MigrationValidation | ErrorType::InvalidState => 400,
            ErrorType::Authentication => 401,
            ErrorType::NotFound => 404,
            ErrorType::MethodNotAllowed => 405,
            ErrorType::PayloadTooLarge => 413,
            ErrorType::Validation => 422,
            ErrorType::Internal => 500,
            ErrorType::Conflict => 409,
            ErrorType::Unavailable => 503,
        }
    }
}

/// Declares [`ErrorCode`] and its table in one place: `Variant = "code", Type;`.
macro_rules! error_codes {
    ($($(#[$doc:meta])* $variant:ident = $code:literal, $kind:ident;)*) => {
        /// Every stable error code Ferry answers with (see the module doc).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum ErrorCode {
            $($(#[$doc])* $variant,)*
        }

        impl ErrorCode {
            /// Every code, in table order.
            pub const ALL: &'static [ErrorCode] = &[$(ErrorCode::$variant,)*];

            /// The `code` string on the wire.
            pub const fn code(self) -> &'static str {
                match self {
                    $(ErrorCode::$variant => $code,)*
                }
            }

            /// The error `type` this code travels with.
            pub const fn error_type(self) -> ErrorType {
                match self {
                    $(ErrorCode::$variant => ErrorType::$kind,)*
                }
            }
        }
    };
}

error_codes! {
    // The request itself.
    /// The body could not be read.
    UnreadableBody = "unreadable_body", BadRequest;
    /// A namespace-scoped endpoint was called without `X-Namespace`.
    NamespaceRequired = "namespace_required", BadRequest;
    /// The body or query does not match its schema (the 422 body).
    RequestValidationFailed = "request_validation_failed", Validation;
    MethodNotAllowed = "method_not_allowed", MethodNotAllowed;
    PayloadTooLarge = "payload_too_large", PayloadTooLarge;
    /// Anything the server did wrong; details are logged, never sent.
    InternalError = "internal_error", Internal;

    // Authentication.
    MissingApiKey = "missing_api_key", Authentication;
    InvalidApiKey = "invalid_api_key", Authentication;

    // Uniqueness and concurrency, raised by the store.
    ApiKeyTaken = "api_key_taken", BadRequest;
    NamespaceNameTaken = "namespace_name_taken", BadRequest;
    NamespaceIdTaken = "namespace_id_taken", BadRequest;
    BucketNameTaken = "bucket_name_taken", BadRequest;
    CollectionNameTaken = "collection_name_taken", BadRequest;
    DocumentIdTaken = "document_id_taken", BadRequest;
    RetrieverNameTaken = "retriever_name_taken", BadRequest;
    TaxonomyNameTaken = "taxonomy_name_taken", BadRequest;
    ClusterNameTaken = "cluster_name_taken", BadRequest;
    /// A namespace or an alias was to take a name an alias has (namespaces and aliases share
    /// one name space; Ferry's extension). A name a namespace has is `namespace_name_taken`.
    AliasNameTaken = "alias_name_taken", BadRequest;
    /// A namespace an alias points to cannot be deleted: the alias would point nowhere. The
    /// message names the aliases; repoint or delete them first (Ferry's extension).
    NamespaceAliased = "namespace_aliased", BadRequest;
    /// Evaluation set names are unique per retriever (Ferry's extension).
    EvaluationNameTaken = "evaluation_name_taken", BadRequest;
    /// A read-modify-write lost to a concurrent writer.
    ConcurrentUpdate = "concurrent_update", BadRequest;
    /// A worker's lease on a task or migration passed to another worker.
    LeaseLost = "lease_lost", BadRequest;
    /// A migration's compare-and-set found another status than the one it expected.
    StatusChanged = "status_changed", BadRequest;
    RetrieverInUse = "retriever_in_use", BadRequest;
    CollectionInUse = "collection_in_use", BadRequest;

    // A resource the body names does not exist.
    CollectionNotFound = "collection_not_found", BadRequest;
    SourceBucketNotFound = "source_bucket_not_found", BadRequest;
    SourceCollectionNotFound = "source_collection_not_found", BadRequest;
    RetrieverNotFound = "retriever_not_found", BadRequest;
    TaxonomyNotFound = "taxonomy_not_found", BadRequest;
    ExecutionNotFound = "execution_not_found", BadRequest;
    FeatureExtractorNotFound = "feature_extractor_not_found", BadRequest;
    FeatureNotFound = "feature_not_found", BadRequest;
    /// An evaluation set judges a document none of the retriever's collections holds.
    DocumentNotFound = "document_not_found", BadRequest;
    /// An evaluation set judges an object the namespace does not hold.
    ObjectNotFound = "object_not_found", BadRequest;

    // Buckets and collections.
    UniqueKeyFixed = "unique_key_fixed", BadRequest;
    CollectionHasNoVectors = "collection_has_no_vectors", BadRequest;

    // Retrievers and their executions.
    UndeclaredInput = "undeclared_input", BadRequest;
    MissingInput = "missing_input", BadRequest;
    InvalidInput = "invalid_input", BadRequest;
    InvalidQuery = "invalid_query", BadRequest;
    InvalidFilter = "invalid_filter", BadRequest;
    ModelUnavailable = "model_unavailable", BadRequest;
    StreamingUnsupported = "streaming_unsupported", BadRequest;
    WriteToCollectionUnsupported = "write_to_collection_unsupported", BadRequest;
    ExecutionRetrieverMismatch = "execution_retriever_mismatch", BadRequest;

    // Taxonomies.
    RetrieverCannotSearchSource = "retriever_cannot_search_source", BadRequest;
    UnmappedInput = "unmapped_input", BadRequest;
    TaxonomyTargetUnsupported = "taxonomy_target_unsupported", BadRequest;
    TaxonomyInputNotInCollection = "taxonomy_input_not_in_collection", BadRequest;

    // Clusters.
    ClusterFiltersUnsupported = "cluster_filters_unsupported", BadRequest;
    ClusterTypeUnsupported = "cluster_type_unsupported", BadRequest;
    ClusteringMethodUnsupported = "clustering_method_unsupported", BadRequest;
    CompositeClusterUnsupported = "composite_cluster_unsupported", BadRequest;
    ExecutionModeUnsupported = "execution_mode_unsupported", BadRequest;
    MultiFeatureStrategyUnsupported = "multi_feature_strategy_unsupported", BadRequest;

    // Migrations.
    MigrationValidationFailed = "migration_validation_failed", MigrationValidation;
    MigrationAlreadyRunning = "migration_already_running", InvalidState;
    MigrationAlreadyCompleted = "migration_already_completed", InvalidState;
    MigrationAlreadyFailed = "migration_already_failed", InvalidState;
    MigrationAlreadyCancelled = "migration_already_cancelled", InvalidState;
    MigrationCancelled = "migration_cancelled", InvalidState;
    MigrationRunning = "migration_running", InvalidState;
    InvalidTransition = "invalid_transition", InvalidState;
    /// Another request changed the migration's status between the check and the write.
    ConcurrentTransition = "concurrent_transition", InvalidState;

    // Write freezes and cutover (Ferry's extension).
    /// A cutover is catching the namespace's writes up: nothing was written; retry after
    /// the `Retry-After` seconds (through the alias, the retry reaches the new namespace).
    NamespaceFrozen = "namespace_frozen", Unavailable;
    /// An alias was cut over (or rolled back) from this namespace: it is kept read-only for
    /// a rollback. Write through the alias, or roll back.
    NamespaceReadOnly = "namespace_read_only", Conflict;
    /// The migration's figures fail the cutover's thresholds; `details.failures` names each.
    CutoverRefused = "cutover_refused", Conflict;
    /// The migration is not one the alias can be cut over with: not completed, its
    /// verification failed, or the alias does not point to its source.
    CutoverNotReady = "cutover_not_ready", Conflict;
    /// The alias moved while a cutover or rollback was under way.
    AliasMoved = "alias_moved", Conflict;
    /// A rollback needs an earlier target.
    NothingToRollBack = "nothing_to_roll_back", Conflict;
    /// A cutover names a migration the organization does not have.
    MigrationNotFound = "migration_not_found", BadRequest;
}

impl ErrorCode {
    /// The HTTP status this code is answered with.
    pub const fn status(self) -> u16 {
        self.error_type().status()
    }

    /// The code whose wire string is `code`, if there is one.
    pub fn from_code(code: &str) -> Option<ErrorCode> {
        ErrorCode::ALL.iter().copied().find(|c| c.code() == code)
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn no_code_string_is_listed_twice() {
        let mut seen = HashSet::new();
        for code in ErrorCode::ALL {
            assert!(seen.insert(code.code()), "{} is listed twice", code.code());
        }
    }

    #[test]
    fn codes_are_snake_case_and_round_trip() {
        for code in ErrorCode::ALL {
            let s = code.code();
            assert!(
                !s.is_empty() && s.chars().all(|c| c.is_ascii_lowercase() || c == '_'),
                "{s} is not snake_case"
            );
            assert_eq!(ErrorCode::from_code(s), Some(*code));
        }
        assert_eq!(ErrorCode::from_code("no_such_code"), None);
    }

    #[test]
    fn types_fix_the_status() {
        assert_eq!(ErrorCode::MissingApiKey.status(), 401);
        assert_eq!(ErrorCode::RequestValidationFailed.status(), 422);
        assert_eq!(ErrorCode::InternalError.status(), 500);
        assert_eq!(
            ErrorCode::BucketNameTaken.error_type().name(),
            "BadRequestError"
        );
        assert_eq!(
            ErrorCode::MigrationRunning.error_type().name(),
            "InvalidStateError"
        );
        assert_eq!(ErrorType::NotFound.status(), 404);
    }
}
