"""Answers cached by prompt id and version, model and a hash of everything sent, so that the
same request is never paid for twice. The PostgreSQL implementation is
:class:`opsassist.store.llm_cache.PostgresAnswerCache`; :class:`InMemoryAnswerCache` serves tests
and the
``eval`` command."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any, Protocol

from openai.types.chat.completion_create_params import ResponseFormat

from opsassist.llm.config import ModelSpec
from opsassist.llm.templates import PromptTemplate


@dataclass(frozen=True)
class CacheKey:
    prompt_id: str
    prompt_version: int
    model: str
    input_hash: str

    @property
    def digest(self) -> str:
        raw = f"{self.prompt_id}\x00{self.prompt_version}\x00{self.model}\x00{self.input_hash}"
        return hashlib.sha256(raw.encode()).hexdigest()


@dataclass(frozen=True)
class CachedAnswer:
    answer: dict[str, Any]
    prompt_tokens: int  # what the original request cost, for the record
    completion_tokens: int
    cost_usd: float


class AnswerCache(Protocol):
    async def get(self, key: CacheKey) -> CachedAnswer | None: ...

    async def put(self, key: CacheKey, answer: CachedAnswer) -> None: ...


def cache_key(
    template: PromptTemplate,
    provider: str,
    model: ModelSpec,
    messages: list[dict[str, str]],
    response_format: ResponseFormat | None,
) -> CacheKey:
    """The key of a request. The input hash covers the messages and every setting that
    changes the answer, the response format asked for included (strict JSON Schema, JSON
    object or none); the same model name at two providers is two models."""
    material = json.dumps(
        {
            "messages": messages,
            "temperature": model.temperature,
            "max_tokens": model.max_tokens,
            "response_format": response_format,
        },
        sort_keys=True,
        ensure_ascii=False,
    )
    return CacheKey(
        prompt_id=template.id,
        prompt_version=template.version,
        model=f"{provider}/{model.name}",
        input_hash=hashlib.sha256(material.encode()).hexdigest(),
    )


class InMemoryAnswerCache:
    def __init__(self) -> None:
        self._answers: dict[str, CachedAnswer] = {}

    async def get(self, key: CacheKey) -> CachedAnswer | None:
        return self._answers.get(key.digest)

    async def put(self, key: CacheKey, answer: CachedAnswer) -> None:
        self._answers[key.digest] = answer

    def __len__(self) -> int:
        return len(self._answers)
