"""The pure parts of replay: ranges (time, offsets, both), the command line's parsing of them,
and the diff of a repository's releases before and after a rebuild."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import typer

from opsassist.cli.replay import _range
from opsassist.store.replay import OffsetRange, ReplayRange
from opsassist.streams.agents.replay import _release_diffs

T = datetime(2026, 11, 20, tzinfo=UTC)


def test_a_range_needs_times_or_offsets_and_may_not_be_empty() -> None:
    with pytest.raises(ValueError, match="needs a time range"):
        ReplayRange()
    with pytest.raises(ValueError, match="empty"):
        ReplayRange(since=T, until=T)
    with pytest.raises(ValueError, match="empty"):
        ReplayRange(offsets=(OffsetRange(0, 5, 5),))


def test_time_ranges_include_since_and_exclude_until() -> None:
    r = ReplayRange(since=T, until=T.replace(day=21))
    assert r.in_time(T)
    assert not r.in_time(T.replace(day=21))
    assert not r.in_time(T.replace(day=19))
    assert r.in_offsets(7, 10**9)  # no offset ranges: every offset


def test_offset_ranges_are_per_partition_and_end_exclusive() -> None:
    r = ReplayRange(offsets=(OffsetRange(0, 10, 20), OffsetRange(2, 0, 1)))
    assert r.in_offsets(0, 10) and r.in_offsets(0, 19) and r.in_offsets(2, 0)
    assert not r.in_offsets(0, 20) and not r.in_offsets(1, 10) and not r.in_offsets(2, 1)


def test_the_command_line_reads_times_with_or_without_an_offset_and_offset_ranges() -> None:
    r = _range("2026-11-20", "2026-11-21T02:00:00+02:00", ["0:100-200", "3:0-5"])
    assert r.since == T  # a time without an offset is UTC
    assert r.until == T.replace(day=21)  # 02:00 at +02:00 is midnight UTC
    assert r.offsets == (OffsetRange(0, 100, 200), OffsetRange(3, 0, 5))
    for bad in (["0:100"], ["a:1-2"], ["1:5-2"]):
        with pytest.raises(typer.BadParameter):
            _range(None, None, bad)
    with pytest.raises(typer.BadParameter, match="ISO 8601"):
        _range("yesterday", None, None)
    with pytest.raises(typer.BadParameter, match="needs a time range"):
        _range(None, None, None)


def test_release_diffs_name_new_changed_and_absent_releases_only() -> None:
    before = {
        "": {"version": 3, "present": True, "content": {}, "markdown": "a"},
        "v1.0.0": {"version": 1, "present": True, "content": {}, "markdown": "b"},
        "v0.9.0": {"version": 2, "present": True, "content": {}, "markdown": "c"},
    }
    after = {
        "": {"version": 4, "present": True, "content": {}, "markdown": "a2"},
        "v1.0.0": {"version": 1, "present": True, "content": {}, "markdown": "b"},
        "v0.9.0": {"version": 3, "present": False, "content": {}, "markdown": "c"},
        "v1.1.0": {"version": 1, "present": True, "content": {}, "markdown": "d"},
    }
    diffs = _release_diffs("shop", before, after)
    assert diffs == [
        {"entity": "changelog shop Unreleased", "version": 4, "changes": {"markdown": ("a", "a2")}},
        {"entity": "changelog shop v0.9.0", "version": 3, "changes": {"present": (True, False)}},
        {
            "entity": "changelog shop v1.1.0",
            "version": 1,
            "changes": {"present": (None, True), "markdown": (None, "d")},
        },
    ]
