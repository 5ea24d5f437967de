-- How many migrations an organization has, in all and per status, type and source namespace,
-- kept in step with `migrations` in the same transactions, so a list's `total` is one row
-- read instead of a count over up to every migration of the organization.
CREATE TABLE migration_counts (
    org_id TEXT NOT NULL,
    dimension TEXT NOT NULL,
    value TEXT NOT NULL,
    count BIGINT NOT NULL,
    PRIMARY KEY (org_id, dimension, value)
);
INSERT INTO migration_counts (org_id, dimension, value, count)
    SELECT org_id, 'all', '', COUNT(*) FROM migrations GROUP BY org_id;
INSERT INTO migration_counts (org_id, dimension, value, count)
    SELECT org_id, 'status', status, COUNT(*) FROM migrations GROUP BY org_id, status;
INSERT INTO migration_counts (org_id, dimension, value, count)
    SELECT org_id, 'migration_type', migration_type, COUNT(*) FROM migrations
    GROUP BY org_id, migration_type;
INSERT INTO migration_counts (org_id, dimension, value, count)
    SELECT org_id, 'source_namespace_id', source_namespace_id, COUNT(*) FROM migrations
    GROUP BY org_id, source_namespace_id;
