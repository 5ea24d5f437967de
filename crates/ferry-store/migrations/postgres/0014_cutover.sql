-- Cutover (Ferry's extension): the change feed of objects, write freezes, and where each
-- migration started reading its source, so a cutover can bring over what changed since.
--
-- Objects get the feed documents have (0011): every transaction that writes a bucket's
-- objects takes the bucket's next `change_seq` (the row lock it takes orders writers, so
-- sequence order is commit order), stamps the rows it inserts or updates with it, and leaves
-- a tombstone for each row it deletes.
ALTER TABLE buckets ADD COLUMN change_seq BIGINT NOT NULL DEFAULT 0;
ALTER TABLE objects ADD COLUMN change_seq BIGINT NOT NULL DEFAULT 0;
CREATE INDEX objects_by_change ON objects (ns_key, bucket_id, change_seq, object_id);
CREATE TABLE object_deletions (
    ns_key BIGINT NOT NULL,
    bucket_id TEXT NOT NULL,
    change_seq BIGINT NOT NULL,
    object_id TEXT NOT NULL,
    PRIMARY KEY (ns_key, bucket_id, change_seq, object_id),
    FOREIGN KEY (ns_key, bucket_id) REFERENCES buckets (ns_key, bucket_id) ON DELETE CASCADE
);

-- A write freeze: while `frozen_until` (microseconds) is in the future, writes of the
-- bucket's objects or the collection's documents are refused. Writers read it on the very
-- row whose lock orders them, in the statement that takes the lock, so a freeze waits for
-- the writes in flight and no write slips past it. The largest BIGINT means "until lifted":
-- a namespace an alias was cut over from stays read-only until a rollback.
ALTER TABLE buckets ADD COLUMN frozen_until BIGINT;
ALTER TABLE collections ADD COLUMN frozen_until BIGINT;

-- Per migration and source bucket or collection: the change number the migration started
-- reading at (everything up to it is in the target once the migration completed), and how
-- far a cutover has caught the target up since.
CREATE TABLE migration_watermarks (
    migration_id TEXT NOT NULL,
    resource_id TEXT NOT NULL,
    caught_up_to BIGINT NOT NULL,
    PRIMARY KEY (migration_id, resource_id)
);

-- The migration a cutover or rollback moved an alias for.
ALTER TABLE namespace_alias_history ADD COLUMN migration_id TEXT;
