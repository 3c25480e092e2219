"""The worker's stall signal: pending work without progress, never idleness."""

from __future__ import annotations

from opsassist.streams.runtime.progress import ProgressWatch


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_an_idle_worker_is_never_stalled() -> None:
    clock = Clock()
    watch = ProgressWatch(clock)
    watch.partition(("logs", "0"), committed=500, highwater=500)
    watch.partition(("commits", "0"), committed=None, highwater=0)  # nothing ever sent
    clock.now += 3600
    watch.partition(("logs", "0"), committed=500, highwater=500)
    watch.partition(("commits", "0"), committed=None, highwater=0)
    assert watch.stalled_seconds() == 0
    assert watch.seconds_since_last_batch() == 3600


def test_a_batch_under_way_stalls_until_it_is_done() -> None:
    clock = Clock()
    watch = ProgressWatch(clock)
    batch = watch.batch_started()
    clock.now += 90
    assert watch.stalled_seconds() == 90
    watch.batch_done(batch)
    assert watch.stalled_seconds() == 0


def test_a_partition_behind_whose_commits_do_not_move_stalls_while_others_progress() -> None:
    clock = Clock()
    watch = ProgressWatch(clock)
    watch.partition(("logs", "0"), committed=100, highwater=5000)
    watch.partition(("logs", "1"), committed=100, highwater=5000)
    for step in range(1, 7):
        clock.now += 10
        watch.batch_done(watch.batch_started())  # batches of partition 1 keep finishing
        watch.partition(("logs", "0"), committed=100, highwater=5000 + step)
        watch.partition(("logs", "1"), committed=100 + 500 * step, highwater=5000 + step)
    assert watch.stalled_seconds() == 60  # partition 0, frozen since it was first seen behind


def test_a_partition_that_commits_or_catches_up_is_not_stalled() -> None:
    clock = Clock()
    watch = ProgressWatch(clock)
    watch.partition(("logs", "0"), committed=None, highwater=100)
    clock.now += 30
    assert watch.stalled_seconds() == 30  # nothing committed yet, work waiting
    watch.partition(("logs", "0"), committed=60, highwater=100)
    assert watch.stalled_seconds() == 0
    clock.now += 30
    watch.partition(("logs", "0"), committed=100, highwater=100)
    assert watch.stalled_seconds() == 0


def test_a_revoked_partition_is_forgotten() -> None:
    clock = Clock()
    watch = ProgressWatch(clock)
    watch.partition(("logs", "0"), committed=1, highwater=100)
    clock.now += 30
    watch.keep_partitions([("logs", "1")])
    assert watch.stalled_seconds() == 0
