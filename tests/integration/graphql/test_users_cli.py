"""``opsassist users create``: how the first admin comes to be, then logs in over GraphQL."""

from __future__ import annotations

import os
import pwd
import subprocess
import sys
from collections.abc import Callable

import pytest

from opsassist.settings import PROJECT_ROOT
from tests.conftest import GraphqlApiProcess, settings_env
from tests.integration.graphql.client import PASSWORD, Gql, login

pytestmark = pytest.mark.integration


def _users(api: GraphqlApiProcess, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "opsassist", "users", *args],
        env={
            **settings_env(api.settings),
            "OPSASSIST_GRAPHQL_BCRYPT_ROUNDS": "4",
            "COLUMNS": "200",
        },
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=PROJECT_ROOT,
    )


def test_the_first_admin_is_created_on_the_command_line(
    graphql_api: Callable[..., GraphqlApiProcess],
) -> None:
    api = graphql_api()
    created = _users(
        api, "create", "--username", "root", "--role", "admin", "--password-stdin", stdin=PASSWORD
    )
    assert created.returncode == 0, created.stderr
    assert "role admin" in created.stderr
    again = _users(
        api, "create", "--username", "ROOT", "--role", "ops", "--password-stdin", stdin=PASSWORD
    )
    assert again.returncode == 1 and "taken" in again.stderr
    weak = _users(
        api, "create", "--username", "kim", "--role", "ops", "--password-stdin", stdin="short"
    )
    assert weak.returncode == 2 and "at least 12" in weak.stderr
    bad_role = _users(api, "create", "--username", "kim", "--role", "root", "--password-stdin")
    assert bad_role.returncode == 2
    listed = _users(api, "list")
    assert listed.returncode == 0 and "root" in listed.stdout and PASSWORD not in listed.stdout

    api.start()
    payload = login(api.graphql_url, "root")
    assert payload["__typename"] == "AuthPayload"
    assert payload["user"]["role"] == "ADMIN"


CREATED_BY = "query { viewer { history { version changedBy changeKind } } }"


def test_the_history_names_the_operator_who_created_an_account(
    graphql_api: Callable[..., GraphqlApiProcess],
) -> None:
    api = graphql_api()
    created = _users(
        api, "create", "--username", "root", "--role", "admin", "--password-stdin", stdin=PASSWORD
    )
    assert created.returncode == 0, created.stderr
    api.start()
    root = Gql(api.graphql_url, login(api.graphql_url, "root")["accessToken"])
    operator = pwd.getpwuid(os.geteuid()).pw_name  # the account this test (and the CLI) runs as
    assert root.run(CREATED_BY)["viewer"]["history"] == [
        {"version": 1, "changedBy": f"cli:{operator}", "changeKind": "insert"}
    ]
