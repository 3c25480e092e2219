from datetime import timedelta

import pytest

from opsassist.streams.logs import TemplateMiner, WindowSummarizer, normalize_level

from .records import T0, traffic


def test_a_window_closes_when_a_later_record_arrives_and_counts_levels() -> None:
    miner = TemplateMiner("payments-api")
    summarizer = WindowSummarizer(timedelta(minutes=1))
    assert summarizer.add_many(traffic(miner, 0, ok=8, errors=2)) == []
    closed = summarizer.add_many(traffic(miner, 1, ok=1, errors=0))
    assert len(closed) == 1
    window = closed[0]
    assert (window.start, window.end) == (T0, T0 + timedelta(minutes=1))
    assert (window.total, window.errors) == (10, 2)
    assert window.counts_by_level == {"INFO": 8, "ERROR": 2}
    assert window.error_rate == pytest.approx(0.2)
    assert window.top_templates[0].count == 8
    assert window.top_error_templates[0].errors == 2


def test_examples_pass_through_the_redactor() -> None:
    miner = TemplateMiner("payments-api")
    summarizer = WindowSummarizer(timedelta(minutes=1), redact=lambda text: text.replace("db", "█"))
    summarizer.add_many(traffic(miner, 0, ok=0, errors=3))
    (window,) = summarizer.flush()
    example = window.top_error_templates[0].example
    assert "db" not in example and "█" in example


def test_templates_are_new_only_in_the_window_that_first_saw_them() -> None:
    miner = TemplateMiner("payments-api")
    summarizer = WindowSummarizer(timedelta(minutes=1))
    summarizer.add_many(traffic(miner, 0, ok=5, errors=0))
    first = summarizer.add_many(traffic(miner, 1, ok=5, errors=2))
    (second,) = summarizer.flush()
    assert [t.template for t in first[0].new_templates] == [first[0].top_templates[0].template]
    assert [t.errors for t in second.new_templates] == [2]


def test_the_baseline_is_the_median_of_earlier_windows_including_empty_ones() -> None:
    miner = TemplateMiner("payments-api")
    summarizer = WindowSummarizer(timedelta(minutes=1), min_history=3)
    closed = []
    for minute, errors in [(0, 2), (1, 4), (4, 6)]:  # minutes 2 and 3 are silent
        closed += summarizer.add_many(traffic(miner, minute, ok=5, errors=errors))
    closed += summarizer.add_many(traffic(miner, 5, ok=5, errors=60))
    closed += summarizer.flush()
    # minute 4 sees [2, 4, 0, 0] (median 1), minute 5 also its own 6: [2, 4, 0, 0, 6] (median 2)
    assert [w.baseline_errors for w in closed] == [None, None, 1.0, 2.0]
    assert closed[-1].error_ratio == pytest.approx(30.0)


def test_a_generalized_template_is_folded_into_its_new_id() -> None:
    miner = TemplateMiner("payments-api")
    summarizer = WindowSummarizer(timedelta(minutes=1))
    records = traffic(miner, 0, ok=0, errors=1, error_text="user alice locked out after failures")
    records += traffic(miner, 0, ok=0, errors=1, error_text="user bob locked out after failures")
    summarizer.add_many(records)
    match = miner.add("user carol locked out after failures")
    for change in match.changes:
        summarizer.relabel(change.service, change.old_id, change.new_id, change.new_template)
    (window,) = summarizer.flush()
    assert [(t.template, t.count) for t in window.top_templates] == [
        ("user <*> locked out after failures", 2)
    ]


@pytest.mark.parametrize(
    ("given", "expected"),
    [("err", "ERROR"), ("Fatal", "ERROR"), ("W", "WARNING"), ("notice", "INFO"), (None, "UNKNOWN")],
)
def test_levels_are_normalized(given: str | None, expected: str) -> None:
    assert normalize_level(given) == expected


def test_a_generalized_template_is_not_new_in_later_windows() -> None:
    miner = TemplateMiner("auth")
    summarizer = WindowSummarizer(timedelta(minutes=1))
    texts = ["user alice locked out after failures", "user bob locked out after failures"]
    for text in texts:
        summarizer.add_many(traffic(miner, 0, ok=0, errors=1, error_text=text, service="auth"))
    match = miner.add("user carol locked out after failures")
    for change in match.changes:
        summarizer.relabel(change.service, change.old_id, change.new_id, change.new_template)
    later = traffic(
        miner, 1, ok=0, errors=1, error_text="user dan locked out after failures", service="auth"
    )
    closed = summarizer.add_many(later + traffic(miner, 2, ok=1, errors=0, service="auth"))
    closed += summarizer.flush()
    minute_one = next(w for w in closed if w.start == T0 + timedelta(minutes=1))
    assert minute_one.new_templates == ()


def test_a_restored_history_is_the_baseline_of_the_next_window() -> None:
    miner = TemplateMiner("payments-api")
    summarizer = WindowSummarizer(timedelta(minutes=1), min_history=3, baseline_windows=4)
    summarizer.restore_history("payments-api", [9, 1, 2, 3, 4])  # oldest first; keeps 4
    closed = summarizer.add_many(traffic(miner, 0, ok=5, errors=30)) + summarizer.flush()
    assert [w.baseline_errors for w in closed] == [2.5]  # median of [1, 2, 3, 4]
