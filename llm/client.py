"""The one entry point of the LLM layer: run a task's chain of prompts over some inputs, with
fallbacks, retries, a circuit breaker per provider, a budget, a cache and the personal-data
guard, and hand back either the LLM's answer or the caller's deterministic result, with its
provenance. Provider failures never raise: the deterministic result stands and is counted."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib.resources.abc import Traversable
from typing import Any, TypeVar

import structlog
from openai.types.chat.completion_create_params import ResponseFormat
from pydantic import BaseModel, ValidationError

from opsassist.llm import metrics
from opsassist.llm.budget import Budget, RunBudget
from opsassist.llm.cache import AnswerCache, CachedAnswer, CacheKey, cache_key
from opsassist.llm.chain import Chain, ChainStep, load_chain, run_chain
from opsassist.llm.config import TASKS, LLMConfig, ModelSpec, load_config, provider_endpoints
from opsassist.llm.dispatch import Dispatcher, RequestCount
from opsassist.llm.errors import (
    BudgetExhausted,
    CircuitOpen,
    MalformedOutput,
    PersonalDataFound,
    PromptError,
    ProviderError,
)
from opsassist.llm.guard import PersonalDataCheck, find_personal_data
from opsassist.llm.provider import Completion, Provider
from opsassist.llm.resilience import CircuitBreaker, Clock, RetryPolicy, Sleep
from opsassist.llm.result import LLMResult, Reason, StepRecord
from opsassist.llm.templates import PROMPTS_DIR, PromptLibrary, PromptTemplate, parse_answer
from opsassist.settings import Settings

T = TypeVar("T", bound=BaseModel)
log = structlog.get_logger(__name__)


class _AllModelsFailed(Exception):
    def __init__(self, errors: list[Exception]) -> None:
        super().__init__("; ".join(f"{type(e).__name__}: {e}" for e in errors))
        self.errors = errors


@dataclass
class _Run:
    task: str
    models: list[ModelSpec]
    budget: RunBudget
    records: list[StepRecord] = field(default_factory=list)


class LLMClient:
    """Build with :meth:`from_settings`; share one per process; close with :meth:`aclose`."""

    def __init__(
        self,
        config: LLMConfig,
        providers: dict[str, Provider],
        *,
        cache: AnswerCache | None = None,
        guard: PersonalDataCheck = find_personal_data,
        retry: RetryPolicy | None = None,
        breaker_failures: int = 5,
        breaker_reset_seconds: float = 30.0,
        max_concurrency: int = 4,
        max_cost_per_hour_usd: float = 2.0,
        prompts_dir: Traversable = PROMPTS_DIR,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
        rng: random.Random | None = None,
    ) -> None:
        self._config = config
        self._providers = providers
        self._cache = cache
        self._guard = guard
        self._breakers = {
            name: CircuitBreaker(clock, breaker_failures, breaker_reset_seconds)
            for name in providers
        }
        self._dispatcher = Dispatcher(
            providers=providers,
            breakers=self._breakers,
            budget=Budget(clock, max_cost_per_hour_usd),
            retry=retry or RetryPolicy(),
            max_concurrency=max_concurrency,
            sleep=sleep,
            rng=rng or random.Random(),  # noqa: S311 - jitter, not secrets
        )
        self._library = PromptLibrary.from_directory(prompts_dir)
        self._chains: dict[str, Chain] = {}
        self._prompts_dir = prompts_dir
        for task, spec in config.tasks.items():  # a broken prompt or chain fails at start-up
            self._chain(task, spec.prompt_version)
        reachable = {
            task: [f"{m.provider}/{m.name}" for m in spec.models if m.provider in providers]
            for task, spec in config.tasks.items()
        }
        reachable = {task: models for task, models in reachable.items() if models}
        metrics.export_budgets(
            max_cost_per_hour_usd,
            {task: config.tasks[task].max_cost_per_hour_usd for task in reachable},
        )
        metrics.initialize(reachable, cache=cache is not None)

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        *,
        cache: AnswerCache | None = None,
        guard: PersonalDataCheck = find_personal_data,
        **overrides: Any,
    ) -> LLMClient:
        """The client the settings describe. Without OPENAI_API_KEY/OPENAI_BASE_URL and without
        providers in the configuration file it has no provider and every run is deterministic."""
        config = load_config(settings)
        endpoints = provider_endpoints(config, settings)
        used = {m.provider for task in config.tasks.values() for m in task.models}
        options: dict[str, Any] = {
            "retry": RetryPolicy(
                settings.llm_retry_attempts,
                settings.llm_retry_base_seconds,
                settings.llm_retry_max_seconds,
            ),
            "breaker_failures": settings.llm_breaker_failures,
            "breaker_reset_seconds": settings.llm_breaker_reset_seconds,
            "max_concurrency": settings.llm_max_concurrency,
            "max_cost_per_hour_usd": settings.llm_max_cost_per_hour_usd,
        }
        providers = {name: Provider(e) for name, e in endpoints.items() if name in used}
        if settings.llm_prompts_dir is not None:
            options["prompts_dir"] = settings.llm_prompts_dir
        if not settings.llm_cache:
            cache = None
        return cls(config, providers, cache=cache, guard=guard, **(options | overrides))

    def configured(self, task: str) -> bool:
        """Whether ``task`` may reach an LLM at all."""
        spec = self._config.tasks.get(task)
        return spec is not None and any(m.provider in self._providers for m in spec.models)

    def newest_prompt_version(self, task: str) -> int:
        """The highest version among the prompts of ``task``'s chain."""
        _, templates = self._chain(task, None)
        return max(template.version for _, template in templates)

    def breaker(self, provider: str) -> CircuitBreaker:
        return self._breakers[provider]

    async def aclose(self) -> None:
        for provider in self._providers.values():
            await provider.aclose()

    def _chain(
        self, task: str, version: int | None
    ) -> tuple[Chain, list[tuple[ChainStep, PromptTemplate]]]:
        spec = self._config.tasks.get(task)
        name = (spec.chain if spec else None) or task
        if name not in self._chains:
            self._chains[name] = load_chain(name, self._prompts_dir)
        chain = self._chains[name]
        return chain, chain.templates(self._library, version)

    async def run(
        self,
        task: str,
        inputs: dict[str, Any],
        output_model: type[T],
        deterministic: T,
        *,
        prompt_version: int | None = None,
    ) -> LLMResult[T]:
        """Run ``task``'s chain over ``inputs`` and parse the merged answer into
        ``output_model``; on any failure return ``deterministic`` with the reason.

        Raises :class:`PromptError` when ``inputs`` lack what the chain's prompts need, and
        :class:`ConfigError` for a task that is neither built in nor configured: both are bugs.
        """
        if task not in TASKS and task not in self._config.tasks:
            self._config.task(task)  # raises ConfigError naming the configured tasks
        spec = self._config.tasks.get(task)
        version = (
            prompt_version
            if prompt_version is not None
            else (spec.prompt_version if spec else None)
        )
        chain, templates = self._chain(task, version)
        missing = chain.required_inputs(self._library, version) - inputs.keys()
        if missing:
            raise PromptError(f"task {task} needs the inputs {sorted(missing)}")
        if spec is None or not self.configured(task):
            return self._deterministic(task, deterministic, "not_configured", "no provider", [])
        run = _Run(
            task=task,
            models=[m for m in spec.models if m.provider in self._providers],
            budget=RunBudget(spec.max_tokens_per_run, spec.max_cost_per_run_usd),
        )

        async def step(template: PromptTemplate, values: dict[str, Any]) -> dict[str, Any]:
            return await self._step(run, template, values)

        reason: Reason
        try:
            merged = await run_chain(chain, templates, inputs, step)
            value = output_model.model_validate(merged)
        except PersonalDataFound as exc:
            reason, detail = "personal_data", str(exc)
            metrics.ERRORS.labels(task, "", "personal_data").inc()
        except BudgetExhausted as exc:
            reason, detail = "budget_exhausted", str(exc)
        except (MalformedOutput, ValidationError) as exc:
            reason, detail = "malformed_output", str(exc)
            metrics.ERRORS.labels(task, "", "malformed").inc()
        except _AllModelsFailed as exc:
            reason, detail = _failure_reason(exc.errors), str(exc)
        else:
            metrics.RESULTS.labels(task, "llm", "ok").inc()
            return LLMResult(value, "llm", "ok", task, steps=tuple(run.records))
        return self._deterministic(task, deterministic, reason, detail, run.records)

    async def run_many(
        self,
        task: str,
        batch: Sequence[tuple[dict[str, Any], T]],
        output_model: type[T],
        *,
        prompt_version: int | None = None,
    ) -> list[LLMResult[T]]:
        """:meth:`run` over a batch of ``(inputs, deterministic)`` pairs, concurrently within
        the concurrency limit; the results in the batch's order."""
        return list(
            await asyncio.gather(
                *(
                    self.run(task, inputs, output_model, fallback, prompt_version=prompt_version)
                    for inputs, fallback in batch
                )
            )
        )

    def _deterministic(
        self, task: str, value: T, reason: Reason, detail: str, records: list[StepRecord]
    ) -> LLMResult[T]:
        metrics.RESULTS.labels(task, "deterministic", reason).inc()
        # Refusals by design are routine; failures of a provider or a prompt deserve a look.
        if reason in ("malformed_output", "providers_failed"):
            log.warning("llm_result_deterministic", task=task, reason=reason, detail=detail)
        elif reason != "not_configured":
            log.info("llm_result_deterministic", task=task, reason=reason, detail=detail)
        return LLMResult(value, "deterministic", reason, task, detail, tuple(records))

    async def _step(
        self, run: _Run, template: PromptTemplate, values: dict[str, Any]
    ) -> dict[str, Any]:
        messages = template.render(values)
        self._check_personal_data(messages)
        formats = [
            self._providers[m.provider].response_format(m, template.response_format)
            for m in run.models
        ]
        keys = [
            cache_key(template, m.provider, m, messages, response_format)
            for m, response_format in zip(run.models, formats, strict=True)
        ]
        cached = await self._cached_answer(run, template, keys)
        if cached is not None:
            return cached
        errors: list[Exception] = []
        for position, (model, key, response_format) in enumerate(
            zip(run.models, keys, formats, strict=True)
        ):
            try:
                answer, spent = await self._ask(run, template, model, messages, response_format)
            except (ProviderError, BudgetExhausted) as exc:
                errors.append(exc)
                if position + 1 < len(run.models):
                    metrics.FALLBACKS.labels(run.task, key.model).inc()
                    log.info("llm_fallback", task=run.task, model=key.model, error=str(exc))
                continue
            if self._cache is not None:
                try:
                    await self._cache.put(key, CachedAnswer(answer, *spent))
                except Exception as exc:  # a cache outage must not lose the answer
                    metrics.ERRORS.labels(run.task, key.model, "cache").inc()
                    log.warning("llm_cache_put_failed", task=run.task, error=repr(exc))
            return answer
        raise _AllModelsFailed(errors)

    async def _cached_answer(
        self, run: _Run, template: PromptTemplate, keys: list[CacheKey]
    ) -> dict[str, Any] | None:
        """The first model's cached answer; a cache that fails is a miss, not a failed run."""
        if self._cache is None:
            return None
        for key in keys:
            try:
                hit = await self._cache.get(key)
            except Exception as exc:  # the cache is an optimisation
                metrics.ERRORS.labels(run.task, key.model, "cache").inc()
                log.warning("llm_cache_get_failed", task=run.task, error=repr(exc))
                return None
            if hit is None:
                continue
            try:
                answer = template.output_model.model_validate(hit.answer).model_dump()
            except ValidationError:
                continue  # an answer the template no longer accepts is a miss
            metrics.CACHE_HITS.labels(run.task, key.model).inc()
            run.records.append(
                StepRecord(
                    template.id,
                    template.version,
                    key.model,
                    0,
                    0,
                    0.0,
                    cached=True,
                    requests=0,
                    ok=True,
                )
            )
            return answer
        metrics.CACHE_MISSES.labels(run.task).inc()
        return None

    def _check_personal_data(self, messages: list[dict[str, str]]) -> None:
        kinds = list(self._guard("\n".join(m["content"] for m in messages)))
        if kinds:
            raise PersonalDataFound(kinds)

    async def _ask(
        self,
        run: _Run,
        template: PromptTemplate,
        model: ModelSpec,
        messages: list[dict[str, str]],
        response_format: ResponseFormat | None,
    ) -> tuple[dict[str, Any], tuple[int, int, float]]:
        """One model's answer: the request (with retries), and one repair if it is malformed.
        A refusal gets no repair: asking the same question again would only pay twice."""
        completions: list[Completion] = []
        count = RequestCount()
        spec = self._config.task(run.task)
        ok = False
        try:
            first = await self._dispatcher.send(
                task=run.task,
                spec=spec,
                run_budget=run.budget,
                model=model,
                messages=messages,
                response_format=response_format,
                count=count,
            )
            completions.append(first)
            _raise_on_refusal(first)
            try:
                answer = parse_answer(template, first.text)
            except MalformedOutput as exc:
                repair = [
                    *messages,
                    {"role": "assistant", "content": first.text},
                    {
                        "role": "user",
                        "content": f"That answer is invalid ({exc}). Reply again "
                        "with only the JSON object the schema describes.",
                    },
                ]
                self._check_personal_data(repair)
                try:
                    second = await self._dispatcher.send(
                        task=run.task,
                        spec=spec,
                        run_budget=run.budget,
                        model=model,
                        messages=repair,
                        response_format=response_format,
                        count=count,
                    )
                except ProviderError as failure:
                    raise MalformedOutput(f"{exc}; the repair request failed: {failure}") from None
                completions.append(second)
                _raise_on_refusal(second)
                answer = parse_answer(template, second.text)
            ok = True
            return answer, _spent(model, completions)
        finally:
            prompt_tokens, completion_tokens, cost = _spent(model, completions)
            if count.value:
                run.records.append(
                    StepRecord(
                        template.id,
                        template.version,
                        f"{model.provider}/{model.name}",
                        prompt_tokens,
                        completion_tokens,
                        cost,
                        cached=False,
                        requests=count.value,
                        ok=ok,
                    )
                )


def _raise_on_refusal(completion: Completion) -> None:
    if completion.refusal is not None:
        raise MalformedOutput(f"the model refused: {completion.refusal}")


def _spent(model: ModelSpec, completions: list[Completion]) -> tuple[int, int, float]:
    prompt_tokens = sum(c.prompt_tokens for c in completions)
    completion_tokens = sum(c.completion_tokens for c in completions)
    return prompt_tokens, completion_tokens, model.cost_usd(prompt_tokens, completion_tokens)


def _failure_reason(errors: list[Exception]) -> Reason:
    if errors and all(isinstance(e, CircuitOpen) for e in errors):
        return "circuit_open"
    if errors and all(isinstance(e, BudgetExhausted) for e in errors):
        return "budget_exhausted"
    return "providers_failed"
