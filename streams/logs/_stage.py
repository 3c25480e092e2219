"""The log stage as the log agent calls it on a batch: mining per service, windows per size,
incidents per size, in one object whose miner states the agent persists.

Per batch it returns what to store: each line with its template id and parameters, the id
changes to apply to lines stored earlier, the windows the batch closed and the incident
transitions they caused.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from opsassist.settings import Settings
from opsassist.streams.logs._incidents import Incident, IncidentDetector, IncidentTransition
from opsassist.streams.logs._masking import template_pattern
from opsassist.streams.logs._miner import IdChange, TemplateMiner
from opsassist.streams.logs._windows import (
    LogRecord,
    Redactor,
    WindowSummarizer,
    WindowSummary,
    no_redaction,
)


@dataclass(frozen=True, slots=True)
class LogLine:
    """A decoded log event, as much of it as the stage needs."""

    service: str
    timestamp: datetime
    level: str
    message: str


@dataclass(slots=True)
class MinedLine:
    """A line with its template, as it stands at the end of the batch."""

    line: LogLine
    template_id: str
    template: str
    parameters: tuple[str, ...]


@dataclass(slots=True)
class BatchResult:
    lines: list[MinedLine] = field(default_factory=list)
    id_changes: list[IdChange] = field(default_factory=list)  # apply to lines stored before
    summaries: list[WindowSummary] = field(default_factory=list)
    transitions: list[IncidentTransition] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class LogStageConfig:
    similarity: float = 0.7
    variants: int = 3
    max_templates: int = 5000
    windows: tuple[timedelta, ...] = (timedelta(minutes=1), timedelta(hours=1))
    top_templates: int = 5
    baseline_windows: int = 60
    min_history: int = 5
    spike_ratio: float = 5.0
    critical_ratio: float = 20.0
    min_errors: int = 10
    new_error_templates: int = 3
    quiet_windows: int = 3

    @classmethod
    def from_settings(cls, settings: Settings) -> LogStageConfig:
        return cls(
            similarity=settings.logs_similarity,
            variants=settings.logs_variants,
            max_templates=settings.logs_max_templates,
            windows=tuple(timedelta(seconds=s) for s in settings.logs_window_seconds),
            top_templates=settings.logs_top_templates,
            baseline_windows=settings.logs_baseline_windows,
            min_history=settings.logs_min_history,
            spike_ratio=settings.logs_spike_ratio,
            critical_ratio=settings.logs_critical_ratio,
            min_errors=settings.logs_min_errors,
            new_error_templates=settings.logs_new_error_templates,
            quiet_windows=settings.logs_quiet_windows,
        )


class LogStage:
    """Miners per service (created on first sight), and a summarizer and a detector per window
    size. ``redact`` is applied to the example lines that summaries keep."""

    def __init__(
        self, config: LogStageConfig = LogStageConfig(), redact: Redactor = no_redaction
    ) -> None:
        self.config = config
        self._miners: dict[str, TemplateMiner] = {}
        self._windows = [
            (
                WindowSummarizer(
                    size,
                    top=config.top_templates,
                    redact=redact,
                    baseline_windows=config.baseline_windows,
                    min_history=config.min_history,
                ),
                IncidentDetector(
                    spike_ratio=config.spike_ratio,
                    critical_ratio=config.critical_ratio,
                    min_errors=config.min_errors,
                    new_error_templates=config.new_error_templates,
                    quiet_windows=config.quiet_windows,
                ),
            )
            for size in config.windows
        ]

    def process(self, batch: Iterable[LogLine]) -> BatchResult:
        result = BatchResult()
        position: dict[str, list[int]] = {}  # template id -> indexes in result.lines
        for line in batch:
            match = self.miner(line.service).add(line.message)
            for change in match.changes:
                self._apply(change, result, position)
            position.setdefault(match.template_id, []).append(len(result.lines))
            result.lines.append(
                MinedLine(line, match.template_id, match.template, match.parameters(line.message))
            )
            record = LogRecord(
                service=line.service,
                timestamp=line.timestamp,
                level=line.level,
                template_id=match.template_id,
                template=match.template,
                message=line.message,
                new_template=match.is_new,
            )
            for summarizer, detector in self._windows:
                for summary in summarizer.add(record):
                    result.summaries.append(summary)
                    result.transitions.extend(detector.observe(summary))
        return result

    def flush(self) -> BatchResult:
        """Close every open window (on shutdown, or at the end of a replay)."""
        result = BatchResult()
        for summarizer, detector in self._windows:
            for summary in summarizer.flush():
                result.summaries.append(summary)
                result.transitions.extend(detector.observe(summary))
        return result

    def miner(self, service: str) -> TemplateMiner:
        miner = self._miners.get(service)
        if miner is None:
            miner = TemplateMiner(
                service,
                similarity=self.config.similarity,
                variants=self.config.variants,
                max_templates=self.config.max_templates,
            )
            self._miners[service] = miner
        return miner

    def miner_states(self) -> dict[str, dict[str, Any]]:
        """Per service, ``TemplateMiner.to_state()``: persist with the batch's offsets."""
        return {service: miner.to_state() for service, miner in self._miners.items()}

    @property
    def window_sizes(self) -> tuple[timedelta, ...]:
        return self.config.windows

    def restore_windows(
        self,
        service: str,
        history: dict[timedelta, list[int]],
        incidents: dict[timedelta, Incident | None],
    ) -> None:
        """Load ``service``'s baseline history (error counts of its latest windows, oldest
        first) and open incident per window size, as the pipeline stored them."""
        for size, (summarizer, detector) in zip(self.config.windows, self._windows, strict=True):
            if size in history:
                summarizer.restore_history(service, history[size])
            if size in incidents:
                detector.restore(service, incidents[size])

    def restore_miners(self, states: dict[str, dict[str, Any]]) -> None:
        """Load states persisted by ``miner_states`` (on start, or when a partition moves)."""
        for service, state in states.items():
            self._miners[service] = TemplateMiner.from_state(state)

    def _apply(self, change: IdChange, result: BatchResult, position: dict[str, list[int]]) -> None:
        result.id_changes.append(change)
        moved = position.pop(change.old_id, [])
        pattern = template_pattern(change.new_template)
        for index in moved:
            mined = result.lines[index]
            mined.template_id = change.new_id
            mined.template = change.new_template
            found = pattern.match(mined.line.message.strip())
            mined.parameters = found.groups() if found is not None else ()
        position.setdefault(change.new_id, []).extend(moved)
        for summarizer, _ in self._windows:
            summarizer.relabel(change.service, change.old_id, change.new_id, change.new_template)
