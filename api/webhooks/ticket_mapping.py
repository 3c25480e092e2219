"""Ticket webhooks as plain functions: Jira, Zendesk and a generic JSON mapped to the ticket
event (``TicketPayloadV3``). The mapping is documented in docs/webhooks.md.

Each function returns the ticket event, or None when the delivery is one we deliberately ignore
(a Jira comment or deletion, a Zendesk event that is not about a ticket); it raises
:class:`InvalidTicketPayload` when the payload does not have what a ticket needs.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError

from opsassist.schemas import LATEST_VERSION, TicketEvent, TicketPayloadV3
from opsassist.schemas.registry import upcast

_ID_NAMESPACE = uuid.UUID("6f707361-0003-4000-8000-000000000002")
JIRA_EVENTS = ("jira:issue_created", "jira:issue_updated")
ZENDESK_EVENT_PREFIX = "zen:event-type:ticket."


class InvalidTicketPayload(ValueError):
    """The payload is not a ticket this endpoint can map; the text says why."""


def _text(value: Any) -> str:
    """Plain text of a field: a string as is, Atlassian Document Format flattened to its text."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        own = value.get("text")
        parts = [own] if isinstance(own, str) else []
        parts += [_text(child) for child in value.get("content") or [] if child is not None]
        sep = "\n" if value.get("type") in ("doc", "paragraph", "heading") else ""
        return sep.join(p for p in parts if p)
    if isinstance(value, list):
        return "\n".join(_text(v) for v in value)
    return str(value)


def _person(value: Any) -> str | None:
    if isinstance(value, dict):
        for field in ("emailAddress", "email", "displayName", "name", "accountId", "id"):
            if value.get(field):
                return str(value[field])
        return None
    return None if value is None else str(value)


def _payload(**fields: Any) -> TicketPayloadV3:
    try:
        return TicketPayloadV3.model_validate(fields)
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
        described = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in errors[:5])
        raise InvalidTicketPayload(described) from None


def ticket_event(
    payload: TicketPayloadV3, source: str, received_at: datetime, trace_id: str | None
) -> TicketEvent:
    """The envelope around a ticket state; the id is derived from the ticket and its
    ``updated_at``, so the same state delivered twice is one event."""
    parts = [payload.source_system, payload.external_id, payload.updated_at.isoformat()]
    if payload.comment is not None:
        # A comment is its own change: two comments (or a comment and its edit) posted within
        # the issue's same ``updated_at`` must not be one event.
        c = payload.comment
        parts += ["comment", c.id, c.updated_at.isoformat(), str(c.deleted)]
    name = "\x00".join(parts)
    return TicketEvent(
        id=f"ticket:{uuid.uuid5(_ID_NAMESPACE, name)}",
        schema_version=LATEST_VERSION["ticket"],
        source=source,
        occurred_at=payload.updated_at,
        received_at=received_at,
        trace_id=trace_id,
        payload=payload,
    )


def _object(value: Any, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise InvalidTicketPayload(f"{what} must be an object")
    return value


def jira_ticket(body: dict[str, Any]) -> TicketPayloadV3 | None:
    """``jira:issue_created`` / ``jira:issue_updated``; other Jira events are ignored (None)."""
    if body.get("webhookEvent") not in JIRA_EVENTS:
        return None
    issue = _object(body.get("issue"), "issue")
    fields = _object(issue.get("fields"), "issue.fields")
    status = fields.get("status")
    priority = fields.get("priority")
    labels = [str(label) for label in fields.get("labels") or [] if label]
    if isinstance(priority, dict) and priority.get("name"):
        labels.append(f"priority:{priority['name']}")
    return _payload(
        external_id=issue.get("key") or issue.get("id"),
        source_system="jira",
        title=fields.get("summary"),
        body=_text(fields.get("description")),
        reporter_id=_person(fields.get("reporter")),
        status=status.get("name") if isinstance(status, dict) else status,
        labels=labels,
        created_at=fields.get("created"),
        updated_at=fields.get("updated") or fields.get("created"),
    )


def zendesk_ticket(body: dict[str, Any]) -> TicketPayloadV3 | None:
    """A Zendesk ticket event (``zen:event-type:ticket.*`` with ``detail``) or a trigger
    payload shaped like the Ticket API (``{"ticket": {...}}``); other events are ignored."""
    event_type = body.get("type")
    if isinstance(event_type, str) and event_type.startswith("zen:event-type:"):
        if not event_type.startswith(ZENDESK_EVENT_PREFIX):
            return None
        ticket = _object(body.get("detail"), "detail")
    elif "ticket" in body:
        ticket = _object(body["ticket"], "ticket")
    else:
        raise InvalidTicketPayload(
            "a Zendesk payload is a ticket event ('type': 'zen:event-type:ticket.…', 'detail') "
            "or a trigger payload with a 'ticket' object"
        )
    requester = ticket.get("requester") or ticket.get("requester_id")
    status = ticket.get("status")
    return _payload(
        external_id=None if ticket.get("id") is None else str(ticket["id"]),
        source_system="zendesk",
        title=ticket.get("subject") or ticket.get("title") or ticket.get("raw_subject"),
        body=_text(ticket.get("description")),
        reporter_id=_person(requester),
        status=status.lower() if isinstance(status, str) else status,
        labels=[str(tag) for tag in ticket.get("tags") or [] if tag],
        created_at=ticket.get("created_at"),
        updated_at=ticket.get("updated_at") or ticket.get("created_at"),
    )


def generic_ticket(body: dict[str, Any], source: str) -> TicketPayloadV3:
    """The ticket event's own payload fields; ``source_system`` defaults to the path's source.
    A body in the v1 shape (``reporter`` rather than ``reporter_id``) is upcast, so senders
    written for v1 keep working."""
    fields = {"source_system": source, **body}
    if "reporter" in fields and "reporter_id" not in fields:
        fields = upcast("ticket", 1, fields)
    if fields.get("updated_at") is None:
        fields["updated_at"] = fields.get("created_at")
    return _payload(**fields)


MAPPERS: dict[str, Callable[[dict[str, Any]], TicketPayloadV3 | None]] = {
    "jira": jira_ticket,
    "zendesk": zendesk_ticket,
}


def map_ticket(
    body: Any, source: str, received_at: datetime | None = None, trace_id: str | None = None
) -> TicketEvent | None:
    """The ticket event of one delivery to ``/webhooks/tickets/{source}``, or None if ignored."""
    if not isinstance(body, dict):
        raise InvalidTicketPayload("the body must be a JSON object")
    mapper = MAPPERS.get(source)
    payload = mapper(body) if mapper is not None else generic_ticket(body, source)
    if payload is None:
        return None
    return ticket_event(payload, f"webhook:{source}", received_at or datetime.now(UTC), trace_id)
