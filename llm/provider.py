"""One OpenAI or OpenAI-compatible endpoint, through the ``openai`` SDK (``AsyncOpenAI``).

The SDK's own retries are off: retries, fallbacks and the circuit breaker are decided in one
place (:mod:`opsassist.llm.client`). SDK exceptions become the typed errors of
:mod:`opsassist.llm.errors`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import openai
from openai.types.chat.completion_create_params import ResponseFormat
from openai.types.shared_params import ResponseFormatJSONSchema

from opsassist.llm.config import ModelSpec, ProviderEndpoint
from opsassist.llm.errors import (
    ProviderError,
    ProviderRejected,
    ProviderTimeout,
    ProviderUnavailable,
    RateLimited,
)


@dataclass(frozen=True)
class Completion:
    text: str
    prompt_tokens: int
    completion_tokens: int
    seconds: float
    # Strict structured output answers a request it will not fulfil with a refusal, not text.
    refusal: str | None = None


def _retry_after(error: openai.APIStatusError) -> float | None:
    """Seconds the provider asks us to wait: ``retry-after-ms``, or ``Retry-After`` in seconds
    or as an HTTP date."""
    headers = error.response.headers
    milliseconds = headers.get("retry-after-ms")
    if milliseconds is not None:
        try:
            return max(0.0, float(milliseconds) / 1000)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


class Provider:
    def __init__(self, endpoint: ProviderEndpoint) -> None:
        self.name = endpoint.name
        self._json_schema = endpoint.json_schema
        self._client: openai.AsyncOpenAI
        if endpoint.api_version is not None and endpoint.base_url is not None:
            self._client = openai.AsyncAzureOpenAI(
                azure_endpoint=endpoint.base_url,
                api_version=endpoint.api_version,
                api_key=endpoint.api_key,
                max_retries=0,
            )
        else:
            self._client = openai.AsyncOpenAI(
                api_key=endpoint.api_key, base_url=endpoint.base_url, max_retries=0
            )

    def response_format(
        self, model: ModelSpec, strict: ResponseFormatJSONSchema
    ) -> ResponseFormat | None:
        """What to ask of ``model``: the prompt's strict JSON Schema where the model (or else its
        provider) supports it; otherwise a JSON object (``json_mode``), or nothing, leaving the
        format to the schema in the prompt."""
        json_schema = self._json_schema if model.json_schema is None else model.json_schema
        if json_schema:
            return strict
        if model.json_mode:
            return {"type": "json_object"}
        return None

    async def complete(
        self,
        model: ModelSpec,
        messages: list[dict[str, str]],
        response_format: ResponseFormat | None = None,
    ) -> Completion:
        options: dict[str, Any] = {model.token_limit_parameter: model.max_tokens}
        if response_format is not None:
            options["response_format"] = response_format
        started = time.perf_counter()
        try:
            response = await self._client.chat.completions.create(
                model=model.name,
                messages=messages,  # type: ignore[arg-type]
                temperature=model.temperature,
                timeout=model.timeout_seconds,
                **options,
            )
        except openai.APITimeoutError as exc:
            raise ProviderTimeout(str(exc), provider=self.name, model=model.name) from exc
        except openai.RateLimitError as exc:
            raise RateLimited(
                str(exc), provider=self.name, model=model.name, retry_after=_retry_after(exc)
            ) from exc
        except openai.APIStatusError as exc:
            if exc.status_code >= 500:
                raise ProviderUnavailable(
                    str(exc), provider=self.name, model=model.name, retry_after=_retry_after(exc)
                ) from exc
            raise ProviderRejected(str(exc), provider=self.name, model=model.name) from exc
        except openai.APIConnectionError as exc:
            raise ProviderUnavailable(str(exc), provider=self.name, model=model.name) from exc
        except openai.OpenAIError as exc:
            raise ProviderError(str(exc), provider=self.name, model=model.name) from exc
        seconds = time.perf_counter() - started
        message = response.choices[0].message if response.choices else None
        usage = response.usage
        return Completion(
            text=(message.content if message else None) or "",
            prompt_tokens=usage.prompt_tokens if usage else 0,
            completion_tokens=usage.completion_tokens if usage else 0,
            seconds=seconds,
            refusal=message.refusal if message else None,
        )

    async def aclose(self) -> None:
        await self._client.close()
