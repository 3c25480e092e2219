"""A lean Faust monitor.

Faust's default :class:`faust.sensors.Monitor` keeps statistics for every message and every
stream event (counters by topic, stream and task, timings, deques of run times) that only its
own web views read; on these machines that costs about 3 µs per event, a tenth of the
worker's budget. Our figures are Prometheus metrics (``streams/metrics.py``), so this monitor
keeps only what Faust itself reads back: the read offset per partition and the time a stream
last took an event from it (the consumer's "slow processing" check).
"""

from __future__ import annotations

from time import monotonic
from typing import Any

from faust.sensors import Monitor


class LeanMonitor(Monitor):
    def on_message_in(self, tp: Any, offset: int, message: Any) -> None:
        self.tp_read_offsets[tp] = offset

    def on_stream_event_in(self, tp: Any, offset: int, stream: Any, event: Any) -> None:
        self.stream_inbound_time[tp] = monotonic()

    def on_stream_event_out(
        self, tp: Any, offset: int, stream: Any, event: Any, state: Any = None
    ) -> None:
        return None

    def on_message_out(self, tp: Any, offset: int, message: Any) -> None:
        return None
