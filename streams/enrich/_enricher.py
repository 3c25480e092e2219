"""The enrichment stage: each log line split by its shape (auto-detected, or the header format
configured for its source), timestamps to UTC, levels onto one scale, service, environment and
host attached, and trace context extracted.

Build one ``Enricher`` per process (``Enricher.from_settings``) and call ``enrich_batch`` on
decoded log payloads; it keeps no state between calls other than which shape each source
used last, which it tries first next time.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from enum import Enum
from functools import lru_cache
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from opsassist.streams.enrich._levels import normalize_level
from opsassist.streams.enrich._logformat import LogFormat, compile_log_format
from opsassist.streams.enrich._records import EnrichedLog, ParsedLine
from opsassist.streams.enrich._structured import parse_json_line, parse_logfmt
from opsassist.streams.enrich._textual import (
    parse_access_log,
    parse_apache_error,
    parse_logcat,
    parse_logger_line,
    parse_rfc3164,
    parse_rfc5424,
)
from opsassist.streams.enrich._timestamps import (
    AUTO_FORMATS,
    TimestampFormat,
    TimestampFormatError,
    parse_iso_or_epoch,
    parse_timestamp,
)
from opsassist.streams.enrich._traces import extract_trace

if TYPE_CHECKING:
    from opsassist.settings import Settings

LineParser = Callable[[str], ParsedLine | None]
# Tried in this order when a source has no configured format (and its last shape failed),
# each only on lines that pass its cheap test: trying a parser costs a regex match or, for
# JSON, an exception, and most lines fit none but one.
AUTO_PARSERS: tuple[tuple[Callable[[str], bool], LineParser], ...] = (
    (lambda line: line[:1] == "{", parse_json_line),
    (lambda line: line[:1] == "<", parse_rfc5424),
    (lambda line: line[:1].isdigit(), parse_logger_line),
    (lambda line: line[:1] == "<" or line[:1].isupper(), parse_rfc3164),
    (lambda line: '"' in line and "[" in line, parse_access_log),
    (lambda line: line[:1] == "[", parse_apache_error),
    (lambda line: line[:1].isdigit(), parse_logcat),
    (lambda line: "=" in line, parse_logfmt),
)
# A header's time may be split over several fields (syslog's "<Month> <Date> <Time>", OpenSSH's
# "<Date> <Day> <Time>"): they are joined in the format's order and read as one time.
_TIMESTAMP_PARTS = ("date", "time", "timestamp", "datetime", "year", "month", "day")
_MESSAGE_PARTS = ("content", "message", "msg")
_LEVEL_PARTS = ("level", "severity", "loglevel")
_HOST_PARTS = ("host", "hostname", "node")


class SourceFormatError(ValueError):
    """A source's configured format, timestamp format or time zone is not valid."""


@dataclass(frozen=True, slots=True)
class SourceFormat:
    """How one source's plain-text lines look: a header format in the ``<Date> <Time> <Level>
    <Content>`` notation, optionally the strptime format of its date and time (joined by a
    space) and the zone of times written without an offset."""

    header: LogFormat
    timestamp: tuple[TimestampFormat, ...]
    zone: tzinfo

    @classmethod
    def from_config(
        cls, source: str, config: Mapping[str, str], default_timezone: str = "UTC"
    ) -> SourceFormat:
        try:
            header = compile_log_format(config["format"])
            stamp = config.get("timestamp")
            formats = (TimestampFormat.compile(stamp),) if stamp else AUTO_FORMATS
            zone = _zone(config.get("timezone") or default_timezone)
        except KeyError:
            raise SourceFormatError(f"source {source!r}: 'format' is missing") from None
        except (ValueError, TimestampFormatError) as exc:
            raise SourceFormatError(f"source {source!r}: {exc}") from None
        return cls(header, formats, zone)

    def parse(self, line: str) -> ParsedLine | None:
        match = self.header.regex.match(line)
        if match is None:
            return None
        fields: dict[str, Any] = {}
        stamp: list[str] = []
        message = level = host = None
        names = self.header.fields
        # The format's fields are its only groups, in order, unless a logparser-style format
        # brought groups of its own.
        values = (
            match.groups()
            if self.header.regex.groups == len(names)
            else tuple(match.group(name) for name in names)
        )
        for (role, key), value in zip(_roles(names), values, strict=True):
            if value is None:
                continue
            if role is _Role.FIELD:
                fields[key] = value
            elif role is _Role.TIMESTAMP:
                stamp.append(value)
            elif role is _Role.MESSAGE:
                message = value
            elif role is _Role.LEVEL:
                level = value
            else:
                host = value
        return ParsedLine(
            format="header",
            message=line if message is None else message,
            timestamp=" ".join(stamp) or None,
            level=level,
            host=host,
            fields=fields,
        )


class _Role(Enum):
    TIMESTAMP = "timestamp"
    MESSAGE = "message"
    LEVEL = "level"
    HOST = "host"
    FIELD = "field"


@lru_cache(maxsize=256)
def _roles(names: tuple[str, ...]) -> tuple[tuple[_Role, str], ...]:
    """What each field of a header format is, by its name, decided once per format rather than
    once per line; the fields in the order of the format's groups."""
    roles = []
    for name in names:
        key = name.lower()
        if key in _TIMESTAMP_PARTS:
            roles.append((_Role.TIMESTAMP, key))
        elif key in _MESSAGE_PARTS:
            roles.append((_Role.MESSAGE, key))
        elif key in _LEVEL_PARTS:
            roles.append((_Role.LEVEL, key))
        elif key in _HOST_PARTS:
            roles.append((_Role.HOST, key))
        else:
            roles.append((_Role.FIELD, key))
    return tuple(roles)


def _zone(name: str) -> tzinfo:
    if name.upper() == "UTC":
        return UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {name!r}") from None


class Enricher:
    """Parses and enriches log lines; see the module docstring."""

    def __init__(
        self,
        sources: Mapping[str, Mapping[str, str]] | None = None,
        *,
        environment: str = "",
        default_timezone: str = "UTC",
    ) -> None:
        self._sources = {
            name: SourceFormat.from_config(name, config, default_timezone)
            for name, config in (sources or {}).items()
        }
        self._environment = environment or None
        try:
            self._zone = _zone(default_timezone)
        except ValueError as exc:
            raise SourceFormatError(str(exc)) from None
        # Per source, the shape and the time format its last line had: tried first next time.
        self._last_shape: dict[str | None, int] = {}
        self._last_time_format: dict[str | None, TimestampFormat] = {}

    @classmethod
    def from_settings(cls, settings: Settings) -> Enricher:
        return cls(
            settings.enrich_sources,
            environment=settings.enrich_environment,
            default_timezone=settings.enrich_default_timezone,
        )

    def parse(self, line: str, source: str | None = None) -> ParsedLine:
        """``line`` split by its source's format, else by the first shape that fits; a line
        no shape fits is all message (format ``plain``)."""
        line = line.rstrip("\r\n")
        configured = self._sources.get(source) if source else None
        if configured is not None:
            parsed = configured.parse(line)
            if parsed is not None:
                return parsed
        last = self._last_shape.get(source)
        if last is not None:
            parsed = AUTO_PARSERS[last][1](line)
            if parsed is not None:
                return parsed
        for index, (plausible, parser) in enumerate(AUTO_PARSERS):
            if index == last or not plausible(line):
                continue
            parsed = parser(line)
            if parsed is not None:
                self._last_shape[source] = index
                return parsed
        return ParsedLine(format="plain", message=line)

    def enrich_line(
        self,
        line: str,
        *,
        source: str | None = None,
        service: str | None = None,
        host: str | None = None,
        reference: datetime | None = None,
    ) -> EnrichedLog:
        """One raw line. ``service`` and ``host`` are the event's, which win over the line's."""
        return self.enrich_payload(
            {"message": line, "service": service, "host": host},
            source=source,
            reference=reference,
        )

    def enrich_payload(
        self,
        payload: Mapping[str, Any],
        *,
        source: str | None = None,
        reference: datetime | None = None,
    ) -> EnrichedLog:
        """A decoded log payload (``LogPayloadV1``'s fields). The time written in the line
        wins over the payload's (often when the line was read, not when it happened); the
        payload's service, host and level win over the line's."""
        key = source or payload.get("service")
        parsed = self.parse(str(payload.get("message") or ""), key)
        configured = self._sources.get(key) if key else None
        formats = configured.timestamp if configured else AUTO_FORMATS
        zone = configured.zone if configured else self._zone
        timestamp = None
        if parsed.timestamp:
            timestamp = self._time(key, parsed.timestamp, formats, zone, reference)
        if timestamp is None:
            timestamp = _payload_time(payload.get("timestamp"), zone)
        attributes = payload.get("attributes")
        fields = (
            {**parsed.fields, **attributes} if isinstance(attributes, Mapping) else parsed.fields
        )
        trace_id, span_id = extract_trace(fields, parsed.message)
        environment = fields.pop("environment", None) or fields.pop("env", None)
        return EnrichedLog(
            message=parsed.message,
            format=parsed.format,
            timestamp=timestamp,
            level=normalize_level(payload.get("level")) or normalize_level(parsed.level),
            service=payload.get("service") or parsed.service,
            environment=str(environment) if environment else self._environment,
            host=payload.get("host") or parsed.host,
            trace_id=trace_id,
            span_id=span_id,
            fields=fields,
        )

    def _time(
        self,
        key: str | None,
        text: str,
        formats: tuple[TimestampFormat, ...],
        zone: tzinfo,
        reference: datetime | None,
    ) -> datetime | None:
        """Like ``parse_timestamp``, trying first the format this source's last time had."""
        last = self._last_time_format.get(key)
        if last is not None:
            value = last.parse(text, zone, reference or datetime.now(UTC))
            if value is not None:
                return value
        value = parse_iso_or_epoch(text.strip(), zone)
        if value is not None:
            return value
        reference = reference or datetime.now(UTC)
        for fmt in formats:
            value = fmt.parse(text, zone, reference)
            if value is not None:
                self._last_time_format[key] = fmt
                return value
        return None

    def enrich_batch(
        self, payloads: Sequence[Mapping[str, Any]], source: str | None = None
    ) -> list[EnrichedLog]:
        """``enrich_payload`` over a batch; one reference time for year-less timestamps.
        ``source`` names the configured format for the whole batch; without it each payload's
        ``service`` does."""
        reference = datetime.now(UTC)
        return [
            self.enrich_payload(payload, source=source, reference=reference) for payload in payloads
        ]


def _payload_time(value: Any, zone: tzinfo) -> datetime | None:
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=zone)).astimezone(UTC)
    if isinstance(value, str):
        return parse_timestamp(value, zone=zone)
    return None
