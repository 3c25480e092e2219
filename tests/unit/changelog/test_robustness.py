"""Arbitrary messages: the parser never fails on a non-empty header, and no commit is lost."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from opsassist.streams.changelog import CommitRecord, build_changelog, default_config, parse_commit

PIECES = [
    "feat", "fix", "(", ")", "!", ":", " ", "\n", "\n\n", "\r\n", "BREAKING CHANGE: ", "#12",
    "Refs: ", "Merge ", "Revert \"", "\"", "é", "✨", "x", "scope", "(#7)", "Signed-off-by: a",
    "BREAKING-CHANGE: ", "\t", "-", "This reverts commit abcdef1.",
]  # fmt: skip


def random_message(rng: random.Random) -> str:
    text = "".join(rng.choice(PIECES) for _ in range(rng.randint(1, 14)))
    return text if text.split("\n")[0].strip() else f"x{text}"


def test_random_messages_parse_and_every_commit_is_accounted_for() -> None:
    rng = random.Random(20261126)
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    records: list[CommitRecord] = []
    for i in range(2000):
        message = random_message(rng)
        parsed = parse_commit(f"{i:040x}", message)
        assert parsed.type and parsed.description
        lines = message.replace("\r\n", "\n").replace("\r", "\n").split("\n")
        marked = any(line.startswith(("BREAKING CHANGE:", "BREAKING-CHANGE:")) for line in lines)
        assert parsed.breaking or not marked
        parents = (records[rng.randrange(len(records))].sha,) if records else ()
        tags = (f"v1.{i // 100}.0",) if i % 100 == 99 else ()
        when = t0 + timedelta(minutes=i)
        records.append(CommitRecord(f"{i:040x}", message, parents, "a", when, when, tags))
    releases = build_changelog(records, default_config())
    placed = [e.commit for r in releases for e in r.entries] + [
        s.commit for r in releases for s in r.skipped
    ]
    assert sorted(placed) == sorted(r.sha for r in records)
