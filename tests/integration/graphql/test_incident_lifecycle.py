"""The incident lifecycle over HTTP: acknowledge, assign, resolve and reopen with the versions
read, a stale version refused, a repeated idempotency key answered the same without a second
change, the history naming the person and the reason, and who may act (ops yes, hr no)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import asyncpg
import pytest

from tests.conftest import GraphqlApiProcess
from tests.integration.graphql.client import (
    T0,
    as_user,
    create_user,
    insert_incident,
    insert_ticket,
    on_database,
)

pytestmark = pytest.mark.integration

_ANSWER = """
    __typename
    ... on IncidentUpdated {
      incident {
        id status version assignee acknowledgedBy resolvedBy reopenedCount ticketIds notes
        lastAction
      }
    }
    ... on IncidentVersionConflict { expectedVersion currentVersion currentIncident { version } }
    ... on InvalidTransition { current requested allowed }
    ... on IdempotencyKeyReused { idempotencyKey }
    ... on UserError { message }
"""
ACK = f"""
mutation ($id: ID!, $v: Int!, $key: String!) {{
  acknowledgeIncident(id: $id, expectedVersion: $v, idempotencyKey: $key) {{ {_ANSWER} }}
}}
"""
ASSIGN = f"""
mutation ($id: ID!, $v: Int!, $key: String!, $who: String!) {{
  assignIncident(id: $id, assignee: $who, expectedVersion: $v, idempotencyKey: $key) {{
    {_ANSWER}
  }}
}}
"""
RESOLVE = f"""
mutation ($id: ID!, $v: Int!, $key: String!, $why: String!) {{
  resolveIncident(id: $id, reason: $why, expectedVersion: $v, idempotencyKey: $key) {{
    {_ANSWER}
  }}
}}
"""
REOPEN = f"""
mutation ($id: ID!, $v: Int!, $key: String!, $why: String!) {{
  reopenIncident(id: $id, reason: $why, expectedVersion: $v, idempotencyKey: $key) {{
    {_ANSWER}
  }}
}}
"""
NOTE = f"""
mutation ($id: ID!, $v: Int!, $key: String!, $text: String!) {{
  addIncidentNote(id: $id, text: $text, expectedVersion: $v, idempotencyKey: $key) {{
    {_ANSWER}
  }}
}}
"""
LINK = f"""
mutation ($id: ID!, $v: Int!, $key: String!, $ticket: ID!) {{
  linkIncidentTicket(id: $id, ticketId: $ticket, expectedVersion: $v, idempotencyKey: $key) {{
    {_ANSWER}
  }}
}}
"""
HISTORY = """
query ($id: ID!) {
  incident(id: $id) {
    version status
    history { version changedBy changes { field after } }
  }
}
"""


@pytest.fixture
def api(graphql_api: Callable[..., GraphqlApiProcess], database_url: str) -> GraphqlApiProcess:
    for name, role in (("olivia", "ops"), ("oscar", "ops"), ("harriet", "hr")):
        create_user(database_url, name, role)
    process = graphql_api()
    process.start()
    return process


def _incident(database_url: str, key: str = "pay-1") -> int:
    async def run(conn: asyncpg.Connection) -> int:
        return await insert_incident(conn, key, "payments-api", T0)

    return on_database(database_url, run)


def _versions(database_url: str, incident_id: int) -> list[int]:
    async def run(conn: asyncpg.Connection) -> list[int]:
        rows = await conn.fetch(
            "SELECT version FROM incident_changes WHERE incident_id = $1 ORDER BY version",
            incident_id,
        )
        return [r["version"] for r in rows]

    return on_database(database_url, run)


def _answer(data: dict[str, Any]) -> dict[str, Any]:
    [answer] = data.values()
    result: dict[str, Any] = answer
    return result


def test_ops_acknowledge_assign_resolve_and_reopen_with_the_versions_they_read(
    api: GraphqlApiProcess, database_url: str
) -> None:
    incident_id = str(_incident(database_url))
    ops = as_user(api.graphql_url, "olivia")

    acked = _answer(ops.run(ACK, id=incident_id, v=1, key="k-ack"))
    assert acked["__typename"] == "IncidentUpdated", acked
    assert acked["incident"]["status"] == "acknowledged"
    assert acked["incident"]["acknowledgedBy"] == "user:olivia"
    assert acked["incident"]["version"] == 2

    assigned = _answer(ops.run(ASSIGN, id=incident_id, v=2, key="k-assign", who="oscar"))
    assert assigned["__typename"] == "IncidentUpdated", assigned
    assert assigned["incident"]["assignee"] == "oscar"
    assert assigned["incident"]["status"] == "acknowledged"

    resolved = _answer(
        ops.run(RESOLVE, id=incident_id, v=3, key="k-resolve", why="rolled back 2026.12.1")
    )
    assert resolved["__typename"] == "IncidentUpdated", resolved
    incident = resolved["incident"]
    assert (incident["status"], incident["resolvedBy"], incident["version"]) == (
        "resolved",
        "user:olivia",
        4,
    )
    assert incident["lastAction"]["reason"] == "rolled back 2026.12.1"

    # an acknowledged-only action on a resolved incident is refused, saying what is allowed
    refused = _answer(ops.run(ACK, id=incident_id, v=4, key="k-ack-again"))
    assert refused["__typename"] == "InvalidTransition", refused
    assert refused["current"] == "resolved"
    assert "reopen" in refused["allowed"]
    assert "acknowledge" not in refused["allowed"]

    reopened = _answer(ops.run(REOPEN, id=incident_id, v=4, key="k-reopen", why="errors are back"))
    assert reopened["__typename"] == "IncidentUpdated", reopened
    incident = reopened["incident"]
    assert incident["status"] == "open"
    assert incident["reopenedCount"] == 1
    assert incident["acknowledgedBy"] is None
    assert incident["resolvedBy"] is None
    assert incident["assignee"] == "oscar"  # the owner stays the owner
    assert _versions(database_url, int(incident_id)) == [1, 2, 3, 4, 5]


def test_a_stale_expected_version_is_refused_and_changes_nothing(
    api: GraphqlApiProcess, database_url: str
) -> None:
    incident_id = str(_incident(database_url))
    ops, other = as_user(api.graphql_url, "olivia"), as_user(api.graphql_url, "oscar")
    assert _answer(ops.run(ACK, id=incident_id, v=1, key="first"))["__typename"] == (
        "IncidentUpdated"
    )

    late = _answer(other.run(RESOLVE, id=incident_id, v=1, key="second", why="looks fine"))

    assert late["__typename"] == "IncidentVersionConflict", late
    assert (late["expectedVersion"], late["currentVersion"]) == (1, 2)
    assert late["currentIncident"]["version"] == 2
    after = ops.run(HISTORY, id=incident_id)["incident"]
    assert (after["status"], after["version"]) == ("acknowledged", 2)


def test_a_repeated_idempotency_key_answers_the_same_without_a_second_change(
    api: GraphqlApiProcess, database_url: str
) -> None:
    incident_id = str(_incident(database_url))
    ops = as_user(api.graphql_url, "olivia")

    first = _answer(ops.run(RESOLVE, id=incident_id, v=1, key="retry-me", why="fixed"))
    again = _answer(ops.run(RESOLVE, id=incident_id, v=1, key="retry-me", why="fixed"))
    other = _answer(ops.run(RESOLVE, id=incident_id, v=1, key="retry-me", why="other reason"))

    assert first["__typename"] == again["__typename"] == "IncidentUpdated"
    assert again["incident"]["version"] == first["incident"]["version"] == 2
    assert _versions(database_url, int(incident_id)) == [1, 2]
    assert other["__typename"] == "IdempotencyKeyReused", other
    assert other["idempotencyKey"] == "retry-me"


def test_the_history_names_the_person_and_the_reason_redacted(
    api: GraphqlApiProcess, database_url: str
) -> None:
    incident_id = str(_incident(database_url))
    ops = as_user(api.graphql_url, "olivia")
    why = "customer jane.doe@example.com confirmed checkout works"

    resolved = _answer(ops.run(RESOLVE, id=incident_id, v=1, key="k1", why=why))
    assert resolved["__typename"] == "IncidentUpdated", resolved

    history = ops.run(HISTORY, id=incident_id)["incident"]["history"]
    change = history[-1]
    assert change["changedBy"] == "user:olivia"
    fields = {c["field"]: c["after"] for c in change["changes"]}
    assert fields["status"] == "resolved"
    assert fields["resolvedBy"] == "user:olivia"
    assert fields["lastAction"]["by"] == "user:olivia"
    assert fields["lastAction"]["action"] == "resolve"
    assert "confirmed checkout works" in fields["lastAction"]["reason"]
    assert "jane.doe@example.com" not in fields["lastAction"]["reason"]


def test_notes_and_ticket_links_are_versions_of_their_own(
    api: GraphqlApiProcess, database_url: str
) -> None:
    incident_id = str(_incident(database_url))

    async def ticket(conn: asyncpg.Connection) -> int:
        return await insert_ticket(conn, "OPS-9")

    ticket_id = on_database(database_url, ticket)
    ops = as_user(api.graphql_url, "olivia")

    noted = _answer(ops.run(NOTE, id=incident_id, v=1, key="n1", text="DB failover at 09:02"))
    linked = _answer(ops.run(LINK, id=incident_id, v=2, key="l1", ticket=str(ticket_id)))
    missing = _answer(ops.run(LINK, id=incident_id, v=3, key="l2", ticket="999999"))
    unknown_user = _answer(ops.run(ASSIGN, id=incident_id, v=3, key="a1", who="nobody"))

    assert noted["incident"]["notes"][0]["text"] == "DB failover at 09:02"
    assert noted["incident"]["notes"][0]["by"] == "user:olivia"
    assert linked["incident"]["ticketIds"] == [str(ticket_id)]
    assert missing["__typename"] == "ValidationFailed", missing
    assert unknown_user["__typename"] == "ValidationFailed", unknown_user
    assert _versions(database_url, int(incident_id)) == [1, 2, 3]


def test_ops_may_work_incidents_and_hr_may_not(api: GraphqlApiProcess, database_url: str) -> None:
    incident_id = str(_incident(database_url))
    hr = as_user(api.graphql_url, "harriet")

    for query, variables in (
        (ACK, {"v": 1, "key": "h1"}),
        (ASSIGN, {"v": 1, "key": "h2", "who": "harriet"}),
        (RESOLVE, {"v": 1, "key": "h3", "why": "not mine"}),
        (REOPEN, {"v": 1, "key": "h4", "why": "not mine"}),
        (NOTE, {"v": 1, "key": "h5", "text": "hello"}),
        (LINK, {"v": 1, "key": "h6", "ticket": "1"}),
    ):
        assert hr.codes(query, id=incident_id, **variables) == ["FORBIDDEN"]
    assert _versions(database_url, int(incident_id)) == [1]

    ops = as_user(api.graphql_url, "olivia")
    assert _answer(ops.run(ACK, id=incident_id, v=1, key="o1"))["__typename"] == "IncidentUpdated"
