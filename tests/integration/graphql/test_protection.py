"""The endpoint's protections over HTTP: body, query, depth, alias, token and page-size limits,
masked errors, no GraphiQL, introspection or suggestions in production, security headers."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import re
import socket
from collections.abc import Callable
from urllib.parse import urlsplit

import httpx
import pytest
from gql import Client, gql
from gql.transport.exceptions import TransportQueryError
from gql.transport.websockets import WebsocketsTransport

from opsassist.infra.processes import free_port
from tests.conftest import GraphqlApiProcess
from tests.integration.graphql.client import PASSWORD, Gql, as_user, create_user, on_database

pytestmark = pytest.mark.integration


@pytest.fixture
def users(database_url: str) -> None:
    create_user(database_url, "olivia", "ops")


def _messages(client: Gql, query: str) -> list[str]:
    return [e["message"] for e in client.errors(query)]


def test_limits_refuse_costly_queries_before_they_run(
    graphql_api: Callable[..., GraphqlApiProcess], users: None
) -> None:
    api = graphql_api(graphql_max_depth=4, graphql_max_aliases=3, graphql_max_tokens=300)
    api.start()
    ops = as_user(api.graphql_url, "olivia")
    deep = "{ tickets { edges { node { history { changes { field } } } } } }"
    assert "exceeds maximum operation depth of 4" in _messages(ops, deep)[0]
    aliases = "{ " + " ".join(f"a{i}: viewer {{ username }}" for i in range(4)) + " }"
    assert "aliases found" in _messages(ops, aliases)[0].lower()
    tokens = "{ viewer { " + " ".join(["username"] * 300) + " } }"
    assert "token" in _messages(ops, tokens)[0].lower()
    big_page = "{ logEvents(first: 101) { nodes { id } } }"
    assert ops.codes(big_page) == ["BAD_USER_INPUT"]
    assert ops.codes("{ logEvents(last: 0) { nodes { id } } }") == ["BAD_USER_INPUT"]
    nul = '{ tickets(filter: {text: "a\\u0000b"}) { nodes { id } } }'
    assert ops.codes(nul) == ["BAD_USER_INPUT"]
    assert ops.run('{ ticket(id: "99999999999999999999") { id } }') == {"ticket": None}
    within = ops.run("{ a: viewer { username } b: viewer { username } }")
    assert within == {"a": {"username": "olivia"}, "b": {"username": "olivia"}}


def test_production_masks_unexpected_errors_and_hides_graphiql(
    graphql_api: Callable[..., GraphqlApiProcess], users: None, database_url: str
) -> None:
    api = graphql_api()
    api.start()
    ops = as_user(api.graphql_url, "olivia")
    # Database trouble the API did not expect: the commits table is gone.
    on_database(database_url, lambda conn: conn.execute("DROP TABLE commits"))
    errors = ops.errors("{ commits { nodes { sha } } }")
    assert [e["message"] for e in errors] == ["Unexpected error."]
    assert "does not exist" not in str(errors)
    # expected errors keep their message and code
    assert "between 1 and 100" in _messages(ops, "{ logEvents(first: 1000) { nodes { id } } }")[0]
    page = httpx.get(api.graphql_url, headers={"Accept": "text/html"}, timeout=5)
    assert "graphiql" not in page.text.lower()
    assert page.status_code >= 400
    # no queries by GET (a link must not run them)
    by_get = httpx.get(api.graphql_url, params={"query": "{ __typename }"}, timeout=5)
    assert by_get.status_code >= 400
    # strawberry's own refusals are problem details too, not plain text
    no_query = ops.raw({"variables": {}})
    for refused in (page, by_get, no_query):
        assert refused.headers["content-type"] == "application/problem+json", refused.text
    assert no_query.status_code == 400
    # no introspection, nor suggestions that would spell the schema out, for anyone
    for client in (Gql(api.graphql_url), ops):
        assert "introspection" in _messages(client, INTROSPECTION)[0].lower()
    misspelled = _messages(ops, MISSPELLED)[0]
    assert "Cannot query field 'viewr'" in misspelled
    assert "Did you mean" not in misspelled
    # security headers on every answer: data, problems, errors, health, metrics, HTML
    answers = [
        ops.raw({"query": "{ viewer { username } }"}),
        page,
        by_get,
        httpx.get(f"{api.url}/healthz", timeout=5),
        httpx.get(f"{api.url}/metrics", timeout=5),
        httpx.get(f"{api.url}/no-such-page", timeout=5),
    ]
    for resp in answers:
        _assert_security_headers(resp)
        assert resp.headers["content-security-policy"].startswith("default-src 'none'")
    _assert_page_runs_under_its_csp(httpx.get(f"{api.url}/docs", timeout=5))


def test_development_shows_errors_and_graphiql(
    graphql_api: Callable[..., GraphqlApiProcess], users: None, database_url: str
) -> None:
    api = graphql_api(graphql_production=False)
    api.start()
    ops = as_user(api.graphql_url, "olivia")
    on_database(database_url, lambda conn: conn.execute("DROP TABLE commits"))
    assert 'relation "commits" does not exist' in _messages(ops, "{ commits { nodes { sha } } }")[0]
    page = httpx.get(api.graphql_url, headers={"Accept": "text/html"}, timeout=5)
    assert page.status_code == 200
    assert "graphiql" in page.text.lower()
    _assert_security_headers(page)
    _assert_page_runs_under_its_csp(page)
    # development: introspection (GraphiQL's schema explorer needs it) and suggestions
    assert ops.run(INTROSPECTION) == {"__schema": {"queryType": {"name": "Query"}}}
    assert "Did you mean 'viewer'" in _messages(ops, MISSPELLED)[0]


INTROSPECTION = "{ __schema { queryType { name } } }"
MISSPELLED = "{ viewr { username } }"


def _problem(resp: httpx.Response, status: int) -> str:
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"] == "application/problem+json"
    assert resp.json()["type"] == "urn:opsassist:problem:payload-too-large"
    detail: str = resp.json()["detail"]
    return detail


def _answer_to_raw(url: str, head: bytes, body_parts: list[bytes]) -> bytes:
    """What the server answers to ``head`` and ``body_parts``, sent over a plain socket without
    ever finishing the body: an answer proves the server did not wait to read all of it."""
    parts = urlsplit(url)
    with socket.create_connection((parts.hostname, parts.port), timeout=30) as sock:
        sock.sendall(head)
        for part in body_parts:
            sock.sendall(part)
        answer = b""
        while b"\r\n\r\n" not in answer:
            chunk = sock.recv(65536)
            if not chunk:
                break
            answer += chunk
        return answer


def _subscribe(api: GraphqlApiProcess, query: str) -> str:
    """The error message the server answers to a subscription ``query`` over the WebSocket."""
    transport = WebsocketsTransport(
        url=api.graphql_url.replace("http://", "ws://"),
        subprotocols=[WebsocketsTransport.GRAPHQLWS_SUBPROTOCOL],
    )

    async def first() -> str:
        async with Client(transport=transport) as session:
            try:
                async for result in session.subscribe(gql(query)):
                    raise AssertionError(f"expected an error, got {result}")
            except TransportQueryError as exc:
                assert exc.errors
                return str(exc.errors[0]["message"])
        raise AssertionError("the subscription ended without an answer")

    return asyncio.run(first())


def test_bodies_and_queries_over_the_limits_get_413_before_they_are_read_or_parsed(
    graphql_api: Callable[..., GraphqlApiProcess], users: None
) -> None:
    api = graphql_api(graphql_max_body_bytes=64 * 1024, graphql_max_query_chars=2000)
    api.start()
    url = api.graphql_url
    ops = as_user(url, "olivia")
    big = {"query": "{ __typename }", "variables": {"pad": "x" * 100_000}}
    for headers in ({}, ops.headers):
        assert "the limit is 65536" in _problem(httpx.post(url, json=big, headers=headers), 413)

    host = f"{urlsplit(url).hostname}:{urlsplit(url).port}"
    # A declared 100 MB body is refused on its Content-Length: no byte of it is sent.
    declared = _answer_to_raw(
        url,
        f"POST /graphql HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {100 * 2**20}\r\n\r\n".encode(),
        [],
    )
    assert declared.startswith(b"HTTP/1.1 413"), declared[:200]
    # A chunked body is refused once it passes the limit, though its end never comes.
    chunk = b"x" * 16384
    chunked = _answer_to_raw(
        url,
        f"POST /graphql HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
        "Transfer-Encoding: chunked\r\n\r\n".encode(),
        [b"%x\r\n%s\r\n" % (len(chunk), chunk)] * 5,
    )
    assert chunked.startswith(b"HTTP/1.1 413"), chunked[:200]

    # A long query within the body limit is refused before it is parsed, logged in or not.
    long_query = "{ " + " " * 3000 + "__typename }"
    for client in (Gql(url), ops):
        detail = _problem(client.raw({"query": long_query}), 413)
        assert detail == f"the query is {len(long_query)} characters; the limit is 2000"
    # and over the subscriptions' WebSocket, where the answer is a GraphQL error
    # (not padded with spaces: the client prints the document again, without them)
    ids = ", ".join(f'"{i}"' for i in range(1000, 1500))
    long_subscription = (
        f"subscription {{ ticketChanges(ticketIds: [{ids}]) {{ ticket {{ id }} }} }}"
    )
    assert "the limit is 2000" in _subscribe(api, long_subscription)
    # within the limits all is as before
    assert ops.run("{ viewer { username } }") == {"viewer": {"username": "olivia"}}


def _login_as(
    url: str, username: str, password: str, address: str, query: str | None = None
) -> httpx.Response:
    """A login from ``address``, as a proxy trusted by the API (uvicorn's forwarded_allow_ips,
    127.0.0.1 by default) reports it."""
    return httpx.post(
        url,
        json={"query": query or LOGIN_AS, "variables": {"u": username, "p": password}},
        headers={"X-Forwarded-For": address},
        timeout=30,
    )


LOGIN_AS = """
mutation ($u: String!, $p: String!) { login(username: $u, password: $p) { __typename } }
"""
LOGIN_RETRY_AFTER = """
mutation ($u: String!, $p: String!) {
  login(username: $u, password: $p) { __typename ... on LoginThrottled { retryAfterSeconds } }
}
"""


def _outcome(resp: httpx.Response) -> str:
    assert resp.status_code == 200, resp.text
    typename: str = resp.json()["data"]["login"]["__typename"]
    return typename


def test_failed_logins_are_throttled_per_account_and_address_in_every_api_process(
    graphql_api: Callable[..., GraphqlApiProcess], users: None
) -> None:
    limits = {
        "graphql_login_free_failures": 3,
        "graphql_login_backoff_seconds": 600.0,
        "graphql_login_account_ceiling": 8,
    }
    first = graphql_api(**limits)
    second = graphql_api(api_port=free_port(), **limits)
    first.start()
    second.start()
    urls = [first.graphql_url, second.graphql_url]
    wrong, right = "wrong password", PASSWORD

    # Three free failures from one address, alternating between the two processes, then the
    # address waits, even with the right password, on either process.
    assert [_outcome(_login_as(urls[i % 2], "olivia", wrong, "203.0.113.1")) for i in range(3)] == [
        "Unauthorized"
    ] * 3
    for url in urls:
        assert _outcome(_login_as(url, "olivia", right, "203.0.113.1")) == "LoginThrottled"
        refused = _login_as(url, "olivia", right, "203.0.113.1", LOGIN_RETRY_AFTER)
        wait = refused.json()["data"]["login"]["retryAfterSeconds"]
        assert wait > 0
        assert refused.headers["retry-after"] == str(wait)
    # The owner, elsewhere, is not locked out by it.
    assert _outcome(_login_as(urls[1], "olivia", right, "198.51.100.7")) == "AuthPayload"

    # Aliased logins in one request count one by one.
    aliased = (
        "mutation { "
        + " ".join(
            f'a{i}: login(username: "olivia", password: "nope") {{ __typename }}' for i in range(5)
        )
        + " }"
    )
    answer = httpx.post(
        urls[0], json={"query": aliased}, headers={"X-Forwarded-For": "203.0.113.2"}, timeout=30
    ).json()["data"]
    assert [answer[f"a{i}"]["__typename"] for i in range(5)] == ["Unauthorized"] * 3 + [
        "LoginThrottled"
    ] * 2

    # Rotating addresses meets the account's ceiling (8 failures: 3 + 3 so far, 2 more here);
    # the owner's known address is exempt from it.
    assert _outcome(_login_as(urls[0], "olivia", wrong, "203.0.113.3")) == "Unauthorized"
    assert _outcome(_login_as(urls[1], "olivia", wrong, "203.0.113.4")) == "Unauthorized"
    assert _outcome(_login_as(urls[0], "olivia", right, "203.0.113.5")) == "LoginThrottled"
    assert _outcome(_login_as(urls[0], "olivia", right, "198.51.100.7")) == "AuthPayload"


def test_introspection_and_suggestions_only_where_configured(
    graphql_api: Callable[..., GraphqlApiProcess], users: None
) -> None:
    api = graphql_api(graphql_introspection=True)
    api.start()
    ops = as_user(api.graphql_url, "olivia")
    assert ops.run(INTROSPECTION) == {"__schema": {"queryType": {"name": "Query"}}}
    assert "Did you mean 'viewer'" in _messages(ops, MISSPELLED)[0]


def _allowed_sources(csp: str, directive: str) -> list[str]:
    for part in csp.split(";"):
        name, *sources = part.split()
        if name == directive:
            return sources
    raise AssertionError(f"no {directive} in {csp!r}")


def _assert_page_runs_under_its_csp(resp: httpx.Response) -> None:
    """Every script the page loads, and every inline one (by hash), is allowed by its CSP."""
    assert resp.status_code == 200
    csp = resp.headers["content-security-policy"]
    scripts = _allowed_sources(csp, "script-src")
    assert "'unsafe-inline'" not in scripts
    for src in re.findall(r'<script[^>]*\ssrc="([^"]+)"', resp.text):
        origin = "{0.scheme}://{0.netloc}".format(urlsplit(src))
        assert origin in scripts, (src, csp)
    for href in re.findall(r'<link[^>]*\shref="(https://[^"]+)"', resp.text):
        assert "{0.scheme}://{0.netloc}".format(urlsplit(href)) in csp, (href, csp)
    inline = re.findall(r"<script>(.*?)</script>", resp.text, re.DOTALL)
    assert inline, "the page has an inline script to allow"
    for script in inline:
        digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
        assert f"'sha256-{digest}'" in scripts
    assert "frame-ancestors 'none'" in csp


SECURITY_HEADERS = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
}


def _assert_security_headers(resp: httpx.Response) -> None:
    for name, value in SECURITY_HEADERS.items():
        assert resp.headers.get(name) == value, (resp.request.url, name, dict(resp.headers))
    assert "frame-ancestors 'none'" in resp.headers["content-security-policy"]
