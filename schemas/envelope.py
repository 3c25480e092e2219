"""The envelope every topic carries, and the payloads of logs, commits and tickets per version.

JSON on the wire. Timestamps are ISO 8601 with an offset; naive timestamps are read as UTC.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

EventKind = Literal["log", "commit", "ticket", "alert"]


def _as_utc(value: datetime) -> datetime:
    try:
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    except OverflowError:  # e.g. 0001-01-01T00:00+03:00: a ValueError makes it a validation error
        raise ValueError("the time is outside the range of dates once converted to UTC") from None


UtcDatetime = Annotated[datetime, AfterValidator(_as_utc)]
NonEmpty = Annotated[str, Field(min_length=1)]
TraceId = Annotated[str, Field(pattern=r"^[0-9a-f]{32}$")]
#: A ticket's id in its source system (``OPS-123``, ``48213``, ``INC0010001``, ``acme/app#12``, a
#: UUID) and the system's name. They key the ticket, so they are stored exactly as sent, never
#: redacted: an e-mail address, a phone number or any text with spaces is refused instead.
TICKET_IDENTIFIER = r"^[A-Za-z0-9][A-Za-z0-9._:/#-]*$"


class _Payload(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class LogPayloadV1(_Payload):
    """One log line as the producing service saw it."""

    timestamp: UtcDatetime
    service: NonEmpty = Field(max_length=200)
    host: str | None = Field(default=None, max_length=255)
    level: str | None = Field(default=None, max_length=32)
    message: str = Field(max_length=1_000_000)
    attributes: dict[str, Any] = Field(default_factory=dict)


class CommitPayloadV1(_Payload):
    """One git commit of one repository."""

    repo: NonEmpty = Field(max_length=500)
    sha: str = Field(pattern=r"^[0-9a-f]{7,64}$")
    parents: list[str] = Field(default_factory=list)
    author_name: str = Field(max_length=500)
    author_email: str | None = Field(default=None, max_length=500)
    authored_at: UtcDatetime
    committed_at: UtcDatetime
    message: str = Field(max_length=1_000_000)
    branch: str | None = Field(default=None, max_length=500)
    tags: list[str] = Field(default_factory=list)


class TicketPayloadV1(_Payload):
    """The state of one support/ops ticket in its source system at ``updated_at``."""

    external_id: NonEmpty = Field(max_length=200)
    source_system: NonEmpty = Field(max_length=100)
    title: str = Field(max_length=10_000)
    body: str = Field(default="", max_length=1_000_000)
    reporter: str | None = Field(default=None, max_length=500)
    status: NonEmpty = Field(max_length=100)
    labels: list[str] = Field(default_factory=list)
    created_at: UtcDatetime
    updated_at: UtcDatetime


class TicketPayloadV2(_Payload):
    """Version 2 of the ticket payload: ``reporter`` is now ``reporter_id``, the reporter's
    identity in the source system (account id, login or address), as ``tickets.reporter_id``
    stores it. v1 payloads are upcast by renaming the field (``opsassist.schemas.registry``)."""

    external_id: str = Field(pattern=TICKET_IDENTIFIER, min_length=1, max_length=200)
    source_system: str = Field(pattern=TICKET_IDENTIFIER, min_length=1, max_length=100)
    title: str = Field(max_length=10_000)
    body: str = Field(default="", max_length=1_000_000)
    reporter_id: str | None = Field(default=None, max_length=500)
    status: NonEmpty = Field(max_length=100)
    labels: list[str] = Field(default_factory=list)
    created_at: UtcDatetime
    updated_at: UtcDatetime


class TicketComment(_Payload):
    """One comment of a ticket's conversation in its source system (a GitHub issue comment, a
    GitLab note), as the delivery that created, edited or deleted it carried it."""

    # ``id`` and ``author_id`` are named as the privacy policy's field list knows them: ``id``
    # is kept exact (it keys the comment), ``author_id`` is a person like ``reporter_id``.
    id: str = Field(pattern=TICKET_IDENTIFIER, min_length=1, max_length=200)
    author_id: str | None = Field(default=None, max_length=500)
    body: str = Field(default="", max_length=1_000_000)
    created_at: UtcDatetime
    updated_at: UtcDatetime
    deleted: bool = False


class TicketPayloadV3(TicketPayloadV2):
    """Version 3 of the ticket payload: ``comment``, the comment whose creation, edit or
    deletion this state change is (None for a change of the ticket itself). v2 payloads are
    upcast with no comment. A v2 payload object is accepted where a v3 one is expected (read by
    its attributes), so code and tests that build v2 payloads keep working."""

    model_config = ConfigDict(extra="ignore", frozen=True, from_attributes=True)

    comment: TicketComment | None = None


class AlertPayloadV1(_Payload):
    """One alert of a monitoring system (Prometheus Alertmanager) at one state change: firing, or
    resolved. ``fingerprint`` identifies the alert (its label set) across notifications."""

    fingerprint: str = Field(pattern=r"^[0-9A-Za-z]{1,64}$")
    status: Literal["firing", "resolved"]
    alertname: str = Field(default="", max_length=500)
    service: str | None = Field(default=None, max_length=200)
    severity: str | None = Field(default=None, max_length=100)
    summary: str = Field(default="", max_length=100_000)
    labels: dict[str, str] = Field(default_factory=dict)
    annotations: dict[str, str] = Field(default_factory=dict)
    starts_at: UtcDatetime
    ends_at: UtcDatetime | None = None
    generator_url: str | None = Field(default=None, max_length=10_000)
    receiver: str | None = Field(default=None, max_length=500)
    group_key: str | None = Field(default=None, max_length=10_000)


class Envelope(BaseModel):
    """Fields common to every event; ``payload`` is validated per kind and version."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    id: NonEmpty = Field(max_length=200, description="The producer's idempotency key, or a UUID.")
    kind: EventKind
    schema_version: int = Field(ge=1, strict=True)
    source: NonEmpty = Field(
        max_length=200, description="Who produced it: a service, webhook, CLI."
    )
    occurred_at: UtcDatetime
    received_at: UtcDatetime | None = None
    trace_id: TraceId | None = None
    payload: dict[str, Any]


class LogEvent(Envelope):
    kind: Literal["log"] = "log"
    payload: LogPayloadV1  # type: ignore[assignment]


class CommitEvent(Envelope):
    kind: Literal["commit"] = "commit"
    payload: CommitPayloadV1  # type: ignore[assignment]


class TicketEvent(Envelope):
    kind: Literal["ticket"] = "ticket"
    payload: TicketPayloadV3  # type: ignore[assignment]


# Ticket events as versions 1 and 2 published them, kept for their JSON Schema (consumers decode
# them into TicketEvent by upcasting). No docstring: it would change the published schema's
# description.
class TicketEventV2(Envelope):
    kind: Literal["ticket"] = "ticket"
    payload: TicketPayloadV2  # type: ignore[assignment]


class TicketEventV1(Envelope):
    kind: Literal["ticket"] = "ticket"
    payload: TicketPayloadV1  # type: ignore[assignment]


class AlertEvent(Envelope):
    kind: Literal["alert"] = "alert"
    payload: AlertPayloadV1  # type: ignore[assignment]


AnyEvent = LogEvent | CommitEvent | TicketEvent | AlertEvent


def new_event_id() -> str:
    return str(uuid.uuid4())


def utcnow() -> datetime:
    return datetime.now(UTC)
