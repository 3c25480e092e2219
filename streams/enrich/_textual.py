"""Plain-text line shapes recognised without configuration: syslog (RFC 5424 and the BSD format
of RFC 3164), Apache/Nginx access logs (combined and common), and the "date time level
component: message" family that Java (log4j, logback) and Python loggers write."""

from __future__ import annotations

import re
from typing import Any

from opsassist.streams.enrich._levels import SYSLOG_SEVERITY
from opsassist.streams.enrich._records import ParsedLine

_RFC5424 = re.compile(
    r"<(?P<pri>\d{1,3})>1 (?P<ts>\S+) (?P<host>\S+) (?P<app>\S+) (?P<procid>\S+) (?P<msgid>\S+) "
    r"(?P<sd>-|(?:\[(?:[^\]\\]|\\.)*\])+)(?: (?P<msg>.*))?",
    re.DOTALL,
)
_SD_ELEMENT = re.compile(r"\[([^\s\]]+)((?:\s+[^=\s\]]+=\"(?:[^\"\\]|\\.)*\")*)\]")
_SD_PARAM = re.compile(r'([^=\s\]]+)="((?:[^"\\]|\\.)*)"')
_RFC3164 = re.compile(
    r"(?:<(?P<pri>\d{1,3})>)?(?P<ts>[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d) (?P<host>\S+) "
    r"(?P<tag>[^\s:\[]+)(?:\[(?P<pid>[^\]]*)\])?: ?(?P<msg>.*)",
    re.DOTALL,
)
_ACCESS = re.compile(
    r"(?P<remote_addr>\S+) (?P<ident>\S+) (?P<remote_user>\S+) \[(?P<ts>[^\]]+)\] "
    r'"(?P<request>(?:[^"\\]|\\.)*)" (?P<status>\d{3}) (?P<bytes>\d+|-)'
    r'(?: "(?P<referer>(?:[^"\\]|\\.)*)" "(?P<user_agent>(?:[^"\\]|\\.)*)")?(?P<rest>.*)'
)
_LEVEL_WORD = (
    r"(?i:TRACE|DEBUG|INFO|NOTICE|WARN|WARNING|ERROR|ERR|SEVERE|FATAL|CRITICAL|CRIT|FINE|FINER|"
    r"FINEST|CONFIG)"
)
# date [T ] time [zone], then optionally "- " or "[thread]", the level (maybe bracketed),
# optionally "[thread]" and "- ", then "component: " or "component - " before the message.
_LOGGER = re.compile(
    r"(?P<date>\d{4}-\d\d-\d\d|\d{2,4}/\d\d/\d\d|\d\d-\d\d)[ T]"
    r"(?P<time>\d\d:\d\d:\d\d(?:[.,]\d{1,9})?)(?P<zone>Z|[+-]\d\d:?\d\d)?"
    r"\s+(?:-\s+)?(?:\[(?P<thread>(?:[^\[\]]|\[[^\]]*\])*)\]\s+)?"
    rf"\[?(?P<level>{_LEVEL_WORD})\]?(?=\s)"
    r"\s+(?:\[(?P<thread2>(?:[^\[\]]|\[[^\]]*\])*)\]\s+)?(?:-\s+)?"
    r"(?:(?P<component>[\w.$/@\-]+(?:\[[^\]\s]*\])?)(?::\s+|\s+-\s+|:$))?"
    r"(?P<message>.*)",
    re.DOTALL,
)


# Apache httpd's error log (2.2 and 2.4): "[date] [module:level] [pid N:tid M] [client A] msg".
_APACHE_ERROR = re.compile(
    r"\[(?P<ts>[A-Z][a-z]{2} [A-Z][a-z]{2} [ \d]\d [\d:.]+ \d{4})\] "
    r"\[(?:(?P<module>[\w-]+):)?(?P<level>\w+)\]"
    r"(?: \[pid (?P<pid>\d+)(?::tid (?P<tid>\d+))?\])?(?: \[client (?P<client>[^\]]+)\])? ?"
    r"(?P<message>.*)",
    re.DOTALL,
)
# Android logcat's default "threadtime" format: "MM-DD HH:MM:SS.mmm  PID  TID L TAG: msg".
_LOGCAT = re.compile(
    r"(?P<date>\d\d-\d\d) (?P<time>\d\d:\d\d:\d\d\.\d{3})\s+(?P<pid>\d+)\s+(?P<tid>\d+) "
    r"(?P<level>[VDIWEFA]) (?P<tag>[^:]*?)\s*: (?P<message>.*)",
    re.DOTALL,
)


def parse_rfc5424(line: str) -> ParsedLine | None:
    match = _RFC5424.match(line)
    if match is None:
        return None
    fields: dict[str, Any] = _priority(match.group("pri"))
    for key in ("app", "procid", "msgid"):
        if match.group(key) != "-":
            fields["appname" if key == "app" else key] = match.group(key)
    if match.group("sd") != "-":
        fields["structured_data"] = {
            element.group(1): dict(_SD_PARAM.findall(element.group(2)))
            for element in _SD_ELEMENT.finditer(match.group("sd"))
        }
    host = match.group("host")
    return ParsedLine(
        format="syslog-rfc5424",
        message=(match.group("msg") or "").removeprefix("\ufeff"),
        timestamp=None if match.group("ts") == "-" else match.group("ts"),
        level=fields.pop("severity", None),
        host=None if host == "-" else host,
        service=fields.get("appname"),
        fields=fields,
    )


def parse_rfc3164(line: str) -> ParsedLine | None:
    match = _RFC3164.match(line)
    if match is None:
        return None
    fields: dict[str, Any] = _priority(match.group("pri"))
    fields["program"] = match.group("tag")
    if match.group("pid"):
        fields["pid"] = match.group("pid")
    return ParsedLine(
        format="syslog-rfc3164",
        message=match.group("msg"),
        timestamp=match.group("ts"),
        level=fields.pop("severity", None),
        host=match.group("host"),
        service=match.group("tag"),
        fields=fields,
    )


def _priority(pri: str | None) -> dict[str, Any]:
    if pri is None or int(pri) > 191:
        return {}
    value = int(pri)
    return {"facility": value >> 3, "severity": SYSLOG_SEVERITY[value & 7].value}


def parse_access_log(line: str) -> ParsedLine | None:
    """Apache/Nginx "combined" (and "common", without referer and user agent)."""
    match = _ACCESS.match(line)
    if match is None or match.group("rest").strip():
        return None
    fields: dict[str, Any] = {
        key: value
        for key, value in match.groupdict().items()
        if key not in ("ts", "rest") and value is not None and value != "-"
    }
    request = match.group("request")
    parts = request.split(" ")
    if len(parts) == 3:
        fields["method"], fields["path"], fields["protocol"] = parts
    return ParsedLine(
        format="access-log",
        message=f"{request} {match.group('status')}",
        timestamp=match.group("ts"),
        fields=fields,
    )


def parse_logger_line(line: str) -> ParsedLine | None:
    """ "2024-01-02 03:04:05,678 INFO [main] com.example.App: started" and its relatives."""
    match = _LOGGER.match(line)
    if match is None:
        return None
    fields: dict[str, Any] = {}
    thread = match.group("thread") or match.group("thread2")
    if thread:
        fields["thread"] = thread
    if match.group("component"):
        fields["component"] = match.group("component")
    timestamp = f"{match.group('date')} {match.group('time')}{match.group('zone') or ''}"
    return ParsedLine(
        format="logger",
        message=match.group("message"),
        timestamp=timestamp,
        level=match.group("level"),
        fields=fields,
    )


def parse_apache_error(line: str) -> ParsedLine | None:
    match = _APACHE_ERROR.match(line)
    if match is None:
        return None
    fields = {
        key: value
        for key in ("module", "pid", "tid", "client")
        if (value := match.group(key)) is not None
    }
    return ParsedLine(
        format="apache-error",
        message=match.group("message"),
        timestamp=match.group("ts"),
        level=match.group("level"),
        fields=fields,
    )


def parse_logcat(line: str) -> ParsedLine | None:
    match = _LOGCAT.match(line)
    if match is None:
        return None
    return ParsedLine(
        format="logcat",
        message=match.group("message"),
        timestamp=f"{match.group('date')} {match.group('time')}",
        level=match.group("level"),
        fields={"pid": match.group("pid"), "tid": match.group("tid"), "tag": match.group("tag")},
    )
