-- phase: expand
-- Alertmanager's alerts as incidents (issue 23; docs/incidents.md, "Alerts"). The worker's alert
-- stage (agent:alerts) keeps one incident per alert fingerprint (incident_key
-- 'alertmanager:<fingerprint>', window_seconds 0: an alert has no detection window), with the
-- alert's labels and annotations. An alert incident and a log incident of the same service that
-- overlap in time are linked both ways (related_incident_ids), so that either shows the other.
--
-- Expand only: old workers write log incidents without naming a source ('logs' by default) and
-- never read the new columns.

ALTER TABLE incidents
    ADD COLUMN source                text NOT NULL DEFAULT 'logs'
        CHECK (source IN ('logs', 'alertmanager')),
    ADD COLUMN labels                jsonb,
    ADD COLUMN annotations           jsonb,
    ADD COLUMN generator_url         text,
    ADD COLUMN related_incident_ids  bigint[] NOT NULL DEFAULT '{}';

CREATE INDEX incidents_service_opened ON incidents (service, opened_at);

-- The links, made by the database whichever writer opens the incident: an incident that opens
-- (or an alert incident that fires again) is linked to the incidents of the other source of its
-- service whose time span [opened_at, resolved_at or now] overlaps its own, and they to it.
-- BEFORE: the new row gets its links; AFTER: the others get the new row's id (their update is a
-- version in their history, by the transaction's actor).
CREATE FUNCTION incidents_link_related() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND NOT (OLD.status = 'resolved' AND NEW.status <> 'resolved') THEN
        RETURN NEW;
    END IF;
    NEW.related_incident_ids := ARRAY(
        SELECT DISTINCT u FROM unnest(NEW.related_incident_ids || ARRAY(
            SELECT o.id FROM incidents o
            WHERE o.service = NEW.service AND o.source <> NEW.source
              AND o.opened_at <= coalesce(NEW.resolved_at, 'infinity')
              AND coalesce(o.resolved_at, 'infinity') >= NEW.opened_at
              AND o.id IS DISTINCT FROM NEW.id)) AS u ORDER BY u);
    RETURN NEW;
END $$;

CREATE FUNCTION incidents_link_back() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND NOT (OLD.status = 'resolved' AND NEW.status <> 'resolved') THEN
        RETURN NULL;
    END IF;
    UPDATE incidents SET related_incident_ids = related_incident_ids || NEW.id
    WHERE id = ANY (NEW.related_incident_ids) AND NOT (NEW.id = ANY (related_incident_ids));
    RETURN NULL;
END $$;

-- Named to run after incidents_guard_lifecycle (BEFORE triggers fire in name order): a write the
-- guard skips links nothing.
CREATE TRIGGER incidents_link_related BEFORE INSERT OR UPDATE OF status ON incidents
    FOR EACH ROW EXECUTE FUNCTION incidents_link_related();
CREATE TRIGGER incidents_link_related_back AFTER INSERT OR UPDATE OF status ON incidents
    FOR EACH ROW EXECUTE FUNCTION incidents_link_back();

-- The guard of 0018, unchanged but for the reason an agent's resolution records: the alert
-- stage resolves because Alertmanager said the alert resolved, not after a quiet period.
CREATE OR REPLACE FUNCTION incidents_guard_lifecycle() RETURNS trigger LANGUAGE plpgsql AS $$
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
            'reason', CASE WHEN NEW.source = 'alertmanager'
                           THEN 'the alert fired again after ' || OLD.resolved_by || ' resolved it'
                           ELSE 'a new spike after ' || OLD.resolved_by || ' resolved it' END);
        RETURN NEW;
    END IF;
    IF OLD.status = 'acknowledged' AND NEW.status = 'open' THEN
        NEW.status := 'acknowledged';
    END IF;
    IF NEW.status = 'resolved' AND OLD.status <> 'resolved' THEN
        NEW.resolved_by := NEW.changed_by;
        NEW.last_action := jsonb_build_object(
            'action', 'resolved', 'by', NEW.changed_by, 'at', now(),
            'reason', CASE WHEN NEW.source = 'alertmanager'
                           THEN 'the alert resolved in Alertmanager'
                           ELSE 'no spike for the quiet period' END);
    END IF;
    RETURN NEW;
END $$;
