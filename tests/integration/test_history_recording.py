"""History is written by the database on every kind of change, with who made it, and no DML can
skip or rewrite it: tried here as the superuser the app connects as locally, and as a role that
only has DML rights (what production should use). docs/history.md lists what each attempt does."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import asyncpg
import orjson
import pytest

from opsassist.infra.postgres import DB_USER
from opsassist.store.history import Actor, FieldChange, as_of, set_actor, versions
from opsassist.store.migrations import load_migrations, migrate

pytestmark = pytest.mark.integration

NOW = datetime(2026, 11, 1, tzinfo=UTC)
TICKET = """
INSERT INTO tickets (source_system, external_id, title, status, created_at, updated_at, changed_by)
VALUES ('jira', $1, $2, 'open', $3, $3, 'agent:ingest') RETURNING id
"""


@contextlib.asynccontextmanager
async def connect(url: str, **kwargs: Any) -> AsyncIterator[asyncpg.Connection]:
    conn = await asyncpg.connect(url, **kwargs)
    try:
        yield conn
    finally:
        await conn.close()


def run(url: str, body: Callable[[asyncpg.Connection], Awaitable[Any]], **kwargs: Any) -> Any:
    async def go() -> Any:
        async with connect(url, **kwargs) as conn:
            return await body(conn)

    return asyncio.run(go())


async def changes(conn: asyncpg.Connection, ticket_id: int) -> list[dict[str, Any]]:
    rows = await conn.fetch(
        "SELECT * FROM ticket_changes WHERE ticket_id = $1 ORDER BY version", ticket_id
    )
    return [
        {**dict(r), "delta": orjson.loads(r["delta"]), "state": orjson.loads(r["state"] or "null")}
        for r in rows
    ]


async def row_json(conn: asyncpg.Connection, ticket_id: int) -> dict[str, Any]:
    text = await conn.fetchval("SELECT to_jsonb(t)::text FROM tickets t WHERE id = $1", ticket_id)
    return dict(orjson.loads(text))


def test_every_kind_of_change_is_recorded_with_its_actor_and_delta(database_url: str) -> None:
    async def body(conn: asyncpg.Connection) -> None:
        ticket = await conn.fetchval(TICKET, "A-1", "Printer on fire", NOW)
        other = await conn.fetchval(TICKET, "A-2", "Disk full", NOW)
        async with conn.transaction():  # an agent's update, with its model and prompt
            await set_actor(conn, Actor("agent:triage", model="gpt-4o-mini", prompt_version="v3"))
            await conn.execute("UPDATE tickets SET priority = 'p1' WHERE id = $1", ticket)
        # an upsert as the sink writes it; a multi-row UPDATE; MERGE; COPY; DELETE
        await conn.execute(
            """INSERT INTO tickets (source_system, external_id, title, status, created_at,
                                    updated_at, changed_by)
               VALUES ('jira', 'A-1', 'Printer on fire', 'pending', $1, $1, 'agent:ingest')
               ON CONFLICT (source_system, external_id) DO UPDATE
               SET status = excluded.status, changed_by = excluded.changed_by""",
            NOW,
        )
        async with conn.transaction():
            await set_actor(conn, Actor("user:alice"))
            await conn.execute(
                "UPDATE tickets SET team = 'ops' WHERE id = ANY($1)", [ticket, other]
            )
        await conn.execute(
            """MERGE INTO tickets t USING (VALUES ($1::bigint)) s(id) ON t.id = s.id
               WHEN MATCHED THEN UPDATE SET labels = ARRAY['merged']""",
            ticket,
        )
        await conn.copy_records_to_table(
            "tickets",
            records=[("zendesk", "Z-9", "Copied in", "open", NOW, NOW, "agent:copy")],
            columns=["source_system", "external_id", "title", "status", "created_at",
                     "updated_at", "changed_by"],
        )  # fmt: skip
        last_state = await row_json(conn, ticket)
        await conn.execute("DELETE FROM tickets WHERE id = $1", ticket)

        history = await changes(conn, ticket)
        assert [(c["version"], c["change_kind"], c["changed_by"], c["delta"]) for c in history] == [
            (1, "insert", "agent:ingest", history[0]["delta"]),
            (2, "update", "agent:triage", {"priority": "p1"}),
            (3, "update", "agent:ingest", {"status": "pending"}),
            (4, "update", "user:alice", {"team": "ops"}),
            # MERGE names no actor and leaves changed_by as it was: the row's stays recorded
            # (docs/history.md); db_user and application_name still say which client it was
            (5, "update", "user:alice", {"labels": ["merged"]}),
            (6, "delete", "db:opsassist", {}),
        ]
        assert history[0]["delta"]["title"] == "Printer on fire"
        assert "version" not in history[0]["delta"]  # bookkeeping is not part of a delta
        assert (history[1]["model"], history[1]["prompt_version"]) == ("gpt-4o-mini", "v3")
        assert all(c["model"] is None for c in history[2:])  # SET LOCAL ended with its transaction
        assert {c["db_user"] for c in history} == {"opsassist"}
        assert {c["application_name"] for c in history} == {"history-test"}
        assert history[4]["state"] == last_state  # the full state after the change
        assert history[5]["state"] is None  # gone
        assert len({c["transaction_id"] for c in history}) == len(history)
        # the same transaction's change of the other ticket carries the same transaction id
        other_history = await changes(conn, other)
        assert other_history[1]["transaction_id"] == history[3]["transaction_id"]
        copied = await conn.fetchval("SELECT id FROM tickets WHERE external_id = 'Z-9'")
        assert [(c["change_kind"], c["changed_by"]) for c in await changes(conn, copied)] == [
            ("insert", "agent:copy")
        ]
        # the row itself says who changed it last, as history does
        assert await conn.fetchval("SELECT changed_by FROM tickets WHERE id = $1", other) == (
            "user:alice"
        )

    run(database_url, body, server_settings={"application_name": "history-test"})


def test_a_multi_row_update_records_one_version_per_row(database_url: str) -> None:
    async def body(conn: asyncpg.Connection) -> None:
        ids = [await conn.fetchval(TICKET, f"M-{i}", f"t{i}", NOW) for i in range(50)]
        await conn.execute("UPDATE tickets SET status = 'closed' WHERE external_id LIKE 'M-%'")
        counts = await conn.fetch(
            "SELECT ticket_id, count(*) AS n, max(version) AS v FROM ticket_changes "
            "GROUP BY ticket_id ORDER BY ticket_id"
        )
        assert [(r["ticket_id"], r["n"], r["v"]) for r in counts] == [(i, 2, 2) for i in ids]

    run(database_url, body)


def test_history_of_changelog_releases_is_kept_the_same_way(database_url: str) -> None:
    async def body(conn: asyncpg.Connection) -> None:
        release = await conn.fetchval(
            """INSERT INTO changelog_releases (repo, tag, bump, commit_count, content, markdown,
                                               changed_by)
               VALUES ('r', 'v1', 'minor', 1, '{}', '# v1', 'agent:changelog') RETURNING id"""
        )
        async with conn.transaction():
            await set_actor(conn, Actor("agent:changelog", model="m", prompt_version="polish-2"))
            await conn.execute("UPDATE changelog_releases SET markdown = '# v1!' WHERE id = $1",
                               release)  # fmt: skip
        rows = await conn.fetch(
            "SELECT version, change_kind, delta::text, model, prompt_version "
            "FROM changelog_release_changes WHERE release_id = $1 ORDER BY version",
            release,
        )
        assert [(r["version"], r["change_kind"]) for r in rows] == [(1, "insert"), (2, "update")]
        assert orjson.loads(rows[1]["delta"]) == {"markdown": "# v1!"}
        assert (rows[1]["model"], rows[1]["prompt_version"]) == ("m", "polish-2")
        # history references the release: deleting it is refused, so no history is orphaned
        with pytest.raises(asyncpg.ForeignKeyViolationError):
            await conn.execute("DELETE FROM changelog_releases WHERE id = $1", release)

    run(database_url, body)


async def _refused(conn: asyncpg.Connection, sql: str, *args: Any) -> str:
    """Run ``sql`` in a savepoint; return the SQLSTATE it was refused with ('' if allowed)."""
    try:
        async with conn.transaction():
            await conn.execute(sql, *args)
    except asyncpg.PostgresError as error:
        return str(error.sqlstate)
    return ""


TRUNCATE_REFERENCED = "0A000"  # feature_not_supported: truncate a table a foreign key references
REWRITES = [
    "UPDATE ticket_changes SET delta = '{}', changed_by = 'nobody'",
    "DELETE FROM ticket_changes",
    "TRUNCATE ticket_changes",
    "INSERT INTO ticket_changes (ticket_id, version, changed_by, change_kind, delta) "
    "VALUES (1, 99, 'user:forger', 'update', '{}')",
    "TRUNCATE tickets",
    "TRUNCATE tickets CASCADE",
    "UPDATE tickets SET id = 1000",
]


def test_history_cannot_be_rewritten_or_skipped_even_by_the_superuser(database_url: str) -> None:
    async def body(conn: asyncpg.Connection) -> None:
        ticket = await conn.fetchval(TICKET, "B-1", "Original", NOW)
        await conn.execute("UPDATE tickets SET title = 'Second' WHERE id = $1", ticket)
        before = await changes(conn, ticket)
        refused = {sql: await _refused(conn, sql) for sql in REWRITES}
        assert refused == {
            **dict.fromkeys(REWRITES[:-1], "42501"),  # insufficient_privilege, by the guards
            # refused by PostgreSQL itself before the guard is asked: ticket_comments references
            # tickets (migration 0021), and a plain TRUNCATE of a referenced table is refused
            "TRUNCATE tickets": TRUNCATE_REFERENCED,
            REWRITES[-1]: "23001",  # restrict_violation: history is keyed by id
        }
        assert await changes(conn, ticket) == before

        # Forged bookkeeping is overwritten: the version and time are the database's.
        await conn.execute(
            "UPDATE tickets SET version = 100, row_updated_at = '2000-01-01', title = 'Third' "
            "WHERE id = $1",
            ticket,
        )
        # Replication mode silences ordinary triggers, not ALWAYS ones.
        async with conn.transaction():
            await conn.execute("SET LOCAL session_replication_role = replica")
            await conn.execute("UPDATE tickets SET title = 'Fourth' WHERE id = $1", ticket)
        after = await changes(conn, ticket)
        assert [(c["version"], c["delta"].get("title")) for c in after] == [
            (1, "Original"), (2, "Second"), (3, "Third"), (4, "Fourth"),
        ]  # fmt: skip
        assert after[2]["changed_at"] >= after[1]["changed_at"]
        assert await conn.fetchval("SELECT version FROM tickets WHERE id = $1", ticket) == 4

    run(database_url, body)


def test_every_tracked_table_is_guarded_and_registered(database_url: str) -> None:
    """A table with history triggers that history_track did not set up would miss deletes, the
    guards and the as-of indexes: every one in the schema must be registered and complete."""
    assert_all_tracked_tables_complete(database_url)


INSERT, DELETE, UPDATE = 4, 8, 16  # pg_trigger.tgtype bits


def assert_all_tracked_tables_complete(url: str) -> set[str]:
    """Every table with history triggers is registered, versioned and recorded on insert,
    update and delete, guarded against TRUNCATE, its history append-only, all ALWAYS."""

    async def body(conn: asyncpg.Connection) -> set[str]:
        rows = await conn.fetch(
            "SELECT tgrelid::regclass::text AS rel, tgname, tgenabled, tgtype,"
            " tgfoid::regproc::text AS function FROM pg_trigger WHERE NOT tgisinternal"
        )
        registered = {
            r["entity"]: r["changes"]
            for r in await conn.fetch(
                "SELECT entity::text AS entity, changes::text AS changes FROM history_entities"
            )
        }
        recorded = {r["rel"] for r in rows if r["function"] == "history_record_change"}
        assert recorded == set(registered)

        def events(rel: str, function: str) -> int:
            found = 0
            for r in rows:
                if r["rel"] == rel and r["function"] == function:
                    assert r["tgenabled"] == b"A", f"{rel}.{r['tgname']} is not ENABLE ALWAYS"
                    found |= r["tgtype"]
                    if function == "history_refuse" and rel in registered:
                        assert r["tgtype"] & 32, f"{rel}.{r['tgname']} is not on TRUNCATE"
            return found

        for entity, changes_table in registered.items():
            assert events(entity, "history_record_change") & 28 == INSERT | DELETE | UPDATE
            assert events(entity, "history_stamp_version") & 28 == INSERT | UPDATE
            assert events(entity, "history_refuse") & 32, f"{entity}: TRUNCATE not refused"
            guarded = events(changes_table, "history_refuse")
            assert guarded & 60 == INSERT | DELETE | UPDATE | 32, f"{changes_table} not guarded"
        return set(registered)

    result: set[str] = run(url, body)
    return result


def test_a_role_with_only_dml_rights_cannot_switch_history_off(database_url: str) -> None:
    """What production should run as: a role that owns nothing. Even granted UPDATE, DELETE and
    TRUNCATE on every table, it cannot rewrite history, and the DDL that could switch the
    triggers off (or replace their functions) is refused to it."""
    if f"://{DB_USER}@" not in database_url:
        pytest.skip("needs the local PostgreSQL the harness starts (trust authentication)")
    role = f"app_{uuid.uuid4().hex[:10]}"

    async def setup(conn: asyncpg.Connection) -> None:
        db = await conn.fetchval("SELECT current_database()")
        await conn.execute(f"CREATE ROLE {role} LOGIN")
        await conn.execute(f"GRANT CONNECT ON DATABASE {db} TO {role}")
        await conn.execute(f"GRANT USAGE ON SCHEMA public TO {role}")
        await conn.execute(
            f"GRANT SELECT, INSERT, UPDATE, DELETE, TRUNCATE ON ALL TABLES IN SCHEMA public "
            f"TO {role}"
        )
        await conn.execute(f"GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO {role}")

    async def as_app(conn: asyncpg.Connection) -> dict[str, str]:
        ticket = await conn.fetchval(TICKET, "C-1", "By the app", NOW)
        # A temporary table of the same name does not catch the history of the next update.
        await conn.execute(
            "CREATE TEMP TABLE ticket_changes (LIKE public.ticket_changes INCLUDING DEFAULTS)"
        )
        await conn.execute("UPDATE tickets SET status = 'closed' WHERE id = $1", ticket)
        assert await conn.fetchval("SELECT count(*) FROM pg_temp.ticket_changes") == 0
        await conn.execute("DROP TABLE pg_temp.ticket_changes")
        # Nor can a trigger of its own temporary table insert forged history.
        await conn.execute(
            "CREATE FUNCTION pg_temp.forge() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            "INSERT INTO public.ticket_changes (ticket_id, version, changed_by, change_kind, delta)"
            " VALUES (1, 77, 'user:forger', 'update', '{}'); RETURN NULL; END $$"
        )
        await conn.execute("CREATE TEMP TABLE bait (x int)")
        await conn.execute(
            "CREATE TRIGGER forge AFTER INSERT ON bait FOR EACH ROW "
            "EXECUTE FUNCTION pg_temp.forge()"
        )
        attempts = [
            "INSERT INTO bait VALUES (1)",
            *REWRITES,
            "SET session_replication_role = replica",
            "ALTER TABLE tickets DISABLE TRIGGER history_record",
            "ALTER TABLE tickets DISABLE TRIGGER ALL",
            "ALTER TABLE ticket_changes DISABLE TRIGGER history_append_only",
            "DROP TRIGGER history_record ON tickets",
            "CREATE OR REPLACE FUNCTION history_refuse() RETURNS trigger LANGUAGE plpgsql "
            "AS $$ BEGIN RETURN NEW; END $$",
            "CREATE TRIGGER sneak BEFORE UPDATE ON ticket_changes "
            "FOR EACH ROW EXECUTE FUNCTION history_stamp_version()",
            "CREATE RULE sneak AS ON UPDATE TO tickets DO INSTEAD NOTHING",
            f"SET ROLE {DB_USER}",
        ]
        return {sql: await _refused(conn, sql) for sql in attempts}

    async def cleanup(conn: asyncpg.Connection) -> None:
        await conn.execute(f"DROP OWNED BY {role}")
        await conn.execute(f"DROP ROLE {role}")

    run(database_url, setup)
    try:
        app_url = database_url.replace(f"://{DB_USER}@", f"://{role}@", 1)
        refused = run(app_url, as_app)
        assert all(refused.values()), [sql for sql, code in refused.items() if not code]
        # privileges (42501) or ownership (42501 "must be owner"), never a silent success
        assert set(refused.values()) <= {"42501", "23001", TRUNCATE_REFERENCED}

        async def recorded(conn: asyncpg.Connection) -> list[tuple[str, str | None]]:
            rows = await conn.fetch(
                "SELECT c.change_kind, c.db_user FROM ticket_changes c JOIN tickets t "
                "ON t.id = c.ticket_id WHERE t.external_id = 'C-1' ORDER BY c.version"
            )
            return [(r["change_kind"], r["db_user"]) for r in rows]

        assert run(database_url, recorded) == [("insert", role), ("update", role)]
    finally:
        run(database_url, cleanup)


def test_history_rows_written_before_0009_get_their_state_by_folding_deltas(
    empty_database_url: str,
) -> None:
    """A database migrated before 0009 has deltas only; 0009 fills each version's full state,
    which must equal the row as it was after that version."""
    migrations = load_migrations()
    asyncio.run(migrate(empty_database_url, [m for m in migrations if m.version < 9]))

    async def write(conn: asyncpg.Connection) -> list[dict[str, Any]]:
        ticket = await conn.fetchval(TICKET, "D-1", "Old", NOW)
        snapshots = [await row_json(conn, ticket)]
        for sql in (
            "UPDATE tickets SET status = 'pending', last_event_id = 'e2' WHERE id = $1",
            "UPDATE tickets SET title = 'Older', labels = ARRAY['x'], changed_by = 'user:b' "
            "WHERE id = $1",
            "UPDATE tickets SET priority = 'p2' WHERE id = $1",
        ):
            await conn.execute(sql, ticket)
            snapshots.append(await row_json(conn, ticket))
        return snapshots

    snapshots = run(empty_database_url, write)
    asyncio.run(migrate(empty_database_url, migrations))

    async def states(conn: asyncpg.Connection) -> list[dict[str, Any]]:
        return [c["state"] for c in await changes(conn, snapshots[0]["id"])]

    assert run(empty_database_url, states) == snapshots


GADGETS = """
CREATE TABLE gadgets (
    id bigserial PRIMARY KEY, name text NOT NULL, status text NOT NULL, hits bigint NOT NULL,
    changed_by text NOT NULL DEFAULT 'unknown', version integer NOT NULL DEFAULT 1,
    row_updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE gadget_changes (
    gadget_id bigint NOT NULL, version integer NOT NULL,
    changed_at timestamptz NOT NULL DEFAULT now(), changed_by text NOT NULL,
    change_kind text NOT NULL, delta jsonb NOT NULL, event_id text,
    PRIMARY KEY (gadget_id, version)
);
"""
# As log_templates (issue 6) does it: counters bumped every batch make no version.
GADGET_TRIGGERS_0001_STYLE = """
CREATE TRIGGER gadgets_stamp_insert BEFORE INSERT ON gadgets
    FOR EACH ROW EXECUTE FUNCTION history_stamp_version();
CREATE TRIGGER gadgets_stamp_update BEFORE UPDATE ON gadgets FOR EACH ROW
    WHEN (OLD.status IS DISTINCT FROM NEW.status OR OLD.name IS DISTINCT FROM NEW.name)
    EXECUTE FUNCTION history_stamp_version();
CREATE TRIGGER gadgets_record_insert AFTER INSERT ON gadgets
    FOR EACH ROW EXECUTE FUNCTION history_record_change('gadget_changes', 'gadget_id');
CREATE TRIGGER gadgets_record_update AFTER UPDATE ON gadgets FOR EACH ROW
    WHEN (OLD.status IS DISTINCT FROM NEW.status OR OLD.name IS DISTINCT FROM NEW.name)
    EXECUTE FUNCTION history_record_change('gadget_changes', 'gadget_id');
"""


async def gadget_versions(conn: asyncpg.Connection) -> list[tuple[int, str, dict[str, Any]]]:
    rows = await conn.fetch("SELECT version, change_kind, delta::text FROM gadget_changes "
                            "ORDER BY gadget_id, version")  # fmt: skip
    return [(r["version"], r["change_kind"], orjson.loads(r["delta"])) for r in rows]


def test_a_table_that_versions_only_some_updates_keeps_its_condition_through_0009(
    empty_database_url: str,
) -> None:
    """A table made with the 0001 triggers and a WHEN condition before 0009 (log_templates
    does this) keeps the condition: counter updates make no version, the rest does, and deletes
    are now recorded too."""
    migrations = load_migrations()
    asyncio.run(migrate(empty_database_url, [m for m in migrations if m.version < 9]))

    async def before(conn: asyncpg.Connection) -> int:
        await conn.execute(GADGETS + GADGET_TRIGGERS_0001_STYLE)
        gadget: int = await conn.fetchval(
            "INSERT INTO gadgets (name, status, hits) VALUES ('g', 'new', 0) RETURNING id"
        )
        await conn.execute("UPDATE gadgets SET hits = hits + 1 WHERE id = $1", gadget)
        await conn.execute("UPDATE gadgets SET status = 'used' WHERE id = $1", gadget)
        return gadget

    gadget = run(empty_database_url, before)
    asyncio.run(migrate(empty_database_url, migrations))

    async def after(conn: asyncpg.Connection) -> None:
        assert await conn.fetchval(
            "SELECT update_when FROM history_entities WHERE entity = 'gadgets'::regclass"
        )
        await conn.execute("UPDATE gadgets SET hits = hits + 5 WHERE id = $1", gadget)
        await conn.execute("UPDATE gadgets SET name = 'g2' WHERE id = $1", gadget)
        await conn.execute("DELETE FROM gadgets WHERE id = $1", gadget)
        assert [(v, kind) for v, kind, _ in await gadget_versions(conn)] == [
            (1, "insert"), (2, "update"), (3, "update"), (4, "delete"),
        ]  # fmt: skip
        states = [
            orjson.loads(r["state"]) if r["state"] else None
            for r in await conn.fetch("SELECT state::text FROM gadget_changes ORDER BY version")
        ]
        # v2 was backfilled from the deltas: the unversioned hits bump is not in any delta
        assert [(s["status"], s["name"], s["hits"]) for s in states[:3]] == [
            ("new", "g", 0), ("used", "g", 0), ("used", "g2", 6),
        ]  # fmt: skip
        assert states[3] is None

    run(empty_database_url, after)
    assert "gadgets" in assert_all_tracked_tables_complete(empty_database_url)


def test_a_table_created_after_0009_joins_with_history_track(database_url: str) -> None:
    async def body(conn: asyncpg.Connection) -> None:
        await conn.execute(GADGETS)
        await conn.execute("SELECT history_track('gadgets', 'gadget_changes', 'gadget_id')")
        gadget = await conn.fetchval(
            "INSERT INTO gadgets (name, status, hits) VALUES ('g', 'new', 0) RETURNING id"
        )
        await conn.execute("UPDATE gadgets SET hits = 1 WHERE id = $1", gadget)
        await conn.execute("DELETE FROM gadgets WHERE id = $1", gadget)
        assert [(v, kind, delta.get("hits")) for v, kind, delta in await gadget_versions(conn)] == [
            (1, "insert", 0), (2, "update", 1), (3, "delete", None),
        ]  # fmt: skip
        assert await _refused(conn, "DELETE FROM gadget_changes") == "42501"
        assert await _refused(conn, "TRUNCATE gadgets") == "42501"
        found = await as_of(conn, "gadgets", gadget, datetime.now(UTC))
        assert found is None  # deleted
        history = await versions(conn, "gadgets", gadget)
        assert history[1].diff == {"hits": FieldChange(0, 1)}

    run(database_url, body)
    assert "gadgets" in assert_all_tracked_tables_complete(database_url)
