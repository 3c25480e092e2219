"""`opsassist produce` as a user runs it: files and a git repository into the raw topics,
acknowledged by the real broker, with a final count; bad input refused with a message."""

from __future__ import annotations

import asyncio
import subprocess
from pathlib import Path

import orjson
import pytest

from tests.conftest import run_cli
from tests.integration.events import read_topic
from tests.repos import make_repo

pytestmark = pytest.mark.integration


def produce(settings, *args: str) -> subprocess.CompletedProcess[str]:  # type: ignore[no-untyped-def]
    return run_cli(settings, "produce", *args)


def test_logs_tickets_and_commits_are_produced_and_counted(settings, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    logs = tmp_path / "api.log"
    logs.write_text("first line\n\nsecond line\n" + '{"msg": "third", "level": "ERROR"}\n')
    done = produce(settings, "logs", str(logs), "--service", "checkout")
    assert done.returncode == 0, done.stderr
    assert "3 log events produced" in done.stderr

    tickets = tmp_path / "t.csv"
    tickets.write_text("id,title,body\n1,Printer on fire,help\n2,VPN down,since 9\n")
    done = produce(settings, "tickets", str(tickets), "--source", "zendesk")
    assert done.returncode == 0, done.stderr
    assert "2 ticket events produced" in done.stderr

    repo = make_repo(tmp_path / "shop", ["feat: a", "fix: b", "docs: c"], tags={1: "v1.0.0"})
    done = produce(settings, "commits", "--git", str(repo), "--range", "HEAD~2..HEAD")
    assert done.returncode == 0, done.stderr
    assert "2 commit events produced" in done.stderr

    bootstrap = settings.kafka_bootstrap_servers
    log_records = asyncio.run(read_topic(bootstrap, settings.topic_logs, 3))
    messages = sorted(orjson.loads(r.value)["payload"]["message"] for r in log_records)
    assert messages == ["first line", "second line", "third"]
    assert {r.key for r in log_records} == {b"checkout"}  # keyed by service

    ticket_records = asyncio.run(read_topic(bootstrap, settings.topic_tickets, 2))
    assert {r.key for r in ticket_records} == {b"zendesk:1", b"zendesk:2"}

    commit_records = asyncio.run(read_topic(bootstrap, settings.topic_commits, 2))
    payloads = [orjson.loads(r.value)["payload"] for r in commit_records]
    assert sorted(p["message"] for p in payloads) == ["docs: c", "fix: b"]
    assert {tuple(p["tags"]) for p in payloads} == {("v1.0.0",), ()}


def test_a_missing_file_or_a_non_repository_is_refused_with_a_message(settings, tmp_path) -> None:  # type: ignore[no-untyped-def]
    done = produce(settings, "logs", str(tmp_path / "nope.log"))
    assert done.returncode == 2
    assert "does not exist" in done.stderr
    done = produce(settings, "commits", "--git", str(tmp_path))
    assert done.returncode == 2
    assert "not a git repository" in done.stderr
