"""Kafka down: the API answers 503 with Retry-After and never a 2xx; Kafka back: the same
requests succeed and every event they carry is in the topic. A broker of this test's own is
stopped and started again (same ports, same data)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from opsassist.api.webhooks.github_mapping import sign
from opsassist.infra.kafka import LocalKafka
from opsassist.infra.processes import free_port
from opsassist.settings import PROJECT_ROOT
from tests.conftest import ENV
from tests.integration.events import log_event
from tests.integration.webhooks.topic_reader import read_topic

pytestmark = pytest.mark.integration

PUSH = (PROJECT_ROOT / "tests" / "fixtures" / "webhooks" / "github_push.json").read_bytes()


@pytest.fixture
def own_broker(tmp_path: Path) -> Iterator[LocalKafka]:
    broker = LocalKafka(
        version=ENV.kafka_version,
        cache_dir=ENV.cache_dir,
        data_dir=tmp_path / "own-kafka",
        port=free_port(),
        controller_port=free_port(),
        heap="384m",
    )
    broker.start(timeout=120)
    try:
        yield broker
    finally:
        broker.stop()


def test_kafka_down_gives_503_and_nothing_lost_and_the_same_requests_succeed_once_it_is_back(
    webhook_api: Any, own_broker: LocalKafka
) -> None:
    api = webhook_api(
        kafka_bootstrap_servers=own_broker.bootstrap_servers,
        webhook_produce_timeout_seconds=3.0,
        webhook_retry_after_seconds=7,
    )
    api.start()
    secret = api.settings.github_webhook_secret
    warm = httpx.post(
        f"{api.url}/ingest/events", json=log_event(0).model_dump(mode="json"), headers=api.headers()
    )
    assert warm.status_code == 202, warm.text

    batch = [log_event(i).model_dump(mode="json") for i in range(1, 51)]
    events_request = {
        "url": f"{api.url}/ingest/events",
        "json": batch,
        "headers": api.headers(**{"Idempotency-Key": str(uuid.uuid4())}),
    }
    github_request = {
        "url": f"{api.url}/webhooks/github",
        "content": PUSH,
        "headers": {
            "Content-Type": "application/json",
            "X-GitHub-Event": "push",
            "X-GitHub-Delivery": str(uuid.uuid4()),
            "X-Hub-Signature-256": sign(secret, PUSH),
        },
    }

    own_broker.stop()
    for request in (events_request, github_request, events_request):
        resp = httpx.post(**request, timeout=30)  # type: ignore[arg-type]
        assert resp.status_code == 503, resp.text
        assert resp.headers["Retry-After"] == "7"
        assert resp.headers["content-type"] == "application/problem+json"
        assert "not queued" in resp.json()["detail"]

    own_broker.start(timeout=120)
    deadline = time.monotonic() + 90
    answers: dict[str, httpx.Response] = {}
    while len(answers) < 2 and time.monotonic() < deadline:
        for name, request in (("events", events_request), ("github", github_request)):
            if name in answers:
                continue
            resp = httpx.post(**request, timeout=30)  # type: ignore[arg-type]
            assert resp.status_code in (202, 503), resp.text  # never any other answer
            if resp.status_code == 202:
                answers[name] = resp
    assert set(answers) == {"events", "github"}, "the retries did not succeed once Kafka was back"
    assert answers["events"].json()["produced"] == 50
    assert answers["github"].json()["produced"] == 2

    logs = {e.id for e in read_topic(own_broker.bootstrap_servers, api.settings.topic_logs)}
    assert {f"log-{i}" for i in range(51)} <= logs, "an acknowledged event is missing"
    commits = read_topic(own_broker.bootstrap_servers, api.settings.topic_commits)
    assert {c.payload.sha for c in commits} == {  # type: ignore[union-attr]
        "a10867b14bb761a232cd80139fbd4c0d33264240",
        "b3cbd1a2c9f6e1a7d24a7c54f9a4cbbe5e2a7f10",
    }
