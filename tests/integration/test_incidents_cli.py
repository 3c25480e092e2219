"""``opsassist incidents list|ack|assign|resolve`` as a user runs them: the changes land with
the person's name and reason, a stale ``--expected-version`` is refused with a clear message
and exit 1, and so is an action the incident's status does not allow."""

from __future__ import annotations

import asyncpg
import pytest

from opsassist.settings import Settings
from tests.conftest import run_cli
from tests.integration.graphql.client import T0, create_user, insert_incident, on_database

pytestmark = pytest.mark.integration


def _incident(url: str) -> int:
    async def run(conn: asyncpg.Connection) -> int:
        return await insert_incident(conn, "pay-1", "payments-api", T0)

    return on_database(url, run)


def _state(url: str, incident_id: int) -> asyncpg.Record:
    async def run(conn: asyncpg.Connection) -> asyncpg.Record:
        row = await conn.fetchrow(
            "SELECT status, version, assignee, acknowledged_by, resolved_by, last_action::text "
            "AS last_action FROM incidents WHERE id = $1",
            incident_id,
        )
        assert row is not None
        return row

    return on_database(url, run)


def test_incidents_commands_ack_assign_and_resolve_as_the_person_named(settings: Settings) -> None:
    url = settings.database_url
    create_user(url, "oscar", "ops")
    incident_id = str(_incident(url))

    ack = run_cli(settings, "incidents", "ack", incident_id, "--by", "olivia")
    assert ack.returncode == 0, ack.stderr
    assert f"incident {incident_id} is at version 2" in ack.stdout

    assign = run_cli(
        settings, "incidents", "assign", incident_id, "oscar", "--by", "olivia",
        "--expected-version", "2",
    )  # fmt: skip
    assert assign.returncode == 0, assign.stderr

    listed = run_cli(settings, "incidents", "list", "--status", "acknowledged")
    assert listed.returncode == 0, listed.stderr
    [line] = [line for line in listed.stdout.splitlines() if "payments-api" in line]
    assert "acknowledged" in line
    assert "oscar" in line

    resolve = run_cli(
        settings, "incidents", "resolve", incident_id, "--by", "oscar",
        "--reason", "connection pool raised to 50",
    )  # fmt: skip
    assert resolve.returncode == 0, resolve.stderr
    state = _state(url, incident_id=int(incident_id))
    assert (state["status"], state["version"], state["assignee"]) == ("resolved", 4, "oscar")
    assert (state["acknowledged_by"], state["resolved_by"]) == ("user:olivia", "user:oscar")
    assert "connection pool raised to 50" in state["last_action"]


def test_incidents_commands_refuse_a_stale_version_and_a_wrong_status(settings: Settings) -> None:
    url = settings.database_url
    incident_id = str(_incident(url))

    stale = run_cli(
        settings, "incidents", "resolve", incident_id, "--by", "olivia", "--reason", "done",
        "--expected-version", "7",
    )  # fmt: skip
    assert stale.returncode == 1
    assert "is at version 1, not 7" in stale.stderr
    assert _state(url, int(incident_id))["status"] == "open"

    resolved = run_cli(
        settings, "incidents", "resolve", incident_id, "--by", "olivia", "--reason", "done"
    )
    assert resolved.returncode == 0, resolved.stderr
    again = run_cli(settings, "incidents", "ack", incident_id, "--by", "olivia")
    assert again.returncode == 1
    assert "cannot acknowledge an incident that is resolved" in again.stderr

    missing = run_cli(settings, "incidents", "ack", "999999", "--by", "olivia")
    assert missing.returncode == 1
    assert "incident 999999 does not exist" in missing.stderr
