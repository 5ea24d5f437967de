-- Namespace aliases (Ferry's extension): the same tables as the SQLite schema, which explains
-- the shared name table `namespace_names` and why triggers keep it. PostgreSQL makes the
-- second of two concurrent writers of one name wait on the primary key and then fail with a
-- unique violation, so neither a namespace nor an alias can take a name the other holds.
CREATE TABLE namespace_names (
    internal_id TEXT NOT NULL REFERENCES organizations (internal_id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('namespace', 'alias')),
    PRIMARY KEY (internal_id, name)
);

INSERT INTO namespace_names (internal_id, name, kind)
    SELECT internal_id, namespace_name, 'namespace' FROM namespaces;

CREATE FUNCTION ferry_namespace_names() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO namespace_names (internal_id, name, kind)
            VALUES (NEW.internal_id, NEW.namespace_name, 'namespace');
    ELSIF TG_OP = 'UPDATE' THEN
        UPDATE namespace_names SET name = NEW.namespace_name
            WHERE internal_id = OLD.internal_id AND name = OLD.namespace_name;
    ELSE
        DELETE FROM namespace_names
            WHERE internal_id = OLD.internal_id AND name = OLD.namespace_name;
    END IF;
    RETURN NULL;
END;
$$;

CREATE TRIGGER namespace_name_added AFTER INSERT ON namespaces
    FOR EACH ROW EXECUTE FUNCTION ferry_namespace_names();
CREATE TRIGGER namespace_name_changed AFTER UPDATE OF namespace_name ON namespaces
    FOR EACH ROW WHEN (NEW.namespace_name IS DISTINCT FROM OLD.namespace_name)
    EXECUTE FUNCTION ferry_namespace_names();
CREATE TRIGGER namespace_name_removed AFTER DELETE ON namespaces
    FOR EACH ROW EXECUTE FUNCTION ferry_namespace_names();

-- The target is a plain foreign key (no cascade): a namespace an alias points to cannot be
-- deleted (the store answers `namespace_aliased`), and the key makes that race-free too.
CREATE TABLE namespace_aliases (
    alias_key BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    internal_id TEXT NOT NULL REFERENCES organizations (internal_id) ON DELETE CASCADE,
    alias_name TEXT NOT NULL,
    ns_key BIGINT NOT NULL REFERENCES namespaces (ns_key),
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (internal_id, alias_name)
);
CREATE INDEX namespace_aliases_by_target ON namespace_aliases (ns_key);

CREATE FUNCTION ferry_alias_names() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO namespace_names (internal_id, name, kind)
            VALUES (NEW.internal_id, NEW.alias_name, 'alias');
    ELSE
        DELETE FROM namespace_names
            WHERE internal_id = OLD.internal_id AND name = OLD.alias_name;
    END IF;
    RETURN NULL;
END;
$$;

CREATE TRIGGER alias_name_added AFTER INSERT ON namespace_aliases
    FOR EACH ROW EXECUTE FUNCTION ferry_alias_names();
CREATE TRIGGER alias_name_removed AFTER DELETE ON namespace_aliases
    FOR EACH ROW EXECUTE FUNCTION ferry_alias_names();

-- One row per namespace an alias pointed to, numbered from 1, kept by namespace id so it
-- outlives a namespace deleted after the alias moved off it.
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
