"""Lines that carry their own keys: JSON objects (one per line) and logfmt (``key=value``)."""

from __future__ import annotations

import re
from typing import Any

import orjson

from opsassist.streams.enrich._records import ParsedLine

MESSAGE_KEYS = ("message", "msg", "log", "@message", "text")
TIMESTAMP_KEYS = ("timestamp", "@timestamp", "time", "ts", "t", "datetime", "date")
LEVEL_KEYS = ("level", "severity", "lvl", "levelname", "log.level", "loglevel", "severity_text")
HOST_KEYS = ("host", "hostname", "host.name", "node")
SERVICE_KEYS = ("service", "service.name", "app", "application", "service_name")

_PAIR = re.compile(r'([A-Za-z_@][\w.@/\-]*)=("(?:[^"\\]|\\.)*"|\S*)')


def _take(record: dict[str, Any], keys: tuple[str, ...]) -> str | None:
    for key in keys:
        if key in record:
            value = record.pop(key)
            if value is None or isinstance(value, (dict, list)):
                record[key] = value
                continue
            return str(value)
    return None


def _split(record: dict[str, Any], fmt: str, fallback_message: str) -> ParsedLine:
    message = _take(record, MESSAGE_KEYS)
    return ParsedLine(
        format=fmt,
        message=fallback_message if message is None else message,
        timestamp=_take(record, TIMESTAMP_KEYS),
        level=_take(record, LEVEL_KEYS),
        host=_take(record, HOST_KEYS),
        service=_take(record, SERVICE_KEYS),
        fields=record,
    )


def parse_json_line(line: str) -> ParsedLine | None:
    """A JSON object per line (structlog, logrus, bunyan, pino, ECS, GELF-ish)."""
    try:
        record = orjson.loads(line)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(record, dict):
        return None
    return _split(record, "json", "")


def parse_logfmt(line: str) -> ParsedLine | None:
    """``key=value`` pairs separated by spaces, values optionally double-quoted (logfmt, as
    Heroku, Go's slog and logrus' text formatter write it). Every token must be a pair, and
    there must be at least two, so that prose with one ``a=b`` in it stays prose."""
    pairs: dict[str, Any] = {}
    position = 0
    length = len(line)
    while position < length:
        if line[position] == " ":
            position += 1
            continue
        match = _PAIR.match(line, position)
        if match is None:
            return None
        value = match.group(2)
        if value.startswith('"') and len(value) >= 2:
            value = value[1:-1].replace('\\"', '"').replace("\\\\", "\\")
        pairs[match.group(1)] = value
        position = match.end()
        if position < length and line[position] != " ":
            return None
    if len(pairs) < 2:
        return None
    return _split(pairs, "logfmt", "")
