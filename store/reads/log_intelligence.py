"""Incidents, window summaries and log templates as the API lists them (tables of migration
0008, written by the worker's log stage: streams/agents/logs.py)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import asyncpg

from opsassist.store.reads._keyset import Page, PageRequest, Sort, fetch_page
from opsassist.store.reads._where import Where

INCIDENTS = """
SELECT id, incident_key, service, window_seconds, severity, status, last_transition, opened_at,
       last_spike_end, resolved_at, peak_errors, peak_ratio, template_ids, reason, narrative,
       summary_id, changed_by, version
FROM incidents
"""
SUMMARIES = """
SELECT id, service, window_seconds, window_start, window_end, total, errors, counts_by_level,
       baseline_errors, error_ratio, top_templates, top_error_templates, new_templates,
       narrative, summary, produced_by, provenance, updated_at
FROM log_summaries
"""
TEMPLATES = """
SELECT id, service, template_id, template, line_count, first_seen, last_seen, status,
       merged_into, version
FROM log_templates
"""
INCIDENTS_BY_OPENING = Sort("opened_at", "opened_at", "opened_at", (("id", "id"),))
SUMMARIES_BY_WINDOW = Sort("window_start", "window_start", "window_start", (("id", "id"),))
TEMPLATES_BY_FIRST_SEEN = Sort("first_seen", "first_seen", "first_seen", (("id", "id"),))


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


async def incidents_page(
    conn: asyncpg.Pool | asyncpg.Connection,
    filter_: IncidentFilter,
    descending: bool,
    request: PageRequest,
    default_size: int,
) -> Page[asyncpg.Record]:
    return await fetch_page(
        conn, INCIDENTS, where=filter_.where(), sort=INCIDENTS_BY_OPENING.reversed(descending),
        request=request, default_size=default_size,
    )  # fmt: skip


async def summaries_page(
    conn: asyncpg.Pool | asyncpg.Connection,
    filter_: SummaryFilter,
    descending: bool,
    request: PageRequest,
    default_size: int,
) -> Page[asyncpg.Record]:
    return await fetch_page(
        conn, SUMMARIES, where=filter_.where(), sort=SUMMARIES_BY_WINDOW.reversed(descending),
        request=request, default_size=default_size,
    )  # fmt: skip


async def templates_page(
    conn: asyncpg.Pool | asyncpg.Connection,
    filter_: TemplateFilter,
    descending: bool,
    request: PageRequest,
    default_size: int,
) -> Page[asyncpg.Record]:
    return await fetch_page(
        conn, TEMPLATES, where=filter_.where(), sort=TEMPLATES_BY_FIRST_SEEN.reversed(descending),
        request=request, default_size=default_size,
    )  # fmt: skip


async def incidents_by_ids(
    conn: asyncpg.Pool | asyncpg.Connection, ids: list[int]
) -> list[asyncpg.Record]:
    return list(await conn.fetch(f"{INCIDENTS} WHERE id = ANY($1::bigint[])", ids))


async def summaries_by_ids(
    conn: asyncpg.Pool | asyncpg.Connection, ids: list[int]
) -> list[asyncpg.Record]:
    return list(await conn.fetch(f"{SUMMARIES} WHERE id = ANY($1::bigint[])", ids))
