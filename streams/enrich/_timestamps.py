"""Timestamps into aware UTC datetimes, fast: ISO 8601 through ``datetime.fromisoformat``
(under a microsecond), epoch numbers by their size, and strptime-style formats compiled once
into a regex (``datetime.strptime`` costs ten microseconds a line, half the stage's budget).

A format without a year (syslog's ``Oct 11 22:14:15``) takes the year that puts the time
closest before the reference time; a time without an offset is in the source's zone.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone, tzinfo

_MONTHS = {
    name: index
    for index, name in enumerate(
        ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"),
        start=1,
    )
}
_DIRECTIVES = {
    "Y": r"(?P<Y>\d{4})",
    "y": r"(?P<y>\d{2})",
    "m": r"(?P<m>\d{1,2})",
    "d": r"(?P<d>\d{1,2})",
    "e": r"\s?(?P<d>\d{1,2})",
    "b": r"(?P<b>[A-Za-z]{3})[a-z]*\.?",
    "a": r"[A-Za-z]{3}[a-z]*\.?",
    "H": r"(?P<H>\d{1,2})",
    "M": r"(?P<M>\d{2})",
    "S": r"(?P<S>\d{2})",
    "f": r"(?P<f>\d{1,9})",
    "z": r"(?P<z>Z|[+-]\d{2}:?\d{2})",
    "%": "%",
}
_DIRECTIVE = re.compile(r"%(.)")


class TimestampFormatError(ValueError):
    """A timestamp format uses a directive this parser does not know."""


@dataclass(frozen=True, slots=True)
class TimestampFormat:
    """A strptime-style format (directives %Y %y %m %d %e %b %a %H %M %S %f %z) compiled."""

    format: str
    regex: re.Pattern[str]

    @classmethod
    def compile(cls, fmt: str) -> TimestampFormat:
        parts: list[str] = []
        position = 0
        for match in _DIRECTIVE.finditer(fmt):
            parts.append(_literal(fmt[position : match.start()]))
            directive = _DIRECTIVES.get(match.group(1))
            if directive is None:
                raise TimestampFormatError(f"%{match.group(1)} is not supported in {fmt!r}")
            parts.append(directive)
            position = match.end()
        parts.append(_literal(fmt[position:]))
        return cls(fmt, re.compile("".join(parts)))

    def parse(self, text: str, zone: tzinfo, reference: datetime) -> datetime | None:
        match = self.regex.fullmatch(text.strip())
        if match is None:
            return None
        fields = match.groupdict()
        try:
            month = _MONTHS[fields["b"].lower()] if fields.get("b") else int(fields.get("m") or 1)
            fraction = fields.get("f") or "0"
            value = datetime(
                _year(fields),
                month,
                int(fields.get("d") or 1),
                int(fields.get("H") or 0),
                int(fields.get("M") or 0),
                int(fields.get("S") or 0),
                int(fraction[:6].ljust(6, "0")),
                tzinfo=_offset(fields.get("z")) or zone,
            )
        except (KeyError, ValueError):
            return None
        if fields.get("Y") is None and fields.get("y") is None:
            value = _closest_year_before(value, reference)
        return value.astimezone(UTC)


def _literal(text: str) -> str:
    return "".join(r"\s+" if char.isspace() else re.escape(char) for char in text).replace(
        r"\s+\s+", r"\s+"
    )


def _year(fields: dict[str, str | None]) -> int:
    if fields.get("Y"):
        return int(fields["Y"] or 0)
    if fields.get("y"):
        return 2000 + int(fields["y"] or 0)
    return 2000  # replaced by _closest_year_before; 2000 is a leap year, so Feb 29 parses


def _offset(text: str | None) -> tzinfo | None:
    if not text:
        return None
    if text == "Z":
        return UTC
    sign = -1 if text[0] == "-" else 1
    digits = text[1:].replace(":", "")
    return timezone(sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:])))


def _closest_year_before(value: datetime, reference: datetime) -> datetime:
    for year in (reference.year, reference.year - 1):
        try:
            candidate = value.replace(year=year)
        except ValueError:  # Feb 29 in a common year
            continue
        if candidate <= reference + timedelta(days=1):
            return candidate
    return value.replace(year=reference.year)


# Shapes tried after ISO 8601 when a source names no format: syslog, Apache access and error
# logs, slash dates with two- or four-digit years, month-day without a year (logcat).
AUTO_FORMATS: tuple[TimestampFormat, ...] = tuple(
    TimestampFormat.compile(fmt)
    for fmt in (
        "%b %e %H:%M:%S",
        "%b %e %H:%M:%S.%f",
        "%d/%b/%Y:%H:%M:%S %z",
        "%a %b %e %H:%M:%S %Y",
        "%a %b %e %H:%M:%S.%f %Y",
        "%Y/%m/%d %H:%M:%S",
        "%Y/%m/%d %H:%M:%S.%f",
        "%y/%m/%d %H:%M:%S",
        "%d.%m.%Y %H:%M:%S",
        "%m-%d %H:%M:%S.%f",
    )
)


def parse_timestamp(
    text: str,
    *,
    formats: tuple[TimestampFormat, ...] = AUTO_FORMATS,
    zone: tzinfo = UTC,
    reference: datetime | None = None,
) -> datetime | None:
    """``text`` as an aware UTC datetime, or None when no known shape fits."""
    text = text.strip()
    value = parse_iso_or_epoch(text, zone)
    if value is not None or not text:
        return value
    reference = reference or datetime.now(UTC)
    for fmt in formats:
        parsed = fmt.parse(text, zone, reference)
        if parsed is not None:
            return parsed
    return None


def parse_iso_or_epoch(text: str, zone: tzinfo = UTC) -> datetime | None:
    """The fast shapes alone: ISO 8601 and epoch numbers."""
    if not text or not text[0].isdigit():
        return None
    if text.isdigit():
        return _from_epoch(text)
    seconds, dot, fraction = text.partition(".")
    if dot and seconds.isdigit() and fraction.isdigit() and len(seconds) == 10:
        # Epoch seconds with a fraction, as zap and structlog write them ("ts": 1700000000.25).
        micros = int(fraction[:6].ljust(6, "0"))
        return datetime.fromtimestamp(int(seconds), UTC) + timedelta(microseconds=micros)
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        return None
    return (value if value.tzinfo else value.replace(tzinfo=zone)).astimezone(UTC)


def _from_epoch(digits: str) -> datetime | None:
    # Seconds, milliseconds, microseconds or nanoseconds since 1970, told apart by length.
    scale = {10: 1, 13: 1_000, 16: 1_000_000, 19: 1_000_000_000}.get(len(digits))
    if scale is None:
        return None
    return datetime.fromtimestamp(int(digits) / scale, UTC)
