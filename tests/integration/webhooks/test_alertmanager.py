"""``POST /webhooks/alertmanager`` over HTTP against the running API and real Kafka: each alert
of a version 4 notification lands on the alerts topic as an alert event keyed by fingerprint."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from opsassist.schemas import AlertEvent
from tests.integration.webhooks.topic_reader import read_topic

pytestmark = pytest.mark.integration

PAYLOAD = Path(__file__).parents[2] / "fixtures" / "webhooks" / "alertmanager_v4.json"


def test_a_notification_queues_one_alert_event_per_alert_and_bad_ones_nothing(
    webhook_api: Any, kafka_bootstrap: str
) -> None:
    topic = f"t{uuid.uuid4().hex[:8]}.alerts.raw"
    api = webhook_api(scopes=("events",), topic_alerts=topic)
    api.start()
    url = f"{api.url}/webhooks/alertmanager"

    invalid = json.loads(PAYLOAD.read_text())
    invalid["alerts"][1]["status"] = "pending"
    refused = [
        httpx.post(url, json=invalid, headers=api.headers()),
        httpx.post(
            url, content=b"{not json", headers=api.headers(**{"Content-Type": "application/json"})
        ),
        httpx.post(url, json={**invalid, "version": "3"}, headers=api.headers()),
    ]
    for answer in refused:
        assert answer.status_code == 422, answer.text
        assert answer.headers["content-type"] == "application/problem+json"
    assert "alerts.1.status" in refused[0].json()["detail"]
    wrong_type = httpx.post(
        url, content=b"x", headers=api.headers(**{"Content-Type": "text/plain"})
    )
    assert wrong_type.status_code == 415
    logs_only = webhook_api(scopes=("logs",), topic_alerts=topic)
    logs_only.start()
    forbidden = httpx.post(
        f"{logs_only.url}/webhooks/alertmanager", json=invalid, headers=logs_only.headers()
    )
    assert forbidden.status_code == 403
    assert read_topic(kafka_bootstrap, topic) == []

    answer = httpx.post(
        url,
        content=PAYLOAD.read_bytes(),
        headers=api.headers(**{"Content-Type": "application/json"}),
    )
    assert answer.status_code == 202, answer.text
    assert answer.json()["produced"] == 2

    events = read_topic(kafka_bootstrap, topic)
    assert all(isinstance(e, AlertEvent) for e in events)
    by_fingerprint = {e.payload.fingerprint: e for e in events if isinstance(e, AlertEvent)}
    assert set(by_fingerprint) == {"c4b7e1d2a9f03e58", "0a1b2c3d4e5f6071"}
    firing = by_fingerprint["c4b7e1d2a9f03e58"]
    assert (firing.payload.status, firing.payload.service) == ("firing", "checkout")
    assert by_fingerprint["0a1b2c3d4e5f6071"].payload.status == "resolved"
    assert sorted(answer.json()["event_ids"]) == sorted(e.id for e in events)
    # nothing went to the log topic the worker reads
    assert read_topic(kafka_bootstrap, api.settings.topic_logs) == []
