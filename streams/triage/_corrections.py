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

from opsassist.streams.triage._config import TriageConfig
from opsassist.streams.triage._model import TrainingExample
from opsassist.streams.triage._ticket import PRIORITIES, Explanation, Ticket, Triage
from opsassist.streams.triage.errors import InvalidOverride

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


def with_human_fields(triage: Triage, owned: Mapping[str, str], config: TriageConfig) -> Triage:
    """``triage`` (a machine's decision) with the fields a person set (``owned``: field ->
    value, for category, priority and team) put back, and what follows from them: a person's
    category ends abstention and routes to that category's team and priority, unless a rule
    (or the person) set those on their own."""
    unknown = set(owned) - set(OVERRIDE_FIELDS)
    if unknown:
        raise InvalidOverride(f"cannot own {sorted(unknown)}; fields: {OVERRIDE_FIELDS}")
    result = triage
    category_id = owned.get("category")
    if category_id is not None:
        # A category since removed from the taxonomy stays as the person set it, unrouted.
        known = category_id in config.category_ids
        default = config.category(category_id) if known else None
        result = replace(
            result,
            category=category_id,
            suggested_category=category_id,
            confidence=1.0,
            needs_triage=False,
            layer="human",
            explanation=Explanation(summary=f"category {category_id} set by a person"),
            priority=result.priority
            if result.priority_rule or default is None
            else default.priority,
            team=result.team if result.team_rule or default is None else default.team,
        )
    if "priority" in owned:
        result = replace(result, priority=owned["priority"], priority_rule=None)
    if "team" in owned:
        result = replace(result, team=owned["team"], team_rule=None)
    return result


@dataclass(frozen=True, slots=True)
class StoredTicket:
    """A stored ticket as training sees it: its text, its current category, whether a person
    corrected that category, and whether it was resolved (or closed)."""

    ticket: Ticket
    category: str | None
    corrected: bool
    resolved: bool


def training_examples_from_tickets(
    stored: Iterable[StoredTicket], config: TriageConfig
) -> tuple[list[TrainingExample], dict[str, int]]:
    """Training examples from stored tickets, and how many came from each origin.

    A ticket's label is, in this order of trust: its category as a person corrected it
    (``corrections``); a source label that names one class of the taxonomy (``labelled``); the
    category of a resolved ticket nobody corrected (``resolved``: accepted by being worked on).
    Other tickets are left out, and so are labels outside the taxonomy."""
    examples: list[TrainingExample] = []
    origins: Counter[str] = Counter()
    for item in stored:
        label: str | None = None
        if item.corrected and item.category in config.category_ids:
            label, origin = item.category, "corrections"
        else:
            named = {config.normalize_label(raw) for raw in item.ticket.labels} - {None}
            if len(named) == 1:
                label, origin = named.pop(), "labelled"
            elif item.resolved and item.category in config.category_ids:
                label, origin = item.category, "resolved"
        if label is not None:
            examples.append(TrainingExample(item.ticket, label))
            origins[origin] += 1
    return examples, {k: origins[k] for k in ("corrections", "labelled", "resolved")}
