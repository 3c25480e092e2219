"""The incident lifecycle's pure rules (api/workflow/incidents.py): which action from which
status, what each one sets, and the requests refused before any row is read."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from opsassist.api.workflow.incidents import (
    Action,
    IncidentChange,
    InvalidChange,
    InvalidTransition,
    next_state,
    request_problem,
)
from opsassist.store.incidents import IncidentState

NOW = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)


def _state(status: str, **overrides: object) -> IncidentState:
    fields: dict[str, object] = {
        "id": 7, "version": 3, "status": status, "severity": "major", "service": "payments-api",
        "assignee": None, "acknowledged_at": None, "acknowledged_by": None, "resolved_at": None,
        "resolved_by": None, "reopened_count": 0, "ticket_ids": (), "notes": (), "now": NOW,
    }  # fmt: skip
    fields.update(overrides)
    return IncidentState(**fields)  # type: ignore[arg-type]


def _change(action: Action, **details: object) -> IncidentChange:
    return IncidentChange(7, action, 3, "key", "user:olivia", **details)  # type: ignore[arg-type]


def test_acknowledging_records_who_and_when() -> None:
    after = next_state(_state("open"), _change(Action.ACKNOWLEDGE), "user:olivia")
    assert isinstance(after, IncidentState)
    assert (after.status, after.acknowledged_by, after.acknowledged_at) == (
        "acknowledged",
        "user:olivia",
        NOW,
    )


@pytest.mark.parametrize(
    ("status", "action"),
    [
        ("acknowledged", Action.ACKNOWLEDGE),
        ("resolved", Action.ACKNOWLEDGE),
        ("resolved", Action.RESOLVE),
        ("open", Action.REOPEN),
        ("acknowledged", Action.REOPEN),
    ],
)
def test_an_action_the_status_does_not_allow_says_what_is_allowed(
    status: str, action: Action
) -> None:
    refused = next_state(_state(status), _change(action, reason="why"), "user:olivia")
    assert isinstance(refused, InvalidTransition)
    assert refused.current == status
    assert action.value not in refused.allowed
    assert refused.allowed  # assign, note and link are always possible


def test_reopening_unacknowledges_and_counts_but_keeps_the_owner() -> None:
    resolved = _state(
        "resolved", assignee="oscar", acknowledged_by="user:olivia", acknowledged_at=NOW,
        resolved_by="user:olivia", resolved_at=NOW,
    )  # fmt: skip
    after = next_state(resolved, _change(Action.REOPEN, reason="back"), "user:olivia")
    assert isinstance(after, IncidentState)
    assert (after.status, after.reopened_count, after.assignee) == ("open", 1, "oscar")
    assert after.acknowledged_by is after.resolved_by is after.resolved_at is None


def test_assigning_to_the_current_assignee_or_linking_twice_is_refused() -> None:
    state = _state("open", assignee="oscar", ticket_ids=(42,))
    again = next_state(state, _change(Action.ASSIGN, assignee="oscar"), "user:olivia")
    twice = next_state(state, _change(Action.LINK_TICKET, ticket_id=42), "user:olivia")
    assert isinstance(again, InvalidChange)
    assert isinstance(twice, InvalidChange)
    assert twice.field == "ticketId"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (IncidentChange(7, Action.RESOLVE, 3, "k", "olivia"), "reason"),
        (IncidentChange(7, Action.REOPEN, 3, "k", "olivia", reason="  "), "reason"),
        (IncidentChange(7, Action.ASSIGN, 3, "k", "olivia"), "assignee"),
        (IncidentChange(7, Action.NOTE, 3, "k", "olivia"), "text"),
        (IncidentChange(7, Action.LINK_TICKET, 3, "k", "olivia"), "ticketId"),
        (IncidentChange(7, Action.ACKNOWLEDGE, 3, "k", "agent:logs"), None),
    ],
)
def test_requests_missing_what_they_need_are_refused_before_any_read(
    change: IncidentChange, field: str | None
) -> None:
    problem = request_problem(change)
    assert problem is not None
    assert problem.field == field
    assert request_problem(IncidentChange(7, Action.ACKNOWLEDGE, 3, "k", "olivia")) is None
