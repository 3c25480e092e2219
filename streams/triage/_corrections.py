"""Corrections: a person changing a ticket's category, priority or team, with who and why.

An :class:`Override` is a plain record for the ticket's history; the lead stores it and counts
it. The corrected labels become training examples for the next model.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Literal, get_args

from streams.triage._config import TriageConfig
from streams.triage._model import TrainingExample
from streams.triage._ticket import PRIORITIES, Explanation, Ticket, Triage
from streams.triage.errors import InvalidOverride

OverrideField = Literal["category", "priority", "team"]
OVERRIDE_FIELDS: tuple[str, ...] = get_args(OverrideField)


@dataclass(frozen=True, slots=True)
class Override:
    ticket_id: str
    field: OverrideField
    old_value: str | None
    new_value: str
    by: str
    reason: str
    at: datetime

    def to_dict(self) -> dict[str, str | None]:
        return {
            "ticket_id": self.ticket_id,
            "field": self.field,
            "old_value": self.old_value,
            "new_value": self.new_value,
            "by": self.by,
            "reason": self.reason,
            "at": self.at.isoformat(),
        }


def make_override(
    triage: Triage,
    field: str,
    new_value: str,
    *,
    by: str,
    reason: str,
    at: datetime,
    config: TriageConfig,
) -> Override:
    """A validated correction of ``triage``: the field must exist, the value must be a known
    category or priority, and who and why must be given."""
    if field not in OVERRIDE_FIELDS:
        raise InvalidOverride(f"cannot override {field!r}; fields: {OVERRIDE_FIELDS}")
    if field == "category" and new_value not in config.category_ids:
        raise InvalidOverride(f"unknown category {new_value!r}; known: {config.category_ids}")
    if field == "priority" and new_value not in PRIORITIES:
        raise InvalidOverride(f"unknown priority {new_value!r}; known: {PRIORITIES}")
    if not new_value.strip():
        raise InvalidOverride("the new value is empty")
    if not by.strip() or not reason.strip():
        raise InvalidOverride("a correction needs who made it and why")
    old: str | None = getattr(triage, field)
    return Override(triage.ticket_id, field, old, new_value, by, reason, at)  # type: ignore[arg-type]


def apply_override(triage: Triage, override: Override) -> Triage:
    """The triage as corrected. A category correction also ends abstention and routes to the
    new category's default team unless the team was corrected on its own."""
    note = f"{override.field} set by {override.by}: {override.reason}"
    notes = (*triage.notes, note)
    if override.field == "priority":
        return replace(triage, priority=override.new_value, priority_rule=None, notes=notes)
    if override.field == "team":
        return replace(triage, team=override.new_value, team_rule=None, notes=notes)
    return replace(
        triage,
        category=override.new_value,
        suggested_category=override.new_value,
        confidence=1.0,
        needs_triage=False,
        layer="human",
        explanation=Explanation(summary=note),
        notes=notes,
    )


def override_counts(overrides: Iterable[Override]) -> Counter[str]:
    """How many corrections per field (the override rate's numerator)."""
    return Counter(o.field for o in overrides)


def build_training_set(
    tickets: Mapping[str, Ticket],
    accepted: Mapping[str, str],
    overrides: Iterable[Override],
    field: OverrideField = "category",
) -> list[TrainingExample]:
    """Training examples for ``field``: each ticket's accepted label (e.g. the category of a
    resolved ticket nobody corrected), replaced by its latest correction where one exists.
    Tickets with neither, or unknown to ``tickets``, are left out."""
    labels = dict(accepted)
    for override in sorted((o for o in overrides if o.field == field), key=lambda o: o.at):
        labels[override.ticket_id] = override.new_value
    return [
        TrainingExample(tickets[ticket_id], label)
        for ticket_id, label in sorted(labels.items())
        if ticket_id in tickets
    ]
