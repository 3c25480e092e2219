from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from opsassist.streams.triage import (
    InvalidTransition,
    Status,
    UnknownStatus,
    allowed_transitions,
    apply_transition,
    check_transition,
    load_config,
    new_workflow,
    sla_state,
)

T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
SLA = load_config().sla


def test_the_happy_path_runs_open_to_closed() -> None:
    state = new_workflow("P3", T0)
    for status in ("triaged", "in_progress", "resolved", "closed"):
        state = apply_transition(state, status, T0 + timedelta(hours=1))
    assert state.status is Status.CLOSED
    assert state.resolved_at == T0 + timedelta(hours=1)


def test_an_invalid_transition_says_what_is_allowed() -> None:
    with pytest.raises(InvalidTransition) as caught:
        check_transition("open", "resolved")
    assert caught.value.current == "open"
    assert caught.value.requested == "resolved"
    assert caught.value.allowed == ("triaged",)
    assert "allowed: triaged" in str(caught.value)


def test_closed_can_only_be_reopened() -> None:
    assert allowed_transitions("closed") == {Status.TRIAGED}
    with pytest.raises(InvalidTransition, match="allowed: triaged"):
        check_transition(Status.CLOSED, Status.IN_PROGRESS)


def test_reopen_clears_the_resolution_and_counts() -> None:
    state = new_workflow("P2", T0)
    for status in ("triaged", "in_progress", "resolved"):
        state = apply_transition(state, status, T0)
    reopened = apply_transition(state, "triaged", T0 + timedelta(hours=2))
    assert reopened.status is Status.TRIAGED
    assert reopened.resolved_at is None
    assert reopened.reopened == 1


def test_unknown_status_is_a_typed_error() -> None:
    with pytest.raises(UnknownStatus, match="known: open"):
        check_transition("open", "done")


def test_sla_due_time_follows_priority_and_breaches_after_it() -> None:
    p1 = new_workflow("P1", T0)
    due = T0 + SLA.due_in("P1")
    before, after = (
        sla_state(p1, due - timedelta(minutes=1), SLA),
        sla_state(p1, due + timedelta(minutes=1), SLA),
    )
    assert before.due_at == due
    assert not before.breached
    assert after.breached
    assert after.remaining < timedelta(0)
    p4 = new_workflow("P4", T0)
    assert sla_state(p4, due + timedelta(minutes=1), SLA).due_at > due


def test_a_ticket_resolved_in_time_stays_unbreached_later() -> None:
    state = new_workflow("P1", T0)
    for status in ("triaged", "in_progress"):
        state = apply_transition(state, status, T0)
    resolved = apply_transition(state, "resolved", T0 + timedelta(minutes=30))
    assert not sla_state(resolved, T0 + timedelta(days=30), SLA).breached
    reopened = apply_transition(resolved, "triaged", T0 + timedelta(days=30))
    assert sla_state(reopened, T0 + timedelta(days=30), SLA).breached


def test_every_pair_outside_the_table_is_refused() -> None:
    for current in Status:
        for target in Status:
            if target in allowed_transitions(current):
                assert check_transition(current, target) is target
            else:
                with pytest.raises(InvalidTransition):
                    check_transition(current, target)
