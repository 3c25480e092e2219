"""Fields a person set, applied to a machine's triage, and stored tickets as training examples."""

from __future__ import annotations

import pytest

from opsassist.streams.triage import (
    InvalidOverride,
    StoredTicket,
    Ticket,
    Triager,
    load_config,
    training_examples_from_tickets,
    with_human_fields,
)

CONFIG = load_config()
TRIAGER = Triager(CONFIG)


def test_a_persons_category_ends_abstention_and_routes_to_its_team_and_priority() -> None:
    abstained = TRIAGER.triage(Ticket("Something odd with my desk chair"))
    assert abstained.needs_triage and abstained.team == "triage"
    result = with_human_fields(abstained, {"category": "billing"}, CONFIG)
    assert (result.category, result.suggested_category) == ("billing", "billing")
    assert (result.team, result.priority) == ("finance", "P3")
    assert (result.needs_triage, result.layer, result.confidence) == (False, "human", 1.0)


def test_a_priority_rule_still_applies_under_a_persons_category() -> None:
    outage = TRIAGER.triage(Ticket("Production down", "outage for all customers"))
    assert (outage.category, outage.priority, outage.priority_rule) == (
        "incident",
        "P1",
        "outage-or-data-loss",
    )
    result = with_human_fields(outage, {"category": "question"}, CONFIG)
    assert (result.category, result.priority, result.team) == ("question", "P1", "support")


def test_a_persons_priority_and_team_win_over_rules() -> None:
    outage = TRIAGER.triage(Ticket("Production down", "outage"))
    result = with_human_fields(outage, {"priority": "P3", "team": "web"}, CONFIG)
    assert (result.category, result.priority, result.team) == ("incident", "P3", "web")
    assert result.layer == "rule"  # the category is still the rule's


def test_a_category_removed_from_the_taxonomy_stays_as_set() -> None:
    triage = TRIAGER.triage(Ticket("Production down", "outage"))
    result = with_human_fields(triage, {"category": "retired"}, CONFIG)
    assert (result.category, result.team, result.priority) == ("retired", "sre", "P1")


def test_only_triage_fields_can_be_owned() -> None:
    triage = TRIAGER.triage(Ticket("Production down"))
    with pytest.raises(InvalidOverride, match="status"):
        with_human_fields(triage, {"status": "closed"}, CONFIG)


def stored(title: str, category: str | None = None, labels: tuple[str, ...] = (),
           corrected: bool = False, resolved: bool = False) -> StoredTicket:  # fmt: skip
    return StoredTicket(Ticket(title, labels=labels, id=title), category, corrected, resolved)


def test_training_trusts_corrections_then_source_labels_then_resolved_tickets() -> None:
    examples, origins = training_examples_from_tickets(
        [
            stored("corrected", "billing", labels=("bug",), corrected=True),
            stored("labelled", "question", labels=("bug", "x")),
            stored("resolved", "question", resolved=True),
            stored("open, machine category only", "question"),
            stored("two classes in its labels", labels=("bug", "enhancement")),
            stored("resolved, unknown category", "retired", resolved=True),
        ],
        CONFIG,
    )
    assert [(e.ticket.title, e.label) for e in examples] == [
        ("corrected", "billing"),
        ("labelled", "incident"),
        ("resolved", "question"),
    ]
    assert origins == {"corrections": 1, "labelled": 1, "resolved": 1}
