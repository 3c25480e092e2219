"""One trace id follows an event's whole path: the sender's W3C traceparent on a webhook, the
Kafka record's headers, the worker's log lines, the stored row, and back out of the API."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from opsassist.schemas import trace_id_from_traceparent
from tests.conftest import wait_for
from tests.integration.events import read_topic

pytestmark = pytest.mark.integration

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
TRACEPARENT = f"00-{TRACE}-00f067aa0ba902b7-01"


def test_a_traceparent_finds_the_events_path_end_to_end(  # type: ignore[no-untyped-def]
    settings, worker_process, webhook_api
) -> None:
    worker = worker_process(log_level="DEBUG")
    worker.start()
    api = webhook_api()
    api.start()
    body = (
        b'{"service": "checkout", "message": "card declined"}\n'
        b'{"service": "checkout", "message": "retrying"}\n'
    )
    answer = httpx.post(f"{api.url}/ingest/logs", content=body, headers=api.headers(**{
        "Content-Type": "application/x-ndjson", "traceparent": TRACEPARENT,
        "Idempotency-Key": "trace-test-1"}))  # fmt: skip
    assert answer.status_code == 202, answer.text
    assert answer.json()["accepted"] == 2, answer.text

    def stored() -> list[dict[str, object]]:
        found = httpx.get(f"{api.url}/traces/{TRACE}", headers=api.headers())
        assert found.status_code == 200, found.text
        rows: list[dict[str, object]] = found.json()["log_events"]
        return rows

    wait_for(lambda: len(stored()) == 2, 60, "both lines stored under the trace id")
    rows = stored()
    assert {row["kafka_topic"] for row in rows} == {settings.topic_logs}
    assert all(isinstance(row["kafka_offset"], int) for row in rows)

    records = asyncio.run(read_topic(settings.kafka_bootstrap_servers, settings.topic_logs, 2))
    for record in records:
        assert trace_id_from_traceparent(dict(record.headers)["traceparent"]) == TRACE
    ids = {row["event_id"] for row in rows}
    log_lines = [line for line in worker.log_tail(2000).splitlines() if TRACE in line]
    assert {i for i in ids if any(str(i) in line for line in log_lines)} == ids

    # reading traces needs a full-access key, and a trace id is 32 hex digits
    narrow = webhook_api(scopes=("logs",))
    narrow.start()
    assert httpx.get(f"{narrow.url}/traces/{TRACE}", headers=narrow.headers()).status_code == 403
    assert httpx.get(f"{api.url}/traces/not-a-trace", headers=api.headers()).status_code == 422
