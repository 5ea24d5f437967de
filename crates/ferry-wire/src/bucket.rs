//! Buckets: `/v1/buckets…` (X-Namespace scoped), shaped as the SDK's `BucketCreateRequest`,
//! `BucketUpdateRequest`, `BucketResponse`, `ListBucketsRequest` and `ListBucketsResponse`, and
//! the bucket schema objects are checked against.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::ToSchema;

use crate::namespace::SortDirection;
use crate::paging::{validate_paging, PaginationResponse};
pub use crate::schema::{BucketSchema, BucketSchemaField, BucketSchemaFieldType};
use crate::validate::{Errors, Validate};

/// Names the object root reserves for itself; a schema cannot declare them as fields.
pub const RESERVED_OBJECT_KEYS: &[&str] = &[
    "object_id",
    "bucket_id",
    "key_prefix",
    "blobs",
    "status",
    "error",
    "created_at",
    "updated_at",
    "document_count",
    "skip_duplicates",
    "canonicalize_source",
    "force_remirror",
    "edges",
    "idempotency_key",
];

impl Validate for BucketSchema {
    fn validate(&self, errors: &mut Errors) {
        errors.at("properties", |errors| {
            for (name, field) in &self.properties {
                if name.is_empty() || name.len() > 100 {
                    errors.push(
                        name,
                        "string_too_long",
                        "Field names must have 1 to 100 characters",
                    );
                } else if RESERVED_OBJECT_KEYS.contains(&name.as_str()) || name.starts_with('_') {
                    errors.push(
                        name,
                        "value_error",
                        format!("Value error, '{name}' is reserved and cannot be a schema field"),
                    );
                }
                if field.field_type == BucketSchemaFieldType::Array && field.items.is_none() {
                    errors.at(name.as_str(), |errors| {
                        errors.push("items", "missing", "Field required for type 'array'")
                    });
                }
            }
        });
    }
}

/// `UniqueKeyConfig`: the schema fields that identify an object within its bucket.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UniqueKeyConfig {
    pub fields: Vec<String>,
    /// `insert` (default), `update` or `upsert`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_policy: Option<String>,
}

/// Object-storage tier (accepted and stored; Ferry's store has one tier).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum StorageClass {
    Standard,
    Nearline,
    Coldline,
    Archive,
}

/// The checks create, update (PUT) and patch share, on whichever of the fields a body sets:
/// the name's length, the schema, and the unique key against that schema.
fn validate_bucket_settings(
    errors: &mut Errors,
    name: Option<&str>,
    schema: Option<&BucketSchema>,
    unique_key: &Option<UniqueKeyConfig>,
) {
    errors.str_len("bucket_name", name, 1, 255);
    errors.nested("bucket_schema", schema);
    validate_unique_key(errors, unique_key, schema);
}

fn validate_unique_key(
    errors: &mut Errors,
    key: &Option<UniqueKeyConfig>,
    schema: Option<&BucketSchema>,
) {
    let Some(key) = key else { return };
    errors.at("unique_key", |errors| {
        errors.list_not_empty("fields", Some(key.fields.len()));
        if let Some(schema) = schema {
            errors.at("fields", |errors| {
                for (i, field) in key.fields.iter().enumerate() {
                    if !schema.properties.contains_key(field) {
                        errors.at(i, |errors| {
                            errors.push_here(
                                "value_error",
                                format!(
                                    "Value error, '{field}' is not a field of the bucket schema"
                                ),
                            )
                        });
                    }
                }
            });
        }
        if let Some(policy) = &key.default_policy {
            if !["insert", "update", "upsert"].contains(&policy.as_str()) {
                errors.push(
                    "default_policy",
                    "enum",
                    "Input should be 'insert', 'update' or 'upsert'",
                );
            }
        }
    });
}

/// Request model for creating a new bucket.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BucketCreateRequest {
    pub bucket_name: String,
    pub description: Option<String>,
    pub bucket_schema: BucketSchema,
    pub unique_key: Option<UniqueKeyConfig>,
    pub metadata: Option<Map<String, Value>>,
    pub storage_class: Option<StorageClass>,
    /// Accepted and ignored.
    #[schema(value_type = Option<Object>)]
    pub destination: Option<Value>,
    /// Accepted and ignored.
    #[schema(value_type = Option<Object>)]
    pub ingest_filter: Option<Value>,
    /// Accepted and ignored.
    #[schema(value_type = Option<Object>)]
    pub source_adapter: Option<Value>,
}

impl Validate for BucketCreateRequest {
    fn validate(&self, errors: &mut Errors) {
        validate_bucket_settings(
            errors,
            Some(&self.bucket_name),
            Some(&self.bucket_schema),
            &self.unique_key,
        );
    }
}

/// Request model for replacing a bucket's settings (PUT); fields sent change, the rest stay.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BucketUpdateRequest {
    pub bucket_name: Option<String>,
    pub description: Option<String>,
    pub metadata: Option<Map<String, Value>>,
    /// Replaces the schema. Objects already stored are not re-checked.
    pub bucket_schema: Option<BucketSchema>,
    pub storage_class: Option<StorageClass>,
    /// Accepted and ignored.
    #[schema(value_type = Option<Object>)]
    pub destination: Option<Value>,
    /// Accepted and ignored.
    #[schema(value_type = Option<Object>)]
    pub ingest_filter: Option<Value>,
    /// Only `default_policy` may change; the key's fields are fixed at creation.
    pub unique_key: Option<UniqueKeyConfig>,
}

impl Validate for BucketUpdateRequest {
    fn validate(&self, errors: &mut Errors) {
        validate_bucket_settings(
            errors,
            self.bucket_name.as_deref(),
            self.bucket_schema.as_ref(),
            &self.unique_key,
        );
    }
}

/// Request model for a partial bucket update (PATCH); fields sent change, the rest stay.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BucketPatchRequest {
    pub bucket_name: Option<String>,
    pub description: Option<String>,
    pub metadata: Option<Map<String, Value>>,
    pub bucket_schema: Option<BucketSchema>,
    /// Accepted and ignored.
    #[schema(value_type = Option<Object>)]
    pub source_adapter: Option<Value>,
    /// Only `default_policy` may change; the key's fields are fixed at creation.
    pub unique_key: Option<UniqueKeyConfig>,
    /// Accepted and ignored.
    #[schema(value_type = Option<Object>)]
    pub destination: Option<Value>,
    /// Accepted and ignored.
    #[schema(value_type = Option<Object>)]
    pub ingest_filter: Option<Value>,
}

impl From<BucketPatchRequest> for BucketUpdateRequest {
    /// PATCH and PUT change a bucket the same way; PATCH just cannot set a storage class.
    fn from(patch: BucketPatchRequest) -> Self {
        BucketUpdateRequest {
            bucket_name: patch.bucket_name,
            description: patch.description,
            metadata: patch.metadata,
            bucket_schema: patch.bucket_schema,
            storage_class: None,
            destination: patch.destination,
            ingest_filter: patch.ingest_filter,
            unique_key: patch.unique_key,
        }
    }
}

impl Validate for BucketPatchRequest {
    fn validate(&self, errors: &mut Errors) {
        validate_bucket_settings(
            errors,
            self.bucket_name.as_deref(),
            self.bucket_schema.as_ref(),
            &self.unique_key,
        );
    }
}

/// Response model for bucket operations.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct BucketResponse {
    pub bucket_id: String,
    pub bucket_name: String,
    pub description: Option<String>,
    pub bucket_schema: BucketSchema,
    pub unique_key: Option<UniqueKeyConfig>,
    pub metadata: Option<Map<String, Value>>,
    pub storage_class: Option<StorageClass>,
    pub object_count: i64,
    pub failed_object_count: i64,
    pub total_size_bytes: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub last_upload_at: Option<DateTime<Utc>>,
    /// Always `ACTIVE`.
    pub status: String,
    pub is_locked: bool,
}

/// Fields a bucket list can be sorted by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum BucketSortField {
    CreatedAt,
    UpdatedAt,
    BucketName,
    BucketId,
    ObjectCount,
    TotalSizeBytes,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BucketSort {
    pub field: BucketSortField,
    #[serde(default)]
    pub direction: SortDirection,
}

/// Exact-match filters on a bucket list.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BucketFilters {
    pub bucket_id: Option<String>,
    pub bucket_name: Option<String>,
}

/// Request model for listing buckets.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ListBucketsRequest {
    pub limit: Option<i64>,
    pub page_size: Option<i64>,
    pub offset: Option<i64>,
    pub page: Option<i64>,
    pub search: Option<String>,
    pub filters: Option<BucketFilters>,
    pub sort: Option<BucketSort>,
    pub sorts: Option<Vec<BucketSort>>,
    #[serde(default)]
    pub case_sensitive: bool,
}

impl Validate for ListBucketsRequest {
    fn validate(&self, errors: &mut Errors) {
        validate_paging(errors, self.limit, self.page_size, self.offset, self.page);
    }
}

/// Aggregate statistics over the buckets of a list response.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
pub struct BucketListStats {
    pub total_objects: i64,
    pub total_size_bytes: i64,
    pub avg_objects_per_bucket: f64,
    pub avg_size_per_bucket: f64,
}

/// Response model for listing buckets.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ListBucketsResponse {
    pub results: Vec<BucketResponse>,
    pub total_count: i64,
    pub pagination: PaginationResponse,
    pub stats: BucketListStats,
}

/// Body of a successful bucket delete.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct DeleteBucketResponse {
    pub success: bool,
    pub message: String,
    pub bucket_id: String,
    /// Objects deleted with the bucket.
    pub deleted_object_count: i64,
}
