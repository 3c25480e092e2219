"""A lean Faust monitor.

Faust's default :class:`faust.sensors.Monitor` keeps statistics for every message and every
stream event (counters by topic, stream and task, timings, deques of run times) that only its
own web views read; on these machines that costs about 3 µs per event, a tenth of the
worker's budget. Our figures are Prometheus metrics (``streams/runtime/metrics.py``), so this
monitor
keeps only what Faust itself reads back (the read offset per partition and the time a stream
last took an event from it, for the consumer's "slow processing" check) and what our own
metrics need: the timestamp of the last event taken per partition (lag in seconds) and the
time of each partition's last commit (the stuck-consumer signal).
"""

from __future__ import annotations

from time import monotonic, time
from typing import Any

from faust.sensors import Monitor

from opsassist.streams.runtime import metrics


class LeanMonitor(Monitor):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        #: Partition -> Kafka timestamp of the last event a stream took (for lag in seconds).
        self.event_timestamps: dict[Any, float] = {}

    def on_message_in(self, tp: Any, offset: int, message: Any) -> None:
        self.tp_read_offsets[tp] = offset

    def on_stream_event_in(self, tp: Any, offset: int, stream: Any, event: Any) -> None:
        self.stream_inbound_time[tp] = monotonic()
        self.event_timestamps[tp] = event.message.timestamp  # Kafka record time, seconds

    def on_tp_commit(self, tp_offsets: Any) -> None:
        super().on_tp_commit(tp_offsets)
        now = time()
        for tp in tp_offsets:
            metrics.LAST_COMMIT.labels(tp.topic, str(tp.partition)).set(now)

    def on_stream_event_out(
        self, tp: Any, offset: int, stream: Any, event: Any, state: Any = None
    ) -> None:
        return None

    def on_message_out(self, tp: Any, offset: int, message: Any) -> None:
        return None
