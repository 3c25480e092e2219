"""``opsassist lag-exporter``: the workers' consumer group lag, read from Kafka itself (committed
offsets against each partition's end), as Prometheus metrics.

A worker reports its own lag, but only for the partitions it holds and only while it lives; this
process keeps reporting every partition of the raw topics when workers die or none runs, which
is when the lag matters.
"""

from __future__ import annotations

import asyncio

import structlog
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from prometheus_client import CollectorRegistry, Gauge, start_http_server

from opsassist.cli.services import endpoints_or_exit, without_created_series
from opsassist.settings import Settings, get_settings
from opsassist.structured_logging import configure_logging

log = structlog.get_logger(__name__)


async def _group_lag(
    admin: AIOKafkaAdminClient, consumer: AIOKafkaConsumer, group: str, topics: list[str]
) -> dict[TopicPartition, int]:
    """Messages after the group's committed offset, per partition of ``topics`` (a partition the
    group never committed counts from its start)."""
    # Listed first: describing a topic that does not exist yet may create it (auto-create).
    existing = [t for t in topics if t in await admin.list_topics()]
    described = await admin.describe_topics(existing) if existing else []
    partitions = [
        TopicPartition(t["topic"], p["partition"])
        for t in described
        if not t.get("error_code")
        for p in t.get("partitions", ())
    ]
    if not partitions:
        return {}
    committed = await admin.list_consumer_group_offsets(group, partitions=partitions)
    starts = await consumer.beginning_offsets(partitions)
    ends = await consumer.end_offsets(partitions)
    lag: dict[TopicPartition, int] = {}
    for tp in partitions:
        meta = committed.get(tp)
        position = meta.offset if meta is not None and meta.offset >= 0 else starts[tp]
        lag[tp] = max(0, ends[tp] - position)
    return lag


async def _export(settings: Settings, bootstrap: str, gauge: Gauge, up: Gauge) -> None:
    group = settings.worker_id
    topics = list(settings.topics.values())
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await admin.start()
    await consumer.start()
    try:
        while True:
            try:
                lag = await _group_lag(admin, consumer, group, topics)
            except Exception as exc:  # Kafka away for a moment: report it, keep the process
                up.set(0)
                log.warning("lag_read_failed", error=repr(exc))
            else:
                up.set(1)
                for tp, messages in lag.items():
                    gauge.labels(group, tp.topic, str(tp.partition)).set(messages)
            await asyncio.sleep(settings.lag_exporter_interval_seconds)
    finally:
        await consumer.stop()
        await admin.close()


def lag_exporter() -> None:
    """What ``opsassist lag-exporter`` runs (its help is in cli/main.py, which imports this
    module only when the command runs)."""
    without_created_series()
    settings = get_settings()
    configure_logging(settings.log_level, settings.log_format)
    endpoints = endpoints_or_exit(settings)
    registry = CollectorRegistry()
    gauge = Gauge(
        "opsassist_consumer_group_lag_messages",
        "Messages in the partition after the consumer group's committed offset, read from Kafka.",
        ["group", "topic", "partition"],
        registry=registry,
    )
    up = Gauge(
        "opsassist_lag_exporter_kafka_up",
        "1 when the last read of offsets from Kafka succeeded.",
        registry=registry,
    )
    start_http_server(
        settings.lag_exporter_port, addr=settings.lag_exporter_host, registry=registry
    )
    log.info("lag_exporter_started", port=settings.lag_exporter_port, group=settings.worker_id)
    asyncio.run(_export(settings, endpoints.kafka_bootstrap_servers, gauge, up))
