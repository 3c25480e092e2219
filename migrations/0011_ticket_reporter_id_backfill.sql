-- phase: migrate
-- Rename tickets.reporter to tickets.reporter_id, step 2 of 3: copy `reporter` into
-- `reporter_id` for the tickets written before 0010, in batches in key order, one transaction
-- each, so that no lock is held long and an interrupted run resumes at its last batch
-- (store/migrations.py: $1 is the last key of the previous batch as text, NULL at first; $2 the
-- batch size). Each copied ticket gets a new version in ticket_changes, by the migration.

-- @count
SELECT count(*) FROM tickets WHERE id > coalesce($1::text::bigint, 0);

-- @batch
WITH batch AS (
    SELECT id FROM tickets WHERE id > coalesce($1::text::bigint, 0) ORDER BY id LIMIT $2
), changed AS (
    -- `= ANY (ARRAY(...))`: an index scan on the primary key whatever the statistics say
    UPDATE tickets t
    SET reporter_id = t.reporter, changed_by = 'migration:0011_ticket_reporter_id_backfill'
    WHERE t.id = ANY (ARRAY(SELECT id FROM batch))
      AND t.reporter_id IS NULL AND t.reporter IS NOT NULL
    RETURNING t.id
)
SELECT (SELECT max(id) FROM batch) AS last_key, (SELECT count(*) FROM batch) AS scanned,
       (SELECT count(*) FROM changed) AS changed;
