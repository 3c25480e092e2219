-- phase: contract
-- Rename tickets.reporter to tickets.reporter_id, step 3 of 3: drop the old column and the
-- trigger that kept it in step. The runner applies it only when no session of an app version
-- older than this file is connected; the check below refuses it if any ticket still differs.

DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM tickets WHERE reporter_id IS DISTINCT FROM reporter) THEN
        RAISE EXCEPTION 'tickets.reporter_id differs from tickets.reporter on some rows: '
            'run the backfill (0011) to its end before the contract step';
    END IF;
END $$;

DROP TRIGGER tickets_reporter_dual_write ON tickets;
DROP FUNCTION tickets_reporter_dual_write();
ALTER TABLE tickets DROP COLUMN reporter;
