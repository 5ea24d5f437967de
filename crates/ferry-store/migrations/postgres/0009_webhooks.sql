-- Webhooks: each organization's signing secret (Standard Webhooks `whsec_…`), and every
-- delivery of a migration event with how its attempts went.
CREATE TABLE webhook_secrets (
    org_id TEXT PRIMARY KEY,
    secret TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE webhook_deliveries (
    delivery_id TEXT PRIMARY KEY,
    migration_id TEXT NOT NULL,
    sequence BIGINT NOT NULL,
    event TEXT NOT NULL,
    url TEXT NOT NULL,
    status TEXT NOT NULL,
    attempts BIGINT NOT NULL,
    last_status_code BIGINT,
    last_error TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX webhook_deliveries_by_migration ON webhook_deliveries (migration_id, sequence);
