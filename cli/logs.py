"""``opsassist templates`` and ``opsassist summarize``: the log stages on a file, offline.

The file is read as a user would configure a source: an optional header format
(``<Date> <Time> <Level> <Component>: <Content>``) splits each line into fields; the message is
``<Content>`` (the whole line without a format or when a line does not match it), the level is
``<Level>``, the time ``<Date> <Time>`` or ``<Timestamp>``.
"""

from __future__ import annotations

import csv
import re
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, TextIO

import typer
from rich.console import Console
from rich.table import Table

from opsassist.cli.progress import counted, progress_bar

# The settings and the log stages load inside the commands: the CLI starts without them
# (docs/decisions/0003-cli-startup.md).
if TYPE_CHECKING:
    from opsassist.settings import Settings
    from opsassist.streams.enrich import LogFormat
    from opsassist.streams.logs import LogRecord, TemplateMiner, WindowSummary

console = Console(stderr=True)

FormatOption = Annotated[
    str | None,
    typer.Option(
        "--format",
        help="Header format, e.g. '<Date> <Time> <Level> <Component>: <Content>'; "
        "default: every line is a message.",
    ),
]
ServiceOption = Annotated[str | None, typer.Option(help="Service name; default: the file's stem.")]

# Without a <Level> field, an upper-case level word in the line is taken as its level.
_LEVEL_WORD = re.compile(r"\b(FATAL|CRITICAL|ERROR|WARNING|WARN|INFO|DEBUG|TRACE)\b")
_TIME_FIELDS = frozenset({"Year", "Month", "Date", "Day", "Time"})
# Timestamp layouts common to many systems, tried in order after ISO 8601.
_TIME_LAYOUTS = (
    "%b %d %H:%M:%S",  # syslog (RFC 3164), no year
    "%a %b %d %H:%M:%S %Y",  # ctime
    "%d/%b/%Y:%H:%M:%S %z",  # common log format
    "%Y/%m/%d %H:%M:%S",
)


@dataclass(frozen=True, slots=True)
class Line:
    number: int
    message: str
    level: str
    timestamp: datetime | None


def read_lines(path: Path, log_format: LogFormat | None, time_format: str | None) -> Iterator[Line]:
    with path.open(encoding="utf-8", errors="replace") as handle:
        for number, raw in enumerate(handle, start=1):
            text = raw.rstrip("\r\n")
            fields = log_format.parse(text) if log_format else None
            if fields is None:
                found = _LEVEL_WORD.search(text)
                yield Line(number, text.strip(), found.group(1) if found else "", None)
                continue
            yield Line(
                number,
                fields.get("Content", text).strip(),
                fields.get("Level", ""),
                parse_timestamp(fields, time_format),
            )


def parse_timestamp(fields: dict[str, str], time_format: str | None) -> datetime | None:
    """The line's time from its header fields (``<Timestamp>``, or the date and time fields in
    the order the format names them), or None if no layout understands it."""
    text = fields.get("Timestamp") or " ".join(
        fields[name] for name in fields if name in _TIME_FIELDS
    )
    text = text.strip()
    if not text:
        return None
    layouts = (time_format,) if time_format else _TIME_LAYOUTS
    if not time_format:
        try:
            return datetime.fromisoformat(text.replace(",", "."))
        except ValueError:
            pass
    for layout in layouts:
        try:
            return datetime.strptime(text, layout)
        except ValueError:
            continue
    return None


def make_miner(settings: Settings, service: str) -> TemplateMiner:
    from opsassist.streams.logs import LogStageConfig, TemplateMiner

    config = LogStageConfig.from_settings(settings)
    return TemplateMiner(
        service,
        similarity=config.similarity,
        variants=config.variants,
        max_templates=config.max_templates,
    )


def _compile(fmt: str | None) -> LogFormat | None:
    if fmt is None:
        return None
    from opsassist.streams.enrich import compile_log_format

    try:
        return compile_log_format(fmt)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--format") from None


def _count_lines(path: Path) -> int:
    """Lines as ``read_lines`` splits them (universal newlines), for the progress bar's total."""
    with path.open(encoding="utf-8", errors="replace") as handle:
        return sum(1 for _ in handle)


def _existing(path: Path) -> Path:
    if not path.is_file():
        raise typer.BadParameter(f"{path} does not exist or is not a file")
    return path


def templates(
    file: Annotated[Path, typer.Argument(help="A log file, one line per record.")],
    log_format: FormatOption = None,
    service: ServiceOption = None,
    out: Annotated[
        Path | None, typer.Option("--out", help="CSV to write; default: standard output.")
    ] = None,
) -> None:
    """Mine FILE's templates; write LineId,EventId,EventTemplate per line (the log-parsing
    benchmark format), ids and templates as they stand at the end of the file."""
    from opsassist.settings import get_settings

    _existing(file)
    miner = make_miner(get_settings(), service or file.stem)
    with progress_bar("mining templates: lines", lambda: _count_lines(file)) as advance:
        messages = (line.message for line in read_lines(file, _compile(log_format), None))
        labels = mine_labels(miner, counted(messages, advance))
    handle: TextIO = out.open("w", newline="", encoding="utf-8") if out else sys.stdout
    try:
        writer = csv.writer(handle)
        writer.writerow(["LineId", "EventId", "EventTemplate"])
        for number, (label, template) in enumerate(labels, start=1):
            writer.writerow([number, label, template])
    finally:
        if out:
            handle.close()
    console.print(f"{len(labels):,} lines, {len(miner):,} templates" + (f" → {out}" if out else ""))


def summarize(
    file: Annotated[Path, typer.Argument(help="A log file, one line per record.")],
    log_format: FormatOption = None,
    service: ServiceOption = None,
    window: Annotated[
        int | None,
        typer.Option(help="Window in seconds for incidents; default: the first configured."),
    ] = None,
    time_format: Annotated[
        str | None,
        typer.Option(help="strptime layout of <Date> <Time> (or <Timestamp>) if not ISO 8601."),
    ] = None,
) -> None:
    """Print what a user would see for FILE: the summary of the whole file, its top templates,
    the window with most errors, and the incidents its windows open and resolve."""
    from opsassist.settings import get_settings
    from opsassist.streams.logs import LogRecord

    _existing(file)
    settings = get_settings()
    name = service or file.stem
    miner = make_miner(settings, name)
    # blank lines say nothing to a reader
    lines = [line for line in read_lines(file, _compile(log_format), time_format) if line.message]
    with progress_bar("mining templates: lines", len(lines)) as advance:
        labels = mine_labels(miner, counted((line.message for line in lines), advance))
    records = [
        LogRecord(
            service=name,
            timestamp=line.timestamp or _NO_TIME,
            level=line.level,
            template_id=label,
            template=template,
            message=line.message,
        )
        for line, (label, template) in zip(lines, labels, strict=True)
    ]
    untimed = sum(1 for line in lines if line.timestamp is None)
    seconds = window or settings.logs_window_seconds[0]
    _print_summary(settings, name, records, untimed, timedelta(seconds=seconds))


_NO_TIME = datetime(1970, 1, 1, tzinfo=UTC)


def _print_summary(
    settings: Settings,
    name: str,
    records: list[LogRecord],
    untimed: int,
    window: timedelta,
) -> None:
    from opsassist.streams.logs import WindowSummarizer, describe_window

    # Templates hold brackets (no markup); a pipe or file gets wide lines rather than 80 columns.
    out = Console(highlight=False, markup=False, width=None if sys.stdout.isatty() else 200)
    summarizer = WindowSummarizer(window, top=settings.logs_top_templates)
    # The span's length is only told when every line has a time.
    timeless = [replace(r, timestamp=_NO_TIME) for r in records] if untimed else records
    whole = summarizer.summarize_span(name, timeless)
    out.print(describe_window(whole), style="bold")
    levels = ", ".join(f"{level} {count:,}" for level, count in whole.counts_by_level.items())
    distinct = len({r.template_id for r in records})
    out.print(f"{whole.total:,} lines, {distinct:,} templates; {levels}")
    table = Table("count", "errors", "id", "template", "example", show_lines=False)
    for template in whole.top_templates:
        table.add_row(
            f"{template.count:,}",
            f"{template.errors:,}",
            template.template_id,
            template.template,
            template.example,
        )
    out.print(table)
    if untimed == len(records):
        out.print(
            "No timestamps understood, so no windows or incidents: give --format with <Date> "
            "<Time> or <Timestamp>, and --time-format if they are not ISO 8601."
        )
        return
    if untimed:
        out.print(f"{untimed:,} lines without an understood timestamp are left out of windows.")
    _print_incidents(settings, out, [r for r in records if r.timestamp != _NO_TIME], window)


def _print_incidents(
    settings: Settings, out: Console, records: list[LogRecord], window: timedelta
) -> None:
    from opsassist.streams.logs import (
        IncidentDetector,
        LogStageConfig,
        WindowSummarizer,
        describe_transition,
        describe_window,
    )
    from opsassist.streams.logs.narrative import describe_duration as describe_window_length

    config = LogStageConfig.from_settings(settings)
    summarizer = WindowSummarizer(
        window,
        top=config.top_templates,
        baseline_windows=config.baseline_windows,
        min_history=config.min_history,
    )
    detector = IncidentDetector(
        spike_ratio=config.spike_ratio,
        critical_ratio=config.critical_ratio,
        min_errors=config.min_errors,
        new_error_templates=config.new_error_templates,
        quiet_windows=config.quiet_windows,
    )
    summaries: list[WindowSummary] = summarizer.add_many(records) + summarizer.flush()
    transitions = [t for summary in summaries for t in detector.observe(summary)]
    busiest = max(summaries, key=lambda s: (s.errors, s.total), default=None)
    out.print(f"\n{len(summaries):,} windows of {describe_window_length(window)}.")
    if busiest is not None and busiest.errors:
        out.print(f"Most errors, {busiest.start:%Y-%m-%d %H:%M}: {describe_window(busiest)}")
    if not transitions:
        out.print("No incidents.")
    for transition in transitions:
        out.print(describe_transition(transition))
    for incident in detector.open_incidents():
        out.print(f"{incident.service}: incident {incident.id} still open at the end of the file.")


def mine_labels(miner: TemplateMiner, messages: Iterable[str]) -> list[tuple[str, str]]:
    """Each message's template id and text as they stand after the last message: every
    generalization re-labels the lines mined before it, as the pipeline re-labels stored rows."""
    labels: list[tuple[str, str]] = []
    lines_of: dict[str, list[int]] = {}
    for message in messages:
        match = miner.add(message)
        for change in match.changes:
            moved = lines_of.pop(change.old_id, [])
            for index in moved:
                labels[index] = (change.new_id, change.new_template)
            lines_of.setdefault(change.new_id, []).extend(moved)
        lines_of.setdefault(match.template_id, []).append(len(labels))
        labels.append((match.template_id, match.template))
    return labels
