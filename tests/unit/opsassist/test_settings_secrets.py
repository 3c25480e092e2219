"""Secrets in the settings never show when the settings are printed, logged or dumped."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
import structlog

from opsassist.settings import Settings

# One distinct value per secret, set through the environment variables an operator uses.
SECRETS = {
    "OPENAI_API_KEY": "sk-openai-canary-1",
    "OPSASSIST_GITHUB_WEBHOOK_SECRET": "github-canary-2",
    "OPSASSIST_GRAPHQL_JWT_SECRET": "jwt-canary-3",
    "OPSASSIST_PRIVACY_PSEUDONYM_KEY": "pseudonym-canary-4",
    "OPSASSIST_PRIVACY_IDEMPOTENCY_KEY_SECRET": "idempotency-canary-5",
    "OPSASSIST_LLM_PROVIDER_KEYS": json.dumps({"local": "provider-canary-6"}),
}
CANARIES = ("canary-1", "canary-2", "canary-3", "canary-4", "canary-5", "canary-6")


@pytest.fixture
def settings(monkeypatch: pytest.MonkeyPatch) -> Settings:
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    return Settings()


def _leaked(text: str) -> list[str]:
    return [canary for canary in CANARIES if canary in text]


@pytest.mark.parametrize(
    "render",
    [repr, str, lambda s: s.model_dump_json(), lambda s: json.dumps(s.model_dump(mode="json"))],
    ids=["repr", "str", "model_dump_json", "model_dump_json_mode"],
)
def test_printed_settings_show_no_secret(
    settings: Settings, render: Callable[[Settings], str]
) -> None:
    assert _leaked(render(settings)) == []


def test_settings_logged_as_structured_fields_show_no_secret(settings: Settings) -> None:
    with structlog.testing.capture_logs() as logs:
        structlog.get_logger().info("settings", **settings.model_dump())
    rendered = structlog.processors.JSONRenderer(default=str)(None, "info", logs[0])
    assert isinstance(rendered, str)
    assert _leaked(rendered) == []


def test_secrets_reach_the_code_that_uses_them(settings: Settings) -> None:
    """Hidden from view, but unchanged in value and still read from the same variables."""
    assert settings.openai_api_key.get_secret_value() == "sk-openai-canary-1"
    assert settings.github_webhook_secret.get_secret_value() == "github-canary-2"
    assert settings.graphql_jwt_secret.get_secret_value() == "jwt-canary-3"
    assert settings.privacy_pseudonym_key.get_secret_value() == "pseudonym-canary-4"
    assert settings.privacy_idempotency_key_secret.get_secret_value() == "idempotency-canary-5"
    assert settings.llm_provider_keys["local"].get_secret_value() == "provider-canary-6"
