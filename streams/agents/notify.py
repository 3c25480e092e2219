"""``opsassist notify``: a process of its own beside the worker. It LISTENs to the incidents'
changes (``opsassist_incident_changes``, migration 0014), so the detector, alerts and people's
changes all notify without the worker knowing, puts one event per (change, route) on
``ops.notifications``, and consumes that topic in a group of its own to deliver each event to
its route: retried with backoff and jitter, dead-lettered with the reason after the last try,
deduplicated per incident, route and transition, rate-limited per route, every attempt recorded
in ``notification_deliveries``. The rules are plain code in ``opsassist.streams.notify``."""

from __future__ import annotations

import asyncio
import smtplib
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from email.message import EmailMessage
from urllib.parse import urlsplit

import asyncpg
import httpx
import orjson
import structlog
from aiokafka import (
    AIOKafkaConsumer,
    AIOKafkaProducer,
    ConsumerRebalanceListener,
    ConsumerRecord,
    TopicPartition,
)
from aiokafka.errors import KafkaError

from opsassist.bus.deadletter import dead_letter
from opsassist.bus.topics import ensure_topics, notification_topic_names
from opsassist.settings import Settings
from opsassist.store.notifications import (
    DeliveryAttempt,
    already_delivered,
    incident_change,
    record_attempt,
)
from opsassist.streams.notify import (
    Notification,
    OffsetTracker,
    RateLimit,
    Route,
    backoff_seconds,
    build_delivery,
    matching_routes,
    notification_for,
    transition_of,
)

log = structlog.get_logger(__name__)

INCIDENT_CHANNEL = "opsassist_incident_changes"
#: Records fetched but not yet delivered, across routes, before fetching pauses.
MAX_IN_FLIGHT = 10_000


@dataclass(frozen=True, slots=True)
class Outcome:
    delivered: bool
    #: a retry cannot help (the receiver refused the request itself: 4xx other than 408/429)
    permanent: bool = False
    http_status: int | None = None
    error: str | None = None


class Notifier:
    """The two halves in one process: announcing changes (LISTEN -> ``ops.notifications``) and
    delivering them (``ops.notifications`` -> one lane per route). ``redact`` is the privacy
    policy's text redaction, applied before an event is produced."""

    def __init__(
        self,
        settings: Settings,
        bootstrap_servers: str,
        database_url: str,
        routes: tuple[Route, ...],
        redact: Callable[[str], str],
    ) -> None:
        self._settings = settings
        self._bootstrap = bootstrap_servers
        self._database_url = database_url
        self._routes = {route.name: route for route in routes}
        self._redact = redact
        self._limits = {route.name: RateLimit(route.rate_per_minute) for route in routes}
        self._lanes: dict[str, asyncio.Queue[tuple[ConsumerRecord[bytes, bytes], Notification]]]
        self._lanes = {route.name: asyncio.Queue() for route in routes}
        self._offsets: OffsetTracker[TopicPartition] = OffsetTracker()

    async def run(self) -> None:
        """Until cancelled."""
        await ensure_topics(
            self._bootstrap, self._settings, names=notification_topic_names(self._settings)
        )
        self._pool = await asyncpg.create_pool(
            self._database_url,
            min_size=1,
            max_size=4,
            server_settings={"application_name": "opsassist-notify"},
        )
        self._producer = AIOKafkaProducer(
            bootstrap_servers=self._bootstrap, acks="all", enable_idempotence=True
        )
        await self._producer.start()
        self._http = httpx.AsyncClient(timeout=self._settings.notify_timeout_seconds)
        try:
            async with asyncio.TaskGroup() as tasks:
                tasks.create_task(self._announce())
                tasks.create_task(self._consume())
                for name in self._routes:
                    tasks.create_task(self._lane(name))
        finally:
            await self._http.aclose()
            await self._producer.stop()
            await self._pool.close()

    # -- incident changes -> ops.notifications

    async def _announce(self) -> None:
        """LISTEN again after a lost connection; changes made while it was lost are not
        announced (docs/incidents.md says so)."""
        while True:
            try:
                await self._listen_once()
            except (OSError, asyncpg.PostgresError, KafkaError) as exc:
                # a change being announced when this happened is not announced (documented)
                log.warning("notify.listen_failed", error=str(exc))
            await asyncio.sleep(1.0)

    async def _listen_once(self) -> None:
        """Announce the changes notified on one connection, until it is lost."""
        changes: asyncio.Queue[tuple[int, int] | None] = asyncio.Queue()

        def notified(_c: object, _pid: int, _channel: str, payload: str) -> None:
            data = orjson.loads(payload)
            changes.put_nowait((int(data["incident_id"]), int(data["version"])))

        conn = await asyncpg.connect(
            self._database_url, server_settings={"application_name": "opsassist-notify"}
        )
        try:
            await conn.add_listener(INCIDENT_CHANNEL, notified)
            conn.add_termination_listener(lambda _c: changes.put_nowait(None))
            log.info("notify.listening", channel=INCIDENT_CHANNEL, routes=len(self._routes))
            while (item := await changes.get()) is not None:
                await self._announce_change(*item)
            log.warning("notify.listen_lost")
        finally:
            if not conn.is_closed():
                await conn.close()

    async def _announce_change(self, incident_id: int, version: int) -> None:
        async with self._pool.acquire() as conn:
            change = await incident_change(conn, incident_id, version)
        if change is None:
            return
        transition = transition_of(change.before, change.state)
        if transition is None:
            return
        routes = matching_routes(
            list(self._routes.values()),
            str(change.state["service"]),
            str(change.state["severity"]),
            transition,
            change.changed_at,
        )
        for route in routes:
            event = notification_for(
                change.state,
                version,
                transition,
                route,
                changed_at=change.changed_at.isoformat(),
                redact=self._redact,
            )
            await self._producer.send_and_wait(
                self._settings.topic_notifications,
                event.encode(),
                key=str(incident_id).encode(),
                headers=[("event-id", event.id.encode())],
            )
        log.info(
            "notify.announced", incident_id=incident_id, transition=transition, routes=len(routes)
        )

    # -- ops.notifications -> receivers

    async def _consume(self) -> None:
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self._bootstrap,
            group_id=self._settings.notify_group,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
        )
        consumer.subscribe([self._settings.topic_notifications], listener=_Revoked(self._offsets))
        await consumer.start()
        try:
            while True:
                if self._offsets.in_flight >= MAX_IN_FLIGHT:
                    await asyncio.sleep(0.1)
                else:
                    batches = await consumer.getmany(timeout_ms=200, max_records=500)
                    for records in batches.values():
                        for record in records:
                            await self._dispatch(record)
                ready = self._offsets.committable()
                if ready:
                    try:
                        await consumer.commit(ready)
                    except KafkaError as exc:  # a rebalance: the next commit carries it
                        log.warning("notify.commit_failed", error=str(exc))
                    else:
                        self._offsets.committed(ready)
        finally:
            await consumer.stop()

    async def _dispatch(self, record: ConsumerRecord[bytes, bytes]) -> None:
        """Hand the record to its route's lane; a record that is no notification, or names a
        route no longer configured, goes to the dead-letter topic at once."""
        try:
            notification = Notification.decode(record.value or b"")
        except (ValueError, TypeError) as exc:
            await self._give_up(record, "invalid_notification", f"not a notification event: {exc}")
            return
        if notification.route not in self._lanes:
            await self._give_up(
                record, "unknown_route", f"route {notification.route!r} is not configured"
            )
            return
        self._offsets.started(TopicPartition(record.topic, record.partition), record.offset)
        self._lanes[notification.route].put_nowait((record, notification))

    async def _lane(self, name: str) -> None:
        """One route's deliveries in order, so a slow or dead receiver holds up only itself."""
        lane = self._lanes[name]
        while True:
            record, notification = await lane.get()
            while True:
                try:
                    await self._deliver(self._routes[name], record, notification)
                    break
                except (OSError, asyncpg.PostgresError) as exc:
                    # the database is away: the delivery starts over once it is back (the record
                    # of a delivery already made keeps it from being sent twice)
                    log.error(
                        "notify.delivery_interrupted", error=str(exc), event_id=notification.id
                    )
                    await asyncio.sleep(1.0)
            self._offsets.finished(TopicPartition(record.topic, record.partition), record.offset)

    async def _deliver(
        self, route: Route, record: ConsumerRecord[bytes, bytes], n: Notification
    ) -> None:
        async with self._pool.acquire() as conn:
            if await already_delivered(conn, n.incident_id, route.name, n.transition, n.cycle):
                log.info("notify.duplicate", event_id=n.id, transition=n.transition)
                return
        settings = self._settings
        for attempt in range(1, settings.notify_max_attempts + 1):
            await asyncio.sleep(self._limits[route.name].reserve(time.monotonic()))
            outcome = await self._attempt(route, n)
            if outcome.error is not None:
                # a receiver's answer may echo what it was sent, or say anything: stored and
                # logged only through the privacy policy, as every other text is
                outcome = replace(outcome, error=self._redact(outcome.error))
            last = outcome.permanent or attempt == settings.notify_max_attempts
            status = "delivered" if outcome.delivered else "dead_lettered" if last else "failed"
            async with self._pool.acquire() as conn:
                await record_attempt(
                    conn,
                    DeliveryAttempt(
                        event_id=n.id,
                        incident_id=n.incident_id,
                        route=route.name,
                        transition=n.transition,
                        cycle=n.cycle,
                        attempt=attempt,
                        status=status,
                        http_status=outcome.http_status,
                        error=outcome.error,
                    ),
                )
            log.info(
                "notify.attempt",
                event_id=n.id,
                route=route.name,
                attempt=attempt,
                status=status,
                http_status=outcome.http_status,
                error=outcome.error,
            )
            if outcome.delivered:
                return
            if last:
                reason = f"{attempt} attempt(s) to {route.kind} route {route.name!r}: "
                await self._give_up(
                    record,
                    "undeliverable" if outcome.permanent else "retries_exhausted",
                    reason
                    + ": ".join(
                        part
                        for part in (
                            f"HTTP {outcome.http_status}" if outcome.http_status else "",
                            outcome.error or "",
                        )
                        if part
                    ),
                )
                return
            await asyncio.sleep(
                backoff_seconds(
                    attempt, settings.notify_backoff_seconds, settings.notify_backoff_max_seconds
                )
            )

    async def _attempt(self, route: Route, n: Notification) -> Outcome:
        delivery = build_delivery(route, n)
        if delivery.email is not None:
            address = urlsplit(route.url)
            try:
                await asyncio.to_thread(
                    _send_mail,
                    address.hostname or "localhost",
                    address.port or 25,
                    self._settings.notify_timeout_seconds,
                    delivery.email,
                )
            except smtplib.SMTPRecipientsRefused as exc:
                return Outcome(False, permanent=True, error=f"recipients refused: {exc}")
            except (smtplib.SMTPException, OSError) as exc:
                return Outcome(False, error=f"{type(exc).__name__}: {exc}")
            return Outcome(True)
        try:
            response = await self._http.post(
                delivery.url, content=delivery.body, headers=dict(delivery.headers or {})
            )
        except httpx.HTTPError as exc:
            return Outcome(False, error=f"{type(exc).__name__}: {exc}")
        code = response.status_code
        if 200 <= code < 300:
            return Outcome(True, http_status=code)
        permanent = 400 <= code < 500 and code not in (408, 429)
        return Outcome(False, permanent=permanent, http_status=code, error=response.text[:500])

    async def _give_up(self, record: ConsumerRecord[bytes, bytes], code: str, reason: str) -> None:
        letter = dead_letter(
            key=record.key,
            value=record.value,
            headers=list(record.headers),
            topic=record.topic,
            partition=record.partition,
            offset=record.offset,
            code=code,
            reason=reason,
        )
        while True:  # until Kafka takes it: the record's offset is not committed before
            try:
                await self._producer.send_and_wait(
                    self._settings.topic_notifications_dead_letter,
                    letter.value,
                    key=letter.key,
                    headers=letter.headers,
                )
                break
            except KafkaError as exc:
                log.error("notify.dead_letter_failed", error=str(exc), offset=record.offset)
                await asyncio.sleep(1.0)
        log.warning("notify.dead_lettered", code=code, reason=reason, offset=record.offset)


class _Revoked(ConsumerRebalanceListener):  # type: ignore[misc]  # untyped in aiokafka
    def __init__(self, offsets: OffsetTracker[TopicPartition]) -> None:
        self._offsets = offsets

    async def on_partitions_revoked(self, revoked: list[TopicPartition]) -> None:
        for partition in revoked:
            self._offsets.forget(partition)

    async def on_partitions_assigned(self, assigned: list[TopicPartition]) -> None:
        pass


def _send_mail(host: str, port: int, timeout: float, message: EmailMessage) -> None:
    with smtplib.SMTP(host, port, timeout=timeout) as smtp:
        smtp.send_message(message)
