"""Alertmanager's alerts become incidents: posted over HTTP to the running API, carried by Kafka,
applied by the running worker to PostgreSQL (docs/incidents.md, "Alerts"). One incident per
fingerprint: firing opens it, a repeat changes nothing, a change updates it, resolved resolves it
as ``agent:alerts``; an alert and a log incident of the same service overlapping in time are
linked both ways."""

from __future__ import annotations

import copy
import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import wait_for
from tests.integration.events import T0
from tests.integration.graphql.client import as_user, create_user
from tests.integration.test_log_intelligence import minute_of_logs, produce, query

pytestmark = pytest.mark.integration

PAYLOAD = Path(__file__).parents[1] / "fixtures" / "webhooks" / "alertmanager_v4.json"


def notification(
    status: str,
    *,
    fingerprint: str,
    service: str,
    starts_at: datetime,
    ends_at: datetime | None = None,
    summary: str = "5xx above 5% for 5m",
) -> dict[str, Any]:
    """Alertmanager's version 4 notification of one alert, as it sends it (the fixture's first
    alert, with these values)."""
    body = json.loads(PAYLOAD.read_text())
    alert = copy.deepcopy(body["alerts"][0])
    alert.update(
        status=status,
        fingerprint=fingerprint,
        startsAt=starts_at.isoformat(),
        # Alertmanager sends a firing alert with an end in the future (now + resolve_timeout),
        # a new one in every repeat.
        endsAt=(ends_at or datetime.now(starts_at.tzinfo) + timedelta(minutes=5)).isoformat(),
    )
    alert["labels"]["service"] = service
    alert["annotations"] = {"summary": summary, "runbook_url": "https://runbooks.invalid/5xx"}
    body.update(status=status, alerts=[alert])
    return body


def post(api: Any, body: dict[str, Any]) -> None:
    answer = httpx.post(f"{api.url}/webhooks/alertmanager", json=body, headers=api.headers())
    assert answer.status_code == 202, answer.text


def alert_incident(settings: Any, fingerprint: str) -> dict[str, Any] | None:
    rows = query(
        settings,
        "SELECT * FROM incidents WHERE incident_key = $1",
        f"alertmanager:{fingerprint}",
    )
    assert len(rows) <= 1
    return rows[0] if rows else None


def test_an_alert_opens_updates_and_resolves_one_incident(
    settings: Any, worker_process: Any, webhook_api: Any
) -> None:
    worker = worker_process()
    worker.start()
    api = webhook_api(scopes=("events",))
    api.start()
    started = T0 + timedelta(hours=1)

    post(api, notification("firing", fingerprint="f1a2", service="checkout", starts_at=started))
    wait_for(lambda: alert_incident(settings, "f1a2") is not None, 60, "the alert's incident")
    opened = alert_incident(settings, "f1a2")
    assert opened is not None
    assert (opened["source"], opened["service"], opened["severity"], opened["status"]) == (
        "alertmanager",
        "checkout",
        "critical",
        "open",
    )
    assert (opened["reason"], opened["narrative"]) == ("CheckoutErrorRate", "5xx above 5% for 5m")
    assert opened["opened_at"] == started and opened["resolved_at"] is None
    assert json.loads(opened["labels"]) == {
        "alertname": "CheckoutErrorRate",
        "service": "checkout",
        "severity": "critical",
        "instance": "web-1:8080",
    }
    assert json.loads(opened["annotations"]) == {
        "summary": "5xx above 5% for 5m",
        "runbook_url": "https://runbooks.invalid/5xx",
    }
    assert opened["generator_url"].startswith("http://prometheus.example.internal:9090/")
    assert (opened["version"], opened["changed_by"]) == (1, "agent:alerts")

    # Alertmanager's repeat of the same firing alert (another endsAt: another event), then a
    # change of its summary; same fingerprint, same partition, so the repeat is applied first.
    post(api, notification("firing", fingerprint="f1a2", service="checkout", starts_at=started))
    post(
        api,
        notification(
            "firing", fingerprint="f1a2", service="checkout", starts_at=started, summary="worse"
        ),
    )
    wait_for(
        lambda: (alert_incident(settings, "f1a2") or {}).get("narrative") == "worse",
        60,
        "the alert's update applied",
    )
    updated = alert_incident(settings, "f1a2")
    assert updated is not None
    # version 2: the repeat recorded nothing, the change one version, on the same incident
    assert (updated["id"], updated["version"], updated["status"]) == (opened["id"], 2, "open")
    assert updated["last_transition"] == "updated"

    ended = started + timedelta(minutes=30)
    post(
        api,
        notification(
            "resolved",
            fingerprint="f1a2",
            service="checkout",
            starts_at=started,
            ends_at=ended,
            summary="worse",
        ),
    )
    wait_for(
        lambda: (alert_incident(settings, "f1a2") or {}).get("status") == "resolved",
        60,
        "the incident resolved with its alert",
    )
    resolved = alert_incident(settings, "f1a2")
    assert resolved is not None
    assert (resolved["id"], resolved["resolved_at"], resolved["resolved_by"]) == (
        opened["id"],
        ended,
        "agent:alerts",
    )
    assert json.loads(resolved["last_action"]) == {
        "action": "resolved",
        "by": "agent:alerts",
        "at": json.loads(resolved["last_action"])["at"],
        "reason": "the alert resolved in Alertmanager",
    }
    history = query(
        settings,
        "SELECT version, changed_by FROM incident_changes WHERE incident_id = $1 ORDER BY version",
        opened["id"],
    )
    assert [(h["version"], h["changed_by"]) for h in history] == [
        (1, "agent:alerts"),
        (2, "agent:alerts"),
        (3, "agent:alerts"),
    ]


def test_an_alert_and_an_open_log_incident_of_its_service_are_linked(
    settings: Any, worker_process: Any, webhook_api: Any, graphql_api: Any
) -> None:
    worker = worker_process()
    worker.start()
    api = webhook_api(scopes=("events",))
    api.start()
    # The log burst of payments-api at T0 + 10 min opens a log incident (docs/logs.md).
    before = [e for m in range(10) for e in minute_of_logs(m, errors=1)]
    burst = minute_of_logs(10, errors=60) + minute_of_logs(11, errors=60)
    produce(settings, before + burst + minute_of_logs(12, errors=0)[:1])

    def log_incidents() -> list[dict[str, Any]]:
        return query(settings, "SELECT * FROM incidents WHERE source = 'logs' ORDER BY id")

    wait_for(lambda: len(log_incidents()) >= 1, 90, "a log incident opened by the burst")
    assert {i["service"] for i in log_incidents()} == {"payments-api"}

    # The metric alert on the same service while the log incident is open; and one on another.
    started = T0 + timedelta(minutes=11)
    post(api, notification("firing", fingerprint="ab01", service="payments-api", starts_at=started))
    post(api, notification("firing", fingerprint="ab02", service="checkout", starts_at=started))
    wait_for(
        lambda: None not in (alert_incident(settings, "ab01"), alert_incident(settings, "ab02")),
        60,
        "both alerts' incidents",
    )
    alert = alert_incident(settings, "ab01")
    assert alert is not None
    log_ids = [i["id"] for i in log_incidents()]
    assert alert["related_incident_ids"] == log_ids
    for log_incident in log_incidents():
        assert log_incident["related_incident_ids"] == [alert["id"]]
    other = alert_incident(settings, "ab02")
    assert other is not None and other["related_incident_ids"] == []

    # An operator sees the link, and the alert's labels, through the API.
    dashboard = graphql_api()
    dashboard.start()
    create_user(settings.database_url, "olivia", "ops")
    ops = as_user(dashboard.graphql_url, "olivia")
    shown = ops.run(
        "query($id: ID!) { incident(id: $id) { source labels relatedIncidentIds } }",
        id=str(alert["id"]),
    )["incident"]
    assert shown["source"] == "alertmanager"
    assert shown["labels"]["service"] == "payments-api"
    assert shown["relatedIncidentIds"] == [str(i) for i in log_ids]
    evidence = ops.run(
        "query($id: ID!) { incident(id: $id) { source relatedIncidentIds } }", id=str(log_ids[0])
    )["incident"]
    assert evidence == {"source": "logs", "relatedIncidentIds": [str(alert["id"])]}
