//! Bucket objects: `/v1/buckets/{bucket}/objects…`, shaped as the SDK's `CreateObjectRequest`,
//! `CreateBlobRequest`, `ObjectResponse`, `BlobModel` and the batch and list models, and the
//! check of an object against its bucket's schema.
//!
//! Custom fields travel at the object's root, as the SDK sends them (its models' additional
//! properties), so requests and responses flatten them beside the declared keys.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::ToSchema;

use crate::bucket::{BucketSchema, BucketSchemaField, BucketSchemaFieldType};
use crate::filter::{LogicalOperator, SortOption};
use crate::paging::PaginationResponse;
use crate::validate::{Errors, Validate};

/// Most objects one batch create takes.
pub const MAX_BATCH_OBJECTS: usize = 100;

/// Request model for creating a new blob.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateBlobRequest {
    /// Property of the bucket schema this blob fills.
    pub property: String,
    pub key_prefix: Option<String>,
    #[serde(rename = "type")]
    pub blob_type: BucketSchemaFieldType,
    /// Inline text, a JSON value, a `data:<mime>;base64,…` URI, or
    /// `{"base64": …, "mime_type"?: …, "filename"?: …}` / `{"text": …}`.
    #[schema(value_type = Option<Object>)]
    pub data: Option<Value>,
    /// Ferry has no presigned-upload workflow; refused with a 422 naming the field.
    pub upload_id: Option<String>,
    /// Expected sha256 of the bytes; a mismatch is refused.
    pub checksum: Option<String>,
    pub metadata: Option<Map<String, Value>>,
    /// Accepted and ignored: blobs are always stored in Ferry's object store.
    pub canonicalize_source: Option<bool>,
    /// Accepted and ignored: content addressing makes re-upload a no-op.
    pub force_remirror: Option<bool>,
}

/// Request model for creating a bucket object.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
pub struct CreateObjectRequest {
    pub key_prefix: Option<String>,
    pub blobs: Option<Vec<CreateBlobRequest>>,
    /// Accepted and ignored: identical blob content is stored once anyway.
    pub skip_duplicates: Option<bool>,
    /// Accepted and ignored.
    pub canonicalize_source: Option<bool>,
    /// Accepted and ignored.
    pub force_remirror: Option<bool>,
    /// Accepted and ignored.
    #[schema(value_type = Option<Vec<Object>>)]
    pub edges: Option<Vec<Value>>,
    /// A retried create with the same key returns the first object instead of a second one.
    pub idempotency_key: Option<String>,
    /// Custom fields, at the object's root.
    #[serde(flatten)]
    pub fields: Map<String, Value>,
}

impl Validate for CreateObjectRequest {
    fn validate(&self, errors: &mut Errors) {
        if let Some(key) = &self.idempotency_key {
            errors.str_len("idempotency_key", Some(key), 1, 255);
        }
        if let Some(blobs) = &self.blobs {
            errors.at("blobs", |errors| {
                for (i, blob) in blobs.iter().enumerate() {
                    errors.at(i, |errors| {
                        errors.str_len("property", Some(&blob.property), 1, 100);
                        if blob.upload_id.is_some() {
                            errors.push(
                                "upload_id",
                                "value_error",
                                "Value error, presigned uploads are not supported; send the \
                                 content in 'data'",
                            );
                        } else if blob.data.as_ref().is_none_or(Value::is_null) {
                            errors.push("data", "missing", "Field required (or 'upload_id')");
                        }
                    });
                }
            });
        }
    }
}

/// Request model for creating up to 100 objects at once; each succeeds or fails alone.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateObjectsBatchRequest {
    pub objects: Vec<CreateObjectRequest>,
}

impl Validate for CreateObjectsBatchRequest {
    fn validate(&self, errors: &mut Errors) {
        errors.list_len("objects", Some(self.objects.len()), MAX_BATCH_OBJECTS);
    }
}

/// PATCH: the custom fields sent (at the root) change; the rest stay.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
pub struct PatchObjectRequest {
    pub key_prefix: Option<String>,
    /// Accepted and ignored.
    pub skip_duplicates: Option<bool>,
    #[serde(flatten)]
    pub fields: Map<String, Value>,
}

impl Validate for PatchObjectRequest {
    fn validate(&self, _errors: &mut Errors) {}
}

/// PUT: custom fields to change travel in `metadata`.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateObjectRequest {
    pub key_prefix: Option<String>,
    pub metadata: Option<Map<String, Value>>,
    /// Accepted and ignored.
    pub skip_duplicates: Option<bool>,
}

impl Validate for UpdateObjectRequest {
    fn validate(&self, _errors: &mut Errors) {}
}

/// System-generated file details of a stored blob.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct BlobDetails {
    pub filename: Option<String>,
    pub size_bytes: i64,
    pub mime_type: String,
    /// `sha256:<hex>`: the blob's address in the object store.
    pub hash: String,
}

/// A blob within a bucket object.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct BlobModel {
    pub blob_id: String,
    pub property: String,
    pub key_prefix: Option<String>,
    #[serde(rename = "type")]
    pub blob_type: BucketSchemaFieldType,
    /// Blob metadata, and `text` for text blobs.
    pub properties: Map<String, Value>,
    pub details: BlobDetails,
}

/// Response model for bucket objects.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ObjectResponse {
    pub object_id: String,
    pub bucket_id: String,
    pub key_prefix: Option<String>,
    pub blobs: Vec<BlobModel>,
    /// `PENDING` until a collection has processed the object, then `COMPLETED` or `FAILED`.
    pub status: String,
    pub error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub document_count: i64,
    #[serde(flatten)]
    pub fields: Map<String, Value>,
}

/// One succeeded row of a batch create.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct BatchObjectResult {
    #[serde(flatten)]
    pub object: ObjectResponse,
    pub object_index: usize,
    /// True when the idempotency key matched an existing object, which is returned unchanged.
    pub replayed: bool,
    pub replayed_by: Option<String>,
}

/// A failed row of a batch create.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct FailedObjectError {
    pub object_index: usize,
    pub error: String,
    pub error_type: String,
}

/// Response model for batch object creation with partial success.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CreateObjectsBatchResponse {
    pub succeeded: Vec<BatchObjectResult>,
    pub failed: Vec<FailedObjectError>,
    pub total_requested: usize,
    pub succeeded_count: usize,
    pub failed_count: usize,
}

/// Statistics over the returned page of objects.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
pub struct ObjectListStats {
    pub total_objects: i64,
    pub total_blobs: i64,
    pub avg_blobs_per_object: f64,
    pub objects_by_status: Map<String, Value>,
}

/// Response model for listing objects in a bucket.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ListObjectsResponse {
    pub results: Vec<ObjectResponse>,
    pub pagination: PaginationResponse,
    pub stats: ObjectListStats,
}

fn type_name(t: BucketSchemaFieldType) -> &'static str {
    match t {
        BucketSchemaFieldType::String => "string",
        BucketSchemaFieldType::Number => "number",
        BucketSchemaFieldType::Integer => "integer",
        BucketSchemaFieldType::Float => "float",
        BucketSchemaFieldType::Boolean => "boolean",
        BucketSchemaFieldType::Object => "object",
        BucketSchemaFieldType::Array => "array",
        BucketSchemaFieldType::Date => "date",
        BucketSchemaFieldType::Datetime => "datetime",
        BucketSchemaFieldType::Text => "text",
        BucketSchemaFieldType::Image => "image",
        BucketSchemaFieldType::Audio => "audio",
        BucketSchemaFieldType::Video => "video",
        BucketSchemaFieldType::Pdf => "pdf",
        BucketSchemaFieldType::Excel => "excel",
    }
}

/// Checks one value against its schema field, pushing errors at the current location.
fn check_value(errors: &mut Errors, field: &BucketSchemaField, value: &Value) {
    if value.is_null() {
        return;
    }
    let (ok, kind, expected) = match field.field_type {
        BucketSchemaFieldType::String | BucketSchemaFieldType::Text => {
            (value.is_string(), "string_type", "a valid string")
        }
        BucketSchemaFieldType::Number | BucketSchemaFieldType::Float => {
            (value.is_number(), "float_type", "a valid number")
        }
        BucketSchemaFieldType::Integer => (
            value.is_i64() || value.is_u64(),
            "int_type",
            "a valid integer",
        ),
        BucketSchemaFieldType::Boolean => (value.is_boolean(), "bool_type", "a valid boolean"),
        BucketSchemaFieldType::Object => (value.is_object(), "dict_type", "a valid dictionary"),
        BucketSchemaFieldType::Array => (value.is_array(), "list_type", "a valid list"),
        BucketSchemaFieldType::Date => (
            value
                .as_str()
                .is_some_and(|s| NaiveDate::parse_from_str(s, "%Y-%m-%d").is_ok()),
            "date_from_datetime_parsing",
            "a valid date (YYYY-MM-DD)",
        ),
        BucketSchemaFieldType::Datetime => (
            value
                .as_str()
                .is_some_and(|s| DateTime::parse_from_rfc3339(s).is_ok()),
            "datetime_from_date_parsing",
            "a valid RFC 3339 datetime",
        ),
        blob => {
            errors.push_here(
                "value_error",
                format!(
                    "Value error, a {} field is sent as a blob in 'blobs', not as a field",
                    type_name(blob)
                ),
            );
            return;
        }
    };
    if !ok {
        errors.push_here(kind, format!("Input should be {expected}"));
        return;
    }
    if let Some(allowed) = &field.allowed {
        if !allowed.contains(value) {
            let names: Vec<String> = allowed.iter().map(Value::to_string).collect();
            errors.push_here("enum", format!("Input should be {}", names.join(", ")));
        }
    }
    if let (Some(items), Some(values)) = (&field.items, value.as_array()) {
        for (i, item) in values.iter().enumerate() {
            errors.at(i, |errors| check_value(errors, items, item));
        }
    }
    if let (Some(properties), Some(object)) = (&field.properties, value.as_object()) {
        for (name, sub) in properties {
            errors.at(name.as_str(), |errors| match object.get(name) {
                Some(v) => check_value(errors, sub, v),
                None if sub.required => errors.push_here("missing", "Field required"),
                None => {}
            });
        }
    }
}

/// Checks an object's custom fields and blobs against its bucket's schema, filling schema
/// defaults into `fields`. `require_all` is false for partial updates, which need not repeat
/// required fields.
pub fn check_object_against_schema(
    errors: &mut Errors,
    schema: &BucketSchema,
    fields: &mut Map<String, Value>,
    blobs: &[CreateBlobRequest],
    require_all: bool,
) {
    for (name, value) in fields.iter() {
        errors.at(name.as_str(), |errors| match schema.properties.get(name) {
            Some(field) => check_value(errors, field, value),
            None => {
                let declared: Vec<&str> = schema.properties.keys().map(String::as_str).collect();
                errors.push_here(
                    "extra_forbidden",
                    format!(
                        "Extra inputs are not permitted: '{name}' is not in the bucket schema; \
                         declared fields: {}",
                        declared.join(", ")
                    ),
                );
            }
        });
    }
    errors.at("blobs", |errors| {
        for (i, blob) in blobs.iter().enumerate() {
            errors.at(i, |errors| match schema.properties.get(&blob.property) {
                None => errors.push(
                    "property",
                    "value_error",
                    format!(
                        "Value error, '{}' is not a property of the bucket schema",
                        blob.property
                    ),
                ),
                Some(field) if field.field_type != blob.blob_type => errors.push(
                    "type",
                    "value_error",
                    format!(
                        "Value error, property '{}' is declared as {}, not {}",
                        blob.property,
                        type_name(field.field_type),
                        type_name(blob.blob_type)
                    ),
                ),
                Some(_) => {}
            });
        }
    });
    if !require_all {
        return;
    }
    for (name, field) in &schema.properties {
        let present = fields.get(name).is_some_and(|v| !v.is_null())
            || blobs.iter().any(|b| &b.property == name);
        if present {
            continue;
        }
        if let Some(default) = &field.default {
            fields.insert(name.clone(), default.clone());
        } else if field.required {
            errors.push(name, "missing", "Field required by the bucket schema");
        }
    }
}

/// Request model for listing objects in a bucket.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ListObjectsRequest {
    /// Conditions on custom fields (at the object's root) and system fields (`created_at`,
    /// `status`, …); see [`crate::filter_match`].
    pub filters: Option<LogicalOperator>,
    /// `created_at` (newest first when absent), `updated_at`, `object_id`, `key_prefix`, or
    /// any custom field.
    pub sort: Option<SortOption>,
    /// Substring of object id or key prefix.
    pub search: Option<String>,
    /// Accepted and ignored: objects are returned whole.
    pub select: Option<Vec<String>>,
    /// Accepted and ignored: blobs are served by Ferry, not by presigned URLs.
    pub return_presigned_urls: Option<bool>,
}

impl Validate for ListObjectsRequest {
    fn validate(&self, errors: &mut Errors) {
        errors.nested("filters", self.filters.as_ref());
    }
}
