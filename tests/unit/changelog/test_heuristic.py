"""The documented heuristic for commits that do not follow Conventional Commits."""

from __future__ import annotations

import pytest

from opsassist.streams.changelog._heuristic import guess_type


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("Fixed crash on empty input", "fix"),
        ("Add retry to the uploader", "feat"),
        ("Implement OAuth login", "feat"),
        ("Rename the settings module", "refactor"),
        ("Optimize the query planner", "perf"),
        ("Bump version to 1.2.3", "chore"),
        ("Update README with examples", "docs"),
        ("Update CI workflow for 3.12", "ci"),
        ("More tests for the parser", "test"),
        ("PROJ-123: fix login redirect", "fix"),
        ("[backend] add audit log", "feat"),
        ("✨ dark mode", "feat"),
        (":bug: off by one", "fix"),
        ("Fix typo in README", "docs"),
        ("Add tests for the parser", "test"),
        ("Revert the docs change", "revert"),
        ("Handle crash when config is empty", "fix"),
        ("WIP", "other"),
        ("misc", "other"),
    ],
)
def test_guess_type(header: str, expected: str) -> None:
    assert guess_type(header) == expected
