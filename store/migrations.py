"""The migration runner: numbered plain-SQL files in ``migrations/``, applied in order, recorded
in ``migration_versions`` (version, name, checksum, phase, time).

A file is ``NNNN_name.sql``; its first lines may declare ``-- phase: expand|migrate|contract``
(default ``expand``). The phases make a schema change safe while two app versions run
(docs/schema-evolution.md):

- ``expand`` adds (columns, tables, triggers that keep old and new in step); the previous app
  version keeps working;
- ``migrate`` moves data. A migrate file may be *batched*: an ``-- @count`` and a ``-- @batch``
  section, the batch run again and again, each in its own transaction, with its position saved
  in ``migration_progress`` so that an interrupted run resumes where it stopped;
- ``contract`` removes what only the previous app version used. It is refused while a session
  of an older app version is connected to the database.

An app runs against a schema that has every expand and migrate migration it knows (pending
contract migrations are fine: it works before and after them), and also against a schema with
expand or migrate migrations it does not know (a newer app's expand is a superset); an applied
contract migration it does not know, or a changed file, stops it with a message saying so.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from importlib.resources.abc import Traversable

import asyncpg

from opsassist.store.errors import SchemaMismatch

# Package data, so that an installed wheel (the container image) has them, not only a checkout.
MIGRATIONS_DIR = resources.files("opsassist.migrations")
PHASES = ("expand", "migrate", "contract")
_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")
_PHASE = re.compile(r"^--\s*phase:\s*(expand|migrate|contract)\s*$", re.MULTILINE)
_SECTION = re.compile(r"^--\s*@(count|batch)\s*$", re.MULTILINE)
# Any constant works; it only has to be the same for every migrator of this project.
_LOCK_KEY = 0x6F70_7361
#: The ``application_name`` of the app's sessions: ``opsassist/<newest migration it knows>``.
#: Releases before schema phases named them plain ``opsassist``.
APP_NAME_PREFIX = "opsassist"

_CREATE_TABLE = """
CREATE TABLE IF NOT EXISTS migration_versions (
    version    integer PRIMARY KEY,
    name       text NOT NULL,
    checksum   text NOT NULL,
    phase      text NOT NULL CHECK (phase IN ('expand', 'migrate', 'contract')),
    applied_at timestamptz NOT NULL DEFAULT now()
)
"""
_CREATE_PROGRESS = """
CREATE TABLE IF NOT EXISTS migration_progress (
    version      integer PRIMARY KEY,
    last_key     text,
    rows_scanned bigint NOT NULL DEFAULT 0,
    rows_changed bigint NOT NULL DEFAULT 0,
    updated_at   timestamptz NOT NULL DEFAULT now()
)
"""
_SAVE_PROGRESS = """
INSERT INTO migration_progress (version, last_key, rows_scanned, rows_changed)
VALUES ($1, $2, $3, $4)
ON CONFLICT (version) DO UPDATE SET last_key = excluded.last_key,
    rows_scanned = excluded.rows_scanned, rows_changed = excluded.rows_changed, updated_at = now()
"""
# Sessions of an app that predates ``version``: named plain 'opsassist' (before schema phases)
# or 'opsassist/NNNN' with NNNN below it.
_OLDER_APP_SESSIONS = """
SELECT pid, application_name, coalesce(host(client_addr), 'local') AS client, backend_start
FROM pg_stat_activity
WHERE datname = current_database() AND pid <> pg_backend_pid()
  AND (application_name = $2
       OR (application_name ~ ('^' || $2 || '/[0-9]+$')
           AND split_part(application_name, '/', 2)::integer < $1))
ORDER BY backend_start
"""


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    phase: str
    sql: str
    checksum: str
    #: A batched migrate file: the statement counting the rows left, the one doing a batch.
    count_sql: str | None = None
    batch_sql: str | None = None

    @property
    def label(self) -> str:
        return f"{self.version:04d}_{self.name}"


@dataclass(frozen=True)
class BatchProgress:
    """Where a batched migration stands, after each batch."""

    migration: Migration
    rows_scanned: int
    rows_changed: int
    rows_total: int


Progress = Callable[[BatchProgress], None]


def _sections(path: Traversable, sql: str, phase: str) -> tuple[str | None, str | None]:
    parts = _SECTION.split(sql)
    if len(parts) == 1:
        return None, None
    sections = dict(zip(parts[1::2], (p.strip().rstrip(";") for p in parts[2::2]), strict=True))
    if phase != "migrate" or set(sections) != {"count", "batch"} or len(parts) != 5:
        raise SchemaMismatch(
            f"{path.name}: a batched migration is a migrate-phase file with exactly one "
            "'-- @count' and one '-- @batch' section"
        )
    return sections["count"], sections["batch"]


def load_migrations(directory: Traversable = MIGRATIONS_DIR) -> list[Migration]:
    found: list[Migration] = []
    files = (p for p in directory.iterdir() if p.is_file() and p.name.endswith(".sql"))
    for path in sorted(files, key=lambda p: p.name):
        match = _NAME.match(path.name)
        if match is None:
            raise SchemaMismatch(f"{path.name}: migration files are named NNNN_name.sql")
        sql = path.read_text()
        header = _PHASE.search("\n".join(sql.splitlines()[:5]))
        phase = header.group(1) if header else "expand"
        count_sql, batch_sql = _sections(path, sql, phase)
        found.append(
            Migration(
                version=int(match.group(1)),
                name=match.group(2),
                phase=phase,
                sql=sql,
                checksum=hashlib.sha256(sql.encode()).hexdigest(),
                count_sql=count_sql,
                batch_sql=batch_sql,
            )
        )
    versions = [m.version for m in found]
    if len(set(versions)) != len(versions):
        raise SchemaMismatch(f"two migration files share a version number in {directory}")
    return found


def app_session_name(migrations: list[Migration] | None = None) -> str:
    """The ``application_name`` this code's sessions carry: it tells a contract migration which
    schema this app version knows."""
    migrations = load_migrations() if migrations is None else migrations
    return f"{APP_NAME_PREFIX}/{max((m.version for m in migrations), default=0):04d}"


@dataclass(frozen=True)
class SchemaState:
    applied: list[int]
    pending: list[Migration]
    #: Applied migrations this code does not know (a newer app applied them): version -> phase.
    unknown: dict[int, str]


async def _state(conn: asyncpg.Connection, migrations: list[Migration]) -> SchemaState:
    exists = await conn.fetchval("SELECT to_regclass('migration_versions') IS NOT NULL")
    rows = (
        await conn.fetch(
            "SELECT version, name, checksum, phase FROM migration_versions ORDER BY version"
        )
        if exists
        else []
    )
    known = {m.version: m for m in migrations}
    unknown: dict[int, str] = {}
    for row in rows:
        migration = known.get(row["version"])
        if migration is None:
            unknown[row["version"]] = row["phase"]
            if row["phase"] == "contract":
                newest = max(known, default=0)
                raise SchemaMismatch(
                    f"The database has the contract migration {row['version']:04d}_{row['name']} "
                    f"applied, which this code does not know (it knows up to {newest:04d}): the "
                    "schema is newer than the app and no longer has what this version uses. Run "
                    "the newer version of the app, or restore a matching database."
                )
            continue
        if migration.checksum != row["checksum"]:
            raise SchemaMismatch(
                f"Migration {migration.label}.sql was changed after it was "
                "applied (checksum differs). Migrations are forward-only: restore the file and add "
                "a new migration for the change."
            )
    applied = {row["version"] for row in rows}
    return SchemaState(
        applied=sorted(applied),
        pending=[m for m in migrations if m.version not in applied],
        unknown=unknown,
    )


async def older_app_sessions(conn: asyncpg.Connection, version: int) -> list[asyncpg.Record]:
    """Sessions on this database of an app version that does not know migration ``version``."""
    return list(await conn.fetch(_OLDER_APP_SESSIONS, version, APP_NAME_PREFIX))


async def _refuse_contract_while_older_apps_run(
    conn: asyncpg.Connection, migration: Migration
) -> None:
    sessions = await older_app_sessions(conn, migration.version)
    if sessions:
        listed = ", ".join(
            f"{s['application_name']!r} from {s['client']} (pid {s['pid']})" for s in sessions[:5]
        )
        raise SchemaMismatch(
            f"{migration.label} is a contract migration: it removes what the previous app "
            f"version uses, and {len(sessions)} session(s) of such a version are connected: "
            f"{listed}. Finish the rollout of the new version (every worker and API), then run "
            "`opsassist migrate --phase contract` again."
        )


async def _apply_batched(
    conn: asyncpg.Connection, migration: Migration, batch_size: int, progress: Progress | None
) -> None:
    """Run a batched migration to its end, one transaction per batch, resuming where a previous
    run stopped; then record it."""
    assert migration.count_sql is not None and migration.batch_sql is not None
    await conn.execute(_CREATE_PROGRESS)
    saved = await conn.fetchrow(
        "SELECT last_key, rows_scanned, rows_changed FROM migration_progress WHERE version = $1",
        migration.version,
    )
    last_key: str | None = saved["last_key"] if saved else None
    scanned: int = saved["rows_scanned"] if saved else 0
    changed: int = saved["rows_changed"] if saved else 0
    total = scanned + int(await conn.fetchval(migration.count_sql, last_key))
    while True:
        async with conn.transaction():
            row = await conn.fetchrow(migration.batch_sql, last_key, batch_size)
            if row is None or row["last_key"] is None:
                await conn.execute(
                    "DELETE FROM migration_progress WHERE version = $1", migration.version
                )
                await _record(conn, migration)
                return
            last_key = str(row["last_key"])
            scanned += int(row["scanned"])
            changed += int(row["changed"])
            await conn.execute(_SAVE_PROGRESS, migration.version, last_key, scanned, changed)
        if progress is not None:
            progress(BatchProgress(migration, scanned, changed, max(total, scanned)))


async def _record(conn: asyncpg.Connection, migration: Migration) -> None:
    await conn.execute(
        "INSERT INTO migration_versions (version, name, checksum, phase) VALUES ($1, $2, $3, $4)",
        migration.version,
        migration.name,
        migration.checksum,
        migration.phase,
    )


async def migrate(
    database_url: str,
    migrations: list[Migration] | None = None,
    *,
    phase: str | None = None,
    batch_size: int = 1000,
    progress: Progress | None = None,
    on_blocked: Callable[[Migration, str], None] | None = None,
) -> list[Migration]:
    """Apply pending migrations in version order; return those applied. Safe to run
    concurrently (an advisory lock serializes migrators).

    ``phase`` applies the pending migrations of that phase and the phases before it:
    ``"migrate"`` is the deploy step and leaves contract migrations pending; ``"contract"``
    applies them too and raises :class:`SchemaMismatch` while an older app version is
    connected. Without ``phase``, everything is applied except contract migrations that an
    older app version still blocks: those stay pending and ``on_blocked`` hears why, so that a
    plain ``opsassist migrate`` during a rollout never fails the rollout.
    """
    if phase is not None and phase not in PHASES:
        raise ValueError(f"phase must be one of {PHASES}, got {phase!r}")
    migrations = load_migrations() if migrations is None else migrations
    conn = await asyncpg.connect(
        database_url, server_settings={"application_name": "opsassist-migrate"}
    )
    try:
        await conn.execute("SELECT pg_advisory_lock($1)", _LOCK_KEY)
        await conn.execute(_CREATE_TABLE)
        state = await _state(conn, migrations)
        last = PHASES.index(phase or "contract")
        chosen = [m for m in state.pending if PHASES.index(m.phase) <= last]
        blocked: set[int] = set()
        for migration in chosen:
            if migration.phase != "contract":
                continue
            try:
                await _refuse_contract_while_older_apps_run(conn, migration)
            except SchemaMismatch as exc:
                if phase is not None:
                    raise
                blocked.add(migration.version)
                if on_blocked is not None:
                    on_blocked(migration, str(exc))
        chosen = [m for m in chosen if m.version not in blocked]
        for migration in chosen:
            if migration.batch_sql is not None:
                await _apply_batched(conn, migration, batch_size, progress)
                continue
            async with conn.transaction():
                await conn.execute(migration.sql)
                await _record(conn, migration)
        return chosen
    finally:
        await conn.close()


async def check_schema(conn: asyncpg.Connection, migrations: list[Migration] | None = None) -> None:
    """Refuse to run against a schema this code cannot use: raise :class:`SchemaMismatch`."""
    migrations = load_migrations() if migrations is None else migrations
    state = await _state(conn, migrations)
    missing = [m for m in state.pending if m.phase != "contract"]
    if missing:
        names = ", ".join(f"{m.label} ({m.phase})" for m in missing)
        raise SchemaMismatch(
            f"The database lacks migrations {names}. Run `opsassist migrate` first."
        )
