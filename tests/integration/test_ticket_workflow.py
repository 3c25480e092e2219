"""The ticket workflow (api/workflow/, its SQL in store/ticket_workflow.py) in PostgreSQL:
transitions, optimistic locking under concurrent updates, idempotent replays, SLA, corrections in
history and in the next training set, and re-triage (by the workflow or by the worker's next
write) that never overrides a person."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import asyncpg
import orjson
import pytest
from prometheus_client import REGISTRY

from opsassist.api.workflow import (
    Conflict,
    IdempotencyKeyReused,
    InvalidCorrection,
    InvalidTransition,
    NotFound,
    TicketWorkflow,
    Updated,
)
from opsassist.schemas import TicketEvent, TicketPayloadV2
from opsassist.store.pool import create_pool
from opsassist.store.sink import EventSink, Origin, ticket_row
from opsassist.store.triage_models import training_tickets
from opsassist.streams.agents.tickets import TicketTriage
from opsassist.streams.triage import StoredTicket as StoredTicketView
from opsassist.streams.triage import Ticket as TriageTicket
from opsassist.streams.triage import Triager, load_config, training_examples_from_tickets

pytestmark = pytest.mark.integration

CONFIG = load_config()
NOW = datetime.now(UTC).replace(microsecond=0)


def event(external_id: str, title: str, body: str = "", *, minutes: int = 0,
          created: datetime | None = None) -> TicketEvent:  # fmt: skip
    created_at = created or NOW
    updated = created_at + timedelta(minutes=minutes)
    return TicketEvent(
        id=f"{external_id}-{minutes}", schema_version=2, source="test", occurred_at=updated,
        payload=TicketPayloadV2(external_id=external_id, source_system="jira", title=title,
                                body=body, status="open", created_at=created_at,
                                updated_at=updated),
    )  # fmt: skip


async def write(pool: asyncpg.Pool, *events: TicketEvent) -> None:
    """Write tickets as the worker does: triage (rules, no model) before the write."""
    stage = TicketTriage(Triager(CONFIG), pool)
    fields = await stage(list(events))
    origin = Origin("tickets", 0, 0)
    rows = [ticket_row(e, origin, f) for e, f in zip(events, fields, strict=True)]
    await EventSink(pool).write_tickets(rows)


async def ticket_id(pool: asyncpg.Pool, external_id: str) -> int:
    found: int = await pool.fetchval("SELECT id FROM tickets WHERE external_id = $1", external_id)
    return found


@pytest.fixture
async def pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    pool = await create_pool(database_url, max_size=4)
    yield pool
    await pool.close()


def overrides(field: str) -> float:
    value = REGISTRY.get_sample_value("opsassist_triage_overrides_total", {"field": field})
    return value or 0.0


async def test_the_workflow_from_triaged_to_closed_and_reopened(pool: asyncpg.Pool) -> None:
    await write(pool, event("OPS-1", "Production down", "checkout outage"))
    workflow = TicketWorkflow(pool, CONFIG)
    tid = await ticket_id(pool, "OPS-1")
    state = await workflow.get(tid)
    assert state is not None
    # a confident triage is the open -> triaged step
    assert (state.workflow_status, state.category, state.priority) == ("triaged", "incident", "P1")
    version = state.version
    for i, status in enumerate(["in_progress", "resolved", "closed", "triaged"]):
        result = await workflow.update_status(tid, status, version, f"k{i}", "alice")
        assert isinstance(result, Updated), result
        assert result.ticket.workflow_status == status
        assert result.ticket.version == version + 1
        version = result.ticket.version
        if status == "resolved":
            assert result.ticket.resolved_at is not None
            assert result.ticket.sla_breached is False  # P1 due in 4 h, resolved now
    assert result.ticket.resolved_at is None and result.ticket.reopened_count == 1

    refused = await workflow.update_status(tid, "closed", version, "k-bad", "alice")
    assert refused == InvalidTransition(tid, "triaged", "closed", ("in_progress", "resolved"))
    assert "allowed: in_progress, resolved" in refused.message
    unknown = await workflow.update_status(tid, "done", version, "k-unknown", "alice")
    assert isinstance(unknown, InvalidTransition) and unknown.requested == "done"
    assert (await workflow.get(tid)).version == version  # type: ignore[union-attr]
    assert await workflow.update_status(999_999, "triaged", 1, "k-none", "alice") == NotFound(
        999_999
    )

    history = await pool.fetch(
        "SELECT changed_by, delta FROM ticket_changes WHERE ticket_id = $1 ORDER BY version", tid
    )
    statuses = [orjson.loads(h["delta"]).get("workflow_status") for h in history]
    assert statuses == ["triaged", "in_progress", "resolved", "closed", "triaged"]
    assert [h["changed_by"] for h in history[1:]] == ["user:alice"] * 4


async def test_two_concurrent_updates_one_wins_the_other_gets_the_current_version(
    pool: asyncpg.Pool,
) -> None:
    await write(pool, event("OPS-2", "Production down", "outage"))
    workflow = TicketWorkflow(pool, CONFIG)
    tid = await ticket_id(pool, "OPS-2")
    version = (await workflow.get(tid)).version  # type: ignore[union-attr]
    # Hold the row so that both updates are waiting on it at once, then let them race.
    async with pool.acquire() as holder, holder.transaction():
        await holder.execute("SELECT 1 FROM tickets WHERE id = $1 FOR UPDATE", tid)
        racing = [
            asyncio.create_task(workflow.update_status(tid, status, version, key, who))
            for status, key, who in (("in_progress", "a", "alice"), ("resolved", "b", "bob"))
        ]
        waiting = 0
        for _ in range(200):  # until both wait on the row lock (a deadline, not a sleep)
            # (another connection: pg_stat_activity is a snapshot within a transaction)
            waiting = await pool.fetchval(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                "AND datname = current_database()"
            )
            if waiting >= 2:
                break
            await asyncio.sleep(0.05)
        assert waiting == 2
    results = await asyncio.gather(*racing)
    winners = [r for r in results if isinstance(r, Updated)]
    losers = [r for r in results if isinstance(r, Conflict)]
    assert len(winners) == 1 and len(losers) == 1
    assert losers[0].current_version == winners[0].ticket.version == version + 1
    assert (await workflow.get(tid)).version == version + 1  # type: ignore[union-attr]


async def test_a_repeated_idempotency_key_replays_the_same_result(pool: asyncpg.Pool) -> None:
    await write(pool, event("OPS-3", "Production down", "outage"))
    workflow = TicketWorkflow(pool, CONFIG)
    tid = await ticket_id(pool, "OPS-3")
    version = (await workflow.get(tid)).version  # type: ignore[union-attr]

    first = await workflow.update_status(tid, "in_progress", version, "retry-me", "alice")
    again = await workflow.update_status(tid, "in_progress", version, "retry-me", "alice")
    assert isinstance(first, Updated) and again == first
    assert (await workflow.get(tid)).version == version + 1  # type: ignore[union-attr]
    # concurrent repeats of one key: one change, every caller gets its result
    both = await asyncio.gather(
        *(workflow.update_status(tid, "resolved", version + 1, "twice", "alice") for _ in "ab")
    )
    assert isinstance(both[0], Updated) and both[0] == both[1]
    assert (await workflow.get(tid)).version == version + 2  # type: ignore[union-attr]
    # a conflict is a result too, replayed as such
    conflict = await workflow.update_status(tid, "closed", version, "late", "alice")
    assert conflict == Conflict(tid, version, version + 2)
    assert await workflow.update_status(tid, "closed", version, "late", "alice") == conflict

    reused = await workflow.update_status(tid, "closed", version + 2, "retry-me", "alice")
    assert isinstance(reused, IdempotencyKeyReused) and "different request" in reused.message


async def test_sla_is_breached_when_resolved_after_the_due_time(pool: asyncpg.Pool) -> None:
    # created five hours ago, P1 (4 h): already past due
    await write(pool, event("OPS-4", "Production down", "outage", created=NOW - timedelta(hours=5)))
    workflow = TicketWorkflow(pool, CONFIG)
    tid = await ticket_id(pool, "OPS-4")
    state = await workflow.get(tid)
    assert state is not None and state.priority == "P1"
    assert state.sla_due_at == NOW - timedelta(hours=1)
    assert state.sla_breached is True
    resolved = await workflow.update_status(tid, "resolved", state.version, "r", "alice")
    assert isinstance(resolved, Updated) and resolved.ticket.sla_breached is True


async def test_a_correction_reaches_history_the_metric_and_the_next_training_set(
    pool: asyncpg.Pool,
) -> None:
    await write(pool, event("OPS-5", "Hello", "something odd with my account"))
    workflow = TicketWorkflow(pool, CONFIG)
    tid = await ticket_id(pool, "OPS-5")
    state = await workflow.get(tid)
    assert state is not None
    assert (state.workflow_status, state.needs_triage, state.team) == ("open", True, "triage")
    before = overrides("category")

    stale = await workflow.correct_triage(
        tid, category="billing", actor="alice", reason="r", expected_version=state.version - 1
    )
    assert stale == Conflict(tid, state.version - 1, state.version)
    bad = await workflow.correct_triage(
        tid, category="nonsense", actor="alice", reason="r", expected_version=state.version
    )
    assert isinstance(bad, InvalidCorrection) and "unknown category 'nonsense'" in bad.message
    nobody = await workflow.correct_triage(
        tid, category="billing", actor="", reason="r", expected_version=state.version
    )
    assert isinstance(nobody, InvalidCorrection)

    result = await workflow.correct_triage(
        tid,
        category="billing",
        actor="alice",
        reason="the body is about an invoice",
        expected_version=state.version,
    )
    assert isinstance(result, Updated), result
    corrected = result.ticket
    # the correction ends abstention, routes to the category's team and priority, and moves
    # the open ticket to triaged
    assert (corrected.category, corrected.team, corrected.priority) == ("billing", "finance", "P3")
    assert (corrected.needs_triage, corrected.triage_layer) == (False, "human")
    assert corrected.workflow_status == "triaged"
    assert corrected.human_fields == ("category",)
    assert overrides("category") == before + 1

    change = await pool.fetchrow(
        "SELECT changed_by, delta FROM ticket_changes WHERE ticket_id = $1 AND version = $2",
        tid,
        corrected.version,
    )
    delta = orjson.loads(change["delta"])
    assert change["changed_by"] == "user:alice"
    assert delta["category"] == "billing" and delta["team"] == "finance"
    assert delta["correction"]["reason"] == "the body is about an invoice"
    assert delta["correction"]["by"] == "user:alice"
    assert delta["correction"]["fields"] == {"category": {"old": None, "new": "billing"}}

    stored = await training_tickets(pool)
    examples, origins = training_examples_from_tickets(
        [
            StoredTicketView(
                TriageTicket(title=t.title, body=t.body, labels=t.labels, id=t.external_id),
                t.category,
                t.corrected,
                t.resolved,
            )
            for t in stored
        ],
        CONFIG,
    )
    assert [(e.ticket.id, e.label) for e in examples] == [("OPS-5", "billing")]
    assert origins == {"corrections": 1, "labelled": 0, "resolved": 0}


async def test_retriage_and_later_events_never_override_a_person(pool: asyncpg.Pool) -> None:
    await write(pool, event("OPS-6", "Production down", "outage since 10:00"))
    workflow = TicketWorkflow(pool, CONFIG)
    tid = await ticket_id(pool, "OPS-6")
    state = await workflow.get(tid)
    assert state is not None and (state.category, state.priority) == ("incident", "P1")
    result = await workflow.correct_triage(
        tid, priority="P3", team="web", actor="bob", reason="one test page only",
        expected_version=state.version,
    )  # fmt: skip
    assert isinstance(result, Updated)
    assert result.ticket.sla_due_at == NOW + timedelta(hours=72)  # P3: 72 h from creation
    assert overrides("priority") >= 1 and overrides("team") >= 1

    again = await workflow.retriage(tid)
    assert isinstance(again, Updated)
    assert (again.ticket.category, again.ticket.priority, again.ticket.team) == (
        "incident",
        "P3",
        "web",
    )
    assert await workflow.retriage(999_999) == NotFound(999_999)

    # the worker writes a later event of the ticket: its rules still say P1, the person's
    # priority and team stay
    await write(pool, event("OPS-6", "Production down", "outage, still down", minutes=5))
    after = await workflow.get(tid)
    assert after is not None and after.version > again.ticket.version
    assert (after.priority, after.team, after.sla_due_at) == (
        "P3",
        "web",
        NOW + timedelta(hours=72),
    )
    # even an agent write that ignores the person's fields cannot change them (the trigger)
    await pool.execute(
        "UPDATE tickets SET priority = 'P1', team = 'sre', human_fields = '{}', "
        "changed_by = 'agent:rogue' WHERE id = $1",
        tid,
    )
    guarded = await workflow.get(tid)
    assert guarded is not None
    assert (guarded.priority, guarded.team, guarded.human_fields) == (
        "P3",
        "web",
        ("priority", "team"),
    )


async def test_a_corrected_category_survives_a_later_event(pool: asyncpg.Pool) -> None:
    await write(pool, event("OPS-7", "Hello", "something odd"))
    workflow = TicketWorkflow(pool, CONFIG)
    tid = await ticket_id(pool, "OPS-7")
    state = await workflow.get(tid)
    assert state is not None
    corrected = await workflow.correct_triage(
        tid, category="question", actor="carol", reason="asks how", expected_version=state.version
    )
    assert isinstance(corrected, Updated)
    # the later event would make the rules say incident P1; the person's category stays, and
    # with it the routing that follows from it, while the priority rule still applies
    await write(pool, event("OPS-7", "Hello", "is the site down? outage?", minutes=5))
    after = await workflow.get(tid)
    assert after is not None
    assert (after.category, after.triage_layer, after.needs_triage) == ("question", "human", False)
    assert (after.team, after.priority) == ("support", "P1")


async def test_a_status_change_needs_a_key_and_an_actor(pool: asyncpg.Pool) -> None:
    workflow = TicketWorkflow(pool, CONFIG)
    with pytest.raises(ValueError, match="idempotency key and an actor"):
        await workflow.update_status(1, "triaged", 1, " ", "alice")
    with pytest.raises(ValueError, match="idempotency key and an actor"):
        await workflow.update_status(1, "triaged", 1, "k", "")
