"""The SQL of the ticket workflow: a ticket's workflow state, its row locked for a change, the
writes of a status or a triage, the idempotency keys of status changes, and the fields people
own. The rules (which transitions, what a correction means) live above, in
``opsassist.api.workflow``; these functions run what they are given in the caller's connection.

A change is one transaction of the caller's: :func:`lock_ticket` (``SELECT … FOR UPDATE``)
serializes two concurrent changes of one ticket, so the second sees the first one's version.
History needs no code here: the triggers of migration 0001 record every change in
``ticket_changes`` (who in ``changed_by``, the delta), and those of 0007 keep agents from
overwriting fields a person set.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import asyncpg
import orjson

from opsassist.store.sink import TicketTriageFields

__all__ = [
    "LockedTicket",
    "StatusRequest",
    "TicketState",
    "human_owned_fields",
    "lock_ticket",
    "purge_status_requests",
    "reserve_status_request",
    "save_status_result",
    "set_status",
    "set_triage",
    "ticket_state",
]

_STATE_COLUMNS = """
id, version, workflow_status, category, suggested_category, priority, team, needs_triage,
triage_layer, human_fields, sla_due_at, resolved_at, reopened_count, correction, triage,
coalesce(resolved_at, now()) > sla_due_at AS sla_breached
"""
_LOCK = f"""
SELECT {_STATE_COLUMNS}, title, body, labels, source_system, external_id, created_at,
       triage_confidence, now() AS db_now
FROM tickets WHERE id = $1 FOR UPDATE
"""
_STATE = f"SELECT {_STATE_COLUMNS} FROM tickets WHERE id = $1"
_SET_STATUS = """
UPDATE tickets SET workflow_status = $2, resolved_at = $3, reopened_count = $4, changed_by = $5
WHERE id = $1
"""
_SET_TRIAGE = """
UPDATE tickets SET category = $2, suggested_category = $3, priority = $4, team = $5,
    triage_confidence = $6, needs_triage = $7, triage_layer = $8, triage = $9::jsonb,
    sla_due_at = $10, human_fields = $11, correction = $12::jsonb, changed_by = $13
WHERE id = $1
"""
_CLAIM_KEY = """
INSERT INTO ticket_status_requests (idempotency_key, ticket_id, request_hash, result)
VALUES ($1, $2, $3, 'null') ON CONFLICT (idempotency_key) DO NOTHING RETURNING true
"""
_STORED_KEY = """
SELECT request_hash, result FROM ticket_status_requests WHERE idempotency_key = $1
"""
_SAVE_RESULT = "UPDATE ticket_status_requests SET result = $2::jsonb WHERE idempotency_key = $1"
_PURGE_KEYS = "DELETE FROM ticket_status_requests WHERE created_at < now() - $1::interval"
_OWNED = """
SELECT t.source_system, t.external_id, t.human_fields, t.category, t.priority, t.team
FROM tickets t
JOIN unnest($1::text[], $2::text[]) AS k (source_system, external_id)
  ON t.source_system = k.source_system AND t.external_id = k.external_id
WHERE t.human_fields <> '{}'
"""


@dataclass(frozen=True, slots=True)
class TicketState:
    """A ticket's workflow and triage state (as read, or after an operation)."""

    id: int
    version: int
    workflow_status: str
    category: str | None
    suggested_category: str | None
    priority: str | None
    team: str | None
    needs_triage: bool
    triage_layer: str | None
    #: the triage fields a person set; agents never change them
    human_fields: tuple[str, ...]
    sla_due_at: datetime | None
    #: resolved after the due time, or unresolved past it (at the time of the operation)
    sla_breached: bool
    resolved_at: datetime | None
    reopened_count: int
    model_version: str | None
    #: the latest correction: ``fields`` (old and new values), ``by``, ``reason``, ``at``
    correction: dict[str, Any] | None = field(default=None)


@dataclass(frozen=True, slots=True)
class LockedTicket:
    """A ticket's row as read under its row lock: its state and what a change is decided on."""

    state: TicketState
    title: str
    body: str
    labels: tuple[str, ...]
    source_system: str
    external_id: str
    created_at: datetime
    triage_confidence: float | None
    #: the stored triage's ``explanation``, ``model_version`` and ``notes``
    triage_details: dict[str, Any]
    #: the database's clock at the lock (its transaction's start), for times the change records
    now: datetime


@dataclass(frozen=True, slots=True)
class StatusRequest:
    """A status change made earlier under the same idempotency key: what was asked (the
    caller's hash of the request) and the result stored for it."""

    request_hash: bytes
    result: dict[str, Any]


def _json(value: Any) -> str:
    return orjson.dumps(value).decode()


def _triage_details(row: asyncpg.Record) -> dict[str, Any]:
    details: dict[str, Any] = orjson.loads(row["triage"]) if row["triage"] is not None else {}
    return details


def _state(row: asyncpg.Record) -> TicketState:
    return TicketState(
        id=row["id"],
        version=row["version"],
        workflow_status=row["workflow_status"],
        category=row["category"],
        suggested_category=row["suggested_category"],
        priority=row["priority"],
        team=row["team"],
        needs_triage=row["needs_triage"],
        triage_layer=row["triage_layer"],
        human_fields=tuple(row["human_fields"]),
        sla_due_at=row["sla_due_at"],
        sla_breached=bool(row["sla_breached"]),
        resolved_at=row["resolved_at"],
        reopened_count=row["reopened_count"],
        model_version=_triage_details(row).get("model_version"),
        correction=orjson.loads(row["correction"]) if row["correction"] is not None else None,
    )


async def ticket_state(
    conn: asyncpg.Connection | asyncpg.Pool, ticket_id: int
) -> TicketState | None:
    """The ticket's workflow and triage state, or None if there is no such ticket."""
    row = await conn.fetchrow(_STATE, ticket_id)
    return _state(row) if row is not None else None


async def lock_ticket(conn: asyncpg.Connection, ticket_id: int) -> LockedTicket | None:
    """The ticket's row, locked until the caller's transaction ends, or None."""
    row = await conn.fetchrow(_LOCK, ticket_id)
    if row is None:
        return None
    return LockedTicket(
        state=_state(row),
        title=row["title"],
        body=row["body"],
        labels=tuple(row["labels"]),
        source_system=row["source_system"],
        external_id=row["external_id"],
        created_at=row["created_at"],
        triage_confidence=row["triage_confidence"],
        triage_details=_triage_details(row),
        now=row["db_now"],
    )


async def set_status(
    conn: asyncpg.Connection,
    ticket_id: int,
    *,
    status: str,
    resolved_at: datetime | None,
    reopened_count: int,
    changed_by: str,
) -> None:
    """Write the ticket's workflow status (the caller checked the transition)."""
    await conn.execute(_SET_STATUS, ticket_id, status, resolved_at, reopened_count, changed_by)


async def set_triage(
    conn: asyncpg.Connection,
    ticket_id: int,
    triage: TicketTriageFields,
    *,
    human_fields: Sequence[str],
    correction: dict[str, Any] | None,
    changed_by: str,
) -> None:
    """Write the ticket's triage, the fields people own and the latest correction."""
    await conn.execute(
        _SET_TRIAGE,
        ticket_id,
        triage.category,
        triage.suggested_category,
        triage.priority,
        triage.team,
        triage.confidence,
        triage.needs_triage,
        triage.layer,
        _json(triage.details),
        triage.sla_due_at,
        list(human_fields),
        _json(correction) if correction is not None else None,
        changed_by,
    )


async def reserve_status_request(
    conn: asyncpg.Connection, stored_key: str, ticket_id: int, request_hash: bytes
) -> StatusRequest | None:
    """Claim ``stored_key`` for a status change in the caller's transaction: None when it is
    new (the caller makes the change and :func:`save_status_result`), else the request made
    under it before. A concurrent claim of the same key waits for the first one's commit."""
    if await conn.fetchval(_CLAIM_KEY, stored_key, ticket_id, request_hash):
        return None
    stored = await conn.fetchrow(_STORED_KEY, stored_key)
    return StatusRequest(bytes(stored["request_hash"]), orjson.loads(stored["result"]))


async def save_status_result(
    conn: asyncpg.Connection, stored_key: str, result: dict[str, Any]
) -> None:
    """Store the result of the status change that claimed ``stored_key``, for its replays."""
    await conn.execute(_SAVE_RESULT, stored_key, _json(result))


async def human_owned_fields(
    conn: asyncpg.Connection | asyncpg.Pool, keys: Sequence[tuple[str, str]]
) -> dict[tuple[str, str], dict[str, str]]:
    """For tickets (``(source_system, external_id)``) where a person set triage fields: those
    fields and their values. The worker applies them to its new triage of these tickets."""
    if not keys:
        return {}
    rows = await conn.fetch(_OWNED, [k[0] for k in keys], [k[1] for k in keys])
    return {
        (row["source_system"], row["external_id"]): {
            name: row[name] for name in row["human_fields"] if row[name] is not None
        }
        for row in rows
    }


async def purge_status_requests(
    conn: asyncpg.Connection | asyncpg.Pool, older_than: timedelta
) -> int:
    """Forget idempotency keys of status changes older than ``older_than`` (a timedelta)."""
    result: str = await conn.execute(_PURGE_KEYS, older_than)
    return int(result.rsplit(" ", 1)[-1])
