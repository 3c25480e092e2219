"""What the ingest stage does per event kind, as one typed handler per kind.

The ingest stage (:mod:`opsassist.streams.agents.ingest`) owns what every kind shares: decoding,
redaction, dead letters, retries and the split of a refused batch. What differs between logs,
tickets, commits and alerts is four steps, and a handler implements exactly those:

- :meth:`EventHandler.prepare`: the batch's decoded, redacted events, before the write, give
  per event what its row carries besides the event (a log line's template, a ticket's triage);
- :meth:`EventHandler.row` and :meth:`EventHandler.actor`: the row an event becomes, and who
  decided what it holds (recorded in the history of versioned tables, docs/history.md);
- :meth:`EventHandler.write`: the rows in one transaction (the sink's COPY + upsert);
- :meth:`EventHandler.derive`: after the rows are durable, what follows from the stored events
  (a log batch's templates and incidents, the changelogs of the commits' repositories).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, TypeVar

import asyncpg

from opsassist.schemas import AlertEvent, CommitEvent, EventKind, LogEvent, TicketEvent
from opsassist.store.history import Actor
from opsassist.store.incidents import AlertIncidentRow, write_alert_incidents
from opsassist.store.sink import (
    CommitRow,
    EventSink,
    LogRow,
    LogTemplateFields,
    Origin,
    Redactions,
    TicketRow,
    TicketTriageFields,
    commit_row,
    log_row,
    ticket_row,
)
from opsassist.streams.agents.alerts import ALERTS, alert_incident_row
from opsassist.streams.agents.changelog import ChangelogUpdater
from opsassist.streams.agents.logs import LogIntelligence
from opsassist.streams.agents.tickets import TicketTriage, TriageDecision

EventT_contra = TypeVar("EventT_contra", contravariant=True)
PreparedT = TypeVar("PreparedT")
RowT = TypeVar("RowT")


class EventHandler(Protocol[EventT_contra, PreparedT, RowT]):
    """The per-kind steps of the ingest stage, in the order it calls them."""

    @property
    def kind(self) -> EventKind: ...

    async def prepare(self, events: Sequence[EventT_contra]) -> Sequence[PreparedT | None]:
        """Per event, what its row carries besides the event; None where there is nothing."""
        ...

    def row(
        self,
        event: EventT_contra,
        origin: Origin,
        prepared: PreparedT | None,
        redactions: Redactions,
    ) -> RowT:
        """The row ``event`` becomes; ValueError or TypeError for one that cannot be encoded."""
        ...

    def actor(self, prepared: PreparedT | None) -> Actor | None:
        """Who decided the row's content, for the history; None: the writer's own name."""
        ...

    async def write(self, rows: Sequence[RowT], actors: Sequence[Actor | None]) -> int:
        """Write ``rows`` (``actors[i]`` decided ``rows[i]``) in one idempotent transaction."""
        ...

    async def derive(self, events: Sequence[EventT_contra]) -> None:
        """What follows from the batch's stored events; database errors propagate (retried)."""
        ...


class LogHandler:
    """Log lines: mined into templates before the write; the templates, windows and incidents
    the batch changed are stored after it. ``log_events`` keeps no history: no actor."""

    kind: EventKind = "log"

    def __init__(self, sink: EventSink, intelligence: LogIntelligence | None = None) -> None:
        self._sink = sink
        self._intelligence = intelligence

    async def prepare(self, events: Sequence[LogEvent]) -> Sequence[LogTemplateFields | None]:
        if self._intelligence is None:
            return [None] * len(events)
        return await self._intelligence.before_write(events)

    def row(
        self,
        event: LogEvent,
        origin: Origin,
        prepared: LogTemplateFields | None,
        redactions: Redactions,
    ) -> LogRow:
        return log_row(event, origin, prepared, redactions)

    def actor(self, prepared: LogTemplateFields | None) -> Actor | None:
        return None

    async def write(self, rows: Sequence[LogRow], actors: Sequence[Actor | None]) -> int:
        return await self._sink.write_logs(rows)

    async def derive(self, events: Sequence[LogEvent]) -> None:
        if self._intelligence is not None:
            await self._intelligence.after_write(events)


class TicketHandler:
    """Tickets: triaged before the write, in the ticket's row; each ticket's history names the
    layer that decided it (``agent:triage``, with the model or the LLM prompt that did)."""

    kind: EventKind = "ticket"

    def __init__(self, sink: EventSink, triage: TicketTriage | None = None) -> None:
        self._sink = sink
        self._triage = triage

    async def prepare(self, events: Sequence[TicketEvent]) -> Sequence[TriageDecision | None]:
        if self._triage is None:
            return [None] * len(events)
        return await self._triage.decide(events)

    def row(
        self,
        event: TicketEvent,
        origin: Origin,
        prepared: TriageDecision | None,
        redactions: Redactions,
    ) -> TicketRow:
        triage: TicketTriageFields | None = prepared.fields if prepared is not None else None
        return ticket_row(event, origin, triage, redactions)

    def actor(self, prepared: TriageDecision | None) -> Actor | None:
        # Untriaged (the stage failed and the rows go in without it): the sink's own name.
        return prepared.actor if prepared is not None else None

    async def write(self, rows: Sequence[TicketRow], actors: Sequence[Actor | None]) -> int:
        return await self._sink.write_tickets(rows, actors)

    async def derive(self, events: Sequence[TicketEvent]) -> None:
        return None


class CommitHandler:
    """Commits: written as they come; the changelogs of their repositories are rebuilt after.
    ``commits`` keeps no history; the changelog's releases name their actor themselves."""

    kind: EventKind = "commit"

    def __init__(self, sink: EventSink, changelogs: ChangelogUpdater | None = None) -> None:
        self._sink = sink
        self._changelogs = changelogs

    async def prepare(self, events: Sequence[CommitEvent]) -> Sequence[None]:
        return [None] * len(events)

    def row(
        self, event: CommitEvent, origin: Origin, prepared: None, redactions: Redactions
    ) -> CommitRow:
        return commit_row(event, origin, redactions)

    def actor(self, prepared: None) -> Actor | None:
        return None

    async def write(self, rows: Sequence[CommitRow], actors: Sequence[Actor | None]) -> int:
        return await self._sink.write_commits(rows)

    async def derive(self, events: Sequence[CommitEvent]) -> None:
        if self._changelogs is not None:
            await self._changelogs(events)


class AlertHandler:
    """Alertmanager's alerts: each alert event is applied to its alert's incident (by
    fingerprint), as ``agent:alerts``. No table of alert events: the incident and its history
    are the record, and applying the same event twice changes nothing."""

    kind: EventKind = "alert"

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def prepare(self, events: Sequence[AlertEvent]) -> Sequence[None]:
        return [None] * len(events)

    def row(
        self, event: AlertEvent, origin: Origin, prepared: None, redactions: Redactions
    ) -> AlertIncidentRow:
        return alert_incident_row(event)

    def actor(self, prepared: None) -> Actor | None:
        return ALERTS

    async def write(self, rows: Sequence[AlertIncidentRow], actors: Sequence[Actor | None]) -> int:
        return await write_alert_incidents(self._pool, rows, ALERTS)

    async def derive(self, events: Sequence[AlertEvent]) -> None:
        return None
