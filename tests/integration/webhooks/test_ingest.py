"""``/ingest/logs`` and ``/ingest/events`` over HTTP against the running API and real Kafka."""

from __future__ import annotations

import gzip
import json
import uuid
from typing import Any

import httpx
import pytest

from opsassist.schemas import LogEvent
from tests.integration.events import commit_event, log_event
from tests.integration.webhooks.topic_reader import read_topic

pytestmark = pytest.mark.integration

NDJSON = {"Content-Type": "application/x-ndjson"}


def test_log_lines_are_validated_one_by_one_and_gzip_is_accepted(
    webhook_api: Any, kafka_bootstrap: str
) -> None:
    api = webhook_api(scopes=("logs",))
    api.start()
    lines = [
        json.dumps({"timestamp": "2026-11-20T10:00:00Z", "level": "ERROR", "message": "db down"}),
        "",
        "{not json",
        json.dumps({"message": "no time: the request's time is used", "host": "web-2"}),
        json.dumps({"service": "", "message": "empty service"}),
        json.dumps(["an", "array"]),
    ]
    body = gzip.compress("\n".join(lines).encode())
    resp = httpx.post(
        f"{api.url}/ingest/logs?service=checkout",
        content=body,
        headers=api.headers(**NDJSON, **{"Content-Encoding": "gzip"}),
    )
    assert resp.status_code == 202, resp.text
    answer = resp.json()
    assert (answer["accepted"], answer["rejected"]) == (2, 3)
    assert [r["line"] for r in answer["rejections"]] == [3, 5, 6]
    assert "not JSON" in answer["rejections"][0]["reason"]
    assert "service" in answer["rejections"][1]["reason"]

    events = read_topic(kafka_bootstrap, api.settings.topic_logs)
    assert all(isinstance(e, LogEvent) for e in events)
    messages = sorted(e.payload.message for e in events if isinstance(e, LogEvent))
    assert messages == ["db down", "no time: the request's time is used"]
    assert {e.payload.service for e in events if isinstance(e, LogEvent)} == {"checkout"}

    text = httpx.post(
        f"{api.url}/ingest/logs?service=legacy-batch&level=INFO",
        content=b"first line\nsecond line\n",
        headers=api.headers(**{"Content-Type": "text/plain; charset=utf-8"}),
    )
    assert text.status_code == 202
    assert text.json()["accepted"] == 2
    metrics = httpx.get(f"{api.url}/metrics").text
    assert 'opsassist_webhook_events_produced_total{endpoint="logs"} 4.0' in metrics
    assert "opsassist_webhook_rejected_log_lines_total 3.0" in metrics


def test_wrong_type_too_large_and_all_rejected_bodies_get_problem_details(
    webhook_api: Any, kafka_bootstrap: str
) -> None:
    api = webhook_api(
        scopes=("logs",), webhook_max_body_bytes=4096, webhook_max_decompressed_bytes=100_000
    )
    api.start()
    url = f"{api.url}/ingest/logs?service=s"
    wrong_type = httpx.post(
        url, content=b"{}", headers=api.headers(**{"Content-Type": "image/png"})
    )
    assert wrong_type.status_code == 415
    too_large = httpx.post(url, content=b"x\n" * 4096, headers=api.headers(**NDJSON))
    assert too_large.status_code == 413
    bomb = gzip.compress(b"a" * 1_000_000)  # small as sent, far too large unpacked
    assert len(bomb) < 4096
    unpacked = httpx.post(
        url, content=bomb, headers=api.headers(**NDJSON, **{"Content-Encoding": "gzip"})
    )
    assert unpacked.status_code == 413
    all_bad = httpx.post(url, content=b"nope\n[]\n", headers=api.headers(**NDJSON))
    assert all_bad.status_code == 422
    problem = all_bad.json()
    assert problem["rejected"] == 2 and [r["line"] for r in problem["rejections"]] == [1, 2]
    for resp in (wrong_type, too_large, unpacked, all_bad):
        assert resp.headers["content-type"] == "application/problem+json"
        assert resp.json()["type"].startswith("urn:opsassist:problem:")
    assert read_topic(kafka_bootstrap, api.settings.topic_logs) == []


def test_events_single_and_batch_with_idempotency_key(
    webhook_api: Any, kafka_bootstrap: str
) -> None:
    api = webhook_api(scopes=("events",))
    api.start()
    url = f"{api.url}/ingest/events"
    single = httpx.post(url, json=log_event(1).model_dump(mode="json"), headers=api.headers())
    assert single.status_code == 202, single.text
    assert single.json() == {"produced": 1, "event_ids": ["log-1"]}

    batch = [log_event(2).model_dump(mode="json"), commit_event(3).model_dump(mode="json")]
    key = {"Idempotency-Key": str(uuid.uuid4())}
    first = httpx.post(url, json=batch, headers=api.headers(**key))
    assert first.status_code == 202
    again = httpx.post(url, json=batch, headers=api.headers(**key))
    assert again.status_code == 202 and again.headers["Idempotent-Replayed"] == "true"
    other = httpx.post(url, json=batch[:1], headers=api.headers(**key))
    assert other.status_code == 422
    assert other.json()["type"] == "urn:opsassist:problem:idempotency-key-reused"

    invalid = [log_event(4).model_dump(mode="json"), {"kind": "log", "id": "x"}]
    refused = httpx.post(url, json=invalid, headers=api.headers())
    assert refused.status_code == 422
    assert [e["index"] for e in refused.json()["errors"]] == [1]

    logs = read_topic(kafka_bootstrap, api.settings.topic_logs)
    commits = read_topic(kafka_bootstrap, api.settings.topic_commits)
    assert sorted(e.id for e in logs) == ["log-1", "log-2"], "log-4 must not be queued"
    assert [e.id for e in commits] == [commit_event(3).id]
    assert all(e.received_at is not None for e in logs)


def test_a_key_over_its_rate_limit_gets_429_with_retry_after(webhook_api: Any) -> None:
    # one token per 100 s: however slow the machine, no token comes back during the test
    api = webhook_api(webhook_rate_limit_per_second=0.01, webhook_rate_limit_burst=3)
    api.start()
    statuses = [
        httpx.post(
            f"{api.url}/ingest/events",
            json=log_event(i).model_dump(mode="json"),
            headers=api.headers(),
        )
        for i in range(5)
    ]
    assert [r.status_code for r in statuses] == [202, 202, 202, 429, 429]
    limited = statuses[3]
    assert int(limited.headers["Retry-After"]) >= 1
    assert limited.headers["content-type"] == "application/problem+json"
