"""Time travel through store/history.py against a real PostgreSQL: an entity as of any time is
exactly the row as it was then (None before it existed and after it was deleted), its versions
carry their diffs, and a list as of a time holds exactly the entities that existed then, as they
were, filtered on their state then."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import orjson
import pytest

from opsassist.store.history import (
    Actor,
    FieldChange,
    UnknownEntity,
    as_of,
    as_of_many,
    list_as_of,
    set_actor,
    tracked_entities,
    versions,
)

pytestmark = pytest.mark.integration

NOW = datetime(2026, 11, 1, tzinfo=UTC)
TICKET = """
INSERT INTO tickets (source_system, external_id, title, status, created_at, updated_at, changed_by)
VALUES ('jira', $1, $2, $3, $4, $4, 'agent:ingest') RETURNING id
"""


@contextlib.asynccontextmanager
async def connect(url: str) -> AsyncIterator[asyncpg.Connection]:
    conn = await asyncpg.connect(url)
    try:
        yield conn
    finally:
        await conn.close()


def run(url: str, body: Callable[[asyncpg.Connection], Awaitable[Any]]) -> Any:
    async def go() -> Any:
        async with connect(url) as conn:
            return await body(conn)

    return asyncio.run(go())


class Timeline:
    """Writes changes one transaction each, remembering each row as it was right after (read
    back from the table itself) and the time the database gave the change."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn
        self.moments: list[tuple[datetime, int, dict[str, Any] | None]] = []

    async def write(self, sql: str, *args: Any) -> int:
        async with self.conn.transaction():
            ticket_id: int = await self.conn.fetchval(sql, *args)
            at = await self.conn.fetchval("SELECT now()")
        row = await self.conn.fetchval(
            "SELECT to_jsonb(t)::text FROM tickets t WHERE id = $1", ticket_id
        )
        self.moments.append((at, ticket_id, None if row is None else orjson.loads(row)))
        return ticket_id

    def state(self, ticket_id: int, at: datetime) -> dict[str, Any] | None:
        """What the ticket was at ``at``, from the rows read back after each change."""
        found = None
        for moment, tid, row in self.moments:
            if tid == ticket_id and moment <= at:
                found = row
        return found

    def probes(self) -> list[datetime]:
        """Each change's own time, and times just before, between and after the changes."""
        times = sorted({m for m, _, _ in self.moments})
        between = [a + (b - a) / 2 for a, b in itertools.pairwise(times)]
        return [times[0] - timedelta(seconds=1), *times, *between, times[-1] + timedelta(hours=1)]


async def build(conn: asyncpg.Connection) -> tuple[Timeline, int, int]:
    line = Timeline(conn)
    a = await line.write(TICKET, "A", "Printer on fire", "open", NOW)
    await line.write("UPDATE tickets SET status = 'pending' WHERE id = $1 RETURNING id", a)
    await line.write(
        "UPDATE tickets SET title = 'Printer was on fire', labels = ARRAY['hw'] "
        "WHERE id = $1 RETURNING id",
        a,
    )
    b = await line.write(TICKET, "B", "Disk full", "open", NOW)  # does not exist before this
    await line.write("UPDATE tickets SET status = 'closed' WHERE id = $1 RETURNING id", a)
    await line.write("DELETE FROM tickets WHERE id = $1 RETURNING id", a)
    await line.write("UPDATE tickets SET status = 'pending' WHERE id = $1 RETURNING id", b)
    return line, a, b


def test_as_of_is_exactly_the_row_as_it_was_at_every_time(database_url: str) -> None:
    async def body(conn: asyncpg.Connection) -> None:
        line, a, b = await build(conn)
        for probe in line.probes():
            for ticket in (a, b):
                expected = line.state(ticket, probe)
                found = await as_of(conn, "tickets", ticket, probe)
                assert (None if found is None else found.state) == expected, (ticket, probe)
                if found is not None and expected is not None:
                    assert found.version == expected["version"]
        first_of_b = min(m for m, tid, _ in line.moments if tid == b)
        assert await as_of(conn, "tickets", b, first_of_b - timedelta(microseconds=1)) is None
        assert await as_of(conn, "tickets", a, datetime.now(UTC)) is None  # deleted
        assert await as_of(conn, "tickets", 10_000, datetime.now(UTC)) is None  # never existed
        # many at once: the same answers, absent where the single lookup says None
        for probe in line.probes():
            many = await as_of_many(conn, "tickets", [a, b, 10_000], probe)
            expected = {t: s for t in (a, b) if (s := line.state(t, probe)) is not None}
            assert {t: e.state for t, e in many.items()} == expected

    run(database_url, body)


def test_versions_list_every_change_with_its_diff_and_actor(database_url: str) -> None:
    async def body(conn: asyncpg.Connection) -> None:
        line, a, _ = await build(conn)
        history = await versions(conn, "tickets", a)
        assert [(v.version, v.change_kind) for v in history] == [
            (1, "insert"), (2, "update"), (3, "update"), (4, "update"), (5, "delete"),
        ]  # fmt: skip
        assert history[0].diff["title"] == FieldChange(None, "Printer on fire")
        assert history[1].diff == {"status": FieldChange("open", "pending")}
        assert history[2].diff == {
            "title": FieldChange("Printer on fire", "Printer was on fire"),
            "labels": FieldChange([], ["hw"]),
        }
        assert history[3].diff == {"status": FieldChange("pending", "closed")}
        assert history[4].diff["status"] == FieldChange("closed", None)
        assert history[4].state is None
        assert [v.state for v in history[:4]] == [row for _, tid, row in line.moments if tid == a][
            :4
        ]
        # a page: the diff of its first version still compares with the version before it
        page = await versions(conn, "tickets", a, after_version=2, limit=2)
        assert [(v.version, v.diff) for v in page] == [(v.version, v.diff) for v in history[2:4]]
        assert await versions(conn, "tickets", 10_000) == []

        async with conn.transaction():
            await set_actor(conn, Actor("user:alice", model="gpt-4o", prompt_version="triage-4"))
            await conn.execute("UPDATE tickets SET priority = 'p1' WHERE external_id = 'B'")
        newest = (await versions(conn, "tickets", _id_of(line, "B")))[-1]
        assert (newest.changed_by, newest.model, newest.prompt_version) == (
            "user:alice", "gpt-4o", "triage-4",
        )  # fmt: skip
        assert newest.diff == {"priority": FieldChange(None, "p1")}

    run(database_url, body)


def _id_of(line: Timeline, external_id: str) -> int:
    return next(tid for _, tid, row in line.moments if row and row["external_id"] == external_id)


def test_list_as_of_holds_exactly_the_entities_of_that_time(database_url: str) -> None:
    async def body(conn: asyncpg.Connection) -> None:
        line, a, _ = await build(conn)
        for i in range(7):  # more, to page through
            await line.write(TICKET, f"C{i}", f"Ticket {i}", "open" if i % 2 else "closed", NOW)
        ids = sorted({tid for _, tid, _ in line.moments})
        for probe in line.probes():
            expected = [(t, s) for t in ids if (s := line.state(t, probe)) is not None]
            page = await list_as_of(conn, "tickets", probe, limit=1_000)
            assert [(e.id, e.state) for e in page.items] == expected
            assert page.next_after is None
            open_then = [(t, s) for t, s in expected if s["status"] == "open"]
            page = await list_as_of(conn, "tickets", probe, where={"status": "open"})
            assert [(e.id, e.state) for e in page.items] == open_then

        # pages of 3, continued with next_after, cover the list once
        end = line.probes()[-1]
        seen: list[int] = []
        after = 0
        while True:
            page = await list_as_of(conn, "tickets", end, after=after, limit=3)
            seen += [e.id for e in page.items]
            if page.next_after is None:
                break
            after = page.next_after
        assert seen == [t for t in ids if t != a]  # a was deleted
        # a list field matches when it contains the elements asked for
        labelled_at = [m for m, tid, _ in line.moments if tid == a][2]
        labelled = await list_as_of(conn, "tickets", labelled_at, where={"labels": ["hw"]})
        assert [e.id for e in labelled.items] == [a]
        assert (await list_as_of(conn, "tickets", end, where={"labels": ["hw"]})).items == []

    run(database_url, body)


def test_versions_stay_ordered_in_time_when_an_earlier_transaction_writes_later(
    database_url: str,
) -> None:
    """T1 starts, T2 starts later, changes the ticket and commits, then T1 changes it: T1's
    version must not be dated before T2's, or "as of" would go back and forth."""

    async def body() -> list[tuple[int, datetime]]:
        async with connect(database_url) as one, connect(database_url) as two:
            ticket = await one.fetchval(TICKET, "R", "Race", "open", NOW)
            t1 = one.transaction()
            await t1.start()
            await one.fetchval("SELECT now()")  # T1's time is fixed here
            async with two.transaction():
                await two.execute("UPDATE tickets SET status = 'pending' WHERE id = $1", ticket)
            await one.execute("UPDATE tickets SET status = 'closed' WHERE id = $1", ticket)
            await t1.commit()
            rows = await one.fetch(
                "SELECT version, changed_at FROM ticket_changes WHERE ticket_id = $1 "
                "ORDER BY version",
                ticket,
            )
            latest = await as_of(one, "tickets", ticket, rows[-1]["changed_at"])
            assert latest is not None and latest.state["status"] == "closed"
            return [(r["version"], r["changed_at"]) for r in rows]

    rows = asyncio.run(body())
    assert [v for v, _ in rows] == [1, 2, 3]
    assert [t for _, t in rows] == sorted(t for _, t in rows)


def test_bad_questions_get_clear_errors(database_url: str) -> None:
    async def body(conn: asyncpg.Connection) -> None:
        assert set(await tracked_entities(conn)) >= {"tickets", "changelog_releases"}
        with pytest.raises(UnknownEntity, match=r"it is kept for: .*tickets"):
            await as_of(conn, "log_events", 1, NOW)
        with pytest.raises(ValueError, match="timezone-aware"):
            await as_of(conn, "tickets", 1, datetime(2026, 1, 1))
        with pytest.raises(ValueError, match="limit"):
            await list_as_of(conn, "tickets", NOW, limit=0)
        with pytest.raises(RuntimeError, match="needs a transaction"):
            await set_actor(conn, Actor("user:alice"))

    run(database_url, body)
