"""What `opsassist produce` reads: log files, ticket files and real git repositories."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from opsassist.cli.gitrepo import GitError
from opsassist.cli.readers import (
    commit_events_from_git,
    log_events_from_file,
    ticket_events_from_file,
)
from opsassist.schemas import InvalidEvent, decode_event, encode_event
from tests.repos import make_repo


def test_plain_and_ndjson_log_lines_become_events(tmp_path: Path) -> None:
    path = tmp_path / "api.log"
    path.write_text(
        "plain line one\n"
        "\n"
        '{"ts": "2026-11-20T10:00:00Z", "level": "WARN", "msg": "slow", "host": "h1", "rid": 7}\n'
        '{"no": "message here"}\n'
    )
    events = list(log_events_from_file(path, "api"))
    assert [e.payload.message for e in events] == [
        "plain line one",
        "slow",
        '{"no": "message here"}',
    ]
    structured = events[1].payload
    assert (structured.level, structured.host, structured.attributes) == ("WARN", "h1", {"rid": 7})
    assert structured.timestamp == datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
    assert all(e.payload.service == "api" for e in events)
    # every event survives the wire
    assert [decode_event(encode_event(e), "log") for e in events] == events


def test_producing_the_same_file_twice_gives_the_same_event_ids(tmp_path: Path) -> None:
    path = tmp_path / "x.log"
    path.write_text("a\nb\na\n")
    first = [e.id for e in log_events_from_file(path, "x")]
    assert first == [e.id for e in log_events_from_file(path, "x")]
    assert len(set(first)) == 3  # the same text on another line is another event


def test_tickets_from_jsonl_and_csv_understand_common_column_names(tmp_path: Path) -> None:
    jsonl = tmp_path / "t.jsonl"
    jsonl.write_text(
        '{"key": "OPS-1", "summary": "Disk full", "description": "on db-2", '
        '"labels": "infra, disk", "created": "2026-11-20T09:00:00Z"}\n'
    )
    csv = tmp_path / "t.csv"
    csv.write_text("number,subject,text,state\n42,Cannot log in,since 9am,pending\n")
    [a] = ticket_events_from_file(jsonl, "jira")
    [b] = ticket_events_from_file(csv, "zendesk")
    assert (a.payload.external_id, a.payload.title, a.payload.body) == (
        "OPS-1",
        "Disk full",
        "on db-2",
    )
    assert a.payload.labels == ["infra", "disk"]
    assert a.payload.status == "open"  # the default for a ticket that names none
    assert (b.payload.source_system, b.payload.external_id, b.payload.status) == (
        "zendesk",
        "42",
        "pending",
    )


def test_a_ticket_without_a_title_is_refused_with_its_reason(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    path.write_text('{"id": "1", "body": "no title"}\n')
    with pytest.raises(InvalidEvent, match="title"):
        list(ticket_events_from_file(path))
    path.write_text("not json\n")
    with pytest.raises(InvalidEvent, match=r"t\.jsonl:1"):
        list(ticket_events_from_file(path))


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return make_repo(
        tmp_path / "shop",
        ["feat: first", "fix: second\n\nwith a body", "chore: third"],
        tags={0: "v0.1.0", 1: "a:v0.2.0"},
    )


def test_commits_are_read_oldest_first_with_their_tags_and_parents(repo: Path) -> None:
    events = list(commit_events_from_git(repo))
    assert [e.payload.message for e in events] == [
        "feat: first",
        "fix: second\n\nwith a body",
        "chore: third",
    ]
    assert [e.payload.tags for e in events] == [["v0.1.0"], ["v0.2.0"], []]
    assert events[0].payload.parents == []
    assert events[1].payload.parents == [events[0].payload.sha]
    assert {e.payload.repo for e in events} == {"shop"}
    assert {e.payload.branch for e in events} == {"main"}
    assert events[2].id == f"shop@{events[2].payload.sha}"


def test_a_range_selects_commits_and_a_bad_one_says_what_git_said(repo: Path) -> None:
    events = list(commit_events_from_git(repo, "v0.1.0..HEAD", name="acme/shop"))
    assert [e.payload.message.splitlines()[0] for e in events] == ["fix: second", "chore: third"]
    assert {e.payload.repo for e in events} == {"acme/shop"}
    with pytest.raises(GitError, match="no-such-tag"):
        list(commit_events_from_git(repo, "no-such-tag..HEAD"))


def test_a_directory_that_is_not_a_repository_is_refused(tmp_path: Path) -> None:
    with pytest.raises(GitError, match="not a git repository"):
        list(commit_events_from_git(tmp_path))
