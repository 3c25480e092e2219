"""The ticket workflow in PostgreSQL: status changes with optimistic locking and idempotency
keys, corrections of triage by people, and re-triage that never overrides a person.

Every operation is one transaction that locks the ticket's row (``SELECT … FOR UPDATE``), so
two concurrent changes of one ticket are serialized: the first wins, the second sees the new
version and gets :class:`Conflict`. History needs no code here: the triggers of migration 0001
record every change in ``ticket_changes`` (who in ``changed_by``, the delta), and those of 0007
keep agents from overwriting fields a person set.

Results are values, not exceptions, so that callers (the GraphQL API) map each to a typed
answer: ``Updated | Conflict | InvalidTransition | NotFound | …``. Actors are people
(``alice`` is stored as ``user:alice``) or agents (``agent:<name>``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from datetime import UTC, timedelta
from typing import Any

import asyncpg
import orjson

from opsassist.store.metrics import TRIAGE_OVERRIDES
from opsassist.store.ticket_results import (
    Conflict,
    CorrectionResult,
    IdempotencyKeyReused,
    InvalidCorrection,
    InvalidTransition,
    NotFound,
    RetriageResult,
    StatusResult,
    TicketState,
    Updated,
    result_from_json,
    result_to_json,
)
from opsassist.store.triage_models import active_model, active_model_version
from opsassist.streams.privacy import IdempotencyKeyDigest, Redactor
from opsassist.streams.triage import (
    ALLOWED_TRANSITIONS,
    OVERRIDE_FIELDS,
    PRIORITIES,
    Explanation,
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

__all__ = [
    "Conflict",
    "CorrectionResult",
    "IdempotencyKeyReused",
    "InvalidCorrection",
    "InvalidTransition",
    "NotFound",
    "RetriageResult",
    "StatusResult",
    "TicketState",
    "TicketWorkflow",
    "Updated",
    "human_owned_fields",
    "purge_status_requests",
]


# -- SQL

_STATE_COLUMNS = """
id, version, workflow_status, category, suggested_category, priority, team, needs_triage,
triage_layer, human_fields, sla_due_at, resolved_at, reopened_count, correction, triage,
coalesce(resolved_at, now()) > sla_due_at AS sla_breached
"""
_LOCK = f"""
SELECT {_STATE_COLUMNS}, title, body, labels, source_system, external_id, created_at,
       triage_confidence, now() AS db_now
FROM tickets WHERE id = $1 FOR UPDATE
"""
_STATE = f"SELECT {_STATE_COLUMNS} FROM tickets WHERE id = $1"
_SET_STATUS = """
UPDATE tickets SET workflow_status = $2, resolved_at = $3, reopened_count = $4, changed_by = $5
WHERE id = $1
"""
_SET_TRIAGE = """
UPDATE tickets SET category = $2, suggested_category = $3, priority = $4, team = $5,
    triage_confidence = $6, needs_triage = $7, triage_layer = $8, triage = $9::jsonb,
    sla_due_at = $10, human_fields = $11, correction = $12::jsonb, changed_by = $13
WHERE id = $1
"""
_CLAIM_KEY = """
INSERT INTO ticket_status_requests (idempotency_key, ticket_id, request_hash, result)
VALUES ($1, $2, $3, 'null') ON CONFLICT (idempotency_key) DO NOTHING RETURNING true
"""
_STORED_KEY = """
SELECT request_hash, result FROM ticket_status_requests WHERE idempotency_key = $1
"""
_SAVE_RESULT = "UPDATE ticket_status_requests SET result = $2::jsonb WHERE idempotency_key = $1"
_PURGE_KEYS = "DELETE FROM ticket_status_requests WHERE created_at < now() - $1::interval"
_OWNED = """
SELECT t.source_system, t.external_id, t.human_fields, t.category, t.priority, t.team
FROM tickets t
JOIN unnest($1::text[], $2::text[]) AS k (source_system, external_id)
  ON t.source_system = k.source_system AND t.external_id = k.external_id
WHERE t.human_fields <> '{}'
"""


#: The scope of status-change keys in their digest (keys are global, not per ticket).
_STATUS_KEY_SCOPE = "ticket-status"


def _json(value: Any) -> str:
    return orjson.dumps(value).decode()


def _state(row: asyncpg.Record) -> TicketState:
    details = orjson.loads(row["triage"]) if row["triage"] is not None else {}
    return TicketState(
        id=row["id"],
        version=row["version"],
        workflow_status=row["workflow_status"],
        category=row["category"],
        suggested_category=row["suggested_category"],
        priority=row["priority"],
        team=row["team"],
        needs_triage=row["needs_triage"],
        triage_layer=row["triage_layer"],
        human_fields=tuple(row["human_fields"]),
        sla_due_at=row["sla_due_at"],
        sla_breached=bool(row["sla_breached"]),
        resolved_at=row["resolved_at"],
        reopened_count=row["reopened_count"],
        model_version=details.get("model_version"),
        correction=orjson.loads(row["correction"]) if row["correction"] is not None else None,
    )


def _actor(actor: str) -> str:
    """``changed_by`` for an actor: ``user:<login>`` unless it names its kind already."""
    actor = actor.strip()
    return actor if ":" in actor else f"user:{actor}"


def _request_hash(ticket_id: int, status: str, expected_version: int, actor: str) -> bytes:
    return hashlib.sha256(_json([ticket_id, status, expected_version, actor]).encode()).digest()


def _machine_triage(row: asyncpg.Record, config: TriageConfig) -> Triage:
    """The ticket's stored triage as the stage's value (enough to re-derive routing)."""
    details = orjson.loads(row["triage"]) if row["triage"] is not None else {}
    explanation = details.get("explanation") or {}
    return Triage(
        category=row["category"],
        suggested_category=row["suggested_category"],
        priority=row["priority"] or config.default_priority,
        team=row["team"] or config.triage_queue,
        confidence=row["triage_confidence"] or 0.0,
        needs_triage=row["needs_triage"],
        layer=row["triage_layer"] or "none",
        explanation=Explanation(summary=str(explanation.get("summary") or "")),
        model_version=details.get("model_version"),
        priority_rule=explanation.get("priority_rule"),
        team_rule=explanation.get("team_rule"),
        notes=tuple(details.get("notes") or ()),
    )


def _details(triage: Triage) -> dict[str, Any]:
    decided = triage.to_dict()
    return {k: decided[k] for k in ("explanation", "model_version", "notes")}


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
        row = await self._pool.fetchrow(_STATE, ticket_id)
        return _state(row) if row is not None else None

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
            # A concurrent request with the same key waits here for the first one's commit.
            if not await conn.fetchval(_CLAIM_KEY, stored_key, ticket_id, request):
                stored = await conn.fetchrow(_STORED_KEY, stored_key)
                if bytes(stored["request_hash"]) != request:
                    return IdempotencyKeyReused(
                        idempotency_key,
                        f"idempotency key {idempotency_key!r} was used for a different request",
                    )
                return result_from_json(orjson.loads(stored["result"]))
            result = await self._change_status(
                conn, ticket_id, status, expected_version, changed_by
            )
            await conn.execute(_SAVE_RESULT, stored_key, _json(result_to_json(result)))
            return result

    async def _change_status(
        self,
        conn: asyncpg.Connection,
        ticket_id: int,
        status: str,
        expected_version: int,
        changed_by: str,
    ) -> Updated | Conflict | InvalidTransition | NotFound:
        row = await conn.fetchrow(_LOCK, ticket_id)
        if row is None:
            return NotFound(ticket_id)
        if row["version"] != expected_version:
            return Conflict(ticket_id, expected_version, row["version"])
        current = WorkflowState(
            status=parse_status(row["workflow_status"]),
            priority=row["priority"] or self._config.default_priority,
            created_at=row["created_at"],
            resolved_at=row["resolved_at"],
            reopened=row["reopened_count"],
        )
        try:
            after = apply_transition(current, status, row["db_now"])
        except TransitionError as exc:
            return InvalidTransition(ticket_id, exc.current, exc.requested, exc.allowed)
        except UnknownStatusError:
            allowed = tuple(sorted(s.value for s in ALLOWED_TRANSITIONS[current.status]))
            return InvalidTransition(ticket_id, current.status.value, status, allowed)
        await conn.execute(
            _SET_STATUS, ticket_id, after.status.value, after.resolved_at, after.reopened,
            changed_by,
        )  # fmt: skip
        return Updated(_state(await conn.fetchrow(_STATE, ticket_id)))

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
            row = await conn.fetchrow(_LOCK, ticket_id)
            if row is None:
                return NotFound(ticket_id)
            if row["version"] != expected_version:
                return Conflict(ticket_id, expected_version, row["version"])
            owned = {name: row[name] for name in row["human_fields"] if row[name] is not None}
            owned.update(wanted)
            corrected = with_human_fields(_machine_triage(row, self._config), owned, self._config)
            changes = {
                name: {"old": row[name], "new": value}
                for name, value in wanted.items()
                if row[name] != value
            }
            correction = {
                "fields": changes,
                "by": changed_by,
                "reason": reason,
                "at": row["db_now"].astimezone(UTC).isoformat(),
            }
            note = f"{', '.join(wanted)} set by {changed_by}: {reason}"
            notes = (*corrected.notes, note)
            await conn.execute(
                _SET_TRIAGE,
                ticket_id,
                corrected.category,
                corrected.suggested_category,
                corrected.priority,
                corrected.team,
                corrected.confidence,
                corrected.needs_triage,
                corrected.layer,
                _json({**_details(corrected), "notes": list(notes)}),
                sla_due_at(row["created_at"], corrected.priority, self._config.sla),
                sorted(set(row["human_fields"]) | set(wanted)),
                _json(correction),
                changed_by,
            )
            state = _state(await conn.fetchrow(_STATE, ticket_id))
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
            row = await conn.fetchrow(_LOCK, ticket_id)
            if row is None:
                return NotFound(ticket_id)
            ticket = Ticket(
                title=row["title"],
                body=row["body"],
                labels=tuple(row["labels"]),
                source=row["source_system"],
                id=row["external_id"],
            )
            owned = {name: row[name] for name in row["human_fields"] if row[name] is not None}
            result = with_human_fields(triager.triage(ticket), owned, self._config)
            await conn.execute(
                _SET_TRIAGE,
                ticket_id,
                result.category,
                result.suggested_category,
                result.priority,
                result.team,
                result.confidence,
                result.needs_triage,
                result.layer,
                _json(_details(result)),
                sla_due_at(row["created_at"], result.priority, self._config.sla),
                list(row["human_fields"]),
                row["correction"],
                "agent:retriage",
            )
            return Updated(_state(await conn.fetchrow(_STATE, ticket_id)))

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


async def human_owned_fields(
    conn: asyncpg.Connection | asyncpg.Pool, keys: Sequence[tuple[str, str]]
) -> dict[tuple[str, str], dict[str, str]]:
    """For tickets (``(source_system, external_id)``) where a person set triage fields: those
    fields and their values. The worker applies them to its new triage of these tickets."""
    if not keys:
        return {}
    rows = await conn.fetch(_OWNED, [k[0] for k in keys], [k[1] for k in keys])
    return {
        (row["source_system"], row["external_id"]): {
            name: row[name] for name in row["human_fields"] if row[name] is not None
        }
        for row in rows
    }


async def purge_status_requests(
    conn: asyncpg.Connection | asyncpg.Pool, older_than: timedelta
) -> int:
    """Forget idempotency keys of status changes older than ``older_than`` (a timedelta)."""
    result: str = await conn.execute(_PURGE_KEYS, older_than)
    return int(result.rsplit(" ", 1)[-1])
