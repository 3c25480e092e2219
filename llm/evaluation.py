"""Judging a prompt change before it ships: run a task's chain at several prompt versions over
the same fixtures and compare what came back, what it cost and how often it failed.

A fixture file is JSON Lines; each line is either the chain's inputs, or
``{"inputs": {...}, "expected": {...}}`` where ``expected`` holds answer fields to agree with
(compared case-insensitively, strings trimmed).
"""

from __future__ import annotations

import json
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict

from opsassist.llm.client import LLMClient
from opsassist.llm.errors import PromptError
from opsassist.llm.result import LLMResult


class AnyAnswer(BaseModel):
    """Whatever the chain's result steps answer: eval has no caller's model to parse into."""

    model_config = ConfigDict(extra="allow")


@dataclass(frozen=True)
class EvalCase:
    inputs: dict[str, Any]
    expected: dict[str, Any] | None = None


@dataclass
class VersionReport:
    version: int
    results: list[LLMResult[AnyAnswer]] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)
    agreed: int = 0
    compared: int = 0

    @property
    def answered(self) -> int:
        return sum(r.produced_by == "llm" for r in self.results)

    @property
    def reasons(self) -> Counter[str]:
        return Counter(r.reason for r in self.results)

    @property
    def prompts(self) -> list[str]:
        used = dict.fromkeys(p for r in self.results for p in r.prompts)
        return [f"{pid} v{v}" for pid, v in used]

    def total(self, attribute: str) -> float:
        return float(sum(getattr(r, attribute) for r in self.results))


def load_cases(path: Path) -> list[EvalCase]:
    cases = []
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
        except json.JSONDecodeError as exc:
            raise PromptError(f"{path}:{number}: not JSON: {exc}") from exc
        if not isinstance(data, dict):
            raise PromptError(f"{path}:{number}: a fixture is a JSON object")
        if isinstance(data.get("inputs"), dict):
            cases.append(EvalCase(data["inputs"], data.get("expected")))
        else:
            cases.append(EvalCase(data))
    return cases


def _agreement(answer: dict[str, Any], expected: dict[str, Any]) -> int:
    def norm(value: Any) -> str:
        return str(value).strip().casefold()

    return sum(norm(answer.get(name)) == norm(value) for name, value in expected.items())


async def evaluate(
    client: LLMClient, task: str, versions: list[int], cases: list[EvalCase]
) -> list[VersionReport]:
    """One report per version; the cases run one after another so that latencies compare."""
    reports = []
    for version in versions:
        report = VersionReport(version)
        for case in cases:
            started = time.perf_counter()
            result = await client.run(
                task, case.inputs, AnyAnswer, deterministic=AnyAnswer(), prompt_version=version
            )
            report.seconds.append(time.perf_counter() - started)
            report.results.append(result)
            if case.expected and result.produced_by == "llm":
                report.agreed += _agreement(result.value.model_dump(), case.expected)
            if case.expected:
                report.compared += len(case.expected)
        reports.append(report)
    return reports
