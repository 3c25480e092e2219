"""Header formats in the ``<Date> <Time> <Level> <Component>: <Content>`` notation of log-parsing
tools (Loghub, logparser): a user describes how a source's lines start, and each line is split into
those named fields, the last of which is normally ``<Content>``.

Written here rather than taken from logparser because that package is research code (pandas, no
releases on PyPI); the notation is tiny: ``<Name>`` is a field, whitespace matches any run of
whitespace, every other character is literal.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_FIELD = re.compile(r"<([A-Za-z_][A-Za-z0-9_]*)>")


@dataclass(frozen=True, slots=True)
class LogFormat:
    """A compiled header format. ``parse`` returns the named fields of a line, or None."""

    format: str
    fields: tuple[str, ...]
    regex: re.Pattern[str]

    def parse(self, line: str) -> dict[str, str] | None:
        match = self.regex.match(line)
        return match.groupdict() if match else None


def compile_log_format(fmt: str) -> LogFormat:
    """Compile a header format; raise ``ValueError`` naming the problem if it is not one."""
    parts = _FIELD.split(fmt)
    if len(parts) < 3:
        raise ValueError(f"log format {fmt!r} names no field; write fields as <Name>")
    fields: list[str] = []
    pattern = ["^"]
    for index, part in enumerate(parts):
        if index % 2 == 0:
            for chunk_index, chunk in enumerate(re.split(r"(\s+)", part)):
                pattern.append(r"\s+" if chunk_index % 2 else re.escape(chunk))
        else:
            if part in fields:
                raise ValueError(f"log format {fmt!r} names the field <{part}> twice")
            fields.append(part)
            is_last = index == len(parts) - 2 and parts[-1] == ""
            pattern.append(f"(?P<{part}>.*)" if is_last else f"(?P<{part}>.*?)")
    pattern.append("$")
    return LogFormat(format=fmt, fields=tuple(fields), regex=re.compile("".join(pattern)))
