-- phase: expand
-- Ticket workflow and stored triage models (issue 7).
--
-- tickets.status stays what the source system last reported; workflow_status is opsassist's
-- own workflow (open -> triaged -> in_progress -> resolved -> closed, with reopen), changed by
-- store/ticket_workflow.py with optimistic locking on tickets.version. human_fields lists the
-- triage fields (category, priority, team) a person has set: from then on no agent write may
-- change them (the trigger below, so that no code path can forget it). Every change of these
-- columns lands in ticket_changes through the history triggers of 0001, like any other.

ALTER TABLE tickets
    ADD COLUMN workflow_status  text NOT NULL DEFAULT 'open'
        CHECK (workflow_status IN ('open', 'triaged', 'in_progress', 'resolved', 'closed')),
    ADD COLUMN resolved_at      timestamptz,
    ADD COLUMN reopened_count   integer NOT NULL DEFAULT 0,
    ADD COLUMN human_fields     text[] NOT NULL DEFAULT '{}',
    -- the latest correction: fields (old and new values), by, reason, at; its change is the
    -- history's record of who corrected what and why
    ADD COLUMN correction       jsonb;

-- Rows written before this migration: a confident triage counts as the open -> triaged step.
UPDATE tickets SET workflow_status = 'triaged'
WHERE category IS NOT NULL AND NOT needs_triage AND workflow_status = 'open';

CREATE INDEX tickets_workflow_status ON tickets (workflow_status, sla_due_at);

-- Agents ('agent:<name>' in changed_by: the worker, a re-triage) never overwrite what a person
-- set. A corrected category also keeps the decision that goes with it (confidence, layer,
-- abstention, explanation); a corrected priority keeps its SLA due time. An agent's confident
-- triage of an open ticket moves it to triaged; nothing here ever moves a ticket back.
CREATE FUNCTION tickets_guard_triage() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND NEW.changed_by LIKE 'agent:%' THEN
        NEW.human_fields := OLD.human_fields;
        NEW.correction := OLD.correction;
        IF 'category' = ANY (OLD.human_fields) THEN
            NEW.category := OLD.category;
            NEW.suggested_category := OLD.suggested_category;
            NEW.triage_confidence := OLD.triage_confidence;
            NEW.needs_triage := OLD.needs_triage;
            NEW.triage_layer := OLD.triage_layer;
            NEW.triage := OLD.triage;
        END IF;
        IF 'priority' = ANY (OLD.human_fields) THEN
            NEW.priority := OLD.priority;
            NEW.sla_due_at := OLD.sla_due_at;
        END IF;
        IF 'team' = ANY (OLD.human_fields) THEN
            NEW.team := OLD.team;
        END IF;
    END IF;
    IF NEW.workflow_status = 'open' AND NEW.category IS NOT NULL AND NOT NEW.needs_triage
       AND (TG_OP = 'INSERT' OR OLD.workflow_status = 'open') THEN
        NEW.workflow_status := 'triaged';
    END IF;
    RETURN NEW;
END $$;

-- BEFORE triggers fire in name order; this one runs before tickets_stamp_version, which does
-- not depend on it.
CREATE TRIGGER tickets_guard_triage BEFORE INSERT OR UPDATE ON tickets
    FOR EACH ROW EXECUTE FUNCTION tickets_guard_triage();

-- One row per idempotency key of a status change: the request's fingerprint and the result it
-- got, written in the transaction of the change itself, so a repeat replays that result.
CREATE TABLE ticket_status_requests (
    idempotency_key text PRIMARY KEY,
    ticket_id       bigint NOT NULL,
    request_hash    bytea NOT NULL,
    result          jsonb NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX ticket_status_requests_created_at ON ticket_status_requests (created_at);

-- Trained triage models. Workers use the newest active one (and poll for a newer one); setting
-- active = false on the newest rolls back to the one before.
CREATE TABLE triage_models (
    id          bigserial PRIMARY KEY,
    version     text NOT NULL UNIQUE,
    created_at  timestamptz NOT NULL DEFAULT now(),
    created_by  text NOT NULL,
    active      boolean NOT NULL DEFAULT true,
    -- what it learned from: examples per origin (corrections, labelled, resolved, file) and
    -- per class
    trained_on  jsonb NOT NULL,
    metrics     jsonb NOT NULL,          -- e.g. the inner cross-validation macro-F1, C
    model       bytea NOT NULL           -- TriageModel.to_bytes(): NumPy arrays, no pickle
);
CREATE INDEX triage_models_active ON triage_models (created_at DESC, id DESC) WHERE active;
