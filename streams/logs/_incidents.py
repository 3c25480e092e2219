"""Incidents from window summaries: a spike of errors against the service's baseline, or a
burst of new error templates, opens one; it is updated while the windows keep spiking and
resolved after enough quiet windows. Every change is a ``IncidentTransition`` the caller keeps
(the worker stores them in `incidents`, with their history)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum

from opsassist.streams.logs._windows import WindowSummary


class Severity(StrEnum):
    WARNING = "warning"
    MAJOR = "major"
    CRITICAL = "critical"


class IncidentStatus(StrEnum):
    OPEN = "open"
    RESOLVED = "resolved"


class TransitionKind(StrEnum):
    OPENED = "opened"
    UPDATED = "updated"
    RESOLVED = "resolved"


@dataclass(frozen=True, slots=True)
class Incident:
    """An incident as of its latest transition. ``id`` is derived from the service and the
    window that opened it, so replays and other workers give the same id."""

    id: str
    service: str
    severity: Severity
    status: IncidentStatus
    opened_at: datetime  # start of the first window that spiked
    last_spike_end: datetime  # end of the latest window that spiked
    resolved_at: datetime | None
    peak_errors: int
    peak_ratio: float | None
    template_ids: tuple[str, ...]
    reason: str


@dataclass(frozen=True, slots=True)
class IncidentTransition:
    """One change to an incident, in the order they happened."""

    kind: TransitionKind
    at: datetime  # end of the window that caused it
    incident: Incident
    summary: WindowSummary


@dataclass(frozen=True, slots=True)
class _Signal:
    severity: Severity
    reason: str
    template_ids: tuple[str, ...]


class IncidentDetector:
    """Watches each service's closed windows (feed them in order, per window size).

    A window spikes when it has at least ``min_errors`` errors and ``spike_ratio`` times the
    baseline (``WindowSummary.error_ratio``), or when ``new_error_templates`` templates that log
    errors appear in it for the first time (once the service has a baseline). Severity: critical
    from ``critical_ratio`` times the baseline, major for a spike, warning for a burst of new
    error templates alone. An open incident records an update when its severity, peak or
    templates change, and resolves after ``quiet_windows`` windows in a row without a spike.
    """

    def __init__(
        self,
        *,
        spike_ratio: float = 5.0,
        critical_ratio: float = 20.0,
        min_errors: int = 10,
        new_error_templates: int = 3,
        quiet_windows: int = 3,
    ) -> None:
        self.spike_ratio = spike_ratio
        self.critical_ratio = critical_ratio
        self.min_errors = min_errors
        self.new_error_templates = new_error_templates
        self.quiet_windows = quiet_windows
        self._open: dict[str, Incident] = {}
        self._quiet: dict[str, int] = {}

    def open_incidents(self) -> list[Incident]:
        return list(self._open.values())

    def restore(self, service: str, incident: Incident | None) -> None:
        """Make ``incident`` (as stored, open) the service's open incident, or forget the
        service's open incident with None; its count of quiet windows starts again."""
        self._quiet.pop(service, None)
        if incident is None:
            self._open.pop(service, None)
        else:
            self._open[service] = incident

    def observe(self, summary: WindowSummary) -> list[IncidentTransition]:
        """The transitions this window causes: none, one opened/updated, or one resolved."""
        signal = self._signal(summary)
        current = self._open.get(summary.service)
        if signal is None:
            if current is None:
                return []
            quiet = self._quiet.get(summary.service, 0) + 1
            self._quiet[summary.service] = quiet
            if quiet < self.quiet_windows:
                return []
            resolved = replace(current, status=IncidentStatus.RESOLVED, resolved_at=summary.end)
            del self._open[summary.service]
            self._quiet.pop(summary.service, None)
            return [IncidentTransition(TransitionKind.RESOLVED, summary.end, resolved, summary)]
        self._quiet[summary.service] = 0
        if current is None:
            opened = Incident(
                id=_incident_id(summary.service, summary.start),
                service=summary.service,
                severity=signal.severity,
                status=IncidentStatus.OPEN,
                opened_at=summary.start,
                last_spike_end=summary.end,
                resolved_at=None,
                peak_errors=summary.errors,
                peak_ratio=summary.error_ratio,
                template_ids=signal.template_ids,
                reason=signal.reason,
            )
            self._open[summary.service] = opened
            return [IncidentTransition(TransitionKind.OPENED, summary.end, opened, summary)]
        updated = replace(
            current,
            severity=max(current.severity, signal.severity, key=_SEVERITY_ORDER.index),
            last_spike_end=summary.end,
            peak_errors=max(current.peak_errors, summary.errors),
            peak_ratio=_max_ratio(current.peak_ratio, summary.error_ratio),
            template_ids=tuple(dict.fromkeys(current.template_ids + signal.template_ids)),
            reason=signal.reason,
        )
        self._open[summary.service] = updated
        if (updated.severity, updated.peak_errors, updated.template_ids) == (
            current.severity,
            current.peak_errors,
            current.template_ids,
        ):
            return []  # still spiking, nothing new to record
        return [IncidentTransition(TransitionKind.UPDATED, summary.end, updated, summary)]

    def _signal(self, summary: WindowSummary) -> _Signal | None:
        ratio = summary.error_ratio
        error_ids = tuple(t.template_id for t in summary.top_error_templates)
        if ratio is not None and summary.errors >= self.min_errors and ratio >= self.spike_ratio:
            severity = Severity.CRITICAL if ratio >= self.critical_ratio else Severity.MAJOR
            return _Signal(severity, f"{ratio:.1f}x the error baseline", error_ids)
        new_errors = tuple(t.template_id for t in summary.new_templates if t.errors)
        # Everything is new to a service without history; novelty counts once it has one.
        if summary.baseline_errors is not None and len(new_errors) >= self.new_error_templates:
            return _Signal(Severity.WARNING, f"{len(new_errors)} new error templates", new_errors)
        return None


_SEVERITY_ORDER = [Severity.WARNING, Severity.MAJOR, Severity.CRITICAL]


def _max_ratio(a: float | None, b: float | None) -> float | None:
    present = [r for r in (a, b) if r is not None]
    return max(present) if present else None


def _incident_id(service: str, opened_at: datetime) -> str:
    text = f"{service}\x1f{opened_at.isoformat()}"
    return hashlib.blake2b(text.encode(), digest_size=8).hexdigest()
