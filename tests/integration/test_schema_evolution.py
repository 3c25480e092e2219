"""The reporter rename carried through expand → migrate → contract on a real PostgreSQL: the
previous app version's SQL (kept as a fixture) keeps working while both versions run, the
backfill goes in resumable batches, and the contract step waits for the old version to be gone."""

from __future__ import annotations

import asyncio
import re
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import orjson
import pytest

from opsassist.schemas import TicketEvent, TicketPayloadV2
from opsassist.settings import Settings
from opsassist.store.errors import SchemaMismatch
from opsassist.store.migrations import BatchProgress, check_schema, load_migrations, migrate
from opsassist.store.pool import create_pool
from opsassist.store.sink import EventSink, Origin, ticket_row
from tests.conftest import run_cli

pytestmark = pytest.mark.integration

FIXTURE = Path(__file__).parents[1] / "fixtures" / "schema" / "tickets_before_reporter_rename.sql"
T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


class Interrupted(Exception):
    """Stands for a migrator killed between two batches."""


def old_app_queries() -> dict[str, str]:
    parts = re.split(r"^-- name: (\w+)$", FIXTURE.read_text(), flags=re.MULTILINE)
    pairs = zip(parts[1::2], parts[2::2], strict=True)
    return {name: sql.strip().rstrip(";") for name, sql in pairs}


OLD = old_app_queries()


async def old_app_write(conn: asyncpg.Connection, key: str, reporter: str | None, n: int) -> None:
    """One ticket event written exactly as the previous app version writes it."""
    updated = T0 + timedelta(minutes=n)
    row: tuple[Any, ...] = (
        f"old-{key}-{n}", "jira", key, f"Ticket {key}", "body", reporter, "open", [],
        T0, updated, orjson.dumps({"external_id": key}).decode(), "test", None, updated, None,
        "ops.tickets.raw", 0, n,
        None, None, None, None, None, False, None, None, None,
    )  # fmt: skip
    async with conn.transaction():
        await conn.execute(OLD["stage_tickets"])
        await conn.copy_records_to_table("_stage_tickets", records=[row])
        await conn.execute(OLD["move_tickets"], "agent:old-app")


async def old_app_read(conn: asyncpg.Connection, key: str) -> asyncpg.Record:
    row = await conn.fetchrow(OLD["read_ticket"], "jira", key)
    assert row is not None
    return row


def new_event(key: str, reporter_id: str | None, n: int) -> TicketEvent:
    updated = T0 + timedelta(minutes=n)
    return TicketEvent(
        id=f"new-{key}-{n}",
        schema_version=2,
        source="test",
        occurred_at=updated,
        payload=TicketPayloadV2(
            external_id=key,
            source_system="jira",
            title=f"Ticket {key}",
            reporter_id=reporter_id,
            status="open",
            created_at=T0,
            updated_at=updated,
        ),
    )


async def columns(conn: asyncpg.Connection) -> dict[str, tuple[str | None, str | None]]:
    rows = await conn.fetch("SELECT external_id, reporter, reporter_id FROM tickets")
    return {r["external_id"]: (r["reporter"], r["reporter_id"]) for r in rows}


def test_the_reporter_rename_rolls_out_while_both_app_versions_run(
    empty_database_url: str,
) -> None:
    url = empty_database_url
    everything = load_migrations()

    async def run() -> None:
        await migrate(url, [m for m in everything if m.version < 10])  # the previous release
        conn = await asyncpg.connect(url)
        try:
            before = [("OPS-1", "ana"), ("OPS-2", None), ("OPS-3", "bob"), ("OPS-4", "cy"),
                      ("OPS-5", "di")]  # fmt: skip
            for n, (key, reporter) in enumerate(before):
                await old_app_write(conn, key, reporter, n)

            # expand: the old version's writes and reads still work, and fill the new column
            applied = await migrate(url, phase="expand")
            # 0010, and the later expand steps of other features; no migrate or contract step
            assert applied[0].label == "0010_ticket_reporter_id_expand"
            assert {m.phase for m in applied} == {"expand"}
            await old_app_write(conn, "OPS-6", "eve", 10)
            await conn.execute(OLD["update_reporter"], "jira", "OPS-1", "ana.k")
            assert (await old_app_read(conn, "OPS-1"))["reporter"] == "ana.k"
            state = await columns(conn)
            assert state["OPS-6"] == ("eve", "eve")
            assert state["OPS-1"] == ("ana.k", "ana.k")
            assert state["OPS-3"] == ("bob", None)  # written before expand: not yet backfilled
            with pytest.raises(SchemaMismatch, match="0011_ticket_reporter_id_backfill"):
                await check_schema(conn)  # the new version does not start before the backfill

            # migrate: batches of 2, interrupted after the first, resumed where it stopped
            seen: list[BatchProgress] = []

            def interrupt(step: BatchProgress) -> None:
                seen.append(step)
                raise Interrupted

            with pytest.raises(Interrupted):
                await migrate(url, phase="migrate", batch_size=2, progress=interrupt)
            assert [(s.rows_scanned, s.rows_total) for s in seen] == [(2, 6)]
            resumed = await migrate(url, phase="migrate", batch_size=2, progress=seen.append)
            # 0011, then the later migrate steps of other features (0016 forgets clear keys)
            assert resumed[0].label == "0011_ticket_reporter_id_backfill"
            assert {m.phase for m in resumed} == {"migrate"}
            assert [(s.rows_scanned, s.rows_total) for s in seen[1:]] == [(4, 6), (6, 6)]
            assert seen[-1].rows_changed == 3  # OPS-3, 4, 5; OPS-2 has no reporter
            state = await columns(conn)
            assert all(reporter == reporter_id for reporter, reporter_id in state.values())
            backfilled = await conn.fetchrow(
                "SELECT c.changed_by, c.delta FROM ticket_changes c JOIN tickets t "
                "ON t.id = c.ticket_id WHERE t.external_id = 'OPS-3' ORDER BY c.version DESC"
            )
            assert backfilled["changed_by"] == "migration:0011_ticket_reporter_id_backfill"
            assert "reporter_id" in backfilled["delta"]
            await check_schema(conn)  # the new version may start: only the contract is pending

            # both versions run: each sees the other's writes
            pool = await create_pool(url)
            try:
                sink = EventSink(pool, changed_by="agent:new-app")
                origin = Origin("ops.tickets.raw", 0, 100)
                await sink.write_tickets([ticket_row(new_event("OPS-7", "fay", 20), origin)])
                await sink.write_tickets([ticket_row(new_event("OPS-3", "bob.r", 21), origin)])
                assert (await old_app_read(conn, "OPS-7"))["reporter"] == "fay"
                assert (await old_app_read(conn, "OPS-3"))["reporter"] == "bob.r"
                await old_app_write(conn, "OPS-8", "gus", 30)
                assert (await columns(conn))["OPS-8"] == ("gus", "gus")

                # contract: refused while a session of the previous version is connected
                old_app = await asyncpg.connect(
                    url, server_settings={"application_name": "opsassist"}
                )
                try:
                    with pytest.raises(SchemaMismatch, match="'opsassist' from"):
                        await migrate(url, phase="contract")
                    # without a phase it applies what is safe and leaves the contract pending
                    heard: list[str] = []
                    assert await migrate(url, on_blocked=lambda m, why: heard.append(why)) == []
                    assert len(heard) == 1
                    assert "0012_ticket_reporter_id_contract is a contract migration" in heard[0]
                finally:
                    await old_app.close()
                older = await asyncpg.connect(
                    url, server_settings={"application_name": "opsassist/0009"}
                )
                try:
                    with pytest.raises(SchemaMismatch, match="opsassist/0009"):
                        await migrate(url, phase="contract")
                finally:
                    await older.close()
                # the new version's own sessions (the pool, still open) do not block it
                contracted = await migrate(url, phase="contract")
                assert [m.label for m in contracted] == ["0012_ticket_reporter_id_contract"]

                await sink.write_tickets([ticket_row(new_event("OPS-9", "hal", 40), origin)])
                rows = await conn.fetch("SELECT external_id, reporter_id FROM tickets")
                assert {r["external_id"]: r["reporter_id"] for r in rows} == {
                    "OPS-1": "ana.k", "OPS-2": None, "OPS-3": "bob.r", "OPS-4": "cy",
                    "OPS-5": "di", "OPS-6": "eve", "OPS-7": "fay", "OPS-8": "gus", "OPS-9": "hal",
                }  # fmt: skip
                with pytest.raises(asyncpg.UndefinedColumnError):
                    await old_app_read(conn, "OPS-1")
                phases = await conn.fetch(
                    "SELECT version, phase FROM migration_versions WHERE version BETWEEN 10 AND 12 "
                    "ORDER BY version"
                )
                assert [(r["version"], r["phase"]) for r in phases] == [
                    (10, "expand"), (11, "migrate"), (12, "contract")
                ]  # fmt: skip
            finally:
                await pool.close()
        finally:
            await conn.close()

    asyncio.run(run())


def test_the_contract_step_refuses_while_a_ticket_was_not_backfilled(
    empty_database_url: str,
) -> None:
    url = empty_database_url
    everything = load_migrations()

    async def run() -> None:
        await migrate(url, [m for m in everything if m.version < 11])
        conn = await asyncpg.connect(url)
        try:
            await old_app_write(conn, "OPS-1", "ana", 1)
            # a write that bypasses the trigger (as a bulk load with triggers off would)
            await conn.execute("ALTER TABLE tickets DISABLE TRIGGER tickets_reporter_dual_write")
            await conn.execute("UPDATE tickets SET reporter_id = 'someone-else'")
            await conn.execute("ALTER TABLE tickets ENABLE TRIGGER tickets_reporter_dual_write")
            contract = [m for m in everything if m.version in (10, 12)]
            with pytest.raises(asyncpg.RaiseError, match="run the backfill"):
                await migrate(url, contract)
            assert await conn.fetchval("SELECT count(*) FROM tickets WHERE reporter IS NULL") == 0
        finally:
            await conn.close()

    asyncio.run(run())


def test_opsassist_migrate_goes_phase_by_phase_with_progress_and_names_what_blocks_contract(
    settings: Settings, empty_database_url: str
) -> None:
    local = settings.model_copy(update={"database_url": empty_database_url})
    everything = load_migrations()

    async def legacy_tickets() -> None:
        await migrate(empty_database_url, [m for m in everything if m.version < 10])
        conn = await asyncpg.connect(empty_database_url)
        try:
            for n, key in enumerate(("OPS-1", "OPS-2", "OPS-3")):
                await old_app_write(conn, key, f"{key.lower()}@example.com", n)
        finally:
            await conn.close()

    asyncio.run(legacy_tickets())
    expand = run_cli(local, "migrate", "--phase", "expand")
    assert expand.returncode == 0, expand.stderr
    assert "applied 0010_ticket_reporter_id_expand (expand)" in expand.stderr
    assert "0011" not in expand.stderr

    backfill = run_cli(local, "migrate", "--phase", "migrate", "--batch-size", "2")
    assert backfill.returncode == 0, backfill.stderr
    assert "0011_ticket_reporter_id_backfill: 2/3 rows (67%), 2 changed" in backfill.stderr
    assert "0011_ticket_reporter_id_backfill: 3/3 rows (100%), 3 changed" in backfill.stderr
    assert "applied 0011_ticket_reporter_id_backfill (migrate)" in backfill.stderr
    assert "0012" not in backfill.stderr

    async def with_old_app_connected(*args: str) -> subprocess.CompletedProcess[str]:
        old_app = await asyncpg.connect(
            empty_database_url, server_settings={"application_name": "opsassist"}
        )
        try:
            return await asyncio.to_thread(run_cli, local, *args)
        finally:
            await old_app.close()

    blocked = asyncio.run(with_old_app_connected("migrate", "--phase", "contract"))
    assert blocked.returncode == 1
    assert "0012_ticket_reporter_id_contract is a contract migration" in blocked.stderr
    assert "1 session(s)" in blocked.stderr
    # a plain `opsassist migrate` (a deploy job) does not fail the rollout: it leaves it pending
    plain = asyncio.run(with_old_app_connected("migrate"))
    assert plain.returncode == 0, plain.stderr
    assert "left pending: 0012_ticket_reporter_id_contract is a contract migration" in plain.stderr
    assert "Nothing to apply. 1 contract migration(s) left pending." in plain.stderr

    contract = run_cli(local, "migrate", "--phase", "contract")
    assert contract.returncode == 0, contract.stderr
    assert "applied 0012_ticket_reporter_id_contract (contract)" in contract.stderr
    assert run_cli(local, "migrate").stderr.strip().endswith("Schema is up to date.")
