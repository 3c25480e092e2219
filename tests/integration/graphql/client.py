"""Helpers of the GraphQL API tests: accounts, seeded rows, and a gql client over HTTP."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx
from gql import Client, gql
from gql.transport.exceptions import TransportQueryError
from gql.transport.httpx import HTTPXTransport

from opsassist.api.graphql.sessions import hash_password
from opsassist.cli._database import on_database
from opsassist.store.users import insert_user

PASSWORD = "correct horse battery staple"
T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def create_user(database_url: str, username: str, role: str, password: str = PASSWORD) -> int:
    password_hash = hash_password(password, 4)

    async def insert(conn: asyncpg.Connection) -> int:
        return (await insert_user(conn, username, role, password_hash, "test")).id

    return on_database(database_url, insert)


class Gql:
    """A GraphQL client of one URL, as one caller (an access token, or none)."""

    def __init__(self, url: str, token: str | None = None, headers: dict[str, str] | None = None):
        self.url = url
        self.token = token
        self.headers = dict(headers or {})
        if token is not None:
            self.headers["Authorization"] = f"Bearer {token}"
        self._client = Client(
            transport=HTTPXTransport(url=url, headers=self.headers, timeout=30),
            fetch_schema_from_transport=False,
        )

    def _execute(self, query: str, variables: dict[str, Any]) -> dict[str, Any]:
        request = gql(query)
        request.variable_values = variables or None
        return self._client.execute(request)

    def run(self, query: str, **variables: Any) -> dict[str, Any]:
        """The data of a query that must succeed."""
        return self._execute(query, variables)

    def errors(self, query: str, **variables: Any) -> list[dict[str, Any]]:
        """The errors of a query that must fail."""
        try:
            data = self._execute(query, variables)
        except TransportQueryError as exc:
            assert exc.errors, exc
            return list(exc.errors)
        raise AssertionError(f"expected errors, got data {data}")

    def codes(self, query: str, **variables: Any) -> list[str | None]:
        return [(e.get("extensions") or {}).get("code") for e in self.errors(query, **variables)]

    def raw(self, body: dict[str, Any]) -> httpx.Response:
        """POST a request as given (for what a well-behaved client cannot send)."""
        return httpx.post(self.url, json=body, headers=self.headers, timeout=30)


LOGIN = """
mutation ($u: String!, $p: String!) {
  login(username: $u, password: $p) {
    __typename
    ... on AuthPayload { accessToken refreshToken user { id role } }
    ... on UserError { message }
  }
}
"""


def login(url: str, username: str, password: str = PASSWORD) -> dict[str, Any]:
    result: dict[str, Any] = Gql(url).run(LOGIN, u=username, p=password)["login"]
    return result


def as_user(url: str, username: str) -> Gql:
    payload = login(url, username)
    assert payload["__typename"] == "AuthPayload", payload
    return Gql(url, payload["accessToken"])


_TICKET = """
INSERT INTO tickets (source_system, external_id, title, body, reporter_id, status, labels,
                     created_at, updated_at, category, priority, team, triage_layer, triage,
                     triage_confidence, sla_due_at, changed_by)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8, $9, $10, $11, $12, $13, $14, $15, 'test')
RETURNING id
"""


async def insert_ticket(
    conn: asyncpg.Connection,
    external_id: str,
    *,
    title: str = "Checkout returns 500",
    body: str = "Since 9:00 every checkout fails",
    reporter: str = "jane.doe@example.com",
    status: str = "open",
    category: str | None = "bug",
    priority: str | None = "P2",
    team: str | None = "payments",
    created_at: datetime = T0,
    sla_due_at: datetime | None = None,
    layer: str = "rule",
    source: str = "jira",
) -> int:
    # the shape the worker stores (streams/agents/tickets.py)
    triage = (
        '{"explanation": {"summary": "matched rule outage", "rule": "outage", "terms": []},'
        ' "model_version": null, "notes": []}'
    )
    ticket_id: int = await conn.fetchval(
        _TICKET,
        source,
        external_id,
        title,
        body,
        reporter,
        status,
        ["checkout"],
        created_at,
        category,
        priority,
        team,
        layer,
        triage,
        0.9,
        sla_due_at,
    )
    return ticket_id


# an incident as the worker's log stage opens one (streams/agents/logs.py)
_INCIDENT = """
INSERT INTO incidents (incident_key, service, window_seconds, severity, status, last_transition,
    opened_at, last_spike_end, peak_errors, peak_ratio, template_ids, reason, narrative,
    summary_id, changed_by)
VALUES ($1, $2, 60, 'critical', 'open', 'opened', $3::timestamptz,
    $3::timestamptz + interval '1 minute', 2507, 12.05,
    ARRAY['a1b2c3'], 'error spike', 'payments-api: 2,507 errors in 1 min', $4, 'agent:logs')
RETURNING id
"""


async def insert_incident(
    conn: asyncpg.Connection,
    incident_key: str,
    service: str,
    opened_at: datetime,
    summary_id: int | None = None,
) -> int:
    incident_id: int = await conn.fetchval(_INCIDENT, incident_key, service, opened_at, summary_id)
    return incident_id


_LOG = """
INSERT INTO log_events (event_id, service, host, level, ts, message, source, occurred_at)
VALUES ($1, $2, 'host-1', $3, $4, $5, 'test', $4)
"""


async def insert_log_events(
    conn: asyncpg.Connection, count: int, *, start: datetime = T0, prefix: str = "e"
) -> None:
    levels = ("INFO", "WARN", "ERROR")
    services = ("checkout", "search")
    await conn.executemany(
        _LOG,
        [
            (
                f"{prefix}{i:06d}",
                services[i % 2],
                levels[i % 3],
                start + timedelta(seconds=i),
                f"request {i} handled",
            )
            for i in range(count)
        ],
    )


def db_queries_so_far(api_url: str) -> float:
    """The API's ``opsassist_db_queries_total``: SQL statements run so far."""
    text = httpx.get(f"{api_url}/metrics", timeout=30).text
    match = re.search(r"^opsassist_db_queries_total (\S+)$", text, re.MULTILINE)
    assert match, "the API exports no opsassist_db_queries_total"
    return float(match.group(1))
