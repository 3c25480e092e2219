"""``opsassist replay`` on a real Kafka and PostgreSQL: another processing version produces new
versions of the entities it changes, never new rows; a second replay changes nothing; a dry run
changes nothing at all; events the store lacks are taken from Kafka; events stored under an
older schema version are upcast."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import orjson
import pytest

from opsassist.bus.producer import produce_events
from opsassist.schemas import CommitEvent, CommitPayloadV1, TicketEvent, TicketPayloadV2
from opsassist.settings import Settings
from opsassist.store.pool import create_pool
from opsassist.store.sink import EventSink, Origin, commit_row, ticket_row
from opsassist.streams.agents.changelog import ChangelogUpdater
from opsassist.streams.agents.tickets import TicketTriage
from opsassist.streams.changelog import load_config as load_changelog_config
from opsassist.streams.triage import Triager, load_config
from tests.conftest import run_cli

pytestmark = pytest.mark.integration

T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
TITLES = {
    "OPS-1": "VPN drops every 10 minutes",
    "OPS-2": "Cannot connect to the VPN from home",
    "OPS-3": "Add dark mode to the dashboard",
    "OPS-4": "Invoice total is wrong",
}
NETWORK_RULE = """
[[rules]]
name = "vpn-goes-to-network"
keywords = ["vpn"]
category = "incident"
team = "network"
priority = "P2"
confidence = 0.95
"""


def ticket(key: str, minutes: int, title: str | None = None) -> TicketEvent:
    at = T0 + timedelta(minutes=minutes)
    return TicketEvent(
        id=f"{key}-{minutes}",
        schema_version=2,
        source="test",
        occurred_at=at,
        payload=TicketPayloadV2(
            external_id=key,
            source_system="jira",
            title=title or TITLES[key],
            body="",
            reporter_id=f"{key.lower()}@example.com",
            status="open",
            created_at=T0,
            updated_at=at,
        ),
    )


def events() -> list[TicketEvent]:
    # OPS-1 is updated later: its first event is superseded
    return [ticket(k, i) for i, k in enumerate(TITLES)] + [
        ticket("OPS-1", 30, "VPN drops every 10 minutes, all of Lisbon")
    ]


def new_config(tmp_path: Path) -> Path:
    default = (Path(__file__).parents[2] / "streams" / "triage" / "default_config.toml").read_text()
    path = tmp_path / "triage-v2.toml"
    path.write_text(default + NETWORK_RULE)
    return path


async def store_as_the_worker(url: str, items: list[TicketEvent]) -> None:
    pool = await create_pool(url)
    try:
        triage = TicketTriage(Triager(load_config(None), None))
        fields = await triage(items)
        rows = [
            ticket_row(e, Origin("ops.tickets.raw", 0, n), f)
            for n, (e, f) in enumerate(zip(items, fields, strict=True))
        ]
        await EventSink(pool, changed_by="agent:ingest").write_tickets(rows)
    finally:
        await pool.close()


async def snapshot(url: str) -> dict[str, Any]:
    conn = await asyncpg.connect(url)
    try:
        return {
            "tickets": [dict(r) for r in await conn.fetch("SELECT * FROM tickets ORDER BY id")],
            "changes": [
                dict(r)
                for r in await conn.fetch(
                    "SELECT * FROM ticket_changes ORDER BY ticket_id, version"
                )
            ],
            "events": await conn.fetchval("SELECT count(*) FROM ticket_events"),
        }
    finally:
        await conn.close()


def replay(settings: Settings, *args: str) -> dict[str, Any]:
    done = run_cli(settings, "replay", *args, "--json")
    assert done.returncode == 0, done.stderr
    report: dict[str, Any] = orjson.loads(done.stdout)
    return report


def test_a_ticket_replay_from_the_store_versions_what_changed_once(
    settings: Settings, tmp_path: Path
) -> None:
    url = settings.database_url
    asyncio.run(store_as_the_worker(url, events()))

    async def stored_as_v1() -> None:
        # OPS-2's event as a release before ticket events v2 stored it
        conn = await asyncpg.connect(url)
        try:
            await conn.execute(
                "UPDATE ticket_events SET schema_version = 1, payload = payload - 'reporter_id'"
                " || jsonb_build_object('reporter', payload -> 'reporter_id')"
                " WHERE external_id = 'OPS-2'"
            )
        finally:
            await conn.close()

    asyncio.run(stored_as_v1())
    before = asyncio.run(snapshot(url))
    assert {t["team"] for t in before["tickets"]} != {"network"}
    config = str(new_config(tmp_path))
    window = ("--since", "2026-11-20T00:00:00Z", "--until", "2026-11-21T00:00:00Z")

    dry = replay(settings, "tickets", *window, "--triage-config", config, "--dry-run")
    assert asyncio.run(snapshot(url)) == before  # nothing written, not even history
    assert dry["source"] == "store"  # auto: the topic holds nothing of it
    assert dry["events_read"] == 5
    assert dry["superseded"] == 1  # OPS-1's first state
    assert dry["entities_examined"] == 4
    assert dry["entities_changed"] == 2  # the two VPN tickets
    changed = {d["entity"]: d["changes"] for d in dry["diffs"]}
    assert set(changed) == {"ticket jira:OPS-1", "ticket jira:OPS-2"}
    assert changed["ticket jira:OPS-2"]["team"][1] == "network"
    shown = run_cli(settings, "replay", "tickets", *window, "--triage-config", config, "--dry-run")
    assert "tickets examined: 4, would change: 2, unchanged: 2" in shown.stdout
    assert "ticket jira:OPS-2 → version" in shown.stdout

    real = replay(settings, "tickets", *window, "--triage-config", config, "--as", "triage-v2")
    assert real["entities_changed"] == dry["entities_changed"]
    assert {d["entity"]: d["changes"] for d in real["diffs"]} == changed
    after = asyncio.run(snapshot(url))
    assert after["events"] == before["events"]
    assert [t["id"] for t in after["tickets"]] == [t["id"] for t in before["tickets"]]
    by_key = {t["external_id"]: t for t in after["tickets"]}
    assert by_key["OPS-1"]["team"] == by_key["OPS-2"]["team"] == "network"
    assert by_key["OPS-2"]["changed_by"] == "replay:triage-v2"
    assert by_key["OPS-2"]["reporter_id"] == "ops-2@example.com"
    new_history = len(after["changes"]) - len(before["changes"])
    assert new_history == 2
    assert {c["changed_by"] for c in after["changes"] if c not in before["changes"]} == {
        "replay:triage-v2"
    }

    again = replay(settings, "tickets", *window, "--triage-config", config, "--as", "triage-v2")
    assert again["entities_changed"] == 0
    assert again["entities_examined"] == 4
    assert asyncio.run(snapshot(url)) == after


def test_a_ticket_replay_from_kafka_stores_what_the_store_lacked_without_duplicates(
    settings: Settings, tmp_path: Path
) -> None:
    url = settings.database_url
    items = events()
    asyncio.run(store_as_the_worker(url, items[:2]))  # the worker saw only the first two
    sent = asyncio.run(produce_events(settings.kafka_bootstrap_servers, settings.topics, items))
    assert sent == len(items)
    config = str(new_config(tmp_path))
    window = ("--since", "2026-11-20T00:00:00Z")

    dry = replay(settings, "tickets", *window, "--source", "kafka", "--triage-config", config,
                 "--dry-run")  # fmt: skip
    assert dry["events_read"] == 5
    assert dry["not_stored"] == 3
    before = asyncio.run(snapshot(url))
    assert before["events"] == 2

    first = replay(settings, "tickets", *window, "--source", "kafka", "--triage-config", config)
    assert first["not_stored"] == 3
    second = replay(settings, "tickets", *window, "--source", "kafka", "--triage-config", config)
    assert second["not_stored"] == 0
    assert second["entities_changed"] == 0
    after = asyncio.run(snapshot(url))
    assert after["events"] == 5  # every event once
    keys = [t["external_id"] for t in after["tickets"]]
    assert sorted(keys) == sorted(TITLES)  # every ticket once
    assert {t["external_id"]: t["team"] for t in after["tickets"]}["OPS-1"] == "network"

    # offset ranges: each partition's events once, and no more than asked
    per_partition = [
        replay(settings, "tickets", "--offsets", f"{p}:0-100", "--source", "kafka",
               "--triage-config", config, "--dry-run")["events_read"]
        for p in range(settings.topic_partitions)
    ]  # fmt: skip
    assert sum(per_partition) == 5
    busiest = per_partition.index(max(per_partition))
    one = replay(settings, "tickets", "--offsets", f"{busiest}:0-1", "--source", "kafka",
                 "--triage-config", config, "--dry-run")  # fmt: skip
    assert one["events_read"] == 1


def commit(repo: str, n: int, message: str, tags: list[str] | None = None) -> CommitEvent:
    at = T0 + timedelta(hours=n)
    return CommitEvent(
        id=f"{repo}-{n}",
        schema_version=1,
        source="test",
        occurred_at=at,
        payload=CommitPayloadV1(
            repo=repo,
            sha=f"{n:07x}",
            parents=[f"{n - 1:07x}"] if n else [],
            author_name="Ana",
            authored_at=at,
            committed_at=at,
            message=message,
            branch="main",
            tags=tags or [],
        ),
    )


def test_a_changelog_replay_versions_changed_releases_once_and_a_dry_run_writes_nothing(
    settings: Settings, tmp_path: Path
) -> None:
    url = settings.database_url
    commits = [
        commit("shop", 0, "feat(api): add carts"),
        commit("shop", 1, "fix(api): empty carts no longer crash", ["v1.0.0"]),
        commit("shop", 2, "feat(ui): dark mode"),
    ]

    async def store() -> None:
        pool = await create_pool(url)
        try:
            rows = [commit_row(c, Origin("ops.commits.raw", 0, n)) for n, c in enumerate(commits)]
            await EventSink(pool).write_commits(rows)
            await ChangelogUpdater(pool, load_changelog_config()).regenerate("shop")
        finally:
            await pool.close()

    async def releases() -> list[dict[str, Any]]:
        conn = await asyncpg.connect(url)
        try:
            rows = await conn.fetch(
                "SELECT r.tag, r.version, r.present, r.commit_count, r.changed_by, "
                "(SELECT count(*) FROM changelog_release_changes c WHERE c.release_id = r.id) AS h "
                "FROM changelog_releases r ORDER BY r.tag"
            )
            return [dict(r) for r in rows]
        finally:
            await conn.close()

    asyncio.run(store())
    before = asyncio.run(releases())
    config = tmp_path / "changelog.toml"
    # another release policy: only release-* tags are releases, so v1.0.0 is not one any more
    config.write_text("[versions]\ntag_pattern = '^release-'\n")
    args = ("commits", "--since", "2026-11-20T00:00:00Z", "--changelog-config", str(config))

    dry = replay(settings, *args, "--source", "store", "--dry-run")
    assert dry["events_read"] == 3  # commits in the range
    assert dry["entities_examined"] == 1
    assert dry["entities_changed"] == 1
    assert {d["entity"] for d in dry["diffs"]} == {
        "changelog shop Unreleased",
        "changelog shop v1.0.0",
    }
    assert asyncio.run(releases()) == before

    real = replay(settings, *args, "--source", "store", "--as", "changelog-release-tags")
    assert real["diffs"] == dry["diffs"]
    after = asyncio.run(releases())
    assert [r["tag"] for r in after] == [r["tag"] for r in before]  # no new rows
    for old, new in zip(before, after, strict=True):
        assert new["version"] == old["version"] + 1
        assert new["h"] == old["h"] + 1
        assert new["changed_by"] == "replay:changelog-release-tags"
    unreleased, v1 = after
    assert (unreleased["tag"], unreleased["present"], unreleased["commit_count"]) == ("", True, 3)
    assert (v1["tag"], v1["present"]) == ("v1.0.0", False)

    again = replay(settings, *args, "--source", "store", "--as", "changelog-release-tags")
    assert again["entities_changed"] == 0
    assert asyncio.run(releases()) == after
