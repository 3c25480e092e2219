"""The LLM tests' fixtures (fake OpenAI server, clock, recording sleep, client factory)."""

from tests.unit.llm.conftest import clock, fake_openai, make_client, recorded_sleep

__all__ = ["clock", "fake_openai", "make_client", "recorded_sleep"]
