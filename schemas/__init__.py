"""Event contracts: the envelope, the payloads per kind and version, decoding with upcasting."""

from opsassist.schemas.envelope import (
    AlertEvent,
    AlertPayloadV1,
    AnyEvent,
    CommitEvent,
    CommitPayloadV1,
    Envelope,
    EventKind,
    LogEvent,
    LogPayloadV1,
    TicketComment,
    TicketEvent,
    TicketPayloadV1,
    TicketPayloadV2,
    TicketPayloadV3,
    new_event_id,
    utcnow,
)
from opsassist.schemas.errors import InvalidEvent
from opsassist.schemas.registry import (
    LATEST_VERSION,
    MODELS,
    decode_event,
    encode_event,
    kafka_headers,
    kafka_key,
)
from opsassist.schemas.trace_context import TraceParent, trace_id_from_traceparent

__all__ = [
    "LATEST_VERSION",
    "MODELS",
    "AlertEvent",
    "AlertPayloadV1",
    "AnyEvent",
    "CommitEvent",
    "CommitPayloadV1",
    "Envelope",
    "EventKind",
    "InvalidEvent",
    "LogEvent",
    "LogPayloadV1",
    "TicketComment",
    "TicketEvent",
    "TicketPayloadV1",
    "TicketPayloadV2",
    "TicketPayloadV3",
    "TraceParent",
    "decode_event",
    "encode_event",
    "kafka_headers",
    "kafka_key",
    "new_event_id",
    "trace_id_from_traceparent",
    "utcnow",
]
