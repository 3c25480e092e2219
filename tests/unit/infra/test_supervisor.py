"""The supervisor of `opsassist run`: restarts with a doubling backoff, gives up on a streak of
quick crashes, starts a new streak after a long run."""

from __future__ import annotations

import os
import sys

import pytest

from opsassist.infra.supervisor import GaveUp, Supervisor

CRASH = [sys.executable, "-c", "raise SystemExit(3)"]


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def supervisor(clock: Clock, lines: list[str]) -> Supervisor:
    return Supervisor(
        backoff_seconds=1.0,
        quick_seconds=60.0,
        max_quick_crashes=3,
        report=lines.append,
        clock=clock,
    )


def crash_and_check(sup: Supervisor, clock: Clock) -> None:
    sup.process("worker").wait()
    clock.now += 0.5
    sup.check()


def test_a_crashing_process_is_restarted_with_a_doubling_backoff_then_given_up() -> None:
    clock, lines = Clock(), []
    sup = supervisor(clock, lines)
    sup.start("worker", CRASH, dict(os.environ))
    for wait in (1, 2, 4):
        first = sup.process("worker").pid
        crash_and_check(sup, clock)
        assert f"exited with code 3 after 0s; restarting it in {wait}s" in lines[-1]
        clock.now += wait - 0.1
        sup.check()
        assert sup.process("worker").pid == first  # not before its backoff
        clock.now += 0.1
        sup.check()
        assert lines[-1] == f"Restarted the worker (pid {sup.process('worker').pid})."
    gave_up = r"quick crash 4 in a row \(a quick crash: within 60s of its start\); giving up"
    with pytest.raises(GaveUp, match=gave_up):
        crash_and_check(sup, clock)


def test_a_crash_after_a_long_run_starts_a_new_streak() -> None:
    clock, lines = Clock(), []
    sup = supervisor(clock, lines)
    sup.start("worker", CRASH, dict(os.environ))
    crash_and_check(sup, clock)
    clock.now += 1
    sup.check()  # restarted
    clock.now += 3600  # ran for an hour before it crashed
    crash_and_check(sup, clock)
    assert "restarting it in 1s (quick crash 1 of 3 allowed in a row)" in lines[-1]
