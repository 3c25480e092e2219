"""Enrichment: parsing log lines into structured fields before anything else looks at them.

Build one ``Enricher`` per process (``Enricher.from_settings(settings)``) and call
``enrich_batch`` on decoded log payloads, ``enrich_line`` on raw lines, or ``parse`` to split.
This is the one reader of log lines: the worker, ``opsassist templates``/``summarize`` and
``opsassist produce`` (``parse_json_line`` for its JSON lines) all go through it, so they agree
on a line's message, level and time.
"""

from opsassist.streams.enrich._enricher import (
    AUTO_PARSERS,
    Enricher,
    SourceFormat,
    SourceFormatError,
)
from opsassist.streams.enrich._levels import Level, normalize_level
from opsassist.streams.enrich._logformat import LogFormat, compile_log_format
from opsassist.streams.enrich._records import EnrichedLog, ParsedLine
from opsassist.streams.enrich._structured import parse_json_line
from opsassist.streams.enrich._timestamps import (
    TimestampFormat,
    TimestampFormatError,
    parse_timestamp,
)
from opsassist.streams.enrich._traces import extract_trace, parse_traceparent

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
    "parse_json_line",
    "parse_timestamp",
    "parse_traceparent",
]
