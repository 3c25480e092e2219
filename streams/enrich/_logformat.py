"""Header formats in the ``<Date> <Time> <Level> <Component>: <Content>`` notation of log-parsing
tools (Loghub, logparser): a user describes how a source's lines start, and each line is split into
those named fields, the last of which is normally ``<Content>``.

``<Name>`` is a field and a run of spaces matches any run of whitespace. The text between
fields is read in one of two ways, chosen by the format itself:

- without a backslash, it is literal: ``[<Time>] [<Level>] <Content>`` matches brackets, as a
  person writing a format expects;
- with a backslash anywhere, it is a regular-expression fragment, as logparser reads it, so
  formats published for that tool work unchanged (``\\[<Pid>\\]`` for a bracketed pid,
  ``(\\[<PID>\\])?`` for an optional one).

Written here rather than taken from logparser because that package is research code (pandas, no
releases on PyPI).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_FIELD = re.compile(r"<([A-Za-z_][A-Za-z0-9_]*)>")
_SPACES = re.compile(r" +")


@dataclass(frozen=True, slots=True)
class LogFormat:
    """A compiled header format. ``parse`` returns the named fields of a line, or None."""

    format: str
    fields: tuple[str, ...]
    regex: re.Pattern[str]

    def parse(self, line: str) -> dict[str, str] | None:
        match = self.regex.match(line)
        if match is None:
            return None
        return {name: value for name, value in match.groupdict().items() if value is not None}


def compile_log_format(fmt: str) -> LogFormat:
    """Compile a header format; raise ``ValueError`` naming the problem if it is not one."""
    parts = _FIELD.split(fmt)
    if len(parts) < 3:
        raise ValueError(f"log format {fmt!r} names no field; write fields as <Name>")
    fields: list[str] = []
    regex_fragments = "\\" in fmt  # logparser's notation; otherwise the separators are literal
    pattern = ["^"]
    for index, part in enumerate(parts):
        if index % 2 == 0:
            if regex_fragments:
                pattern.append(_SPACES.sub(r"\\s+", part))
            else:
                pattern.append(r"\s+".join(re.escape(chunk) for chunk in _SPACES.split(part)))
        else:
            if part in fields:
                raise ValueError(f"log format {fmt!r} names the field <{part}> twice")
            fields.append(part)
            is_last = index == len(parts) - 2 and parts[-1] == ""
            pattern.append(f"(?P<{part}>.*)" if is_last else f"(?P<{part}>.*?)")
    pattern.append("$")
    try:
        regex = re.compile("".join(pattern), re.DOTALL)
    except re.error as exc:
        raise ValueError(f"log format {fmt!r} is not a valid pattern: {exc}") from None
    return LogFormat(format=fmt, fields=tuple(fields), regex=regex)
