"""What a user reads: deterministic sentences about a window or an incident, and the typed input
an LLM summary is built from (template statistics and redacted examples only, never raw lines).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

from opsassist.streams.logs._incidents import IncidentTransition, TransitionKind
from opsassist.streams.logs._windows import TemplateCount, WindowSummary


def describe_duration(duration: timedelta) -> str:
    """``1 min``, ``5 min``, ``1 h``, ``90 s``: the largest unit that divides it evenly, or
    rounded to minutes from two minutes, hours from two hours, days from two days."""
    seconds = int(duration.total_seconds())
    if seconds >= 2 * 86400:
        return f"{round(seconds / 86400)} days"
    if seconds >= 2 * 3600 and seconds % 3600:
        return f"{round(seconds / 3600)} h"
    if seconds and seconds % 3600 == 0:
        return f"{seconds // 3600} h"
    if seconds and seconds % 60 == 0:
        return f"{seconds // 60} min"
    if seconds >= 120:
        return f"{round(seconds / 60)} min"
    return f"{seconds} s"


def describe_time(moment: datetime, reference: datetime) -> str:
    """``10:02`` on the reference's day, the date as well otherwise."""
    if moment.date() == reference.date():
        return moment.strftime("%H:%M")
    return moment.strftime("%Y-%m-%d %H:%M")


def describe_window(summary: WindowSummary) -> str:
    """One sentence, e.g. ``payments-api: 3,214 errors in 5 min, 12 times its baseline; 78% are
    'Timeout connecting to <*>:<*>', first seen 10:02``."""
    # A span without time (lines without timestamps) has no duration to tell.
    during = f" in {describe_duration(summary.duration)}" if summary.duration else ""
    if summary.total == 0:
        return f"{summary.service}: no lines{during}"
    if summary.errors == 0:
        text = f"{summary.service}: {summary.total:,} lines{during}, no errors"
        leader = summary.top_templates[0] if summary.top_templates else None
        if leader is not None:
            text += f"; {_percent(leader.count, summary.total)} are {_quote(leader)}"
        return text + _new_templates(summary)
    noun = "error" if summary.errors == 1 else "errors"
    text = f"{summary.service}: {summary.errors:,} {noun}{during}"
    text += _against_baseline(summary)
    leader = summary.top_error_templates[0] if summary.top_error_templates else None
    if leader is not None:
        verb = "is" if leader.errors == 1 else "are"
        text += (
            f"; {_percent(leader.errors, summary.errors)} {verb} {_quote(leader)}, "
            f"first seen {describe_time(leader.first_seen, summary.end)}"
        )
    return text + _new_templates(summary)


def describe_transition(transition: IncidentTransition) -> str:
    """One line for an incident's change, e.g. ``[opened] major incident on payments-api
    (12.0x the error baseline): payments-api: 3,214 errors in 5 min, ...``."""
    incident = transition.incident
    head = (
        f"[{transition.kind.value}] {incident.severity.value} incident on {incident.service} "
        f"since {describe_time(incident.opened_at, transition.at)}"
    )
    if transition.kind is TransitionKind.RESOLVED:
        return f"{head}, quiet since {describe_time(incident.last_spike_end, transition.at)}"
    return f"{head} ({incident.reason}): {describe_window(transition.summary)}"


def _against_baseline(summary: WindowSummary) -> str:
    ratio = summary.error_ratio
    if ratio is None:
        return ""
    if summary.baseline_errors is not None and summary.baseline_errors < 1:
        return ", where it usually logs none"
    if ratio >= 1.95:
        return f", {ratio:.0f} times its baseline"
    if ratio >= 1.05:
        return f", {ratio:.1f} times its baseline"
    return ", within its baseline"


def _new_templates(summary: WindowSummary) -> str:
    count = len(summary.new_templates)
    if count == 0:
        return ""
    return f"; {count} new template{'s' if count > 1 else ''}"


def _percent(part: int, whole: int) -> str:
    return f"{round(100 * part / whole)}%"


def _quote(template: TemplateCount) -> str:
    text = template.template if len(template.template) <= 120 else template.template[:117] + "..."
    return f"'{text}'"


# -- the seam for an LLM summary


@dataclass(frozen=True, slots=True)
class TemplateEvidence:
    """A template as an LLM may see it: statistics and one redacted example."""

    template_id: str
    template: str
    count: int
    errors: int
    share_of_errors: float
    first_seen: datetime
    redacted_example: str
    new_in_window: bool


@dataclass(frozen=True, slots=True)
class IncidentEvidence:
    incident_id: str
    change: str
    severity: str
    reason: str
    opened_at: datetime


@dataclass(frozen=True, slots=True)
class SummaryInput:
    """Everything an LLM summary of one window may use; answers should cite ``template_id``s.
    Built from a ``WindowSummary`` whose examples were redacted when they were kept."""

    service: str
    window_start: datetime
    window_end: datetime
    total: int
    errors: int
    counts_by_level: dict[str, int]
    baseline_errors: float | None
    error_ratio: float | None
    templates: tuple[TemplateEvidence, ...]
    incident: IncidentEvidence | None
    deterministic_summary: str

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready (datetimes as ISO 8601)."""
        converted: dict[str, Any] = _isoformat(asdict(self))
        return converted


def summary_input(
    summary: WindowSummary, transition: IncidentTransition | None = None
) -> SummaryInput:
    """The LLM's input for ``summary`` (and the incident change it caused, if any)."""
    new_ids = {t.template_id for t in summary.new_templates}
    chosen: dict[str, TemplateCount] = {}
    for template in (*summary.top_error_templates, *summary.top_templates, *summary.new_templates):
        chosen.setdefault(template.template_id, template)
    evidence = tuple(
        TemplateEvidence(
            template_id=t.template_id,
            template=t.template,
            count=t.count,
            errors=t.errors,
            share_of_errors=t.errors / summary.errors if summary.errors else 0.0,
            first_seen=t.first_seen,
            redacted_example=t.example,
            new_in_window=t.template_id in new_ids,
        )
        for t in chosen.values()
    )
    incident = None
    if transition is not None:
        incident = IncidentEvidence(
            incident_id=transition.incident.id,
            change=transition.kind.value,
            severity=transition.incident.severity.value,
            reason=transition.incident.reason,
            opened_at=transition.incident.opened_at,
        )
    return SummaryInput(
        service=summary.service,
        window_start=summary.start,
        window_end=summary.end,
        total=summary.total,
        errors=summary.errors,
        counts_by_level=dict(summary.counts_by_level),
        baseline_errors=summary.baseline_errors,
        error_ratio=summary.error_ratio,
        templates=evidence,
        incident=incident,
        deterministic_summary=describe_window(summary),
    )


def _isoformat(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {key: _isoformat(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_isoformat(item) for item in value]
    return value
