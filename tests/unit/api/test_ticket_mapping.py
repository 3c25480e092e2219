"""Jira, Zendesk and generic ticket JSON mapped to the ticket event."""

from __future__ import annotations

from typing import Any

import pytest

from opsassist.api.webhooks.ticket_mapping import InvalidTicketPayload, map_ticket
from opsassist.schemas import LATEST_VERSION
from tests.unit.api.ticket_payloads import jira_issue_updated, zendesk_ticket_created


def test_jira_issue_updated_maps_to_the_ticket_state() -> None:
    event = map_ticket(jira_issue_updated(), "jira")
    assert event is not None
    p = event.payload
    assert (p.source_system, p.external_id, p.status) == ("jira", "OPS-142", "In Progress")
    assert p.title == "Checkout returns 502"
    assert p.body.startswith("Since 09:40")
    assert p.reporter_id == "ana@example.com"
    assert p.labels == ["checkout", "gateway", "priority:High"]
    assert p.created_at.isoformat() == "2026-11-20T09:45:00+00:00"
    assert event.occurred_at == p.updated_at
    assert event.source == "webhook:jira"


def test_jira_description_in_atlassian_document_format_is_flattened_to_text() -> None:
    body = jira_issue_updated()
    body["issue"]["fields"]["description"] = {
        "type": "doc",
        "content": [
            {"type": "paragraph", "content": [{"type": "text", "text": "First line."}]},
            {"type": "paragraph", "content": [{"type": "text", "text": "Second."}]},
        ],
    }
    event = map_ticket(body, "jira")
    assert event is not None
    assert event.payload.body == "First line.\nSecond."


def test_other_jira_events_are_ignored() -> None:
    body = jira_issue_updated()
    body["webhookEvent"] = "comment_created"
    assert map_ticket(body, "jira") is None


def test_zendesk_ticket_event_and_trigger_payload_map_alike() -> None:
    event = map_ticket(zendesk_ticket_created(), "zendesk")
    assert event is not None
    detail = zendesk_ticket_created()["detail"]
    trigger = {
        "ticket": {
            **detail,
            "id": 5158,
            "status": "open",
            "requester": {"email": "r@example.com", "name": "R"},
        }
    }
    from_trigger = map_ticket(trigger, "zendesk")
    assert from_trigger is not None
    assert (event.payload.external_id, event.payload.status) == ("5158", "open")
    assert (from_trigger.payload.external_id, from_trigger.payload.status) == ("5158", "open")
    assert event.payload.reporter_id == "8447388090494"
    assert from_trigger.payload.reporter_id == "r@example.com"
    assert event.id == from_trigger.id, "the same ticket state is the same event"


def test_zendesk_events_about_other_things_are_ignored() -> None:
    assert map_ticket({"type": "zen:event-type:user.created", "detail": {}}, "zendesk") is None


def test_generic_ticket_uses_the_path_as_source_system() -> None:
    body = {
        "external_id": "INC-7",
        "title": "Disk full on db-3",
        "status": "open",
        "created_at": "2026-11-20T10:00:00Z",
    }
    event = map_ticket(body, "servicenow")
    assert event is not None
    assert event.payload.source_system == "servicenow"
    assert event.payload.updated_at == event.payload.created_at


@pytest.mark.parametrize(
    ("body", "source"),
    [
        ([], "jira"),
        ({"webhookEvent": "jira:issue_created", "issue": {"key": "A-1"}}, "jira"),
        ({"webhookEvent": "jira:issue_created", "issue": {"key": "A-1", "fields": {}}}, "jira"),
        ({"something": "else"}, "zendesk"),
        ({"ticket": {"id": 1, "subject": "s"}}, "zendesk"),
        ({"title": "no id"}, "servicenow"),
    ],
)
def test_payloads_that_are_not_tickets_are_refused_with_a_reason(body: Any, source: str) -> None:
    with pytest.raises(InvalidTicketPayload) as raised:
        map_ticket(body, source)
    assert str(raised.value)


def test_a_generic_ticket_in_the_v1_shape_keeps_its_reporter() -> None:
    body = {"external_id": "T-1", "title": "Printer jam", "reporter": "kim", "status": "open",
            "created_at": "2026-11-20T10:00:00Z"}  # fmt: skip
    event = map_ticket(body, "helpdesk")
    assert event is not None
    assert event.schema_version == LATEST_VERSION["ticket"]  # 2 until ticket events v3
    assert event.payload.reporter_id == "kim"
