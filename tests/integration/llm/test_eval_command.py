"""``opsassist llm eval`` as a real process against the fake OpenAI-compatible server."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path
from typing import Any

import pytest

from opsassist.llm.templates import PROMPTS_DIR
from opsassist.settings import PROJECT_ROOT
from tests.unit.llm.fake_openai import FakeOpenAI, Reply, answer

pytestmark = pytest.mark.integration


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPSASSIST_", "OPENAI_"))}
    return {**env, "OPSASSIST_LOG_LEVEL": "WARNING", **extra}


async def _eval(env: dict[str, str], *args: str) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "opsassist",
        "llm",
        "eval",
        *args,
        env=env,
        cwd=PROJECT_ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), timeout=120)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


def _responder(body: dict[str, Any]) -> Reply:
    improved = "Outages come first" in body["messages"][0]["content"]
    category = "outage" if improved else "bug"
    return answer({"category": category, "priority": "urgent", "reason": "r"})


async def test_eval_compares_prompt_versions_over_fixtures(
    fake_openai: FakeOpenAI, tmp_path: Path
) -> None:
    prompts = tmp_path / "prompts"
    prompts.mkdir()
    for path in (p for p in PROMPTS_DIR.iterdir() if p.name.startswith("triage.")):
        (prompts / path.name).write_text(path.read_text())
    v1 = (prompts / "triage.classify.v1.toml").read_text()
    v2 = v1.replace("version = 1", "version = 2").replace(
        "You triage", "Outages come first. You triage"
    )
    (prompts / "triage.classify.v2.toml").write_text(v2)
    config = tmp_path / "llm.toml"
    config.write_text('[[tasks.triage.models]]\nname = "primary"\n')
    ticket = {
        "title": "Site down",
        "body": "Nothing loads.",
        "categories": ["bug", "outage"],
        "priorities": ["low", "urgent"],
    }
    fixtures = tmp_path / "cases.jsonl"
    fixtures.write_text(
        "\n".join(
            json.dumps({"inputs": ticket, "expected": {"category": "outage"}}) for _ in range(2)
        )
    )
    fake_openai.respond("primary", _responder)
    env = _env(
        OPENAI_BASE_URL=fake_openai.base_url,
        OPENAI_API_KEY="test",
        OPSASSIST_LLM_CONFIG_FILE=str(config),
        OPSASSIST_LLM_PROMPTS_DIR=str(prompts),
    )

    code, out, err = await _eval(
        env, "--task", "triage", "--prompt-version", "1", str(fixtures), "--width", "300"
    )

    assert code == 0, err
    assert len(fake_openai.requests) == 4  # two fixtures, at v1 and at the newest (v2)
    agreed = next(line for line in out.splitlines() if "expected fields agreed" in line)
    assert agreed.split()[-4:] == ["0/2", "│", "2/2", "│"] or ("0/2" in agreed and "2/2" in agreed)
    assert agreed.index("0/2") < agreed.index("2/2")
    assert "triage.classify v2" in out


async def test_eval_without_an_llm_says_how_to_configure_one(tmp_path: Path) -> None:
    fixtures = tmp_path / "cases.jsonl"
    fixtures.write_text("{}\n")
    code, _, err = await _eval(_env(), "--task", "triage", "--prompt-version", "1", str(fixtures))
    assert code == 1
    assert "OPENAI_API_KEY" in err
