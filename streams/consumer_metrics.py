"""The worker's own view of its consumer, as Prometheus metrics: lag in messages and in seconds
per partition, the time of each partition's last commit (the stuck-consumer signal), and the
depth of the stream buffers; and the ``/metrics`` and ``/healthz`` pages of the worker."""

from __future__ import annotations

import contextlib
import time
from typing import Any

import faust
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from streams import metrics
from streams.transport import transport_queues


def add_consumer_metrics(app: faust.App, topics: list[str], interval: float = 5.0) -> None:
    """Report the consumer's state every ``interval`` seconds and serve the worker's pages."""
    reported: set[tuple[str, str]] = set()

    async def report_lag() -> None:
        consumer: Any = app.consumer  # the committed offsets it tracks are private
        monitor: Any = app.monitor
        now = time.time()
        assigned: set[tuple[str, str]] = set()
        for tp in consumer.assignment():
            committed = consumer._committed_offset.get(tp)
            highwater = consumer.highwater(tp)
            if highwater is None:
                continue
            labels = (tp.topic, str(tp.partition))
            assigned.add(labels)
            lag = max(0, highwater - (committed if committed is not None else 0))
            metrics.CONSUMER_LAG.labels(*labels).set(lag)
            last_event = monitor.event_timestamps.get(tp)
            if lag == 0:
                metrics.CONSUMER_LAG_SECONDS.labels(*labels).set(0)
            elif last_event is not None:
                metrics.CONSUMER_LAG_SECONDS.labels(*labels).set(max(0.0, now - last_event))
        for labels in reported - assigned:  # revoked partitions: another worker reports them
            for gauge in (metrics.CONSUMER_LAG, metrics.CONSUMER_LAG_SECONDS, metrics.LAST_COMMIT):
                with contextlib.suppress(KeyError):
                    gauge.remove(*labels)
        reported.clear()
        reported.update(assigned)
        for topic_name in topics:
            queues = transport_queues(app, topic_name)
            metrics.STREAM_BUFFER.labels(topic_name).set(sum(q.qsize() for q in queues))

    app.timer(interval=interval)(report_lag)

    @app.page("/metrics")
    async def metrics_page(web: Any, request: Any) -> Any:
        return web.bytes(generate_latest(), content_type=CONTENT_TYPE_LATEST.split(";")[0])

    @app.page("/healthz")
    async def healthz(web: Any, request: Any) -> Any:
        return web.json({"status": "ok"})
