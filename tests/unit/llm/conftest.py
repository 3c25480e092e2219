"""Fixtures of the LLM tests: the fake OpenAI-compatible server, a controllable clock, a sleep
that records instead of waiting, and a client wired to all three."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from prometheus_client import REGISTRY

from opsassist.llm import LLMClient, LLMConfig, Provider, RetryPolicy
from opsassist.llm.config import TASKS, ProviderEndpoint
from tests.unit.llm.fake_openai import FakeOpenAI


@dataclass
class FakeClock:
    now: float = 1_000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class RecordingSleep:
    delays: list[float] = field(default_factory=list)

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


@pytest.fixture
async def fake_openai() -> AsyncIterator[FakeOpenAI]:
    server = FakeOpenAI()
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def recorded_sleep() -> RecordingSleep:
    return RecordingSleep()


def config_for(models: list[dict[str, Any]], **task: Any) -> LLMConfig:
    """Every built-in task on these models of the provider ``fake``."""
    spec = {"models": [{"provider": "fake", **m} for m in models], **task}
    return LLMConfig.model_validate(
        {
            "providers": {"fake": {"base_url": "http://unused"}},
            "tasks": dict.fromkeys(TASKS, spec),
        }
    )


@pytest.fixture
async def make_client(
    fake_openai: FakeOpenAI, clock: FakeClock, recorded_sleep: RecordingSleep
) -> AsyncIterator[Callable[..., LLMClient]]:
    made: list[LLMClient] = []

    def make(config: LLMConfig, *, json_schema: bool = True, **options: Any) -> LLMClient:
        endpoint = ProviderEndpoint(
            name="fake", base_url=fake_openai.base_url, api_key="k", json_schema=json_schema
        )
        options = {
            "retry": RetryPolicy(attempts=3, base_seconds=0.5, max_seconds=20),
            "clock": clock,
            "sleep": recorded_sleep,
            "rng": random.Random(7),
            **options,
        }
        client = LLMClient(config, {"fake": Provider(endpoint)}, **options)
        made.append(client)
        return client

    yield make
    for client in made:
        await client.aclose()


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0
