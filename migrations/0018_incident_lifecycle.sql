-- phase: expand
-- The incident lifecycle worked by people (issue 23; docs/incidents.md): open -> acknowledged ->
-- resolved, reopened, with an assignee, notes and links to tickets. People's changes go through
-- api/workflow/incidents.py with optimistic locking on incidents.version and idempotency keys
-- (incident_requests, as ticket_status_requests of 0007); every change lands in
-- incident_changes through the history triggers of 0009, with who (changed_by) and why
-- (last_action.reason).
--
-- Expand only: old workers keep writing 'open' and 'resolved' and read open incidents by
-- status = 'open' (an acknowledged one is then invisible to them until they are upgraded);
-- incidents_open stays for them, the contract phase may drop it.

ALTER TABLE incidents DROP CONSTRAINT incidents_status_check;
ALTER TABLE incidents
    ADD CONSTRAINT incidents_status_check
        CHECK (status IN ('open', 'acknowledged', 'resolved')),
    ADD COLUMN assignee         text,
    ADD COLUMN acknowledged_at  timestamptz,
    ADD COLUMN acknowledged_by  text,
    -- who resolved it ('agent:logs' after a quiet period, 'user:<login>'); NULL for
    -- incidents resolved before this migration (by the detector)
    ADD COLUMN resolved_by      text,
    ADD COLUMN reopened_count   integer NOT NULL DEFAULT 0,
    ADD COLUMN ticket_ids       bigint[] NOT NULL DEFAULT '{}',
    -- [{by, at, text}], oldest first; each note is a version of its own in the history
    ADD COLUMN notes            jsonb NOT NULL DEFAULT '[]',
    -- the latest lifecycle change: {action, by, reason, at}; its change in the history is the
    -- record of who did what and why
    ADD COLUMN last_action      jsonb;

CREATE INDEX incidents_unresolved ON incidents (service) WHERE status <> 'resolved';

-- The detector ('agent:…' in changed_by) never undoes what a person did:
-- - what only people set (assignee, acknowledgement, notes, links, last_action) is kept;
-- - an acknowledged incident stays acknowledged when the detector records an update;
-- - an incident a person resolved stays resolved when the detector's own quiet period ends
--   (the write is skipped: no version), and is reopened only by a new spike (an update);
-- - the detector's resolution records resolved_by and a last_action saying why.
-- Named to run after history_stamp (BEFORE triggers fire in name order), so that changed_by is
-- already the transaction's actor here.
CREATE FUNCTION incidents_guard_lifecycle() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.changed_by NOT LIKE 'agent:%' THEN
        RETURN NEW;
    END IF;
    NEW.assignee := OLD.assignee;
    NEW.acknowledged_at := OLD.acknowledged_at;
    NEW.acknowledged_by := OLD.acknowledged_by;
    NEW.resolved_by := OLD.resolved_by;
    NEW.reopened_count := OLD.reopened_count;
    NEW.ticket_ids := OLD.ticket_ids;
    NEW.notes := OLD.notes;
    NEW.last_action := OLD.last_action;
    IF OLD.status = 'resolved' AND OLD.resolved_by NOT LIKE 'agent:%' THEN
        IF NEW.status = 'resolved' THEN
            RETURN NULL;
        END IF;
        NEW.resolved_at := NULL;
        NEW.resolved_by := NULL;
        NEW.acknowledged_at := NULL;
        NEW.acknowledged_by := NULL;
        NEW.reopened_count := OLD.reopened_count + 1;
        NEW.last_action := jsonb_build_object(
            'action', 'reopened', 'by', NEW.changed_by, 'at', now(),
            'reason', 'a new spike after ' || OLD.resolved_by || ' resolved it');
        RETURN NEW;
    END IF;
    IF OLD.status = 'acknowledged' AND NEW.status = 'open' THEN
        NEW.status := 'acknowledged';
    END IF;
    IF NEW.status = 'resolved' AND OLD.status <> 'resolved' THEN
        NEW.resolved_by := NEW.changed_by;
        NEW.last_action := jsonb_build_object(
            'action', 'resolved', 'by', NEW.changed_by, 'at', now(),
            'reason', 'no spike for the quiet period');
    END IF;
    RETURN NEW;
END $$;

CREATE TRIGGER incidents_guard_lifecycle BEFORE UPDATE ON incidents
    FOR EACH ROW EXECUTE FUNCTION incidents_guard_lifecycle();
ALTER TABLE incidents ENABLE ALWAYS TRIGGER incidents_guard_lifecycle;

-- One row per idempotency key of a person's incident change: the request's fingerprint and the
-- result it got, written in the transaction of the change, so a repeat replays that result.
CREATE TABLE incident_requests (
    idempotency_key text PRIMARY KEY,
    incident_id     bigint NOT NULL,
    request_hash    bytea NOT NULL,
    result          jsonb NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX incident_requests_created_at ON incident_requests (created_at);
