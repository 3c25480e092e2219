"""Which services a process talks to: the configured ones, or the local ones ``infra up`` started.

``opsassist infra up`` records what it started in ``<state_dir>/infra.json``; every other command
that finds neither ``KAFKA_BOOTSTRAP_SERVERS`` nor ``DATABASE_URL`` configured reads it there.
This is the ground floor (the worker and the API resolve their endpoints here); the launchers
themselves are in ``opsassist.infra``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import orjson

from opsassist.settings import Settings


class ServicesError(RuntimeError):
    """The Kafka or PostgreSQL a process needs is not configured, not running, or failed."""


@dataclass(frozen=True)
class Endpoints:
    kafka_bootstrap_servers: str
    database_url: str


def _record_file(settings: Settings) -> Path:
    return settings.state_dir / "infra.json"


def record_started(settings: Settings, endpoints: dict[str, str]) -> None:
    settings.state_dir.mkdir(parents=True, exist_ok=True)
    _record_file(settings).write_bytes(orjson.dumps(endpoints, option=orjson.OPT_INDENT_2))


def forget_started(settings: Settings) -> None:
    _record_file(settings).unlink(missing_ok=True)


def recorded(settings: Settings) -> dict[str, str]:
    try:
        data = orjson.loads(_record_file(settings).read_bytes())
    except (FileNotFoundError, orjson.JSONDecodeError):
        return {}
    return {str(k): str(v) for k, v in data.items()}


def resolve_endpoints(settings: Settings) -> Endpoints:
    """The Kafka and Postgres to use, or an error that says how to get them."""
    started = recorded(settings)
    kafka = settings.kafka_bootstrap_servers or started.get("kafka_bootstrap_servers", "")
    database = settings.database_url or started.get("database_url", "")
    missing = [
        name
        for name, value in (("KAFKA_BOOTSTRAP_SERVERS", kafka), ("DATABASE_URL", database))
        if not value
    ]
    if missing:
        raise ServicesError(
            f"No {' and no '.join(missing)} configured and no local services running. "
            "Run `opsassist infra up` (or `make run`), or set the variable(s)."
        )
    return Endpoints(kafka_bootstrap_servers=kafka, database_url=database)
