from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from opsassist.streams.triage import (
    InvalidOverride,
    ModelSpec,
    Ticket,
    Triager,
    apply_override,
    build_training_set,
    load_config,
    make_override,
    override_counts,
    train_model,
)
from tests.unit.triage.examples import EXAMPLES

T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
CONFIG = load_config()
ABSTAINED = Triager(CONFIG).triage(Ticket("Something odd with my desk chair", id="T-9"))


def test_a_correction_records_who_why_and_the_old_value() -> None:
    override = make_override(
        ABSTAINED,
        "category",
        "hr",
        by="alice",
        reason="ergonomics is HR here",
        at=T0,
        config=CONFIG,
    )
    assert override.to_dict() == {
        "ticket_id": "T-9",
        "field": "category",
        "old_value": None,
        "new_value": "hr",
        "by": "alice",
        "reason": "ergonomics is HR here",
        "at": T0.isoformat(),
    }


def test_a_category_correction_ends_abstention_and_reroutes() -> None:
    override = make_override(
        ABSTAINED, "category", "hr", by="alice", reason="ergonomics", at=T0, config=CONFIG
    )
    corrected = apply_override(ABSTAINED, override)
    assert (corrected.category, corrected.layer, corrected.needs_triage) == ("hr", "human", False)
    assert corrected.notes == ("category set by alice: ergonomics",)
    priority = make_override(
        corrected, "priority", "P1", by="bob", reason="VIP", at=T0, config=CONFIG
    )
    assert apply_override(corrected, priority).priority == "P1"
    assert priority.old_value == corrected.priority


@pytest.mark.parametrize(
    ("field", "value", "by", "reason", "message"),
    [
        ("status", "closed", "a", "b", "cannot override"),
        ("category", "astrology", "a", "b", "unknown category"),
        ("priority", "P0", "a", "b", "unknown priority"),
        ("team", "ops", "", "b", "who made it and why"),
        ("team", "ops", "a", " ", "who made it and why"),
    ],
)
def test_invalid_corrections_are_refused(
    field: str, value: str, by: str, reason: str, message: str
) -> None:
    with pytest.raises(InvalidOverride, match=message):
        make_override(ABSTAINED, field, value, by=by, reason=reason, at=T0, config=CONFIG)


def test_corrections_are_counted_per_field() -> None:
    overrides = [
        make_override(ABSTAINED, f, v, by="a", reason="r", at=T0, config=CONFIG)
        for f, v in (("category", "hr"), ("category", "billing"), ("team", "x"))
    ]
    assert override_counts(overrides) == {"category": 2, "team": 1}


def test_the_latest_correction_reaches_the_next_training_set() -> None:
    tickets = {e.ticket.id: e.ticket for e in EXAMPLES}
    tickets["T-9"] = ABSTAINED_TICKET = Ticket("Something odd with my desk chair", id="T-9")
    accepted = {e.ticket.id: e.label for e in EXAMPLES}
    first = make_override(
        ABSTAINED, "category", "billing", by="a", reason="r", at=T0, config=CONFIG
    )
    later = make_override(
        ABSTAINED, "category", "hr", by="b", reason="r", at=T0 + timedelta(hours=1), config=CONFIG
    )
    relabel = make_override(
        Triager(CONFIG).triage(EXAMPLES[0].ticket),
        "category",
        "question",
        by="c",
        reason="it was a question",
        at=T0,
        config=CONFIG,
    )
    examples = build_training_set(tickets, accepted, [later, first, relabel])
    labels = {e.ticket.id: e.label for e in examples}
    assert labels["T-9"] == "hr"
    assert labels[EXAMPLES[0].ticket.id] == "question"
    assert len(examples) == len(EXAMPLES) + 1
    model = train_model(examples, ModelSpec(c_grid=(4.0,)))
    assert "hr" in model.classes
    assert model.meta["class_counts"]["hr"] == 1
    assert ABSTAINED_TICKET in [e.ticket for e in examples]
