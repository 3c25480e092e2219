"""The benchmark's scoring code (bench/incidents.py, bench/template_loso.py) on hand-made input:
the figures mean what the docs say they mean."""

from datetime import UTC, datetime, timedelta

from bench.incidents import Alarm, baseline_alarms, bursts, score
from bench.template_loso import Scores, leave_one_out
from opsassist.streams.logs import LogLine

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def at(seconds: int) -> datetime:
    return T0 + timedelta(seconds=seconds)


def test_alert_lines_closer_than_the_gap_form_one_burst() -> None:
    found = bursts([at(0), at(200), at(400), at(1000)], gap=timedelta(seconds=300))
    assert [(b.start, b.end, b.alerts) for b in found] == [
        (at(0), at(400), 3),
        (at(1000), at(1000), 1),
    ]


def test_precision_recall_and_time_to_detect_follow_the_overlap_of_alarm_and_burst() -> None:
    truth = bursts([at(30), at(90), at(1000)], gap=timedelta(seconds=300))
    alarms = [Alarm(at(60), at(120)), Alarm(at(0), at(60)), Alarm(at(5000), at(5060))]
    found = score(alarms, truth)
    assert found.alarms == 3
    assert found.precision == 2 / 3
    assert found.recall == 1 / 2
    assert found.detect_seconds == [30.0]  # the earliest-ending matching alarm, from 30 s


def test_the_baseline_alarms_on_windows_with_enough_error_lines_and_joins_adjacent_ones() -> None:
    lines = [
        LogLine("s", at(seconds), level, "m")
        for seconds, level in [
            (0, "FATAL"),
            (10, "ERROR"),
            (70, "SEVERE"),
            (75, "ERROR"),
            (200, "INFO"),
            (300, "ERROR"),
        ]
    ]
    minute = timedelta(minutes=1)
    assert baseline_alarms(lines, minute, 2) == [Alarm(at(0), at(120))]
    assert baseline_alarms(lines, minute, 1) == [Alarm(at(0), at(120)), Alarm(at(300), at(360))]


def test_leave_one_out_selects_on_the_other_systems_only() -> None:
    def ga(value: float) -> Scores:
        return Scores(ga=value, ga_corrected=value, pa=None)

    # "fit" is best on A alone, "general" on B and C: A's selection must not see A.
    table = {
        "general": {"A": ga(0.5), "B": ga(0.9), "C": ga(0.9)},
        "fit": {"A": ga(1.0), "B": ga(0.8), "C": ga(0.8)},
    }
    held = {result.system: result for result in leave_one_out(table, ["A", "B", "C"])}
    assert held["A"].selected == "general"
    assert held["A"].scores.ga == 0.5
    assert held["B"].selected == "fit"  # on A and C: fit 0.9 against general 0.7
    assert held["B"].selected_mean_ga == 0.9
