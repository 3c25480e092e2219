"""Sending one request to one model: within the budget, through the provider's circuit breaker
and the process's concurrency limit, retried after a jittered backoff that honours
``Retry-After``; every request counted in the metrics."""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass, replace

from openai.types.chat.completion_create_params import ResponseFormat

from opsassist.llm import metrics
from opsassist.llm.budget import Budget, Reservation, RunBudget, estimate_prompt_tokens
from opsassist.llm.config import ModelSpec, TaskSpec
from opsassist.llm.errors import (
    BudgetExhausted,
    CircuitOpen,
    ProviderError,
    ProviderRejected,
    ProviderTimeout,
    ProviderUnavailable,
    RateLimited,
)
from opsassist.llm.provider import Completion, Provider
from opsassist.llm.resilience import CircuitBreaker, RetryPolicy, Sleep

_RETRIED = (RateLimited, ProviderUnavailable, ProviderTimeout)
_OUTCOME = {
    RateLimited: "rate_limited",
    ProviderTimeout: "timeout",
    ProviderUnavailable: "unavailable",
}


@dataclass
class RequestCount:
    """HTTP requests made for one step, across retries and the repair attempt."""

    value: int = 0


class Dispatcher:
    def __init__(
        self,
        *,
        providers: dict[str, Provider],
        breakers: dict[str, CircuitBreaker],
        budget: Budget,
        retry: RetryPolicy,
        max_concurrency: int,
        sleep: Sleep,
        rng: random.Random,
    ) -> None:
        self._providers = providers
        self._breakers = breakers
        self._budget = budget
        self._retry = retry
        self._semaphore = asyncio.Semaphore(max_concurrency)
        self._sleep = sleep
        self._rng = rng

    async def send(
        self,
        *,
        task: str,
        spec: TaskSpec,
        run_budget: RunBudget,
        model: ModelSpec,
        messages: list[dict[str, str]],
        response_format: ResponseFormat | None,
        count: RequestCount,
    ) -> Completion:
        """The model's completion. 429 and 5xx are retried (up to the policy's attempts);
        a timeout, a 4xx, an open circuit or an exhausted budget raise at once, so that the
        caller moves on to the next model."""
        label = f"{model.provider}/{model.name}"
        breaker = self._breakers[model.provider]
        attempt = 0
        last_error: ProviderError | None = None
        while True:
            attempt += 1
            try:
                reservation = self._admit(
                    task=task,
                    spec=spec,
                    run_budget=run_budget,
                    model=model,
                    messages=messages,
                    label=label,
                )
            except CircuitOpen:
                if last_error is None:
                    raise
                raise last_error from None  # our own retries opened it: report what failed
            count.value += 1
            try:
                async with self._semaphore:
                    completion = await self._providers[model.provider].complete(
                        model, messages, response_format
                    )
            except _RETRIED as exc:
                reservation.release()
                outcome = _OUTCOME[type(exc)]
                metrics.REQUESTS.labels(task, label, outcome).inc()
                metrics.ERRORS.labels(task, label, outcome).inc()
                # A 429 says the provider is up and busy: not a failure for the breaker.
                if isinstance(exc, RateLimited):
                    breaker.record_neutral()
                else:
                    breaker.record_failure()
                last_error = exc
                retry_after = None if isinstance(exc, ProviderTimeout) else exc.retry_after
                if isinstance(exc, ProviderTimeout) or attempt >= self._retry.attempts:
                    raise
                delay = self._retry.delay(attempt, retry_after, self._rng)
                if delay is None:
                    raise
                await self._sleep(delay)
                continue
            except BaseException as exc:
                reservation.release()
                breaker.record_neutral()
                if isinstance(exc, ProviderError):
                    kind = "rejected" if isinstance(exc, ProviderRejected) else "error"
                    metrics.REQUESTS.labels(task, label, kind).inc()
                    metrics.ERRORS.labels(task, label, kind).inc()
                raise
            breaker.record_success()
            return self._account(
                task=task,
                label=label,
                model=model,
                messages=messages,
                completion=completion,
                reservation=reservation,
            )

    def _admit(
        self,
        *,
        task: str,
        spec: TaskSpec,
        run_budget: RunBudget,
        model: ModelSpec,
        messages: list[dict[str, str]],
        label: str,
    ) -> Reservation:
        try:
            reservation = self._budget.reserve(task, spec, run_budget, model, messages)
        except BudgetExhausted:
            metrics.ERRORS.labels(task, label, "budget_exhausted").inc()
            raise
        if not self._breakers[model.provider].allow():
            reservation.release()
            metrics.ERRORS.labels(task, label, "circuit_open").inc()
            raise CircuitOpen("circuit open", provider=model.provider, model=model.name)
        return reservation

    @staticmethod
    def _account(
        *,
        task: str,
        label: str,
        model: ModelSpec,
        messages: list[dict[str, str]],
        completion: Completion,
        reservation: Reservation,
    ) -> Completion:
        if not (completion.prompt_tokens or completion.completion_tokens):
            # Servers that report no usage get our estimate, so that budgets still hold.
            completion = replace(
                completion,
                prompt_tokens=estimate_prompt_tokens(messages),
                completion_tokens=len(completion.text) // 3 + 1,
            )
        cost = model.cost_usd(completion.prompt_tokens, completion.completion_tokens)
        reservation.settle(completion.prompt_tokens + completion.completion_tokens, cost)
        metrics.REQUESTS.labels(task, label, "ok").inc()
        metrics.LATENCY.labels(task, label).observe(completion.seconds)
        metrics.TOKENS.labels(task, label, "prompt").inc(completion.prompt_tokens)
        metrics.TOKENS.labels(task, label, "completion").inc(completion.completion_tokens)
        metrics.COST.labels(task, label).inc(cost)
        return completion
