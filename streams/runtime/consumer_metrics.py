"""The worker's own view of its consumer, as Prometheus metrics: lag in messages and in seconds
per partition, the time of each partition's last commit (the stuck-consumer signal), and the
depth of the stream buffers; and the ``/metrics`` and ``/healthz`` pages of the worker, whose
``/healthz`` fails when pending work has stopped progressing (streams/runtime/progress.py)."""

from __future__ import annotations

import contextlib
import time
from typing import Any

import faust
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from opsassist.streams.runtime import metrics
from opsassist.streams.runtime.progress import ProgressWatch
from opsassist.streams.runtime.transport import transport_queues


def add_consumer_metrics(
    app: faust.App,
    topics: list[str],
    progress: ProgressWatch,
    stall_seconds: float,
    interval: float = 5.0,
) -> None:
    """Report the consumer's state every ``interval`` seconds and serve the worker's pages;
    ``/healthz`` answers 503 once ``progress`` has been stalled for longer than
    ``stall_seconds``."""
    reported: set[tuple[str, str]] = set()
    metrics.WORKER_STALLED.set_function(progress.stalled_seconds)
    metrics.WORKER_STALL_BOUND.set(stall_seconds)

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
            progress.partition(labels, committed, highwater)
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
        progress.keep_partitions(assigned)
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
        stalled = progress.stalled_seconds()
        body = {
            "status": "stalled" if stalled > stall_seconds else "ok",
            "stalled_seconds": round(stalled, 1),
            "stall_bound_seconds": stall_seconds,
            "seconds_since_last_batch": round(progress.seconds_since_last_batch(), 1),
        }
        return web.json(body, status=503 if stalled > stall_seconds else 200)
