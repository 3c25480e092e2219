"""The migration runner: numbered plain-SQL files in ``migrations/``, applied in order, each in
its own transaction, recorded in ``migration_versions`` (version, name, checksum, phase, time).

A file is ``NNNN_name.sql``; its first lines may declare ``-- phase: expand|migrate|contract``
(default ``expand``). An applied file whose text changed, or a database that has versions this
code does not know (a newer app migrated it), stops the app with a message saying so.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

import asyncpg

from opsassist.settings import PROJECT_ROOT
from store.errors import SchemaMismatch

MIGRATIONS_DIR = PROJECT_ROOT / "migrations"
_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")
_PHASE = re.compile(r"^--\s*phase:\s*(expand|migrate|contract)\s*$", re.MULTILINE)
# Any constant works; it only has to be the same for every migrator of this project.
_LOCK_KEY = 0x6F70_7361

_CREATE_TABLE = """
CREATE TABLE IF NOT EXISTS migration_versions (
    version    integer PRIMARY KEY,
    name       text NOT NULL,
    checksum   text NOT NULL,
    phase      text NOT NULL CHECK (phase IN ('expand', 'migrate', 'contract')),
    applied_at timestamptz NOT NULL DEFAULT now()
)
"""


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    phase: str
    sql: str
    checksum: str


def load_migrations(directory: Path = MIGRATIONS_DIR) -> list[Migration]:
    found: list[Migration] = []
    for path in sorted(directory.glob("*.sql")):
        match = _NAME.match(path.name)
        if match is None:
            raise SchemaMismatch(f"{path.name}: migration files are named NNNN_name.sql")
        sql = path.read_text()
        phase = _PHASE.search("\n".join(sql.splitlines()[:5]))
        found.append(
            Migration(
                version=int(match.group(1)),
                name=match.group(2),
                phase=phase.group(1) if phase else "expand",
                sql=sql,
                checksum=hashlib.sha256(sql.encode()).hexdigest(),
            )
        )
    versions = [m.version for m in found]
    if len(set(versions)) != len(versions):
        raise SchemaMismatch(f"two migration files share a version number in {directory}")
    return found


@dataclass(frozen=True)
class SchemaState:
    applied: list[int]
    pending: list[Migration]


async def _state(conn: asyncpg.Connection, migrations: list[Migration]) -> SchemaState:
    exists = await conn.fetchval("SELECT to_regclass('migration_versions') IS NOT NULL")
    rows = (
        await conn.fetch("SELECT version, name, checksum FROM migration_versions ORDER BY version")
        if exists
        else []
    )
    known = {m.version: m for m in migrations}
    for row in rows:
        migration = known.get(row["version"])
        if migration is None:
            newest = max(known, default=0)
            raise SchemaMismatch(
                f"The database has migration {row['version']:04d}_{row['name']} applied, which "
                f"this code does not know (it knows up to {newest:04d}): the schema is newer "
                "than the app. Run the newer version of the app, or restore a matching database."
            )
        if migration.checksum != row["checksum"]:
            raise SchemaMismatch(
                f"Migration {migration.version:04d}_{migration.name}.sql was changed after it was "
                "applied (checksum differs). Migrations are forward-only: restore the file and add "
                "a new migration for the change."
            )
    applied = {row["version"] for row in rows}
    return SchemaState(
        applied=sorted(applied), pending=[m for m in migrations if m.version not in applied]
    )


async def migrate(database_url: str, migrations: list[Migration] | None = None) -> list[Migration]:
    """Apply the pending migrations; return those applied. Safe to run concurrently."""
    migrations = load_migrations() if migrations is None else migrations
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute("SELECT pg_advisory_lock($1)", _LOCK_KEY)
        await conn.execute(_CREATE_TABLE)
        state = await _state(conn, migrations)
        for migration in state.pending:
            async with conn.transaction():
                await conn.execute(migration.sql)
                await conn.execute(
                    "INSERT INTO migration_versions (version, name, checksum, phase)"
                    " VALUES ($1, $2, $3, $4)",
                    migration.version,
                    migration.name,
                    migration.checksum,
                    migration.phase,
                )
        return state.pending
    finally:
        await conn.close()


async def check_schema(conn: asyncpg.Connection, migrations: list[Migration] | None = None) -> None:
    """Refuse to run against a schema this code does not know: raise :class:`SchemaMismatch`."""
    migrations = load_migrations() if migrations is None else migrations
    state = await _state(conn, migrations)
    if state.pending:
        names = ", ".join(f"{m.version:04d}_{m.name}" for m in state.pending)
        raise SchemaMismatch(
            f"The database lacks migrations {names}. Run `opsassist migrate` first."
        )
