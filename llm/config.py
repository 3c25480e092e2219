"""What the LLM layer may use: providers (OpenAI or any OpenAI-compatible endpoint), and per task
an ordered list of models to fall back through, each with its timeout, token limit and price.

The file is TOML (``OPSASSIST_LLM_CONFIG_FILE``); without one, ``llm/default_config.toml``
applies. The provider ``openai`` always comes from the settings (``OPENAI_API_KEY``,
``OPENAI_BASE_URL``); other providers name a ``base_url`` in the file and take their key from
``OPSASSIST_LLM_PROVIDER_KEYS`` (a JSON object), so that no secret lives in the file.
"""

from __future__ import annotations

import tomllib
from importlib import resources
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, model_validator

from opsassist.llm.errors import ConfigError
from opsassist.settings import Settings

DEFAULT_CONFIG_FILE = resources.files("opsassist.llm").joinpath("default_config.toml")
OPENAI_PROVIDER = "openai"
TASKS = ("summarize", "triage", "changelog", "changelog_polish")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ModelSpec(_Strict):
    """One model of a task's fallback list."""

    name: str
    provider: str = OPENAI_PROVIDER
    timeout_seconds: float = Field(default=30.0, gt=0)
    max_tokens: int = Field(default=800, gt=0)
    input_usd_per_million_tokens: float = Field(default=0.0, ge=0)
    output_usd_per_million_tokens: float = Field(default=0.0, ge=0)
    temperature: float = Field(default=0.0, ge=0, le=2)
    # OpenAI's reasoning models take max_completion_tokens; compatible servers take max_tokens.
    token_limit_parameter: Literal["max_tokens", "max_completion_tokens"] = "max_tokens"  # noqa: S105
    # Ask for response_format=json_object where json_schema is off; turn off for servers that
    # reject it.
    json_mode: bool = True
    # Ask for strict structured output (response_format=json_schema, generated from the prompt's
    # answer model); unset: the provider's setting. False for a model that rejects it.
    json_schema: bool | None = None

    def cost_usd(self, prompt_tokens: int, completion_tokens: int) -> float:
        return (
            prompt_tokens * self.input_usd_per_million_tokens
            + completion_tokens * self.output_usd_per_million_tokens
        ) / 1_000_000


class TaskSpec(_Strict):
    """A task: its chain of prompts, its models in fallback order, and its budget."""

    models: list[ModelSpec] = Field(min_length=1)
    chain: str | None = None  # the chain file's name; the task's name when unset
    prompt_version: int | None = None  # newest prompt version <= this; newest when unset
    max_tokens_per_run: int | None = Field(default=None, gt=0)
    max_cost_per_run_usd: float | None = Field(default=None, gt=0)
    max_tokens_per_hour: int | None = Field(default=None, gt=0)
    max_cost_per_hour_usd: float | None = Field(default=None, gt=0)


class ProviderSpec(_Strict):
    base_url: str
    # Set for Azure OpenAI's classic API (deployments, ``api-version``): base_url is then the
    # resource endpoint and a model's name is its deployment name. Its v1 endpoint needs none.
    api_version: str | None = None
    # Whether the server accepts response_format=json_schema with strict: true (OpenAI's API
    # does); false for one that rejects or ignores it: json_mode and the schema in the prompt
    # then carry the format alone, and the answer is validated as always.
    json_schema: bool = True


class LLMConfig(_Strict):
    providers: dict[str, ProviderSpec] = Field(default_factory=dict)
    tasks: dict[str, TaskSpec] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _models_name_known_providers(self) -> LLMConfig:
        if OPENAI_PROVIDER in self.providers:
            raise ValueError(
                f"provider {OPENAI_PROVIDER!r} is configured by OPENAI_API_KEY/OPENAI_BASE_URL, "
                "not in the file"
            )
        known = {OPENAI_PROVIDER, *self.providers}
        for task, spec in self.tasks.items():
            for model in spec.models:
                if model.provider not in known:
                    raise ValueError(
                        f"task {task!r}: model {model.name!r} names unknown "
                        f"provider {model.provider!r}"
                    )
        return self

    def task(self, name: str) -> TaskSpec:
        try:
            return self.tasks[name]
        except KeyError:
            raise ConfigError(f"no LLM task {name!r}; configured: {sorted(self.tasks)}") from None


def parse_config(text: str, source: str) -> LLMConfig:
    try:
        return LLMConfig.model_validate(tomllib.loads(text))
    except (tomllib.TOMLDecodeError, ValidationError) as exc:
        raise ConfigError(f"{source}: {exc}") from exc


def load_config(settings: Settings) -> LLMConfig:
    """The configuration file the settings name, or the built-in defaults."""
    path = settings.llm_config_file or DEFAULT_CONFIG_FILE
    try:
        text = path.read_text()
    except OSError as exc:
        raise ConfigError(f"cannot read the LLM configuration {path}: {exc}") from exc
    return parse_config(text, str(path))


class ProviderEndpoint(BaseModel):
    """Where and how to reach one provider; ``None`` base URL means OpenAI's own API."""

    model_config = ConfigDict(frozen=True)

    name: str
    base_url: str | None
    api_key: str
    api_version: str | None = None
    json_schema: bool = True


def provider_endpoints(config: LLMConfig, settings: Settings) -> dict[str, ProviderEndpoint]:
    """The providers that are usable: ``openai`` when a key or base URL is set, and every file
    provider. A local server without authentication still needs some key for the SDK."""
    endpoints: dict[str, ProviderEndpoint] = {}
    openai_api_key = settings.openai_api_key.get_secret_value()
    if openai_api_key or settings.openai_base_url:
        endpoints[OPENAI_PROVIDER] = ProviderEndpoint(
            name=OPENAI_PROVIDER,
            base_url=settings.openai_base_url or None,
            api_key=openai_api_key or "not-needed",
        )
    for name, spec in config.providers.items():
        endpoints[name] = ProviderEndpoint(
            name=name,
            base_url=spec.base_url,
            api_key=settings.llm_provider_keys.get(name, SecretStr("")).get_secret_value()
            or "not-needed",
            api_version=spec.api_version,
            json_schema=spec.json_schema,
        )
    return endpoints
