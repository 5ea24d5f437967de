-- Retrievers (a pipeline of search stages over collections), their execution history and the
-- interactions recorded against their results; taxonomies and their versions.
-- JSON columns are text; ids are unique per namespace so a migration target may keep them.
CREATE TABLE retrievers (
    ns_key BIGINT NOT NULL REFERENCES namespaces (ns_key) ON DELETE CASCADE,
    retriever_id TEXT NOT NULL,
    retriever_name TEXT NOT NULL,
    description TEXT,
    collection_ids TEXT NOT NULL,
    stages TEXT NOT NULL,
    input_schema TEXT,
    -- budget_limits, tags, display_config, visibility …: what the API stores as given.
    settings TEXT NOT NULL,
    metadata TEXT,
    version BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (ns_key, retriever_id),
    UNIQUE (ns_key, retriever_name)
);
CREATE INDEX retrievers_by_created ON retrievers (ns_key, created_at, retriever_id);

-- One row per execution: its inputs and the page of documents it returned.
CREATE TABLE retriever_executions (
    ns_key BIGINT NOT NULL,
    retriever_id TEXT NOT NULL,
    execution_id TEXT NOT NULL,
    status TEXT NOT NULL,
    inputs TEXT NOT NULL,
    inputs_hash TEXT NOT NULL,
    response TEXT NOT NULL,
    total_processed BIGINT NOT NULL,
    total_returned BIGINT NOT NULL,
    duration_ms DOUBLE PRECISION NOT NULL,
    created_at BIGINT NOT NULL,
    completed_at BIGINT NOT NULL,
    PRIMARY KEY (ns_key, execution_id),
    FOREIGN KEY (ns_key, retriever_id) REFERENCES retrievers (ns_key, retriever_id)
        ON DELETE CASCADE
);
CREATE INDEX retriever_executions_by_created
    ON retriever_executions (ns_key, retriever_id, created_at, execution_id);

CREATE TABLE retriever_interactions (
    ns_key BIGINT NOT NULL REFERENCES namespaces (ns_key) ON DELETE CASCADE,
    interaction_id TEXT NOT NULL,
    retriever_id TEXT,
    execution_id TEXT,
    feature_id TEXT NOT NULL,
    session_id TEXT,
    user_id TEXT,
    -- The interaction types as a JSON array, and the whole recorded body.
    interaction_types TEXT NOT NULL,
    body TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (ns_key, interaction_id)
);
CREATE INDEX retriever_interactions_by_created
    ON retriever_interactions (ns_key, created_at, interaction_id);
CREATE INDEX retriever_interactions_by_retriever
    ON retriever_interactions (ns_key, retriever_id, created_at);
CREATE INDEX retriever_interactions_by_execution
    ON retriever_interactions (ns_key, execution_id);

-- The current version of each taxonomy; every version (the current one included) is kept in
-- taxonomy_versions.
CREATE TABLE taxonomies (
    ns_key BIGINT NOT NULL REFERENCES namespaces (ns_key) ON DELETE CASCADE,
    taxonomy_id TEXT NOT NULL,
    taxonomy_name TEXT NOT NULL,
    description TEXT,
    config TEXT NOT NULL,
    metadata TEXT,
    retriever_id TEXT NOT NULL,
    source_collection_id TEXT NOT NULL,
    version BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (ns_key, taxonomy_id),
    UNIQUE (ns_key, taxonomy_name)
);
CREATE INDEX taxonomies_by_created ON taxonomies (ns_key, created_at, taxonomy_id);

CREATE TABLE taxonomy_versions (
    ns_key BIGINT NOT NULL,
    taxonomy_id TEXT NOT NULL,
    version BIGINT NOT NULL,
    taxonomy_name TEXT NOT NULL,
    description TEXT,
    config TEXT NOT NULL,
    metadata TEXT,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (ns_key, taxonomy_id, version),
    FOREIGN KEY (ns_key, taxonomy_id) REFERENCES taxonomies (ns_key, taxonomy_id)
        ON DELETE CASCADE
);
