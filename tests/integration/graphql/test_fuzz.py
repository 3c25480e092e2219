"""schemathesis's GraphQL mode against the running API: queries and mutations generated from
the schema, as an admin (who may call every field); none may answer a server error."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Callable

import pytest

from tests.conftest import GraphqlApiProcess
from tests.integration.graphql.client import create_user, insert_log_events, login, on_database

pytestmark = pytest.mark.integration
MIN_CASES = 1000


def test_generated_queries_never_get_a_server_error(
    graphql_api: Callable[..., GraphqlApiProcess], database_url: str, tmp_path
) -> None:
    create_user(database_url, "ada", "admin")
    on_database(database_url, lambda conn: insert_log_events(conn, 50))
    # schemathesis reads the schema by introspection, which production refuses unless enabled
    api = graphql_api(graphql_access_token_minutes=60, graphql_introspection=True)
    api.start()
    token = login(api.graphql_url, "ada")["accessToken"]
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "schemathesis.cli",
            "run",
            api.graphql_url,
            "--header",
            f"Authorization: Bearer {token}",
            "--checks",
            "not_a_server_error",
            "--max-examples",
            "60",
            "--workers",
            "2",
            "--seed",
            "1010",
            "--no-color",
        ],
        capture_output=True,
        text=True,
        timeout=1500,
        check=False,
        cwd=tmp_path,
    )
    report = run.stdout + run.stderr
    assert run.returncode == 0, report[-5000:]
    cases = re.search(r"Test cases:\s+(\d+) generated", report)
    assert cases, report[-3000:]
    assert int(cases.group(1)) >= MIN_CASES, report[-3000:]
