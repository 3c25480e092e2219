"""Replay: re-run the processing of a range of raw events with another processing version (a
triage configuration or model, a changelog configuration) and store what it decides as new
versions of the entities it derives, never as new rows.

The events come from the raw topic while Kafka still holds the range, else from what the store
keeps of them (``ticket_events`` has every ticket event, ``commits`` every commit). Read from
Kafka, events the store lacks (a worker that dead-lettered them under an older schema, say) are
written first, through the worker's own idempotent sink.

Per kind:

- tickets: an event that is still its ticket's current state is triaged again; the ticket's
  triage columns change where the new result differs (history by trigger, ``changed_by`` naming
  the processing version). Events superseded by a newer state of their ticket change nothing.
- commits: the changelog of every repository with a commit in the range is rebuilt with the
  given configuration; releases whose content differs get a new version.

Each batch is one transaction. A dry run does the same work in transactions it rolls back, so it
shows exactly what a real run would change, and changes nothing. Running a replay twice changes
nothing the second time: only differences are written.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, Literal, TypeVar

import asyncpg
import orjson
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from opsassist.schemas import (
    LATEST_VERSION,
    AnyEvent,
    CommitEvent,
    Envelope,
    InvalidEvent,
    TicketEvent,
    decode_event,
)
from opsassist.schemas.registry import upcast
from opsassist.store.replay import (
    ReplayRange,
    TriageUpdate,
    apply_triage,
    release_states,
    stored_commit_keys,
    stored_commit_repositories,
    stored_ticket_event_ids,
    stored_ticket_events,
    tickets_at_events,
)
from opsassist.store.sink import EventSink, Origin, commit_row, ticket_row
from opsassist.streams.agents.changelog import ChangelogUpdater
from opsassist.streams.agents.tickets import TicketTriage
from opsassist.streams.changelog import ChangelogConfig

Source = Literal["kafka", "store"]
ReplayKind = Literal["ticket", "commit"]
MAX_DIFFS = 5


class ReplayError(RuntimeError):
    """The replay cannot run as asked (the text says why)."""


class _RollBack(Exception):
    """Raised inside a dry run's transaction to undo it."""


@dataclass
class ReplayReport:
    kind: ReplayKind
    source: Source
    processing: str
    dry_run: bool
    events_read: int = 0
    #: Records of the range Kafka holds that do not decode (they are in the dead-letter topic).
    invalid: int = 0
    #: Events the store lacked: written (or, in a dry run, to be written).
    not_stored: int = 0
    #: Ticket events no longer their ticket's current state.
    superseded: int = 0
    entities_examined: int = 0
    entities_changed: int = 0
    diffs: list[dict[str, Any]] = field(default_factory=list)

    @property
    def entities_unchanged(self) -> int:
        return self.entities_examined - self.entities_changed

    def add_diffs(self, diffs: Sequence[dict[str, Any]]) -> None:
        self.entities_changed += len(diffs)
        self.diffs.extend(diffs[: MAX_DIFFS - len(self.diffs)])

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "source": self.source,
            "processing": self.processing,
            "dry_run": self.dry_run,
            "events_read": self.events_read,
            "invalid": self.invalid,
            "not_stored": self.not_stored,
            "superseded": self.superseded,
            "entities_examined": self.entities_examined,
            "entities_changed": self.entities_changed,
            "entities_unchanged": self.entities_unchanged,
            "diffs": self.diffs,
        }


E = TypeVar("E", bound=Envelope)


@dataclass(frozen=True)  # no slots: a slotted dataclass breaks Generic's super() (3.11)
class ReplayedEvent(Generic[E]):
    event: E
    origin: Origin


def _only(items: Sequence[ReplayedEvent[AnyEvent]], kind: type[E]) -> list[ReplayedEvent[E]]:
    return [ReplayedEvent(i.event, i.origin) for i in items if isinstance(i.event, kind)]


# -- reading ------------------------------------------------------------------------------------


def _event_time(event: AnyEvent) -> Any:
    return event.payload.committed_at if isinstance(event, CommitEvent) else event.occurred_at


async def kafka_holds(
    bootstrap: str, topic: str, replay_range: ReplayRange, stored: dict[int, tuple[int, int]]
) -> bool:
    """Whether the topic still holds the range: it exists, retention deleted none of the stored
    events of the range (``stored``: partition -> lowest and highest stored offset), and none of
    an asked offset range."""
    partitions = await _partitions(bootstrap, topic)
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    try:
        await consumer.start()
        first = {
            tp.partition: o for tp, o in (await consumer.beginning_offsets(partitions)).items()
        }
        end = {tp.partition: o for tp, o in (await consumer.end_offsets(partitions)).items()}
    finally:
        await consumer.stop()
    for partition, (lowest, highest) in stored.items():
        if partition not in first or first[partition] > lowest or end[partition] <= highest:
            return False
    return all(first.get(r.partition, 0) <= r.start for r in replay_range.offsets)


async def _partitions(bootstrap: str, topic: str) -> list[TopicPartition]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=10_000)
    try:
        await admin.start()
        # listed first: asking a broker that auto-creates topics to describe one creates it
        if topic not in await admin.list_topics():
            raise ReplayError(f"topic {topic!r} does not exist on the Kafka cluster")
        described = await admin.describe_topics([topic])
    finally:
        await admin.close()
    found = [t for t in described if t.get("topic") == topic and not t.get("error_code")]
    if not found or not found[0].get("partitions"):
        raise ReplayError(f"topic {topic!r} does not exist on the Kafka cluster")
    return [TopicPartition(topic, p["partition"]) for p in found[0]["partitions"]]


async def read_kafka(
    bootstrap: str, topic: str, kind: ReplayKind, replay_range: ReplayRange
) -> tuple[list[ReplayedEvent[AnyEvent]], int]:
    """The decoded events of the range on the raw topic, and how many records did not decode.
    Reads each partition from the range's start to its end as it was when the replay began."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, enable_auto_commit=False, auto_offset_reset="earliest"
    )
    events: list[ReplayedEvent[AnyEvent]] = []
    invalid = 0
    try:
        partitions = await _partitions(bootstrap, topic)
        await consumer.start()
        if replay_range.offsets:
            asked = {r.partition for r in replay_range.offsets}
            partitions = [tp for tp in partitions if tp.partition in asked]
        consumer.assign(partitions)
        ends = await consumer.end_offsets(partitions)
        starts = await consumer.beginning_offsets(partitions)
        for tp in partitions:
            start = starts[tp]
            spans = [r for r in replay_range.offsets if r.partition == tp.partition]
            if spans:
                start = max(start, min(r.start for r in spans))
                ends[tp] = min(ends[tp], max(r.end for r in spans))
            elif replay_range.since is not None:
                # an event's Kafka timestamp is never before its time, so nothing is missed
                found = await consumer.offsets_for_times(
                    {tp: int(replay_range.since.timestamp() * 1000)}
                )
                start = found[tp].offset if found.get(tp) is not None else ends[tp]
            consumer.seek(tp, start)
        pending = {tp for tp in partitions if await consumer.position(tp) < ends[tp]}
        while pending:
            batches = await consumer.getmany(*pending, timeout_ms=1000, max_records=5000)
            for tp, records in batches.items():
                for record in records:
                    if record.offset >= ends[tp] or not replay_range.in_offsets(
                        tp.partition, record.offset
                    ):
                        continue
                    try:
                        event = decode_event(record.value, kind, record.headers)
                    except InvalidEvent:
                        invalid += 1
                        continue
                    if replay_range.in_time(_event_time(event)):
                        origin = Origin(tp.topic, tp.partition, record.offset)
                        events.append(ReplayedEvent(event, origin))
            pending = {tp for tp in pending if await consumer.position(tp) < ends[tp]}
    finally:
        await consumer.stop()
    return events, invalid


def _stored_ticket_event(row: asyncpg.Record) -> ReplayedEvent[TicketEvent]:
    """A ``ticket_events`` row as the event it was, upcast to the newest version."""
    stored = row["payload"]
    payload = upcast("ticket", row["schema_version"], orjson.loads(stored))
    event = TicketEvent.model_validate(
        {
            "id": row["event_id"],
            "schema_version": LATEST_VERSION["ticket"],
            "source": row["source"],
            "trace_id": row["trace_id"],
            "occurred_at": row["occurred_at"],
            "received_at": row["received_at"],
            "payload": payload,
        }
    )
    origin = Origin(row["kafka_topic"] or "", row["kafka_partition"] or 0, row["kafka_offset"] or 0)
    return ReplayedEvent(event, origin)


# -- processing ---------------------------------------------------------------------------------


class Replayer:
    """Runs one replay: a kind, a range, a source and the processing version to apply."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        *,
        processing: str,
        dry_run: bool = False,
        batch_size: int = 500,
        triage: TicketTriage | None = None,
        changelog: ChangelogConfig | None = None,
    ) -> None:
        self._pool = pool
        self._changed_by = f"replay:{processing}"
        self._processing = processing
        self._dry_run = dry_run
        self._batch_size = batch_size
        self._triage = triage
        # no LLM polish in a replay: its result would not be reproducible run to run
        self._changelog = (
            None
            if changelog is None
            else ChangelogUpdater(pool, changelog, llm=None, changed_by=self._changed_by)
        )

    async def _in_transaction(self, conn: asyncpg.Connection, work: Any) -> Any:
        """Run ``work(conn)`` in a transaction, rolled back in a dry run; return its result."""
        result = None
        try:
            async with conn.transaction():
                result = await work(conn)
                if self._dry_run:
                    raise _RollBack
        except _RollBack:
            pass
        return result

    async def tickets(
        self, source: Source, replay_range: ReplayRange, topic: str, bootstrap: str | None
    ) -> ReplayReport:
        if self._triage is None:
            raise ReplayError("a ticket replay needs a triage stage")
        report = ReplayReport("ticket", source, self._processing, self._dry_run)
        if source == "kafka":
            assert bootstrap is not None
            read, report.invalid = await read_kafka(bootstrap, topic, "ticket", replay_range)
            events = _only(read, TicketEvent)
        else:
            async with self._pool.acquire() as conn:
                rows = await stored_ticket_events(conn, replay_range, topic)
            events = [_stored_ticket_event(row) for row in rows]
        report.events_read = len(events)
        for start in range(0, len(events), self._batch_size):
            await self._ticket_batch(events[start : start + self._batch_size], report)
        return report

    async def _ticket_batch(
        self, batch: list[ReplayedEvent[TicketEvent]], report: ReplayReport
    ) -> None:
        assert self._triage is not None
        triage = self._triage
        by_id = {item.event.id: item for item in batch}
        async with self._pool.acquire() as conn:
            missing = set(by_id) - await stored_ticket_event_ids(conn, list(by_id))
        report.not_stored += len(missing)
        if missing and not self._dry_run:
            # events the store never got: ingested as the worker would, with this triage
            fresh = [by_id[i] for i in sorted(missing)]
            fields = await triage([item.event for item in fresh])
            rows = [
                ticket_row(item.event, item.origin, f)
                for item, f in zip(fresh, fields, strict=True)
            ]
            await EventSink(self._pool, changed_by=self._changed_by).write_tickets(rows)

        async def work(conn: asyncpg.Connection) -> list[dict[str, Any]]:
            current = await tickets_at_events(conn, list(by_id))
            report.superseded += len(by_id) - len(current)
            report.entities_examined += len(current)
            events = [by_id[t.event_id].event for t in current]
            decided = await triage(events)
            updates = [
                TriageUpdate(ticket, _triage_values(fields))
                for ticket, fields in zip(current, decided, strict=True)
            ]
            return await apply_triage(conn, updates, self._changed_by)

        async with self._pool.acquire() as conn:
            report.add_diffs(await self._in_transaction(conn, work))

    async def commits(
        self, source: Source, replay_range: ReplayRange, topic: str, bootstrap: str | None
    ) -> ReplayReport:
        if self._changelog is None:
            raise ReplayError("a commit replay needs a changelog configuration")
        report = ReplayReport("commit", source, self._processing, self._dry_run)
        if source == "kafka":
            assert bootstrap is not None
            read, report.invalid = await read_kafka(bootstrap, topic, "commit", replay_range)
            commits = _only(read, CommitEvent)
            report.events_read = len(commits)
            keys = [(c.event.payload.repo, c.event.payload.sha) for c in commits]
            async with self._pool.acquire() as conn:
                stored = await stored_commit_keys(conn, keys)
            missing = [c for c, key in zip(commits, keys, strict=True) if key not in stored]
            report.not_stored = len(missing)
            if missing and not self._dry_run:
                rows = [commit_row(c.event, c.origin) for c in missing]
                await EventSink(self._pool, changed_by=self._changed_by).write_commits(rows)
            repos = sorted({key[0] for key in keys})
        else:
            async with self._pool.acquire() as conn:
                counted = await stored_commit_repositories(conn, replay_range, topic)
            repos = sorted(counted)
            report.events_read = sum(counted.values())
        changelog = self._changelog
        for repo in repos:

            async def work(conn: asyncpg.Connection, repo: str = repo) -> list[dict[str, Any]]:
                before = await release_states(conn, repo)
                await changelog.rebuild(conn, repo)
                return _release_diffs(repo, before, await release_states(conn, repo))

            report.entities_examined += 1
            async with self._pool.acquire() as conn:
                diffs = await self._in_transaction(conn, work)
            if diffs:
                report.entities_changed += 1
                report.diffs.extend(diffs[: MAX_DIFFS - len(report.diffs)])
        return report


def _triage_values(fields: Any) -> tuple[Any, ...]:
    if fields is None:  # the stage failed: the ticket keeps what it has
        raise ReplayError("the triage stage gave no result for a ticket")
    return (
        fields.category,
        fields.suggested_category,
        fields.priority,
        fields.team,
        fields.confidence,
        fields.needs_triage,
        fields.layer,
        fields.details,
        fields.sla_due_at,
    )


def _release_diffs(
    repo: str, before: dict[str, dict[str, Any]], after: dict[str, dict[str, Any]]
) -> list[dict[str, Any]]:
    diffs = []
    for tag in sorted(after, key=lambda t: (t != "", t)):
        old, new = before.get(tag), after[tag]
        if old is not None and old["version"] == new["version"]:
            continue
        changes = {
            key: (None if old is None else old[key], new[key])
            for key in ("present", "markdown")
            if old is None or old[key] != new[key]
        }
        diffs.append(
            {
                "entity": f"changelog {repo} {tag or 'Unreleased'}",
                "version": new["version"],
                "changes": changes,
            }
        )
    return diffs
