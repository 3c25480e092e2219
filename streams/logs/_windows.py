"""Windowed summaries of a service's log lines: tumbling windows in event time, per service, with
counts by level, the top templates (with a redacted example line each), the templates first
seen in the window, and the error count against the service's own baseline.

Plain code: the log agent (or the CLI) feeds records in and gets closed windows back; Faust's
tables are the lead's to wire around it.
"""

from __future__ import annotations

import statistics
from collections import Counter, OrderedDict, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from functools import lru_cache

Redactor = Callable[[str], str]

_ERROR_LEVELS = frozenset(
    {"ERROR", "ERR", "E", "FATAL", "F", "CRITICAL", "CRIT", "SEVERE", "ALERT", "EMERG", "PANIC"}
)
_WARNING_LEVELS = frozenset({"WARN", "WARNING", "W"})
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def no_redaction(text: str) -> str:
    """The default redactor: the text as it is (the privacy stage supplies the real one)."""
    return text


@lru_cache(maxsize=1024)
def normalize_level(level: str | None) -> str:
    """A level as summaries count it: ERROR, WARNING, INFO, DEBUG or the upper-cased original."""
    if not level:
        return "UNKNOWN"
    upper = level.strip().upper()
    if upper in _ERROR_LEVELS:
        return "ERROR"
    if upper in _WARNING_LEVELS:
        return "WARNING"
    if upper in {"INFO", "I", "NOTICE", "INFORMATION"}:
        return "INFO"
    if upper in {"DEBUG", "D", "TRACE", "T", "VERBOSE", "V", "FINE", "FINER", "FINEST"}:
        return "DEBUG"
    return upper


@dataclass(frozen=True, slots=True)
class LogRecord:
    """One mined line as summaries need it; ``message`` is only ever kept redacted."""

    service: str
    timestamp: datetime
    level: str
    template_id: str
    template: str
    message: str
    new_template: bool = False

    @property
    def is_error(self) -> bool:
        return normalize_level(self.level) == "ERROR"


@dataclass(frozen=True, slots=True)
class TemplateCount:
    """One template's share of a window."""

    template_id: str
    template: str
    count: int
    errors: int
    example: str  # redacted
    first_seen: datetime


@dataclass(frozen=True, slots=True)
class WindowSummary:
    """A closed window of one service. ``baseline_errors`` is the median error count of the
    service's previous windows (None until ``min_history`` of them were seen)."""

    service: str
    start: datetime
    end: datetime
    total: int
    errors: int
    counts_by_level: dict[str, int]
    top_templates: tuple[TemplateCount, ...]
    top_error_templates: tuple[TemplateCount, ...]
    new_templates: tuple[TemplateCount, ...]
    baseline_errors: float | None

    @property
    def duration(self) -> timedelta:
        return self.end - self.start

    @property
    def error_rate(self) -> float:
        return self.errors / self.total if self.total else 0.0

    @property
    def error_ratio(self) -> float | None:
        """Errors against the baseline; a baseline under one error a window counts as one."""
        if self.baseline_errors is None:
            return None
        return self.errors / max(self.baseline_errors, 1.0)


@dataclass(slots=True)
class _TemplateTally:
    template: str
    count: int = 0
    errors: int = 0
    example: str = ""
    first_seen: datetime = _EPOCH


@dataclass(slots=True)
class _OpenWindow:
    start: datetime
    end: datetime
    levels: Counter[str] = field(default_factory=Counter)
    templates: dict[str, _TemplateTally] = field(default_factory=dict)
    new_ids: list[str] = field(default_factory=list)
    total: int = 0
    errors: int = 0


class WindowSummarizer:
    """Tumbling windows of ``window`` length, aligned to the epoch, one open window per service.

    A record later than its service's open window closes it (and any empty windows between
    count as windows without errors for the baseline). A record earlier than the open window is
    counted in it: windows close on the next record, so a late line lands in the window open
    when it arrives. ``redact`` is applied to the one example line kept per template.
    """

    def __init__(
        self,
        window: timedelta = timedelta(minutes=1),
        *,
        top: int = 5,
        redact: Redactor = no_redaction,
        baseline_windows: int = 60,
        min_history: int = 5,
        max_first_seen: int = 100_000,
    ) -> None:
        if window <= timedelta(0):
            raise ValueError(f"window must be positive, not {window}")
        self.window = window
        self.top = top
        self.redact = redact
        self.baseline_windows = baseline_windows
        self.min_history = min_history
        self.max_first_seen = max_first_seen
        self._open: dict[str, _OpenWindow] = {}
        self._history: dict[str, deque[int]] = {}
        self._first_seen: OrderedDict[tuple[str, str], datetime] = OrderedDict()

    def add(self, record: LogRecord) -> list[WindowSummary]:
        """Count ``record``; return the windows it closed (oldest first). A timestamp without a
        time zone is taken as UTC."""
        record = _aware(record)
        current = self._open.get(record.service)
        # Most records fall in their service's open window (or before it: a late line, counted
        # there); only a later one needs its window computed (a tenth of the cost of a line).
        if current is not None and record.timestamp < current.end:
            self._count(current, record)
            return []
        start = self._window_start(record.timestamp)
        closed: list[WindowSummary] = []
        if current is not None and start > current.start:
            closed.append(self._close(record.service, current))
            self._count_empty_windows(record.service, current.start, start)
            current = None
        if current is None:
            current = _OpenWindow(start, start + self.window)
            self._open[record.service] = current
        self._count(current, record)
        return closed

    def add_many(self, records: Iterable[LogRecord]) -> list[WindowSummary]:
        closed: list[WindowSummary] = []
        for record in records:
            closed.extend(self.add(record))
        return closed

    def relabel(self, service: str, old_id: str, new_id: str, new_template: str) -> None:
        """Fold a template that generalized (``IdChange``) into its new id: in the open window,
        and in when it was first seen (a generalization is not a new template)."""
        old_seen = self._first_seen.get((service, old_id))
        if old_seen is not None:
            new_seen = self._first_seen.get((service, new_id))
            self._first_seen[(service, new_id)] = min(old_seen, new_seen or old_seen)
        current = self._open.get(service)
        if current is None or old_id not in current.templates:
            return
        old = current.templates.pop(old_id)
        merged = current.templates.get(new_id)
        if merged is None:
            old.template = new_template
            current.templates[new_id] = old
        else:
            merged.count += old.count
            merged.errors += old.errors
            merged.first_seen = min(merged.first_seen, old.first_seen)
        current.new_ids = list(dict.fromkeys(new_id if i == old_id else i for i in current.new_ids))

    def restore_history(self, service: str, errors: Iterable[int]) -> None:
        """Replace ``service``'s baseline history by the error counts of its latest windows,
        oldest first (as stored by the pipeline), so a restarted worker keeps its baseline."""
        history = deque(errors, maxlen=self.baseline_windows)
        self._history[service] = history

    def flush(self) -> list[WindowSummary]:
        """Close every open window (at the end of a file, or on shutdown)."""
        closed = [self._close(service, window) for service, window in self._open.items()]
        self._open.clear()
        return closed

    def summarize_span(self, service: str, records: Iterable[LogRecord]) -> WindowSummary:
        """One summary of ``records`` from the first to the last (a file, a replay), outside the
        tumbling windows, without a baseline and without new templates (all are new in it)."""
        window: _OpenWindow | None = None
        last = _EPOCH
        for naive_or_aware in records:
            record = _aware(naive_or_aware)
            if window is None:
                window = _OpenWindow(record.timestamp, record.timestamp)
            self._count(window, record)
            last = max(last, record.timestamp)
        if window is None:
            now = datetime.now(UTC)
            return WindowSummary(service, now, now, 0, 0, {}, (), (), (), None)
        window.new_ids.clear()
        return self._summarize(service, window, end=last, baseline=None)

    # -- internals

    def _window_start(self, timestamp: datetime) -> datetime:
        windows = (timestamp - _EPOCH) // self.window
        return _EPOCH + windows * self.window

    def _count(self, window: _OpenWindow, record: LogRecord) -> None:
        level = normalize_level(record.level)
        window.levels[level] += 1
        window.total += 1
        is_error = level == "ERROR"
        window.errors += is_error
        tally = window.templates.get(record.template_id)
        if tally is None:
            first_seen = self._remember_first_seen(record)
            tally = _TemplateTally(record.template, example=self.redact(record.message))
            tally.first_seen = first_seen
            window.templates[record.template_id] = tally
            if record.new_template or first_seen >= window.start:
                window.new_ids.append(record.template_id)
        tally.count += 1
        tally.errors += is_error
        if is_error and tally.errors == 1 and tally.count > 1:
            # Prefer an error line as the example of a template that also logs errors.
            tally.example = self.redact(record.message)

    def _remember_first_seen(self, record: LogRecord) -> datetime:
        key = (record.service, record.template_id)
        seen = self._first_seen.get(key)
        if seen is None:
            seen = record.timestamp
            self._first_seen[key] = seen
            if len(self._first_seen) > self.max_first_seen:
                self._first_seen.popitem(last=False)
        else:
            self._first_seen.move_to_end(key)
        return seen

    def _close(self, service: str, window: _OpenWindow) -> WindowSummary:
        history = self._history.setdefault(service, deque(maxlen=self.baseline_windows))
        baseline = statistics.median(history) if len(history) >= self.min_history else None
        history.append(window.errors)
        return self._summarize(service, window, end=window.start + self.window, baseline=baseline)

    def _summarize(
        self, service: str, window: _OpenWindow, *, end: datetime, baseline: float | None
    ) -> WindowSummary:
        counts = [
            self._template_count(template_id, t) for template_id, t in window.templates.items()
        ]
        by_count = sorted(counts, key=lambda c: (-c.count, c.template_id))
        by_errors = sorted(
            (c for c in counts if c.errors), key=lambda c: (-c.errors, c.template_id)
        )
        new_ids = set(window.new_ids)
        new = [c for c in counts if c.template_id in new_ids]
        return WindowSummary(
            service=service,
            start=window.start,
            end=end,
            total=window.total,
            errors=window.errors,
            counts_by_level=dict(window.levels.most_common()),
            top_templates=tuple(by_count[: self.top]),
            top_error_templates=tuple(by_errors[: self.top]),
            new_templates=tuple(sorted(new, key=lambda c: (c.first_seen, c.template_id))),
            baseline_errors=baseline,
        )

    def _count_empty_windows(self, service: str, last: datetime, now: datetime) -> None:
        empty = int((now - last) // self.window) - 1
        history = self._history[service]
        for _ in range(min(empty, self.baseline_windows)):
            history.append(0)

    @staticmethod
    def _template_count(template_id: str, tally: _TemplateTally) -> TemplateCount:
        return TemplateCount(
            template_id, tally.template, tally.count, tally.errors, tally.example, tally.first_seen
        )


def _aware(record: LogRecord) -> LogRecord:
    if record.timestamp.tzinfo is not None:
        return record
    return replace(record, timestamp=record.timestamp.replace(tzinfo=UTC))
