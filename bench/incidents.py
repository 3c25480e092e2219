"""Incident detection measured on BGL (Loghub 2k): the incidents the log stage opens, fed the
way the worker feeds it, scored against BGL's labelled alerts, beside an error-rate baseline.

BGL's first field is an alert label ('-' for a line that is no alert). It is kept from the
stage: the stage sees the service, the time, the level and the message, as a worker does. Alert
lines closer together than ``GAP`` form one alert burst, from its first to its last alert line.
An incident (or a baseline alarm) matches a burst when the window span that opened it overlaps
the burst; precision is the share of incidents that match a burst, recall the share of bursts
that some incident matches, and time to detect runs from a burst's first alert to the end of
the window that opened its first matching incident (the earliest the stage can know).

    python -m bench.incidents
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench.report import write_section
from bench.templates import FORMATS
from opsassist.settings import PROJECT_ROOT, Settings
from opsassist.streams.enrich import compile_log_format
from opsassist.streams.logs import (
    LogLine,
    LogStage,
    LogStageConfig,
    TransitionKind,
    normalize_level,
)

GAP = timedelta(minutes=5)
BATCH = 500  # lines per stage call, as the worker hands it batches
BASELINE_THRESHOLDS = (1, 3, 10)  # error-level lines per window that raise a baseline alarm


@dataclass(frozen=True, slots=True)
class Burst:
    start: datetime
    end: datetime
    alerts: int


@dataclass(frozen=True, slots=True)
class Alarm:
    """A span that a detector flagged: [start, end) of the windows that opened it."""

    start: datetime
    end: datetime


@dataclass(frozen=True, slots=True)
class Score:
    alarms: int
    precision: float | None
    recall: float
    detect_seconds: list[float]


def read_bgl(path: Path) -> tuple[list[LogLine], list[datetime]]:
    """The lines as the stage gets them (label dropped) and the times of the alert lines."""
    log_format = compile_log_format(FORMATS["BGL"])
    lines: list[LogLine] = []
    alerts: list[datetime] = []
    for raw in path.read_text(encoding="utf-8").splitlines():
        fields = log_format.parse(raw.rstrip("\r"))
        if fields is None:
            continue
        at = datetime.fromtimestamp(int(fields["Timestamp"]), UTC)
        lines.append(LogLine("BGL", at, fields["Level"], fields["Content"].strip()))
        if fields["Label"] != "-":
            alerts.append(at)
    return lines, alerts


def bursts(alerts: list[datetime], gap: timedelta = GAP) -> list[Burst]:
    found: list[Burst] = []
    for at in sorted(alerts):
        if found and at - found[-1].end <= gap:
            last = found[-1]
            found[-1] = Burst(last.start, at, last.alerts + 1)
        else:
            found.append(Burst(at, at, 1))
    return found


def stage_alarms(lines: list[LogLine], config: LogStageConfig) -> dict[timedelta, list[Alarm]]:
    """The incidents the stage opens, per window size: the opening window's span."""
    stage = LogStage(config)
    opened: dict[timedelta, list[Alarm]] = {size: [] for size in config.windows}
    results = [stage.process(lines[i : i + BATCH]) for i in range(0, len(lines), BATCH)]
    results.append(stage.flush())
    for result in results:
        for transition in result.transitions:
            if transition.kind is TransitionKind.OPENED:
                size = transition.summary.end - transition.summary.start
                opened[size].append(Alarm(transition.summary.start, transition.summary.end))
    return opened


def baseline_alarms(lines: list[LogLine], size: timedelta, threshold: int) -> list[Alarm]:
    """Windows (aligned to the epoch, like the stage's) with at least ``threshold`` error-level
    lines; adjacent ones form one alarm."""
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    errors: dict[datetime, int] = {}
    for line in lines:
        if normalize_level(line.level) == "ERROR":
            start = epoch + ((line.timestamp - epoch) // size) * size
            errors[start] = errors.get(start, 0) + 1
    alarms: list[Alarm] = []
    for start in sorted(s for s, count in errors.items() if count >= threshold):
        if alarms and alarms[-1].end == start:
            alarms[-1] = Alarm(alarms[-1].start, start + size)
        else:
            alarms.append(Alarm(start, start + size))
    return alarms


def score(alarms: list[Alarm], truth: list[Burst]) -> Score:
    def overlaps(alarm: Alarm, burst: Burst) -> bool:
        return alarm.start <= burst.end and burst.start < alarm.end

    matching = sum(any(overlaps(alarm, burst) for burst in truth) for alarm in alarms)
    detect: list[float] = []
    for burst in truth:
        hits = [alarm for alarm in alarms if overlaps(alarm, burst)]
        if hits:
            first = min(hits, key=lambda alarm: alarm.end)
            detect.append((first.end - burst.start).total_seconds())
    return Score(
        alarms=len(alarms),
        precision=matching / len(alarms) if alarms else None,
        recall=len(detect) / len(truth) if truth else 0.0,
        detect_seconds=detect,
    )


def _row(name: str, found: Score) -> str:
    median = f"{statistics.median(found.detect_seconds):,.0f}" if found.detect_seconds else "-"
    precision = "-" if found.precision is None else f"{found.precision:.3f}"
    return f"| {name} | {found.alarms} | {precision} | {found.recall:.3f} | {median} |"


def main() -> None:
    settings = Settings()
    path = settings.eval_data / "loghub_2k" / "BGL" / "BGL_2k.log"
    if not path.exists():
        raise SystemExit(f"no BGL data at {path}; set OPSASSIST_EVAL_DATA")
    lines, alerts = read_bgl(path)
    truth = bursts(alerts)
    config = LogStageConfig.from_settings(settings)
    opened = stage_alarms(lines, config)
    span = max(line.timestamp for line in lines) - min(line.timestamp for line in lines)
    errors = sum(normalize_level(line.level) == "ERROR" for line in lines)
    rows = [
        "| detector | alarms | precision | recall of bursts | median time to detect (s) |",
        "|---|---|---|---|---|",
    ]
    for size in config.windows:
        seconds = int(size.total_seconds())
        rows.append(
            _row(f"log stage, {seconds} s windows (shipped settings)", score(opened[size], truth))
        )
        for threshold in BASELINE_THRESHOLDS:
            rows.append(
                _row(
                    f"baseline: >= {threshold} error-level lines per {seconds} s window",
                    score(baseline_alarms(lines, size, threshold), truth),
                )
            )
    table = "\n".join(rows)
    print(table)
    body = (
        f"BGL's 2k sample: {len(lines):,} lines over {span.days} days (a sample of the full log, "
        f"so most minutes hold no line at all), {len(alerts)} alert lines forming {len(truth)} "
        f"alert bursts (alert lines at most {int(GAP.total_seconds())} s apart form one burst), "
        f"{errors} lines at an error level (FATAL, ERROR, SEVERE). The alert label is not given "
        f"to the stage; it gets service `BGL`, the time, the level and the message, in batches of "
        f"{BATCH} lines in file order, with the shipped settings (windows "
        f"{', '.join(str(int(s.total_seconds())) for s in config.windows)} s, spike ratio "
        f"{config.spike_ratio}, at least {config.min_errors} errors, {config.min_history} windows "
        "of history). An alarm matches a burst when its opening window overlaps the burst. This "
        "is too small and too sparse a sample to rank detectors: it says whether the detector "
        "fires on alert bursts at all, not how it would do on a continuous log.\n\n" + table
    )
    write_section(
        Path(PROJECT_ROOT / "docs" / "benchmarks.md"),
        "Incident detection: BGL alert bursts",
        body,
        "python -m bench.incidents",
    )


if __name__ == "__main__":
    main()
