"""asOf over HTTP: a ticket and a list of tickets exactly as they were at a time, read from
history; null before a ticket existed; masking applies to the past as to the present."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest

from tests.conftest import GraphqlApiProcess
from tests.integration.graphql.client import as_user, create_user, insert_ticket, on_database

pytestmark = pytest.mark.integration

TICKET = """
query ($id: ID!, $at: DateTime) {
  ticket(id: $id, asOf: $at) { status priority title reporterId version workflowStatus }
}
"""
LIST = """
query ($at: DateTime!, $statuses: [String!], $first: Int, $after: String, $text: String) {
  tickets(asOf: $at, filter: {statuses: $statuses, text: $text}, first: $first, after: $after) {
    nodes { externalId status version }
    pageInfo { hasNextPage endCursor }
  }
}
"""


@pytest.fixture
def api(graphql_api: Callable[..., GraphqlApiProcess], database_url: str) -> GraphqlApiProcess:
    for name, role in (("ada", "admin"), ("olivia", "ops")):
        create_user(database_url, name, role)
    process = graphql_api()
    process.start()
    return process


def _now(database_url: str) -> datetime:
    async def run(conn: Any) -> datetime:
        moment: datetime = await conn.fetchval("SELECT clock_timestamp()")
        return moment

    return on_database(database_url, run)


def _execute(database_url: str, sql: str) -> None:
    async def run(conn: Any) -> None:
        await conn.execute(sql)

    on_database(database_url, run)


def test_a_ticket_and_a_list_as_they_were(api: GraphqlApiProcess, database_url: str) -> None:
    before_all = _now(database_url)

    async def seed(conn: Any) -> dict[str, int]:
        return {
            "a": await insert_ticket(conn, "OPS-A", status="open", priority="P2"),
            "b": await insert_ticket(conn, "OPS-B", status="open", priority="P3"),
        }

    ids = on_database(database_url, seed)
    after_insert = _now(database_url)
    _execute(database_url, "UPDATE tickets SET status = 'resolved', priority = 'P1' "
                           "WHERE external_id = 'OPS-A'")  # fmt: skip
    after_update = _now(database_url)
    _execute(database_url, "UPDATE tickets SET status = 'resolved' WHERE external_id = 'OPS-B'")

    admin = as_user(api.graphql_url, "ada")
    a = str(ids["a"])
    then = admin.run(TICKET, id=a, at=after_insert.isoformat())["ticket"]
    assert (then["status"], then["priority"], then["version"]) == ("open", "P2", 1)
    assert then["title"] == "Checkout returns 500" and then["reporterId"] == "jane.doe@example.com"
    later = admin.run(TICKET, id=a, at=after_update.isoformat())["ticket"]
    assert (later["status"], later["priority"], later["version"]) == ("resolved", "P1", 2)
    assert admin.run(TICKET, id=a, at=before_all.isoformat())["ticket"] is None
    now = admin.run(TICKET, id=a)["ticket"]
    assert now["status"] == "resolved"

    # the list as of after the first update: A resolved, B still open
    def page(**variables: Any) -> dict[str, Any]:
        result: dict[str, Any] = admin.run(LIST, at=after_update.isoformat(), **variables)
        return result["tickets"]

    open_then = page(statuses=["open"])
    assert [n["externalId"] for n in open_then["nodes"]] == ["OPS-B"]
    first = page(first=1)
    assert [n["externalId"] for n in first["nodes"]] == ["OPS-A"]
    assert first["pageInfo"]["hasNextPage"] is True
    second = page(first=1, after=first["pageInfo"]["endCursor"])
    assert [(n["externalId"], n["status"]) for n in second["nodes"]] == [("OPS-B", "open")]
    assert second["pageInfo"]["hasNextPage"] is False
    assert admin.run(LIST, at=before_all.isoformat())["tickets"]["nodes"] == []
    # a condition the past state cannot be filtered on is refused, saying which
    assert admin.codes(LIST, at=after_update.isoformat(), text="checkout") == ["BAD_USER_INPUT"]

    # masking applies to past states too
    ops = as_user(api.graphql_url, "olivia")
    assert ops.run(TICKET, id=a, at=after_insert.isoformat())["ticket"]["reporterId"] is None


RELEASES = """
query ($id: ID!, $at: DateTime, $repos: [String!]) {
  changelogRelease(id: $id, asOf: $at) { tag commitCount markdown present version }
  changelogReleases(asOf: $at, filter: {repositories: $repos}, first: 5) {
    nodes { id tag commitCount present }
  }
}
"""
_RELEASE = """
INSERT INTO changelog_releases (repo, tag, bump, commit_count, content, markdown, changed_by)
VALUES ('acme/shop', 'v1.2.0', 'minor', 1, '{"groups": []}', '## v1.2.0', 'agent:changelog')
RETURNING id
"""


def test_a_release_as_it_was(api: GraphqlApiProcess, database_url: str) -> None:
    before_all = _now(database_url)

    async def seed(conn: Any) -> int:
        release_id: int = await conn.fetchval(_RELEASE)
        return release_id

    release = str(on_database(database_url, seed))
    after_insert = _now(database_url)
    _execute(database_url, "UPDATE changelog_releases SET commit_count = 3, "
                           "markdown = '## v1.2.0 (3)' WHERE repo = 'acme/shop'")  # fmt: skip
    after_update = _now(database_url)
    _execute(database_url, "UPDATE changelog_releases SET present = false WHERE repo = 'acme/shop'")

    ops = as_user(api.graphql_url, "olivia")
    then = ops.run(RELEASES, id=release, at=after_insert.isoformat(), repos=["acme/shop"])
    assert then["changelogRelease"] == {
        "tag": "v1.2.0", "commitCount": 1, "markdown": "## v1.2.0", "present": True, "version": 1
    }  # fmt: skip
    assert then["changelogReleases"]["nodes"] == [
        {"id": release, "tag": "v1.2.0", "commitCount": 1, "present": True}
    ]
    later = ops.run(RELEASES, id=release, at=after_update.isoformat())
    assert later["changelogRelease"]["commitCount"] == 3
    assert later["changelogRelease"]["version"] == 2
    # removed by now: absent from the list as of now (as from the current list), unless asked
    now = _now(database_url).isoformat()
    assert ops.run(RELEASES, id=release, at=now)["changelogReleases"]["nodes"] == []
    assert ops.run(RELEASES, id=release, at=now)["changelogRelease"]["present"] is False
    assert ops.run(RELEASES, id=release, at=before_all.isoformat()) == {
        "changelogRelease": None,
        "changelogReleases": {"nodes": []},
    }
    # one repository at most: the past states are filtered on one value
    assert ops.codes(RELEASES, id=release, at=now, repos=["a/b", "c/d"]) == ["BAD_USER_INPUT"]
    # a time without a time zone names no instant: the caller's mistake, for tickets as for all
    naive = "2026-01-05T09:00:00"
    assert set(ops.codes(RELEASES, id=release, at=naive)) == {"BAD_USER_INPUT"}
    assert ops.codes(TICKET, id=release, at=naive) == ["BAD_USER_INPUT"]


USERS = """
query ($id: ID!, $at: DateTime) {
  user(id: $id, asOf: $at) { username role disabled version }
  users(asOf: $at, first: 10) { nodes { username role } }
}
"""


def test_a_user_as_they_were_for_admins_only(api: GraphqlApiProcess, database_url: str) -> None:
    before = _now(database_url)
    kim = str(create_user(database_url, "kim", "ops"))
    after_create = _now(database_url)
    _execute(database_url, "UPDATE users SET role = 'hr', disabled_at = now() "
                           "WHERE username = 'kim'")  # fmt: skip

    admin = as_user(api.graphql_url, "ada")
    then = admin.run(USERS, id=kim, at=after_create.isoformat())
    assert then["user"] == {"username": "kim", "role": "OPS", "disabled": False, "version": 1}
    assert {"username": "kim", "role": "OPS"} in then["users"]["nodes"]
    assert admin.run(USERS, id=kim)["user"]["role"] == "HR"
    past = admin.run(USERS, id=kim, at=before.isoformat())
    assert past["user"] is None
    assert "kim" not in [n["username"] for n in past["users"]["nodes"]]
    # the past of the users is as much the admins' as their present
    ops = as_user(api.graphql_url, "olivia")
    assert ops.codes(USERS, id=kim, at=after_create.isoformat()) == ["FORBIDDEN", "FORBIDDEN"]
