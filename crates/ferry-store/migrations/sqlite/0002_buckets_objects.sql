-- Buckets and their objects. Objects are keyed by namespace and id (lineage refers to objects
-- by id alone); counters on buckets and namespaces change in the same transaction as the rows.
CREATE TABLE buckets (
    ns_key BIGINT NOT NULL REFERENCES namespaces (ns_key) ON DELETE CASCADE,
    bucket_id TEXT NOT NULL,
    bucket_name TEXT NOT NULL,
    description TEXT,
    bucket_schema TEXT NOT NULL,
    unique_key TEXT,
    metadata TEXT,
    storage_class TEXT,
    object_count BIGINT NOT NULL DEFAULT 0,
    failed_object_count BIGINT NOT NULL DEFAULT 0,
    total_size_bytes BIGINT NOT NULL DEFAULT 0,
    last_upload_at BIGINT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (ns_key, bucket_id),
    UNIQUE (ns_key, bucket_name)
);
CREATE INDEX buckets_by_created ON buckets (ns_key, created_at, bucket_id);

CREATE TABLE objects (
    ns_key BIGINT NOT NULL,
    bucket_id TEXT NOT NULL,
    object_id TEXT NOT NULL,
    key_prefix TEXT,
    blobs TEXT NOT NULL,
    fields TEXT NOT NULL,
    size_bytes BIGINT NOT NULL,
    status TEXT NOT NULL,
    error TEXT,
    document_count BIGINT NOT NULL DEFAULT 0,
    idempotency_key TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (ns_key, object_id),
    FOREIGN KEY (ns_key, bucket_id) REFERENCES buckets (ns_key, bucket_id) ON DELETE CASCADE
);
CREATE INDEX objects_by_created ON objects (ns_key, bucket_id, created_at, object_id);
CREATE UNIQUE INDEX objects_by_idempotency_key ON objects (ns_key, bucket_id, idempotency_key)
    WHERE idempotency_key IS NOT NULL;
