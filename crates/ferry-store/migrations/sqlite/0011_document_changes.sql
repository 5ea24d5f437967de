-- The change feed that process-local search indexes catch up from (ferry_store::changes).
-- Every transaction that writes a collection's documents takes the next `change_seq` of the
-- collection (the row lock it takes orders writers, so sequence order is commit order) and
-- stamps the rows it inserts or updates with it; rows it deletes leave a tombstone.
ALTER TABLE collections ADD COLUMN change_seq BIGINT NOT NULL DEFAULT 0;
ALTER TABLE documents ADD COLUMN change_seq BIGINT NOT NULL DEFAULT 0;
CREATE INDEX documents_by_change ON documents (ns_key, collection_id, change_seq, document_id);
CREATE TABLE document_deletions (
    ns_key BIGINT NOT NULL,
    collection_id TEXT NOT NULL,
    change_seq BIGINT NOT NULL,
    document_id TEXT NOT NULL,
    PRIMARY KEY (ns_key, collection_id, change_seq, document_id),
    FOREIGN KEY (ns_key, collection_id) REFERENCES collections (ns_key, collection_id)
        ON DELETE CASCADE
);
