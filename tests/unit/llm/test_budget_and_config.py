"""Budgets over a sliding hour, and the configuration file."""

from __future__ import annotations

from pathlib import Path

import pytest

from opsassist.llm import ConfigError, ModelSpec, TaskSpec, load_config, parse_config
from opsassist.llm.budget import Budget, RunBudget
from opsassist.llm.config import provider_endpoints
from opsassist.llm.errors import BudgetExhausted
from opsassist.settings import Settings
from tests.unit.llm.conftest import FakeClock

MODEL = ModelSpec(name="m", max_tokens=100, input_usd_per_million_tokens=1_000_000)
MESSAGES = [{"role": "user", "content": "x" * 300}]  # ~104 tokens estimated


def test_reservations_count_until_settled_and_age_out_after_an_hour() -> None:
    clock = FakeClock()
    budget = Budget(clock, max_cost_per_hour_usd=1e9)
    spec = TaskSpec(models=[MODEL], max_tokens_per_hour=500)
    first = budget.reserve("t", spec, RunBudget(None, None), MODEL, MESSAGES)
    budget.reserve("t", spec, RunBudget(None, None), MODEL, MESSAGES)
    with pytest.raises(BudgetExhausted, match="hourly tokens"):
        budget.reserve("t", spec, RunBudget(None, None), MODEL, MESSAGES)
    first.settle(50, 0.0)
    budget.reserve("t", spec, RunBudget(None, None), MODEL, MESSAGES)
    assert budget.spent_this_hour("t")[0] == 50 + 2 * 204
    clock.advance(3600)
    assert budget.spent_this_hour("t") == (0, 0.0)


def test_process_cost_budget_spans_tasks() -> None:
    budget = Budget(FakeClock(), max_cost_per_hour_usd=300)
    spec = TaskSpec(models=[MODEL])
    budget.reserve("a", spec, RunBudget(None, None), MODEL, MESSAGES)  # ~$104 worst case
    budget.reserve("b", spec, RunBudget(None, None), MODEL, MESSAGES)
    with pytest.raises(BudgetExhausted, match="process"):
        budget.reserve("c", spec, RunBudget(None, None), MODEL, MESSAGES)


def test_released_reservation_gives_the_run_its_room_back() -> None:
    budget = Budget(FakeClock(), max_cost_per_hour_usd=1e9)
    run = RunBudget(max_tokens=300, max_cost_usd=None)
    spec = TaskSpec(models=[MODEL])
    reservation = budget.reserve("t", spec, run, MODEL, MESSAGES)
    with pytest.raises(BudgetExhausted, match="run"):
        budget.reserve("t", spec, run, MODEL, MESSAGES)
    reservation.release()
    budget.reserve("t", spec, run, MODEL, MESSAGES)


def test_default_configuration_covers_every_task_and_needs_a_key_to_be_used() -> None:
    settings = Settings(OPENAI_API_KEY="", OPENAI_BASE_URL="", llm_config_file=None)
    config = load_config(settings)
    assert set(config.tasks) == {"summarize", "triage", "changelog", "changelog_polish"}
    assert provider_endpoints(config, settings) == {}
    keyed = Settings(OPENAI_API_KEY="sk-test", OPENAI_BASE_URL="")
    endpoint = provider_endpoints(config, keyed)["openai"]
    assert endpoint.api_key == "sk-test" and endpoint.base_url is None


def test_file_providers_take_their_key_from_the_settings(tmp_path: Path) -> None:
    path = tmp_path / "llm.toml"
    path.write_text(
        '[providers.local]\nbase_url = "http://localhost:11434/v1"\n'
        '[[tasks.triage.models]]\nname = "llama3"\nprovider = "local"\n'
        '[[tasks.triage.models]]\nname = "gpt-4o-mini"\n'
    )
    settings = Settings(
        OPENAI_API_KEY="", llm_config_file=path, llm_provider_keys={"local": "secret"}
    )
    config = load_config(settings)
    assert [m.provider for m in config.task("triage").models] == ["local", "openai"]
    assert provider_endpoints(config, settings)["local"].api_key == "secret"


@pytest.mark.parametrize(
    "text",
    [
        '[[tasks.triage.models]]\nname = "m"\nprovider = "nowhere"\n',
        "[tasks.triage]\nmodels = []\n",
        '[providers.openai]\nbase_url = "http://x"\n',
        '[[tasks.triage.models]]\nname = "m"\ntimeout_seconds = -1\n',
        "not toml [",
    ],
)
def test_invalid_configuration_is_refused_with_its_source(text: str) -> None:
    with pytest.raises(ConfigError, match=r"llm\.toml"):
        parse_config(text, "llm.toml")


def test_unknown_task_is_a_configuration_error() -> None:
    with pytest.raises(ConfigError, match="configured"):
        parse_config("", "x").task("nonsense")
