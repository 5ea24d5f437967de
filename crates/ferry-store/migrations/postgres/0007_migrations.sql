-- Namespace migrations: the migration itself (organization-scoped), the batches its engine
-- processes, and the source -> target id map of the resources it created.
-- The JSON columns hold what the API reports (config with defaults, validation result,
-- dependency graph, progress, additional data) as text.
CREATE TABLE migrations (
    migration_id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL,
    source_namespace_id TEXT NOT NULL,
    target_namespace_id TEXT,
    migration_type TEXT NOT NULL,
    status TEXT NOT NULL,
    config TEXT NOT NULL,
    validation_result TEXT,
    dependency_graph TEXT,
    progress TEXT NOT NULL,
    task_id TEXT,
    error_message TEXT,
    additional_data TEXT,
    created_at BIGINT NOT NULL,
    started_at BIGINT,
    completed_at BIGINT,
    updated_at BIGINT NOT NULL
);
-- Lists are newest first within an organization, optionally by one of three filters.
CREATE INDEX migrations_by_org ON migrations (org_id, created_at, migration_id);
CREATE INDEX migrations_by_org_status ON migrations (org_id, status, created_at, migration_id);
CREATE INDEX migrations_by_org_type ON migrations (org_id, migration_type, created_at, migration_id);
CREATE INDEX migrations_by_org_source
    ON migrations (org_id, source_namespace_id, created_at, migration_id);
-- Workers look for migrations to resume by status.
CREATE INDEX migrations_by_status ON migrations (status, created_at);

-- One batch: up to batch_size source items of one resource, as a keyset range
-- (after_created, after_id] .. (last_created, last_id].
CREATE TABLE migration_batches (
    migration_id TEXT NOT NULL,
    batch_no BIGINT NOT NULL,
    resource_type TEXT NOT NULL,
    resource_id TEXT NOT NULL,
    after_created BIGINT,
    after_id TEXT,
    last_created BIGINT NOT NULL,
    last_id TEXT NOT NULL,
    item_count BIGINT NOT NULL,
    status TEXT NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    lease_owner TEXT,
    lease_expires_at BIGINT,
    items_written BIGINT NOT NULL DEFAULT 0,
    items_failed BIGINT NOT NULL DEFAULT 0,
    error TEXT,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (migration_id, batch_no)
);
CREATE INDEX migration_batches_by_status ON migration_batches (migration_id, status, batch_no);

CREATE TABLE migration_id_map (
    migration_id TEXT NOT NULL,
    resource_type TEXT NOT NULL,
    source_id TEXT NOT NULL,
    target_id TEXT NOT NULL,
    PRIMARY KEY (migration_id, resource_type, source_id)
);
