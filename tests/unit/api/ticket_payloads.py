"""Jira and Zendesk deliveries in the shapes their documentation gives, for unit and
integration tests."""

from __future__ import annotations

from typing import Any


def jira_issue_updated() -> dict[str, Any]:
    """A ``jira:issue_updated`` delivery (Jira Cloud webhook, REST v2 issue representation)."""
    return {
        "timestamp": 1795168500000,
        "webhookEvent": "jira:issue_updated",
        "issue_event_type_name": "issue_generic",
        "user": {"accountId": "5b10a2844c20165700ede21g", "displayName": "Ana Ops"},
        "issue": {
            "id": "10042",
            "self": "https://acme.atlassian.net/rest/api/2/issue/10042",
            "key": "OPS-142",
            "fields": {
                "summary": "Checkout returns 502",
                "description": "Since 09:40 every checkout fails with a 502 from the gateway.",
                "reporter": {
                    "accountId": "5b10a2844c20165700ede21g",
                    "displayName": "Ana Ops",
                    "emailAddress": "ana@example.com",
                },
                "status": {"name": "In Progress", "id": "3"},
                "priority": {"name": "High", "id": "2"},
                "labels": ["checkout", "gateway"],
                "issuetype": {"name": "Incident"},
                "created": "2026-11-20T09:45:00.000+0000",
                "updated": "2026-11-20T10:05:00.000+0000",
            },
        },
        "changelog": {
            "id": "10100",
            "items": [{"field": "status", "fromString": "To Do", "toString": "In Progress"}],
        },
    }


def zendesk_ticket_created() -> dict[str, Any]:
    """A Zendesk ticket event (``zen:event-type:ticket.created``), event-subscription webhook."""
    return {
        "account_id": 12514403,
        "detail": {
            "actor_id": "8447388090494",
            "assignee_id": None,
            "created_at": "2026-11-20T08:00:00Z",
            "description": "I was promised a refund two weeks ago.",
            "external_id": None,
            "id": "5158",
            "priority": "NORMAL",
            "requester_id": "8447388090494",
            "status": "OPEN",
            "subject": "Refund not received",
            "tags": ["billing", "refund"],
            "type": "QUESTION",
            "updated_at": "2026-11-20T08:00:00Z",
            "via": {"channel": "web_form"},
        },
        "event": {},
        "id": "cbe4028c-7239-495d-b020-f22348516046",
        "subject": "zen:ticket:5158",
        "time": "2026-11-20T08:00:00.623842397Z",
        "type": "zen:event-type:ticket.created",
        "zendesk_event_version": "2022-11-06",
    }
