"""The ingest stage every raw-topic agent runs on a batch: decode and validate, write the valid
events to PostgreSQL, dead-letter the rest — and return only once all of it is durable, so the
caller may then let the offsets be committed.

Database errors are of two kinds. Transient ones (connection lost, server restarting, deadlock)
are retried with capped exponential backoff for as long as it takes: the partition waits rather
than losing anything. Errors caused by the data itself (a value PostgreSQL refuses) would repeat
forever, so the batch is split and only the rows the database refuses go to the dead-letter
topic, with its message as the reason. Recording the dead letters is retried like a write.

:meth:`IngestStage.handle_until_done` is what the agents call: a batch that still fails is
tried again whole, never given up while the worker runs (docs/reliability.md says why).
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple, Protocol

import asyncpg
import structlog

from opsassist.bus.deadletter import DeadLetter, dead_letter
from opsassist.schemas import AnyEvent, InvalidEvent, decode_event
from opsassist.schemas.registry import trace_id_from_headers
from opsassist.store.history import Actor
from opsassist.store.sink import Origin
from opsassist.streams.agents.handler import EventHandler
from opsassist.streams.agents.sanitize import EventSanitizer
from opsassist.streams.privacy import RedactionRecord
from opsassist.streams.runtime import metrics
from opsassist.tracing import processing

log = structlog.get_logger(__name__)


class RawMessage(Protocol):
    """A consumed Kafka record as the stage needs it; Faust's ``ConsumerMessage`` is one, and
    so is :class:`RawRecord`."""

    @property
    def topic(self) -> str: ...
    @property
    def partition(self) -> int: ...
    @property
    def offset(self) -> int: ...
    @property
    def key(self) -> bytes | None: ...
    @property
    def value(self) -> bytes | None: ...
    @property
    def headers(self) -> Sequence[tuple[str, bytes | None]] | None: ...


@dataclass(slots=True)
class RawRecord:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: Sequence[tuple[str, bytes | None]] = ()


@dataclass
class BatchResult:
    written: int = 0
    dead_lettered: int = 0


SendDeadLetters = Callable[[Sequence[DeadLetter]], Awaitable[None]]


class _Ready(NamedTuple):
    """An event of the batch ready to be written: where it came from, its row and who decided
    what the row holds."""

    message: RawMessage
    event: AnyEvent
    row: Any
    actor: Actor | None


def backoff_delay(attempt: int, max_backoff: float) -> float:
    """Seconds to wait before attempt ``attempt + 1``: doubling from 0.2 s up to ``max_backoff``,
    with full jitter so that workers coming back together do not retry in step."""
    return random.uniform(0, min(max_backoff, 0.2 * 2 ** min(attempt, 16)))  # noqa: S311


# Errors of the database or the network that the same action may not meet again. asyncpg's
# InternalClientError ("cannot switch to state 15; another operation (2) is in progress") is
# raised by a connection that broke mid-operation, as seen during a PostgreSQL outage.
_TRANSIENT = (
    TimeoutError,
    asyncpg.PostgresError,
    asyncpg.InterfaceError,
    asyncpg.InternalClientError,
    OSError,
)
# Errors the same rows would raise again: refused values, and values the driver cannot encode.
_PERMANENT = (asyncpg.DataError, asyncpg.IntegrityConstraintViolationError, ValueError, TypeError)


class IngestStage:
    """Decode → write → dead-letter for one kind of raw topic; what the kind does besides is
    its handler's (:class:`~opsassist.streams.agents.handler.EventHandler`)."""

    def __init__(
        self,
        handler: EventHandler[Any, Any, Any],
        send_dead_letters: SendDeadLetters,
        *,
        max_backoff: float = 30.0,
        sanitizer: EventSanitizer | None = None,
    ) -> None:
        self.kind = handler.kind
        self._handler = handler
        self._send_dead_letters = send_dead_letters
        self._max_backoff = max_backoff
        self._sanitizer = sanitizer

    async def handle(self, messages: Sequence[RawMessage]) -> BatchResult:
        if not messages:
            return BatchResult()
        topic = messages[0].topic
        metrics.EVENTS_CONSUMED.labels(topic).inc(len(messages))
        metrics.BATCH_SIZE.labels(topic).observe(len(messages))
        handler = self._handler
        ready: list[_Ready] = []
        dead: list[DeadLetter] = []
        decoded: list[tuple[RawMessage, AnyEvent]] = []
        for message in messages:
            try:
                event = decode_event(message.value, self.kind, message.headers or ())
            except InvalidEvent as exc:
                dead.append(self._dead_letter(message, exc.code, str(exc)))
                continue
            refusal = self._sanitizer.refusal(event) if self._sanitizer is not None else None
            if refusal is not None:
                dead.append(self._dead_letter(message, refusal.code, str(refusal)))
                continue
            decoded.append((message, event))
        decoded, records = self._sanitize(decoded, dead)
        prepared = await self._prepare(topic, [event for _, event in decoded])
        for (message, event), extra, record in zip(decoded, prepared, records, strict=True):
            origin = Origin(message.topic, message.partition, message.offset)
            counts = record.as_dict() if record is not None else None
            try:
                row = handler.row(event, origin, extra, counts)
            except (ValueError, TypeError) as exc:  # e.g. an integer JSON cannot hold
                dead.append(self._dead_letter(message, "unencodable", f"unencodable: {exc}"))
                continue
            ready.append(_Ready(message, event, row, handler.actor(extra)))
        started = time.perf_counter()
        refused = await self._write_durably(topic, ready)
        metrics.BATCH_WRITE_SECONDS.labels(topic).observe(time.perf_counter() - started)
        dead.extend(letter for _, letter in refused)
        if dead:
            # Through the retries too: a batch of nothing but bad events reaches PostgreSQL only
            # here, and an outage must make it wait like a write, not fail it.
            send_dead_letters = self._send_dead_letters
            await self._with_retries(topic, lambda: send_dead_letters(dead))
        written = len(ready) - len(refused)
        metrics.EVENTS_WRITTEN.labels(topic).inc(written)
        if written:
            refused_ids = {id(message) for message, _ in refused}
            stored = [r.event for r in ready if id(r.message) not in refused_ids]
            await self._derive(topic, stored)
        if log.isEnabledFor(10):  # DEBUG: one line per event, with its trace id
            for item in ready:
                log.debug(
                    "event written",
                    event_id=item.event.id,
                    kind=self.kind,
                    trace_id=item.event.trace_id,
                )
        return BatchResult(written=written, dead_lettered=len(dead))

    async def handle_until_done(self, messages: Sequence[RawMessage]) -> BatchResult:
        """:meth:`handle`, with the whole batch tried again, after a backoff, whenever it raises.

        The agent must not give a batch up while the worker runs: Faust would restart the agent
        in the same process, past the batch, whose offsets then stay uncommitted (the partition's
        committed offset freezes) and whose rows are written only after a restart. Every step of
        a batch is idempotent, so trying it again writes nothing twice; a batch that fails for
        good stalls its partition, which ``/healthz`` and ``OpsassistWorkerStalled`` report.
        """
        attempt = 0
        while True:
            try:
                with processing(messages):
                    return await self.handle(messages)
            except Exception as exc:
                attempt += 1
                topic = messages[0].topic
                metrics.BATCHES_FAILED.labels(topic).inc()
                delay = backoff_delay(attempt, self._max_backoff)
                log.exception(
                    "batch failed, retrying the whole batch",
                    topic=topic,
                    attempt=attempt,
                    events=len(messages),
                    error=f"{type(exc).__name__}: {exc}",
                    retry_in_seconds=round(delay, 2),
                )
                await asyncio.sleep(delay)

    def _sanitize(
        self, decoded: list[tuple[RawMessage, AnyEvent]], dead: list[DeadLetter]
    ) -> tuple[list[tuple[RawMessage, AnyEvent]], list[RedactionRecord | None]]:
        """Enrich and redact the decoded events (docs/privacy.md). If the batch fails, each
        event is tried alone and one that still fails is dead-lettered: an event that cannot be
        redacted is never written."""
        if self._sanitizer is None:
            return decoded, [None] * len(decoded)
        sanitize = self._sanitizer.sanitize
        try:
            results = sanitize([event for _, event in decoded])
        except Exception:
            log.exception("redaction failed on a batch; trying its events one by one")
        else:
            return [
                (message, event) for (message, _), (event, _) in zip(decoded, results, strict=True)
            ], [record for _, record in results]
        kept: list[tuple[RawMessage, AnyEvent]] = []
        records: list[RedactionRecord | None] = []
        for message, event in decoded:
            try:
                [(redacted, record)] = sanitize([event])
            except Exception as exc:
                reason = f"redaction_failed: {type(exc).__name__}"
                dead.append(self._dead_letter(message, "redaction_failed", reason))
                continue
            kept.append((message, redacted))
            records.append(record)
        return kept, records

    def _dead_letter(self, message: RawMessage, code: str, reason: str) -> DeadLetter:
        # A reason may quote the value that failed (a database error, a validation message):
        # redacted like everything else that is logged.
        if self._sanitizer is not None:
            reason = self._sanitizer.redact_text(reason)
        metrics.EVENTS_DEAD_LETTERED.labels(message.topic, code).inc()
        log.warning(
            "event dead-lettered",
            topic=message.topic,
            partition=message.partition,
            offset=message.offset,
            reason=reason,
            trace_id=trace_id_from_headers(message.headers),
        )
        return dead_letter(
            key=message.key,
            value=message.value,
            headers=message.headers or (),
            topic=message.topic,
            partition=message.partition,
            offset=message.offset,
            code=code,
            reason=reason,
        )

    async def _write_durably(
        self, topic: str, ready: list[_Ready]
    ) -> list[tuple[RawMessage, DeadLetter]]:
        """Write all rows; return the messages the database refuses, with their dead letters."""
        if not ready:
            return []
        write = self._handler.write
        rows = [item.row for item in ready]
        actors = [item.actor for item in ready]
        try:
            await self._with_retries(topic, lambda: write(rows, actors))
            return []
        except _PERMANENT as exc:
            if len(ready) == 1:
                message = ready[0].message
                reason = f"db_rejected: PostgreSQL refused the row: {exc}"
                return [(message, self._dead_letter(message, "db_rejected", reason))]
        middle = len(ready) // 2
        return [
            *await self._write_durably(topic, ready[:middle]),
            *await self._write_durably(topic, ready[middle:]),
        ]

    async def _prepare(self, topic: str, events: list[AnyEvent]) -> Sequence[Any]:
        """What the handler adds to each event's row (a line's template, a ticket's triage); a
        failure of the step is logged and counted, and the rows are written without it."""
        if not events:
            return []
        try:
            prepared = await self._handler.prepare(events)
        except Exception as exc:  # a bug in a stage must not stop ingestion
            metrics.BEFORE_WRITE_FAILURES.labels(topic).inc()
            log.exception("before-write stage failed", topic=topic, error=str(exc))
            return [None] * len(events)
        if len(prepared) != len(events):
            raise AssertionError(f"the before-write stage gave {len(prepared)} for {len(events)}")
        return prepared

    async def _derive(self, topic: str, events: list[AnyEvent]) -> None:
        """Run the handler's after-write step on the stored events. Database trouble is retried
        like a write; any other failure is logged and counted, and ingestion goes on: the rows
        are durable, and what is derived from them is rebuilt by the next batch that touches
        it."""
        derive = self._handler.derive
        try:
            await self._with_retries(topic, lambda: derive(events))
        except Exception as exc:  # a bug or bad data in a derived stage must not stop ingestion
            metrics.AFTER_WRITE_FAILURES.labels(topic).inc()
            log.exception("after-write stage failed", topic=topic, error=str(exc))

    async def _with_retries(self, topic: str, action: Callable[[], Awaitable[object]]) -> None:
        """Run ``action`` until it succeeds, backing off on errors of the database or the
        network; errors the same data would raise again (``_PERMANENT``) are raised."""
        attempt = 0
        while True:
            try:
                await action()
                return
            except _PERMANENT:
                raise
            except _TRANSIENT as exc:
                attempt += 1
                metrics.WRITE_RETRIES.labels(topic).inc()
                delay = backoff_delay(attempt, self._max_backoff)
                log.error(
                    "batch write failed, retrying",
                    topic=topic,
                    attempt=attempt,
                    error=f"{type(exc).__name__}: {exc}",
                    retry_in_seconds=round(delay, 2),
                )
                await asyncio.sleep(delay)
