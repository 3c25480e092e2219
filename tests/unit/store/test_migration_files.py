"""The migration files themselves: names, phases, checksums (the runner against a real server
is tested in tests/integration/test_migrations.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from store.errors import SchemaMismatch
from store.migrations import MIGRATIONS_DIR, load_migrations


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
