"""The endpoint's protections over HTTP: depth, alias, token and page-size limits, masked
errors and no GraphiQL in production."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from tests.conftest import GraphqlApiProcess
from tests.integration.graphql.client import Gql, as_user, create_user, on_database

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
