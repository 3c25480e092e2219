"""The role matrix over HTTP, field by field: what admin, ops and hr see of each ticket, of
its history, and of the admin-only fields."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import asyncpg
import httpx
import pytest

from tests.conftest import GraphqlApiProcess
from tests.integration.graphql.client import (
    Gql,
    as_user,
    create_user,
    insert_ticket,
    on_database,
)

pytestmark = pytest.mark.integration

TICKET = """
query ($id: ID!) {
  ticket(id: $id) {
    title body reporterId labels status category priority team
    triage { layer explanation notes }
    maskedFields
    history { version changes { field after masked } }
  }
}
"""
BUG_TEXT = {"title": "Checkout returns 500", "body": "Since 9:00 every checkout fails"}
HR_TEXT = {"title": "Complaint about my manager", "body": "Details of the complaint"}
# What each role sees: (field -> visible?) for a bug ticket and for an HR ticket. Written out
# by hand, independently of api/graphql/masking.py, so that a changed rule fails here.
EXPECTED = {
    ("admin", "bug"): {"title", "body", "reporterId", "labels", "explanation", "notes"},
    ("hr", "bug"): {"title", "body", "reporterId", "labels", "explanation", "notes"},
    ("ops", "bug"): {"title", "body", "labels", "explanation", "notes"},
    ("admin", "hr"): {"title", "body", "reporterId", "labels", "explanation", "notes"},
    ("hr", "hr"): {"title", "body", "reporterId", "labels", "explanation", "notes"},
    ("ops", "hr"): set(),
}


@pytest.fixture
def api(graphql_api: Callable[..., GraphqlApiProcess], database_url: str) -> GraphqlApiProcess:
    for name, role in (("ada", "admin"), ("olivia", "ops"), ("harriet", "hr")):
        create_user(database_url, name, role)
    process = graphql_api()
    process.start()
    return process


def _seed(database_url: str) -> dict[str, int]:
    async def run(conn: asyncpg.Connection) -> dict[str, int]:
        bug = await insert_ticket(conn, "BUG-1", **BUG_TEXT)
        hr = await insert_ticket(conn, "HR-1", category="hr", team="people", **HR_TEXT)
        # a second version, so that history has an update to mask
        await conn.execute(
            "UPDATE tickets SET reporter_id = 'john.roe@example.com', title = title || ' (again)'"
        )
        return {"bug": bug, "hr": hr}

    return on_database(database_url, run)


def test_each_role_sees_exactly_its_fields(api: GraphqlApiProcess, database_url: str) -> None:
    ids = _seed(database_url)
    users = {"admin": "ada", "ops": "olivia", "hr": "harriet"}
    for role, username in users.items():
        client = as_user(api.graphql_url, username)
        for kind, ticket_id in ids.items():
            ticket = client.run(TICKET, id=str(ticket_id))["ticket"]
            values = {
                "title": ticket["title"],
                "body": ticket["body"],
                "reporterId": ticket["reporterId"],
                "labels": ticket["labels"],
                "explanation": ticket["triage"]["explanation"],
                "notes": ticket["triage"]["notes"],
            }
            visible = {name for name, value in values.items() if value is not None}
            assert visible == EXPECTED[role, kind], (role, kind, values)
            # what is never masked
            assert ticket["status"] == "open"
            assert ticket["category"] == ("hr" if kind == "hr" else "bug")
            assert ticket["triage"]["layer"] == "rule"
            masked = {"title", "body", "reporterId", "labels"} - visible
            if (role, kind) == ("ops", "hr"):  # null here, but masked if it held a value
                masked.add("correction")
                masked.add("comments")  # the conversation (issue 29), masked as the body
            assert set(ticket["maskedFields"]) == masked, (role, kind)
            # history hides the same fields, in every version
            for version in ticket["history"]:
                for change in version["changes"]:
                    hidden = change["field"] in masked or (
                        change["field"] == "triage" and "explanation" not in visible
                    )
                    assert change["masked"] is hidden, (role, kind, change)
                    if hidden:
                        assert change["after"] is None
            reporters = [
                c["after"]
                for v in ticket["history"]
                for c in v["changes"]
                if c["field"] == "reporterId"
            ]
            assert len(reporters) == 2
            if "reporterId" in visible:
                assert reporters == ["jane.doe@example.com", "john.roe@example.com"]


def test_a_text_search_does_not_reveal_hidden_text(
    api: GraphqlApiProcess, database_url: str
) -> None:
    _seed(database_url)
    search = '{ tickets(filter: {text: "complaint"}) { nodes { externalId } } }'
    found = {
        username: [
            n["externalId"]
            for n in as_user(api.graphql_url, username).run(search)["tickets"]["nodes"]
        ]
        for username in ("ada", "olivia", "harriet")
    }
    assert found == {"ada": ["HR-1"], "olivia": [], "harriet": ["HR-1"]}
    # ops still sees that the HR ticket exists (without its text)
    listing = as_user(api.graphql_url, "olivia").run(
        '{ tickets(filter: {categories: ["hr"]}) { nodes { externalId title } } }'
    )
    assert listing["tickets"]["nodes"] == [{"externalId": "HR-1", "title": None}]


ADMIN_ONLY = {
    "users": "{ users { nodes { username role } } }",
    "user": '{ user(id: "1") { username } }',
    "apiKeys": "{ apiKeys { name } }",
    "createApiKey": 'mutation { createApiKey(name: "k", scopes: ["logs"]) { __typename } }',
    "revokeApiKey": 'mutation { revokeApiKey(key: "k") { __typename } }',
}


def test_users_and_api_keys_are_for_admins_only(api: GraphqlApiProcess) -> None:
    for username in ("olivia", "harriet"):
        client = as_user(api.graphql_url, username)
        for name, query in ADMIN_ONLY.items():
            assert client.codes(query) == ["FORBIDDEN"], (username, name)
    admin = as_user(api.graphql_url, "ada")
    listed = admin.run(ADMIN_ONLY["users"])["users"]["nodes"]
    roles = {u["username"]: u["role"] for u in listed}
    assert roles == {"ada": "ADMIN", "olivia": "OPS", "harriet": "HR"}
    created = admin.run(
        """mutation { createApiKey(name: "github", scopes: ["events"]) {
             __typename ... on ApiKeyCreated { token apiKey { name scopes } } } }"""
    )["createApiKey"]
    assert created["__typename"] == "ApiKeyCreated"
    assert created["token"].startswith("opsa_")
    assert created["apiKey"] == {"name": "github", "scopes": ["events"]}
    keys = admin.run(ADMIN_ONLY["apiKeys"])["apiKeys"]
    assert keys == [{"name": "github"}]
    duplicate = admin.run(
        'mutation { createApiKey(name: "github", scopes: ["logs"]) { __typename } }'
    )
    assert duplicate["createApiKey"]["__typename"] == "Conflict"
    invalid = admin.run(
        """mutation { createApiKey(name: "x", scopes: ["root"]) {
             __typename ... on ValidationFailed { field } } }"""
    )
    assert invalid["createApiKey"] == {"__typename": "ValidationFailed", "field": "scopes"}
    revoked = admin.run('mutation { revokeApiKey(key: "github") { __typename } }')
    assert revoked["revokeApiKey"]["__typename"] == "ApiKeyRevoked"
    missing = admin.run('mutation { revokeApiKey(key: "github") { __typename } }')
    assert missing["revokeApiKey"]["__typename"] == "NotFound"


def test_the_created_api_key_authenticates_a_webhook_sender(
    api: GraphqlApiProcess,
) -> None:
    admin = as_user(api.graphql_url, "ada")
    token = admin.run(
        """mutation { createApiKey(name: "ci", scopes: ["logs"]) {
             ... on ApiKeyCreated { token } } }"""
    )["createApiKey"]["token"]
    auth = {"X-API-Key": token, "Content-Type": "text/plain"}
    sent = httpx.post(f"{api.url}/ingest/logs?service=s", content=b"hello\n", headers=auth)
    assert sent.status_code == 202, sent.text
    # The key is a webhook key, not a login: GraphQL does not accept it.
    assert Gql(api.graphql_url, token).codes("{ viewer { username } }") == ["UNAUTHENTICATED"]


CORRECT = """
mutation ($id: ID!, $v: Int!, $reason: String!, $category: String, $priority: String) {
  correctTriage(id: $id, expectedVersion: $v, reason: $reason, category: $category,
                priority: $priority) {
    __typename
    ... on TicketUpdated { ticket { category title body correction triage { notes } } }
    ... on UserError { message }
  }
}
"""
RETRIAGE = """
mutation ($id: ID!) {
  retriageTicket(id: $id) { __typename ... on TicketUpdated { ticket { title body } } }
}
"""
CURRENT = "query ($id: ID!) { ticket(id: $id) { version category priority title body } }"


def test_ops_may_not_correct_or_retriage_an_hr_ticket_nor_read_it_by_trying(
    api: GraphqlApiProcess, database_url: str
) -> None:
    ids = _seed(database_url)
    hr_id, bug_id = str(ids["hr"]), str(ids["bug"])
    ops, hr = as_user(api.graphql_url, "olivia"), as_user(api.graphql_url, "harriet")
    admin = as_user(api.graphql_url, "ada")
    before = admin.run(CURRENT, id=hr_id)["ticket"]

    for change in ({"category": "incident"}, {"priority": "P1"}):
        answer = ops.run(CORRECT, id=hr_id, v=before["version"], reason="mine now", **change)
        assert answer["correctTriage"]["__typename"] == "Forbidden", answer
        assert "Complaint" not in str(answer), answer
    answer = ops.run(RETRIAGE, id=hr_id)
    assert answer["retriageTicket"]["__typename"] == "Forbidden", answer
    assert admin.run(CURRENT, id=hr_id)["ticket"] == before  # nothing changed

    # ops may still correct other tickets, and route one to HR: the answer is then masked
    routed = ops.run(CORRECT, id=bug_id, v=2, reason="a personal matter", category="hr")
    assert routed["correctTriage"]["__typename"] == "TicketUpdated", routed
    assert routed["correctTriage"]["ticket"] == {
        "category": "hr", "title": None, "body": None, "correction": None,
        "triage": {"notes": None},
    }  # fmt: skip
    # hr may move a ticket out of HR, and reads it while doing so
    moved = hr.run(CORRECT, id=hr_id, v=before["version"], reason="an outage", category="incident")
    assert moved["correctTriage"]["__typename"] == "TicketUpdated", moved
    assert moved["correctTriage"]["ticket"]["body"] == HR_TEXT["body"]


CORRECTION_READ = """
query ($id: ID!) {
  ticket(id: $id) {
    correction triage { notes } maskedFields
    history { changes { field before after masked } }
  }
}
"""


def test_the_correction_of_an_hr_ticket_is_masked_for_ops(
    api: GraphqlApiProcess, database_url: str
) -> None:
    hr_id = str(_seed(database_url)["hr"])
    hr = as_user(api.graphql_url, "harriet")
    reason = "Jane is on sick leave until May"
    corrected = hr.run(CORRECT, id=hr_id, v=2, reason=reason, priority="P1")["correctTriage"]
    assert corrected["__typename"] == "TicketUpdated", corrected

    seen = {
        username: as_user(api.graphql_url, username).run(CORRECTION_READ, id=hr_id)["ticket"]
        for username in ("ada", "harriet", "olivia")
    }
    for username in ("ada", "harriet"):
        assert seen[username]["correction"]["reason"] == reason
        assert any(reason in note for note in seen[username]["triage"]["notes"])
    ops = seen["olivia"]
    assert ops["correction"] is None and ops["triage"]["notes"] is None
    assert "correction" in ops["maskedFields"]
    changes = [c for v in ops["history"] for c in v["changes"] if c["field"] == "correction"]
    assert changes and all(c["masked"] and c["after"] is None for c in changes), changes
    assert reason not in str(ops)


HISTORY_READ = """
query ($id: ID!, $at: DateTime) {
  ticket(id: $id, asOf: $at) {
    title body labels triage { explanation }
    history { version changes { field before after masked } }
  }
}
"""
LIST_AS_OF = """
query ($at: DateTime!) { tickets(asOf: $at) { nodes { externalId title body labels } } }
"""


def test_ops_never_reads_a_ticket_text_from_any_time_it_was_hr(
    api: GraphqlApiProcess, database_url: str
) -> None:
    async def seed(conn: asyncpg.Connection) -> tuple[dict[str, int], datetime]:
        was_hr = await insert_ticket(conn, "HR-2", category="hr", team="people", **HR_TEXT)
        becomes_hr = await insert_ticket(
            conn, "BUG-2", title="Printer jam", body="My manager shouts at me by the printer"
        )
        moment: datetime = await conn.fetchval("SELECT clock_timestamp()")
        # the source system rewrote HR-2 without the complaint, and it was triaged again
        await conn.execute(
            "UPDATE tickets SET category = 'bug', team = 'it', title = 'Laptop replacement', "
            "body = 'Needs a new laptop' WHERE id = $1",
            was_hr,
        )
        await conn.execute("UPDATE tickets SET category = 'hr' WHERE id = $1", becomes_hr)
        return {"was_hr": was_hr, "becomes_hr": becomes_hr}, moment

    ids, while_first_hr = on_database(database_url, seed)
    at = while_first_hr.isoformat()
    ops, admin = as_user(api.graphql_url, "olivia"), as_user(api.graphql_url, "ada")
    hr_words = ("Complaint", "complaint", "shouts")

    # the present of the ticket that stopped being HR is ops' to read, its past is not
    now = ops.run(HISTORY_READ, id=str(ids["was_hr"]))["ticket"]
    assert (now["title"], now["body"]) == ("Laptop replacement", "Needs a new laptop")
    for ticket_id in ids.values():
        for as_of in (None, at):
            ticket = ops.run(HISTORY_READ, id=str(ticket_id), at=as_of)["ticket"]
            text = [c for v in ticket["history"] for c in v["changes"] if c["field"] == "body"]
            assert text and all(c["masked"] for c in text), (ticket_id, as_of, text)
            if as_of is not None:
                assert (ticket["title"], ticket["body"], ticket["labels"]) == (None, None, None)
                assert ticket["triage"]["explanation"] is None
            assert not any(word in str(ticket) for word in hr_words), (ticket_id, as_of, ticket)
        # admin reads them all, so the queries above did ask for the text
        past = admin.run(HISTORY_READ, id=str(ticket_id), at=at)["ticket"]
        assert any(word in str(past["body"]) for word in hr_words), past
    listed = ops.run(LIST_AS_OF, at=at)["tickets"]["nodes"]
    assert [n["externalId"] for n in listed] == ["HR-2", "BUG-2"]
    assert all((n["title"], n["body"], n["labels"]) == (None, None, None) for n in listed)
