"""Stored logs: the template miners' state per service (``log_templates``, history by trigger),
the re-labelling of stored lines when a template generalizes, window summaries
(``log_summaries``) and incidents (``incidents``, history by trigger), as the worker's log stage
writes them (streams/agents/logs.py; docs/logs.md); and log events (``log_events``, written by
the sink), incidents, summaries and templates as the API lists them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg
import orjson

from opsassist.store.paging import Listing, Page, PageRequest, Sort, Where, like_pattern

_MARKS = """
SELECT service, last_used, worker_id FROM log_template_miners WHERE service = ANY($1::text[])
"""
_SAVE_MARKS = """
INSERT INTO log_template_miners (service, last_used, worker_id)
SELECT * FROM unnest($1::text[], $2::bigint[], $3::text[])
ON CONFLICT (service) DO UPDATE SET
    last_used = excluded.last_used, worker_id = excluded.worker_id, updated_at = now()
"""
# The miner's templates, least recently used first, as TemplateMiner.from_state wants them.
_ACTIVE = """
SELECT tokens, line_count FROM (
    SELECT tokens, line_count, last_used FROM log_templates
    WHERE service = $1 AND status = 'active'
    ORDER BY last_used DESC LIMIT $2
) recent ORDER BY last_used
"""
_SAVE_TEMPLATES = """
INSERT INTO log_templates AS t (service, template_id, template, tokens, line_count, first_seen,
                                last_seen, last_used, changed_by)
SELECT s, i, tx, CASE WHEN tx = '' THEN '{}'::text[] ELSE string_to_array(tx, ' ') END,
       n, f, l, u, $9
FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::timestamptz[],
            $6::timestamptz[], $7::bigint[], $8::text[]) AS x(s, i, tx, n, f, l, u, _)
ON CONFLICT (service, template_id) DO UPDATE SET
    line_count = excluded.line_count,
    first_seen = least(t.first_seen, excluded.first_seen),
    last_seen = greatest(t.last_seen, excluded.last_seen),
    last_used = greatest(t.last_used, excluded.last_used),
    status = 'active',
    merged_into = NULL,
    changed_by = excluded.changed_by
"""
_MERGE = """
UPDATE log_templates SET status = 'merged', merged_into = $3, changed_by = $4
WHERE service = $1 AND template_id = $2 AND status = 'active'
RETURNING first_seen, last_seen
"""
_WIDEN = """
UPDATE log_templates SET first_seen = least(first_seen, $3), last_seen = greatest(last_seen, $4)
WHERE service = $1 AND template_id = $2
"""
# The (service, ts) index finds the lines; the template's bounds keep the scan to its lifetime.
_LINES_OF = """
SELECT event_id, message FROM log_events
WHERE service = $1 AND ts BETWEEN $2 AND $3 AND template_id = $4
"""
_RELABEL = """
UPDATE log_events e SET template_id = $1, template_params = u.params
FROM jsonb_to_recordset($2::jsonb) AS u(event_id text, params text[])
WHERE e.event_id = u.event_id
"""
_SAVE_SUMMARY = """
INSERT INTO log_summaries (service, window_seconds, window_start, window_end, total, errors,
                           counts_by_level, baseline_errors, error_ratio, top_templates,
                           top_error_templates, new_templates, narrative)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
ON CONFLICT (service, window_seconds, window_start) DO UPDATE SET
    window_end = excluded.window_end, total = excluded.total, errors = excluded.errors,
    counts_by_level = excluded.counts_by_level, baseline_errors = excluded.baseline_errors,
    error_ratio = excluded.error_ratio, top_templates = excluded.top_templates,
    top_error_templates = excluded.top_error_templates, new_templates = excluded.new_templates,
    narrative = excluded.narrative, updated_at = now()
RETURNING id
"""
_SAVE_LLM_SUMMARY = """
UPDATE log_summaries SET summary = $2, produced_by = $3, provenance = $4, updated_at = now()
WHERE id = $1
"""
# A transition replayed (a batch delivered twice) changes nothing, so it records no version.
_SAVE_INCIDENT = """
INSERT INTO incidents AS i (incident_key, service, window_seconds, severity, status,
                            last_transition, opened_at, last_spike_end, resolved_at, peak_errors,
                            peak_ratio, template_ids, reason, narrative, summary_id, changed_by)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)
ON CONFLICT (incident_key, window_seconds) DO UPDATE SET
    severity = excluded.severity, status = excluded.status,
    last_transition = excluded.last_transition, last_spike_end = excluded.last_spike_end,
    resolved_at = excluded.resolved_at, peak_errors = excluded.peak_errors,
    peak_ratio = excluded.peak_ratio, template_ids = excluded.template_ids,
    reason = excluded.reason, narrative = excluded.narrative, summary_id = excluded.summary_id,
    changed_by = excluded.changed_by
WHERE (i.severity, i.status, i.last_transition, i.last_spike_end, i.resolved_at, i.peak_errors,
       i.template_ids)
      IS DISTINCT FROM
      (excluded.severity, excluded.status, excluded.last_transition, excluded.last_spike_end,
       excluded.resolved_at, excluded.peak_errors, excluded.template_ids)
"""
_RECENT_ERRORS = """
SELECT errors FROM (
    SELECT errors, window_start FROM log_summaries
    WHERE service = $1 AND window_seconds = $2 ORDER BY window_start DESC LIMIT $3
) recent ORDER BY window_start
"""
_OPEN_INCIDENTS = """
SELECT incident_key, service, window_seconds, severity, opened_at, last_spike_end, peak_errors,
       peak_ratio, template_ids, reason
FROM incidents WHERE service = ANY($1::text[]) AND status <> 'resolved'
"""

LOG_EVENTS = Listing(
    """
SELECT event_id, service, host, level, ts, message, attributes, source, trace_id, occurred_at,
       received_at, ingested_at
FROM log_events
""",
    Sort("ts", "ts", "ts", (("event_id", "event_id"),)),
)
INCIDENTS = Listing(
    """
SELECT id, incident_key, service, window_seconds, severity, status, last_transition, opened_at,
       last_spike_end, resolved_at, peak_errors, peak_ratio, template_ids, reason, narrative,
       summary_id, changed_by, version, assignee, acknowledged_at, acknowledged_by, resolved_by,
       reopened_count, ticket_ids, notes, last_action, source, labels, annotations,
       generator_url, related_incident_ids
FROM incidents
""",
    Sort("opened_at", "opened_at", "opened_at", (("id", "id"),)),
)
SUMMARIES = Listing(
    """
SELECT id, service, window_seconds, window_start, window_end, total, errors, counts_by_level,
       baseline_errors, error_ratio, top_templates, top_error_templates, new_templates,
       narrative, summary, produced_by, provenance, updated_at
FROM log_summaries
""",
    Sort("window_start", "window_start", "window_start", (("id", "id"),)),
)
TEMPLATES = Listing(
    """
SELECT id, service, template_id, template, line_count, first_seen, last_seen, status,
       merged_into, version
FROM log_templates
""",
    Sort("first_seen", "first_seen", "first_seen", (("id", "id"),)),
)


def _json(value: Any) -> str:
    return orjson.dumps(value).decode()


@dataclass(frozen=True, slots=True)
class StoredTemplate:
    """A template as a batch leaves it: absolute counts, the event-time bounds of its lines in
    the batch, and its place in the miner's least-recently-used order."""

    service: str
    template_id: str
    template: str
    line_count: int
    first_seen: datetime
    last_seen: datetime
    last_used: int


@dataclass(frozen=True, slots=True)
class StoredSummary:
    service: str
    window_seconds: int
    window_start: datetime
    window_end: datetime
    total: int
    errors: int
    counts_by_level: dict[str, int]
    baseline_errors: float | None
    error_ratio: float | None
    top_templates: list[dict[str, Any]]
    top_error_templates: list[dict[str, Any]]
    new_templates: list[dict[str, Any]]
    narrative: str


@dataclass(frozen=True, slots=True)
class StoredIncident:
    incident_key: str
    service: str
    window_seconds: int
    severity: str
    status: str
    last_transition: str
    opened_at: datetime
    last_spike_end: datetime
    resolved_at: datetime | None
    peak_errors: int
    peak_ratio: float | None
    template_ids: list[str]
    reason: str
    narrative: str
    summary_id: int | None


async def miner_marks(
    conn: asyncpg.Connection, services: Sequence[str]
) -> dict[str, tuple[int, str]]:
    """Per service, the ``last_used`` mark of the latest batch stored for it, and who stored it."""
    rows = await conn.fetch(_MARKS, list(services))
    return {r["service"]: (r["last_used"], r["worker_id"]) for r in rows}


async def save_marks(conn: asyncpg.Connection, marks: dict[str, int], worker_id: str) -> None:
    services = sorted(marks)
    await conn.execute(
        _SAVE_MARKS, services, [marks[s] for s in services], [worker_id] * len(services)
    )


async def active_templates(
    conn: asyncpg.Connection, service: str, limit: int
) -> list[tuple[list[str], int]]:
    """The ``limit`` most recently used active templates of ``service`` as (tokens, line
    count), least recently used first."""
    rows = await conn.fetch(_ACTIVE, service, limit)
    return [(list(r["tokens"]), int(r["line_count"])) for r in rows]


async def save_templates(
    conn: asyncpg.Connection, templates: Sequence[StoredTemplate], changed_by: str
) -> None:
    if not templates:
        return
    await conn.execute(
        _SAVE_TEMPLATES,
        [t.service for t in templates],
        [t.template_id for t in templates],
        [t.template for t in templates],
        [t.line_count for t in templates],
        [t.first_seen for t in templates],
        [t.last_seen for t in templates],
        [t.last_used for t in templates],
        [""] * len(templates),
        changed_by,
    )


async def merge_template(
    conn: asyncpg.Connection, service: str, old_id: str, new_id: str, changed_by: str
) -> tuple[datetime, datetime] | None:
    """Mark ``old_id`` as generalized into ``new_id`` (a new version in its history) and widen
    ``new_id``'s bounds to cover its lines; return the old template's bounds, None if it was
    never stored."""
    row = await conn.fetchrow(_MERGE, service, old_id, new_id, changed_by)
    if row is None:
        return None
    await conn.execute(_WIDEN, service, new_id, row["first_seen"], row["last_seen"])
    return row["first_seen"], row["last_seen"]


async def lines_of_template(
    conn: asyncpg.Connection, service: str, template_id: str, first: datetime, last: datetime
) -> list[tuple[str, str]]:
    """(event id, message) of the stored lines labelled ``template_id``."""
    rows = await conn.fetch(_LINES_OF, service, first, last, template_id)
    return [(r["event_id"], r["message"]) for r in rows]


async def relabel_lines(
    conn: asyncpg.Connection, template_id: str, lines: Sequence[tuple[str, Sequence[str]]]
) -> None:
    """Give the lines (event id, new parameters) the template ``template_id``."""
    if lines:
        records = [{"event_id": event_id, "params": list(params)} for event_id, params in lines]
        await conn.execute(_RELABEL, template_id, _json(records))


async def save_summary(conn: asyncpg.Connection, summary: StoredSummary) -> int:
    """Insert or replace the window's summary; return its row id."""
    row_id: int = await conn.fetchval(
        _SAVE_SUMMARY,
        summary.service,
        summary.window_seconds,
        summary.window_start,
        summary.window_end,
        summary.total,
        summary.errors,
        _json(summary.counts_by_level),
        summary.baseline_errors,
        summary.error_ratio,
        _json(summary.top_templates),
        _json(summary.top_error_templates),
        _json(summary.new_templates),
        summary.narrative,
    )
    return row_id


async def save_llm_summary(
    pool: asyncpg.Pool,
    summary_id: int,
    summary: dict[str, Any] | None,
    produced_by: str,
    provenance: dict[str, Any],
) -> None:
    await pool.execute(
        _SAVE_LLM_SUMMARY,
        summary_id,
        None if summary is None else _json(summary),
        produced_by,
        _json(provenance),
    )


async def save_incident(
    conn: asyncpg.Connection, incident: StoredIncident, changed_by: str
) -> None:
    await conn.execute(
        _SAVE_INCIDENT,
        incident.incident_key,
        incident.service,
        incident.window_seconds,
        incident.severity,
        incident.status,
        incident.last_transition,
        incident.opened_at,
        incident.last_spike_end,
        incident.resolved_at,
        incident.peak_errors,
        incident.peak_ratio,
        incident.template_ids,
        incident.reason,
        incident.narrative,
        incident.summary_id,
        changed_by,
    )


async def recent_error_counts(
    conn: asyncpg.Connection, service: str, window_seconds: int, count: int
) -> list[int]:
    """The error counts of the service's latest ``count`` stored windows, oldest first."""
    rows = await conn.fetch(_RECENT_ERRORS, service, window_seconds, count)
    return [int(r["errors"]) for r in rows]


async def open_incidents(conn: asyncpg.Connection, services: Sequence[str]) -> list[dict[str, Any]]:
    """The unresolved (open or acknowledged) incidents of ``services``, as stored."""
    return [dict(r) for r in await conn.fetch(_OPEN_INCIDENTS, list(services))]


@dataclass(frozen=True, slots=True)
class LogEventFilter:
    services: list[str] | None = None
    levels: list[str] | None = None
    since: datetime | None = None  # inclusive
    until: datetime | None = None  # exclusive
    text: str | None = None
    trace_id: str | None = None

    def where(self) -> Where:
        where = Where()
        where.add_any(self.services, "service")
        where.add_any(self.levels, "level")
        where.add_if(self.since, "ts >= {}")
        where.add_if(self.until, "ts < {}")
        where.add_if(self.trace_id, "trace_id = {}")
        if self.text:
            where.add("message ILIKE {}", like_pattern(self.text))
        return where


@dataclass(frozen=True, slots=True)
class IncidentFilter:
    services: list[str] | None = None
    statuses: list[str] | None = None
    severities: list[str] | None = None
    since: datetime | None = None  # opened at or after
    until: datetime | None = None  # opened before

    def where(self) -> Where:
        where = Where()
        where.add_any(self.services, "service")
        where.add_any(self.statuses, "status")
        where.add_any(self.severities, "severity")
        where.add_if(self.since, "opened_at >= {}")
        where.add_if(self.until, "opened_at < {}")
        return where


@dataclass(frozen=True, slots=True)
class SummaryFilter:
    services: list[str] | None = None
    window_seconds: int | None = None
    since: datetime | None = None  # window starting at or after
    until: datetime | None = None  # window starting before

    def where(self) -> Where:
        where = Where()
        where.add_any(self.services, "service")
        where.add_if(self.window_seconds, "window_seconds = {}")
        where.add_if(self.since, "window_start >= {}")
        where.add_if(self.until, "window_start < {}")
        return where


@dataclass(frozen=True, slots=True)
class TemplateFilter:
    services: list[str] | None = None
    statuses: list[str] | None = None

    def where(self) -> Where:
        where = Where()
        where.add_any(self.services, "service")
        where.add_any(self.statuses, "status")
        return where


async def log_events_page(
    conn: asyncpg.Pool | asyncpg.Connection,
    filter_: LogEventFilter,
    descending: bool,
    request: PageRequest,
    default_size: int,
) -> Page[asyncpg.Record]:
    return await LOG_EVENTS.page(conn, filter_, descending, request, default_size)


async def incidents_page(
    conn: asyncpg.Pool | asyncpg.Connection,
    filter_: IncidentFilter,
    descending: bool,
    request: PageRequest,
    default_size: int,
) -> Page[asyncpg.Record]:
    return await INCIDENTS.page(conn, filter_, descending, request, default_size)


async def summaries_page(
    conn: asyncpg.Pool | asyncpg.Connection,
    filter_: SummaryFilter,
    descending: bool,
    request: PageRequest,
    default_size: int,
) -> Page[asyncpg.Record]:
    return await SUMMARIES.page(conn, filter_, descending, request, default_size)


async def templates_page(
    conn: asyncpg.Pool | asyncpg.Connection,
    filter_: TemplateFilter,
    descending: bool,
    request: PageRequest,
    default_size: int,
) -> Page[asyncpg.Record]:
    return await TEMPLATES.page(conn, filter_, descending, request, default_size)


async def log_events_by_ids(
    conn: asyncpg.Pool | asyncpg.Connection, ids: list[str]
) -> list[asyncpg.Record]:
    return list(await conn.fetch(f"{LOG_EVENTS.select} WHERE event_id = ANY($1::text[])", ids))


async def incidents_by_ids(
    conn: asyncpg.Pool | asyncpg.Connection, ids: list[int]
) -> list[asyncpg.Record]:
    return list(await conn.fetch(f"{INCIDENTS.select} WHERE id = ANY($1::bigint[])", ids))


async def summaries_by_ids(
    conn: asyncpg.Pool | asyncpg.Connection, ids: list[int]
) -> list[asyncpg.Record]:
    return list(await conn.fetch(f"{SUMMARIES.select} WHERE id = ANY($1::bigint[])", ids))
