"""Token and cost budgets: per task per hour, for the whole process per hour, and per run.

A request reserves its worst case (prompt estimate plus ``max_tokens``) before it is sent, so
concurrent requests cannot overshoot together; the reservation is settled to the real usage
when the answer arrives, or released when none came. Budgets are per process: N workers may
spend N times the hourly figure (docs/llm.md).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from opsassist.llm.config import ModelSpec, TaskSpec
from opsassist.llm.errors import BudgetExhausted
from opsassist.llm.resilience import Clock

WINDOW_SECONDS = 3600.0


def estimate_prompt_tokens(messages: list[dict[str, str]]) -> int:
    """An upper-side estimate without a tokenizer: about 3 characters per token for English and
    code, plus a few tokens of framing per message."""
    return sum(len(m["content"]) // 3 + 4 for m in messages)


@dataclass
class _Spend:
    at: float
    tokens: int
    cost_usd: float


@dataclass
class Reservation:
    _entries: list[_Spend]
    _run: RunBudget

    def settle(self, tokens: int, cost_usd: float) -> None:
        self._run.release(self._entries[0].tokens, self._entries[0].cost_usd)
        self._run.charge(tokens, cost_usd)
        for entry in self._entries:
            entry.tokens, entry.cost_usd = tokens, cost_usd

    def release(self) -> None:
        self.settle(0, 0.0)


@dataclass
class RunBudget:
    """What one run of a task may still spend."""

    max_tokens: int | None
    max_cost_usd: float | None
    tokens: int = 0
    cost_usd: float = 0.0

    def fits(self, tokens: int, cost_usd: float) -> bool:
        return (self.max_tokens is None or self.tokens + tokens <= self.max_tokens) and (
            self.max_cost_usd is None or self.cost_usd + cost_usd <= self.max_cost_usd
        )

    def charge(self, tokens: int, cost_usd: float) -> None:
        self.tokens += tokens
        self.cost_usd += cost_usd

    def release(self, tokens: int, cost_usd: float) -> None:
        self.tokens -= tokens
        self.cost_usd -= cost_usd


@dataclass
class Budget:
    """The hourly ledgers of one process."""

    clock: Clock
    max_cost_per_hour_usd: float
    _by_task: dict[str, deque[_Spend]] = field(default_factory=dict, init=False)
    _all: deque[_Spend] = field(default_factory=deque, init=False)

    def _window(self, ledger: deque[_Spend]) -> tuple[int, float]:
        cutoff = self.clock() - WINDOW_SECONDS
        while ledger and ledger[0].at <= cutoff:
            ledger.popleft()
        return sum(s.tokens for s in ledger), sum(s.cost_usd for s in ledger)

    def spent_this_hour(self, task: str) -> tuple[int, float]:
        return self._window(self._by_task.setdefault(task, deque()))

    def reserve(
        self,
        task: str,
        spec: TaskSpec,
        run: RunBudget,
        model: ModelSpec,
        messages: list[dict[str, str]],
    ) -> Reservation:
        prompt_tokens = estimate_prompt_tokens(messages)
        tokens = prompt_tokens + model.max_tokens
        cost = model.cost_usd(prompt_tokens, model.max_tokens)
        task_tokens, task_cost = self.spent_this_hour(task)
        _, all_cost = self._window(self._all)
        reasons = []
        if not run.fits(tokens, cost):
            reasons.append("the run's budget")
        if spec.max_tokens_per_hour is not None and task_tokens + tokens > spec.max_tokens_per_hour:
            reasons.append("the task's hourly tokens")
        if spec.max_cost_per_hour_usd is not None and task_cost + cost > spec.max_cost_per_hour_usd:
            reasons.append("the task's hourly cost")
        if all_cost + cost > self.max_cost_per_hour_usd:
            reasons.append("the process's hourly cost")
        if reasons:
            raise BudgetExhausted(
                f"{task}: a request of up to {tokens} tokens (${cost:.4f}) exceeds "
                + ", ".join(reasons)
            )
        now = self.clock()
        entries = [_Spend(now, tokens, cost), _Spend(now, tokens, cost)]
        self._by_task[task].append(entries[0])
        self._all.append(entries[1])
        run.charge(tokens, cost)
        return Reservation(entries, run)
