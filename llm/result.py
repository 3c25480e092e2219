"""What :meth:`llm.LLMClient.run` hands back: the value, who produced it, and its provenance."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Generic, Literal, TypeVar

T = TypeVar("T")

ProducedBy = Literal["llm", "deterministic"]
Reason = Literal[
    "ok",  # the LLM answered
    "not_configured",  # no provider is configured for the task's models
    "personal_data",  # the text to send still contained personal data; nothing was sent
    "budget_exhausted",  # the run's, task's hourly or process's hourly budget did not allow it
    "circuit_open",  # every provider of the task is failing; nothing was sent
    "malformed_output",  # the answer did not parse, even after one repair attempt
    "providers_failed",  # every model failed (errors, timeouts, rate limits)
]


@dataclass(frozen=True)
class StepRecord:
    """One prompt of the chain as it was answered. Tokens and cost are what this run spent:
    zero for an answer from the cache; a failed step records what its requests cost too."""

    prompt_id: str
    prompt_version: int
    model: str  # provider/model
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float
    cached: bool
    requests: int  # HTTP requests made, retries and the repair attempt included
    ok: bool


@dataclass(frozen=True)
class LLMResult(Generic[T]):
    value: T
    produced_by: ProducedBy
    reason: Reason
    task: str
    detail: str = ""  # why the deterministic result stands, in words
    steps: tuple[StepRecord, ...] = ()

    @property
    def prompts(self) -> tuple[tuple[str, int], ...]:
        """(prompt id, version) of each distinct prompt used, in chain order."""
        return tuple(dict.fromkeys((s.prompt_id, s.prompt_version) for s in self.steps))

    @property
    def models(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(s.model for s in self.steps if s.ok))

    @property
    def prompt_tokens(self) -> int:
        return sum(s.prompt_tokens for s in self.steps)

    @property
    def completion_tokens(self) -> int:
        return sum(s.completion_tokens for s in self.steps)

    @property
    def cost_usd(self) -> float:
        return sum(s.cost_usd for s in self.steps)

    @property
    def cached(self) -> bool:
        """Every step came from the cache (no request was made)."""
        return bool(self.steps) and all(s.cached for s in self.steps)

    def provenance(self) -> dict[str, Any]:
        """Who produced the value and at what cost, as JSON-ready data to store beside it."""
        return {
            "produced_by": self.produced_by,
            "reason": self.reason,
            "task": self.task,
            "prompts": [{"id": pid, "version": version} for pid, version in self.prompts],
            "models": list(self.models),
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "cost_usd": self.cost_usd,
            "cached": self.cached,
            "steps": [asdict(step) for step in self.steps],
        }
