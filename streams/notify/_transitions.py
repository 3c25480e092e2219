"""Which change of an incident notifies: its status moving, read from the history's full rows
before and after (``incident_changes.state``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

#: The transitions that notify, in lifecycle order.
TRANSITIONS = ("opened", "acknowledged", "resolved", "reopened")


def transition_of(before: Mapping[str, Any] | None, after: Mapping[str, Any]) -> str | None:
    """The transition from ``before`` (None: the incident is new) to ``after``, or None when the
    change is not one people are told about (a spike that updates counts, a note, an assignee)."""
    status = after.get("status")
    if before is None:
        return "resolved" if status == "resolved" else "opened"
    previous = before.get("status")
    if previous == status:
        return None
    if status == "resolved":
        return "resolved"
    if previous == "resolved":
        return "reopened"
    if status == "acknowledged":
        return "acknowledged"
    return None  # acknowledged -> open is not a lifecycle step people take
