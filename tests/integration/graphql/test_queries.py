"""Lists, history, aggregates and the N+1 check, over HTTP against the running API."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import asyncpg
import pytest

from tests.conftest import GraphqlApiProcess
from tests.integration.graphql.client import (
    T0,
    Gql,
    as_user,
    create_user,
    db_queries_so_far,
    insert_log_events,
    insert_ticket,
    on_database,
)

pytestmark = pytest.mark.integration

LOG_PAGE = """
query ($first: Int, $after: String, $filter: LogEventFilterInput) {
  logEvents(first: $first, after: $after, filter: $filter) {
    edges { cursor node { id ts level service } }
    pageInfo { hasNextPage hasPreviousPage endCursor }
  }
}
"""


@pytest.fixture
def api(graphql_api: Callable[..., GraphqlApiProcess], database_url: str) -> GraphqlApiProcess:
    create_user(database_url, "olivia", "ops")
    process = graphql_api()
    process.start()
    return process


@pytest.fixture
def ops(api: GraphqlApiProcess) -> Gql:
    return as_user(api.graphql_url, "olivia")


def test_pages_are_stable_while_rows_arrive(
    api: GraphqlApiProcess, ops: Gql, database_url: str
) -> None:
    on_database(database_url, lambda conn: insert_log_events(conn, 45))
    seen: list[str] = []
    after = None
    page_number = 0
    while True:
        page = ops.run(LOG_PAGE, first=10, after=after)["logEvents"]
        seen.extend(edge["node"]["id"] for edge in page["edges"])
        assert page["pageInfo"]["hasPreviousPage"] is (after is not None)
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
        page_number += 1
        # Between pages: newer rows (before the cursor, in newest-first order), and rows at
        # the very time of rows already seen (ties broken by id).
        on_database(
            database_url,
            lambda conn, n=page_number: insert_log_events(
                conn, 3, start=T0 + timedelta(hours=1), prefix=f"new{n}-"
            ),
        )
    original = [f"e{i:06d}" for i in range(45)]
    assert len(seen) == len(set(seen)), "a row came twice"
    assert [s for s in seen if s.startswith("e")] == list(reversed(original))
    assert not [s for s in seen if s.startswith("new")], "newer rows slipped into older pages"


def test_backwards_pages_and_foreign_cursors(ops: Gql, database_url: str) -> None:
    on_database(database_url, lambda conn: insert_log_events(conn, 12))
    first = ops.run(LOG_PAGE, first=5)["logEvents"]
    second = ops.run(LOG_PAGE, first=5, after=first["pageInfo"]["endCursor"])["logEvents"]
    back = ops.run(
        """query ($before: String) { logEvents(last: 5, before: $before) {
             nodes { id } pageInfo { hasPreviousPage hasNextPage } } }""",
        before=second["edges"][0]["cursor"],
    )["logEvents"]
    assert [n["id"] for n in back["nodes"]] == [e["node"]["id"] for e in first["edges"]]
    assert back["pageInfo"] == {"hasPreviousPage": False, "hasNextPage": True}
    ticket_cursor_query = '{ tickets(after: "%s") { nodes { id } } }'
    assert ops.codes(ticket_cursor_query % first["pageInfo"]["endCursor"]) == ["BAD_USER_INPUT"]
    assert ops.codes(ticket_cursor_query % "bm90IGEgY3Vyc29y") == ["BAD_USER_INPUT"]


def test_filters_narrow_the_list(ops: Gql, database_url: str) -> None:
    on_database(database_url, lambda conn: insert_log_events(conn, 60))
    page = ops.run(
        LOG_PAGE,
        first=100,
        filter={
            "services": ["checkout"],
            "levels": ["ERROR"],
            "since": (T0 + timedelta(seconds=10)).isoformat(),
            "until": (T0 + timedelta(seconds=40)).isoformat(),
        },
    )["logEvents"]
    # event i: service checkout when i is even, ERROR when i % 3 == 2: i % 6 == 2
    expected = [f"e{i:06d}" for i in range(39, 9, -1) if i % 6 == 2]
    assert [e["node"]["id"] for e in page["edges"]] == expected
    text = ops.run('{ logEvents(filter: {text: "REQUEST 7 "}) { nodes { id } } }')
    assert text["logEvents"]["nodes"] == [{"id": "e000007"}]
    wildcard = ops.run('{ logEvents(filter: {text: "%"}) { nodes { id } } }')
    assert wildcard["logEvents"]["nodes"] == []


def _seed_tickets(database_url: str) -> None:
    async def run(conn: asyncpg.Connection) -> None:
        for i in range(30):
            category = ("bug", "question", "hr")[i % 3]
            priority = ("P1", "P2")[i % 2]
            status = "resolved" if i % 5 == 0 else "open"
            due = T0 + timedelta(hours=i)  # all in the past
            await insert_ticket(
                conn,
                f"T-{i}",
                category=category,
                priority=priority,
                status=status,
                created_at=T0 + timedelta(minutes=20 * i),
                sla_due_at=due if i % 4 else None,
            )
        # a few updates, so that every ticket has some history
        await conn.execute("UPDATE tickets SET team = 'core' WHERE id % 2 = 0")
        await conn.execute("UPDATE tickets SET status = 'triaged' WHERE id % 7 = 0")

    on_database(database_url, run)


def test_a_page_costs_the_same_queries_whatever_its_size(
    api: GraphqlApiProcess, ops: Gql, database_url: str
) -> None:
    _seed_tickets(database_url)
    query = """
    query ($first: Int) {
      tickets(first: $first) {
        nodes { id title triage { layer } history { version changes { field after } } }
      }
    }
    """
    # The first use of a connection also introspects column types: warm up first.
    ops.run(query, first=1)
    costs = {}
    for size in (1, 2, 30):
        before = db_queries_so_far(api.url)
        nodes = ops.run(query, first=size)["tickets"]["nodes"]
        costs[size] = db_queries_so_far(api.url) - before
        assert len(nodes) == size
        assert all(node["history"] for node in nodes)
    assert costs[1] == costs[2] == costs[30], costs
    # the page and the histories, one statement each, and the reset of the pool connection
    # after each of the two
    assert costs[30] <= 4, costs


def test_sla_breaches_and_ticket_counts(ops: Gql, database_url: str) -> None:
    _seed_tickets(database_url)
    rows = on_database(
        database_url,
        lambda conn: conn.fetch(
            "SELECT status, category, priority, sla_due_at, created_at FROM tickets"
        ),
    )
    breached = sum(
        1 for r in rows if r["sla_due_at"] is not None and r["status"] not in ("resolved",)
    )
    result = ops.run("{ slaBreachCount }")
    assert result["slaBreachCount"] == breached
    listed = ops.run(
        "{ tickets(first: 100, filter: {slaBreached: true}) { nodes { slaBreached } } }"
    )
    assert len(listed["tickets"]["nodes"]) == breached
    assert all(n["slaBreached"] for n in listed["tickets"]["nodes"])

    counts = ops.run(
        """query ($since: DateTime!, $until: DateTime!) {
             ticketCounts(by: CATEGORY, bucket: HOUR, since: $since, until: $until) {
               start key count } }""",
        since=T0.isoformat(),
        until=(T0 + timedelta(days=1)).isoformat(),
    )["ticketCounts"]
    expected: Counter[tuple[str, str]] = Counter()
    for r in rows:
        hour = r["created_at"].replace(minute=0, second=0, microsecond=0)
        expected[hour.isoformat().replace("+00:00", "Z"), r["category"]] += 1
    got = {(c["start"].replace("+00:00", "Z"), c["key"]): c["count"] for c in counts}
    assert got == dict(expected)


def test_log_event_counts_per_bucket(ops: Gql, database_url: str) -> None:
    on_database(database_url, lambda conn: insert_log_events(conn, 150))
    counts = ops.run(
        """query ($since: DateTime!, $until: DateTime!) {
             logEventCounts(by: LEVEL, bucket: MINUTE, since: $since, until: $until,
                            filter: {services: ["search"]}) { start key count } }""",
        since=T0.isoformat(),
        until=(T0 + timedelta(minutes=2)).isoformat(),
    )["logEventCounts"]
    # events 0..119 fall in the two minutes; search is odd i; level = i % 3
    expected: Counter[tuple[int, str]] = Counter()
    for i in range(1, 120, 2):
        expected[i // 60, ("INFO", "WARN", "ERROR")[i % 3]] += 1
    got = {
        (0 if c["start"].startswith(T0.isoformat()[:16]) else 1, c["key"]): c["count"]
        for c in counts
    }
    assert got == dict(expected)
    too_many = ops.codes(
        """{ logEventCounts(by: LEVEL, bucket: MINUTE, since: "2026-01-01T00:00:00Z",
                            until: "2026-12-31T00:00:00Z") { count } }"""
    )
    assert too_many == ["BAD_USER_INPUT"]


def test_commits_and_changelog_releases(ops: Gql, database_url: str) -> None:
    async def seed(conn: asyncpg.Connection) -> None:
        for i in range(3):
            await conn.execute(
                """INSERT INTO commits (repo, sha, event_id, author_name, authored_at,
                   committed_at, message, source) VALUES ($1, $2, $3, 'Ann', $4, $4, $5, 'test')""",
                "acme/shop" if i < 2 else "acme/infra",
                f"{i:040x}",
                f"c{i}",
                T0 + timedelta(minutes=i),
                f"fix: bug {i}",
            )
        polish_llm = (
            '{"accepted": true, "problems": [], "llm": {"produced_by": "llm", '
            '"models": ["openai/gpt-4o-mini"]}}'
        )
        polish_refused = (
            '{"accepted": false, "problems": ["entry dropped"], "llm": {"produced_by": "llm", '
            '"models": ["openai/gpt-4o-mini"]}}'
        )
        for tag, polish in (("v1.0.0", polish_llm), ("v1.1.0", polish_refused), ("", None)):
            await conn.execute(
                """INSERT INTO changelog_releases (repo, tag, bump, commit_count, content,
                   markdown, polish, changed_by) VALUES ('acme/shop', $1, 'minor', 1, '{}', '# x',
                   $2::jsonb, 'test')""",
                tag,
                polish,
            )
        await conn.execute("UPDATE changelog_releases SET markdown = '# y' WHERE tag = 'v1.0.0'")

    on_database(database_url, seed)
    commits = ops.run(
        '{ commits(filter: {repositories: ["acme/shop"]}) { nodes { sha message } } }'
    )["commits"]["nodes"]
    assert [c["message"] for c in commits] == ["fix: bug 1", "fix: bug 0"]
    releases = ops.run(
        """{ changelogReleases(order: OLDEST_FIRST) { nodes {
             tag text { producedBy models accepted problems }
             history { version changes { field before after } } } } }"""
    )["changelogReleases"]["nodes"]
    by_tag: dict[str, Any] = {r["tag"]: r for r in releases}
    assert by_tag["v1.0.0"]["text"] == {
        "producedBy": "llm",
        "models": ["openai/gpt-4o-mini"],
        "accepted": True,
        "problems": [],
    }
    assert by_tag["v1.1.0"]["text"]["producedBy"] == "deterministic"
    assert by_tag["v1.1.0"]["text"]["problems"] == ["entry dropped"]
    assert by_tag[""]["text"] == {
        "producedBy": "deterministic",
        "models": [],
        "accepted": None,
        "problems": [],
    }
    update = by_tag["v1.0.0"]["history"][1]
    assert update == {
        "version": 2,
        "changes": [{"field": "markdown", "before": "# x", "after": "# y"}],
    }
