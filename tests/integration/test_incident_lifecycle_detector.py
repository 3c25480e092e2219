"""The detector and people on one incident, in PostgreSQL: the worker's own writes (the SQL and
actor of streams/agents/logs.py: ``save_incident`` as ``agent:logs``) never undo a person's
acknowledgement, assignment or resolution; its resolution after a quiet period is recorded as
its own, and a new spike reopens an incident a person resolved (docs/incidents.md)."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import timedelta
from typing import Any

import asyncpg
import pytest

from opsassist.api.workflow.incidents import Action, IncidentChange, IncidentWorkflow, Updated
from opsassist.store.history import Actor, set_actor
from opsassist.store.logs import StoredIncident, open_incidents, save_incident
from tests.integration.graphql.client import T0, create_user

pytestmark = pytest.mark.integration

_OPENED = StoredIncident(
    incident_key="pay-1",
    service="payments-api",
    window_seconds=60,
    severity="major",
    status="open",
    last_transition="opened",
    opened_at=T0,
    last_spike_end=T0 + timedelta(minutes=1),
    resolved_at=None,
    peak_errors=300,
    peak_ratio=6.0,
    template_ids=["a1b2c3"],
    reason="error spike",
    narrative="payments-api: 300 errors in 1 min",
    summary_id=None,
)
_SPIKED = replace(
    _OPENED, severity="critical", last_transition="updated", peak_errors=4000, peak_ratio=40.0,
    last_spike_end=T0 + timedelta(minutes=2),
)  # fmt: skip
_QUIET = replace(
    _OPENED, status="resolved", last_transition="resolved", resolved_at=T0 + timedelta(minutes=5)
)


async def _detector_writes(conn: asyncpg.Connection, incident: StoredIncident) -> None:
    """As the worker's log stage stores a transition (streams/agents/logs.py ``_store``)."""
    async with conn.transaction():
        await set_actor(conn, Actor("agent:logs"))
        await save_incident(conn, incident, "agent:logs")


async def _person(conn: asyncpg.Connection, action: Action, **details: Any) -> None:
    incident_id, version = await _current(conn)
    result = await IncidentWorkflow(conn).change(
        IncidentChange(
            incident_id=incident_id,
            action=action,
            expected_version=version,
            idempotency_key=f"{action}-{version}",
            actor="olivia",
            **details,
        )
    )
    assert isinstance(result, Updated), result


async def _current(conn: asyncpg.Connection) -> tuple[int, int]:
    row = await conn.fetchrow("SELECT id, version FROM incidents WHERE incident_key = 'pay-1'")
    assert row is not None
    return row["id"], row["version"]


async def _row(conn: asyncpg.Connection) -> dict[str, Any]:
    row = await conn.fetchrow("SELECT * FROM incidents WHERE incident_key = 'pay-1'")
    assert row is not None
    return dict(row)


def _run(database_url: str, scenario: Any) -> Any:
    async def go() -> Any:
        conn = await asyncpg.connect(database_url)
        try:
            return await scenario(conn)
        finally:
            await conn.close()

    return asyncio.run(go())


def test_the_detector_keeps_an_acknowledgement_and_assignment_and_resolves_as_itself(
    database_url: str,
) -> None:
    create_user(database_url, "oscar", "ops")

    async def scenario(conn: asyncpg.Connection) -> dict[str, Any]:
        await _detector_writes(conn, _OPENED)
        await _person(conn, Action.ACKNOWLEDGE)
        await _person(conn, Action.ASSIGN, assignee="oscar")
        await _detector_writes(conn, _SPIKED)
        seen = {"spiked": await _row(conn)}
        seen["restored"] = await open_incidents(conn, ["payments-api"])
        await _detector_writes(conn, _QUIET)
        seen["quiet"] = await _row(conn)
        return seen

    seen = _run(database_url, scenario)

    spiked = seen["spiked"]
    assert spiked["status"] == "acknowledged"
    assert spiked["peak_errors"] == 4000
    assert (spiked["assignee"], spiked["acknowledged_by"]) == ("oscar", "user:olivia")
    assert spiked["changed_by"] == "agent:logs"
    # a restarted worker keeps watching the acknowledged incident
    assert [r["incident_key"] for r in seen["restored"]] == ["pay-1"]
    quiet = seen["quiet"]
    assert (quiet["status"], quiet["resolved_by"]) == ("resolved", "agent:logs")
    assert (quiet["assignee"], quiet["acknowledged_by"]) == ("oscar", "user:olivia")
    assert '"action": "resolved"' in quiet["last_action"]
    assert '"by": "agent:logs"' in quiet["last_action"]


def test_a_persons_resolution_outlasts_the_quiet_period_and_a_new_spike_reopens_it(
    database_url: str,
) -> None:
    async def scenario(conn: asyncpg.Connection) -> dict[str, Any]:
        await _detector_writes(conn, _OPENED)
        await _person(conn, Action.RESOLVE, reason="rolled back")
        await _detector_writes(conn, _QUIET)
        seen = {"quiet": await _row(conn)}
        await _detector_writes(conn, _SPIKED)
        seen["spiked"] = await _row(conn)
        return seen

    seen = _run(database_url, scenario)

    quiet = seen["quiet"]
    assert (quiet["status"], quiet["resolved_by"], quiet["version"]) == (
        "resolved",
        "user:olivia",
        2,
    )
    assert '"reason": "rolled back"' in quiet["last_action"]
    spiked = seen["spiked"]
    assert (spiked["status"], spiked["reopened_count"], spiked["resolved_by"]) == ("open", 1, None)
    assert spiked["resolved_at"] is None
    assert spiked["version"] == 3
    assert '"action": "reopened"' in spiked["last_action"]
    assert "user:olivia resolved it" in spiked["last_action"]
