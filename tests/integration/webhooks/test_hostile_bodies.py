"""Bodies built to break the API (JSON nested a thousand levels deep) and errors nobody planned
for: every route answers problem details, never a plain-text 500, and queues nothing."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from opsassist.cli._database import on_database
from tests.conftest import wait_for
from tests.integration.events import log_event
from tests.integration.webhooks.test_github import deliver
from tests.integration.webhooks.topic_reader import read_topic

pytestmark = pytest.mark.integration

MAX_JSON_DEPTH = 64  # the documented limit (docs/webhooks.md)
TOO_DEEP = f"JSON nested deeper than {MAX_JSON_DEPTH} levels"


def _nested(levels: int) -> str:
    """JSON text of objects nested ``levels`` deep (as text: json.dumps itself recurses)."""
    return '{"a": ' * levels + '"bottom"' + "}" * levels


def _with(document: dict[str, Any], deep: str) -> str:
    """``document`` as JSON, its "DEEP" value replaced by ``deep``."""
    return json.dumps(document).replace('"DEEP"', deep)


def _is_problem(resp: httpx.Response, status: int) -> dict[str, Any]:
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"] == "application/problem+json", resp.text
    problem: dict[str, Any] = resp.json()
    assert problem["type"].startswith("urn:opsassist:problem:")
    assert problem["status"] == status
    return problem


def test_json_nested_a_thousand_levels_gets_the_same_422_on_every_route(
    webhook_api: Any, kafka_bootstrap: str
) -> None:
    api = webhook_api()
    api.start()
    deep = _nested(1000)
    json_headers = api.headers(**{"Content-Type": "application/json"})

    logs = httpx.post(
        f"{api.url}/ingest/logs?service=s",
        content=_with({"message": "deep", "attributes": "DEEP"}, deep),
        headers=api.headers(**{"Content-Type": "application/x-ndjson"}),
        timeout=30,
    )
    assert _is_problem(logs, 422)["rejections"] == [{"line": 1, "reason": TOO_DEEP}]

    event = log_event(1).model_dump(mode="json")
    event["payload"]["attributes"] = "DEEP"
    events = httpx.post(
        f"{api.url}/ingest/events", content=_with(event, deep), headers=json_headers, timeout=30
    )
    tickets = httpx.post(
        f"{api.url}/webhooks/tickets/jira",
        content=_with({"issue": "DEEP"}, deep),
        headers=json_headers,
        timeout=30,
    )
    github = deliver(api.url, deep.encode(), api.settings.github_webhook_secret)
    graphql = httpx.post(
        f"{api.url}/graphql",
        content=_with({"query": "{ __typename }", "variables": {"deep": "DEEP"}}, deep),
        headers={"Content-Type": "application/json"},
        timeout=30,
    )
    for resp in (events, tickets, github, graphql):
        assert _is_problem(resp, 422)["detail"] == f"the body is {TOO_DEEP}"

    # Within the limit the same route takes it: the limit is depth, not the shape.
    within = _with(event, _nested(MAX_JSON_DEPTH - 3))
    accepted = httpx.post(f"{api.url}/ingest/events", content=within, headers=json_headers)
    assert accepted.status_code == 202, accepted.text
    # 202 means Kafka acknowledged it; none of the refused bodies left anything there.
    queued = read_topic(kafka_bootstrap, api.settings.topic_logs)
    assert [e.id for e in queued] == [event["id"]]


def test_an_unexpected_error_is_a_logged_problem_500_not_plain_text(
    webhook_api: Any, database_url: str
) -> None:
    api = webhook_api()
    api.start()
    # Database trouble no handler expects: the API keys' table is gone.
    on_database(database_url, lambda conn: conn.execute("DROP TABLE api_keys CASCADE"))
    resp = httpx.post(
        f"{api.url}/ingest/events",
        content=b"{}",
        headers=api.headers(**{"Content-Type": "application/json"}),
        timeout=30,
    )
    problem = _is_problem(resp, 500)
    assert problem["type"] == "urn:opsassist:problem:internal-error"
    assert "api_keys" not in resp.text  # the details are for the log, not the caller
    assert resp.headers["x-content-type-options"] == "nosniff"
    wait_for(lambda: "unexpected_error" in api.log_tail(200), 10, "the error in the API's log")
    assert "UndefinedTableError" in api.log_tail(200)
