"""Faust's aiokafka transport with two changes that decide the worker's throughput.

1. **Fetch wait.** Faust builds its aiokafka consumer with ``fetch_max_wait_ms=1500``, fixed.
   aiokafka keeps one fetch request in flight per broker and asks only for partitions whose
   previous records are consumed. When the other subscribed topics are idle (commits and
   tickets, while logs stream in), a fetch that names only idle partitions is parked by the
   broker for the whole 1.5 s while the busy partitions sit drained: measured, a worker spent
   two thirds of its time so, at about 3,000 events/s. We lower the wait to
   ``worker_fetch_max_wait_ms`` (default 100 ms).

2. **Hand-off.** Faust hands each fetched message to the streams with
   ``wait_first(callback(message), suspend_flow.wait())``: four tasks and an ``asyncio.wait`` per
   message, so that a rebalance can abandon a hand-off that blocks. Here the hand-off awaits
   the callback directly when it cannot block (flow active, no rebalance under way, the
   partition's stream buffer not full) and keeps Faust's guarded path otherwise, so the
   rebalance behaviour is Faust's own.
"""

from __future__ import annotations

import asyncio
from typing import Any

import faust
from faust.transport.drivers.aiokafka import AIOKafkaConsumerThread
from faust.transport.drivers.aiokafka import Consumer as AIOKafkaConsumer
from faust.transport.drivers.aiokafka import Transport as AIOKafkaTransport


def transport_queues(app: Any, topic: str) -> list[Any]:
    """The stream buffers (queues) of the channels subscribed to ``topic``."""
    conductor: Any = app.topics  # its index of channels by topic name is private
    return [channel.queue for channel in conductor._topic_name_index.get(topic, ())]


class _ConsumerThread(AIOKafkaConsumerThread):
    fetch_max_wait_ms: int = 100

    def _create_worker_consumer(self, transport: Any) -> Any:
        consumer = super()._create_worker_consumer(transport)
        # Read by AIOKafkaConsumer.start() when it builds its fetcher; not started yet here.
        consumer._fetch_max_wait_ms = self.fetch_max_wait_ms
        return consumer


class FastHandoffConsumer(AIOKafkaConsumer):
    def _new_consumer_thread(self) -> _ConsumerThread:
        thread = _ConsumerThread(self, loop=self.loop, beacon=self.beacon)
        thread.fetch_max_wait_ms = self._fetch_max_wait_ms = int(
            getattr(self.app, "fetch_max_wait_ms", 100)
        )
        return thread

    def _queues_of(self, topic: str) -> list[Any]:
        return transport_queues(self.app, topic)

    async def _drain_messages(self, fetcher: Any) -> None:  # noqa: PLR0912, PLR0915 (as in Faust)
        # Faust's loop (Consumer._drain_messages with Consumer.getmany inlined, in
        # faust/transport/consumer.py), doing per fetch what Faust does per record where the
        # answer cannot change within a fetch (highwater marks, the queues of a topic), and
        # with the hand-off described above. Records are skipped and seeks made exactly as
        # there.
        app = self.app
        callback = self.callback
        read_offset = self._read_offset
        acks_enabled_for = app.topics.acks_enabled_for
        commit_every = self._commit_every
        suspend_flow = self.suspend_flow
        flow_control = app.flow_control
        to_message = self._to_message
        buffered = self._buffered_partitions
        poll_timeout = self._fetch_max_wait_ms / 1000

        def stopping() -> bool:
            return bool(self._stopped.is_set() or fetcher._stopped.is_set())

        try:
            while not stopping():
                # Faust waits up to 1 s here; records of a partition that flow control takes
                # out of and back into the active set meanwhile would wait for that too.
                records, active = await self._wait_next_records(poll_timeout)
                await asyncio.sleep(0)
                if not records or self.should_stop:
                    continue
                if not self.flow_active:
                    await self.perform_seek()  # as Faust: fetched while stopped, read again
                    continue
                generation_id = app.consumer_generation_id
                for tp in records:
                    app.monitor.track_tp_end_offset(tp, self.highwater(tp))
                queues: dict[str, list[Any]] = {}
                since_yield = 0
                for tp, record in self.scheduler.iterate(records):
                    if not self.flow_active or app.consumer_generation_id != generation_id:
                        break
                    if active is not None and tp not in active and tp not in buffered:
                        continue
                    since_yield += 1
                    if since_yield > 100:
                        since_yield = 0
                        await asyncio.sleep(0)
                    message = to_message(tp, record)
                    offset = message.offset
                    last = read_offset[tp]
                    if last is not None and offset < last:
                        continue  # already handed over before a seek
                    if last and offset - last > 1 and acks_enabled_for(message.topic):
                        await self._add_gap(tp, last + 1, offset)
                    if commit_every is not None and self._n_acked >= commit_every:
                        self._n_acked = 0
                        await self.commit()
                    topic_queues = queues.get(message.topic)
                    if topic_queues is None:
                        topic_queues = queues[message.topic] = self._queues_of(message.topic)
                    if (
                        not suspend_flow.is_set()
                        and flow_control.is_active()
                        and not any(queue.full() for queue in topic_queues)
                    ):
                        await callback(message)  # cannot block: nothing to guard against
                    else:
                        await self.wait_first(callback(message), suspend_flow.wait())
                    read_offset[tp] = offset
        except self.consumer_stopped_errors:
            if self.transport.app.should_stop:
                return
            raise
        except asyncio.CancelledError:
            if self.transport.app.should_stop:
                return
            raise


class Transport(AIOKafkaTransport):
    """Installed on the app by :func:`opsassist.streams.app.create_app` (``app.transport =
    ...``)."""

    Consumer = FastHandoffConsumer


class RawSchema(faust.Schema):  # type: ignore[type-arg]
    """Hands the message's key and value bytes to the stream as they are.

    Faust's schema decodes through its serializer registry even for ``raw``: about 3 µs per
    event to return the same bytes. Our agents decode and validate themselves (``schemas``),
    so that a bad event can be dead-lettered with its reason instead of failing in Faust.
    """

    def compile(self, app: Any, **_: Any) -> Any:
        create_event = app.create_event

        async def decode(message: Any, *, propagate: bool = False) -> Any:
            return create_event(message.key, message.value, message.headers, message)

        return decode
