"""``opsassist templates`` and ``opsassist summarize``: the log stages on a file, offline.

The file is read by the worker's own parser (``streams/enrich``), as if its lines had arrived
for the service: an optional header format (``<Date> <Time> <Level> <Component>: <Content>``) is
configured as the service's source; without one, or for a line that does not match it, the
shapes the worker recognises by themselves apply (JSON, logfmt, syslog, access and error logs,
logger lines, logcat) and a line of none of them is all message. So a file's templates and
summary here are the ones the pipeline makes of the same lines.
"""

from __future__ import annotations

import csv
import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
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
    from opsassist.streams.enrich import Enricher, LogFormat
    from opsassist.streams.logs import LogRecord, TemplateMiner, WindowSummary

console = Console(stderr=True)

FormatOption = Annotated[
    str | None,
    typer.Option(
        "--format",
        help="Header format, e.g. '<Date> <Time> <Level> <Component>: <Content>'; "
        "default: the line shapes the worker recognises, else the whole line is the message.",
    ),
]
ServiceOption = Annotated[str | None, typer.Option(help="Service name; default: the file's stem.")]

# The source name the file's lines are enriched under when no service is given.
_FILE_SOURCE = "file"


@dataclass(frozen=True, slots=True)
class Line:
    number: int
    message: str
    level: str
    timestamp: datetime | None


def line_enricher(
    log_format: LogFormat | None,
    time_format: str | None,
    *,
    service: str = _FILE_SOURCE,
    settings: Settings | None = None,
) -> Enricher:
    """The enricher the worker would read ``service``'s lines with: the sources and default
    time zone of ``settings`` (none and UTC without them), and ``log_format`` (with
    ``time_format`` for its time) configured as the service's source when given. Raises
    ``SourceFormatError`` for a time format or configured source the worker would refuse."""
    from opsassist.streams.enrich import Enricher

    sources: dict[str, dict[str, str]] = dict(settings.enrich_sources) if settings else {}
    if log_format is not None:
        sources[service] = {"format": log_format.format}
        if time_format:
            sources[service]["timestamp"] = time_format
    zone = settings.enrich_default_timezone if settings else "UTC"
    return Enricher(sources, default_timezone=zone)


def read_lines(
    path: Path,
    log_format: LogFormat | None,
    time_format: str | None,
    *,
    service: str = _FILE_SOURCE,
    settings: Settings | None = None,
) -> Iterator[Line]:
    """Each line of ``path`` as the worker reads it (``line_enricher``): the same message, level
    (on the worker's scale, '' for none) and UTC time (None when the line has none), so that
    the CLI's templates and summaries are the ones the pipeline stores for the same lines.
    A format the worker would refuse raises ``SourceFormatError`` here, before any line."""
    enricher = line_enricher(log_format, time_format, service=service, settings=settings)
    return _enriched_lines(path, enricher, service)


def _enriched_lines(path: Path, enricher: Enricher, service: str) -> Iterator[Line]:
    reference = datetime.now(UTC)  # one "now" for the file's year-less times, as per batch
    with path.open(encoding="utf-8", errors="replace") as handle:
        for number, raw in enumerate(handle, start=1):
            log = enricher.enrich_line(raw, source=service, reference=reference)
            level = log.level.value if log.level is not None else ""
            yield Line(number, log.message, level, log.timestamp)


def read_messages(
    path: Path,
    log_format: LogFormat | None,
    *,
    service: str = _FILE_SOURCE,
    settings: Settings | None = None,
) -> Iterator[str]:
    """The messages of ``read_lines`` alone, which is all template mining needs: the worker's
    split of each line without reading its time and level (a third of the cost per line)."""
    enricher = line_enricher(log_format, None, service=service, settings=settings)
    return _messages(path, enricher, service)


def _messages(path: Path, enricher: Enricher, service: str) -> Iterator[str]:
    with path.open(encoding="utf-8", errors="replace") as handle:
        for raw in handle:
            yield enricher.parse(raw, service).message


@contextmanager
def _format_refusal_exits() -> Iterator[None]:
    """A format the worker would refuse ends the command with its reason and exit code 2."""
    from opsassist.streams.enrich import SourceFormatError

    try:
        yield
    except SourceFormatError as exc:
        console.print(f"[red]error:[/] {exc}")
        raise typer.Exit(2) from None


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
    settings = get_settings()
    name = service or file.stem
    with _format_refusal_exits():
        messages = read_messages(file, _compile(log_format), service=name, settings=settings)
    miner = make_miner(settings, name)
    with progress_bar("mining templates: lines", lambda: _count_lines(file)) as advance:
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
        typer.Option(
            help="Layout of the --format's time fields joined by spaces (%Y %y %m %d %e %b %a "
            "%H %M %S %f %z), if not ISO 8601, an epoch or a common layout."
        ),
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
    with _format_refusal_exits():
        read = read_lines(file, _compile(log_format), time_format, service=name, settings=settings)
    lines = [line for line in read if line.message.strip()]
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
    from opsassist.streams.logs import describe_duration as describe_window_length

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
