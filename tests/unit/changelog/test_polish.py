"""The LLM polish check: one reworded entry per commit, nothing dropped, nothing invented."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime

import pytest

from opsassist.streams.changelog import (
    CommitRecord,
    Entry,
    InvalidRewording,
    Release,
    Rewording,
    build_changelog,
    check_rewording,
    default_config,
    parse_rewording,
    polish_prompt,
    polish_release,
)

T = datetime(2026, 3, 4, tzinfo=UTC)
A, B = "a" * 40, "b" * 40


def release() -> Release:
    commits = [
        CommitRecord(A, "fix(api): handle empty body (#12)", (), "x", T, T),
        CommitRecord(B, "feat: dark mode\n\nRefs: #30", (A,), "x", T, T),
    ]
    (only,) = build_changelog(commits, default_config())
    return only


def good() -> list[Rewording]:
    return [
        Rewording(A, "The API no longer fails on an empty request body"),
        Rewording(B, "Dark mode for the whole UI (see #30)"),
    ]


def test_a_one_to_one_rewording_is_accepted() -> None:
    verdict = check_rewording(release().entries, good())
    assert verdict.accepted and verdict.problems == ()


def test_dropped_duplicated_and_invented_commits_are_rejected() -> None:
    entries = release().entries
    assert not check_rewording(entries, good()[:1]).accepted
    doubled = check_rewording(entries, [*good(), Rewording(A, "again")])
    assert not doubled.accepted and any("2 entries" in p for p in doubled.problems)
    invented = check_rewording(entries, [*good(), Rewording("c" * 40, "new thing")])
    assert not invented.accepted and any("not a commit" in p for p in invented.problems)


def test_invented_references_are_rejected() -> None:
    entries = release().entries
    for text in ("Fixes #99 for the API", "See https://evil.example/x", "Reverts deadbeef1"):
        proposal = [Rewording(A, text), good()[1]]
        assert not check_rewording(entries, proposal).accepted, text


def test_empty_or_multi_line_text_is_rejected() -> None:
    entries = release().entries
    assert not check_rewording(entries, [Rewording(A, " "), good()[1]]).accepted
    assert not check_rewording(entries, [Rewording(A, "one\ntwo"), good()[1]]).accepted


async def test_polish_uses_an_accepted_proposal() -> None:
    async def propose(entries: Sequence[Entry]) -> list[Rewording]:
        return good()

    polished, verdict = await polish_release(release(), propose)
    assert verdict.accepted
    assert {e.commit: e.text for e in polished.entries}[B] == "Dark mode for the whole UI (see #30)"
    assert [e.commit for e in polished.entries] == [e.commit for e in release().entries]


async def test_deterministic_text_stands_when_rejected_failed_or_absent() -> None:
    original = release()

    async def drops(entries: Sequence[Entry]) -> list[Rewording]:
        return good()[:1]

    async def fails(entries: Sequence[Entry]) -> list[Rewording]:
        raise TimeoutError("llm down")

    for propose in (drops, fails, None):
        polished, verdict = await polish_release(original, propose)
        assert polished == original and not verdict.accepted


def test_prompt_carries_every_commit_and_the_answer_parses_back() -> None:
    entries = release().entries
    prompt = polish_prompt(entries)
    assert all(e.commit in prompt for e in entries)
    items = [{"commit": A, "text": "One"}, {"commit": B, "text": "Two"}]
    fenced = f"```json\n{json.dumps(items)}\n```"
    assert parse_rewording(fenced) == [Rewording(A, "One"), Rewording(B, "Two")]
    wrapped = json.dumps({"entries": items[:1]})
    assert parse_rewording(wrapped) == [Rewording(A, "One")]


@pytest.mark.parametrize(
    "answer", ["Sure! Here you go", '{"commit": 1}', '[{"commit": "a"}]', "[1]"]
)
def test_malformed_answers_are_typed_errors(answer: str) -> None:
    with pytest.raises(InvalidRewording):
        parse_rewording(answer)
