"""``opsassist history`` as a user runs it: an entity as of a time, its versions with diffs and
who made them, a list as of a time; unknown tables and bad times get clear errors."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import asyncpg
import orjson
import pytest

from opsassist.settings import Settings
from opsassist.store.history import Actor, set_actor
from tests.conftest import run_cli

pytestmark = pytest.mark.integration

NOW = datetime(2026, 11, 1, tzinfo=UTC)


def write_history(url: str) -> tuple[int, datetime, datetime]:
    """A ticket opened, then closed by alice in a later transaction; the two times."""

    async def go() -> tuple[int, datetime, datetime]:
        conn = await asyncpg.connect(url)
        try:
            ticket = await conn.fetchval(
                "INSERT INTO tickets (source_system, external_id, title, status, created_at,"
                " updated_at, changed_by) VALUES ('jira', 'H-1', 'VPN down', 'open', $1, $1,"
                " 'agent:ingest') RETURNING id",
                NOW,
            )
            async with conn.transaction():
                await set_actor(conn, Actor("user:alice", model="gpt-4o", prompt_version="v2"))
                await conn.execute("UPDATE tickets SET status = 'closed' WHERE id = $1", ticket)
            times = await conn.fetch(
                "SELECT changed_at FROM ticket_changes WHERE ticket_id = $1 ORDER BY version",
                ticket,
            )
            return ticket, times[0]["changed_at"], times[1]["changed_at"]
        finally:
            await conn.close()

    return asyncio.run(go())


def test_history_commands_show_the_past_and_who_changed_it(settings: Settings) -> None:
    ticket, opened, closed = write_history(settings.database_url)
    between = (opened + (closed - opened) / 2).isoformat()

    done = run_cli(settings, "history", "show", "tickets", str(ticket), "--as-of", between)
    assert done.returncode == 0, done.stderr
    shown = orjson.loads(done.stdout)
    assert (shown["version"], shown["state"]["status"]) == (1, "open")

    done = run_cli(settings, "history", "show", "tickets", str(ticket))  # now
    assert orjson.loads(done.stdout)["state"]["status"] == "closed"

    before = (opened - timedelta(seconds=1)).isoformat()
    done = run_cli(settings, "history", "show", "tickets", str(ticket), "--as-of", before)
    assert done.returncode == 1
    assert "did not exist" in done.stderr

    done = run_cli(settings, "history", "versions", "tickets", str(ticket), "--json")
    assert done.returncode == 0, done.stderr
    listed = orjson.loads(done.stdout)
    assert [(v["version"], v["change_kind"], v["changed_by"]) for v in listed] == [
        (1, "insert", "agent:ingest"),
        (2, "update", "user:alice"),
    ]
    assert listed[1]["diff"] == {"status": {"old": "open", "new": "closed"}}
    assert (listed[1]["model"], listed[1]["prompt_version"]) == ("gpt-4o", "v2")

    done = run_cli(settings, "history", "versions", "tickets", str(ticket))
    assert done.returncode == 0, done.stderr
    assert "user:alice" in done.stdout and '"open" → "closed"' in done.stdout

    done = run_cli(
        settings, "history", "list", "tickets", "--as-of", between, "--where", "status=open"
    )
    assert done.returncode == 0, done.stderr
    assert [e["id"] for e in orjson.loads(done.stdout)["items"]] == [ticket]
    done = run_cli(settings, "history", "list", "tickets", "--where", "status=open")
    assert orjson.loads(done.stdout) == {"items": [], "next_after": None}


def test_history_commands_refuse_unknown_tables_and_bad_times(settings: Settings) -> None:
    done = run_cli(settings, "history", "show", "log_events", "1")
    assert done.returncode == 2
    assert "no history is kept for 'log_events'" in done.stderr
    assert "tickets" in done.stderr
    done = run_cli(settings, "history", "show", "tickets", "1", "--as-of", "2026-11-01T10:00")
    assert done.returncode == 2
    assert "no time zone" in done.stderr
    done = run_cli(settings, "history", "list", "tickets", "--where", "status")
    assert done.returncode == 2
    assert "is not field=value" in done.stderr
