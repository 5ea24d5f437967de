-- Namespace aliases (Ferry's extension): a name that resolves to a namespace wherever a
-- namespace id or name is accepted, with the history of the namespaces it pointed to.
--
-- Aliases and namespace names share one name space per organization. `namespace_names` holds
-- every name in use, a namespace's or an alias's, under one primary key, so a clash is the
-- database's unique violation: race-free on both backends (PostgreSQL makes the second of
-- two concurrent writers of a name wait for the first and fail; SQLite has one writer), with
-- no lock to take and no check-then-write window. Triggers on `namespaces` and
-- `namespace_aliases` keep it, so no write path (the API, a migration creating its target)
-- can forget it. Chosen over a check in a locking transaction, which every path renaming a
-- namespace would have to remember, in two dialects of locking.
CREATE TABLE namespace_names (
    internal_id TEXT NOT NULL REFERENCES organizations (internal_id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('namespace', 'alias')),
    PRIMARY KEY (internal_id, name)
);

INSERT INTO namespace_names (internal_id, name, kind)
    SELECT internal_id, namespace_name, 'namespace' FROM namespaces;

CREATE TRIGGER namespace_name_added AFTER INSERT ON namespaces
BEGIN
    INSERT INTO namespace_names (internal_id, name, kind)
        VALUES (NEW.internal_id, NEW.namespace_name, 'namespace');
END;

CREATE TRIGGER namespace_name_changed AFTER UPDATE OF namespace_name ON namespaces
    WHEN NEW.namespace_name <> OLD.namespace_name
BEGIN
    UPDATE namespace_names SET name = NEW.namespace_name
        WHERE internal_id = OLD.internal_id AND name = OLD.namespace_name;
END;

CREATE TRIGGER namespace_name_removed AFTER DELETE ON namespaces
BEGIN
    DELETE FROM namespace_names WHERE internal_id = OLD.internal_id AND name = OLD.namespace_name;
END;

-- The target is a plain foreign key (no cascade): a namespace an alias points to cannot be
-- deleted (the store answers `namespace_aliased`), and the key makes that race-free too.
CREATE TABLE namespace_aliases (
    alias_key INTEGER PRIMARY KEY,
    internal_id TEXT NOT NULL REFERENCES organizations (internal_id) ON DELETE CASCADE,
    alias_name TEXT NOT NULL,
    ns_key BIGINT NOT NULL REFERENCES namespaces (ns_key),
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (internal_id, alias_name)
);
CREATE INDEX namespace_aliases_by_target ON namespace_aliases (ns_key);

CREATE TRIGGER alias_name_added AFTER INSERT ON namespace_aliases
BEGIN
    INSERT INTO namespace_names (internal_id, name, kind)
        VALUES (NEW.internal_id, NEW.alias_name, 'alias');
END;

CREATE TRIGGER alias_name_removed AFTER DELETE ON namespace_aliases
BEGIN
    DELETE FROM namespace_names WHERE internal_id = OLD.internal_id AND name = OLD.alias_name;
END;

-- One row per namespace an alias pointed to, numbered from 1. The namespace is kept by id,
-- not by key, so the history outlives a namespace deleted after the alias moved off it.
-- `ended_at`/`ended_by` are null on the current entry only.
CREATE TABLE namespace_alias_history (
    alias_key BIGINT NOT NULL REFERENCES namespace_aliases (alias_key) ON DELETE CASCADE,
    seq BIGINT NOT NULL,
    namespace_id TEXT NOT NULL,
    started_at BIGINT NOT NULL,
    started_by TEXT NOT NULL,
    ended_at BIGINT,
    ended_by TEXT,
    PRIMARY KEY (alias_key, seq)
);
