"""The migration files themselves: names, phases, checksums (the runner against a real server
is tested in tests/integration/test_migrations.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from opsassist.store.errors import SchemaMismatch
from opsassist.store.migrations import MIGRATIONS_DIR, load_migrations


def test_the_project_migrations_load_in_order_with_phases() -> None:
    migrations = load_migrations()
    assert migrations, f"no migrations found in {MIGRATIONS_DIR}"
    assert [m.version for m in migrations] == sorted(m.version for m in migrations)
    assert {m.phase for m in migrations} <= {"expand", "migrate", "contract"}


def test_phase_is_read_from_the_header_and_defaults_to_expand(tmp_path: Path) -> None:
    (tmp_path / "0001_a.sql").write_text("-- phase: contract\nSELECT 1;\n")
    (tmp_path / "0002_b.sql").write_text("SELECT 2;\n")
    a, b = load_migrations(tmp_path)
    assert (a.version, a.name, a.phase) == (1, "a", "contract")
    assert (b.version, b.name, b.phase) == (2, "b", "expand")
    assert a.checksum != b.checksum


@pytest.mark.parametrize("files", [["1_bad.sql"], ["0001_a.sql", "0001_b.sql"], ["0001_A.sql"]])
def test_badly_named_or_duplicate_migrations_are_refused(tmp_path: Path, files: list[str]) -> None:
    for name in files:
        (tmp_path / name).write_text("SELECT 1;")
    with pytest.raises(SchemaMismatch):
        load_migrations(tmp_path)


def test_a_batched_migration_has_a_count_and_a_batch_section(tmp_path: Path) -> None:
    (tmp_path / "0001_fill.sql").write_text(
        "-- phase: migrate\n-- @count\nSELECT 1;\n-- @batch\nSELECT NULL AS last_key;\n"
    )
    (fill,) = load_migrations(tmp_path)
    assert (fill.count_sql, fill.batch_sql) == ("SELECT 1", "SELECT NULL AS last_key")


@pytest.mark.parametrize(
    "sql",
    [
        "-- phase: expand\n-- @count\nSELECT 1;\n-- @batch\nSELECT 2;\n",  # not a migrate file
        "-- phase: migrate\n-- @batch\nSELECT 2;\n",  # no count
        "-- phase: migrate\n-- @count\nSELECT 1;\n-- @batch\nSELECT 2;\n-- @batch\nSELECT 3;\n",
    ],
)
def test_a_malformed_batched_migration_is_refused(tmp_path: Path, sql: str) -> None:
    (tmp_path / "0001_fill.sql").write_text(sql)
    with pytest.raises(SchemaMismatch, match="batched migration"):
        load_migrations(tmp_path)


def test_the_reporter_rename_is_expand_migrate_contract() -> None:
    phases = {m.version: (m.phase, m.batch_sql is not None) for m in load_migrations()}
    assert phases[10] == ("expand", False)
    assert phases[11] == ("migrate", True)
    assert phases[12] == ("contract", False)
