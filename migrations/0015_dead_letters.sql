-- phase: expand
-- Dead letters, listed and replayed through the API (issue 10): where each failed event came
-- from, where its original waits on the dead-letter topic, and why it failed. The original bytes
-- stay on the dead-letter topic (for its retention, docs/privacy.md): this table holds only the
-- coordinates and the reason, which the worker redacts before anything logs or stores it.

CREATE TABLE dead_letters (
    id                bigserial PRIMARY KEY,
    source_topic      text NOT NULL,
    source_partition  integer NOT NULL,
    source_offset     bigint NOT NULL,
    dlq_topic         text NOT NULL,
    dlq_partition     integer NOT NULL,
    dlq_offset        bigint NOT NULL,
    code              text NOT NULL,
    reason            text NOT NULL,
    failed_at         timestamptz NOT NULL,
    replayed_at       timestamptz,
    replayed_by       text,
    UNIQUE (source_topic, source_partition, source_offset)
);
CREATE INDEX dead_letters_failed_at ON dead_letters (failed_at, id);
