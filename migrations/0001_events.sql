-- phase: expand
-- The walking skeleton: the events of the three raw topics, and the generic history machinery
-- that every mutable entity uses (issue 9 extends it; it is written once, here).

CREATE TABLE log_events (
    event_id        text PRIMARY KEY,
    service         text NOT NULL,
    host            text,
    level           text,
    ts              timestamptz NOT NULL,
    message         text NOT NULL,
    attributes      jsonb NOT NULL DEFAULT '{}',
    source          text NOT NULL,
    trace_id        text,
    occurred_at     timestamptz NOT NULL,
    received_at     timestamptz,
    ingested_at     timestamptz NOT NULL DEFAULT now(),
    kafka_topic     text,
    kafka_partition integer,
    kafka_offset    bigint
);
CREATE INDEX log_events_service_ts ON log_events (service, ts);
CREATE INDEX log_events_trace_id ON log_events (trace_id) WHERE trace_id IS NOT NULL;

-- Commits are immutable; a commit seen again (another branch, a tag pushed later) merges its
-- branch and tags into the row it already has.
CREATE TABLE commits (
    repo            text NOT NULL,
    sha             text NOT NULL,
    event_id        text NOT NULL,
    parents         text[] NOT NULL DEFAULT '{}',
    author_name     text NOT NULL,
    author_email    text,
    authored_at     timestamptz NOT NULL,
    committed_at    timestamptz NOT NULL,
    message         text NOT NULL,
    branch          text,
    tags            text[] NOT NULL DEFAULT '{}',
    source          text NOT NULL,
    trace_id        text,
    ingested_at     timestamptz NOT NULL DEFAULT now(),
    kafka_topic     text,
    kafka_partition integer,
    kafka_offset    bigint,
    PRIMARY KEY (repo, sha)
);
CREATE INDEX commits_repo_committed_at ON commits (repo, committed_at);

-- Every ticket event ever accepted, once (its id is the idempotency key): the raw material
-- that replays re-read when the topic's retention has passed.
CREATE TABLE ticket_events (
    event_id        text PRIMARY KEY,
    source_system   text NOT NULL,
    external_id     text NOT NULL,
    payload         jsonb NOT NULL,
    source          text NOT NULL,
    trace_id        text,
    occurred_at     timestamptz NOT NULL,
    received_at     timestamptz,
    ingested_at     timestamptz NOT NULL DEFAULT now(),
    kafka_topic     text,
    kafka_partition integer,
    kafka_offset    bigint
);
CREATE INDEX ticket_events_ticket ON ticket_events (source_system, external_id);

-- The current state of each ticket; history in ticket_changes, written by triggers.
CREATE TABLE tickets (
    id              bigserial PRIMARY KEY,
    source_system   text NOT NULL,
    external_id     text NOT NULL,
    title           text NOT NULL,
    body            text NOT NULL DEFAULT '',
    reporter        text,
    status          text NOT NULL,
    labels          text[] NOT NULL DEFAULT '{}',
    created_at      timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL,
    trace_id        text,
    last_event_id   text,
    -- who or what made the latest change: 'agent:<name>', 'user:<login>', ...
    changed_by      text NOT NULL DEFAULT 'unknown',
    version         integer NOT NULL DEFAULT 1,
    row_updated_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (source_system, external_id)
);

CREATE TABLE ticket_changes (
    ticket_id       bigint NOT NULL,
    version         integer NOT NULL,
    changed_at      timestamptz NOT NULL DEFAULT now(),
    changed_by      text NOT NULL,
    change_kind     text NOT NULL,
    delta           jsonb NOT NULL,
    event_id        text,
    PRIMARY KEY (ticket_id, version)
);
CREATE INDEX ticket_changes_changed_at ON ticket_changes (ticket_id, changed_at);

-- History, generically: a BEFORE trigger numbers the versions and stamps the time, an AFTER
-- trigger writes the delta (only the fields that changed) into the entity's *_changes table.
-- Being triggers, no code path that writes the table can skip them.
-- Arguments: the changes table, the column in it that references the entity.
CREATE FUNCTION history_stamp_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        NEW.version := 1;
    ELSE
        NEW.version := OLD.version + 1;
    END IF;
    NEW.row_updated_at := now();
    RETURN NEW;
END $$;

CREATE FUNCTION history_record_change() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    bookkeeping constant text[] := ARRAY['version', 'row_updated_at', 'changed_by', 'last_event_id'];
    new_row jsonb := to_jsonb(NEW);
    delta jsonb;
BEGIN
    IF TG_OP = 'INSERT' THEN
        delta := new_row - bookkeeping;
    ELSE
        SELECT coalesce(jsonb_object_agg(n.key, n.value), '{}'::jsonb) INTO delta
        FROM jsonb_each(new_row) AS n
        WHERE NOT (n.key = ANY (bookkeeping))
          AND n.value IS DISTINCT FROM (to_jsonb(OLD) -> n.key);
    END IF;
    EXECUTE format(
        'INSERT INTO %I (%I, version, changed_at, changed_by, change_kind, delta, event_id) '
        'VALUES ($1, $2, $3, $4, $5, $6, $7)', TG_ARGV[0], TG_ARGV[1])
    USING NEW.id, NEW.version, NEW.row_updated_at, NEW.changed_by,
          lower(TG_OP), delta, new_row ->> 'last_event_id';
    RETURN NULL;
END $$;

CREATE TRIGGER tickets_stamp_version BEFORE INSERT OR UPDATE ON tickets
    FOR EACH ROW EXECUTE FUNCTION history_stamp_version();
CREATE TRIGGER tickets_record_change AFTER INSERT OR UPDATE ON tickets
    FOR EACH ROW EXECUTE FUNCTION history_record_change('ticket_changes', 'ticket_id');
