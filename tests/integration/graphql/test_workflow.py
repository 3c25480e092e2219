"""The ticket workflow over HTTP: status changes with the expected version and an idempotency
key (two concurrent updates: one wins, the other gets a conflict with the current version),
refused transitions as typed answers, triage corrections into history, and re-triage."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from tests.conftest import GraphqlApiProcess
from tests.integration.graphql.client import as_user, create_user, insert_ticket, on_database

pytestmark = pytest.mark.integration

UPDATE = """
mutation ($id: ID!, $status: String!, $v: Int!, $key: String!) {
  updateTicketStatus(id: $id, status: $status, expectedVersion: $v, idempotencyKey: $key) {
    __typename
    ... on TicketUpdated { ticket { version workflowStatus resolvedAt reopenedCount } }
    ... on VersionConflict { expectedVersion currentVersion currentTicket { version } message }
    ... on InvalidTransition { current requested allowed message }
    ... on UserError { message }
  }
}
"""
CORRECT = """
mutation ($id: ID!, $v: Int!, $category: String, $reason: String!) {
  correctTriage(id: $id, expectedVersion: $v, category: $category, reason: $reason) {
    __typename
    ... on TicketUpdated {
      ticket { version category humanFields correction triage { layer }
               history { changedBy changes { field after } } }
    }
    ... on UserError { message }
  }
}
"""
RETRIAGE = """
mutation ($id: ID!) {
  retriageTicket(id: $id) { __typename ... on TicketUpdated { ticket { category humanFields } } }
}
"""


@pytest.fixture
def api(graphql_api: Callable[..., GraphqlApiProcess], database_url: str) -> GraphqlApiProcess:
    for name, role in (("olivia", "ops"), ("harriet", "hr")):
        create_user(database_url, name, role)
    process = graphql_api()
    process.start()
    return process


def _ticket(database_url: str, external_id: str) -> tuple[int, int]:
    async def run(conn: Any) -> tuple[int, int]:
        ticket_id = await insert_ticket(conn, external_id, category="incident", priority="P2")
        version = await conn.fetchval("SELECT version FROM tickets WHERE id = $1", ticket_id)
        return ticket_id, version

    return on_database(database_url, run)


def test_two_concurrent_status_updates_one_wins_the_other_gets_the_current_version(
    api: GraphqlApiProcess, database_url: str
) -> None:
    ticket_id, version = _ticket(database_url, "OPS-1")
    ops, hr = as_user(api.graphql_url, "olivia"), as_user(api.graphql_url, "harriet")

    def update(client_key: tuple[Any, str]) -> dict[str, Any]:
        client, key = client_key
        answer: dict[str, Any] = client.run(
            UPDATE, id=str(ticket_id), status="in_progress", v=version, key=key
        )["updateTicketStatus"]
        return answer

    with ThreadPoolExecutor(2) as pool:
        answers = list(pool.map(update, [(ops, "key-a"), (hr, "key-b")]))
    kinds = sorted(a["__typename"] for a in answers)
    assert kinds == ["TicketUpdated", "VersionConflict"], answers
    won = next(a for a in answers if a["__typename"] == "TicketUpdated")
    lost = next(a for a in answers if a["__typename"] == "VersionConflict")
    assert won["ticket"]["workflowStatus"] == "in_progress"  # a triaged ticket, taken up
    assert lost["expectedVersion"] == version
    assert lost["currentVersion"] == won["ticket"]["version"] == lost["currentTicket"]["version"]

    # the same key and request again: the first answer, nothing changed
    winner_key = "key-a" if answers[0] is won else "key-b"
    client = ops if winner_key == "key-a" else hr
    again = update((client, winner_key))
    assert again == won
    # the key for another request: refused, typed
    reused = client.run(UPDATE, id=str(ticket_id), status="closed", v=99, key=winner_key)
    assert reused["updateTicketStatus"]["__typename"] == "IdempotencyKeyReused"

    # a move the workflow does not allow: typed, with where it may go
    current = lost["currentVersion"]
    refused = ops.run(UPDATE, id=str(ticket_id), status="closed", v=current, key="key-c")
    answer = refused["updateTicketStatus"]
    assert answer["__typename"] == "InvalidTransition"
    assert (answer["current"], answer["requested"]) == ("in_progress", "closed")
    assert "resolved" in answer["allowed"] and "closed" not in answer["allowed"]
    missing = ops.run(UPDATE, id="999999", status="triaged", v=1, key="key-d")
    assert missing["updateTicketStatus"]["__typename"] == "NotFound"


def test_a_correction_lands_in_history_and_retriage_keeps_it(
    api: GraphqlApiProcess, database_url: str
) -> None:
    ticket_id, version = _ticket(database_url, "OPS-2")
    ops = as_user(api.graphql_url, "olivia")
    answer = ops.run(
        CORRECT,
        id=str(ticket_id),
        v=version,
        category="feature_request",
        reason="asks for a new export",
    )["correctTriage"]
    assert answer["__typename"] == "TicketUpdated", answer
    ticket = answer["ticket"]
    assert ticket["category"] == "feature_request" and ticket["humanFields"] == ["category"]
    assert ticket["correction"]["by"] == "user:olivia"
    assert ticket["correction"]["reason"] == "asks for a new export"
    last = ticket["history"][-1]
    assert last["changedBy"] == "user:olivia"
    assert {"field": "category", "after": "feature_request"} in last["changes"]

    stale = ops.run(CORRECT, id=str(ticket_id), v=version, category="question", reason="again")
    assert stale["correctTriage"]["__typename"] == "VersionConflict"
    unknown = ops.run(
        CORRECT, id=str(ticket_id), v=ticket["version"], category="weather", reason="x"
    )
    assert unknown["correctTriage"]["__typename"] == "ValidationFailed"

    retriaged = ops.run(RETRIAGE, id=str(ticket_id))["retriageTicket"]
    assert retriaged["__typename"] == "TicketUpdated"
    assert retriaged["ticket"]["category"] == "feature_request"  # the person's, kept
    # re-triage is for admin and ops
    hr = as_user(api.graphql_url, "harriet")
    assert hr.codes(RETRIAGE, id=str(ticket_id)) == ["FORBIDDEN"]


HISTORY = "query ($id: ID!) { ticket(id: $id) { history { version changedBy } } }"


def test_the_history_names_the_person_who_moved_a_ticket(
    api: GraphqlApiProcess, database_url: str
) -> None:
    ticket_id, version = _ticket(database_url, "OPS-3")
    hr = as_user(api.graphql_url, "harriet")
    moved = hr.run(UPDATE, id=str(ticket_id), status="in_progress", v=version, key="key-h")
    assert moved["updateTicketStatus"]["__typename"] == "TicketUpdated", moved
    history = hr.run(HISTORY, id=str(ticket_id))["ticket"]["history"]
    assert history[-1] == {"version": version + 1, "changedBy": "user:harriet"}

    async def recorded(conn: Any) -> list[tuple[str, str | None, str | None]]:
        rows = await conn.fetch(
            "SELECT changed_by, model, prompt_version FROM ticket_changes "
            "WHERE ticket_id = $1 AND version = $2",
            ticket_id,
            version + 1,
        )
        return [tuple(row) for row in rows]

    # in the history row itself, and no model or prompt: a person made this change
    assert on_database(database_url, recorded) == [("user:harriet", None, None)]


BREACH = """
query ($id: ID!) {
  ticket(id: $id) { status workflowStatus slaBreached }
  slaBreachCount
  tickets(first: 10, filter: {slaBreached: true}) { nodes { externalId } }
}
"""


def test_a_ticket_resolved_in_the_workflow_is_no_longer_an_sla_breach(
    api: GraphqlApiProcess, database_url: str
) -> None:
    ticket_id, version = _ticket(database_url, "OPS-9")
    on_database(
        database_url,
        lambda conn: conn.execute(
            "UPDATE tickets SET sla_due_at = now() - interval '1 hour' WHERE id = $1", ticket_id
        ),
    )
    version += 1  # the UPDATE above is a version too
    ops = as_user(api.graphql_url, "olivia")

    def breach() -> tuple[bool, int, list[str]]:
        answer = ops.run(BREACH, id=str(ticket_id))
        listed = [node["externalId"] for node in answer["tickets"]["nodes"]]
        return answer["ticket"]["slaBreached"], answer["slaBreachCount"], listed

    # past due, open in the source system and in the workflow
    assert breach() == (True, 1, ["OPS-9"])
    for step, status in enumerate(("in_progress", "resolved")):
        moved = ops.run(UPDATE, id=str(ticket_id), status=status, v=version, key=f"sla-{step}")
        version = moved["updateTicketStatus"]["ticket"]["version"]
    # resolved in opsassist's workflow while the source system still says "open"
    answer = ops.run(BREACH, id=str(ticket_id))
    assert (answer["ticket"]["status"], answer["ticket"]["workflowStatus"]) == ("open", "resolved")
    assert breach() == (False, 0, [])
    # reopened: past due again
    ops.run(UPDATE, id=str(ticket_id), status="triaged", v=version, key="sla-reopen")
    assert breach() == (True, 1, ["OPS-9"])
