"""``opsassist redact`` end to end through its command-line entry point."""

from __future__ import annotations

import orjson
import pytest
from typer.testing import CliRunner

from opsassist.cli import app
from opsassist.settings import get_settings


@pytest.fixture(autouse=True)
def _fresh_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPSASSIST_PRIVACY_PSEUDONYM_KEY", raising=False)
    monkeypatch.delenv("OPSASSIST_PRIVACY_POLICY", raising=False)
    get_settings.cache_clear()


def run(args: list[str], stdin: str) -> str:
    result = CliRunner().invoke(app, ["redact", *args], input=stdin)
    assert result.exit_code == 0, result.output
    return result.stdout


def test_stdin_text_comes_out_redacted_line_by_line() -> None:
    out = run([], "mail jane@example.com from 10.1.2.3\nnothing here\n")
    assert out == "mail <EMAIL> from <IP_ADDRESS>\nnothing here\n"


def test_spans_are_one_json_line_per_input_line() -> None:
    out = run(["--spans"], "mail jane@example.com\nnothing\n")
    assert [orjson.loads(line) for line in out.splitlines()] == [
        {"spans": [{"type": "EMAIL", "start": 5, "end": 21}]},
        {"spans": []},
    ]


def test_format_parses_each_line_into_a_redacted_event() -> None:
    out = run(
        ["--format", "<Date> <Time> <Level> <Content>"],
        "2024-01-02 03:04:05 WARN login failed for user dave from 10.9.8.7\n",
    )
    event = orjson.loads(out)
    assert event["timestamp"] == "2024-01-02T03:04:05+00:00"
    assert event["level"] == "WARN"
    assert event["message"] == "login failed for user <USERNAME> from <IP_ADDRESS>"
    assert event["redactions"] == {"IP_ADDRESS": 1, "USERNAME": 1}


def test_pseudonyms_use_the_configured_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPSASSIST_PRIVACY_PSEUDONYM_KEY", "secret-key")
    get_settings.cache_clear()
    first, second = run([], "jane@example.com\njane@example.com\n").splitlines()
    assert first == second
    assert first.startswith("<EMAIL:")


def test_an_invalid_format_exits_with_an_error() -> None:
    result = CliRunner().invoke(app, ["redact", "--format", "<A> <A>"], input="x\n")
    assert result.exit_code == 2
    assert "twice" in result.output
