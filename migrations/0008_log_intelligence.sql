-- phase: expand
-- Log intelligence in the pipeline (issue 6): every stored log line carries its template id and
-- parameters; the template miner's state per service (log_templates, with the history of each
-- template generalizing in log_template_changes); closed windows per service and window size
-- (log_summaries); incidents opened, updated and resolved from them (incidents, history in
-- incident_changes). See docs/logs.md.

-- Nullable: rows written before, or while the mining stage failed, simply have none.
ALTER TABLE log_events
    ADD COLUMN template_id      text,
    ADD COLUMN template_params  text[];

-- One row per template a service's miner ever held. status: active (held by the miner),
-- merged (generalized into merged_into; its lines were re-labelled). Counters and times are
-- updated every batch without making a version; a change of status, text or merge target does.
CREATE TABLE log_templates (
    id              bigserial PRIMARY KEY,
    service         text NOT NULL,
    template_id     text NOT NULL,
    template        text NOT NULL,
    tokens          text[] NOT NULL,            -- the miner's tokens (template = their join)
    line_count      bigint NOT NULL,            -- lines the miner counted, merged ones included
    first_seen      timestamptz NOT NULL,       -- event time of its earliest and latest line:
    last_seen       timestamptz NOT NULL,       -- the bounds used to re-label stored lines
    last_used       bigint NOT NULL,            -- the miner's least-recently-used order
    status          text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'merged')),
    merged_into     text,
    changed_by      text NOT NULL DEFAULT 'unknown',
    version         integer NOT NULL DEFAULT 1,
    row_updated_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (service, template_id)
);
CREATE INDEX log_templates_active ON log_templates (service, last_used DESC)
    WHERE status = 'active';

CREATE TABLE log_template_changes (
    template_row_id bigint NOT NULL REFERENCES log_templates (id),
    version         integer NOT NULL,
    changed_at      timestamptz NOT NULL DEFAULT now(),
    changed_by      text NOT NULL,
    change_kind     text NOT NULL,
    delta           jsonb NOT NULL,
    event_id        text,
    PRIMARY KEY (template_row_id, version)
);

CREATE TRIGGER log_templates_stamp_insert BEFORE INSERT ON log_templates
    FOR EACH ROW EXECUTE FUNCTION history_stamp_version();
CREATE TRIGGER log_templates_stamp_update BEFORE UPDATE ON log_templates
    FOR EACH ROW
    WHEN (OLD.status IS DISTINCT FROM NEW.status OR OLD.template IS DISTINCT FROM NEW.template
          OR OLD.merged_into IS DISTINCT FROM NEW.merged_into)
    EXECUTE FUNCTION history_stamp_version();
CREATE TRIGGER log_templates_record_insert AFTER INSERT ON log_templates
    FOR EACH ROW EXECUTE FUNCTION history_record_change('log_template_changes', 'template_row_id');
CREATE TRIGGER log_templates_record_update AFTER UPDATE ON log_templates
    FOR EACH ROW
    WHEN (OLD.status IS DISTINCT FROM NEW.status OR OLD.template IS DISTINCT FROM NEW.template
          OR OLD.merged_into IS DISTINCT FROM NEW.merged_into)
    EXECUTE FUNCTION history_record_change('log_template_changes', 'template_row_id');

-- Per service, the last_used mark of the latest batch a worker mined: a worker whose own mark
-- differs knows another worker mined the service since, and reloads its templates.
CREATE TABLE log_template_miners (
    service     text PRIMARY KEY,
    last_used   bigint NOT NULL,
    worker_id   text NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now()
);

-- One row per closed window of a service and window size.
CREATE TABLE log_summaries (
    id                   bigserial PRIMARY KEY,
    service              text NOT NULL,
    window_seconds       integer NOT NULL,
    window_start         timestamptz NOT NULL,
    window_end           timestamptz NOT NULL,
    total                integer NOT NULL,
    errors               integer NOT NULL,
    counts_by_level      jsonb NOT NULL,
    baseline_errors      double precision,     -- NULL until the service has enough history
    error_ratio          double precision,
    top_templates        jsonb NOT NULL,       -- [{template_id, template, count, errors,
    top_error_templates  jsonb NOT NULL,       --   example (redacted), first_seen}]
    new_templates        jsonb NOT NULL,
    narrative            text NOT NULL,        -- the deterministic sentence
    summary              jsonb,                -- the LLM's {title, summary, impact,
                                               --   probable_cause, cited_template_ids}
    produced_by          text NOT NULL DEFAULT 'deterministic'
                             CHECK (produced_by IN ('deterministic', 'llm')),
    provenance           jsonb,                -- llm.LLMResult.provenance(): prompts, models...
    created_at           timestamptz NOT NULL DEFAULT now(),
    updated_at           timestamptz NOT NULL DEFAULT now(),
    UNIQUE (service, window_seconds, window_start)
);
CREATE INDEX log_summaries_service_start ON log_summaries (service, window_start DESC);

-- One row per incident and window size; history in incident_changes.
CREATE TABLE incidents (
    id               bigserial PRIMARY KEY,
    incident_key     text NOT NULL,            -- the detector's id (service + opening window)
    service          text NOT NULL,
    window_seconds   integer NOT NULL,
    severity         text NOT NULL,
    status           text NOT NULL CHECK (status IN ('open', 'resolved')),
    last_transition  text NOT NULL,            -- opened | updated | resolved
    opened_at        timestamptz NOT NULL,
    last_spike_end   timestamptz NOT NULL,
    resolved_at      timestamptz,
    peak_errors      integer NOT NULL,
    peak_ratio       double precision,
    template_ids     text[] NOT NULL,
    reason           text NOT NULL,
    narrative        text NOT NULL,
    summary_id       bigint REFERENCES log_summaries (id),  -- the window of the latest change
    changed_by       text NOT NULL DEFAULT 'unknown',
    version          integer NOT NULL DEFAULT 1,
    row_updated_at   timestamptz NOT NULL DEFAULT now(),
    UNIQUE (incident_key, window_seconds)
);
CREATE INDEX incidents_open ON incidents (service) WHERE status = 'open';
CREATE INDEX incidents_opened_at ON incidents (opened_at DESC);

CREATE TABLE incident_changes (
    incident_id  bigint NOT NULL REFERENCES incidents (id),
    version      integer NOT NULL,
    changed_at   timestamptz NOT NULL DEFAULT now(),
    changed_by   text NOT NULL,
    change_kind  text NOT NULL,
    delta        jsonb NOT NULL,
    event_id     text,
    PRIMARY KEY (incident_id, version)
);
CREATE INDEX incident_changes_changed_at ON incident_changes (incident_id, changed_at);

CREATE TRIGGER incidents_stamp_version BEFORE INSERT OR UPDATE ON incidents
    FOR EACH ROW EXECUTE FUNCTION history_stamp_version();
CREATE TRIGGER incidents_record_change AFTER INSERT OR UPDATE ON incidents
    FOR EACH ROW EXECUTE FUNCTION history_record_change('incident_changes', 'incident_id');
