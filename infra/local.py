"""The local Kafka and PostgreSQL of ``opsassist infra up``, built from the settings. Which
endpoints a process uses (configured, or what ``infra up`` recorded) is ``opsassist.endpoints``."""

from __future__ import annotations

from opsassist.infra.kafka import LocalKafka
from opsassist.infra.postgres import LocalPostgres, data_dir_for
from opsassist.settings import Settings


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
