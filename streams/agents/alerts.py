"""Alertmanager's alerts as incidents: what an alert event's incident holds, decided here as
plain code; :class:`~opsassist.streams.agents.handler.AlertHandler` writes it
(:func:`opsassist.store.incidents.write_alert_incidents`). docs/incidents.md, "Alerts"."""

from __future__ import annotations

from typing import Final

from opsassist.schemas import AlertEvent
from opsassist.store.history import Actor
from opsassist.store.incidents import AlertIncidentRow
from opsassist.streams.logs import Severity

#: Who writes alert incidents; an ``agent:`` actor, so the lifecycle guard of migration 0018
#: keeps what people set (acknowledgement, assignee, their resolution).
ALERTS: Final = Actor("agent:alerts")

SOURCE: Final = "alertmanager"

# The `severity` label's usual values (Prometheus rule conventions, PagerDuty's and Opsgenie's
# levels) onto the incident severities the log detector uses; anything else, or none, is a
# warning: the lowest, so that an unknown label never pages louder than its sender meant.
_SEVERITIES: Final = {
    "critical": Severity.CRITICAL,
    "page": Severity.CRITICAL,
    "emergency": Severity.CRITICAL,
    "fatal": Severity.CRITICAL,
    "p1": Severity.CRITICAL,
    "major": Severity.MAJOR,
    "error": Severity.MAJOR,
    "high": Severity.MAJOR,
    "p2": Severity.MAJOR,
}


def incident_severity(label: str | None) -> Severity:
    """The incident severity for an alert's ``severity`` label."""
    return _SEVERITIES.get((label or "").strip().lower(), Severity.WARNING)


def incident_key(fingerprint: str) -> str:
    return f"{SOURCE}:{fingerprint}"


def alert_incident_row(event: AlertEvent) -> AlertIncidentRow:
    """The incident state ``event`` reports: firing is open, resolved is resolved at the alert's
    end (when Alertmanager gave none, the time the notification was received)."""
    p = event.payload
    resolved = p.status == "resolved"
    ended_at = (p.ends_at or event.received_at or event.occurred_at) if resolved else None
    return AlertIncidentRow(
        incident_key=incident_key(p.fingerprint),
        # No service label: not correlated with any log incident (none has an empty service).
        service=p.service or "",
        severity=incident_severity(p.severity).value,
        status="resolved" if resolved else "open",
        opened_at=p.starts_at,
        last_spike_end=ended_at or p.starts_at,
        resolved_at=ended_at,
        reason=p.alertname or "alert",
        narrative=p.summary,
        labels=dict(p.labels),
        annotations=dict(p.annotations),
        generator_url=p.generator_url,
    )
