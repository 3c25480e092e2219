"""Logs in the API: the stored log lines (``LogEvent``), and what the worker's log stage derives
from them (docs/logs.md): incidents, window summaries and log templates. Summaries say who
produced their text: ``deterministic`` (the narrative) or ``llm`` (with the models and prompt
versions in ``provenance``)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Annotated, Any

import asyncpg
import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from opsassist.api.graphql.context import Context
from opsassist.api.graphql.history import Version, versions
from opsassist.api.graphql.inputs import int_id
from opsassist.api.graphql.notifications import NotificationDelivery
from opsassist.api.graphql.pagination import Connection, Order, connection, page_request
from opsassist.api.graphql.scalars import json_value
from opsassist.api.graphql.time_travel import (
    equality_filter,
    one_as_of,
    rows_as_of_page,
)
from opsassist.store.logs import (
    IncidentFilter,
    LogEventFilter,
    SummaryFilter,
    TemplateFilter,
    incidents_by_ids,
    incidents_page,
    log_events_by_ids,
    log_events_page,
    summaries_page,
    templates_page,
)


@strawberry.type(description="One log line as stored, after enrichment and redaction.")
class LogEvent:
    id: strawberry.ID
    service: str
    host: str | None
    level: str | None
    ts: datetime
    message: str
    attributes: JSON
    source: str
    trace_id: str | None
    occurred_at: datetime
    received_at: datetime | None
    ingested_at: datetime

    @classmethod
    def from_row(cls, row: asyncpg.Record) -> LogEvent:
        return cls(
            id=strawberry.ID(row["event_id"]),
            service=row["service"],
            host=row["host"],
            level=row["level"],
            ts=row["ts"],
            message=row["message"],
            attributes=json_value(row["attributes"]),
            source=row["source"],
            trace_id=row["trace_id"],
            occurred_at=row["occurred_at"],
            received_at=row["received_at"],
            ingested_at=row["ingested_at"],
        )


@strawberry.input(description="All given conditions hold (lists: any of their values).")
class LogEventFilterInput:
    services: list[str] | None = None
    levels: list[str] | None = None
    since: datetime | None = strawberry.field(default=None, description="ts at or after")
    until: datetime | None = strawberry.field(default=None, description="ts before")
    text: str | None = strawberry.field(default=None, description="in the message, any case")
    trace_id: str | None = None

    def to_store(self) -> LogEventFilter:
        return LogEventFilter(
            services=self.services,
            levels=self.levels,
            since=self.since,
            until=self.until,
            text=self.text,
            trace_id=self.trace_id,
        )


@strawberry.type
class LogEventQueries:
    @strawberry.field(description="Log events, newest first unless ordered otherwise.")
    async def log_events(
        self,
        info: Info[Context, None],
        *,
        filter: LogEventFilterInput | None = None,
        order: Order = Order.NEWEST_FIRST,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[LogEvent]:
        request = page_request(info, first, after, last, before)
        store_filter = (filter or LogEventFilterInput()).to_store()
        pool = info.context.pool
        return await connection(
            info,
            lambda req, size: log_events_page(pool, store_filter, order.descending, req, size),
            request,
            LogEvent.from_row,
        )

    @strawberry.field
    async def log_event(self, info: Info[Context, None], id: strawberry.ID) -> LogEvent | None:
        rows = await log_events_by_ids(info.context.pool, [str(id)])
        return LogEvent.from_row(rows[0]) if rows else None


@strawberry.type(description="One closed window of a service's logs, summarized.")
class LogSummary:
    id: strawberry.ID
    service: str
    window_seconds: int
    window_start: datetime
    window_end: datetime
    total: int
    errors: int
    counts_by_level: JSON
    baseline_errors: float | None
    error_ratio: float | None
    top_templates: JSON = strawberry.field(
        description="[{templateId, template, count, errors, example (redacted), firstSeen}]"
    )
    top_error_templates: JSON
    new_templates: JSON
    narrative: str = strawberry.field(description="The deterministic summary sentence.")
    llm_summary: JSON | None = strawberry.field(
        description="The LLM's summary (title, summary, impact, probable cause, cited template "
        "ids) when one is configured and answered; null otherwise."
    )
    produced_by: str = strawberry.field(description="deterministic, or llm")
    provenance: JSON | None = strawberry.field(
        description="For llm: the models, prompt ids and versions, tokens and cost."
    )
    updated_at: datetime

    @classmethod
    def from_row(cls, row: asyncpg.Record) -> LogSummary:
        return cls(
            id=strawberry.ID(str(row["id"])),
            service=row["service"],
            window_seconds=row["window_seconds"],
            window_start=row["window_start"],
            window_end=row["window_end"],
            total=row["total"],
            errors=row["errors"],
            counts_by_level=json_value(row["counts_by_level"]),
            baseline_errors=row["baseline_errors"],
            error_ratio=row["error_ratio"],
            top_templates=json_value(row["top_templates"]),
            top_error_templates=json_value(row["top_error_templates"]),
            new_templates=json_value(row["new_templates"]),
            narrative=row["narrative"],
            llm_summary=json_value(row["summary"]),
            produced_by=row["produced_by"],
            provenance=json_value(row["provenance"]),
            updated_at=row["updated_at"],
        )


@strawberry.type(description="A spike of errors, or a burst of new error templates, in a service.")
class Incident:
    id: strawberry.ID
    service: str
    window_seconds: int
    severity: str
    status: str = strawberry.field(description="open, acknowledged, or resolved")
    last_transition: str = strawberry.field(
        description="The detector's latest: opened, updated or resolved (people's changes are "
        "in lastAction)"
    )
    opened_at: datetime
    last_spike_end: datetime
    resolved_at: datetime | None
    peak_errors: int
    peak_ratio: float | None
    template_ids: list[str]
    reason: str
    narrative: str
    version: int
    changed_by: str
    assignee: str | None = strawberry.field(description="The login of whoever owns it.")
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    resolved_by: str | None = strawberry.field(
        description="user:<login>, or agent:logs after a quiet period; null if resolved before "
        "the lifecycle existed"
    )
    reopened_count: int
    ticket_ids: list[strawberry.ID] = strawberry.field(description="Linked tickets' ids.")
    notes: JSON = strawberry.field(description="[{by, at, text}], oldest first (redacted).")
    last_action: JSON | None = strawberry.field(
        description="The latest lifecycle change: {action, by, reason, at} (and assignee or "
        "ticket_id); history shows every one."
    )
    source: str = strawberry.field(
        description="logs (the worker's detector) or alertmanager (an alert, by fingerprint)"
    )
    labels: JSON = strawberry.field(description="An alert's labels ({} for a log incident).")
    annotations: JSON = strawberry.field(
        description="An alert's annotations ({} for a log incident)."
    )
    generator_url: str | None = strawberry.field(
        description="The alert's source (Prometheus' expression browser), when one is given."
    )
    related_incident_ids: list[strawberry.ID] = strawberry.field(
        description="Incidents of the other source for the same service overlapping in time: "
        "the log evidence of an alert, or the alerts of a log incident."
    )
    _row_id: strawberry.Private[int]
    _summary_id: strawberry.Private[int | None]

    @strawberry.field(description="The window summary of the incident's latest change.")
    async def summary(self, info: Info[Context, None]) -> LogSummary | None:
        if self._summary_id is None:
            return None
        row = await info.context.loaders.summaries.load(self._summary_id)
        return LogSummary.from_row(row) if row is not None else None

    @strawberry.field(description="Every version (opened, updated, resolved), oldest first.")
    async def history(self, info: Info[Context, None]) -> list[Version]:
        changes = await info.context.loaders.incident_changes.load(self._row_id)
        return versions(changes, info.context.role, lambda f: ("Incident", f, self))

    @strawberry.field(
        description="Every notification delivery attempt of the incident, oldest first; the "
        "current ones, also for a past state. Admins only (null for other roles)."
    )
    async def notifications(self, info: Info[Context, None]) -> list[NotificationDelivery] | None:
        rows = await info.context.loaders.incident_notifications.load(self._row_id)
        return [NotificationDelivery.from_row(row) for row in rows]

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> Incident:
        return cls(
            id=strawberry.ID(str(row["id"])),
            service=row["service"],
            window_seconds=row["window_seconds"],
            severity=row["severity"],
            status=row["status"],
            last_transition=row["last_transition"],
            opened_at=row["opened_at"],
            last_spike_end=row["last_spike_end"],
            resolved_at=row["resolved_at"],
            peak_errors=row["peak_errors"],
            peak_ratio=row["peak_ratio"],
            template_ids=list(row["template_ids"]),
            reason=row["reason"],
            narrative=row["narrative"],
            version=row["version"],
            changed_by=row["changed_by"],
            # (past states from before migration 0018 lack the lifecycle columns)
            assignee=row.get("assignee"),
            acknowledged_at=row.get("acknowledged_at"),
            acknowledged_by=row.get("acknowledged_by"),
            resolved_by=row.get("resolved_by"),
            reopened_count=row.get("reopened_count") or 0,
            ticket_ids=[strawberry.ID(str(t)) for t in row.get("ticket_ids") or ()],
            notes=json_value(row.get("notes") or "[]"),
            last_action=json_value(row.get("last_action")),
            # (past states from before migration 0020 lack the alert columns)
            source=row.get("source") or "logs",
            labels=json_value(row.get("labels") or "{}"),
            annotations=json_value(row.get("annotations") or "{}"),
            generator_url=row.get("generator_url"),
            related_incident_ids=[
                strawberry.ID(str(i)) for i in row.get("related_incident_ids") or ()
            ],
            _row_id=row["id"],
            _summary_id=row["summary_id"],
        )


@strawberry.type(description="A log template of a service, as the streaming miner holds it.")
class LogTemplate:
    id: strawberry.ID
    service: str
    template_id: str
    template: str
    line_count: int
    first_seen: datetime
    last_seen: datetime
    status: str = strawberry.field(description="active, or merged (into mergedInto)")
    merged_into: str | None
    version: int
    _row_id: strawberry.Private[int]

    @strawberry.field(description="Its versions: created, generalized, merged.")
    async def history(self, info: Info[Context, None]) -> list[Version]:
        changes = await info.context.loaders.template_changes.load(self._row_id)
        return versions(changes, info.context.role, lambda f: ("LogTemplate", f, self))

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> LogTemplate:
        return cls(
            id=strawberry.ID(str(row["id"])),
            service=row["service"],
            template_id=row["template_id"],
            template=row["template"],
            line_count=row["line_count"],
            first_seen=row["first_seen"],
            last_seen=row["last_seen"],
            status=row["status"],
            merged_into=row["merged_into"],
            version=row["version"],
            _row_id=row["id"],
        )


@strawberry.input
class IncidentFilterInput:
    services: list[str] | None = None
    statuses: list[str] | None = strawberry.field(
        default=None, description="open, acknowledged, resolved"
    )
    severities: list[str] | None = None
    since: datetime | None = strawberry.field(default=None, description="opened at or after")
    until: datetime | None = strawberry.field(default=None, description="opened before")


@strawberry.input
class LogSummaryFilterInput:
    services: list[str] | None = None
    window_seconds: int | None = None
    since: datetime | None = strawberry.field(default=None, description="window starting at/after")
    until: datetime | None = strawberry.field(default=None, description="window starting before")


@strawberry.input
class LogTemplateFilterInput:
    services: list[str] | None = None
    statuses: list[str] | None = strawberry.field(default=None, description="active, merged")


# With asOf, a list filters its past states on one value of each of these (argument -> column).
_INCIDENT_STATE_FILTER = {"services": "service", "statuses": "status", "severities": "severity"}
_TEMPLATE_STATE_FILTER = {"services": "service", "statuses": "status"}


def _as_of_argument(what: str) -> Any:
    return strawberry.argument(
        description=f"The {what} that existed at this time, as they were then, in id order "
        "(forwards only; filters on one value per field)."
    )


@strawberry.type
class LogIntelligenceQueries:
    @strawberry.field(description="Incidents, most recently opened first unless ordered otherwise.")
    async def incidents(
        self,
        info: Info[Context, None],
        *,
        filter: IncidentFilterInput | None = None,
        order: Order = Order.NEWEST_FIRST,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
        as_of: Annotated[datetime | None, _as_of_argument("incidents")] = None,
    ) -> Connection[Incident]:
        request = page_request(info, first, after, last, before)
        given = filter or IncidentFilterInput()
        pool = info.context.pool
        if as_of is not None:
            # the filter is translated inside the fetch, where a refusal becomes BAD_USER_INPUT
            return await connection(
                info,
                lambda req, size: rows_as_of_page(
                    pool,
                    "incidents",
                    as_of,
                    req,
                    size,
                    where=equality_filter(vars(given), _INCIDENT_STATE_FILTER, what="an incident"),
                ),
                request,
                Incident.from_row,
            )
        store_filter = IncidentFilter(
            given.services, given.statuses, given.severities, given.since, given.until
        )
        return await connection(
            info,
            lambda req, size: incidents_page(pool, store_filter, order.descending, req, size),
            request,
            Incident.from_row,
        )

    @strawberry.field
    async def incident(
        self,
        info: Info[Context, None],
        id: strawberry.ID,
        as_of: Annotated[
            datetime | None,
            strawberry.argument(
                description="The incident as it was at this time; null if it did not exist yet."
            ),
        ] = None,
    ) -> Incident | None:
        pool = info.context.pool
        return await one_as_of(
            pool, "incidents", int_id(id), as_of, by_ids=incidents_by_ids, build=Incident.from_row
        )

    @strawberry.field(description="Window summaries, newest window first unless ordered otherwise.")
    async def log_summaries(
        self,
        info: Info[Context, None],
        *,
        filter: LogSummaryFilterInput | None = None,
        order: Order = Order.NEWEST_FIRST,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[LogSummary]:
        request = page_request(info, first, after, last, before)
        given = filter or LogSummaryFilterInput()
        store_filter = SummaryFilter(given.services, given.window_seconds, given.since, given.until)
        pool = info.context.pool
        return await connection(
            info,
            lambda req, size: summaries_page(pool, store_filter, order.descending, req, size),
            request,
            LogSummary.from_row,
        )

    @strawberry.field(description="Log templates, most recently first seen first.")
    async def log_templates(
        self,
        info: Info[Context, None],
        *,
        filter: LogTemplateFilterInput | None = None,
        order: Order = Order.NEWEST_FIRST,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
        as_of: Annotated[datetime | None, _as_of_argument("templates")] = None,
    ) -> Connection[LogTemplate]:
        request = page_request(info, first, after, last, before)
        given = filter or LogTemplateFilterInput()
        pool = info.context.pool
        if as_of is not None:
            return await connection(
                info,
                lambda req, size: rows_as_of_page(
                    pool,
                    "log_templates",
                    as_of,
                    req,
                    size,
                    where=equality_filter(vars(given), _TEMPLATE_STATE_FILTER, what="a template"),
                ),
                request,
                LogTemplate.from_row,
            )
        store_filter = TemplateFilter(given.services, given.statuses)
        return await connection(
            info,
            lambda req, size: templates_page(pool, store_filter, order.descending, req, size),
            request,
            LogTemplate.from_row,
        )
