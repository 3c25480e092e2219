"""The worker's Prometheus metrics, declared once. Label values are bounded: topic names,
partitions and short reason codes, never ids or text."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

EVENTS_CONSUMED = Counter(
    "opsassist_events_consumed_total", "Events read from a raw topic.", ["topic"]
)
EVENTS_WRITTEN = Counter(
    "opsassist_events_written_total",
    "Valid events whose rows are durable in PostgreSQL.",
    ["topic"],
)
EVENTS_DEAD_LETTERED = Counter(
    "opsassist_events_dead_lettered_total",
    "Events sent to the dead-letter topic, by source topic and reason code.",
    ["topic", "reason"],
)
BATCH_WRITE_SECONDS = Histogram(
    "opsassist_batch_write_seconds",
    "Time to write one batch to PostgreSQL.",
    ["topic"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
BATCH_SIZE = Histogram(
    "opsassist_batch_size_events",
    "Events per processed batch.",
    ["topic"],
    buckets=(1, 10, 50, 100, 250, 500, 1000, 2000, 5000, 10000),
)
WRITE_RETRIES = Counter(
    "opsassist_batch_write_retries_total", "Batch writes retried after a database error.", ["topic"]
)
CONSUMER_LAG = Gauge(
    "opsassist_consumer_lag_messages",
    "Messages in the partition after the consumer group's committed offset.",
    ["topic", "partition"],
)
CONSUMER_LAG_SECONDS = Gauge(
    "opsassist_consumer_lag_seconds",
    "Age of the oldest unprocessed event of the partition: now minus the timestamp of the last "
    "event processed, while messages remain after the committed offset; 0 when caught up. An "
    "upper bound (the oldest unprocessed event is at most that old).",
    ["topic", "partition"],
)
LAST_COMMIT = Gauge(
    "opsassist_consumer_last_commit_timestamp_seconds",
    "Unix time the worker last committed an offset of the partition; time() minus this is the "
    "stuck-consumer signal.",
    ["topic", "partition"],
)
STREAM_BUFFER = Gauge(
    "opsassist_stream_buffer_events",
    "Events fetched and waiting in the worker's stream buffer (queue depth).",
    ["topic"],
)
BATCH_SECONDS = Histogram(
    "opsassist_batch_processing_seconds",
    "Time an agent spends on one batch: decode, stages, write, dead letters.",
    ["topic"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
BEFORE_WRITE_FAILURES = Counter(
    "opsassist_before_write_failures_total",
    "Batches whose before-write stage (ticket triage) failed; their rows were written without it.",
    ["topic"],
)
TRIAGE_DECISIONS = Counter(
    "opsassist_triage_decisions_total",
    "Tickets triaged, by the layer that decided (rules, model, llm, none).",
    ["layer"],
)
TRIAGE_ABSTENTIONS = Counter(
    "opsassist_triage_abstentions_total",
    "Tickets triage abstained on (marked needs-triage for a person).",
)
TRIAGE_MODEL_LOADS = Counter(
    "opsassist_triage_model_loads_total",
    "Triage models the worker loaded from PostgreSQL (loaded) or could not load (failed).",
    ["outcome"],
)
AFTER_WRITE_FAILURES = Counter(
    "opsassist_after_write_failures_total",
    "Batches whose after-write stage (derived data such as changelogs) failed; ingestion went on.",
    ["topic"],
)
# -- log intelligence (issue 6)
LOG_TEMPLATES_RELABELLED = Counter(
    "opsassist_log_lines_relabelled_total",
    "Stored log lines moved to a more general template after their template generalized.",
)
LOG_MINER_RELOADS = Counter(
    "opsassist_log_miner_reloads_total",
    "Times a service's template miner was loaded from PostgreSQL (start, or another worker "
    "mined the service since).",
)
LOG_INCIDENT_TRANSITIONS = Counter(
    "opsassist_log_incident_transitions_total",
    "Incident changes stored, by kind (opened, updated, resolved).",
    ["kind"],
)
BATCHES_FAILED = Counter(
    "opsassist_batches_failed_total",
    "Batch attempts that raised; the batch is tried again whole after a backoff.",
    ["topic"],
)
WORKER_STALLED = Gauge(
    "opsassist_worker_stalled_seconds",
    "How long the worker's pending work (a batch under way, or a partition whose committed "
    "offset is behind) has gone without progress; 0 when progressing or idle.",
)
WORKER_STALL_BOUND = Gauge(
    "opsassist_worker_stall_bound_seconds",
    "Stalled longer than this, the worker's /healthz answers 503 (OPSASSIST_WORKER_STALL_SECONDS).",
)

#: Every reason code an event can be dead-lettered with (schemas.InvalidEvent codes and the
#: ingest stage's own); a test checks the code raises no other.
DEAD_LETTER_REASONS = (
    "empty",
    "invalid_json",
    "unknown_kind",
    "wrong_kind",
    "unknown_schema_version",
    "validation_error",
    "unencodable",
    "db_rejected",
    "redaction_failed",
    "personal_data_in_identifier",
)


def initialize(topics: list[str]) -> None:
    """Create every labelled series of the given topics at zero, so that a rate or an alert over
    a counter that has not moved yet finds a series (Prometheus' advice for labelled metrics)."""
    for topic in topics:
        for counter in (
            BEFORE_WRITE_FAILURES,
            EVENTS_CONSUMED,
            EVENTS_WRITTEN,
            WRITE_RETRIES,
            BATCHES_FAILED,
            AFTER_WRITE_FAILURES,
        ):
            counter.labels(topic)
        for reason in DEAD_LETTER_REASONS:
            EVENTS_DEAD_LETTERED.labels(topic, reason)
