-- phase: expand
-- Rename tickets.reporter to tickets.reporter_id (issue 9, docs/schema-evolution.md), step 1 of
-- 3: the new column beside the old one, and a trigger that keeps the two in step whichever app
-- version writes, so the previous version (reading and writing `reporter`) and the new one
-- (`reporter_id`) can run side by side. 0011 backfills the rows written before; 0012 drops the
-- old column once no session of the previous version is connected.
--
-- ticket_events.schema_version: the version of the stored payload (ticket events v2 rename the
-- payload's `reporter` to `reporter_id` as well). Rows and writers that predate it are v1.

ALTER TABLE tickets ADD COLUMN reporter_id text;
ALTER TABLE ticket_events ADD COLUMN schema_version integer NOT NULL DEFAULT 1;

-- Whichever column a write changed wins; an insert that names only one fills the other.
CREATE FUNCTION tickets_reporter_dual_write() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        IF NEW.reporter_id IS NULL THEN
            NEW.reporter_id := NEW.reporter;
        ELSE
            NEW.reporter := NEW.reporter_id;
        END IF;
    ELSIF NEW.reporter_id IS DISTINCT FROM OLD.reporter_id THEN
        NEW.reporter := NEW.reporter_id;
    ELSIF NEW.reporter IS DISTINCT FROM OLD.reporter THEN
        NEW.reporter_id := NEW.reporter;
    END IF;
    RETURN NEW;
END $$;

CREATE TRIGGER tickets_reporter_dual_write BEFORE INSERT OR UPDATE ON tickets
    FOR EACH ROW EXECUTE FUNCTION tickets_reporter_dual_write();
