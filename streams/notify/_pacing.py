"""The pace of deliveries, as plain arithmetic the notifier sleeps on: the wait between
attempts, a route's rate limit, and which offsets may be committed while routes finish records
out of order."""

from __future__ import annotations

import random
from collections import deque
from collections.abc import Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)


def backoff_seconds(attempt: int, base: float, ceiling: float) -> float:
    """The wait after failed ``attempt`` (1-based): exponential with full jitter, so that
    notifiers retrying one receiver after its outage do not all come back at once."""
    return random.uniform(0, min(ceiling, base * 2 ** (attempt - 1)))  # noqa: S311 (not secret)


class RateLimit:
    """At most ``per_minute`` deliveries in any 60 s. A delivery over it waits its turn (a page
    is never dropped for being one too many), holding up only its own route."""

    def __init__(self, per_minute: int) -> None:
        # the latest per_minute delivery times (past or reserved): the oldest of them decides
        self._sent: deque[float] = deque(maxlen=per_minute)

    def reserve(self, now: float) -> float:
        """Reserve the next delivery's turn; how long after ``now`` (seconds on a monotonic
        clock) it is."""
        full = len(self._sent) == self._sent.maxlen
        at = max(now, self._sent[0] + 60.0) if full else now
        self._sent.append(at)
        return at - now


class OffsetTracker(Generic[K]):
    """What may be committed per partition (``K``) while records finish out of order: up to the
    oldest record still in flight, so a crash redelivers it (and the record of deliveries made
    keeps those from being sent twice)."""

    def __init__(self) -> None:
        self._pending: dict[K, set[int]] = {}
        self._next: dict[K, int] = {}
        self._committed: dict[K, int] = {}

    @property
    def in_flight(self) -> int:
        return sum(len(offsets) for offsets in self._pending.values())

    def started(self, partition: K, offset: int) -> None:
        self._pending.setdefault(partition, set()).add(offset)
        self._next[partition] = max(self._next.get(partition, 0), offset + 1)

    def finished(self, partition: K, offset: int) -> None:
        self._pending.get(partition, set()).discard(offset)

    def forget(self, partition: K) -> None:
        """The partition went to another consumer: its records still in flight finish here
        (the delivery record deduplicates them there), but nothing more is committed for it."""
        self._pending.pop(partition, None)
        self._next.pop(partition, None)
        self._committed.pop(partition, None)

    def committable(self) -> dict[K, int]:
        """The offset to commit per partition where it moved since :meth:`committed`."""
        ready = {}
        for partition, following in self._next.items():
            pending = self._pending.get(partition)
            offset = min(pending) if pending else following
            if self._committed.get(partition) != offset:
                ready[partition] = offset
        return ready

    def committed(self, offsets: dict[K, int]) -> None:
        self._committed.update(offsets)
