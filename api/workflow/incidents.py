"""People's operations on incidents: acknowledge, assign, resolve, reopen, add a note, link a
ticket, each with optimistic locking (``expected_version``) and an idempotency key, as the
ticket workflow does (``opsassist.api.workflow.tickets``; docs/incidents.md).

The lifecycle is open → acknowledged → resolved, resolved → open (reopen); an open incident may
also be resolved directly. Every operation is one transaction that first locks the incident's
row, so two concurrent changes are serialized: the first wins, the second sees the new version
and gets :class:`Conflict`. The history records each change with who (``user:<login>``) and why
(``last_action.reason``); the detector's own changes (``agent:logs``) are kept from undoing a
person's by the trigger of migration 0018.

Results are values, not exceptions, so that each caller (GraphQL, the CLI) maps them to its own
answer.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import AsyncIterator, Callable
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

import asyncpg
import orjson

from opsassist.store.history import Actor, set_actor
from opsassist.store.incidents import (
    IncidentState,
    lock_incident,
    reserve_incident_request,
    save_incident_result,
    set_lifecycle,
    ticket_exists,
    user_exists,
)
from opsassist.streams.privacy import IdempotencyKeyDigest, Redactor

#: The scope of incident-change keys in their digest (keys are global, not per incident).
_KEY_SCOPE = "incident-change"
#: Longest reason or note a person may type (a note is not a document).
MAX_TEXT = 4000


class Action(StrEnum):
    ACKNOWLEDGE = "acknowledge"
    ASSIGN = "assign"
    RESOLVE = "resolve"
    REOPEN = "reopen"
    NOTE = "note"
    LINK_TICKET = "link_ticket"


#: From which statuses each action may be taken. Assigning, notes and links are allowed in
#: every status (a resolved incident still gets its post-mortem owner, notes and tickets).
ALLOWED_FROM: dict[Action, frozenset[str]] = {
    Action.ACKNOWLEDGE: frozenset({"open"}),
    Action.ASSIGN: frozenset({"open", "acknowledged", "resolved"}),
    Action.RESOLVE: frozenset({"open", "acknowledged"}),
    Action.REOPEN: frozenset({"resolved"}),
    Action.NOTE: frozenset({"open", "acknowledged", "resolved"}),
    Action.LINK_TICKET: frozenset({"open", "acknowledged", "resolved"}),
}
#: Actions that change what on-call believes about the incident need a reason.
_REASON_REQUIRED = frozenset({Action.RESOLVE, Action.REOPEN})


@dataclass(frozen=True, slots=True)
class IncidentChange:
    """One operation a person asks for. ``assignee`` is for ASSIGN, ``ticket_id`` for
    LINK_TICKET, ``text`` for NOTE; ``reason`` is the why (required to resolve or reopen)."""

    incident_id: int
    action: Action
    expected_version: int
    idempotency_key: str
    actor: str
    reason: str | None = None
    assignee: str | None = None
    ticket_id: int | None = None
    text: str | None = None


@dataclass(frozen=True, slots=True)
class Updated:
    """The change was made (or replayed for a repeated idempotency key): the version it made."""

    incident_id: int
    version: int


@dataclass(frozen=True, slots=True)
class Conflict:
    """The incident is no longer at ``expected_version``; nothing was changed."""

    incident_id: int
    expected_version: int
    current_version: int


@dataclass(frozen=True, slots=True)
class InvalidTransition:
    """The action is not allowed from the incident's status; ``allowed`` lists those that are."""

    incident_id: int
    current: str
    requested: str
    allowed: tuple[str, ...]

    @property
    def message(self) -> str:
        options = ", ".join(self.allowed) or "nothing"
        return f"cannot {self.requested} an incident that is {self.current}; allowed: {options}"


@dataclass(frozen=True, slots=True)
class InvalidChange:
    """The request itself is wrong (no reason, unknown assignee or ticket...); nothing changed."""

    incident_id: int
    message: str
    field: str | None = None


@dataclass(frozen=True, slots=True)
class NotFound:
    incident_id: int


@dataclass(frozen=True, slots=True)
class IdempotencyKeyReused:
    """The key was used before for a different request; nothing was changed."""

    idempotency_key: str
    message: str


IncidentResult = (
    Updated | Conflict | InvalidTransition | InvalidChange | NotFound | IdempotencyKeyReused
)
_STORED_TYPES: dict[
    str, type[Updated | Conflict | InvalidTransition | InvalidChange | NotFound]
] = {
    "Updated": Updated,
    "Conflict": Conflict,
    "InvalidTransition": InvalidTransition,
    "InvalidChange": InvalidChange,
    "NotFound": NotFound,
}


def _result_to_json(result: IncidentResult) -> dict[str, Any]:
    return {"type": type(result).__name__, **asdict(result)}


def _result_from_json(data: dict[str, Any]) -> IncidentResult:
    data = dict(data)
    kind = data.pop("type")
    if kind == "InvalidTransition":
        data["allowed"] = tuple(data["allowed"])
    return _STORED_TYPES[kind](**data)


def _changed_by(actor: str) -> str:
    """``changed_by`` for an actor: ``user:<login>`` unless it names its kind already."""
    actor = actor.strip()
    return actor if ":" in actor else f"user:{actor}"


def _request_hash(change: IncidentChange, changed_by: str) -> bytes:
    request = orjson.dumps(
        [
            change.incident_id, change.action.value, change.expected_version, changed_by,
            change.reason, change.assignee, change.ticket_id, change.text,
        ]
    )  # fmt: skip
    return hashlib.sha256(request).digest()


def request_problem(change: IncidentChange) -> InvalidChange | None:
    """What is wrong with ``change`` before any stored state is read, or None."""
    checks: list[tuple[bool, str, str | None]] = [
        (not change.actor.strip(), "a change needs who makes it (actor)", None),
        (
            change.actor.strip().startswith("agent:"),
            "incidents are worked by people; agents resolve them on their own",
            None,
        ),
        (
            change.action in _REASON_REQUIRED and not (change.reason or "").strip(),
            f"to {change.action.value} an incident, say why (reason)",
            "reason",
        ),
        (
            change.action is Action.ASSIGN and not (change.assignee or "").strip(),
            "an assignment needs the assignee's login",
            "assignee",
        ),
        (
            change.action is Action.NOTE and not (change.text or "").strip(),
            "a note needs text",
            "text",
        ),
        (
            change.action is Action.LINK_TICKET and change.ticket_id is None,
            "a link needs the ticket's id",
            "ticketId",
        ),
        (
            len(change.reason or "") > MAX_TEXT or len(change.text or "") > MAX_TEXT,
            f"a reason or note is at most {MAX_TEXT} characters",
            None,
        ),
    ]
    return next(
        (
            InvalidChange(change.incident_id, message, field)
            for bad, message, field in checks
            if bad
        ),
        None,
    )


def _acknowledge(state: IncidentState, change: IncidentChange, by: str) -> IncidentState:
    return replace(state, status="acknowledged", acknowledged_at=state.now, acknowledged_by=by)


def _assign(state: IncidentState, change: IncidentChange, by: str) -> IncidentState:
    return replace(state, assignee=(change.assignee or "").strip())


def _resolve(state: IncidentState, change: IncidentChange, by: str) -> IncidentState:
    return replace(state, status="resolved", resolved_at=state.now, resolved_by=by)


def _reopen(state: IncidentState, change: IncidentChange, by: str) -> IncidentState:
    # A reopened incident is unacknowledged again: someone has to take it anew.
    return replace(
        state, status="open", resolved_at=None, resolved_by=None, acknowledged_at=None,
        acknowledged_by=None, reopened_count=state.reopened_count + 1,
    )  # fmt: skip


def _note(state: IncidentState, change: IncidentChange, by: str) -> IncidentState:
    note = {"by": by, "at": state.now.astimezone(UTC).isoformat(), "text": change.text}
    return replace(state, notes=(*state.notes, note))


def _link_ticket(state: IncidentState, change: IncidentChange, by: str) -> IncidentState:
    assert change.ticket_id is not None  # request_problem
    return replace(state, ticket_ids=(*state.ticket_ids, change.ticket_id))


_APPLY: dict[Action, Callable[[IncidentState, IncidentChange, str], IncidentState]] = {
    Action.ACKNOWLEDGE: _acknowledge,
    Action.ASSIGN: _assign,
    Action.RESOLVE: _resolve,
    Action.REOPEN: _reopen,
    Action.NOTE: _note,
    Action.LINK_TICKET: _link_ticket,
}


def next_state(
    state: IncidentState, change: IncidentChange, changed_by: str
) -> IncidentState | InvalidTransition | InvalidChange:
    """The incident after ``change`` (its lifecycle columns), or why it may not be made. A note's
    ``change.text`` is stored as given: the caller redacts it first."""
    if state.status not in ALLOWED_FROM[change.action]:
        allowed = tuple(a.value for a in Action if state.status in ALLOWED_FROM[a])
        return InvalidTransition(state.id, state.status, change.action.value, allowed)
    # Repeating an assignment or a link would only add a version that changes nothing.
    if change.action is Action.ASSIGN and (change.assignee or "").strip() == state.assignee:
        return InvalidChange(state.id, f"the incident is assigned to {state.assignee} already")
    if change.action is Action.LINK_TICKET and change.ticket_id in state.ticket_ids:
        return InvalidChange(state.id, f"ticket {change.ticket_id} is linked already", "ticketId")
    return _APPLY[change.action](state, change, changed_by)


class IncidentWorkflow:
    """The lifecycle operations on stored incidents, over a pool (the API) or one connection
    (the CLI). ``redactor`` redacts what people type (reasons, notes) before it is stored;
    ``keys`` turns an idempotency key into what is stored instead of it (defaults: the packaged
    policy without a pseudonym key, an unkeyed hash; a process with settings passes its own)."""

    def __init__(
        self,
        db: asyncpg.Pool | asyncpg.Connection,
        *,
        redactor: Redactor | None = None,
        keys: IdempotencyKeyDigest | None = None,
    ) -> None:
        self._db = db
        self._redactor = redactor if redactor is not None else Redactor()
        self._keys = keys if keys is not None else IdempotencyKeyDigest(b"")

    @contextlib.asynccontextmanager
    async def _connection(self) -> AsyncIterator[asyncpg.Connection]:
        if isinstance(self._db, asyncpg.Pool):
            async with self._db.acquire() as conn:
                yield conn
        else:
            yield self._db

    async def change(self, change: IncidentChange) -> IncidentResult:
        """Make ``change`` if the incident is still at ``change.expected_version`` and its status
        allows the action. The result for an idempotency key is stored in the same transaction:
        the same key with the same request returns that result again without changing anything,
        the same key with another request returns :class:`IdempotencyKeyReused`. An empty key
        is a caller's bug: ``ValueError``."""
        if not change.idempotency_key.strip():
            raise ValueError("an idempotency key is required")
        if (problem := request_problem(change)) is not None:
            return problem
        changed_by = _changed_by(change.actor)
        request = _request_hash(change, changed_by)
        stored_key = self._keys.digest(_KEY_SCOPE, change.idempotency_key)
        async with self._connection() as conn, conn.transaction():
            earlier = await reserve_incident_request(conn, stored_key, change.incident_id, request)
            if earlier is not None:
                if earlier.request_hash != request:
                    return IdempotencyKeyReused(
                        change.idempotency_key,
                        f"idempotency key {change.idempotency_key!r} was used for a different "
                        "request",
                    )
                return _result_from_json(earlier.result)
            await set_actor(conn, Actor(changed_by))
            result = await self._apply(conn, change, changed_by)
            await save_incident_result(conn, stored_key, _result_to_json(result))
            return result

    async def _apply(
        self, conn: asyncpg.Connection, change: IncidentChange, changed_by: str
    ) -> Updated | Conflict | InvalidTransition | InvalidChange | NotFound:
        state = await lock_incident(conn, change.incident_id)
        if state is None:
            return NotFound(change.incident_id)
        if state.version != change.expected_version:
            return Conflict(change.incident_id, change.expected_version, state.version)
        if change.action is Action.ASSIGN and not await user_exists(conn, change.assignee or ""):
            return InvalidChange(
                state.id, f"no active user {change.assignee!r} to assign to", "assignee"
            )
        if change.action is Action.LINK_TICKET and not await ticket_exists(
            conn, change.ticket_id or 0
        ):
            return InvalidChange(state.id, f"ticket {change.ticket_id} does not exist", "ticketId")
        reason = self._redacted(change.reason)
        redacted = replace(change, reason=reason, text=self._redacted(change.text))
        after = next_state(state, redacted, changed_by)
        if not isinstance(after, IncidentState):
            return after
        action = _last_action(change, changed_by, reason, state.now)
        version = await set_lifecycle(conn, after, action, changed_by)
        return Updated(state.id, version)

    def _redacted(self, text: str | None) -> str | None:
        return (
            None
            if text is None or not text.strip()
            else self._redactor.redact_text(text.strip()).text
        )


def _last_action(
    change: IncidentChange, changed_by: str, reason: str | None, now: datetime
) -> dict[str, Any]:
    """What the history shows as the change's who and why."""
    action: dict[str, Any] = {
        "action": change.action.value,
        "by": changed_by,
        "reason": reason,
        "at": now.astimezone(UTC).isoformat(),
    }
    if change.action is Action.ASSIGN:
        action["assignee"] = (change.assignee or "").strip()
    if change.action is Action.LINK_TICKET:
        action["ticket_id"] = change.ticket_id
    return action
