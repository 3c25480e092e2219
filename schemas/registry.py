"""Decoding and encoding of events: every published version of every kind, upcast to the newest.

A consumer accepts every version ever published: an old version is first upcast, payload dict to
payload dict, one version at a time, then validated against the newest model.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import orjson
from pydantic import ValidationError

from opsassist.schemas.envelope import (
    AlertEvent,
    AnyEvent,
    CommitEvent,
    Envelope,
    EventKind,
    LogEvent,
    TicketEvent,
    TicketEventV1,
    TicketEventV2,
)
from opsassist.schemas.errors import InvalidEvent
from opsassist.schemas.trace_context import TraceParent, trace_id_from_traceparent

#: The newest schema version per kind, and the model that validates it.
LATEST_VERSION: dict[str, int] = {"log": 1, "commit": 1, "ticket": 3, "alert": 1}
MODELS: dict[str, type[AnyEvent]] = {
    "log": LogEvent,
    "commit": CommitEvent,
    "ticket": TicketEvent,
    "alert": AlertEvent,
}
#: Every version ever published, with the model that describes it (its exported JSON Schema).
PUBLISHED: dict[tuple[str, int], type[Envelope]] = {
    ("log", 1): LogEvent,
    ("commit", 1): CommitEvent,
    ("ticket", 1): TicketEventV1,
    ("ticket", 2): TicketEventV2,
    ("ticket", 3): TicketEvent,
    ("alert", 1): AlertEvent,
}

#: (kind, version) -> function turning a payload of that version into one of version + 1.
Upcaster = Callable[[dict[str, Any]], dict[str, Any]]


def _ticket_v1_to_v2(payload: dict[str, Any]) -> dict[str, Any]:
    """v2 renamed ``reporter`` to ``reporter_id``; nothing else changed."""
    upcast = {k: v for k, v in payload.items() if k != "reporter"}
    upcast["reporter_id"] = payload.get("reporter")
    return upcast


def _ticket_v2_to_v3(payload: dict[str, Any]) -> dict[str, Any]:
    """v3 added ``comment``: a v2 event is a change of the ticket itself, with no comment."""
    return {**payload, "comment": None}


UPCASTERS: dict[tuple[str, int], Upcaster] = {
    ("ticket", 1): _ticket_v1_to_v2,
    ("ticket", 2): _ticket_v2_to_v3,
}

Headers = Sequence[tuple[str, bytes | None]] | Mapping[str, bytes] | None


def _describe(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors(include_url=False)[:5]:
        where = ".".join(str(p) for p in err["loc"]) or "(event)"
        parts.append(f"{where}: {err['msg']}")
    more = len(exc.errors()) - 5
    return "; ".join(parts) + (f"; and {more} more" if more > 0 else "")


def _header(headers: Headers, name: str) -> bytes | None:
    if headers is None:
        return None
    items = headers.items() if isinstance(headers, Mapping) else headers
    for key, value in items:
        if key.lower() == name:
            return value
    return None


def trace_id_from_headers(headers: Headers) -> str | None:
    """The trace id of the record's ``traceparent`` header, if it has a valid one."""
    return trace_id_from_traceparent(_header(headers, "traceparent"))


def _decode_newest(raw: bytes, kind: EventKind, headers: Headers) -> AnyEvent | None:
    """The common case, fast: an event of the topic's kind at the newest version, validated
    straight from the bytes by pydantic-core. None for anything else (an older version, any
    error), which the general path then decodes or explains."""
    try:
        event = MODELS[kind].model_validate_json(raw)
    except ValidationError:
        return None
    if event.schema_version != LATEST_VERSION[kind] or "kind" not in event.model_fields_set:
        return None
    if event.trace_id is None:
        trace_id = trace_id_from_headers(headers)
        if trace_id:
            return event.model_copy(update={"trace_id": trace_id})
    return event


_NEWEST_HEADER = {kind: str(version).encode() for kind, version in LATEST_VERSION.items()}


def _may_be_newest(kind: str, headers: Headers) -> bool:
    """False when the ``schema-version`` header names an older version: the fast path would
    validate the whole event only to refuse it, so an upcast event skips it. The header is only
    a hint; the body's ``schema_version`` decides on the general path."""
    header = _header(headers, "schema-version")
    return header is None or header == _NEWEST_HEADER[kind]


def _schema_version(data: dict[str, Any], kind: str, headers: Headers) -> int:
    """The version the event says it has (the ``schema-version`` header stands in for a body
    without one); an error unless this code knows it."""
    version = data.get("schema_version")
    header_version = _header(headers, "schema-version")
    if version is None and header_version is not None:
        version = int(header_version) if header_version.isdigit() else header_version
    latest = LATEST_VERSION[kind]
    if not isinstance(version, int) or isinstance(version, bool) or not 1 <= version <= latest:
        raise InvalidEvent(
            "unknown_schema_version",
            f"schema_version {version!r} is not a known version of {kind!r} events "
            f"(known: 1..{latest})",
        )
    return version


def upcast(kind: str, version: int, payload: dict[str, Any]) -> dict[str, Any]:
    """A payload of ``version`` turned into one of the newest version, a version at a time."""
    while version < LATEST_VERSION[kind]:
        payload = UPCASTERS[(kind, version)](payload)
        version += 1
    return payload


def decode_event(
    raw: bytes | None, expected_kind: EventKind | None = None, headers: Headers = None
) -> AnyEvent:
    """Parse, upcast and validate one event; raise :class:`InvalidEvent` saying why not.

    ``expected_kind`` is the kind the topic carries; an event of another kind is refused.
    A trace id from the ``traceparent`` header fills in an envelope that has none.
    """
    if not raw:
        raise InvalidEvent("empty", "the message has no value")
    if expected_kind is not None and _may_be_newest(expected_kind, headers):
        event = _decode_newest(raw, expected_kind, headers)
        if event is not None:
            return event
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise InvalidEvent("invalid_json", f"not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise InvalidEvent("invalid_json", f"an event is a JSON object, got {type(data).__name__}")
    kind = data.get("kind")
    if not isinstance(kind, str) or kind not in MODELS:  # a list or object is not hashable
        raise InvalidEvent("unknown_kind", f"kind must be one of {sorted(MODELS)}, got {kind!r}")
    if expected_kind is not None and kind != expected_kind:
        raise InvalidEvent(
            "wrong_kind", f"this topic carries {expected_kind!r} events, got {kind!r}"
        )
    version = _schema_version(data, kind, headers)
    data = {**data, "schema_version": LATEST_VERSION[kind]}
    if isinstance(data.get("payload"), dict):
        data["payload"] = upcast(kind, version, data["payload"])
    if data.get("trace_id") is None:
        trace_id = trace_id_from_headers(headers)
        if trace_id:
            data["trace_id"] = trace_id
    try:
        return MODELS[kind].model_validate(data)
    except ValidationError as exc:
        raise InvalidEvent("validation_error", _describe(exc)) from None


def encode_event(event: AnyEvent) -> bytes:
    """The wire form of an event: compact JSON, serialized by pydantic-core directly (twice as
    fast as dumping to a dict first)."""
    return event.model_dump_json().encode()


def kafka_headers(
    event: AnyEvent, creation: Mapping[str, str] | None = None
) -> list[tuple[str, bytes]]:
    """Headers that travel with the event: ``schema-version``, and ``traceparent`` when it has a
    trace id.

    ``creation`` is the W3C context the record was created in (``traceparent`` and
    ``tracestate``, as a propagator injects them); when it belongs to the event's trace it goes
    on unchanged, so the consumer continues the producer's span with the sampling decision the
    trace carries. An event whose trace id came from elsewhere (its own envelope) has no known
    parent span: it gets a fresh parent id, sampled.
    """
    headers = [("schema-version", str(event.schema_version).encode())]
    if not event.trace_id:
        return headers
    traceparent = creation.get("traceparent") if creation else None
    parsed = TraceParent.parse(traceparent)
    if creation and parsed is not None and parsed.trace_id == event.trace_id:
        headers.append(("traceparent", parsed.format().encode()))
        if tracestate := creation.get("tracestate"):
            headers.append(("tracestate", tracestate.encode()))
    else:
        fresh = TraceParent(event.trace_id, os.urandom(8).hex())
        headers.append(("traceparent", fresh.format().encode()))
    return headers


def kafka_key(event: AnyEvent) -> bytes:
    """The partitioning key: the entity's natural key, so that ordering holds per entity."""
    if isinstance(event, LogEvent):
        return event.payload.service.encode()
    if isinstance(event, CommitEvent):
        return event.payload.repo.encode()
    if isinstance(event, AlertEvent):  # firing then resolved, in order, per alert
        return event.payload.fingerprint.encode()
    return f"{event.payload.source_system}:{event.payload.external_id}".encode()
