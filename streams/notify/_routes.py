"""Notification routes: a TOML file (``OPSASSIST_NOTIFY_ROUTES``) of ``[[routes]]`` tables, each
a receiver and the incidents it wants by service, severity, transition and time of day."""

from __future__ import annotations

import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from opsassist.streams.notify._transitions import TRANSITIONS

#: The receiver kinds a route may name.
KINDS = ("webhook", "slack", "teams", "pagerduty", "email")


class RoutesError(ValueError):
    """The routes file is not valid; the message names the route and the field."""


@dataclass(frozen=True, slots=True)
class Route:
    name: str
    kind: str
    #: where the receiver listens (http(s) URL); for e-mail the SMTP server as smtp://host:port
    url: str
    #: the HMAC key of the generic webhook's X-Opsassist-Signature-256
    secret: str = ""
    #: PagerDuty's integration (routing) key
    routing_key: str = ""
    #: e-mail sender and recipients
    sender: str = ""
    recipients: tuple[str, ...] = ()
    #: empty: every service / severity
    services: frozenset[str] = frozenset()
    severities: frozenset[str] = frozenset()
    transitions: frozenset[str] = frozenset(TRANSITIONS)
    #: the hours of the day (in ``timezone``) the route is on: [start, end), may wrap midnight
    hours: tuple[time, time] | None = None
    timezone: str = "UTC"
    #: deliveries per minute at most; the ones above wait their turn (none is dropped)
    rate_per_minute: int = 60

    def wants(self, service: str, severity: str, transition: str, at: datetime) -> bool:
        if self.services and service not in self.services:
            return False
        if self.severities and severity not in self.severities:
            return False
        if transition not in self.transitions:
            return False
        if self.hours is None:
            return True
        local = at.astimezone(ZoneInfo(self.timezone)).time()
        start, end = self.hours
        return start <= local < end if start < end else (local >= start or local < end)


def _hours(name: str, value: str) -> tuple[time, time]:
    try:
        start, end = (time.fromisoformat(part.strip()) for part in value.split("-"))
    except ValueError:
        raise RoutesError(f"route {name!r}: hours must be 'HH:MM-HH:MM', not {value!r}") from None
    if start == end:
        raise RoutesError(f"route {name!r}: hours {value!r} is an empty span")
    return start, end


def _strings(name: str, key: str, value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise RoutesError(f"route {name!r}: {key} must be a list of strings")
    return tuple(value)


def _route(table: Mapping[str, Any], index: int) -> Route:
    name = table.get("name")
    if not isinstance(name, str) or not name:
        raise RoutesError(f"route #{index + 1}: a name is required")
    kind = table.get("kind")
    if kind not in KINDS:
        raise RoutesError(f"route {name!r}: kind must be one of {', '.join(KINDS)}, not {kind!r}")
    url = table.get("url")
    if not isinstance(url, str) or not url.startswith(("http://", "https://", "smtp://")):
        raise RoutesError(f"route {name!r}: url must be an http(s):// or smtp:// address")
    transitions = frozenset(
        _strings(name, "transitions", table.get("transitions", list(TRANSITIONS)))
    )
    if unknown := transitions - set(TRANSITIONS):
        raise RoutesError(f"route {name!r}: unknown transitions {sorted(unknown)}")
    if kind == "pagerduty" and not table.get("routing_key"):
        raise RoutesError(f"route {name!r}: a pagerduty route needs a routing_key")
    if kind == "email" and not (table.get("to") and table.get("from")):
        raise RoutesError(f"route {name!r}: an email route needs from and to")
    timezone = str(table.get("timezone", "UTC"))
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise RoutesError(f"route {name!r}: unknown timezone {timezone!r}") from None
    rate = table.get("rate_per_minute", 60)
    if not isinstance(rate, int) or rate < 1:
        raise RoutesError(f"route {name!r}: rate_per_minute must be a positive integer")
    hours = table.get("hours")
    return Route(
        name=name,
        kind=kind,
        url=url,
        secret=str(table.get("secret", "")),
        routing_key=str(table.get("routing_key", "")),
        sender=str(table.get("from", "")),
        recipients=_strings(name, "to", table.get("to", [])),
        services=frozenset(_strings(name, "services", table.get("services", []))),
        severities=frozenset(_strings(name, "severities", table.get("severities", []))),
        transitions=transitions,
        hours=_hours(name, str(hours)) if hours is not None else None,
        timezone=timezone,
        rate_per_minute=rate,
    )


def parse_routes(text: str) -> tuple[Route, ...]:
    """The routes of a TOML document; :class:`RoutesError` names the first fault."""
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise RoutesError(f"routes file is not TOML: {exc}") from None
    tables = document.get("routes", [])
    if not isinstance(tables, list):
        raise RoutesError("routes must be an array of tables ([[routes]])")
    routes = tuple(_route(table, i) for i, table in enumerate(tables))
    names = [route.name for route in routes]
    if len(set(names)) != len(names):
        raise RoutesError("route names must be unique: a name is part of each delivery's key")
    return routes


def load_routes(path: Path) -> tuple[Route, ...]:
    return parse_routes(path.read_text(encoding="utf-8"))


def matching_routes(
    routes: Sequence[Route], service: str, severity: str, transition: str, at: datetime
) -> list[Route]:
    return [route for route in routes if route.wants(service, severity, transition, at)]
