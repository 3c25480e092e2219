"""Log intelligence in the worker: the log agent's before-write and after-write stages around
``opsassist.streams.logs.LogStage``.

Before a batch of log events is written, its lines are mined per service: each row gets its
template id and parameters (``opsassist.store.sink.LogTemplateFields``). After the rows are
durable, what
the batch changed is stored in one transaction: the templates it touched (``log_templates``,
absolute counts and their least-recently-used order), the generalizations it caused (the old
template marked merged, a version in its history, and the stored lines re-labelled with new
parameters), the windows it closed (``log_summaries``) and the incident changes they caused
(``incidents``, history by trigger). When an LLM is configured for the task ``summarize``, each
window that opened or updated an incident is also summarized by it, in the background, from
template statistics and redacted examples only; the row records what produced its text.

Template ids are hashes of the service and the template text, so they agree between workers and
restarts; the miner's state is reloaded from ``log_templates`` when a worker first sees a
service, or when ``log_template_miners`` shows that another worker mined it since.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

import asyncpg
import structlog
from pydantic import BaseModel, Field

from opsassist.llm import LLMClient
from opsassist.schemas import LogEvent
from opsassist.settings import Settings
from opsassist.store.history import Actor, set_actor
from opsassist.store.logs import (
    StoredIncident,
    StoredSummary,
    StoredTemplate,
    active_templates,
    lines_of_template,
    merge_template,
    miner_marks,
    open_incidents,
    recent_error_counts,
    relabel_lines,
    save_incident,
    save_llm_summary,
    save_marks,
    save_summary,
    save_templates,
)
from opsassist.store.sink import LogTemplateFields
from opsassist.streams.logs import (
    STATE_VERSION,
    BatchResult,
    IdChange,
    Incident,
    IncidentStatus,
    IncidentTransition,
    LogLine,
    LogStage,
    LogStageConfig,
    Severity,
    TemplateCount,
    TransitionKind,
    WindowSummary,
    describe_transition,
    describe_window,
    no_redaction,
    summary_input,
    template_pattern,
)
from opsassist.streams.privacy import Redactor
from opsassist.streams.runtime import metrics

log = structlog.get_logger(__name__)

SUMMARIZE_TASK = "summarize"
# InternalClientError: a connection that broke mid-operation (streams/agents/ingest.py).
_TRANSIENT = (
    TimeoutError,
    OSError,
    asyncpg.PostgresError,
    asyncpg.InterfaceError,
    asyncpg.InternalClientError,
)
_REFUSED = (asyncpg.DataError, asyncpg.IntegrityConstraintViolationError)
_TEMPLATE_ID = re.compile(r"\b[0-9a-f]{16}\b")


class LogSummaryText(BaseModel):
    """The summary of a window that changed an incident: the LLM's answer to the task
    ``summarize``, or its deterministic stand-in."""

    title: str
    summary: str
    impact: str
    probable_cause: str
    template_ids: list[str] = Field(default_factory=list)


@dataclass(slots=True)
class _Pending:
    """What a mined batch changed, until it is stored."""

    result: BatchResult
    templates: list[StoredTemplate]
    marks: dict[str, int]


class LogIntelligence:
    """The log agent's stages: ``before_write`` (mining) and ``after_write`` (storing).

    One per worker; the agent calls them for one batch at a time."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        stage: LogStage,
        *,
        worker_id: str,
        llm: LLMClient | None = None,
        llm_timeout_seconds: float = 60.0,
        redact: Callable[[str], str] = no_redaction,
        changed_by: str = "agent:logs",
    ) -> None:
        self._pool = pool
        self._stage = stage
        self._worker_id = worker_id
        self._llm = llm if llm is not None and llm.configured(SUMMARIZE_TASK) else None
        self._llm_timeout = llm_timeout_seconds
        self._redact = redact
        self._changed_by = changed_by
        self._actor = Actor(changed_by)
        # service -> (mark, writer) in the database, as last known
        self._synced: dict[str, tuple[int, str]] = {}
        self._marks: dict[str, int] = {}  # service -> the latest mark given (stored or pending)
        self._pending: list[_Pending] = []
        self._llm_tasks: set[asyncio.Task[None]] = set()

    @classmethod
    def from_settings(
        cls, settings: Settings, pool: asyncpg.Pool, llm: LLMClient | None = None
    ) -> LogIntelligence:
        redactor = Redactor.from_settings(settings)

        def redact(text: str) -> str:
            return redactor.redact_text(text).text

        return cls(
            pool,
            LogStage(LogStageConfig.from_settings(settings), redact=redact),
            # The app id is shared by the group's workers; the mark needs this process's own.
            worker_id=f"{settings.worker_id}:{uuid.uuid4().hex[:12]}",
            llm=llm,
            llm_timeout_seconds=settings.logs_llm_timeout_seconds,
            redact=redact,
        )

    @property
    def stage(self) -> LogStage:
        return self._stage

    async def before_write(self, events: Sequence[LogEvent]) -> list[LogTemplateFields]:
        """Mine the batch; per event, the template fields of its row."""
        if not self._pending:  # else this worker is ahead of the database: nothing to reload
            try:
                await self._sync(sorted({event.payload.service for event in events}))
            except _TRANSIENT as exc:  # the write will wait for the database; mining need not
                log.warning("log miners not checked against the database", error=str(exc))
        lines = [
            LogLine(p.service, p.timestamp, p.level or "", p.message)
            for p in (event.payload for event in events)
        ]
        # Mining a batch is 10-20 ms of CPU: in a thread, the event loop can still serve the
        # consumer's fetches and heartbeats in between (the GIL switches every 5 ms). Only this
        # agent, one batch at a time, touches the stage.
        result = await asyncio.to_thread(self._stage.process, lines)
        templates, marks = batch_templates(self._stage, self._marks, result)
        self._marks.update(marks)
        self._pending.append(_Pending(result, templates, marks))
        return [LogTemplateFields(m.template_id, m.parameters) for m in result.lines]

    async def after_write(self, events: Sequence[LogEvent]) -> None:
        """Store what the mined batches changed (templates, re-labelled lines, windows,
        incidents). Database errors propagate, and the ingest stage retries; a batch stays
        pending until it is stored."""
        while self._pending:
            pending = self._pending[0]
            try:
                changed = await self._store(pending)
            except Exception as exc:
                # Kept for the retry if the database may accept it later; else dropped, so that
                # one bad batch does not hold back every later one.
                if not isinstance(exc, _TRANSIENT) or isinstance(exc, _REFUSED):
                    self._pending.pop(0)
                    log.error("a mined batch could not be stored", error=str(exc))
                raise
            self._pending.pop(0)
            self._synced.update((s, (m, self._worker_id)) for s, m in pending.marks.items())
            for kind in (t.kind for t in pending.result.transitions):
                metrics.LOG_INCIDENT_TRANSITIONS.labels(kind.value).inc()
            if self._llm is not None:
                for summary_id, summary, transition in changed:
                    self._spawn(self._summarize(self._llm, summary_id, summary, transition))

    async def drain(self) -> None:
        """Wait for the LLM summaries under way (tests, shutdown)."""
        while self._llm_tasks:
            await asyncio.gather(*list(self._llm_tasks), return_exceptions=True)

    # -- loading a service's state

    async def _sync(self, services: list[str]) -> None:
        async with self._pool.acquire() as conn:
            stored = await miner_marks(conn, services)
            for service in services:
                mark = stored.get(service, (0, ""))
                if self._synced.get(service) == mark:
                    continue
                await self._load(conn, service)
                self._synced[service] = mark
                self._marks[service] = mark[0]

    async def _load(self, conn: asyncpg.Connection, service: str) -> None:
        """The service's miner, baseline and open incidents, as stored."""
        config = self._stage.config
        templates = await active_templates(conn, service, config.max_templates)
        state = {
            "version": STATE_VERSION,
            "service": service,
            "similarity": config.similarity,
            "variants": config.variants,
            "max_templates": config.max_templates,
            "templates": [{"tokens": tokens, "size": size} for tokens, size in templates],
        }
        self._stage.restore_miners({service: state})
        history = {
            size: await recent_error_counts(
                conn, service, int(size.total_seconds()), config.baseline_windows
            )
            for size in config.windows
        }
        incidents: dict[timedelta, Incident | None] = dict.fromkeys(config.windows)
        for row in await open_incidents(conn, [service]):
            size = timedelta(seconds=row["window_seconds"])
            if size in incidents:
                incidents[size] = _incident_from_row(row)
        self._stage.restore_windows(service, history, incidents)
        metrics.LOG_MINER_RELOADS.inc()
        log.info("log miner loaded", service=service, templates=len(templates))

    # -- what a batch changed

    async def _store(
        self, pending: _Pending
    ) -> list[tuple[int, WindowSummary, IncidentTransition]]:
        """One transaction; returns the stored windows that opened or updated an incident."""
        result = pending.result
        changed: list[tuple[int, WindowSummary, IncidentTransition]] = []
        async with self._pool.acquire() as conn, conn.transaction():
            # The miner and the window rules decided: no model or prompt (the LLM's summary is
            # stored apart, with its provenance in its own row).
            await set_actor(conn, self._actor)
            await save_templates(conn, pending.templates, self._changed_by)
            for change in collapse_changes(result.id_changes):
                await self._relabel(conn, change)
            await save_marks(conn, pending.marks, self._worker_id)
            summary_ids: dict[int, int] = {}
            for summary in result.summaries:
                summary_ids[id(summary)] = await save_summary(conn, _stored_summary(summary))
            for transition in result.transitions:
                summary_id = summary_ids.get(id(transition.summary))
                await save_incident(
                    conn, _stored_incident(transition, summary_id), self._changed_by
                )
                if summary_id is not None and transition.kind is not TransitionKind.RESOLVED:
                    changed.append((summary_id, transition.summary, transition))
        return changed

    async def _relabel(self, conn: asyncpg.Connection, change: IdChange) -> None:
        bounds = await merge_template(
            conn, change.service, change.old_id, change.new_id, self._changed_by
        )
        if bounds is None:  # created and generalized within one batch: no line was stored
            return
        pattern = template_pattern(change.new_template)
        lines = []
        stored = await lines_of_template(conn, change.service, change.old_id, *bounds)
        for event_id, message in stored:
            found = pattern.match(message.strip())
            lines.append((event_id, found.groups() if found is not None else ()))
        await relabel_lines(conn, change.new_id, lines)
        metrics.LOG_TEMPLATES_RELABELLED.inc(len(lines))

    # -- the LLM summary

    def _spawn(self, coroutine: Any) -> None:
        task: asyncio.Task[None] = asyncio.ensure_future(coroutine)
        self._llm_tasks.add(task)
        task.add_done_callback(self._llm_tasks.discard)

    async def _summarize(
        self,
        llm: LLMClient,
        summary_id: int,
        summary: WindowSummary,
        transition: IncidentTransition,
    ) -> None:
        evidence = summary_input(summary, transition)
        # A template's constant words come from raw lines (a name without digits stays a
        # constant), so its text is redacted too; the examples were redacted when kept.
        groups = [
            {
                "template_id": t.template_id,
                "template": self._redact(t.template),
                "count": t.count,
                "errors": t.errors,
                "share_of_errors": round(t.share_of_errors, 3),
                "first_seen": t.first_seen.isoformat(),
                "redacted_example": t.redacted_example,
                "new_in_window": t.new_in_window,
            }
            for t in evidence.templates
        ]
        known = [g["template_id"] for g in groups]
        inputs = {
            "service": summary.service,
            "window": f"{summary.start:%Y-%m-%d %H:%M}-{summary.end:%H:%M} UTC",
            "groups": groups,
            "deterministic_summary": self._redact(evidence.deterministic_summary),
        }
        fallback = LogSummaryText(
            title=f"{transition.incident.severity.value} incident on {summary.service}",
            summary=describe_transition(transition),
            impact="",
            probable_cause="unknown",
            template_ids=[str(i) for i in known],
        )
        try:
            result = await asyncio.wait_for(
                llm.run(SUMMARIZE_TASK, inputs, LogSummaryText, fallback), self._llm_timeout
            )
        except TimeoutError:
            log.warning("llm summary timed out", service=summary.service, summary_id=summary_id)
            return
        value = result.value
        if result.produced_by == "llm":
            text = " ".join((value.title, value.summary, value.impact, value.probable_cause))
            cited = list(dict.fromkeys(value.template_ids + _TEMPLATE_ID.findall(text)))
            value = value.model_copy(update={"template_ids": [i for i in cited if i in known]})
        try:
            await save_llm_summary(
                self._pool,
                summary_id,
                value.model_dump() if result.produced_by == "llm" else None,
                result.produced_by,
                result.provenance(),
            )
        except (asyncpg.PostgresError, OSError) as exc:
            log.warning("llm summary not stored", summary_id=summary_id, error=str(exc))


def batch_templates(
    stage: LogStage, marks: dict[str, int], result: BatchResult
) -> tuple[list[StoredTemplate], dict[str, int]]:
    """The templates a mined batch's lines end in, as stored: line count, the event-time bounds
    of the batch's lines, and a mark above ``marks`` (per service, the latest given) in the
    miner's least-recently-used order; and the new latest mark per service."""
    bounds: dict[str, dict[str, list[Any]]] = {}
    for mined in result.lines:
        ts = mined.line.timestamp
        of_service = bounds.setdefault(mined.line.service, {})
        found = of_service.get(mined.template_id)
        if found is None:
            of_service[mined.template_id] = [ts, ts, mined.template, 1]
        else:
            found[0] = min(found[0], ts)
            found[1] = max(found[1], ts)
            found[3] += 1
    templates: list[StoredTemplate] = []
    latest: dict[str, int] = {}
    for service, of_service in bounds.items():
        base = marks.get(service, 0)
        # The batch's templates are the miner's most recently used ones, in that order.
        recent = stage.miner(service).recently_used(len(of_service))
        sizes = {info.template_id: (offset, info.size) for offset, info in enumerate(recent, 1)}
        for template_id, (first, last, text, count) in of_service.items():
            offset, size = sizes.get(template_id, (0, count))  # 0: evicted within the batch
            templates.append(
                StoredTemplate(service, template_id, text, size, first, last, base + offset)
            )
        latest[service] = base + len(recent)
    return templates, latest


def collapse_changes(changes: Sequence[IdChange]) -> list[IdChange]:
    """The batch's generalizations with chains followed to their end (a → b, b → c: a → c,
    b → c), so each old id is re-labelled once, into a template that exists."""
    final: dict[tuple[str, str], IdChange] = {}
    for change in changes:
        for key, earlier in final.items():
            if earlier.service == change.service and earlier.new_id == change.old_id:
                final[key] = replace(
                    earlier, new_id=change.new_id, new_template=change.new_template
                )
        final[(change.service, change.old_id)] = change
    return list(final.values())


def _template_json(template: TemplateCount) -> dict[str, Any]:
    return {
        "template_id": template.template_id,
        "template": template.template,
        "count": template.count,
        "errors": template.errors,
        "example": template.example,
        "first_seen": template.first_seen.isoformat(),
    }


def _stored_summary(summary: WindowSummary) -> StoredSummary:
    return StoredSummary(
        service=summary.service,
        window_seconds=int(summary.duration.total_seconds()),
        window_start=summary.start,
        window_end=summary.end,
        total=summary.total,
        errors=summary.errors,
        counts_by_level=dict(summary.counts_by_level),
        baseline_errors=summary.baseline_errors,
        error_ratio=summary.error_ratio,
        top_templates=[_template_json(t) for t in summary.top_templates],
        top_error_templates=[_template_json(t) for t in summary.top_error_templates],
        new_templates=[_template_json(t) for t in summary.new_templates],
        narrative=describe_window(summary),
    )


def _stored_incident(transition: IncidentTransition, summary_id: int | None) -> StoredIncident:
    incident = transition.incident
    return StoredIncident(
        incident_key=incident.id,
        service=incident.service,
        window_seconds=int(transition.summary.duration.total_seconds()),
        severity=incident.severity.value,
        status=incident.status.value,
        last_transition=transition.kind.value,
        opened_at=incident.opened_at,
        last_spike_end=incident.last_spike_end,
        resolved_at=incident.resolved_at,
        peak_errors=incident.peak_errors,
        peak_ratio=incident.peak_ratio,
        template_ids=list(incident.template_ids),
        reason=incident.reason,
        narrative=describe_transition(transition),
        summary_id=summary_id,
    )


def _incident_from_row(row: dict[str, Any]) -> Incident:
    opened_at: datetime = row["opened_at"]
    return Incident(
        id=row["incident_key"],
        service=row["service"],
        severity=Severity(row["severity"]),
        status=IncidentStatus.OPEN,
        opened_at=opened_at,
        last_spike_end=row["last_spike_end"],
        resolved_at=None,
        peak_errors=row["peak_errors"],
        peak_ratio=row["peak_ratio"],
        template_ids=tuple(row["template_ids"]),
        reason=row["reason"],
    )
