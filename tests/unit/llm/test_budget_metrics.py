"""The client publishes the hourly budgets it enforces, and creates at zero the series the budget
alerts read (observability/prometheus/rules/opsassist.yml)."""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import REGISTRY

from opsassist.llm import InMemoryAnswerCache, LLMClient, LLMConfig
from tests.unit.llm.conftest import config_for

PRIMARY = {"name": "primary", "max_tokens": 200}


def budget(task: str | None = None) -> float | None:
    labels = {"scope": "process", "task": ""} if task is None else {"scope": "task", "task": task}
    return REGISTRY.get_sample_value("opsassist_llm_budget_usd_per_hour", labels)


async def test_a_client_exports_its_process_and_task_budgets(
    make_client: Callable[..., LLMClient],
) -> None:
    make_client(config_for([PRIMARY], max_cost_per_hour_usd=0.25), max_cost_per_hour_usd=1.5)

    assert budget() == 1.5
    assert budget("triage") == 0.25
    assert budget("summarize") == 0.25


async def test_a_later_client_replaces_the_budgets_and_tasks_without_one_have_no_series(
    make_client: Callable[..., LLMClient],
) -> None:
    make_client(config_for([PRIMARY], max_cost_per_hour_usd=0.25), max_cost_per_hour_usd=1.5)
    make_client(config_for([PRIMARY]), max_cost_per_hour_usd=3.0)  # no task budget

    assert budget() == 3.0
    assert budget("triage") is None


async def test_series_that_alerts_and_ratios_read_exist_at_zero_before_any_request(
    make_client: Callable[..., LLMClient],
) -> None:
    config = LLMConfig.model_validate(
        {
            "providers": {"fake": {"base_url": "http://unused"}, "other": {"base_url": "http://x"}},
            "tasks": {
                "changelog": {
                    "models": [
                        {"provider": "fake", "name": "unasked-model"},
                        {"provider": "other", "name": "unreachable-model"},
                    ]
                }
            },
        }
    )
    # the fixture configures the provider "fake" only: "other" is never asked
    make_client(config, cache=InMemoryAnswerCache())

    labels = {"task": "changelog", "model": "fake/unasked-model"}
    assert REGISTRY.get_sample_value("opsassist_llm_cost_usd_total", labels) == 0.0
    assert (
        REGISTRY.get_sample_value(
            "opsassist_llm_errors_total", {**labels, "kind": "budget_exhausted"}
        )
        == 0.0
    )
    results = {"task": "changelog", "produced_by": "deterministic", "reason": "budget_exhausted"}
    assert REGISTRY.get_sample_value("opsassist_llm_results_total", results) == 0.0
    assert REGISTRY.get_sample_value("opsassist_llm_cache_hits_total", labels) == 0.0
    assert REGISTRY.get_sample_value("opsassist_llm_cache_misses_total", {"task": "changelog"}) == 0
    unreachable = {"task": "changelog", "model": "other/unreachable-model"}
    assert REGISTRY.get_sample_value("opsassist_llm_cost_usd_total", unreachable) is None


def test_a_client_without_a_provider_exports_the_process_budget_only() -> None:
    LLMClient(config_for([PRIMARY], max_cost_per_hour_usd=0.25), {}, max_cost_per_hour_usd=0.75)

    assert budget() == 0.75
    assert budget("triage") is None
