"""Counts per time bucket that dashboards draw, and the SLA breach count."""

from __future__ import annotations

from datetime import datetime, timedelta

import asyncpg

from opsassist.store.logs import LogEventFilter
from opsassist.store.paging import Where
from opsassist.store.tickets import TicketFilter

# dimension name -> SQL column; names we own, never user input
LOG_DIMENSIONS = {"level": "coalesce(level, '')", "service": "service"}
TICKET_DIMENSIONS = {
    "category": "coalesce(category, '')",
    "priority": "coalesce(priority, '')",
    "status": "status",
    "team": "coalesce(team, '')",
}


async def _bucket_counts(
    conn: asyncpg.Pool | asyncpg.Connection,
    table: str,
    *,
    time_column: str,
    dimension: str,
    where: Where,
    bucket: timedelta,
    since: datetime,
    until: datetime,
) -> list[asyncpg.Record]:
    where.add(f"{time_column} >= {{}}", since)
    where.add(f"{time_column} < {{}}", until)
    width = where.bind(bucket)
    origin = where.bind(since)
    sql = (
        f"SELECT date_bin({width}, {time_column}, {origin}) AS bucket, {dimension} AS key, "
        f"count(*) AS count FROM {table} WHERE {where.sql()} GROUP BY 1, 2 ORDER BY 1, 2"
    )
    return list(await conn.fetch(sql, *where.args))


async def log_event_counts(
    conn: asyncpg.Pool | asyncpg.Connection,
    dimension: str,
    *,
    filter_: LogEventFilter,
    bucket: timedelta,
    since: datetime,
    until: datetime,
) -> list[asyncpg.Record]:
    return await _bucket_counts(
        conn,
        "log_events",
        time_column="ts",
        dimension=LOG_DIMENSIONS[dimension],
        where=filter_.where(),
        bucket=bucket,
        since=since,
        until=until,
    )


async def ticket_counts(
    conn: asyncpg.Pool | asyncpg.Connection,
    dimension: str,
    *,
    filter_: TicketFilter,
    bucket: timedelta,
    since: datetime,
    until: datetime,
) -> list[asyncpg.Record]:
    return await _bucket_counts(
        conn,
        "tickets",
        time_column="created_at",
        dimension=TICKET_DIMENSIONS[dimension],
        where=filter_.where(),
        bucket=bucket,
        since=since,
        until=until,
    )


async def ticket_count(conn: asyncpg.Pool | asyncpg.Connection, filter_: TicketFilter) -> int:
    where = filter_.where()
    count: int = await conn.fetchval(
        f"SELECT count(*) FROM tickets WHERE {where.sql()}", *where.args
    )
    return count
