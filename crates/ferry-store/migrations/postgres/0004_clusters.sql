-- Clusters (a k-means configuration over one or more collections) and their executions.
-- `definition` is the cluster's configuration as JSON text; the summary columns of the last
-- execution are copied onto the cluster so reading one never scans its history.
CREATE TABLE clusters (
    ns_key BIGINT NOT NULL REFERENCES namespaces (ns_key) ON DELETE CASCADE,
    cluster_id TEXT NOT NULL,
    cluster_name TEXT NOT NULL,
    description TEXT,
    input_collections TEXT NOT NULL,
    definition TEXT NOT NULL,
    metadata TEXT,
    status TEXT,
    last_task_id TEXT,
    last_run_id TEXT,
    num_clusters BIGINT,
    num_documents_clustered BIGINT,
    execution_time_seconds DOUBLE PRECISION,
    quality_metrics TEXT,
    error TEXT,
    last_executed_at BIGINT,
    completed_at BIGINT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (ns_key, cluster_id),
    UNIQUE (ns_key, cluster_name)
);
CREATE INDEX clusters_by_created ON clusters (ns_key, created_at, cluster_id);

-- One row per execution (run). Centroids (with their vectors) and metrics are JSON text;
-- the assignments themselves live on the documents and in the Parquet artifact.
CREATE TABLE cluster_executions (
    ns_key BIGINT NOT NULL,
    cluster_id TEXT NOT NULL,
    run_id TEXT NOT NULL,
    task_id TEXT NOT NULL,
    status TEXT NOT NULL,
    num_clusters BIGINT NOT NULL DEFAULT 0,
    num_points BIGINT NOT NULL DEFAULT 0,
    centroids TEXT,
    metrics TEXT,
    artifact_key TEXT,
    error_message TEXT,
    created_at BIGINT NOT NULL,
    completed_at BIGINT,
    PRIMARY KEY (ns_key, cluster_id, run_id),
    FOREIGN KEY (ns_key, cluster_id) REFERENCES clusters (ns_key, cluster_id) ON DELETE CASCADE
);
CREATE INDEX cluster_executions_by_created
    ON cluster_executions (ns_key, cluster_id, created_at, run_id);
