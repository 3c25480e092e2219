"""What an alert event's incident holds (streams/agents/alerts.py): pure mapping, no database."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from opsassist.api.webhooks.alertmanager_mapping import alert_events
from opsassist.streams.agents.alerts import alert_incident_row, incident_severity

PAYLOAD = Path(__file__).parents[2] / "fixtures" / "webhooks" / "alertmanager_v4.json"
RECEIVED = datetime(2026, 12, 7, 10, 5, tzinfo=UTC)


@pytest.mark.parametrize(
    ("label", "severity"),
    [
        ("critical", "critical"),
        ("Page", "critical"),
        (" P1 ", "critical"),
        ("error", "major"),
        ("high", "major"),
        ("warning", "warning"),
        ("info", "warning"),
        ("sev-unknown", "warning"),
        (None, "warning"),
    ],
)
def test_the_severity_label_maps_onto_the_incident_severities(
    label: str | None, severity: str
) -> None:
    assert incident_severity(label).value == severity


def test_a_firing_alert_is_an_open_incident_keyed_by_its_fingerprint() -> None:
    firing, _ = alert_events(json.loads(PAYLOAD.read_text()), RECEIVED)
    row = alert_incident_row(firing)
    started = datetime(2026, 12, 7, 10, 0, 0, 123456, tzinfo=UTC)
    assert (row.incident_key, row.service, row.severity, row.status) == (
        "alertmanager:c4b7e1d2a9f03e58",
        "checkout",
        "critical",
        "open",
    )
    assert (row.opened_at, row.last_spike_end, row.resolved_at) == (started, started, None)
    assert (row.reason, row.narrative) == ("CheckoutErrorRate", "checkout 5xx above 5% for 5m")
    assert row.labels["instance"] == "web-1:8080"
    assert row.annotations == {"summary": "checkout 5xx above 5% for 5m"}


def test_a_resolved_alert_is_resolved_at_its_end_or_else_at_the_notification() -> None:
    body = json.loads(PAYLOAD.read_text())
    _, resolved = alert_events(body, RECEIVED)
    row = alert_incident_row(resolved)
    ended = datetime(2026, 12, 7, 9, 40, tzinfo=UTC)
    assert (row.status, row.service, row.resolved_at, row.last_spike_end) == (
        "resolved",
        "billing",
        ended,
        ended,
    )
    assert row.narrative == "billing 5xx back under 5%"

    body["alerts"][1]["endsAt"] = "0001-01-01T00:00:00Z"  # Alertmanager's "no end"
    _, without_end = alert_events(body, RECEIVED)
    assert alert_incident_row(without_end).resolved_at == RECEIVED


def test_an_alert_without_a_service_label_has_no_service() -> None:
    body = json.loads(PAYLOAD.read_text())
    del body["alerts"][0]["labels"]["service"]
    firing, _ = alert_events(body, RECEIVED - timedelta(minutes=1))
    assert alert_incident_row(firing).service == ""
