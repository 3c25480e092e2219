"""Alerts and people on one incident, in PostgreSQL: the alert stage's writes (the SQL and actor
of ``AlertHandler``: ``write_alert_incidents`` as ``agent:alerts``) keep a person's
acknowledgement, never undo a person's resolution with a repeat of the same firing alert, and
reopen it only when the alert fires anew (docs/incidents.md, "Alerts")."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

import asyncpg
import pytest

from opsassist.api.workflow.incidents import Action, IncidentChange, IncidentWorkflow, Updated
from opsassist.store.history import Actor, set_actor
from opsassist.store.incidents import AlertIncidentRow, write_alert_incidents
from opsassist.store.logs import StoredIncident, save_incident
from opsassist.store.pool import create_pool
from opsassist.streams.agents.alerts import ALERTS
from tests.integration.graphql.client import T0
from tests.integration.test_incident_lifecycle_detector import _OPENED as _LOG_INCIDENT
from tests.integration.test_incident_lifecycle_detector import _run

pytestmark = pytest.mark.integration

KEY = "alertmanager:abc123"
_FIRING = AlertIncidentRow(
    incident_key=KEY,
    service="checkout",
    severity="critical",
    status="open",
    opened_at=T0,
    last_spike_end=T0,
    resolved_at=None,
    reason="CheckoutErrorRate",
    narrative="5xx above 5%",
    labels={"alertname": "CheckoutErrorRate", "service": "checkout"},
    annotations={"summary": "5xx above 5%"},
    generator_url=None,
)
_WORSE = replace(_FIRING, narrative="5xx above 20%", annotations={"summary": "5xx above 20%"})
_RESOLVED = replace(
    _FIRING, status="resolved", resolved_at=T0 + timedelta(minutes=30),
    last_spike_end=T0 + timedelta(minutes=30),
)  # fmt: skip


async def _alert(database_url: str, row: AlertIncidentRow) -> None:
    """As the worker's alert stage applies an alert (``AlertHandler.write``), on its own pool."""
    pool = await create_pool(database_url, 1)
    try:
        await write_alert_incidents(pool, [row], ALERTS)
    finally:
        await pool.close()


async def _row(conn: asyncpg.Connection) -> dict[str, Any]:
    row = await conn.fetchrow("SELECT * FROM incidents WHERE incident_key = $1", KEY)
    assert row is not None
    return dict(row)


async def _person(conn: asyncpg.Connection, action: Action, **details: Any) -> None:
    row = await _row(conn)
    result = await IncidentWorkflow(conn).change(
        IncidentChange(
            incident_id=row["id"],
            action=action,
            expected_version=row["version"],
            idempotency_key=f"{action}-{row['version']}",
            actor="olivia",
            **details,
        )
    )
    assert isinstance(result, Updated), result


def test_an_acknowledged_alert_incident_stays_acknowledged_and_resolves_with_the_alert(
    database_url: str,
) -> None:
    async def scenario(conn: asyncpg.Connection) -> dict[str, Any]:
        await _alert(database_url, _FIRING)
        await _person(conn, Action.ACKNOWLEDGE)
        await _alert(database_url, _WORSE)
        seen = {"worse": await _row(conn)}
        await _alert(database_url, _RESOLVED)
        seen["resolved"] = await _row(conn)
        return seen

    seen = _run(database_url, scenario)
    worse = seen["worse"]
    assert (worse["status"], worse["acknowledged_by"], worse["narrative"]) == (
        "acknowledged",
        "user:olivia",
        "5xx above 20%",
    )
    assert (worse["version"], worse["changed_by"]) == (3, "agent:alerts")
    resolved = seen["resolved"]
    assert (resolved["status"], resolved["resolved_by"], resolved["acknowledged_by"]) == (
        "resolved",
        "agent:alerts",
        "user:olivia",
    )
    assert resolved["resolved_at"] == T0 + timedelta(minutes=30)
    assert '"reason": "the alert resolved in Alertmanager"' in resolved["last_action"]


def test_a_persons_resolution_outlasts_the_firing_alert_until_it_fires_anew(
    database_url: str,
) -> None:
    async def scenario(conn: asyncpg.Connection) -> dict[str, Any]:
        await _alert(database_url, _FIRING)
        await _person(conn, Action.RESOLVE, reason="known, fix deploying")
        # Alertmanager repeats the firing alert (same startsAt), then resolves it.
        await _alert(database_url, _FIRING)
        await _alert(database_url, _WORSE)
        seen = {"repeated": await _row(conn)}
        await _alert(database_url, _RESOLVED)
        seen["alert_resolved"] = await _row(conn)
        # A stale firing notification of the same episode, delivered late, changes nothing.
        await _alert(database_url, _FIRING)
        seen["stale"] = await _row(conn)
        # The alert fires again, after the person's resolution.
        again = seen["stale"]["resolved_at"] + timedelta(minutes=1)
        await _alert(database_url, replace(_FIRING, opened_at=again, last_spike_end=again))
        seen["again"] = await _row(conn)
        return seen

    seen = _run(database_url, scenario)
    for moment in ("repeated", "alert_resolved", "stale"):
        row = seen[moment]
        assert (row["status"], row["resolved_by"], row["version"]) == (
            "resolved",
            "user:olivia",
            2,
        ), moment
        assert row["narrative"] == "5xx above 5%", moment
    again = seen["again"]
    assert (again["status"], again["reopened_count"], again["resolved_at"]) == ("open", 1, None)
    assert again["version"] == 3 and again["last_transition"] == "opened"
    assert "the alert fired again after user:olivia resolved it" in again["last_action"]
    assert again["opened_at"] == T0  # the incident's first firing


def test_a_log_incident_opening_while_the_alert_fires_is_linked_to_it(database_url: str) -> None:
    """The other order than test_alert_incidents.py's: the alert first, then the log detector's
    incident (``save_incident`` as ``agent:logs``); only the same service overlapping in time."""

    def log_incident(key: str, service: str, opened_minutes: int) -> StoredIncident:
        opened = T0 + timedelta(minutes=opened_minutes)
        return replace(_LOG_INCIDENT, incident_key=key, service=service, opened_at=opened,
                       last_spike_end=opened + timedelta(minutes=1))  # fmt: skip

    async def scenario(conn: asyncpg.Connection) -> list[dict[str, Any]]:
        await _alert(database_url, _RESOLVED)  # firing T0, resolved T0 + 30 min
        for incident in (
            log_incident("during", "checkout", 10),
            log_incident("elsewhere", "payments-api", 10),
            log_incident("after", "checkout", 45),
        ):
            async with conn.transaction():
                await set_actor(conn, Actor("agent:logs"))
                await save_incident(conn, incident, "agent:logs")
        rows = await conn.fetch(
            "SELECT id, incident_key, related_incident_ids, changed_by FROM incidents ORDER BY id"
        )
        return [dict(row) for row in rows]

    alert, during, elsewhere, after = _run(database_url, scenario)
    assert alert["incident_key"] == KEY
    assert alert["related_incident_ids"] == [during["id"]]
    assert alert["changed_by"] == "agent:logs"  # the link is a version by the log detector
    assert during["related_incident_ids"] == [alert["id"]]
    assert elsewhere["related_incident_ids"] == [] and after["related_incident_ids"] == []
