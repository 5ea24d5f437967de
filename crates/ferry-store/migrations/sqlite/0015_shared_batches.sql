-- Batches shared across processes: which worker wrote each batch (the lease owner when its
-- done mark committed), so a run shows how the work was spread.
ALTER TABLE migration_batches ADD COLUMN done_by TEXT;
