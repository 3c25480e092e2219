"""The LLM layer: OpenAI or any OpenAI-compatible endpoint, per task, with versioned prompt
files, declared chains, fallbacks, retries, a circuit breaker, a budget, a cache and a
personal-data guard. Everything works without it: :meth:`LLMClient.run` then hands back the
caller's deterministic result, saying so.

    client = LLMClient.from_settings(settings, cache=PostgresAnswerCache(pool))
    result = await client.run("summarize", {"service": ..., "window": ..., "groups": [...]},
                              IncidentText, deterministic=IncidentText(...))
    result.value, result.produced_by, result.reason, result.prompts, result.cost_usd
"""

from opsassist.llm.cache import AnswerCache, CachedAnswer, CacheKey, InMemoryAnswerCache
from opsassist.llm.chain import Chain, ChainStep, load_chain
from opsassist.llm.client import LLMClient
from opsassist.llm.config import (
    TASKS,
    LLMConfig,
    ModelSpec,
    ProviderSpec,
    TaskSpec,
    load_config,
    parse_config,
)
from opsassist.llm.errors import (
    BudgetExhausted,
    CircuitOpen,
    ConfigError,
    LLMError,
    MalformedOutput,
    PersonalDataFound,
    PromptError,
    ProviderError,
)
from opsassist.llm.guard import PersonalDataCheck, find_personal_data
from opsassist.llm.provider import Provider
from opsassist.llm.resilience import BreakerState, CircuitBreaker, RetryPolicy
from opsassist.llm.result import LLMResult, ProducedBy, Reason, StepRecord
from opsassist.llm.templates import PromptLibrary, PromptTemplate, parse_answer

__all__ = [
    "TASKS",
    "AnswerCache",
    "BreakerState",
    "BudgetExhausted",
    "CacheKey",
    "CachedAnswer",
    "Chain",
    "ChainStep",
    "CircuitBreaker",
    "CircuitOpen",
    "ConfigError",
    "InMemoryAnswerCache",
    "LLMClient",
    "LLMConfig",
    "LLMError",
    "LLMResult",
    "MalformedOutput",
    "ModelSpec",
    "PersonalDataCheck",
    "PersonalDataFound",
    "ProducedBy",
    "PromptError",
    "PromptLibrary",
    "PromptTemplate",
    "Provider",
    "ProviderError",
    "ProviderSpec",
    "Reason",
    "RetryPolicy",
    "StepRecord",
    "TaskSpec",
    "find_personal_data",
    "load_chain",
    "load_config",
    "parse_answer",
    "parse_config",
]
