-- Replacing a source's documents deletes by (namespace, collection, source object). With the
-- index on (ns_key, source_object_id) alone, planners preferred the (ns_key, collection_id, …)
-- prefix of another index and scanned the whole collection for every batch, so a trigger slowed
-- down as its collection grew. Leading with the source object keeps the delete a point lookup
-- and still serves per-object document counts.
DROP INDEX documents_by_source_object;
CREATE INDEX documents_by_source_object ON documents (ns_key, source_object_id, collection_id);
