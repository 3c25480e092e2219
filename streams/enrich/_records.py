"""What enrichment returns: a parsed line (the text split into its parts, nothing interpreted)
and an enriched log (timestamps in UTC, one level scale, service, environment, host, trace)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from opsassist.streams.enrich._levels import Level


# Not frozen: one is made per event (or per finding), and a frozen dataclass's __init__ costs
# two to three times as much; treat it as read-only.
@dataclass(slots=True)
class ParsedLine:
    """A log line split by the shape it was recognised as (``format``)."""

    format: str
    message: str
    timestamp: str | None = None
    level: str | None = None
    host: str | None = None
    service: str | None = None
    fields: dict[str, Any] = field(default_factory=dict)


# Not frozen: one is made per event (or per finding), and a frozen dataclass's __init__ costs
# two to three times as much; treat it as read-only.
@dataclass(slots=True)
class EnrichedLog:
    """One log event after enrichment. ``fields`` holds everything else the line carried
    (header fields, JSON or logfmt keys, syslog structured data) for the redactor's allow-list.
    """

    message: str
    format: str
    timestamp: datetime | None = None
    level: Level | None = None
    service: str | None = None
    environment: str | None = None
    host: str | None = None
    trace_id: str | None = None
    span_id: str | None = None
    fields: dict[str, Any] = field(default_factory=dict)

    def as_payload(self, default_timestamp: datetime) -> dict[str, Any]:
        """The log payload (``LogPayloadV1``'s shape) with the enrichment in ``attributes``."""
        attributes: dict[str, Any] = dict(self.fields)
        attributes["format"] = self.format
        for key, value in (
            ("environment", self.environment),
            ("trace_id", self.trace_id),
            ("span_id", self.span_id),
        ):
            if value:
                attributes[key] = value
        return {
            "timestamp": (self.timestamp or default_timestamp).isoformat(),
            "service": self.service or "unknown",
            "host": self.host,
            "level": self.level.value if self.level else None,
            "message": self.message,
            "attributes": attributes,
        }
