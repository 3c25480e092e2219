"""A task is a small declared pipeline of prompts, read from ``llm/prompts/<name>.chain.toml``::

    [[steps]]
    name = "groups"
    prompt = "summarize.group"
    map_over = "groups"        # once per item of the input ``groups``: ${item}, ${index}
    [[steps]]
    name = "incident"          # sees ${groups}: the list of the map step's answers
    prompt = "summarize.incident"
    [[steps]]
    name = "title"
    prompt = "summarize.title"

    result = ["incident", "title"]   # whose answers, merged, make the result (default: last)

A step sees the chain's inputs and the answers of the steps before it, by step name.
"""

from __future__ import annotations

import asyncio
import tomllib
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from importlib.resources.abc import Traversable
from typing import Any

from opsassist.llm.errors import PromptError
from opsassist.llm.templates import PROMPTS_DIR, PromptLibrary, PromptTemplate

StepCall = Callable[[PromptTemplate, dict[str, Any]], Awaitable[dict[str, Any]]]
_MAP_VARIABLES = frozenset({"item", "index"})


@dataclass(frozen=True)
class ChainStep:
    name: str
    prompt: str
    map_over: str | None = None


@dataclass(frozen=True)
class Chain:
    name: str
    steps: tuple[ChainStep, ...]
    result: tuple[str, ...]

    def __post_init__(self) -> None:
        names = [step.name for step in self.steps]
        if not names or len(set(names)) != len(names):
            raise PromptError(f"chain {self.name}: steps need distinct names")
        unknown = set(self.result) - set(names)
        if unknown or not self.result:
            raise PromptError(f"chain {self.name}: result names unknown steps {sorted(unknown)}")

    def templates(
        self, library: PromptLibrary, version: int | None
    ) -> list[tuple[ChainStep, PromptTemplate]]:
        return [(step, library.get(step.prompt, version)) for step in self.steps]

    def required_inputs(self, library: PromptLibrary, version: int | None) -> set[str]:
        """The inputs a caller must give: what the prompts use that no earlier step answers."""
        needed: set[str] = set()
        produced: set[str] = set()
        for step, template in self.templates(library, version):
            local = _MAP_VARIABLES if step.map_over else frozenset()
            needed |= template.variables - produced - local
            if step.map_over and step.map_over not in produced:
                needed.add(step.map_over)
            produced.add(step.name)
        return needed


def load_chain(name: str, directory: Traversable = PROMPTS_DIR) -> Chain:
    path = directory / f"{name}.chain.toml"
    try:
        data = tomllib.loads(path.read_text())
        steps = tuple(
            ChainStep(name=s["name"], prompt=s["prompt"], map_over=s.get("map_over"))
            for s in data["steps"]
        )
        result = tuple(data.get("result", [steps[-1].name] if steps else []))
    except (OSError, tomllib.TOMLDecodeError, KeyError, TypeError) as exc:
        raise PromptError(f"chain {name} ({path}): {exc!r}") from exc
    return Chain(name=name, steps=steps, result=result)


async def run_chain(
    chain: Chain,
    templates: Sequence[tuple[ChainStep, PromptTemplate]],
    inputs: dict[str, Any],
    call: StepCall,
) -> dict[str, Any]:
    """Run the steps in order (a map step's items concurrently) and merge the ``result`` steps'
    answers into one object. The first failing call stops the chain and propagates."""
    answers: dict[str, Any] = {}
    for step, template in templates:
        values = {**inputs, **answers}
        if step.map_over is None:
            answers[step.name] = await call(template, values)
            continue
        items = values[step.map_over]
        if not isinstance(items, list):
            raise PromptError(f"chain {chain.name}: {step.map_over!r} must be a list to map over")
        calls = [
            asyncio.ensure_future(call(template, {**values, "item": item, "index": index}))
            for index, item in enumerate(items)
        ]
        try:
            answers[step.name] = list(await asyncio.gather(*calls))
        except BaseException:
            for pending in calls:
                pending.cancel()
            await asyncio.gather(*calls, return_exceptions=True)
            raise
    merged: dict[str, Any] = {}
    for name in chain.result:
        answer = answers[name]
        merged.update(answer if isinstance(answer, dict) else {name: answer})
    return merged
