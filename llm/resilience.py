"""Retry delays (exponential backoff, full jitter, at least the provider's ``Retry-After``) and a
circuit breaker per provider. Time and randomness are injected so that tests need not wait."""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from enum import Enum

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 3  # requests per model, the first one included
    base_seconds: float = 0.5
    max_seconds: float = 20.0

    def delay(self, retry: int, retry_after: float | None, rng: random.Random) -> float | None:
        """Seconds to wait before retry number ``retry`` (1-based), or ``None`` when the
        provider asks for a longer wait than we are willing to block a worker for.

        Full jitter (uniform in [0, min(max, base * 2^(retry-1))]) spreads the retries of many
        workers; a ``Retry-After`` is a floor, because retrying earlier only earns another 429.
        """
        if retry_after is not None and retry_after > self.max_seconds:
            return None
        ceiling = min(self.max_seconds, self.base_seconds * 2 ** (retry - 1))
        jittered = rng.uniform(0, ceiling)
        return max(jittered, retry_after or 0.0)


class BreakerState(Enum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


@dataclass
class CircuitBreaker:
    """Opens after ``failure_threshold`` consecutive failures; after ``reset_seconds`` lets one
    trial request through (half-open): its success closes the breaker, its failure reopens it."""

    clock: Clock
    failure_threshold: int = 5
    reset_seconds: float = 30.0
    _failures: int = field(default=0, init=False)
    _opened_at: float | None = field(default=None, init=False)
    _trial_in_flight: bool = field(default=False, init=False)

    @property
    def state(self) -> BreakerState:
        if self._opened_at is None:
            return BreakerState.CLOSED
        if self.clock() - self._opened_at >= self.reset_seconds:
            return BreakerState.HALF_OPEN
        return BreakerState.OPEN

    def allow(self) -> bool:
        """Whether a request may go out now; in half-open state only the one trial request."""
        state = self.state
        if state is BreakerState.CLOSED:
            return True
        if state is BreakerState.HALF_OPEN and not self._trial_in_flight:
            self._trial_in_flight = True
            return True
        return False

    def record_success(self) -> None:
        self._failures = 0
        self._opened_at = None
        self._trial_in_flight = False

    def record_failure(self) -> None:
        self._failures += 1
        if self._trial_in_flight or self._failures >= self.failure_threshold:
            self._opened_at = self.clock()
        self._trial_in_flight = False

    def record_neutral(self) -> None:
        """An answer that says nothing about the provider's health (a 4xx): a trial may end."""
        self._trial_in_flight = False
