"""``opsassist llm status``: what each task would use, and a refusal of invalid configuration."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from opsassist.cli import app
from opsassist.settings import get_settings


@pytest.fixture(autouse=True)
def fresh_settings(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "OPSASSIST_LLM_CONFIG_FILE"):
        monkeypatch.delenv(name, raising=False)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def test_without_a_provider_every_task_is_deterministic() -> None:
    result = CliRunner().invoke(app, ["llm", "status"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "No provider is configured" in result.output
    assert "triage.classify v1" in result.output


def test_a_configured_local_provider_makes_its_task_live(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "llm.toml"
    config.write_text(
        '[providers.local]\nbase_url = "http://localhost:11434/v1"\n'
        '[[tasks.triage.models]]\nname = "llama3"\nprovider = "local"\n'
    )
    monkeypatch.setenv("OPSASSIST_LLM_CONFIG_FILE", str(config))
    result = CliRunner().invoke(app, ["llm", "status"], terminal_width=200)
    assert result.exit_code == 0, result.output
    triage = next(line for line in result.output.splitlines() if "triage" in line)
    assert "yes" in triage and "local/llama3" in triage
    assert "No provider is configured" not in result.output


def test_an_invalid_configuration_file_is_refused_naming_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "broken.toml"
    config.write_text('[[tasks.triage.models]]\nname = "m"\nprovider = "nowhere"\n')
    monkeypatch.setenv("OPSASSIST_LLM_CONFIG_FILE", str(config))
    result = CliRunner().invoke(app, ["llm", "status"], env={"COLUMNS": "200"})
    assert result.exit_code == 1
    assert "broken.toml" in result.output
