"""The ticket status workflow and its SLA, as pure functions over immutable state.

Versions, optimistic locking and idempotency keys belong to the store; this module only says
which changes are allowed and what they do to the SLA clock.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum

from opsassist.streams.triage._config import SlaPolicy
from opsassist.streams.triage._ticket import PRIORITIES
from opsassist.streams.triage.errors import InvalidOverride, InvalidTransition, UnknownStatus


class Status(StrEnum):
    OPEN = "open"
    TRIAGED = "triaged"
    IN_PROGRESS = "in_progress"
    RESOLVED = "resolved"
    CLOSED = "closed"


#: From each status, where it may go. Reopening (resolved/closed -> triaged) keeps the ticket's
#: category and team: it returns to its team's queue rather than to the triage queue.
ALLOWED_TRANSITIONS: dict[Status, frozenset[Status]] = {
    Status.OPEN: frozenset({Status.TRIAGED}),
    Status.TRIAGED: frozenset({Status.IN_PROGRESS, Status.RESOLVED}),
    Status.IN_PROGRESS: frozenset({Status.RESOLVED, Status.TRIAGED}),
    Status.RESOLVED: frozenset({Status.CLOSED, Status.TRIAGED}),
    Status.CLOSED: frozenset({Status.TRIAGED}),
}


def parse_status(value: str | Status) -> Status:
    try:
        return Status(value)
    except ValueError:
        known = ", ".join(s.value for s in Status)
        raise UnknownStatus(f"unknown status {value!r}; known: {known}") from None


def allowed_transitions(status: str | Status) -> frozenset[Status]:
    return ALLOWED_TRANSITIONS[parse_status(status)]


def is_reopen(current: Status, target: Status) -> bool:
    return current in (Status.RESOLVED, Status.CLOSED) and target is Status.TRIAGED


def check_transition(current: str | Status, target: str | Status) -> Status:
    """The target status, if going there from ``current`` is allowed; else
    :class:`InvalidTransition` naming what is allowed."""
    source, wanted = parse_status(current), parse_status(target)
    allowed = ALLOWED_TRANSITIONS[source]
    if wanted not in allowed:
        raise InvalidTransition(source.value, wanted.value, (s.value for s in allowed))
    return wanted


@dataclass(frozen=True, slots=True)
class WorkflowState:
    """The workflow-relevant state of one ticket."""

    status: Status
    priority: str
    created_at: datetime
    resolved_at: datetime | None = None
    reopened: int = 0


@dataclass(frozen=True, slots=True)
class SlaState:
    due_at: datetime
    breached: bool
    #: time left until due (negative once breached); measured at resolution for resolved tickets
    remaining: timedelta


def new_workflow(priority: str, created_at: datetime) -> WorkflowState:
    if priority not in PRIORITIES:
        raise InvalidOverride(f"unknown priority {priority!r}; known: {PRIORITIES}")
    return WorkflowState(status=Status.OPEN, priority=priority, created_at=created_at)


def apply_transition(state: WorkflowState, target: str | Status, at: datetime) -> WorkflowState:
    """The state after moving to ``target`` at ``at``; raises :class:`InvalidTransition`."""
    wanted = check_transition(state.status, target)
    if wanted is Status.RESOLVED:
        return replace(state, status=wanted, resolved_at=at)
    if is_reopen(state.status, wanted):
        # The SLA clock keeps running from creation: a reopened ticket was not resolved in time
        # if its first resolution did not hold.
        return replace(state, status=wanted, resolved_at=None, reopened=state.reopened + 1)
    return replace(state, status=wanted)


def sla_due_at(created_at: datetime, priority: str, policy: SlaPolicy) -> datetime:
    return created_at + policy.due_in(priority)


def sla_state(state: WorkflowState, now: datetime, policy: SlaPolicy) -> SlaState:
    """Due time from creation and the current priority; breached when the ticket was resolved
    after it, or is still unresolved past it at ``now``."""
    due = sla_due_at(state.created_at, state.priority, policy)
    measured_at = state.resolved_at if state.resolved_at is not None else now
    return SlaState(due_at=due, breached=measured_at > due, remaining=due - measured_at)
