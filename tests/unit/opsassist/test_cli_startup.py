"""The CLI starts without the product's heavy imports: ``opsassist --help`` and every shell
completion pay only for typer (docs/decisions/0003-cli-startup.md).

Each check runs a fresh interpreter under ``python -X importtime``, which lists every module the
process imported; the test process itself has long imported everything, so ``sys.modules`` here
would prove nothing. The checks are about which modules load, never about seconds.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from opsassist.cli import app

# Top-level packages measured (python -X importtime -c "import X", docs/decisions/0003) to cost
# from about 0.05 s (phonenumbers) to 2 s (sklearn) of CPU, or tens to a thousand modules, and
# that no command needs before it runs; and the project's own layers, which import them.
HEAVY = frozenset(
    {
        "sklearn",
        "scipy",
        "numpy",
        "openai",
        "faust",
        "mode",
        "aiokafka",
        "strawberry",
        "fastapi",
        "starlette",
        "uvicorn",
        "asyncpg",
        "phonenumbers",
        "httpx",
        "jwt",
        # not pydantic: typer (0.29) itself imports it to coerce values while it completes
        "pydantic_settings",
        "structlog",
        "prometheus_client",
        "asyncio",
    }
)
# the layers below the CLI (installed as opsassist.api, opsassist.infra, ...)
LAYERS = frozenset({"api", "bus", "infra", "llm", "schemas", "store", "streams"})
HEAVY_MODULES = frozenset({"opsassist.settings"})

# `import opsassist.cli` loaded 231 distinct modules after the change and 2,906 before (nearly all
# of the 231 are typer's, rich's and the standard library's): room for typer and rich to grow,
# none for one of the packages above, or one like them, to come back unnamed.
MODULE_BUDGET = 350

_SCRIPT = Path(sys.executable).with_name("opsassist")


def imported_modules(*args: str, env: dict[str, str] | None = None) -> list[str]:
    """Every module a fresh ``python -X importtime ARGS`` imports, in import order."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    modules = [
        line.rsplit("|", 1)[1].strip()
        for line in done.stderr.splitlines()
        if line.startswith("import time:") and not line.endswith("imported package")
    ]
    assert modules, "python -X importtime reported no import"
    return modules


def heavy_among(modules: list[str]) -> set[str]:
    return {
        m
        for m in modules
        if m.split(".", 1)[0] in HEAVY
        or m in HEAVY_MODULES
        or (m.startswith("opsassist.") and m.split(".")[1] in LAYERS)
    }


def test_importing_the_cli_loads_no_heavy_package_and_stays_within_the_module_budget() -> None:
    modules = imported_modules("-c", "import opsassist.cli")
    assert "opsassist.cli" in modules
    assert heavy_among(modules) == set()
    assert len(set(modules)) <= MODULE_BUDGET, f"{len(set(modules))} modules imported"


def test_help_loads_no_heavy_package() -> None:
    """--help builds every command from its signature, which also resolves the annotations."""
    modules = imported_modules(str(_SCRIPT), "--help")
    assert "opsassist.cli.triage" in modules
    assert heavy_among(modules) == set()


@pytest.mark.parametrize(
    ("words", "cword"),
    [("opsassist tri", "1"), ("opsassist summarize --", "2"), ("opsassist triage c", "2")],
)
def test_shell_completion_loads_no_heavy_package(words: str, cword: str) -> None:
    env = {"_OPSASSIST_COMPLETE": "complete_bash", "COMP_WORDS": words, "COMP_CWORD": cword}
    modules = imported_modules(str(_SCRIPT), env=env)
    assert "opsassist.cli.logs" in modules
    assert heavy_among(modules) == set()


def test_completion_still_offers_the_commands_and_options() -> None:
    def complete(words: str, cword: str) -> list[str]:
        env = {"_OPSASSIST_COMPLETE": "complete_bash", "COMP_WORDS": words, "COMP_CWORD": cword}
        done = subprocess.run(
            [str(_SCRIPT)],
            capture_output=True,
            text=True,
            env={**os.environ, **env},
            timeout=120,
            check=True,
        )
        return done.stdout.split()

    assert complete("opsassist tri", "1") == ["triage"]
    assert "--time-format" in complete("opsassist summarize --", "2")


def test_version_prints_the_installed_distribution_version() -> None:
    from importlib.metadata import version

    result = CliRunner().invoke(app, ["--version"])
    assert result.exit_code == 0, result.output
    assert result.stdout == f"opsassist {version('opsassist')}\n"
