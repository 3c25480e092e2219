"""Jira-, Zendesk- and generic ticket deliveries over HTTP into the ticket topic."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from opsassist.schemas import TicketEvent
from tests.integration.webhooks.topic_reader import read_topic
from tests.unit.api.ticket_payloads import jira_issue_updated, zendesk_ticket_created

pytestmark = pytest.mark.integration


def test_jira_and_zendesk_payloads_produce_the_expected_ticket_events(
    webhook_api: Any, kafka_bootstrap: str
) -> None:
    api = webhook_api(scopes=("tickets:jira", "tickets:zendesk"))
    api.start()
    jira = httpx.post(
        f"{api.url}/webhooks/tickets/jira",
        json=jira_issue_updated(),
        headers=api.headers(**{"X-Atlassian-Webhook-Identifier": "jira-delivery-1"}),
    )
    assert jira.status_code == 202, jira.text
    zendesk = httpx.post(
        f"{api.url}/webhooks/tickets/zendesk", json=zendesk_ticket_created(), headers=api.headers()
    )
    assert zendesk.status_code == 202, zendesk.text

    events = {
        e.payload.source_system: e
        for e in read_topic(kafka_bootstrap, api.settings.topic_tickets)
        if isinstance(e, TicketEvent)
    }
    assert set(events) == {"jira", "zendesk"}
    j = events["jira"].payload
    assert (j.external_id, j.title, j.status) == ("OPS-142", "Checkout returns 502", "In Progress")
    assert j.reporter_id == "ana@example.com"
    assert "priority:High" in j.labels and "checkout" in j.labels
    assert j.updated_at.isoformat() == "2026-11-20T10:05:00+00:00"
    z = events["zendesk"].payload
    assert (z.external_id, z.title, z.status) == ("5158", "Refund not received", "open")
    assert z.body == "I was promised a refund two weeks ago."
    assert z.labels == ["billing", "refund"]
    assert events["zendesk"].source == "webhook:zendesk"

    # Jira's own delivery id makes a redelivery idempotent without an Idempotency-Key
    again = httpx.post(
        f"{api.url}/webhooks/tickets/jira",
        json=jira_issue_updated(),
        headers=api.headers(**{"X-Atlassian-Webhook-Identifier": "jira-delivery-1"}),
    )
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert len(read_topic(kafka_bootstrap, api.settings.topic_tickets)) == 2


def test_a_key_without_the_source_in_its_scopes_is_refused(webhook_api: Any) -> None:
    api = webhook_api(scopes=("tickets:jira",))
    api.start()
    resp = httpx.post(
        f"{api.url}/webhooks/tickets/zendesk", json=zendesk_ticket_created(), headers=api.headers()
    )
    assert resp.status_code == 403
    assert resp.headers["content-type"] == "application/problem+json"
    assert "tickets:zendesk" in resp.json()["detail"]
    unauthenticated = httpx.post(f"{api.url}/webhooks/tickets/jira", json=jira_issue_updated())
    assert unauthenticated.status_code == 401
    assert unauthenticated.headers["WWW-Authenticate"] == "Bearer"
