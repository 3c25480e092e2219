"""Everything stored under one trace id: the rows an event's path left in PostgreSQL, found by
the indexes on ``trace_id``."""

from __future__ import annotations

from typing import Any

import asyncpg

_LOGS = """
SELECT event_id, service, level, ts, kafka_topic, kafka_partition, kafka_offset, ingested_at
FROM log_events WHERE trace_id = $1 ORDER BY ts, event_id LIMIT $2
"""
_COMMITS = """
SELECT event_id, repo, sha, committed_at, kafka_topic, kafka_partition, kafka_offset, ingested_at
FROM commits WHERE trace_id = $1 ORDER BY committed_at, sha LIMIT $2
"""
_TICKET_EVENTS = """
SELECT event_id, source_system, external_id, occurred_at, kafka_topic, kafka_partition,
       kafka_offset, ingested_at
FROM ticket_events WHERE trace_id = $1 ORDER BY occurred_at, event_id LIMIT $2
"""


async def rows_of_trace(conn: asyncpg.Connection, trace_id: str, limit: int) -> dict[str, Any]:
    """The log events, commits and ticket events stored with ``trace_id`` (at most ``limit``
    of each), as JSON-ready dictionaries."""

    async def fetch(sql: str) -> list[dict[str, Any]]:
        rows = await conn.fetch(sql, trace_id, limit)
        return [{k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in r.items()}
                for r in rows]  # fmt: skip

    return {
        "log_events": await fetch(_LOGS),
        "commits": await fetch(_COMMITS),
        "ticket_events": await fetch(_TICKET_EVENTS),
    }
