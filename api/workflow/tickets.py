"""People's operations on stored tickets: status changes with optimistic locking and
idempotency keys, corrections of triage, and re-triage that never overrides a person.

The rules come from the triage stage (``opsassist.streams.triage``: transitions, SLA, how a
person's fields shape a triage); the SQL from the store (``opsassist.store.ticket_workflow``).
Every operation is one transaction that first locks the ticket's row, so two concurrent changes
of one ticket are serialized: the first wins, the second sees the new version and gets
:class:`Conflict`.

Results are values, not exceptions, so that callers (the GraphQL API) map each to a typed
answer: ``Updated | Conflict | InvalidTransition | NotFound | …``. Actors are people
(``alice`` is stored as ``user:alice``) or agents (``agent:<name>``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import UTC
from typing import cast

import asyncpg
import orjson

from opsassist.api.workflow.ticket_results import (
    Conflict,
    CorrectionResult,
    IdempotencyKeyReused,
    InvalidCorrection,
    InvalidTransition,
    NotFound,
    RetriageResult,
    StatusResult,
    Updated,
    result_from_json,
    result_to_json,
)
from opsassist.store.metrics import TRIAGE_OVERRIDES
from opsassist.store.sink import TicketTriageFields
from opsassist.store.ticket_workflow import (
    LockedTicket,
    TicketState,
    lock_ticket,
    reserve_status_request,
    save_status_result,
    set_status,
    set_triage,
    ticket_state,
)
from opsassist.store.triage_models import active_model, active_model_version
from opsassist.streams.privacy import IdempotencyKeyDigest, Redactor
from opsassist.streams.triage import (
    ALLOWED_TRANSITIONS,
    OVERRIDE_FIELDS,
    PRIORITIES,
    Explanation,
    Layer,
    Ticket,
    Triage,
    TriageConfig,
    TriageModel,
    Triager,
    WorkflowState,
    apply_transition,
    parse_status,
    sla_due_at,
    with_human_fields,
)
from opsassist.streams.triage import InvalidTransition as TransitionError
from opsassist.streams.triage import UnknownStatus as UnknownStatusError

#: The scope of status-change keys in their digest (keys are global, not per ticket).
_STATUS_KEY_SCOPE = "ticket-status"


def _actor(actor: str) -> str:
    """``changed_by`` for an actor: ``user:<login>`` unless it names its kind already."""
    actor = actor.strip()
    return actor if ":" in actor else f"user:{actor}"


def _request_hash(ticket_id: int, status: str, expected_version: int, actor: str) -> bytes:
    request = orjson.dumps([ticket_id, status, expected_version, actor])
    return hashlib.sha256(request).digest()


def _machine_triage(ticket: LockedTicket, config: TriageConfig) -> Triage:
    """The ticket's stored triage as the stage's value (enough to re-derive routing)."""
    state, details = ticket.state, ticket.triage_details
    explanation = details.get("explanation") or {}
    return Triage(
        category=state.category,
        suggested_category=state.suggested_category,
        priority=state.priority or config.default_priority,
        team=state.team or config.triage_queue,
        confidence=ticket.triage_confidence or 0.0,
        needs_triage=state.needs_triage,
        layer=cast("Layer", state.triage_layer or "none"),
        explanation=Explanation(summary=str(explanation.get("summary") or "")),
        model_version=details.get("model_version"),
        priority_rule=explanation.get("priority_rule"),
        team_rule=explanation.get("team_rule"),
        notes=tuple(details.get("notes") or ()),
    )


def _owned(state: TicketState) -> dict[str, str]:
    """The values of the fields a person set."""
    values = {"category": state.category, "priority": state.priority, "team": state.team}
    return {name: value for name in state.human_fields if (value := values[name]) is not None}


def _columns(
    triage: Triage, ticket: LockedTicket, config: TriageConfig, notes: tuple[str, ...]
) -> TicketTriageFields:
    """The ``tickets`` columns of a triage, with its SLA due time from the ticket's creation."""
    decided = triage.to_dict()
    return TicketTriageFields(
        category=triage.category,
        suggested_category=triage.suggested_category,
        priority=triage.priority,
        team=triage.team,
        confidence=triage.confidence,
        needs_triage=triage.needs_triage,
        layer=triage.layer,
        details={"explanation": decided["explanation"], "model_version": decided["model_version"],
                 "notes": list(notes)},
        sla_due_at=sla_due_at(ticket.created_at, triage.priority, config.sla),
    )  # fmt: skip


class TicketWorkflow:
    """The workflow operations on stored tickets.

    ``config`` is the triage configuration (taxonomy, SLA hours) the worker uses. ``triager``
    is used by :meth:`retriage`; without one, the configuration's rules and the newest active
    model stored in PostgreSQL are used (loaded again only when a newer one is stored).

    ``redactor`` redacts what people type before it is stored (a correction's reason);
    ``keys`` turns an idempotency key into what is stored instead of it. The defaults are the
    packaged policy without a pseudonym key (masks) and an unkeyed hash: a process with
    settings passes those made from them.
    """

    def __init__(
        self,
        pool: asyncpg.Pool,
        config: TriageConfig,
        triager: Triager | None = None,
        *,
        redactor: Redactor | None = None,
        keys: IdempotencyKeyDigest | None = None,
    ) -> None:
        self._pool = pool
        self._config = config
        self._redactor = redactor if redactor is not None else Redactor()
        self._keys = keys if keys is not None else IdempotencyKeyDigest(b"")
        self._triager = triager
        self._own_triager: Triager | None = None
        self._own_version: str | None = None

    async def get(self, ticket_id: int) -> TicketState | None:
        """The ticket's workflow and triage state, or None."""
        return await ticket_state(self._pool, ticket_id)

    async def update_status(
        self,
        ticket_id: int,
        status: str,
        expected_version: int,
        idempotency_key: str,
        actor: str,
    ) -> StatusResult:
        """Move the ticket to ``status`` if it is still at ``expected_version`` and the
        workflow allows it (open → triaged → in_progress → resolved → closed; triaged →
        resolved; in_progress → triaged; resolved or closed → triaged reopens).

        Resolving records ``resolved_at`` (the SLA is measured then); reopening clears it and
        counts the reopen (the SLA clock keeps running from creation). The result for an
        ``idempotency_key`` is stored in the same transaction: the same key with the same
        request returns that same result again without changing anything, the same key with a
        different request returns :class:`IdempotencyKeyReused`. Keys are global, not per
        ticket, and stored as their HMAC (``keys``), never as given. An empty key or actor is a
        caller's bug: ``ValueError``.
        """
        if not idempotency_key.strip() or not actor.strip():
            raise ValueError("an idempotency key and an actor are required")
        changed_by = _actor(actor)
        request = _request_hash(ticket_id, status, expected_version, changed_by)
        stored_key = self._keys.digest(_STATUS_KEY_SCOPE, idempotency_key)
        async with self._pool.acquire() as conn, conn.transaction():
            earlier = await reserve_status_request(conn, stored_key, ticket_id, request)
            if earlier is not None:
                if earlier.request_hash != request:
                    return IdempotencyKeyReused(
                        idempotency_key,
                        f"idempotency key {idempotency_key!r} was used for a different request",
                    )
                return result_from_json(earlier.result)
            result = await self._change_status(
                conn, ticket_id, status, expected_version, changed_by
            )
            await save_status_result(conn, stored_key, result_to_json(result))
            return result

    async def _change_status(
        self,
        conn: asyncpg.Connection,
        ticket_id: int,
        status: str,
        expected_version: int,
        changed_by: str,
    ) -> Updated | Conflict | InvalidTransition | NotFound:
        ticket = await lock_ticket(conn, ticket_id)
        if ticket is None:
            return NotFound(ticket_id)
        if ticket.state.version != expected_version:
            return Conflict(ticket_id, expected_version, ticket.state.version)
        current = WorkflowState(
            status=parse_status(ticket.state.workflow_status),
            priority=ticket.state.priority or self._config.default_priority,
            created_at=ticket.created_at,
            resolved_at=ticket.state.resolved_at,
            reopened=ticket.state.reopened_count,
        )
        try:
            after = apply_transition(current, status, ticket.now)
        except TransitionError as exc:
            return InvalidTransition(ticket_id, exc.current, exc.requested, exc.allowed)
        except UnknownStatusError:
            allowed = tuple(sorted(s.value for s in ALLOWED_TRANSITIONS[current.status]))
            return InvalidTransition(ticket_id, current.status.value, status, allowed)
        await set_status(
            conn, ticket_id, status=after.status.value, resolved_at=after.resolved_at,
            reopened_count=after.reopened, changed_by=changed_by,
        )  # fmt: skip
        return Updated(await self._state(conn, ticket_id))

    async def correct_triage(
        self,
        ticket_id: int,
        *,
        category: str | None = None,
        priority: str | None = None,
        team: str | None = None,
        actor: str,
        reason: str,
        expected_version: int,
    ) -> CorrectionResult:
        """A person sets the ticket's category, priority and/or team.

        The fields given become the person's (``human_fields``): no later triage, by the worker
        on a new event or by :meth:`retriage`, changes them. A new category ends abstention
        and, unless a rule or the person set them, routes to the category's team and
        priority; a new priority moves the SLA due time. The change and ``correction`` (old
        and new values, who, why, when) land in the ticket's history; each field whose value
        changed counts in ``opsassist_triage_overrides_total{field}``; the next
        ``opsassist triage train`` learns the corrected category. The reason is free text a
        person typed: it is stored (in ``correction``, the triage notes and so the history)
        only as the privacy policy redacts it.
        """
        wanted = {
            name: value
            for name, value in (("category", category), ("priority", priority), ("team", team))
            if value is not None
        }
        problem = self._correction_problem(wanted, actor, reason)
        if problem is not None:
            return InvalidCorrection(ticket_id, problem)
        changed_by = _actor(actor)
        reason = self._redactor.redact_text(reason.strip()).text
        async with self._pool.acquire() as conn, conn.transaction():
            ticket = await lock_ticket(conn, ticket_id)
            if ticket is None:
                return NotFound(ticket_id)
            before = ticket.state
            if before.version != expected_version:
                return Conflict(ticket_id, expected_version, before.version)
            machine = _machine_triage(ticket, self._config)
            corrected = with_human_fields(machine, {**_owned(before), **wanted}, self._config)
            old = {"category": before.category, "priority": before.priority, "team": before.team}
            changes = {
                name: {"old": old[name], "new": value}
                for name, value in wanted.items()
                if old[name] != value
            }
            correction = {
                "fields": changes,
                "by": changed_by,
                "reason": reason,
                "at": ticket.now.astimezone(UTC).isoformat(),
            }
            note = f"{', '.join(wanted)} set by {changed_by}: {reason}"
            await set_triage(
                conn,
                ticket_id,
                _columns(corrected, ticket, self._config, (*corrected.notes, note)),
                human_fields=sorted(set(before.human_fields) | set(wanted)),
                correction=correction,
                changed_by=changed_by,
            )
            state = await self._state(conn, ticket_id)
        for name in changes:
            TRIAGE_OVERRIDES.labels(name).inc()
        return Updated(state)

    def _correction_problem(self, wanted: Mapping[str, str], actor: str, reason: str) -> str | None:
        category, priority = wanted.get("category"), wanted.get("priority")
        known = ", ".join(self._config.category_ids)
        problems = [
            (not wanted, f"nothing to correct: give one or more of {OVERRIDE_FIELDS}"),
            (
                not actor.strip() or not reason.strip(),
                "a correction needs who made it (actor) and why (reason)",
            ),
            (actor.strip().startswith("agent:"), "corrections are made by people, not agents"),
            (
                category is not None and category not in self._config.category_ids,
                f"unknown category {category!r}; known: {known}",
            ),
            (
                priority is not None and priority not in PRIORITIES,
                f"unknown priority {priority!r}; known: {', '.join(PRIORITIES)}",
            ),
            ("team" in wanted and not wanted["team"].strip(), "the team is empty"),
            # A team is routed on by its exact value, so it is refused rather than redacted.
            (
                "team" in wanted and bool(self._redactor.find(wanted["team"])),
                "the team holds personal data; a team is the name of a queue",
            ),
        ]
        return next((message for failed, message in problems if failed), None)

    async def retriage(self, ticket_id: int) -> RetriageResult:
        """Triage the ticket again from its stored text (rules and model; no LLM), keeping
        every field a person set. Recorded as a change by ``agent:retriage``."""
        triager = await self._retriager()
        async with self._pool.acquire() as conn, conn.transaction():
            ticket = await lock_ticket(conn, ticket_id)
            if ticket is None:
                return NotFound(ticket_id)
            text = Ticket(
                title=ticket.title,
                body=ticket.body,
                labels=ticket.labels,
                source=ticket.source_system,
                id=ticket.external_id,
            )
            result = with_human_fields(triager.triage(text), _owned(ticket.state), self._config)
            await set_triage(
                conn,
                ticket_id,
                _columns(result, ticket, self._config, result.notes),
                human_fields=ticket.state.human_fields,
                correction=ticket.state.correction,
                changed_by="agent:retriage",
            )
            return Updated(await self._state(conn, ticket_id))

    @staticmethod
    async def _state(conn: asyncpg.Connection, ticket_id: int) -> TicketState:
        """The state a change left, read in its transaction (the row is locked: it exists)."""
        state = await ticket_state(conn, ticket_id)
        assert state is not None
        return state

    async def _retriager(self) -> Triager:
        if self._triager is not None:
            return self._triager
        version = await active_model_version(self._pool)
        if self._own_triager is None or version != self._own_version:
            stored = await active_model(self._pool) if version is not None else None
            model = TriageModel.from_bytes(stored.model) if stored is not None else None
            self._own_triager = Triager(self._config, model)
            self._own_version = stored.version if stored is not None else None
        return self._own_triager
