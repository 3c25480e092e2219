"""Backoff delays and the circuit breaker, on a controlled clock."""

from __future__ import annotations

import random

from opsassist.llm import BreakerState, CircuitBreaker, RetryPolicy
from tests.unit.llm.conftest import FakeClock


def test_full_jitter_stays_under_the_exponential_ceiling() -> None:
    policy = RetryPolicy(attempts=6, base_seconds=0.5, max_seconds=4)
    rng = random.Random(1)
    for retry, ceiling in [(1, 0.5), (2, 1.0), (3, 2.0), (4, 4.0), (5, 4.0)]:
        delays = [policy.delay(retry, None, rng) for _ in range(200)]
        assert all(d is not None and 0 <= d <= ceiling for d in delays)
        assert max(d for d in delays if d is not None) > ceiling / 2  # jitter spreads them


def test_retry_after_is_a_floor_and_a_too_long_one_gives_up() -> None:
    policy = RetryPolicy(attempts=3, base_seconds=0.5, max_seconds=10)
    rng = random.Random(1)
    assert policy.delay(1, 3.0, rng) == 3.0
    assert policy.delay(1, 11.0, rng) is None


def test_breaker_opens_after_consecutive_failures_only() -> None:
    clock = FakeClock()
    breaker = CircuitBreaker(clock, failure_threshold=3, reset_seconds=10)
    breaker.record_failure()
    breaker.record_failure()
    breaker.record_success()
    breaker.record_failure()
    breaker.record_failure()
    assert breaker.state is BreakerState.CLOSED and breaker.allow()
    breaker.record_failure()
    assert breaker.state is BreakerState.OPEN and not breaker.allow()


def test_half_open_lets_exactly_one_trial_through() -> None:
    clock = FakeClock()
    breaker = CircuitBreaker(clock, failure_threshold=1, reset_seconds=10)
    breaker.record_failure()
    clock.advance(9.9)
    assert not breaker.allow()
    clock.advance(0.1)
    assert breaker.state is BreakerState.HALF_OPEN
    assert breaker.allow()
    assert not breaker.allow()  # the trial is in flight
    breaker.record_failure()
    assert breaker.state is BreakerState.OPEN
    clock.advance(10)
    assert breaker.allow()
    breaker.record_success()
    assert breaker.state is BreakerState.CLOSED and breaker.allow() and breaker.allow()
