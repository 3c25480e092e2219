"""Alertmanager's webhook payload (version 4) mapped to alert events, without the app."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from opsassist.api.webhooks.alertmanager_mapping import InvalidAlertmanagerPayload, alert_events
from opsassist.schemas import decode_event, encode_event, kafka_key

PAYLOAD = Path(__file__).parents[2] / "fixtures" / "webhooks" / "alertmanager_v4.json"
RECEIVED = datetime(2026, 12, 7, 10, 5, tzinfo=UTC)


def _payload() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(PAYLOAD.read_text())
    return data


def test_each_alert_becomes_an_event_keyed_by_fingerprint_with_service_and_times() -> None:
    firing, resolved = alert_events(_payload(), RECEIVED)
    assert firing.kind == "alert" and firing.source == "webhook:alertmanager"
    assert (
        firing.payload.fingerprint == "c4b7e1d2a9f03e58"
        and kafka_key(firing) == b"c4b7e1d2a9f03e58"
    )
    assert (firing.payload.status, firing.payload.service, firing.payload.severity) == (
        "firing",
        "checkout",
        "critical",
    )
    assert firing.payload.alertname == "CheckoutErrorRate"
    assert firing.payload.summary == "checkout 5xx above 5% for 5m"
    assert firing.payload.ends_at is None  # Go's zero time: no end yet
    assert firing.occurred_at == datetime(2026, 12, 7, 10, 0, 0, 123456, tzinfo=UTC)
    assert firing.payload.receiver == "opsassist"

    assert resolved.payload.status == "resolved" and resolved.payload.service == "billing"
    assert resolved.payload.summary == "billing 5xx back under 5%"
    assert resolved.occurred_at == datetime(2026, 12, 7, 9, 40, tzinfo=UTC)
    # what goes on the wire decodes as the worker would decode it
    assert decode_event(encode_event(firing), "alert") == firing


def test_a_repeated_notification_gives_the_same_ids_and_a_new_state_new_ones() -> None:
    first = [e.id for e in alert_events(_payload(), RECEIVED)]
    again = [e.id for e in alert_events(_payload(), datetime(2026, 12, 7, 14, 0, tzinfo=UTC))]
    assert first == again and len(set(first)) == 2
    # Go's zero time written with an offset is still "no time", not a crash
    zero = _payload()
    zero["alerts"][0]["endsAt"] = "0001-01-01T00:00:00+05:00"
    assert alert_events(zero, RECEIVED)[0].payload.ends_at is None
    later = _payload()
    later["alerts"][0].update(status="resolved", endsAt="2026-12-07T10:30:00Z")
    assert alert_events(later, RECEIVED)[0].id != first[0]


def _broken(change: str) -> Any:
    data = copy.deepcopy(_payload())
    if change == "version":
        data["version"] = "3"
    elif change == "no alerts":
        data["alerts"] = []
    elif change == "status":
        data["alerts"][1]["status"] = "pending"
    elif change == "fingerprint":
        data["alerts"][1]["fingerprint"] = "not a fingerprint!"
    elif change == "time":
        data["alerts"][0]["startsAt"] = "yesterday"
    elif change == "not an object":
        data = ["alerts"]
    return data


@pytest.mark.parametrize(
    ("change", "where"),
    [
        ("version", "version"),
        ("no alerts", "alerts"),
        ("status", "alerts.1.status"),
        ("fingerprint", "alerts.1: fingerprint"),
        ("time", "alerts.0.startsAt"),
        ("not an object", "(body)"),
    ],
)
def test_an_invalid_notification_is_refused_whole_saying_where(change: str, where: str) -> None:
    with pytest.raises(InvalidAlertmanagerPayload) as raised:
        alert_events(_broken(change), RECEIVED)
    assert str(raised.value).startswith(where), str(raised.value)
