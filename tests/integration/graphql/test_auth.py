"""Logins over HTTP: tokens, their rotation, and the attacks a JWT API must refuse."""

from __future__ import annotations

import base64
import time
from collections.abc import Callable
from typing import Any

import jwt
import orjson
import pytest

from tests.conftest import GRAPHQL_JWT_SECRET, GraphqlApiProcess
from tests.integration.graphql.client import LOGIN, PASSWORD, Gql, as_user, create_user, login

pytestmark = pytest.mark.integration

VIEWER = "{ viewer { username role } }"
REFRESH = """
mutation ($t: String!) {
  refresh(refreshToken: $t) {
    __typename
    ... on AuthPayload { accessToken refreshToken }
    ... on UserError { message }
  }
}
"""


@pytest.fixture
def api(graphql_api: Callable[..., GraphqlApiProcess], database_url: str) -> GraphqlApiProcess:
    create_user(database_url, "root", "admin")
    create_user(database_url, "olivia", "ops")
    process = graphql_api()
    process.start()
    return process


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(data)).decode().rstrip("=")


def _claims(token: str) -> dict[str, Any]:
    return jwt.decode(token, options={"verify_signature": False})


def test_login_gives_tokens_that_identify_the_user(api: GraphqlApiProcess) -> None:
    payload = login(api.graphql_url, "OLIVIA")  # usernames compare without case
    assert payload["__typename"] == "AuthPayload"
    assert payload["user"]["role"] == "OPS"
    me = Gql(api.graphql_url, payload["accessToken"]).run(VIEWER)["viewer"]
    assert me == {"username": "olivia", "role": "OPS"}


def test_wrong_password_and_unknown_user_are_typed_failures(api: GraphqlApiProcess) -> None:
    for username, password in (("olivia", "not the password!"), ("nobody", PASSWORD)):
        result = Gql(api.graphql_url).run(LOGIN, u=username, p=password)["login"]
        assert result == {"__typename": "Unauthorized", "message": "wrong username or password"}


def test_queries_need_a_login(api: GraphqlApiProcess) -> None:
    assert Gql(api.graphql_url).codes("{ tickets { edges { cursor } } }") == ["UNAUTHENTICATED"]


def test_forged_tokens_are_refused(api: GraphqlApiProcess) -> None:
    good = login(api.graphql_url, "olivia")["accessToken"]
    claims = _claims(good)
    header, _, signature = good.split(".")
    forged = {
        "alg none": f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(claims)}.",
        "wrong key": jwt.encode(claims, "another-key-" + "x" * 40, algorithm="HS256"),
        "expired": jwt.encode(
            {**claims, "iat": int(time.time()) - 7200, "exp": int(time.time()) - 3600},
            GRAPHQL_JWT_SECRET,
            algorithm="HS256",
        ),
        "role tampered": f"{header}.{_b64({**claims, 'role': 'admin'})}.{signature}",
        "HS512 with the key": jwt.encode(claims, GRAPHQL_JWT_SECRET, algorithm="HS512"),
        "not an access token": jwt.encode(
            {**claims, "typ": "refresh"}, GRAPHQL_JWT_SECRET, algorithm="HS256"
        ),
        "garbage": "not.a.jwt",
    }
    for name, token in forged.items():
        errors = Gql(api.graphql_url, token).errors(VIEWER)
        assert [e["extensions"]["code"] for e in errors] == ["UNAUTHENTICATED"], name
    expired = Gql(api.graphql_url, forged["expired"]).errors(VIEWER)[0]["message"]
    assert "expired" in expired
    # and the genuine token still works
    assert Gql(api.graphql_url, good).run(VIEWER)["viewer"]["role"] == "OPS"


def test_refresh_rotates_and_a_reused_token_revokes_the_session(api: GraphqlApiProcess) -> None:
    client = Gql(api.graphql_url)
    first = login(api.graphql_url, "olivia")["refreshToken"]
    second = client.run(REFRESH, t=first)["refresh"]
    assert second["__typename"] == "AuthPayload"
    assert second["refreshToken"] != first
    assert Gql(api.graphql_url, second["accessToken"]).run(VIEWER)["viewer"]["username"] == "olivia"

    reused = client.run(REFRESH, t=first)["refresh"]
    assert reused["__typename"] == "Unauthorized"
    assert "already used" in reused["message"]
    # The reuse revoked the whole family: the legitimate successor is dead too.
    successor = client.run(REFRESH, t=second["refreshToken"])["refresh"]
    assert successor["__typename"] == "Unauthorized"
    assert "revoked" in successor["message"]
    # Another session of the same user is untouched.
    other = login(api.graphql_url, "olivia")["refreshToken"]
    assert client.run(REFRESH, t=other)["refresh"]["__typename"] == "AuthPayload"


def test_logout_revokes_the_refresh_token(api: GraphqlApiProcess) -> None:
    client = Gql(api.graphql_url)
    token = login(api.graphql_url, "olivia")["refreshToken"]
    tampered = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    logout = "mutation ($t: String!) { logout(refreshToken: $t) { __typename } }"
    assert client.run(logout, t=tampered)["logout"]["__typename"] == "Unauthorized"
    assert client.run(logout, t=token)["logout"]["__typename"] == "LoggedOut"
    assert client.run(REFRESH, t=token)["refresh"]["__typename"] == "Unauthorized"


SIGNUP = """
mutation ($u: String!, $p: String!, $r: Role) {
  signup(username: $u, password: $p, role: $r) {
    __typename
    ... on SignupSuccess { user { username role } }
    ... on UserError { message }
    ... on ValidationFailed { field }
  }
}
"""


def test_signup_is_closed_unless_an_admin_signs_someone_up(api: GraphqlApiProcess) -> None:
    anonymous = Gql(api.graphql_url).run(SIGNUP, u="mallory", p=PASSWORD, r="ADMIN")["signup"]
    assert anonymous["__typename"] == "Forbidden"
    admin = as_user(api.graphql_url, "root")
    created = admin.run(SIGNUP, u="harriet", p=PASSWORD, r="HR")["signup"]
    assert created == {"__typename": "SignupSuccess", "user": {"username": "harriet", "role": "HR"}}
    assert login(api.graphql_url, "harriet")["user"]["role"] == "HR"
    again = admin.run(SIGNUP, u="Harriet", p=PASSWORD, r="OPS")["signup"]
    assert again["__typename"] == "Conflict"
    short = admin.run(SIGNUP, u="kim", p="short", r="OPS")["signup"]
    assert (short["__typename"], short["field"]) == ("ValidationFailed", "password")
    # ops may not create accounts either
    ops = as_user(api.graphql_url, "olivia")
    assert ops.run(SIGNUP, u="eve", p=PASSWORD, r="OPS")["signup"]["__typename"] == "Forbidden"


def test_open_signup_gives_the_ops_role_only(
    graphql_api: Callable[..., GraphqlApiProcess],
) -> None:
    api = graphql_api(graphql_open_signup=True)
    api.start()
    client = Gql(api.graphql_url)
    escalation = client.run(SIGNUP, u="mallory", p=PASSWORD, r="ADMIN")["signup"]
    assert escalation["__typename"] == "Forbidden"
    created = client.run(SIGNUP, u="sam", p=PASSWORD, r=None)["signup"]
    assert created["user"] == {"username": "sam", "role": "OPS"}
