"""The LLM layer's errors. Failures of a provider never reach the caller of
:meth:`llm.LLMClient.run` (the deterministic result stands instead); configuration and prompt
errors do, because they are bugs to fix, not conditions to ride out."""

from __future__ import annotations


class LLMError(Exception):
    """Base of every error of the LLM layer."""


class ConfigError(LLMError):
    """The LLM configuration (file or settings) is invalid or names something unknown."""


class PromptError(LLMError):
    """A prompt template or chain is missing, inconsistent, or lacks an input it needs."""


class ProviderError(LLMError):
    """A request to a provider failed."""

    def __init__(self, message: str, *, provider: str, model: str) -> None:
        super().__init__(message)
        self.provider = provider
        self.model = model


class RetryableProviderError(ProviderError):
    """Worth another request after a while; ``retry_after`` is the provider's ``Retry-After``
    in seconds, when it sent one."""

    def __init__(
        self, message: str, *, provider: str, model: str, retry_after: float | None = None
    ) -> None:
        super().__init__(message, provider=provider, model=model)
        self.retry_after = retry_after


class RateLimited(RetryableProviderError):
    """HTTP 429: the provider is up but busy."""


class ProviderUnavailable(RetryableProviderError):
    """A 5xx answer or a connection failure; counted by the circuit breaker."""


class ProviderTimeout(ProviderError):
    """No answer within the model's timeout: the next model is tried, not the same one again."""


class ProviderRejected(ProviderError):
    """A 4xx answer other than 429 (bad key, unknown model, request too large): not retried."""


class MalformedOutput(LLMError):
    """The answer was not the JSON object the prompt asks for, even after the repair attempt."""


class PersonalDataFound(LLMError):
    """The text to send still contains personal data; nothing was sent."""

    def __init__(self, kinds: list[str]) -> None:
        super().__init__(f"personal data in the prompt: {', '.join(kinds)}")
        self.kinds = kinds


class BudgetExhausted(LLMError):
    """The task's or the process's token or cost budget does not allow the request."""


class CircuitOpen(ProviderError):
    """The provider's circuit breaker is open: nothing was sent to it."""
