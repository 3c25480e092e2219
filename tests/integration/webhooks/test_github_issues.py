"""GitHub ``issues`` and ``issue_comment`` deliveries over HTTP against the running API, a real
Kafka broker and, through the worker, PostgreSQL."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import pytest

from opsassist.schemas import TicketEvent
from tests.conftest import GraphqlApiProcess, wait_for
from tests.integration.events import fetch
from tests.integration.graphql.client import as_user, create_user
from tests.integration.webhooks.test_github import deliver
from tests.integration.webhooks.topic_reader import read_topic
from tests.unit.api.issue_tracker_payloads import github_issue, github_issue_comment

pytestmark = pytest.mark.integration


def encoded(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload).encode()


def test_an_issue_s_lifecycle_becomes_ticket_events_and_a_redelivery_produces_nothing(
    webhook_api: Any, kafka_bootstrap: str
) -> None:
    api = webhook_api()
    api.start()
    secret = api.settings.github_webhook_secret
    opened = deliver(api.url, encoded(github_issue()), secret, event="issues", delivery="d-open")
    assert opened.status_code == 202, opened.text
    assert opened.json()["produced"] == 1
    assert opened.json()["action"] == "opened"
    labels = ("bug", "checkout")
    steps = [
        github_issue("labeled", labels=labels, updated_at="2026-12-01T09:20:00Z"),
        github_issue("closed", state="closed", labels=labels, updated_at="2026-12-01T10:00:00Z"),
        github_issue("reopened", labels=labels, updated_at="2026-12-01T11:00:00Z"),
    ]
    for step in steps:
        resp = deliver(api.url, encoded(step), secret, event="issues")
        assert resp.status_code == 202, resp.text

    replay = deliver(api.url, encoded(github_issue()), secret, event="issues", delivery="d-open")
    assert replay.status_code == 202
    assert replay.headers.get("Idempotent-Replayed") == "true"
    assert replay.json() == opened.json()

    events = read_topic(kafka_bootstrap, api.settings.topic_tickets)
    assert all(isinstance(e, TicketEvent) for e in events)
    # Sorted by the issue's time: the topic's order is only per partition.
    tickets = sorted(
        (e.payload for e in events if isinstance(e, TicketEvent)), key=lambda t: t.updated_at
    )
    assert [(t.status, t.labels) for t in tickets] == [
        ("open", ["bug"]),
        ("open", ["bug", "checkout"]),
        ("closed", ["bug", "checkout"]),
        ("open", ["bug", "checkout"]),
    ]
    assert {(t.external_id, t.source_system) for t in tickets} == {("octo-org/shop#1347", "github")}


def test_pull_request_comments_and_unknown_events_are_answered_202_saying_they_are_ignored(
    webhook_api: Any, kafka_bootstrap: str
) -> None:
    api = webhook_api()
    api.start()
    secret = api.settings.github_webhook_secret
    on_pr = deliver(
        api.url, encoded(github_issue_comment(pull_request=True)), secret, event="issue_comment"
    )
    assert on_pr.status_code == 202, on_pr.text
    assert on_pr.json()["produced"] == 0
    assert "pull request" in on_pr.json()["ignored"]

    starred = deliver(api.url, encoded({"action": "created"}), secret, event="star")
    assert starred.status_code == 202, starred.text
    assert starred.json()["produced"] == 0
    assert "issues" in starred.json()["ignored"]
    assert read_topic(kafka_bootstrap, api.settings.topic_tickets) == []

    on_issue = deliver(api.url, encoded(github_issue_comment()), secret, event="issue_comment")
    assert on_issue.status_code == 202, on_issue.text
    assert on_issue.json()["produced"] == 1
    # the answer names the comment the event carries (it said "not stored" before issue 29)
    assert on_issue.json()["comment"] == "1362934389"


def test_a_forged_issues_delivery_or_one_without_an_issue_number_is_refused(
    webhook_api: Any, kafka_bootstrap: str
) -> None:
    api = webhook_api()
    api.start()
    forged = deliver(api.url, encoded(github_issue()), "not the secret", event="issues")
    assert forged.status_code == 401
    broken = github_issue()
    del broken["issue"]["number"]
    invalid = deliver(api.url, encoded(broken), api.settings.github_webhook_secret, event="issues")
    assert invalid.status_code == 422
    assert "issue.number" in invalid.json()["detail"]
    assert read_topic(kafka_bootstrap, api.settings.topic_tickets) == []


def test_the_worker_stores_the_issue_redacted_with_the_state_github_reported_last(
    settings: Any, webhook_api: Any, worker_process: Any
) -> None:
    api = webhook_api()
    api.start()
    worker = worker_process()
    worker.start()
    secret = api.settings.github_webhook_secret
    for step in (
        github_issue(),
        github_issue("closed", state="closed", updated_at="2026-12-01T10:00:00Z"),
    ):
        assert deliver(api.url, encoded(step), secret, event="issues").status_code == 202

    def stored() -> list[Any]:
        return asyncio.run(
            fetch(
                settings.database_url,
                "SELECT status, body, reporter_id, labels FROM tickets "
                "WHERE source_system = 'github' AND external_id = $1",
                "octo-org/shop#1347",
            )
        )

    wait_for(lambda: [r["status"] for r in stored()] == ["closed"], 60, "the closed issue")
    (row,) = stored()
    assert row["reporter_id"] == "<PERSON>", "the default policy redacts a reporter's login"
    assert row["labels"] == ["bug"]
    assert "7946 0958" not in row["body"], "the phone number in the issue's body was stored"
    assert row["body"].startswith("Checkout returns 502 since the 09:40 deploy.")


def test_a_comment_is_stored_redacted_in_the_ticket_s_conversation_once(
    settings: Any,
    webhook_api: Any,
    worker_process: Any,
    graphql_api: Callable[..., GraphqlApiProcess],
) -> None:
    api = webhook_api()
    api.start()
    worker = worker_process()
    worker.start()
    secret = api.settings.github_webhook_secret
    assert deliver(api.url, encoded(github_issue()), secret, event="issues").status_code == 202
    comment = encoded(
        github_issue_comment(comment_body="Same here; reach me at ana.lima@example.com.")
    )
    first = deliver(api.url, comment, secret, event="issue_comment", delivery="c-1")
    assert first.status_code == 202, first.text
    assert first.json()["comment"] == "1362934389"
    # GitHub's redelivery (same delivery id), and the same comment sent again under a new one
    again = deliver(api.url, comment, secret, event="issue_comment", delivery="c-1")
    assert again.headers.get("Idempotent-Replayed") == "true"
    resent = deliver(api.url, comment, secret, event="issue_comment", delivery="c-2")
    assert resent.json()["event_ids"] == first.json()["event_ids"]

    def stored() -> list[Any]:
        return asyncio.run(
            fetch(
                settings.database_url,
                "SELECT comment_id, author_id, body, deleted FROM ticket_comments "
                "WHERE source_system = 'github' AND external_id = $1",
                "octo-org/shop#1347",
            )
        )

    wait_for(lambda: len(stored()) == 1, 60, "the issue's comment")
    (row,) = stored()
    assert row["comment_id"] == "1362934389" and not row["deleted"]
    assert "ana.lima@example.com" not in row["body"], "the e-mail address was stored"
    assert row["body"].startswith("Same here; reach me at <EMAIL")
    assert row["author_id"] == "<PERSON>", "the default policy redacts a commenter's login"

    # deleted on GitHub: left out of the conversation
    deleted = encoded(github_issue_comment(action="deleted"))
    assert deliver(api.url, deleted, secret, event="issue_comment").status_code == 202
    wait_for(lambda: [r["deleted"] for r in stored()] == [True], 60, "the deletion")

    create_user(settings.database_url, "olivia", "ops")
    graphql = graphql_api()
    graphql.start()
    (ticket,) = asyncio.run(
        fetch(settings.database_url, "SELECT id FROM tickets WHERE source_system = 'github'")
    )
    query = "query ($id: ID!) { ticket(id: $id) { comments { id authorId body } } }"
    assert as_user(graphql.graphql_url, "olivia").run(query, id=str(ticket["id"])) == {
        "ticket": {"comments": []}
    }
    second = github_issue_comment(updated_at="2026-12-01T09:50:00Z", comment_body="Fixed now.")
    second["comment"]["id"] = 1362934390
    assert deliver(api.url, encoded(second), secret, event="issue_comment").status_code == 202
    wait_for(lambda: len(stored()) == 2, 60, "the second comment")
    comments = as_user(graphql.graphql_url, "olivia").run(query, id=str(ticket["id"]))
    # ops read a non-HR ticket's conversation, never who wrote it (as the reporter's id)
    assert comments == {
        "ticket": {"comments": [{"id": "1362934390", "authorId": None, "body": "Fixed now."}]}
    }


def _workflow_history(database_url: str, external_id: str) -> list[tuple[str, Any]]:
    """(who, workflow_status) of each version of the ticket that changed its workflow status."""
    rows = asyncio.run(
        fetch(
            database_url,
            "SELECT c.changed_by, c.delta FROM ticket_changes c JOIN tickets t "
            "ON t.id = c.ticket_id WHERE t.external_id = $1 ORDER BY c.version",
            external_id,
        )
    )
    deltas = [(r["changed_by"], json.loads(r["delta"])) for r in rows]
    return [(who, d["workflow_status"]) for who, d in deltas if "workflow_status" in d]


def test_closed_then_reopened_on_github_moves_the_workflow_and_the_history_names_github(
    settings: Any, webhook_api: Any, worker_process: Any
) -> None:
    api = webhook_api()
    api.start()
    worker = worker_process()
    worker.start()
    secret = api.settings.github_webhook_secret

    def ticket() -> Any:
        rows = asyncio.run(
            fetch(
                settings.database_url,
                "SELECT status, workflow_status, resolved_at, reopened_count, category, "
                "priority, team FROM tickets WHERE external_id = 'octo-org/shop#1347'",
            )
        )
        return rows[0] if rows else None

    assert deliver(api.url, encoded(github_issue()), secret, event="issues").status_code == 202
    wait_for(lambda: ticket() is not None, 60, "the opened issue")
    triaged = ticket()
    assert triaged["workflow_status"] in ("open", "triaged")

    closed = github_issue("closed", state="closed", updated_at="2026-12-01T10:00:00Z")
    assert deliver(api.url, encoded(closed), secret, event="issues").status_code == 202
    wait_for(lambda: ticket()["workflow_status"] == "closed", 60, "the workflow closed")
    row = ticket()
    assert row["resolved_at"] is not None
    # the close moves the workflow only: triage stays as it was
    fields = ("category", "priority", "team")
    assert [row[f] for f in fields] == [triaged[f] for f in fields]

    # an edit of the closed issue repeats its state: it changes no workflow
    labeled = github_issue(
        "labeled", state="closed", labels=("bug", "wontfix"), updated_at="2026-12-01T10:30:00Z"
    )
    assert deliver(api.url, encoded(labeled), secret, event="issues").status_code == 202
    reopened = github_issue("reopened", updated_at="2026-12-01T11:00:00Z")
    assert deliver(api.url, encoded(reopened), secret, event="issues").status_code == 202
    wait_for(lambda: ticket()["status"] == "open", 60, "the reopened issue")
    row = ticket()
    assert row["workflow_status"] == "open"
    assert row["resolved_at"] is None and row["reopened_count"] == 1
    history = _workflow_history(settings.database_url, "octo-org/shop#1347")
    assert history[-2:] == [("source:github", "closed"), ("source:github", "open")]
    assert [who for who, _ in history].count("source:github") == 2
