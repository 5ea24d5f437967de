-- re_extract and extend batches. `input_id` names what an extraction batch reads (a source
-- bucket, or an upstream collection of the target); `items_skipped` counts the items of a
-- batch that the target already held unchanged (an incremental extend).
ALTER TABLE migration_batches ADD COLUMN input_id TEXT;
ALTER TABLE migration_batches ADD COLUMN items_skipped BIGINT NOT NULL DEFAULT 0;
