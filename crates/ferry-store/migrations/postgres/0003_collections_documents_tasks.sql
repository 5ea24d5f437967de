-- Collections, their documents, and tasks (asynchronous work with progress and a lease).
CREATE TABLE collections (
    ns_key BIGINT NOT NULL REFERENCES namespaces (ns_key) ON DELETE CASCADE,
    collection_id TEXT NOT NULL,
    collection_name TEXT NOT NULL,
    description TEXT,
    source TEXT NOT NULL,
    feature_extractor TEXT NOT NULL,
    extractor_name TEXT NOT NULL,
    extractor_version TEXT NOT NULL,
    input_schema TEXT,
    output_schema TEXT NOT NULL,
    vector_indexes TEXT NOT NULL,
    taxonomy_applications TEXT,
    cluster_applications TEXT,
    metadata TEXT,
    enabled BIGINT NOT NULL,
    document_count BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (ns_key, collection_id),
    UNIQUE (ns_key, collection_name)
);
CREATE INDEX collections_by_created ON collections (ns_key, created_at, collection_id);

-- A document's vectors are one binary column (see ferry_store::vectors); its custom fields
-- are JSON text. Lineage columns name the object or upstream document it came from.
CREATE TABLE documents (
    ns_key BIGINT NOT NULL,
    collection_id TEXT NOT NULL,
    document_id TEXT NOT NULL,
    source_object_id TEXT,
    root_object_id TEXT,
    source_document_id TEXT,
    root_bucket_id TEXT,
    chunk_index BIGINT NOT NULL,
    fields TEXT NOT NULL,
    vectors BYTEA NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (ns_key, collection_id, document_id),
    FOREIGN KEY (ns_key, collection_id) REFERENCES collections (ns_key, collection_id)
        ON DELETE CASCADE
);
CREATE INDEX documents_by_created ON documents (ns_key, collection_id, created_at, document_id);
CREATE INDEX documents_by_source_object ON documents (ns_key, source_object_id);
CREATE INDEX documents_by_source_document ON documents (ns_key, collection_id, source_document_id);

CREATE TABLE tasks (
    task_id TEXT PRIMARY KEY,
    internal_id TEXT NOT NULL REFERENCES organizations (internal_id) ON DELETE CASCADE,
    ns_key BIGINT,
    task_type TEXT NOT NULL,
    status TEXT NOT NULL,
    inputs TEXT NOT NULL,
    outputs TEXT,
    processed BIGINT NOT NULL DEFAULT 0,
    total BIGINT,
    failed BIGINT NOT NULL DEFAULT 0,
    error TEXT,
    resume_cursor TEXT,
    lease_owner TEXT,
    lease_expires_at BIGINT,
    attempts BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    started_at BIGINT,
    completed_at BIGINT
);
CREATE INDEX tasks_by_created ON tasks (internal_id, created_at, task_id);
CREATE INDEX tasks_runnable ON tasks (status, lease_expires_at);
