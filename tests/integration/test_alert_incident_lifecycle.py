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
from opsassist.store.incidents import AlertIncidentRow, write_alert_incidents
from opsassist.store.pool import create_pool
from opsassist.streams.agents.alerts import ALERTS
from tests.integration.graphql.client import T0
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
