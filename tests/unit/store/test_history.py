"""The pure parts of store/history.py: actors are named '<kind>:<name>'."""

from __future__ import annotations

import pytest

from opsassist.store.history import Actor


@pytest.mark.parametrize("who", ["user:alice", "agent:triage", "replay:2026-11-26 run 3"])
def test_actors_are_kind_colon_name(who: str) -> None:
    assert Actor(who, model="m").who == who


@pytest.mark.parametrize("who", ["", "alice", ":alice", "user:", "User:alice", "user: alice"])
def test_an_actor_without_kind_or_name_is_refused(who: str) -> None:
    with pytest.raises(ValueError, match="<kind>:<name>"):
        Actor(who)
