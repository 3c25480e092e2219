"""The typed results of the ticket workflow's operations (``opsassist.api.workflow.tickets``): one
value per outcome, so that callers map each to their own answer (a GraphQL union member, an
HTTP status) without catching exceptions. The ticket's state they carry is the store's
:class:`~opsassist.store.ticket_workflow.TicketState`, the row type of its read."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from opsassist.store.ticket_workflow import TicketState


@dataclass(frozen=True, slots=True)
class Updated:
    """The change was made (or replayed for a repeated idempotency key)."""

    ticket: TicketState


@dataclass(frozen=True, slots=True)
class Conflict:
    """``expected_version`` was not the ticket's version: someone changed it meanwhile. Read
    the ticket again (it is at ``current_version``) and decide again."""

    ticket_id: int
    expected_version: int
    current_version: int


@dataclass(frozen=True, slots=True)
class InvalidTransition:
    """The workflow does not allow going from ``current`` to ``requested``; ``allowed`` says
    where the ticket may go. Also returned for a status name that does not exist."""

    ticket_id: int
    current: str
    requested: str
    allowed: tuple[str, ...]

    @property
    def message(self) -> str:
        options = ", ".join(self.allowed) or "nothing"
        return f"cannot go from {self.current!r} to {self.requested!r}; allowed: {options}"


@dataclass(frozen=True, slots=True)
class NotFound:
    ticket_id: int


@dataclass(frozen=True, slots=True)
class InvalidCorrection:
    """A correction with an unknown category or priority, an empty team, no field, or no
    actor or reason; nothing was changed."""

    ticket_id: int
    message: str


@dataclass(frozen=True, slots=True)
class IdempotencyKeyReused:
    """The idempotency key was used before for a different request (another ticket, status,
    version or actor); nothing was changed. Use a new key for a new request."""

    idempotency_key: str
    message: str


StatusResult = Updated | Conflict | InvalidTransition | NotFound | IdempotencyKeyReused
CorrectionResult = Updated | Conflict | InvalidCorrection | NotFound
RetriageResult = Updated | NotFound


def result_to_json(result: StatusResult) -> dict[str, Any]:
    """The result as JSON, as stored for an idempotency key."""
    if isinstance(result, Updated):
        ticket = asdict(result.ticket)
        for key in ("sla_due_at", "resolved_at"):
            ticket[key] = ticket[key].isoformat() if ticket[key] is not None else None
        return {"type": "Updated", "ticket": ticket}
    return {"type": type(result).__name__, **asdict(result)}


def result_from_json(data: dict[str, Any]) -> StatusResult:
    """A result stored by :func:`result_to_json`, for a replay."""
    kind = data.pop("type")
    if kind == "Updated":
        ticket = data["ticket"]
        for key in ("sla_due_at", "resolved_at"):
            if ticket[key] is not None:
                ticket[key] = datetime.fromisoformat(ticket[key])
        ticket["human_fields"] = tuple(ticket["human_fields"])
        return Updated(TicketState(**ticket))
    if kind == "InvalidTransition":
        data["allowed"] = tuple(data["allowed"])
    types: dict[str, type[Conflict | InvalidTransition | NotFound]] = {
        "Conflict": Conflict,
        "InvalidTransition": InvalidTransition,
        "NotFound": NotFound,
    }
    return types[kind](**data)
