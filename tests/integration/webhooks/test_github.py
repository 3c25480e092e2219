"""GitHub deliveries over HTTP against the running API and a real Kafka broker."""

from __future__ import annotations

import copy
import json
import uuid
from typing import Any

import httpx
import pytest

from opsassist.api.webhooks.github_mapping import sign
from opsassist.schemas import CommitEvent
from opsassist.settings import PROJECT_ROOT
from tests.integration.webhooks.topic_reader import read_topic

pytestmark = pytest.mark.integration

PUSH = (PROJECT_ROOT / "tests" / "fixtures" / "webhooks" / "github_push.json").read_bytes()


def deliver(
    url: str, body: bytes, secret: str | None, event: str = "push", delivery: str | None = None
) -> httpx.Response:
    headers = {
        "Content-Type": "application/json",
        "X-GitHub-Event": event,
        "X-GitHub-Delivery": delivery or str(uuid.uuid4()),
        "User-Agent": "GitHub-Hookshot/test",
    }
    if secret is not None:
        headers["X-Hub-Signature-256"] = sign(secret, body)
    return httpx.post(f"{url}/webhooks/github", content=body, headers=headers, timeout=30)


def test_signed_push_yields_one_commit_event_per_commit_and_a_replay_produces_nothing(
    webhook_api: Any, kafka_bootstrap: str
) -> None:
    api = webhook_api()
    api.start()
    secret = api.settings.github_webhook_secret
    topic = api.settings.topic_commits
    delivery = str(uuid.uuid4())

    first = deliver(api.url, PUSH, secret, delivery=delivery)
    assert first.status_code == 202, first.text
    assert first.json()["produced"] == 2

    events = read_topic(kafka_bootstrap, topic)
    assert all(isinstance(e, CommitEvent) for e in events)
    by_sha = {e.payload.sha: e for e in events if isinstance(e, CommitEvent)}
    assert sorted(by_sha) == sorted(c["id"] for c in json.loads(PUSH)["commits"])
    fix = by_sha["a10867b14bb761a232cd80139fbd4c0d33264240"]
    assert fix.payload.repo == "Codertocat/Hello-World"
    assert fix.payload.branch == "main"
    assert fix.payload.author_name == "Codertocat"
    assert fix.payload.message.startswith("fix(checkout): round totals half-up")
    assert fix.payload.committed_at.isoformat() == "2019-05-15T20:20:30+00:00"
    assert fix.source == "webhook:github"
    assert fix.received_at is not None

    replay = deliver(api.url, PUSH, secret, delivery=delivery)
    assert replay.status_code == 202
    assert replay.headers.get("Idempotent-Replayed") == "true"
    assert replay.json() == first.json()
    assert len(read_topic(kafka_bootstrap, topic)) == 2, "the replayed delivery was produced again"


def test_forged_or_missing_signature_is_refused_and_produces_nothing(
    webhook_api: Any, kafka_bootstrap: str
) -> None:
    api = webhook_api()
    api.start()
    forged = deliver(api.url, PUSH, "not the secret")
    assert forged.status_code == 401
    assert forged.headers["content-type"] == "application/problem+json"
    assert forged.json()["status"] == 401
    assert "X-Hub-Signature-256" in forged.json()["detail"]

    tampered = PUSH.replace(b"round totals half-up", b"round totals half-down")
    headers = {
        "Content-Type": "application/json",
        "X-GitHub-Event": "push",
        "X-Hub-Signature-256": sign(api.settings.github_webhook_secret, PUSH),
    }
    resp = httpx.post(f"{api.url}/webhooks/github", content=tampered, headers=headers)
    assert resp.status_code == 401

    missing = deliver(api.url, PUSH, None)
    assert missing.status_code == 401
    assert "missing" in missing.json()["detail"]
    assert read_topic(kafka_bootstrap, api.settings.topic_commits) == []


def test_ping_is_answered_and_a_tag_push_becomes_a_release_marker(
    webhook_api: Any, kafka_bootstrap: str
) -> None:
    api = webhook_api()
    api.start()
    secret = api.settings.github_webhook_secret
    ping = json.dumps({"zen": "Keep it logically awesome.", "hook_id": 42}).encode()
    pong = deliver(api.url, ping, secret, event="ping")
    assert pong.status_code == 200
    assert pong.json()["hook_id"] == 42

    tag_push: dict[str, Any] = copy.deepcopy(json.loads(PUSH))
    tag_push.update(ref="refs/tags/v1.4.0", base_ref="refs/heads/main", commits=[])
    resp = deliver(api.url, json.dumps(tag_push).encode(), secret)
    assert resp.status_code == 202, resp.text
    (event,) = read_topic(kafka_bootstrap, api.settings.topic_commits)
    assert isinstance(event, CommitEvent)
    assert event.payload.sha == tag_push["head_commit"]["id"]
    assert event.payload.tags == ["v1.4.0"]
    assert event.payload.branch is None
