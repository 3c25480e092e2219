"""The SQL of the incident lifecycle people work: an incident's row locked for a change, the
write of its lifecycle columns, the idempotency keys of those changes, and the checks that an
assignee or a linked ticket exists. The rules (which actions, from which status) live above,
in ``opsassist.api.workflow.incidents``; these functions run what they are given in the
caller's connection and transaction.

History needs no code here: the triggers of migration 0009 record every change in
``incident_changes``, and that of 0018 keeps the detector (``agent:logs``) from undoing what a
person did.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg
import orjson

from opsassist.store.history import Actor, set_actor

__all__ = [
    "AlertIncidentRow",
    "IncidentRequest",
    "IncidentState",
    "incident_version",
    "lock_incident",
    "reserve_incident_request",
    "save_incident_result",
    "set_lifecycle",
    "ticket_exists",
    "user_exists",
    "write_alert_incidents",
]

_LOCK = """
SELECT id, version, status, severity, service, assignee, acknowledged_at, acknowledged_by,
       resolved_at, resolved_by, reopened_count, ticket_ids, notes, now() AS db_now
FROM incidents WHERE id = $1 FOR UPDATE
"""
_SET_LIFECYCLE = """
UPDATE incidents SET status = $2, assignee = $3, acknowledged_at = $4, acknowledged_by = $5,
    resolved_at = $6, resolved_by = $7, reopened_count = $8, ticket_ids = $9,
    notes = $10::jsonb, last_action = $11::jsonb, changed_by = $12
WHERE id = $1
RETURNING version
"""
_CLAIM_KEY = """
INSERT INTO incident_requests (idempotency_key, incident_id, request_hash, result)
VALUES ($1, $2, $3, 'null') ON CONFLICT (idempotency_key) DO NOTHING RETURNING true
"""
_STORED_KEY = "SELECT request_hash, result FROM incident_requests WHERE idempotency_key = $1"
_SAVE_RESULT = "UPDATE incident_requests SET result = $2::jsonb WHERE idempotency_key = $1"
_USER_EXISTS = (
    "SELECT EXISTS (SELECT 1 FROM users WHERE lower(username) = lower($1) AND disabled_at IS NULL)"
)
_VERSION = "SELECT version FROM incidents WHERE id = $1"
_TICKET_EXISTS = "SELECT EXISTS (SELECT 1 FROM tickets WHERE id = $1)"


@dataclass(frozen=True, slots=True)
class IncidentState:
    """An incident's lifecycle columns as read under its row lock (or as a change leaves them)."""

    id: int
    version: int
    status: str
    severity: str
    service: str
    assignee: str | None
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    resolved_at: datetime | None
    resolved_by: str | None
    reopened_count: int
    ticket_ids: tuple[int, ...]
    #: [{by, at, text}], oldest first
    notes: tuple[dict[str, Any], ...]
    #: the database's clock at the lock (its transaction's start), for times the change records
    now: datetime


@dataclass(frozen=True, slots=True)
class IncidentRequest:
    """A change made earlier under the same idempotency key: the caller's hash of the request
    and the result stored for it."""

    request_hash: bytes
    result: dict[str, Any]


def _json(value: Any) -> str:
    return orjson.dumps(value).decode()


async def lock_incident(conn: asyncpg.Connection, incident_id: int) -> IncidentState | None:
    """The incident's lifecycle, its row locked until the caller's transaction ends, or None."""
    row = await conn.fetchrow(_LOCK, incident_id)
    if row is None:
        return None
    return IncidentState(
        id=row["id"],
        version=row["version"],
        status=row["status"],
        severity=row["severity"],
        service=row["service"],
        assignee=row["assignee"],
        acknowledged_at=row["acknowledged_at"],
        acknowledged_by=row["acknowledged_by"],
        resolved_at=row["resolved_at"],
        resolved_by=row["resolved_by"],
        reopened_count=row["reopened_count"],
        ticket_ids=tuple(row["ticket_ids"]),
        notes=tuple(orjson.loads(row["notes"])),
        now=row["db_now"],
    )


async def set_lifecycle(
    conn: asyncpg.Connection, after: IncidentState, last_action: dict[str, Any], changed_by: str
) -> int:
    """Write the lifecycle columns of ``after`` (the caller decided them) and the action that
    made them; the new version."""
    version: int = await conn.fetchval(
        _SET_LIFECYCLE,
        after.id,
        after.status,
        after.assignee,
        after.acknowledged_at,
        after.acknowledged_by,
        after.resolved_at,
        after.resolved_by,
        after.reopened_count,
        list(after.ticket_ids),
        _json(list(after.notes)),
        _json(last_action),
        changed_by,
    )
    return version


async def reserve_incident_request(
    conn: asyncpg.Connection, stored_key: str, incident_id: int, request_hash: bytes
) -> IncidentRequest | None:
    """Claim ``stored_key`` in the caller's transaction: None when it is new (the caller makes
    the change and :func:`save_incident_result`), else the request made under it before. A
    concurrent claim of the same key waits for the first one's commit."""
    if await conn.fetchval(_CLAIM_KEY, stored_key, incident_id, request_hash):
        return None
    stored = await conn.fetchrow(_STORED_KEY, stored_key)
    return IncidentRequest(bytes(stored["request_hash"]), orjson.loads(stored["result"]))


async def save_incident_result(
    conn: asyncpg.Connection, stored_key: str, result: dict[str, Any]
) -> None:
    """Store the result of the change that claimed ``stored_key``, for its replays."""
    await conn.execute(_SAVE_RESULT, stored_key, _json(result))


async def user_exists(conn: asyncpg.Connection, username: str) -> bool:
    """Whether an enabled account has this login (any case): who an incident may be assigned to."""
    return bool(await conn.fetchval(_USER_EXISTS, username))


async def ticket_exists(conn: asyncpg.Connection, ticket_id: int) -> bool:
    return bool(await conn.fetchval(_TICKET_EXISTS, ticket_id))


async def incident_version(conn: asyncpg.Connection, incident_id: int) -> int | None:
    """The incident's current version, or None if there is no such incident."""
    version: int | None = await conn.fetchval(_VERSION, incident_id)
    return version


# -- alert incidents: one per Alertmanager fingerprint, written by the worker's alert stage

# An alert has no detection window (0) and no error counts; its incident is keyed by the
# fingerprint. An update is skipped when the notification is stale (a firing one of an episode
# that began before the incident was resolved: a person's resolution is not undone by a repeat;
# a resolved one older than the latest firing) or changes nothing an operator sees (a firing
# repeat), so a repeat records no version. Links to log incidents: migration 0020's triggers.
_SAVE_ALERT_INCIDENT = """
INSERT INTO incidents AS i (incident_key, service, window_seconds, severity, status,
                            last_transition, opened_at, last_spike_end, resolved_at, peak_errors,
                            template_ids, reason, narrative, source, labels, annotations,
                            generator_url, changed_by)
VALUES ($1, $2, 0, $3, $4, CASE WHEN $4 = 'resolved' THEN 'resolved' ELSE 'opened' END,
        $5, $6, $7, 0, '{}', $8, $9, 'alertmanager', $10::jsonb, $11::jsonb, $12, $13)
ON CONFLICT (incident_key, window_seconds) DO UPDATE SET
    severity = excluded.severity, status = excluded.status,
    last_transition = CASE WHEN excluded.status = 'resolved' THEN 'resolved'
                           WHEN i.status = 'resolved' THEN 'opened' ELSE 'updated' END,
    last_spike_end = greatest(i.last_spike_end, excluded.last_spike_end),
    resolved_at = excluded.resolved_at, reason = excluded.reason,
    narrative = excluded.narrative, labels = excluded.labels,
    annotations = excluded.annotations, generator_url = excluded.generator_url,
    changed_by = excluded.changed_by
WHERE NOT (i.status = 'resolved' AND excluded.status <> 'resolved'
           AND excluded.last_spike_end <= i.resolved_at)
  AND NOT (excluded.status = 'resolved' AND excluded.resolved_at < i.last_spike_end)
  AND ((i.status = 'resolved'), i.severity, i.reason, i.narrative, i.labels, i.annotations,
       i.generator_url)
      IS DISTINCT FROM
      ((excluded.status = 'resolved'), excluded.severity, excluded.reason, excluded.narrative,
       excluded.labels, excluded.annotations, excluded.generator_url)
"""


@dataclass(frozen=True, slots=True)
class AlertIncidentRow:
    """An alert's state as its incident holds it (the alert stage decided the mapping)."""

    #: ``alertmanager:<fingerprint>``
    incident_key: str
    service: str
    severity: str
    #: ``open`` (firing) or ``resolved``
    status: str
    #: when the alert started firing
    opened_at: datetime
    #: the start of the latest firing, or the end of the alert once resolved
    last_spike_end: datetime
    resolved_at: datetime | None
    #: the alert's name, as the incident's reason
    reason: str
    #: the alert's summary or description annotation
    narrative: str
    labels: dict[str, str]
    annotations: dict[str, str]
    generator_url: str | None


async def write_alert_incidents(
    pool: asyncpg.Pool, rows: Sequence[AlertIncidentRow], actor: Actor
) -> int:
    """Apply the alerts to their incidents in order, in one transaction made by ``actor``;
    returns how many incidents changed (a repeat changes none)."""
    changed = 0
    async with pool.acquire() as conn, conn.transaction():
        await set_actor(conn, actor)
        for row in rows:
            status: str = await conn.execute(
                _SAVE_ALERT_INCIDENT,
                row.incident_key,
                row.service,
                row.severity,
                row.status,
                row.opened_at,
                row.last_spike_end,
                row.resolved_at,
                row.reason,
                row.narrative,
                _json(row.labels),
                _json(row.annotations),
                row.generator_url,
                actor.who,
            )
            changed += int(status.rsplit(" ", 1)[-1])
    return changed
