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
from typing import Any, NamedTuple

import asyncpg
import orjson

from opsassist.schemas import LATEST_VERSION, CommitEvent, LogEvent, TicketComment, TicketEvent
from opsassist.store.history import Actor, set_actor


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


class LogRow(NamedTuple):
    """A ``log_events`` row as COPY takes it (a tuple: no copy on the hot path)."""

    event_id: str
    service: str
    host: str | None
    level: str | None
    ts: datetime
    message: str
    attributes: str
    source: str
    trace_id: str | None
    occurred_at: datetime
    received_at: datetime | None
    kafka_topic: str
    kafka_partition: int
    kafka_offset: int
    redactions: str | None
    template_id: str | None = None
    template_params: list[str] | None = None


LOG_COLUMNS = LogRow._fields

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


def log_row(
    event: LogEvent,
    origin: Origin,
    template: LogTemplateFields | None = None,
    redactions: Redactions = None,
) -> LogRow:
    p = event.payload
    return LogRow(
        event_id=event.id,
        service=_text(p.service),
        host=p.host and _text(p.host),
        level=p.level and _text(p.level),
        ts=p.timestamp,
        message=_text(p.message),
        attributes=_json(p.attributes),
        source=event.source,
        trace_id=event.trace_id,
        occurred_at=event.occurred_at,
        received_at=event.received_at,
        kafka_topic=origin.topic,
        kafka_partition=origin.partition,
        kafka_offset=origin.offset,
        redactions=_redactions(redactions),
        template_id=None if template is None else template.template_id,
        template_params=None if template is None else [_text(v) for v in template.parameters],
    )


class CommitRow(NamedTuple):
    """A ``commits`` row as COPY takes it."""

    repo: str
    sha: str
    event_id: str
    parents: list[str]
    author_name: str
    author_email: str | None
    authored_at: datetime
    committed_at: datetime
    message: str
    branch: str | None
    tags: list[str]
    source: str
    trace_id: str | None
    kafka_topic: str
    kafka_partition: int
    kafka_offset: int
    redactions: str | None


COMMIT_COLUMNS = CommitRow._fields


def commit_row(event: CommitEvent, origin: Origin, redactions: Redactions = None) -> CommitRow:
    p = event.payload
    return CommitRow(
        repo=p.repo,
        sha=p.sha,
        event_id=event.id,
        parents=p.parents,
        author_name=_text(p.author_name),
        author_email=p.author_email,
        authored_at=p.authored_at,
        committed_at=p.committed_at,
        message=_text(p.message),
        branch=p.branch,
        tags=p.tags,
        source=event.source,
        trace_id=event.trace_id,
        kafka_topic=origin.topic,
        kafka_partition=origin.partition,
        kafka_offset=origin.offset,
        redactions=_redactions(redactions),
    )


class TicketRow(NamedTuple):
    """A ticket event as staged for ``ticket_events`` and ``tickets``; the triage columns are
    empty (``needs_triage`` false) when the ticket was written without triage."""

    event_id: str
    source_system: str
    external_id: str
    title: str
    body: str
    reporter_id: str | None
    status: str
    labels: list[str]
    created_at: datetime
    updated_at: datetime
    payload: str
    source: str
    trace_id: str | None
    occurred_at: datetime
    received_at: datetime | None
    kafka_topic: str
    kafka_partition: int
    kafka_offset: int
    redactions: str | None
    category: str | None = None
    suggested_category: str | None = None
    priority: str | None = None
    team: str | None = None
    triage_confidence: float | None = None
    needs_triage: bool = False
    triage_layer: str | None = None
    triage: str | None = None
    sla_due_at: datetime | None = None
    #: The comment this event created, edited or deleted (JSON), for ``ticket_comments``.
    comment: str | None = None


TICKET_COLUMNS = TicketRow._fields


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

    def columns(self) -> dict[str, Any]:
        """The :class:`TicketRow` fields it fills."""
        return {
            "category": self.category,
            "suggested_category": self.suggested_category,
            "priority": self.priority,
            "team": self.team,
            "triage_confidence": self.confidence,
            "needs_triage": self.needs_triage,
            "triage_layer": self.layer,
            "triage": _json(self.details),
            "sla_due_at": self.sla_due_at,
        }


def ticket_row(
    event: TicketEvent,
    origin: Origin,
    triage: TicketTriageFields | None = None,
    redactions: Redactions = None,
) -> TicketRow:
    p = event.payload
    return TicketRow(
        event_id=event.id,
        source_system=p.source_system,
        external_id=p.external_id,
        title=_text(p.title),
        body=_text(p.body),
        reporter_id=p.reporter_id,
        status=p.status,
        labels=p.labels,
        created_at=p.created_at,
        updated_at=p.updated_at,
        payload=_json(p.model_dump(mode="json")),
        source=event.source,
        trace_id=event.trace_id,
        occurred_at=event.occurred_at,
        received_at=event.received_at,
        kafka_topic=origin.topic,
        kafka_partition=origin.partition,
        kafka_offset=origin.offset,
        redactions=_redactions(redactions),
        **(triage.columns() if triage is not None else {}),
        comment=_comment(p.comment),
    )


def _comment(comment: TicketComment | None) -> str | None:
    if comment is None:
        return None
    # The sanitize step may have built the comment without validation (model_construct), so
    # its body is cleaned of NUL here like the ticket's.
    fields = comment.model_dump(mode="json")
    fields["body"] = _text(fields["body"])
    return _json(fields)


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
    sla_due_at timestamptz, comment jsonb, actor_group integer, previous_status text,
    fresh boolean NOT NULL DEFAULT false
) ON COMMIT DELETE ROWS
"""
# Events not seen before are recorded and marked fresh; of those, the newest per ticket becomes
# its current state unless the ticket already holds a newer one (events may arrive late). The
# newest is chosen over the whole batch, then applied one actor group at a time, each under its
# own actor (the history's "who", set between the statements of one transaction).
_RECORD_TICKET_EVENTS = """
WITH fresh AS (
    INSERT INTO ticket_events (event_id, source_system, external_id, payload, schema_version,
                               source, trace_id, occurred_at, received_at, kafka_topic,
                               kafka_partition, kafka_offset, redactions)
    SELECT DISTINCT ON (event_id) event_id, source_system, external_id, payload, $1::integer,
           source, trace_id, occurred_at, received_at, kafka_topic, kafka_partition, kafka_offset,
           redactions
    FROM _stage_tickets
    ON CONFLICT (event_id) DO NOTHING
    RETURNING event_id
)
UPDATE _stage_tickets s SET fresh = true FROM fresh f WHERE s.event_id = f.event_id
"""
_MOVE_TICKETS = """
WITH newest AS (
    SELECT DISTINCT ON (s.source_system, s.external_id) s.*
    FROM _stage_tickets s WHERE s.fresh
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
WHERE actor_group = $2
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

#: Source systems whose close and reopen move opsassist's workflow (docs/triage.md, "Closed
#: and reopened in the source"): issue trackers whose issues are closed by the people working
#: them. A help desk's "closed" (Jira, Zendesk) says less, and is left to its workflow.
SOURCE_CLOSING_SYSTEMS = ("github", "gitlab")

# What the source said before this batch, read before the batch is applied: a close or reopen
# is a change of the source's status, not a state that every later edit repeats.
_PREVIOUS_STATUS = """
UPDATE _stage_tickets s SET previous_status = t.status
FROM tickets t
WHERE s.fresh AND t.source_system = s.source_system AND t.external_id = s.external_id
"""
# A close in the source closes the workflow from any state (a fact, not a request: it skips the
# steps a person would take), keeping the resolution time a person's resolve set; a reopen
# there reopens a workflow that is closed. Only the event that became the ticket's state moves
# it, and only when the source's status changed, so a person's own close or reopen in opsassist
# stands until the source changes its mind. Run under the actor ``source:<system>``.
_SOURCE_WORKFLOW = """
UPDATE tickets t SET
    workflow_status = CASE WHEN s.status = 'closed' THEN 'closed' ELSE 'open' END,
    resolved_at = CASE WHEN s.status = 'closed' THEN coalesce(t.resolved_at, s.updated_at) END,
    reopened_count = t.reopened_count + CASE WHEN s.status = 'closed' THEN 0 ELSE 1 END,
    changed_by = $2
FROM _stage_tickets s
WHERE s.fresh AND s.source_system = $1 AND t.source_system = s.source_system
  AND t.external_id = s.external_id AND t.last_event_id = s.event_id
  AND ((s.status = 'closed' AND s.previous_status IS DISTINCT FROM 'closed'
        AND t.workflow_status <> 'closed')
    OR (s.status = 'open' AND s.previous_status = 'closed' AND t.workflow_status = 'closed'))
"""

# After the tickets: a comment's ticket row exists by then (its foreign key). Only fresh events
# write, and a row is replaced only by a newer state of the comment (a deletion beats an edit of
# the same instant), so a redelivery or a late event changes nothing.
_MOVE_TICKET_COMMENTS = """
INSERT INTO ticket_comments AS c (source_system, external_id, comment_id, author_id, body,
                                  created_at, updated_at, deleted, event_id)
SELECT DISTINCT ON (s.source_system, s.external_id, s.comment->>'id')
       s.source_system, s.external_id, s.comment->>'id', s.comment->>'author_id',
       coalesce(s.comment->>'body', ''), (s.comment->>'created_at')::timestamptz,
       (s.comment->>'updated_at')::timestamptz, coalesce((s.comment->>'deleted')::boolean, false),
       s.event_id
FROM _stage_tickets s
WHERE s.fresh AND s.comment IS NOT NULL
ORDER BY s.source_system, s.external_id, s.comment->>'id',
         (s.comment->>'updated_at')::timestamptz DESC,
         coalesce((s.comment->>'deleted')::boolean, false) DESC, s.kafka_offset DESC
ON CONFLICT (source_system, external_id, comment_id) DO UPDATE SET
    author_id = excluded.author_id, body = excluded.body, created_at = excluded.created_at,
    updated_at = excluded.updated_at, deleted = excluded.deleted, event_id = excluded.event_id
WHERE (c.updated_at, c.deleted) < (excluded.updated_at, excluded.deleted)
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
    ) -> int:
        if not rows:
            return 0
        async with self._pool.acquire() as conn, conn.transaction():
            await conn.execute(stage_sql)
            await conn.copy_records_to_table(stage_table, records=rows, columns=list(columns))
            status: str = await conn.execute(move_sql)
            return _count(status)

    async def write_logs(self, rows: Sequence[LogRow]) -> int:
        """Insert log rows; returns how many were new."""
        return await self._stage_and_move(
            _STAGE_LOGS, "_stage_log_events", LOG_COLUMNS, rows, _MOVE_LOGS
        )

    async def write_commits(self, rows: Sequence[CommitRow]) -> int:
        """Insert commits, merging tags and branch into commits already stored."""
        return await self._stage_and_move(
            _STAGE_COMMITS, "_stage_commits", COMMIT_COLUMNS, rows, _MOVE_COMMITS
        )

    async def write_tickets(
        self, rows: Sequence[TicketRow], actors: Sequence[Actor | None] | None = None
    ) -> int:
        """Record ticket events and apply the newest to each ticket; returns tickets changed.

        ``actors[i]``, when given, is who decided ``rows[i]`` (the triage layer, its model or
        prompt): the ticket's history names it. None leaves the sink's ``changed_by``.
        """
        if not rows:
            return 0
        if actors is None:
            actors = [None] * len(rows)
        # The rows without an actor go first: an actor set in a transaction holds until it ends.
        order = sorted(set(actors), key=lambda actor: actor is not None)
        groups = {actor: number for number, actor in enumerate(order)}
        records = [(*row, groups[actor]) for row, actor in zip(rows, actors, strict=True)]
        changed = 0
        async with self._pool.acquire() as conn, conn.transaction():
            await conn.execute(_STAGE_TICKETS)
            await conn.copy_records_to_table(
                "_stage_tickets", records=records, columns=[*TICKET_COLUMNS, "actor_group"]
            )
            await conn.execute(_RECORD_TICKET_EVENTS, LATEST_VERSION["ticket"])
            closing = sorted({row.source_system for row in rows} & set(SOURCE_CLOSING_SYSTEMS))
            if closing:
                await conn.execute(_PREVIOUS_STATUS)
            for actor, group in groups.items():
                if actor is not None:
                    await set_actor(conn, actor)
                changed += _count(await conn.execute(_MOVE_TICKETS, self._changed_by, group))
            # Last: the actor set here holds for the rest of the transaction.
            for system in closing:
                source = Actor(f"source:{system}")
                await set_actor(conn, source)
                await conn.execute(_SOURCE_WORKFLOW, system, source.who)
            await conn.execute(_MOVE_TICKET_COMMENTS)
        return changed
