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


# The checksums of the migrations that have shipped. The runner refuses to start on a database
# whose applied migration's file changed, so editing a shipped file (even a comment, as a
# search-and-replace of module paths once did) breaks every deployment that applied it.
# A new migration is added here once it ships.
SHIPPED = {
    1: "58c48797bce24e1b3a94a9596ac52f91164e79dc1bb797e15781d306b178df52",
    2: "34dcd58ac0925754cf8e3c967d8812032edf0b94f0e722ed9cf89ed4483f60d0",
    3: "caa66d39da1b615278a95e71b9e68d038d3bd607ef5a119e1c3917cbfcbcff85",
    4: "1f2830c995509678184c348e1d9179691b636c72e0dd47a5c35ea7f41e6c81db",
    5: "a4b808ee13c0ccc61ff221c06dde2e20611ae9fca6655b8f6aa15611864c14b6",
    6: "ce88e9ff41560f001f3fca62aa0cb2e3b536b7324f055e3a0fe67fd7df1c41be",
    7: "36c2574b05646a393a8b0c55c12ed95f22de807c2955c3ca4b63e49a6c41f58a",
    8: "043fbbd0af2af50bdc41c8297085204ed261b7e4e894bc89c6da259a0ce2fbab",
    9: "95a5221d7e2d65ab994fa5d944277b5239bc38ffbef044a04a40c09134161113",
    10: "4fa4e2ffdb644d0ccdf9e337ae2511f7fdc8606c3f2a26115b43e4136b6f70ae",
    11: "1d4eea8f39f48633ac03abc0b21b703c401e280551172f7c8d1360a2cf3846fa",
    12: "84ca7c9ee000623174133c677abbc65d274e87d388379e807bcbf3cd22c5baf4",
    13: "0f1a6ea4752564b6d91ff67d62a0c50c17412d8761f57cf77798ad72bbe557b6",
    14: "c480cd3e213a9253d5de199b3102043dd5e8be33dac77e3e1bd7d9f47289d3c7",
    15: "7e4bce96ecd7c6b6c92d5191e1c744b23abcd6368a2faf6e8a29901ad682f90d",
    16: "0575b8921e9fc59583c95e33857ef8cba820b901b89aacc445e3ae6f7eb05c63",
    17: "567bcc1ab52a7151a0e1168d5d8f01f194c627feedffe9c3360d98b2e7d8c524",
}


def test_no_shipped_migration_file_changes() -> None:
    current = {m.version: m.checksum for m in load_migrations()}
    changed = sorted(v for v, checksum in SHIPPED.items() if current.get(v) != checksum)
    assert changed == []
