-- phase: expand
-- Incident notifications (issue 23; docs/incidents.md, "Notifications"): every attempt of
-- `opsassist notify` to deliver a notification event, kept for admins to see what was sent,
-- what failed and why. A 'delivered' row is also the deduplication: at most one per incident,
-- route, transition and cycle (reopened_count), so a redelivered Kafka record or a repeated
-- change never notifies twice.

CREATE TABLE notification_deliveries (
    id           bigserial PRIMARY KEY,
    event_id     text NOT NULL,          -- <incident>:<version>:<route>
    incident_id  bigint NOT NULL,
    route        text NOT NULL,
    transition   text NOT NULL,
    cycle        integer NOT NULL,
    attempt      integer NOT NULL,
    -- delivered | failed (will retry) | dead_lettered (gave up; on ops.notifications.dlq)
    status       text NOT NULL CHECK (status IN ('delivered', 'failed', 'dead_lettered')),
    http_status  integer,
    error        text,
    at           timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX notification_deliveries_once
    ON notification_deliveries (incident_id, route, transition, cycle) WHERE status = 'delivered';
CREATE INDEX notification_deliveries_incident ON notification_deliveries (incident_id, at);
CREATE INDEX notification_deliveries_at ON notification_deliveries (at DESC);
