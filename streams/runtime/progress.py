"""Whether the worker's batches are progressing: the signal behind the worker's ``/healthz`` and
``opsassist_worker_stalled_seconds`` (docs/reliability.md).

A worker is stalled when it has work pending and has not progressed on it: a batch under way for
longer than the bound, or a partition whose committed offset is behind its high-water mark and
has not moved for longer than the bound. The second catches what the first cannot see: batches
that keep finishing while one partition's commits are stuck behind an unprocessed batch. A
worker with nothing pending is idle, never stalled, however long it waits.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass


@dataclass(slots=True)
class _Partition:
    committed: int | None
    #: Since when the committed offset has stayed where it is while the partition was behind.
    behind_since: float | None


class ProgressWatch:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._tokens = itertools.count()
        self._batches: dict[int, float] = {}  # batch under way -> when it started
        self._partitions: dict[Hashable, _Partition] = {}
        self._last_batch_done = clock()

    def batch_started(self) -> int:
        token = next(self._tokens)
        self._batches[token] = self._clock()
        return token

    def batch_done(self, token: int) -> None:
        self._batches.pop(token, None)
        self._last_batch_done = self._clock()

    def partition(self, key: Hashable, committed: int | None, highwater: int) -> None:
        """Record a partition's committed offset and high-water mark as last seen."""
        now = self._clock()
        behind = highwater > (committed or 0)
        seen = self._partitions.get(key)
        if seen is None or not behind or seen.committed != committed:
            self._partitions[key] = _Partition(committed, now if behind else None)
        elif seen.behind_since is None:
            seen.behind_since = now

    def keep_partitions(self, keys: Iterable[Hashable]) -> None:
        """Forget partitions no longer assigned (another worker reports them)."""
        kept = set(keys)
        for key in [key for key in self._partitions if key not in kept]:
            del self._partitions[key]

    def stalled_seconds(self) -> float:
        """How long pending work has gone without progress; 0 when progressing or idle."""
        now = self._clock()
        waits = [now - started for started in self._batches.values()]
        waits += [
            now - p.behind_since for p in self._partitions.values() if p.behind_since is not None
        ]
        return max(waits, default=0.0)

    def seconds_since_last_batch(self) -> float:
        return self._clock() - self._last_batch_done
