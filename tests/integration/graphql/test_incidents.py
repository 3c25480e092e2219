"""Incidents, window summaries and templates over HTTP, and incident changes pushed over
graphql-transport-ws: rows as the worker's log stage writes them (tables of migration 0008)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import asyncpg
import pytest
from gql import Client, gql
from gql.transport.websockets import WebsocketsTransport

from tests.conftest import GraphqlApiProcess
from tests.integration.graphql.client import (
    T0,
    as_user,
    create_user,
    insert_incident,
    login,
    on_database,
)

pytestmark = pytest.mark.integration

_SUMMARY = """
INSERT INTO log_summaries (service, window_seconds, window_start, window_end, total, errors,
    counts_by_level, baseline_errors, error_ratio, top_templates, top_error_templates,
    new_templates, narrative, summary, produced_by, provenance)
VALUES ($1, 60, $2::timestamptz, $2::timestamptz + interval '1 minute', 3214, 2507,
    '{"ERROR": 2507, "INFO": 707}', 208, 12.05, '[]', $3, '[]', $4, $5, $6, $7)
RETURNING id
"""
_TEMPLATE = """
INSERT INTO log_templates (service, template_id, template, tokens, line_count, first_seen,
    last_seen, last_used, changed_by)
VALUES ($1, $2, $3, string_to_array($3, ' '), $4, $5, $5, 1, 'agent:logs')
"""
NARRATIVE = "payments-api: 2,507 errors in 1 min, 12 times its baseline"

INCIDENTS = """
query ($statuses: [String!]) {
  incidents(filter: {statuses: $statuses, services: ["payments-api"]}, first: 10) {
    nodes {
      id service severity status lastTransition templateIds narrative version
      summary { narrative producedBy provenance llmSummary errors windowSeconds }
      history { version changedBy changeKind changes { field after } }
    }
  }
}
"""
OTHERS = """
{
  logSummaries(filter: {services: ["payments-api"]}, first: 5) {
    nodes { service producedBy narrative }
  }
  logTemplates(filter: {services: ["payments-api"], statuses: ["active"]}, first: 5) {
    nodes { templateId template lineCount status history { version changeKind } }
    pageInfo { hasNextPage }
  }
}
"""


@pytest.fixture
def api(graphql_api: Callable[..., GraphqlApiProcess], database_url: str) -> GraphqlApiProcess:
    create_user(database_url, "olivia", "ops")
    process = graphql_api()
    process.start()
    return process


def _seed(database_url: str) -> int:
    async def run(conn: asyncpg.Connection) -> int:
        llm = await conn.fetchval(
            _SUMMARY, "payments-api", T0, '[{"template_id": "a1b2c3", "count": 2507}]', NARRATIVE,
            '{"title": "Database timeouts", "cited_template_ids": ["a1b2c3"]}', "llm",
            '{"models": ["primary"], "prompts": [{"id": "summarize.incident", "version": 2}]}',
        )  # fmt: skip
        await conn.fetchval(
            _SUMMARY, "payments-api", T0 + timedelta(minutes=1), "[]", "payments-api: quiet",
            None, "deterministic", None,
        )  # fmt: skip
        incident: int = await insert_incident(conn, "pay-1", "payments-api", T0, llm)
        await conn.execute(
            "UPDATE incidents SET status = 'resolved', last_transition = 'resolved', "
            "resolved_at = $2, changed_by = 'agent:logs' WHERE id = $1",
            incident,
            T0 + timedelta(minutes=5),
        )
        for n, (template_id, template) in enumerate(
            [("a1b2c3", "Timeout connecting to <*>:<*>"), ("d4e5f6", "GET <*> 200 in <*> ms")]
        ):
            await conn.execute(_TEMPLATE, "payments-api", template_id, template, 10 + n, T0)
        return incident

    return on_database(database_url, run)


def test_incidents_summaries_and_templates_say_what_produced_them(
    api: GraphqlApiProcess, database_url: str
) -> None:
    incident_id = _seed(database_url)
    ops = as_user(api.graphql_url, "olivia")
    [incident] = ops.run(INCIDENTS, statuses=["resolved"])["incidents"]["nodes"]
    assert incident["id"] == str(incident_id)
    assert (incident["severity"], incident["status"]) == ("critical", "resolved")
    assert incident["templateIds"] == ["a1b2c3"]
    summary = incident["summary"]
    assert summary["producedBy"] == "llm" and summary["narrative"] == NARRATIVE
    assert summary["provenance"]["prompts"][0]["id"] == "summarize.incident"
    assert summary["llmSummary"]["cited_template_ids"] == ["a1b2c3"]
    history = incident["history"]
    assert [h["changeKind"] for h in history] == ["insert", "update"]
    assert {"field": "status", "after": "resolved"} in history[1]["changes"]
    assert ops.run(INCIDENTS, statuses=["open"])["incidents"]["nodes"] == []

    others = ops.run(OTHERS)
    produced = [(n["producedBy"], n["narrative"]) for n in others["logSummaries"]["nodes"]]
    assert produced == [("deterministic", "payments-api: quiet"), ("llm", NARRATIVE)]
    templates = others["logTemplates"]["nodes"]
    assert {t["templateId"] for t in templates} == {"a1b2c3", "d4e5f6"}
    assert all(t["history"][0]["changeKind"] == "insert" for t in templates)


SUBSCRIPTION = """
subscription {
  incidentChanges(services: ["payments-api"]) {
    incident { service status severity }
    change { version changedBy changeKind }
  }
}
"""


async def _keep_opening(database_url: str, stop: asyncio.Event) -> None:
    """Open incidents (another service's first) until a subscriber saw one."""
    conn = await asyncpg.connect(database_url)
    try:
        n = 0
        while not stop.is_set():
            n += 1
            await insert_incident(conn, f"other-{n}", "checkout", T0)
            await insert_incident(conn, f"pay-{n}", "payments-api", T0)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 0.3)
    finally:
        await conn.close()


async def test_subscribers_see_incidents_as_they_open(
    graphql_api: Callable[..., GraphqlApiProcess], database_url: str
) -> None:
    await asyncio.to_thread(create_user, database_url, "olivia", "ops")
    api = graphql_api()
    await asyncio.to_thread(api.start)
    token = (await asyncio.to_thread(login, api.graphql_url, "olivia"))["accessToken"]
    transport = WebsocketsTransport(
        url=api.graphql_url.replace("http://", "ws://"),
        subprotocols=[WebsocketsTransport.GRAPHQLWS_SUBPROTOCOL],
        init_payload={"Authorization": f"Bearer {token}"},
    )

    async def first() -> dict[str, Any]:
        async with Client(transport=transport) as session:
            async for result in session.subscribe(gql(SUBSCRIPTION)):
                change: dict[str, Any] = result["incidentChanges"]
                return change
        raise AssertionError("the subscription ended without a change")

    stop = asyncio.Event()
    opener = asyncio.create_task(_keep_opening(database_url, stop))
    try:
        seen = await asyncio.wait_for(first(), timeout=60)
    finally:
        stop.set()
        await opener
    assert seen["incident"] == {"service": "payments-api", "status": "open", "severity": "critical"}
    assert seen["change"] == {"version": 1, "changedBy": "agent:logs", "changeKind": "insert"}


PAST = """
query ($id: ID!, $at: DateTime) {
  incident(id: $id, asOf: $at) { status lastTransition resolvedAt version changedBy }
  incidents(asOf: $at, filter: {statuses: ["open"]}, first: 5) { nodes { id status version } }
  logTemplates(asOf: $at, filter: {services: ["payments-api"]}, first: 5) {
    nodes { templateId template status mergedInto version }
  }
}
"""


def test_incidents_and_templates_as_they_were(api: GraphqlApiProcess, database_url: str) -> None:
    async def run(conn: asyncpg.Connection) -> dict[str, Any]:
        seen: dict[str, Any] = {"before": await conn.fetchval("SELECT clock_timestamp()")}
        seen["incident"] = await insert_incident(conn, "pay-1", "payments-api", T0)
        await conn.execute(_TEMPLATE, "payments-api", "a1b2c3", "Timeout after <*> ms", 10, T0)
        seen["opened"] = await conn.fetchval("SELECT clock_timestamp()")
        await conn.execute(
            "UPDATE incidents SET status = 'resolved', last_transition = 'resolved', "
            "resolved_at = $2, changed_by = 'agent:logs' WHERE id = $1",
            seen["incident"],
            T0 + timedelta(minutes=5),
        )
        await conn.execute(
            "UPDATE log_templates SET status = 'merged', merged_into = 'f0f0f0', "
            "changed_by = 'agent:logs' WHERE template_id = 'a1b2c3'"
        )
        return seen

    seen = on_database(database_url, run)
    ops = as_user(api.graphql_url, "olivia")
    incident_id = str(seen["incident"])

    then = ops.run(PAST, id=incident_id, at=seen["opened"].isoformat())
    assert then["incident"] == {
        "status": "open",
        "lastTransition": "opened",
        "resolvedAt": None,
        "version": 1,
        "changedBy": "agent:logs",
    }
    assert then["incidents"]["nodes"] == [{"id": incident_id, "status": "open", "version": 1}]
    assert then["logTemplates"]["nodes"] == [
        {
            "templateId": "a1b2c3",
            "template": "Timeout after <*> ms",
            "status": "active",
            "mergedInto": None,
            "version": 1,
        }
    ]

    now = ops.run(PAST, id=incident_id, at=None)
    assert (now["incident"]["status"], now["incident"]["version"]) == ("resolved", 2)
    assert now["logTemplates"]["nodes"][0]["status"] == "merged"
    # a time after the last change: the current versions
    future = ops.run(PAST, id=incident_id, at=(seen["opened"] + timedelta(days=365)).isoformat())
    assert future["incident"] == now["incident"]
    assert future["incidents"]["nodes"] == []  # resolved by then
    assert future["logTemplates"]["nodes"][0]["mergedInto"] == "f0f0f0"
    # before they existed: absent
    before = ops.run(PAST, id=incident_id, at=seen["before"].isoformat())
    assert before["incident"] is None
    assert before["incidents"]["nodes"] == [] and before["logTemplates"]["nodes"] == []
    # a condition a past state cannot be filtered on is refused, saying which
    since = """query ($at: DateTime!) {
      incidents(asOf: $at, filter: {since: $at}) { nodes { id } } }"""
    assert ops.codes(since, at=seen["opened"].isoformat()) == ["BAD_USER_INPUT"]
    # a time without a time zone names no instant: refused as the caller's mistake
    naive = ops.errors(PAST, id=incident_id, at="2026-01-05T09:00:00")
    assert {e["extensions"]["code"] for e in naive} == {"BAD_USER_INPUT"}
    assert "no time zone" in naive[0]["message"]
