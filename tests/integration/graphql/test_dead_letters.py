"""Dead letters through the API: the worker records each one (coordinates and redacted reason,
never the bytes), an admin lists them and replays them, and the originals go back, byte for
byte, to the topics they came from."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable

import pytest

from tests.conftest import GraphqlApiProcess, wait_for
from tests.integration.events import count_rows, fetch, read_topic, send_raw
from tests.integration.graphql.client import as_user, create_user

pytestmark = pytest.mark.integration

TRACEPARENT = b"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
LIST = """
query ($codes: [String!], $replayed: Boolean) {
  deadLetters(filter: {codes: $codes, replayed: $replayed}, first: 10) {
    nodes { id sourceTopic sourceOffset code reason replayedAt replayedBy }
  }
}
"""
REPLAY = """
mutation ($ids: [ID!]!) {
  replayDeadLetters(ids: $ids) {
    __typename
    ... on DeadLettersReplayed { replayed { id replayedBy } missing }
    ... on UserError { message }
  }
}
"""


def test_an_admin_lists_and_replays_dead_letters(  # type: ignore[no-untyped-def]
    settings, worker_process, graphql_api: Callable[..., GraphqlApiProcess], database_url: str
) -> None:
    create_user(database_url, "ada", "admin")
    create_user(database_url, "olivia", "ops")
    worker = worker_process()
    worker.start()
    api = graphql_api()
    api.start()
    payload = {"service": "s", "message": "m", "timestamp": "ana@example.com"}
    bad = json.dumps({"id": "x-1", "kind": "log", "schema_version": 1, "source": "test",
                      "occurred_at": "2026-11-20T10:00:00Z", "payload": payload})  # fmt: skip
    messages = [(b"k1", b"not json"), (b"k2", bad.encode())]
    asyncio.run(send_raw(settings.kafka_bootstrap_servers, settings.topic_logs, messages,
                         headers=[("traceparent", TRACEPARENT)]))  # fmt: skip
    wait_for(lambda: count_rows(settings, "dead_letters") == 2, 60, "both dead letters recorded")

    admin = as_user(api.graphql_url, "ada")
    letters = admin.run(LIST)["deadLetters"]["nodes"]
    assert {n["code"] for n in letters} == {"invalid_json", "validation_error"}
    assert all(n["sourceTopic"] == settings.topic_logs for n in letters)
    invalid = next(n for n in letters if n["code"] == "validation_error")
    assert "ana@example.com" not in invalid["reason"]  # redacted, like every reason
    stored = asyncio.run(fetch(settings.database_url, "SELECT * FROM dead_letters"))
    assert all("ana@example.com" not in str(dict(r)) for r in stored)
    # not for other roles
    assert as_user(api.graphql_url, "olivia").codes(LIST) == ["FORBIDDEN"]

    json_letter = next(n for n in letters if n["code"] == "invalid_json")
    answer = admin.run(REPLAY, ids=[json_letter["id"], "987654"])["replayDeadLetters"]
    assert answer["__typename"] == "DeadLettersReplayed"
    assert answer["replayed"] == [{"id": json_letter["id"], "replayedBy": "user:ada"}]
    assert answer["missing"] == ["987654"]
    # the original is back on its topic, byte for byte, with its own headers
    records = asyncio.run(read_topic(settings.kafka_bootstrap_servers, settings.topic_logs, 3))
    first, again = sorted((r for r in records if r.key == b"k1"), key=lambda r: r.offset)
    assert again.value == first.value == b"not json"
    assert [k for k, _ in again.headers] == ["traceparent"]
    # the worker fails it again: the same dead letter now points at the new attempt
    wait_for(
        lambda: len(admin.run(LIST, codes=["invalid_json"])["deadLetters"]["nodes"]) == 2,
        60,
        "the replayed event dead-lettered again",
    )
    assert admin.run(LIST, replayed=True)["deadLetters"]["nodes"][0]["id"] == json_letter["id"]
    refused = admin.run(REPLAY, ids=[])["replayDeadLetters"]
    assert refused["__typename"] == "ValidationFailed"
