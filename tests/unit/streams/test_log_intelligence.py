"""The pure parts of the worker's log intelligence: which templates a batch stores, in which
least-recently-used order, and how a batch's chains of generalizations are followed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from opsassist.streams.agents.logs import batch_templates, collapse_changes
from opsassist.streams.logs import IdChange, LogLine, LogStage

T0 = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)


def line(second: int, message: str, service: str = "payments-api") -> LogLine:
    return LogLine(service, T0 + timedelta(seconds=second), "INFO", message)


def test_a_batch_stores_its_templates_with_bounds_counts_and_lru_marks() -> None:
    stage = LogStage()
    first = stage.process([line(0, "cache warm"), line(1, "disk full"), line(2, "cache warm")])
    stored, marks = batch_templates(stage, {}, first)
    by_text = {t.template: t for t in stored}
    assert by_text["cache warm"].line_count == 2
    assert (by_text["cache warm"].first_seen, by_text["cache warm"].last_seen) == (
        T0,
        T0 + timedelta(seconds=2),
    )
    # "cache warm" was used last, so it is the most recent: the higher mark
    assert (by_text["disk full"].last_used, by_text["cache warm"].last_used) == (1, 2)
    assert marks == {"payments-api": 2}

    second = stage.process([line(3, "disk full"), line(4, "queue idle", service="billing")])
    stored, marks = batch_templates(stage, marks, second)
    assert {(t.service, t.template, t.last_used, t.line_count) for t in stored} == {
        ("payments-api", "disk full", 3, 2),
        ("billing", "queue idle", 1, 1),
    }
    assert marks == {"payments-api": 3, "billing": 1}


def test_stored_marks_restore_the_miners_lru_order() -> None:
    stage = LogStage()
    marks: dict[str, int] = {}
    order: dict[str, int] = {}
    for batch in (["a one", "b two", "c three"], ["a one"], ["d four", "b two"]):
        result = stage.process([line(i, message) for i, message in enumerate(batch)])
        stored, new_marks = batch_templates(stage, marks, result)
        marks.update(new_marks)
        order.update({t.template: t.last_used for t in stored})
    by_mark = sorted(order, key=order.__getitem__)
    assert by_mark == [t.template for t in stage.miner("payments-api").templates()]


def test_chains_of_generalizations_end_in_the_last_template() -> None:
    a_b = IdChange("svc", "a", "b", "B")
    b_c = IdChange("svc", "b", "c", "C")
    other = IdChange("other", "x", "y", "Y")
    assert collapse_changes([a_b, other, b_c]) == [
        IdChange("svc", "a", "c", "C"),
        other,
        b_c,
    ]
    assert collapse_changes([]) == []
