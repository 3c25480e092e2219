"""Batched, idempotent writes of decoded events into PostgreSQL.

Each batch is one transaction: the rows are COPYed (binary) into a temporary staging table,
then moved with ``INSERT … SELECT … ON CONFLICT`` keyed by the event id (or the entity's natural
key), so a batch delivered twice — a worker killed after writing but before committing its
offsets — writes nothing twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg
import orjson

from opsassist.schemas import LATEST_VERSION, CommitEvent, LogEvent, TicketEvent


@dataclass(frozen=True, slots=True)
class Origin:
    """Where an event was read from, stored on its row for replays and tracing."""

    topic: str
    partition: int
    offset: int


def _text(value: str) -> str:
    # PostgreSQL text cannot hold NUL; a log line may.
    return value.replace("\x00", "\ufffd") if "\x00" in value else value


def _json(value: Any) -> str:
    return _text(orjson.dumps(value).decode()).replace("\\u0000", "\\ufffd")


LOG_COLUMNS = (
    "event_id",
    "service",
    "host",
    "level",
    "ts",
    "message",
    "attributes",
    "source",
    "trace_id",
    "occurred_at",
    "received_at",
    "kafka_topic",
    "kafka_partition",
    "kafka_offset",
    "redactions",
    "template_id",
    "template_params",
)

# What an event lost to redaction, as stored: type -> count ({} when nothing was found; NULL on
# rows written without the redaction stage, which the worker never does).
Redactions = dict[str, int] | None


def _redactions(counts: Redactions) -> str | None:
    if counts is None:
        return None
    return _json(counts) if counts else "{}"


@dataclass(frozen=True, slots=True)
class LogTemplateFields:
    """The template a log line was mined into and what its wildcards stand for (the worker's
    log intelligence stage fills it; the store knows nothing of how)."""

    template_id: str
    parameters: tuple[str, ...]

    def columns(self) -> tuple[Any, ...]:
        return (self.template_id, [_text(p) for p in self.parameters])


_NO_TEMPLATE: tuple[Any, ...] = (None, None)


def log_row(
    event: LogEvent,
    origin: Origin,
    template: LogTemplateFields | None = None,
    redactions: Redactions = None,
) -> tuple[Any, ...]:
    p = event.payload
    return (
        event.id,
        _text(p.service),
        p.host and _text(p.host),
        p.level and _text(p.level),
        p.timestamp,
        _text(p.message),
        _json(p.attributes),
        event.source,
        event.trace_id,
        event.occurred_at,
        event.received_at,
        origin.topic,
        origin.partition,
        origin.offset,
        _redactions(redactions),
        *(template.columns() if template is not None else _NO_TEMPLATE),
    )


COMMIT_COLUMNS = (
    "repo",
    "sha",
    "event_id",
    "parents",
    "author_name",
    "author_email",
    "authored_at",
    "committed_at",
    "message",
    "branch",
    "tags",
    "source",
    "trace_id",
    "kafka_topic",
    "kafka_partition",
    "kafka_offset",
    "redactions",
)


def commit_row(
    event: CommitEvent, origin: Origin, redactions: Redactions = None
) -> tuple[Any, ...]:
    p = event.payload
    return (
        p.repo,
        p.sha,
        event.id,
        p.parents,
        _text(p.author_name),
        p.author_email,
        p.authored_at,
        p.committed_at,
        _text(p.message),
        p.branch,
        p.tags,
        event.source,
        event.trace_id,
        origin.topic,
        origin.partition,
        origin.offset,
        _redactions(redactions),
    )


TRIAGE_COLUMNS = (
    "category",
    "suggested_category",
    "priority",
    "team",
    "triage_confidence",
    "needs_triage",
    "triage_layer",
    "triage",
    "sla_due_at",
)

TICKET_COLUMNS = (
    "event_id",
    "source_system",
    "external_id",
    "title",
    "body",
    "reporter_id",
    "status",
    "labels",
    "created_at",
    "updated_at",
    "payload",
    "source",
    "trace_id",
    "occurred_at",
    "received_at",
    "kafka_topic",
    "kafka_partition",
    "kafka_offset",
    "redactions",
    *TRIAGE_COLUMNS,
)


@dataclass(frozen=True, slots=True)
class TicketTriageFields:
    """What triage decided for a ticket, as the ``tickets`` columns hold it (the worker's
    triage stage fills it; the store knows nothing of how)."""

    category: str | None
    suggested_category: str | None
    priority: str
    team: str
    confidence: float
    needs_triage: bool
    layer: str
    details: dict[str, Any]
    sla_due_at: datetime | None

    def columns(self) -> tuple[Any, ...]:
        return (self.category, self.suggested_category, self.priority, self.team,
                self.confidence, self.needs_triage, self.layer, _json(self.details),
                self.sla_due_at)  # fmt: skip


_NO_TRIAGE: tuple[Any, ...] = (None, None, None, None, None, False, None, None, None)


def ticket_row(
    event: TicketEvent,
    origin: Origin,
    triage: TicketTriageFields | None = None,
    redactions: Redactions = None,
) -> tuple[Any, ...]:
    p = event.payload
    return (
        event.id,
        p.source_system,
        p.external_id,
        _text(p.title),
        _text(p.body),
        p.reporter_id,
        p.status,
        p.labels,
        p.created_at,
        p.updated_at,
        _json(p.model_dump(mode="json")),
        event.source,
        event.trace_id,
        event.occurred_at,
        event.received_at,
        origin.topic,
        origin.partition,
        origin.offset,
        _redactions(redactions),
        *(triage.columns() if triage is not None else _NO_TRIAGE),
    )


_STAGE_LOGS = """
CREATE TEMP TABLE IF NOT EXISTS _stage_log_events
    (LIKE log_events INCLUDING DEFAULTS) ON COMMIT DELETE ROWS
"""
_MOVE_LOGS = f"""
INSERT INTO log_events ({", ".join(LOG_COLUMNS)})
SELECT {", ".join(LOG_COLUMNS)} FROM _stage_log_events
ON CONFLICT (event_id) DO NOTHING
"""

_STAGE_COMMITS = """
CREATE TEMP TABLE IF NOT EXISTS _stage_commits
    (LIKE commits INCLUDING DEFAULTS) ON COMMIT DELETE ROWS
"""
_MOVE_COMMITS = f"""
INSERT INTO commits AS c ({", ".join(COMMIT_COLUMNS)})
SELECT DISTINCT ON (repo, sha) {", ".join(COMMIT_COLUMNS)} FROM _stage_commits
ORDER BY repo, sha, kafka_offset DESC
ON CONFLICT (repo, sha) DO UPDATE SET
    tags = ARRAY(SELECT DISTINCT t FROM unnest(c.tags || excluded.tags) AS t ORDER BY t),
    branch = coalesce(c.branch, excluded.branch)
WHERE NOT (c.tags @> excluded.tags) OR (c.branch IS NULL AND excluded.branch IS NOT NULL)
"""

_STAGE_TICKETS = """
CREATE TEMP TABLE IF NOT EXISTS _stage_tickets (
    event_id text, source_system text, external_id text, title text, body text,
    reporter_id text, status text, labels text[], created_at timestamptz, updated_at timestamptz,
    payload jsonb, source text, trace_id text, occurred_at timestamptz, received_at timestamptz,
    kafka_topic text, kafka_partition integer, kafka_offset bigint, redactions jsonb,
    category text, suggested_category text, priority text, team text,
    triage_confidence double precision, needs_triage boolean, triage_layer text, triage jsonb,
    sla_due_at timestamptz
) ON COMMIT DELETE ROWS
"""
# Events not seen before are recorded; of those, the newest per ticket becomes its current
# state unless the ticket already holds a newer one (events may arrive late).
_MOVE_TICKETS = """
WITH fresh AS (
    INSERT INTO ticket_events (event_id, source_system, external_id, payload, schema_version,
                               source, trace_id, occurred_at, received_at, kafka_topic,
                               kafka_partition, kafka_offset, redactions)
    SELECT DISTINCT ON (event_id) event_id, source_system, external_id, payload, $2::integer,
           source, trace_id, occurred_at, received_at, kafka_topic, kafka_partition, kafka_offset,
           redactions
    FROM _stage_tickets
    ON CONFLICT (event_id) DO NOTHING
    RETURNING event_id
), newest AS (
    SELECT DISTINCT ON (s.source_system, s.external_id) s.*
    FROM _stage_tickets s JOIN fresh f USING (event_id)
    ORDER BY s.source_system, s.external_id, s.updated_at DESC, s.kafka_offset DESC
)
INSERT INTO tickets AS t (source_system, external_id, title, body, reporter_id, status, labels,
                          created_at, updated_at, trace_id, last_event_id, changed_by,
                          category, suggested_category, priority, team, triage_confidence,
                          needs_triage, triage_layer, triage, sla_due_at, redactions)
SELECT source_system, external_id, title, body, reporter_id, status, labels, created_at,
       updated_at, trace_id, event_id, $1,
       category, suggested_category, priority, team, triage_confidence,
       coalesce(needs_triage, false), triage_layer, triage, sla_due_at, redactions
FROM newest
ON CONFLICT (source_system, external_id) DO UPDATE SET
    title = excluded.title, body = excluded.body, reporter_id = excluded.reporter_id,
    status = excluded.status, labels = excluded.labels, created_at = excluded.created_at,
    updated_at = excluded.updated_at, trace_id = excluded.trace_id,
    last_event_id = excluded.last_event_id, changed_by = excluded.changed_by,
    category = excluded.category, suggested_category = excluded.suggested_category,
    priority = excluded.priority, team = excluded.team,
    triage_confidence = excluded.triage_confidence, needs_triage = excluded.needs_triage,
    triage_layer = excluded.triage_layer, triage = excluded.triage,
    sla_due_at = excluded.sla_due_at, redactions = excluded.redactions
WHERE t.updated_at <= excluded.updated_at
"""


def _count(status: str) -> int:
    # "INSERT 0 <n>"
    return int(status.rsplit(" ", 1)[-1])


class EventSink:
    """Writes batches of rows; every method is one transaction and idempotent."""

    def __init__(self, pool: asyncpg.Pool, changed_by: str = "agent:ingest") -> None:
        self._pool = pool
        self._changed_by = changed_by

    async def _stage_and_move(
        self,
        stage_sql: str,
        stage_table: str,
        columns: Sequence[str],
        rows: Sequence[tuple[Any, ...]],
        move_sql: str,
        *args: Any,
    ) -> int:
        if not rows:
            return 0
        async with self._pool.acquire() as conn, conn.transaction():
            await conn.execute(stage_sql)
            await conn.copy_records_to_table(stage_table, records=rows, columns=list(columns))
            status: str = await conn.execute(move_sql, *args)
            return _count(status)

    async def write_logs(self, rows: Sequence[tuple[Any, ...]]) -> int:
        """Insert log rows; returns how many were new."""
        return await self._stage_and_move(
            _STAGE_LOGS, "_stage_log_events", LOG_COLUMNS, rows, _MOVE_LOGS
        )

    async def write_commits(self, rows: Sequence[tuple[Any, ...]]) -> int:
        """Insert commits, merging tags and branch into commits already stored."""
        return await self._stage_and_move(
            _STAGE_COMMITS, "_stage_commits", COMMIT_COLUMNS, rows, _MOVE_COMMITS
        )

    async def write_tickets(self, rows: Sequence[tuple[Any, ...]]) -> int:
        """Record ticket events and apply the newest to each ticket; returns tickets changed."""
        return await self._stage_and_move(
            _STAGE_TICKETS,
            "_stage_tickets",
            TICKET_COLUMNS,
            rows,
            _MOVE_TICKETS,
            self._changed_by,
            LATEST_VERSION["ticket"],
        )
