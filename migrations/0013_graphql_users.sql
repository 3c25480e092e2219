-- phase: expand
-- The GraphQL API (issue 10): the people who log in, their password hashes and refresh tokens,
-- and a notification on every ticket change so subscriptions see it without polling.

-- Users are mutable (role, disabling), so they have a history like tickets (history_track).
-- The password hash lives apart, in user_credentials, so that it never enters user_changes.
CREATE TABLE users (
    id              bigserial PRIMARY KEY,
    username        text NOT NULL,
    role            text NOT NULL CHECK (role IN ('admin', 'ops', 'hr')),
    created_at      timestamptz NOT NULL DEFAULT now(),
    disabled_at     timestamptz,
    changed_by      text NOT NULL DEFAULT 'unknown',
    version         integer NOT NULL DEFAULT 1,
    row_updated_at  timestamptz NOT NULL DEFAULT now()
);
-- Usernames are compared without case: "Alice" and "alice" are one person.
CREATE UNIQUE INDEX users_username ON users (lower(username));

CREATE TABLE user_changes (
    user_id      bigint NOT NULL REFERENCES users (id),
    version      integer NOT NULL,
    changed_at   timestamptz NOT NULL DEFAULT now(),
    changed_by   text NOT NULL,
    change_kind  text NOT NULL,
    delta        jsonb NOT NULL,
    event_id     text,
    PRIMARY KEY (user_id, version)
);

-- History like every mutable entity (0009): versions, who, deltas and states, append-only.
SELECT history_track('users', 'user_changes', 'user_id');

CREATE TABLE user_credentials (
    user_id        bigint PRIMARY KEY REFERENCES users (id),
    password_hash  text NOT NULL,          -- bcrypt
    updated_at     timestamptz NOT NULL DEFAULT now()
);

-- Refresh tokens rotate: each use marks the row rotated and issues a successor in the same
-- family. A rotated token presented again means it leaked, and the whole family is revoked.
-- Only a SHA-256 of the token's secret is stored (a 256-bit random value: a fast hash suffices).
CREATE TABLE refresh_tokens (
    id           text PRIMARY KEY,
    family_id    text NOT NULL,
    user_id      bigint NOT NULL REFERENCES users (id),
    secret_hash  bytea NOT NULL,
    issued_at    timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL,
    rotated_at   timestamptz,
    revoked_at   timestamptz,
    revoked_why  text
);
CREATE INDEX refresh_tokens_family ON refresh_tokens (family_id);
CREATE INDEX refresh_tokens_user ON refresh_tokens (user_id);

-- Subscriptions: one notification per ticket change, carrying only keys (the payload limit is
-- 8 kB; the API reads the change and masks it per subscriber).
CREATE FUNCTION notify_ticket_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('opsassist_ticket_changes',
                      json_build_object('ticket_id', NEW.ticket_id, 'version', NEW.version)::text);
    RETURN NULL;
END $$;

CREATE TRIGGER ticket_changes_notify AFTER INSERT ON ticket_changes
    FOR EACH ROW EXECUTE FUNCTION notify_ticket_change();

-- Keyset pagination and filters of the API: the sort key and its tie-breaker, after the
-- equality filters a dashboard combines (a service's errors, newest first).
CREATE INDEX log_events_ts ON log_events (ts, event_id);
CREATE INDEX log_events_service_level_ts ON log_events (service, level, ts, event_id);
CREATE INDEX tickets_created_at ON tickets (created_at, id);
CREATE INDEX tickets_updated_at ON tickets (updated_at, id);
CREATE INDEX tickets_status ON tickets (status, created_at);
CREATE INDEX tickets_category ON tickets (category, created_at);
CREATE INDEX commits_committed_at ON commits (committed_at, repo, sha);
-- SLA breaches: only tickets not resolved (the list is store.reads.tickets.RESOLVED_STATUSES).
CREATE INDEX tickets_unresolved_sla_due_at ON tickets (sla_due_at)
    WHERE lower(status) NOT IN ('resolved', 'closed', 'done', 'cancelled', 'canceled', 'rejected', 'fixed');
