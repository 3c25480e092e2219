"""GitLab Issue Hook and Note Hook deliveries over HTTP against the running API and a real
Kafka broker."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import httpx
import pytest

from opsassist.schemas import TicketEvent
from tests.conftest import wait_for
from tests.integration.events import fetch
from tests.integration.webhooks.topic_reader import read_topic
from tests.unit.api.issue_tracker_payloads import gitlab_issue_hook, gitlab_note_hook

pytestmark = pytest.mark.integration

TOKEN = "gitlab-hook-token-for-tests"


def deliver(
    url: str,
    payload: dict[str, Any],
    token: str | None,
    event: str = "Issue Hook",
    event_uuid: str | None = None,
) -> httpx.Response:
    headers = {
        "X-Gitlab-Event": event,
        "X-Gitlab-Event-UUID": event_uuid or str(uuid.uuid4()),
        "User-Agent": "GitLab/17.6.0",
    }
    if token is not None:
        headers["X-Gitlab-Token"] = token
    return httpx.post(f"{url}/webhooks/gitlab", json=payload, headers=headers, timeout=30)


def test_issue_and_note_hooks_become_ticket_events_and_a_redelivery_produces_nothing(
    webhook_api: Any, kafka_bootstrap: str
) -> None:
    api = webhook_api(gitlab_webhook_token=TOKEN)
    api.start()
    opened = deliver(api.url, gitlab_issue_hook(), TOKEN, event_uuid="uuid-open")
    assert opened.status_code == 202, opened.text
    assert opened.json()["produced"] == 1
    closed = deliver(
        api.url,
        gitlab_issue_hook("close", state="closed", updated_at="2026-12-02T09:00:00Z"),
        TOKEN,
    )
    assert closed.status_code == 202, closed.text
    note = deliver(api.url, gitlab_note_hook(), TOKEN, event="Note Hook")
    assert note.status_code == 202, note.text
    assert note.json()["produced"] == 1

    replay = deliver(api.url, gitlab_issue_hook(), TOKEN, event_uuid="uuid-open")
    assert replay.status_code == 202
    assert replay.headers.get("Idempotent-Replayed") == "true"
    assert replay.json() == opened.json()

    events = read_topic(kafka_bootstrap, api.settings.topic_tickets)
    tickets = sorted(
        (e.payload for e in events if isinstance(e, TicketEvent)), key=lambda t: t.updated_at
    )
    assert len(tickets) == len(events) == 3
    assert [t.status for t in tickets] == ["open", "open", "closed"]
    assert {(t.external_id, t.source_system) for t in tickets} == {("platform/auth#23", "gitlab")}
    assert all(e.source == "webhook:gitlab" for e in events)


def test_a_wrong_or_missing_token_is_refused_and_no_token_configured_refuses_everything(
    webhook_api: Any, kafka_bootstrap: str
) -> None:
    api = webhook_api(gitlab_webhook_token=TOKEN)
    api.start()
    wrong = deliver(api.url, gitlab_issue_hook(), TOKEN + "x")
    assert wrong.status_code == 401
    assert wrong.headers["content-type"] == "application/problem+json"
    assert "X-Gitlab-Token" in wrong.json()["detail"]
    missing = deliver(api.url, gitlab_issue_hook(), None)
    assert missing.status_code == 401
    assert "missing" in missing.json()["detail"]
    api.stop()  # the next API process listens on the same port

    unconfigured = webhook_api()
    unconfigured.start()
    refused = deliver(unconfigured.url, gitlab_issue_hook(), "")
    assert refused.status_code == 403
    assert "OPSASSIST_GITLAB_WEBHOOK_TOKEN" in refused.json()["detail"]
    assert read_topic(kafka_bootstrap, api.settings.topic_tickets) == []


def test_notes_on_merge_requests_and_unknown_hooks_are_answered_202_saying_they_are_ignored(
    webhook_api: Any, kafka_bootstrap: str
) -> None:
    api = webhook_api(gitlab_webhook_token=TOKEN)
    api.start()
    on_mr = deliver(api.url, gitlab_note_hook("MergeRequest"), TOKEN, event="Note Hook")
    assert on_mr.status_code == 202, on_mr.text
    assert on_mr.json()["produced"] == 0
    assert "MergeRequest" in on_mr.json()["ignored"]
    push = deliver(api.url, {"object_kind": "push"}, TOKEN, event="Push Hook")
    assert push.status_code == 202, push.text
    assert "Issue Hook" in push.json()["ignored"]
    broken = gitlab_issue_hook()
    del broken["object_attributes"]["iid"]
    invalid = deliver(api.url, broken, TOKEN)
    assert invalid.status_code == 422
    assert "iid" in invalid.json()["detail"]
    assert read_topic(kafka_bootstrap, api.settings.topic_tickets) == []


def test_a_gitlab_close_and_reopen_move_the_workflow_and_a_note_is_stored_redacted(
    settings: Any, webhook_api: Any, worker_process: Any
) -> None:
    api = webhook_api(gitlab_webhook_token=TOKEN)
    api.start()
    worker = worker_process()
    worker.start()

    def query(sql: str) -> list[Any]:
        return asyncio.run(fetch(settings.database_url, sql))

    def workflow() -> list[Any]:
        return query(
            "SELECT workflow_status FROM tickets "
            "WHERE source_system = 'gitlab' AND external_id = 'platform/auth#23'"
        )

    assert deliver(api.url, gitlab_issue_hook(), TOKEN).status_code == 202
    note = gitlab_note_hook()
    note["object_attributes"]["note"] = "Call me on +44 20 7946 0958."
    assert deliver(api.url, note, TOKEN, event="Note Hook").status_code == 202
    closed = gitlab_issue_hook("close", state="closed", updated_at="2026-12-02T09:00:00Z")
    assert deliver(api.url, closed, TOKEN).status_code == 202
    wait_for(lambda: [r["workflow_status"] for r in workflow()] == ["closed"], 60, "closed")
    reopened = gitlab_issue_hook("reopen", updated_at="2026-12-02T10:00:00Z")
    assert deliver(api.url, reopened, TOKEN).status_code == 202
    wait_for(lambda: [r["workflow_status"] for r in workflow()] == ["open"], 60, "reopened")
    changes = query(
        "SELECT c.changed_by, c.delta FROM ticket_changes c JOIN tickets t ON t.id = c.ticket_id "
        "WHERE t.external_id = 'platform/auth#23' ORDER BY c.version"
    )
    moves = [
        (c["changed_by"], json.loads(c["delta"])["workflow_status"])
        for c in changes
        if "workflow_status" in json.loads(c["delta"])
    ]
    assert moves[-2:] == [("source:gitlab", "closed"), ("source:gitlab", "open")]
    (comment,) = query("SELECT comment_id, author_id, body FROM ticket_comments")
    assert comment["comment_id"] == "1244" and comment["author_id"] == "<PERSON>"
    assert "7946 0958" not in comment["body"] and comment["body"].startswith("Call me on ")
