"""The notification event (one per incident change, transition and route, the value on
``ops.notifications``) and the request each receiver kind expects for it."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from email.message import EmailMessage
from typing import Any

import orjson

from opsassist.streams.notify._routes import Route

_SUMMARY_LIMIT = 1024  # PagerDuty refuses a summary over 1024 characters


@dataclass(frozen=True, slots=True)
class Notification:
    """What a route is told about one transition. The text fields have passed the privacy
    policy before the event is produced, so neither the topic nor a receiver sees raw values."""

    #: ``<incident>:<version>:<route>``: a repeat of the same change is the same event
    id: str
    incident_id: int
    version: int
    route: str
    transition: str
    #: how many times the incident was reopened: a resolved message of a later cycle is new
    cycle: int
    service: str
    severity: str
    status: str
    reason: str
    narrative: str
    assignee: str | None
    opened_at: str
    resolved_at: str | None
    changed_by: str
    changed_at: str

    def encode(self) -> bytes:
        return orjson.dumps(asdict(self))

    @classmethod
    def decode(cls, value: bytes) -> Notification:
        """:class:`ValueError` (or ``TypeError``) when ``value`` is not one."""
        data = orjson.loads(value)
        if not isinstance(data, dict):
            raise ValueError("a notification is a JSON object")
        return cls(**data)


def notification_for(
    state: Mapping[str, Any],
    version: int,
    transition: str,
    route: Route,
    *,
    changed_at: str,
    redact: Callable[[str], str],
) -> Notification:
    """The event for ``route`` of an incident's row at ``version`` (the history's ``state``)."""
    incident_id = int(state["id"])
    assignee = state.get("assignee")
    return Notification(
        id=f"{incident_id}:{version}:{route.name}",
        incident_id=incident_id,
        version=version,
        route=route.name,
        transition=transition,
        cycle=int(state.get("reopened_count") or 0),
        service=str(state["service"]),
        severity=str(state["severity"]),
        status=str(state["status"]),
        reason=redact(str(state.get("reason") or "")),
        narrative=redact(str(state.get("narrative") or "")),
        assignee=redact(assignee) if assignee else None,
        opened_at=str(state["opened_at"]),
        resolved_at=str(state["resolved_at"]) if state.get("resolved_at") else None,
        changed_by=str(state.get("changed_by") or ""),
        changed_at=changed_at,
    )


@dataclass(frozen=True, slots=True)
class Delivery:
    """An HTTP POST (``url``, ``body``, ``headers``) or, for e-mail, ``email``."""

    url: str
    body: bytes = b""
    headers: Mapping[str, str] | None = None
    email: EmailMessage | None = None


def sign_body(secret: str, body: bytes) -> str:
    """The ``X-Opsassist-Signature-256`` value, as GitHub's ``X-Hub-Signature-256``:
    ``sha256=`` and the hex HMAC-SHA256 of the exact body bytes."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def _title(n: Notification) -> str:
    return f"[{n.transition}] {n.severity} incident #{n.incident_id} on {n.service}: {n.reason}"


def _text(n: Notification) -> str:
    lines = [_title(n), n.narrative, f"status {n.status}, opened {n.opened_at}"]
    if n.assignee:
        lines.append(f"assigned to {n.assignee}")
    if n.changed_by:
        lines.append(f"changed by {n.changed_by} at {n.changed_at}")
    return "\n".join(line for line in lines if line)


_JSON = {"Content-Type": "application/json"}
_PAGERDUTY_SEVERITY = {"critical": "critical", "high": "error", "warning": "warning"}


def build_delivery(route: Route, n: Notification) -> Delivery:
    """The request ``route`` expects for ``n``."""
    if route.kind == "slack":
        body = orjson.dumps({"text": _text(n)})
        return Delivery(route.url, body, _JSON)
    if route.kind == "teams":
        # Teams' incoming webhooks (and Workflows) take an Adaptive Card in a message
        card = {
            "type": "AdaptiveCard",
            "version": "1.4",
            "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
            "body": [
                {"type": "TextBlock", "text": _title(n), "weight": "Bolder", "wrap": True},
                {"type": "TextBlock", "text": _text(n), "wrap": True},
            ],
        }
        body = orjson.dumps(
            {
                "type": "message",
                "attachments": [
                    {"contentType": "application/vnd.microsoft.card.adaptive", "content": card}
                ],
            }
        )
        return Delivery(route.url, body, _JSON)
    if route.kind == "pagerduty":
        # Events API v2: one alert per incident (dedup_key); an acknowledgement or a resolution
        # acts on the alert the trigger opened.
        action = {"resolved": "resolve", "acknowledged": "acknowledge"}.get(n.transition, "trigger")
        event: dict[str, Any] = {
            "routing_key": route.routing_key,
            "event_action": action,
            "dedup_key": f"opsassist-incident-{n.incident_id}",
        }
        if action == "trigger":
            event["payload"] = {
                "summary": _title(n)[:_SUMMARY_LIMIT],
                "source": n.service,
                "severity": _PAGERDUTY_SEVERITY.get(n.severity, "error"),
                "custom_details": {"narrative": n.narrative, "transition": n.transition},
            }
        return Delivery(route.url, orjson.dumps(event), _JSON)
    if route.kind == "email":
        message = EmailMessage()
        message["Subject"] = _title(n)
        message["From"] = route.sender
        message["To"] = ", ".join(route.recipients)
        message.set_content(_text(n))
        return Delivery(route.url, email=message)
    body = n.encode()  # the generic webhook: the event itself, signed
    headers = {**_JSON, "X-Opsassist-Event": n.transition, "X-Opsassist-Delivery": n.id}
    if route.secret:
        headers["X-Opsassist-Signature-256"] = sign_body(route.secret, body)
    return Delivery(route.url, body, headers)
