"""Trace context: W3C ``traceparent`` (version-traceid-parentid-flags) and ``trace_id``-style
keys, from structured fields first and the message text second."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from opsassist.schemas import TraceParent

_HEX32 = re.compile(r"[0-9a-fA-F]{32}")
_HEX16 = re.compile(r"[0-9a-fA-F]{16}")
_TRACE_KEYS = ("trace_id", "traceid", "traceId", "trace.id", "dd.trace_id", "otel.trace_id")
_SPAN_KEYS = ("span_id", "spanid", "spanId", "span.id", "otel.span_id")
_TRACE_KEY_SET = frozenset(_TRACE_KEYS)
_IN_TEXT = re.compile(
    r"traceparent[\"']?\s*[=:]\s*[\"']?(?P<parent>[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2})"
    r"|trace[_.\-]?id[\"']?\s*[=:]\s*[\"']?(?P<trace>[0-9a-fA-F]{32})(?![0-9a-fA-F])",
    re.IGNORECASE,
)
_ZERO_TRACE = "0" * 32


def parse_traceparent(value: str) -> tuple[str, str] | None:
    """(trace id, parent span id) of a W3C traceparent, or None if it is not a valid one (the
    one parser of the header: ``opsassist.schemas.TraceParent``)."""
    parsed = TraceParent.parse(value.strip())
    return None if parsed is None else (parsed.trace_id, parsed.parent_id)


def extract_trace(fields: Mapping[str, Any], message: str) -> tuple[str | None, str | None]:
    """(trace id, span id), lower-case hex, from the fields or else the message; Nones when
    neither carries one."""
    traceparent = fields.get("traceparent")
    if isinstance(traceparent, str):
        parsed = parse_traceparent(traceparent)
        if parsed is not None:
            return parsed
    # Most events have no trace key: one set test instead of six look-ups.
    trace_id = (
        None if _TRACE_KEY_SET.isdisjoint(fields) else _first_hex(fields, _TRACE_KEYS, _HEX32)
    )
    if trace_id is not None:
        return trace_id, _first_hex(fields, _SPAN_KEYS, _HEX16)
    # A cheap test first: most messages name no trace at all.
    if "race" not in message and "RACE" not in message:
        return None, None
    match = _IN_TEXT.search(message)
    if match is None:
        return None, None
    if match.group("parent"):
        return parse_traceparent(match.group("parent")) or (None, None)
    trace = match.group("trace").lower()
    return (None, None) if trace == _ZERO_TRACE else (trace, None)


def _first_hex(
    fields: Mapping[str, Any], keys: tuple[str, ...], shape: re.Pattern[str]
) -> str | None:
    for key in keys:
        value = fields.get(key)
        if isinstance(value, str) and shape.fullmatch(value):
            lowered = value.lower()
            if lowered.strip("0"):
                return lowered
    return None
