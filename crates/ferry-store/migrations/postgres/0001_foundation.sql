-- Organizations, API keys and namespaces; the same tables as the SQLite schema.
CREATE TABLE organizations (
    internal_id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    created_at BIGINT NOT NULL
);

CREATE TABLE api_keys (
    key_hash TEXT PRIMARY KEY,
    internal_id TEXT NOT NULL REFERENCES organizations (internal_id) ON DELETE CASCADE,
    key_prefix TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE namespaces (
    ns_key BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    internal_id TEXT NOT NULL REFERENCES organizations (internal_id) ON DELETE CASCADE,
    namespace_id TEXT NOT NULL,
    namespace_name TEXT NOT NULL,
    description TEXT,
    namespace_type TEXT NOT NULL,
    mode TEXT NOT NULL,
    feature_extractors TEXT NOT NULL,
    payload_indexes TEXT NOT NULL,
    auto_create_indexes BIGINT NOT NULL,
    adaptive_indexing BIGINT NOT NULL,
    bucket_count BIGINT NOT NULL DEFAULT 0,
    collection_count BIGINT NOT NULL DEFAULT 0,
    object_count BIGINT NOT NULL DEFAULT 0,
    document_count BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (internal_id, namespace_id),
    UNIQUE (internal_id, namespace_name)
);

CREATE INDEX namespaces_by_created ON namespaces (internal_id, created_at, namespace_id);
CREATE INDEX namespaces_by_updated ON namespaces (internal_id, updated_at, namespace_id);
