"""The SQL of incident notifications: the incident change a notification is about (its row
before and after, from the history) and the record of every delivery attempt
(migration 0019)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg
import orjson

from opsassist.store.paging import Listing, Page, PageRequest, Sort, Where

__all__ = [
    "DELIVERIES",
    "DeliveryAttempt",
    "DeliveryFilter",
    "IncidentChange",
    "already_delivered",
    "deliveries_of_incidents",
    "deliveries_page",
    "incident_change",
    "recent_deliveries",
    "record_attempt",
]

_CHANGE = """
SELECT c.state::text AS state, p.state::text AS before, c.changed_at
FROM incident_changes c
LEFT JOIN incident_changes p ON p.incident_id = c.incident_id AND p.version = c.version - 1
WHERE c.incident_id = $1 AND c.version = $2
"""
_DELIVERED = """
SELECT EXISTS (SELECT 1 FROM notification_deliveries
               WHERE incident_id = $1 AND route = $2 AND transition = $3 AND cycle = $4
                 AND status = 'delivered')
"""
# A second 'delivered' of the same transition (two notifiers racing after a rebalance) is
# dropped by the unique index rather than failing the delivery that did happen.
_RECORD = """
INSERT INTO notification_deliveries (event_id, incident_id, route, transition, cycle, attempt,
    status, http_status, error)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
ON CONFLICT (incident_id, route, transition, cycle) WHERE status = 'delivered' DO NOTHING
"""
_RECENT = """
SELECT id, event_id, incident_id, route, transition, cycle, attempt, status, http_status, error, at
FROM notification_deliveries
WHERE ($1::bigint IS NULL OR incident_id = $1) AND ($2::text IS NULL OR status = $2)
ORDER BY at DESC, id DESC LIMIT $3
"""


@dataclass(frozen=True, slots=True)
class IncidentChange:
    """The incident's whole row after a change and before it (None: the change created it)."""

    state: dict[str, Any]
    before: dict[str, Any] | None
    changed_at: datetime


@dataclass(frozen=True, slots=True)
class DeliveryAttempt:
    event_id: str
    incident_id: int
    route: str
    transition: str
    cycle: int
    attempt: int
    status: str
    http_status: int | None = None
    error: str | None = None
    id: int | None = None
    at: datetime | None = None


async def incident_change(
    conn: asyncpg.Connection, incident_id: int, version: int
) -> IncidentChange | None:
    row = await conn.fetchrow(_CHANGE, incident_id, version)
    if row is None or row["state"] is None:
        return None
    before = orjson.loads(row["before"]) if row["before"] is not None else None
    return IncidentChange(orjson.loads(row["state"]), before, row["changed_at"])


async def already_delivered(
    conn: asyncpg.Connection, incident_id: int, route: str, transition: str, cycle: int
) -> bool:
    return bool(await conn.fetchval(_DELIVERED, incident_id, route, transition, cycle))


async def record_attempt(conn: asyncpg.Connection, attempt: DeliveryAttempt) -> None:
    await conn.execute(
        _RECORD,
        attempt.event_id,
        attempt.incident_id,
        attempt.route,
        attempt.transition,
        attempt.cycle,
        attempt.attempt,
        attempt.status,
        attempt.http_status,
        (attempt.error or "")[:2000] or None,
    )


async def recent_deliveries(
    conn: asyncpg.Connection,
    incident_id: int | None = None,
    status: str | None = None,
    limit: int = 50,
) -> list[DeliveryAttempt]:
    """The latest attempts first, optionally of one incident or one status."""
    rows = await conn.fetch(_RECENT, incident_id, status, limit)
    return [DeliveryAttempt(**dict(row)) for row in rows]


# The API's listing of attempts (admin): newest first by default, the id breaking ties of
# attempts recorded in the same microsecond.
DELIVERIES = Listing(
    """
SELECT id, event_id, incident_id, route, transition, cycle, attempt, status, http_status, error, at
FROM notification_deliveries
""",
    Sort("at", "at", "at", (("id", "id"),)),
)


@dataclass(frozen=True, slots=True)
class DeliveryFilter:
    incident_id: int | None = None
    route: str | None = None
    status: str | None = None

    def where(self) -> Where:
        return (
            Where()
            .add_if(self.incident_id, "incident_id = {}")
            .add_if(self.route, "route = {}")
            .add_if(self.status, "status = {}")
        )


async def deliveries_page(
    conn: asyncpg.Pool | asyncpg.Connection,
    filter_: DeliveryFilter,
    descending: bool,
    request: PageRequest,
    default_size: int,
) -> Page[asyncpg.Record]:
    return await DELIVERIES.page(conn, filter_, descending, request, default_size)


async def deliveries_of_incidents(
    conn: asyncpg.Pool | asyncpg.Connection, incident_ids: list[int]
) -> dict[int, list[asyncpg.Record]]:
    """Every attempt of each incident, oldest first (an incident's own short list, unpaged: a
    few routes times a few tries per transition)."""
    rows = await conn.fetch(
        f"{DELIVERIES.select} WHERE incident_id = ANY($1::bigint[]) ORDER BY at, id",
        incident_ids,
    )
    grouped: dict[int, list[asyncpg.Record]] = {}
    for row in rows:
        grouped.setdefault(row["incident_id"], []).append(row)
    return grouped
