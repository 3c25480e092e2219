"""The raw topics and the dead-letter topic, created explicitly (partitions, replication) before
anything produces or consumes, instead of relying on the broker's auto-creation defaults."""

from __future__ import annotations

import asyncio
import contextlib
import time

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaConnectionError, KafkaError, TopicAlreadyExistsError

from opsassist.settings import Settings


def topic_names(settings: Settings) -> list[str]:
    return [
        settings.topic_logs,
        settings.topic_commits,
        settings.topic_tickets,
        settings.topic_alerts,
        settings.topic_dead_letter,
    ]


def notification_topic_names(settings: Settings) -> list[str]:
    """The topics of ``opsassist notify`` (docs/incidents.md): not among ``topic_names``, which
    the worker and the API create, since only the notifier produces and consumes them."""
    return [settings.topic_notifications, settings.topic_notifications_dead_letter]


def retention_ms(settings: Settings, topic: str) -> int:
    """The retention a topic is created with: the raw topics and the dead-letter topic hold
    originals, so they keep them only this long (docs/privacy.md)."""
    hours = (
        settings.topic_dead_letter_retention_hours
        if topic in (settings.topic_dead_letter, settings.topic_notifications_dead_letter)
        else settings.topic_raw_retention_hours
    )
    return int(hours * 3_600_000)


async def ensure_topics(
    bootstrap_servers: str,
    settings: Settings,
    retry_for: float = 60.0,
    names: list[str] | None = None,
) -> list[str]:
    """Create the missing topics (``names``, by default ``topic_names``); return the names
    created. Retries until the broker answers. Topics that exist are left as they are (change
    their retention with Kafka's own tools)."""
    deadline = time.monotonic() + retry_for
    while True:
        admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers, request_timeout_ms=10_000)
        try:
            await admin.start()
            existing = set(await admin.list_topics())
            wanted = topic_names(settings) if names is None else names
            missing = [name for name in wanted if name not in existing]
            if missing:
                # TopicAlreadyExistsError: another process created it meanwhile.
                with contextlib.suppress(TopicAlreadyExistsError):
                    await admin.create_topics(
                        [
                            NewTopic(
                                name,
                                settings.topic_partitions,
                                settings.topic_replication_factor,
                                topic_configs={"retention.ms": str(retention_ms(settings, name))},
                            )
                            for name in missing
                        ]
                    )
            return missing
        except (KafkaConnectionError, KafkaError, OSError):
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.5)
        finally:
            await admin.close()
