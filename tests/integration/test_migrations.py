"""The migration runner against a real PostgreSQL: each migration once, in its own transaction,
recorded with its checksum and phase; a changed file or a newer schema stops the app."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import asyncpg
import pytest

from opsassist.settings import PROJECT_ROOT
from opsassist.store.errors import SchemaMismatch
from opsassist.store.migrations import check_schema, load_migrations, migrate
from tests.conftest import settings_env

pytestmark = pytest.mark.integration


async def _check(url: str, directory: Path) -> None:
    conn = await asyncpg.connect(url)
    try:
        await check_schema(conn, load_migrations(directory))
    finally:
        await conn.close()


def write(directory: Path, name: str, sql: str) -> None:
    (directory / name).write_text(sql)


def test_migrations_apply_once_each_and_are_recorded(database_url: str) -> None:
    async def run() -> list[asyncpg.Record]:
        assert await migrate(database_url) == []  # the template is already migrated
        conn = await asyncpg.connect(database_url)
        try:
            return await conn.fetch(
                "SELECT version, name, checksum, phase, applied_at "
                "FROM migration_versions ORDER BY version"
            )
        finally:
            await conn.close()

    rows = asyncio.run(run())
    expected = load_migrations()
    assert [(r["version"], r["name"], r["checksum"], r["phase"]) for r in rows] == [
        (m.version, m.name, m.checksum, m.phase) for m in expected
    ]


def test_a_failing_migration_leaves_nothing_behind(empty_database_url: str, tmp_path: Path) -> None:
    write(tmp_path, "0001_ok.sql", "CREATE TABLE a (x int);")
    write(tmp_path, "0002_broken.sql", "CREATE TABLE b (x int); SELECT no_such_function();")
    with pytest.raises(asyncpg.UndefinedFunctionError):
        asyncio.run(migrate(empty_database_url, load_migrations(tmp_path)))

    async def tables() -> set[str]:
        conn = await asyncpg.connect(empty_database_url)
        try:
            rows = await conn.fetch("SELECT tablename FROM pg_tables WHERE tablename IN ('a','b')")
            return {r["tablename"] for r in rows}
        finally:
            await conn.close()

    # 0001 committed on its own; 0002 rolled back whole, its table too
    assert asyncio.run(tables()) == {"a"}


def test_a_migration_changed_after_it_was_applied_stops_the_app(
    empty_database_url: str, tmp_path: Path
) -> None:
    write(tmp_path, "0001_first.sql", "CREATE TABLE t1 (x int);")
    asyncio.run(migrate(empty_database_url, load_migrations(tmp_path)))
    write(tmp_path, "0001_first.sql", "CREATE TABLE t1 (x bigint);")
    with pytest.raises(SchemaMismatch, match="changed after it was applied"):
        asyncio.run(_check(empty_database_url, tmp_path))
    with pytest.raises(SchemaMismatch, match="changed after it was applied"):
        asyncio.run(migrate(empty_database_url, load_migrations(tmp_path)))


def test_a_schema_newer_than_the_code_stops_the_app_once_a_newer_contract_ran(
    empty_database_url: str, tmp_path: Path
) -> None:
    write(tmp_path, "0001_first.sql", "CREATE TABLE t1 (x int);")
    write(tmp_path, "0002_second.sql", "-- phase: expand\nCREATE TABLE t2 (x int);")
    write(tmp_path, "0003_third.sql", "-- phase: migrate\nINSERT INTO t2 VALUES (1);")
    asyncio.run(migrate(empty_database_url, load_migrations(tmp_path)))
    older = tmp_path / "older"
    older.mkdir()
    write(older, "0001_first.sql", "CREATE TABLE t1 (x int);")
    # a newer app's expand and migrate steps leave a schema the older app still runs on
    asyncio.run(_check(empty_database_url, older))
    write(tmp_path, "0004_fourth.sql", "-- phase: contract\nDROP TABLE t1;")
    asyncio.run(migrate(empty_database_url, load_migrations(tmp_path)))
    with pytest.raises(SchemaMismatch, match="newer than the app"):
        asyncio.run(_check(empty_database_url, older))


def test_an_app_runs_before_its_contract_migrations_but_not_before_its_expand_ones(
    empty_database_url: str, tmp_path: Path
) -> None:
    write(tmp_path, "0001_first.sql", "CREATE TABLE t1 (x int);")
    write(tmp_path, "0002_more.sql", "-- phase: expand\nCREATE TABLE t2 (x int);")
    write(tmp_path, "0003_drop.sql", "-- phase: contract\nDROP TABLE t1;")
    applied = asyncio.run(migrate(empty_database_url, load_migrations(tmp_path), phase="expand"))
    assert [m.label for m in applied] == ["0001_first", "0002_more"]
    asyncio.run(_check(empty_database_url, tmp_path))  # 0003 pending: fine
    write(tmp_path, "0004_later.sql", "-- phase: expand\nCREATE TABLE t4 (x int);")
    with pytest.raises(SchemaMismatch, match="lacks migrations 0004_later"):
        asyncio.run(_check(empty_database_url, tmp_path))
    # --phase migrate applies the later expand step and leaves the contract step pending
    applied = asyncio.run(migrate(empty_database_url, load_migrations(tmp_path), phase="migrate"))
    assert [m.label for m in applied] == ["0004_later"]
    applied = asyncio.run(migrate(empty_database_url, load_migrations(tmp_path)))
    assert [m.label for m in applied] == ["0003_drop"]


def test_the_worker_refuses_to_start_on_a_database_that_lacks_migrations(settings) -> None:  # type: ignore[no-untyped-def]
    async def drop_record() -> None:
        conn = await asyncpg.connect(settings.database_url)
        try:
            await conn.execute("DELETE FROM migration_versions")
        finally:
            await conn.close()

    asyncio.run(drop_record())
    done = subprocess.run(
        [sys.executable, "-m", "opsassist", "worker"],
        env=settings_env(settings),
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=PROJECT_ROOT,
    )
    assert done.returncode == 1
    assert "opsassist migrate" in done.stderr
