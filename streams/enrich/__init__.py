"""Enrichment: parsing log lines into structured fields before anything else looks at them.

Build one ``Enricher`` per process (``Enricher.from_settings(settings)``) and call
``enrich_batch`` on decoded log payloads, ``enrich_line`` on raw lines, or ``parse`` to split.
"""

from opsassist.streams.enrich.enricher import (
    AUTO_PARSERS,
    Enricher,
    SourceFormat,
    SourceFormatError,
)
from opsassist.streams.enrich.levels import Level, normalize_level
from opsassist.streams.enrich.logformat import LogFormat, compile_log_format
from opsassist.streams.enrich.records import EnrichedLog, ParsedLine
from opsassist.streams.enrich.timestamps import (
    TimestampFormat,
    TimestampFormatError,
    parse_timestamp,
)
from opsassist.streams.enrich.traces import extract_trace, parse_traceparent

__all__ = [
    "AUTO_PARSERS",
    "EnrichedLog",
    "Enricher",
    "Level",
    "LogFormat",
    "ParsedLine",
    "SourceFormat",
    "SourceFormatError",
    "TimestampFormat",
    "TimestampFormatError",
    "compile_log_format",
    "extract_trace",
    "normalize_level",
    "parse_timestamp",
    "parse_traceparent",
]
