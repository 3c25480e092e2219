"""Which services a process talks to: the configured ones, or the local ones ``infra up`` started.

``opsassist infra up`` records what it started in ``<state_dir>/infra.json``; every other command
that finds neither ``KAFKA_BOOTSTRAP_SERVERS`` nor ``DATABASE_URL`` configured reads it there.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import orjson

from infra.errors import InfraError
from infra.kafka import LocalKafka
from infra.postgres import LocalPostgres, data_dir_for
from opsassist.settings import Settings


@dataclass(frozen=True)
class Endpoints:
    kafka_bootstrap_servers: str
    database_url: str


def local_kafka(settings: Settings) -> LocalKafka:
    return LocalKafka(
        version=settings.kafka_version,
        cache_dir=settings.cache_dir,
        data_dir=settings.kafka_data_dir,
        port=settings.kafka_port,
        controller_port=settings.kafka_controller_port,
        heap=settings.kafka_heap,
    )


def local_postgres(settings: Settings) -> LocalPostgres:
    return LocalPostgres(
        data_dir=data_dir_for(settings.postgres_data_dir), port=settings.postgres_port
    )


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
        raise InfraError(
            f"No {' and no '.join(missing)} configured and no local services running. "
            "Run `opsassist infra up` (or `make run`), or set the variable(s)."
        )
    return Endpoints(kafka_bootstrap_servers=kafka, database_url=database)
