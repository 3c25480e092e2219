"""The W3C Trace Context ``traceparent`` header (https://www.w3.org/TR/trace-context/), read and
written exactly: the parent id and every flag bit a sender set travel on unchanged.

Pure and dependency-free, so that the event contract (trace ids in the envelope, Kafka headers)
does not need OpenTelemetry; the API and the worker propagate with OpenTelemetry's W3C
propagator, which accepts and refuses the same values (tests/unit/schemas/test_trace_context.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Lowercase hex only: the specification's HEXDIGLC; an uppercase header is refused.
_TRACEPARENT = re.compile(
    r"(?P<version>[0-9a-f]{2})-(?P<trace_id>[0-9a-f]{32})-(?P<parent_id>[0-9a-f]{16})"
    r"-(?P<flags>[0-9a-f]{2})(?P<rest>.*)",
    re.DOTALL,
)
_INVALID_TRACE_ID = "0" * 32
_INVALID_PARENT_ID = "0" * 16
_SAMPLED = 0x01


@dataclass(frozen=True, slots=True)
class TraceParent:
    """One ``traceparent``: whose trace, which span called, and the caller's flags."""

    trace_id: str
    parent_id: str
    flags: int = _SAMPLED
    version: str = "00"

    @property
    def sampled(self) -> bool:
        return bool(self.flags & _SAMPLED)

    @classmethod
    def parse(cls, value: bytes | str | None) -> TraceParent | None:
        """The header's fields, or None where the specification says to ignore the header.

        Version ``ff`` and all-zero ids are invalid; version ``00`` is exactly 55 characters; a
        later version may append fields after a ``-``, which this version does not read (the
        specification's forward compatibility) and :meth:`format` then writes as version 00.
        """
        if value is None:
            return None
        text = value.decode("ascii", "replace") if isinstance(value, bytes) else value
        match = _TRACEPARENT.fullmatch(text.strip(" \t"))
        if match is None:
            return None
        version, trace_id, parent_id = match["version"], match["trace_id"], match["parent_id"]
        if version == "ff" or trace_id == _INVALID_TRACE_ID or parent_id == _INVALID_PARENT_ID:
            return None
        rest = match["rest"]
        if rest and (version == "00" or not rest.startswith("-")):
            return None
        return cls(trace_id, parent_id, int(match["flags"], 16), version)

    def format(self) -> str:
        """The header value this version of the specification writes (version 00)."""
        return f"00-{self.trace_id}-{self.parent_id}-{self.flags:02x}"


def trace_id_from_traceparent(value: bytes | str | None) -> str | None:
    """The trace id of a valid W3C ``traceparent``, or None."""
    parsed = TraceParent.parse(value)
    return parsed.trace_id if parsed is not None else None
