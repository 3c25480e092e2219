"""Log events as the API lists them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import asyncpg

from opsassist.store.reads._keyset import Page, PageRequest, Sort, fetch_page
from opsassist.store.reads._where import Where, like_pattern

SELECT = """
SELECT event_id, service, host, level, ts, message, attributes, source, trace_id, occurred_at,
       received_at, ingested_at
FROM log_events
"""
BY_TIME = Sort("ts", "ts", "ts", (("event_id", "event_id"),))


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


async def log_events_page(
    conn: asyncpg.Pool | asyncpg.Connection,
    filter_: LogEventFilter,
    descending: bool,
    request: PageRequest,
    default_size: int,
) -> Page[asyncpg.Record]:
    return await fetch_page(
        conn,
        SELECT,
        where=filter_.where(),
        sort=BY_TIME.reversed(descending),
        request=request,
        default_size=default_size,
    )


async def log_events_by_ids(
    conn: asyncpg.Pool | asyncpg.Connection, ids: list[str]
) -> list[asyncpg.Record]:
    return list(await conn.fetch(f"{SELECT} WHERE event_id = ANY($1::text[])", ids))
