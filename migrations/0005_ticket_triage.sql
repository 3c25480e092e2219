-- phase: expand
-- Ticket triage (issue 7): what the worker decided for each ticket when its event arrived
-- (category, priority, team, confidence, abstention, the layer that decided and why) and the SLA
-- due time that follows from the priority. Nullable, so rows written before it stay valid; the
-- history triggers of 0001 record every change of these columns like any other.

ALTER TABLE tickets
    ADD COLUMN category            text,
    ADD COLUMN suggested_category  text,
    ADD COLUMN priority            text,
    ADD COLUMN team                text,
    ADD COLUMN triage_confidence   double precision,
    ADD COLUMN needs_triage        boolean NOT NULL DEFAULT false,
    ADD COLUMN triage_layer        text,
    ADD COLUMN triage              jsonb,           -- explanation, rules, notes, model version
    ADD COLUMN sla_due_at          timestamptz;

CREATE INDEX tickets_needs_triage ON tickets (updated_at) WHERE needs_triage;
CREATE INDEX tickets_team_priority ON tickets (team, priority);
CREATE INDEX tickets_sla_due_at ON tickets (sla_due_at);
