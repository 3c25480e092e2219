"""The response cache and the worker processes over HTTP: a change shows after the TTL, roles
never share cached (masked) answers, mutations are never cached, and several processes serve
one port with one JWT key, summed metrics and working subscriptions."""

from __future__ import annotations

import asyncio
import re
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import asyncpg
import httpx
import psutil
import pytest
from pydantic import SecretStr

from tests.conftest import GraphqlApiProcess
from tests.integration.graphql.client import (
    create_user,
    db_queries_so_far,
    insert_ticket,
    login,
    on_database,
)
from tests.integration.graphql.test_subscriptions import _first_change, _keep_changing

pytestmark = pytest.mark.integration

TTL = 3.0  # long enough that two requests in a row fall within it on a loaded machine
TICKET = "query ($id: ID!) { ticket(id: $id) { title status maskedFields } }"
STATUS = """
mutation ($id: ID!, $status: String!, $v: Int!, $key: String!) {
  updateTicketStatus(id: $id, status: $status, expectedVersion: $v, idempotencyKey: $key) {
    __typename
    ... on TicketUpdated { ticket { status version } }
    ... on VersionConflict { currentVersion }
  }
}
"""


def _post(api: GraphqlApiProcess, token: str, query: str, **variables: Any) -> tuple[str, Any]:
    """How the cache answered (its header) and the data."""
    answer = httpx.post(
        api.graphql_url,
        json={"query": query, "variables": variables},
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert not body.get("errors"), body
    return answer.headers["x-opsassist-cache"], body["data"]


def _ticket(database_url: str, external_id: str, **fields: Any) -> int:
    async def run(conn: asyncpg.Connection) -> int:
        return await insert_ticket(conn, external_id, **fields)

    return on_database(database_url, run)


def _set_title(database_url: str, ticket_id: int, title: str) -> None:
    async def run(conn: asyncpg.Connection) -> None:
        await conn.execute("UPDATE tickets SET title = $2 WHERE id = $1", ticket_id, title)

    on_database(database_url, run)


@pytest.fixture
def api(graphql_api: Callable[..., GraphqlApiProcess], database_url: str) -> GraphqlApiProcess:
    for name, role in (("olivia", "ops"), ("harriet", "hr"), ("ada", "admin")):
        create_user(database_url, name, role)
    process = graphql_api(api_workers=1, graphql_response_cache_seconds=TTL)
    process.start()
    return process


def _token(api: GraphqlApiProcess, username: str) -> str:
    token: str = login(api.graphql_url, username)["accessToken"]
    return token


def test_a_change_shows_once_the_cached_answer_is_older_than_the_ttl(
    api: GraphqlApiProcess, database_url: str
) -> None:
    ticket_id = _ticket(database_url, "BUG-1", title="Before")
    token = _token(api, "olivia")
    assert _post(api, token, TICKET, id=str(ticket_id)) == (
        "miss",
        {"ticket": {"title": "Before", "status": "open", "maskedFields": ["reporterId"]}},
    )
    stored_at = time.monotonic()
    _set_title(database_url, ticket_id, "After")
    how, data = _post(api, token, TICKET, id=str(ticket_id))
    if time.monotonic() - stored_at < TTL:  # (a slower machine would have expired it)
        assert (how, data["ticket"]["title"]) == ("hit", "Before")
    # the same query written otherwise is the same query
    spaced = "query ($id: ID!) {\n  ticket(id: $id) {\n    title, status maskedFields\n  }\n}"
    if time.monotonic() - stored_at < TTL:
        assert _post(api, token, spaced, id=str(ticket_id))[0] == "hit"
    time.sleep(max(0.0, stored_at + TTL + 0.2 - time.monotonic()))
    assert _post(api, token, TICKET, id=str(ticket_id)) == (
        "miss",
        {"ticket": {"title": "After", "status": "open", "maskedFields": ["reporterId"]}},
    )
    # other variables are another query
    assert _post(api, token, TICKET, id=str(ticket_id + 1000)) == ("miss", {"ticket": None})


def test_roles_never_receive_each_others_cached_answers(
    api: GraphqlApiProcess, database_url: str
) -> None:
    ticket_id = _ticket(database_url, "HR-1", category="hr", title="Complaint")
    unmasked = {"title": "Complaint", "status": "open", "maskedFields": []}
    masked = {
        "title": None,
        "status": "open",
        # comments: the conversation (issue 29), masked as the body
        "maskedFields": ["reporterId", "title", "body", "labels", "correction", "comments"],
    }
    hr, ops, admin = (_token(api, n) for n in ("harriet", "olivia", "ada"))
    assert _post(api, hr, TICKET, id=str(ticket_id)) == ("miss", {"ticket": unmasked})
    assert _post(api, ops, TICKET, id=str(ticket_id)) == ("miss", {"ticket": masked})
    assert _post(api, ops, TICKET, id=str(ticket_id)) == ("hit", {"ticket": masked})
    assert _post(api, admin, TICKET, id=str(ticket_id)) == ("miss", {"ticket": unmasked})


def test_mutations_are_never_cached_and_clear_the_cache_of_their_process(
    api: GraphqlApiProcess, database_url: str
) -> None:
    ticket_id = _ticket(database_url, "BUG-2")
    token = _token(api, "olivia")
    assert _post(api, token, TICKET, id=str(ticket_id))[0] == "miss"
    assert _post(api, token, TICKET, id=str(ticket_id))[0] == "hit"
    first = _post(api, token, STATUS, id=str(ticket_id), status="in_progress", v=1, key="a")
    assert first[0] == "bypass"
    assert first[1]["updateTicketStatus"]["__typename"] == "TicketUpdated"
    # the same mutation again executes again: its expected version is now stale
    again = _post(api, token, STATUS, id=str(ticket_id), status="in_progress", v=1, key="b")
    assert again[0] == "bypass"
    assert again[1]["updateTicketStatus"]["__typename"] == "VersionConflict"
    # and this process answers the query afresh: its client reads its own write
    how, data = _post(api, token, TICKET, id=str(ticket_id))
    assert how == "miss"
    assert data["ticket"]["status"] == first[1]["updateTicketStatus"]["ticket"]["status"]


def test_several_worker_processes_share_one_port_one_key_and_their_metrics(
    graphql_api: Callable[..., GraphqlApiProcess], database_url: str
) -> None:
    create_user(database_url, "olivia", "ops")
    ticket_id = _ticket(database_url, "BUG-3")
    # no JWT key configured: the processes must still share one, or tokens would fail on half
    api = graphql_api(
        api_workers=2, graphql_response_cache_seconds=TTL, graphql_jwt_secret=SecretStr("")
    )
    api.start()
    assert api.proc is not None
    workers = [
        c for c in psutil.Process(api.proc.pid).children() if "spawn_main" in " ".join(c.cmdline())
    ]
    assert len(workers) == 2
    token = _token(api, "olivia")
    answers = [_post(api, token, TICKET, id=str(ticket_id)) for _ in range(20)]  # new connections
    assert {data["ticket"]["status"] for _, data in answers} == {"open"}
    assert {how for how, _ in answers} <= {"miss", "hit"}
    metrics = httpx.get(f"{api.url}/metrics", timeout=30).text
    counted = sum(
        float(value)
        for value in re.findall(
            r'^opsassist_graphql_response_cache_total\{result="(?:hit|miss)"\} (\S+)$',
            metrics,
            re.MULTILINE,
        )
    )
    assert counted == 20  # both processes' counts, summed


async def test_subscriptions_work_on_every_worker_process(
    graphql_api: Callable[..., GraphqlApiProcess], database_url: str
) -> None:
    await asyncio.to_thread(create_user, database_url, "olivia", "ops")
    ticket_id = await asyncio.to_thread(_ticket, database_url, "BUG-4")
    api = graphql_api(api_workers=2)
    await asyncio.to_thread(api.start)
    token = (await asyncio.to_thread(login, api.graphql_url, "olivia"))["accessToken"]
    stop = asyncio.Event()
    changer = asyncio.create_task(_keep_changing(database_url, ticket_id, stop))
    try:
        # six subscribers on separate connections: the kernel spreads them over the processes
        seen = await asyncio.wait_for(
            asyncio.gather(*(_first_change(api, token, ticket_id) for _ in range(6))), timeout=60
        )
    finally:
        stop.set()
        await changer
    assert [change["ticket"]["externalId"] for change in seen] == ["BUG-4"] * 6


def test_fifty_clients_asking_the_same_query_at_once_cause_one_execution(
    api: GraphqlApiProcess, database_url: str
) -> None:
    ticket_id = _ticket(database_url, "BUG-5")
    token = _token(api, "olivia")
    # what one execution costs in SQL statements, once the connection knows its types
    for other in (1, 2):
        before = db_queries_so_far(api.url)
        assert _post(api, token, TICKET, id=str(ticket_id + other))[0] == "miss"
    one_execution = db_queries_so_far(api.url) - before
    assert one_execution >= 1
    before = db_queries_so_far(api.url)
    barrier = threading.Barrier(50)

    def ask(_: int) -> str:
        barrier.wait()
        return _post(api, token, TICKET, id=str(ticket_id))[0]

    with ThreadPoolExecutor(50) as pool:
        answers = Counter(pool.map(ask, range(50)))
    assert answers["miss"] == 1, answers
    assert answers["miss"] + answers["shared"] + answers["hit"] == 50, answers
    assert db_queries_so_far(api.url) - before == one_execution
