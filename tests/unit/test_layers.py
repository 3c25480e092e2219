"""The layers import downward only, and no two modules import each other in a loop.

The graph is read from the source with ``ast`` (every import, also those deferred into a
function), with each folder under the import name it installs as (pyproject.toml
[tool.setuptools.package-dir]).
Written here rather than with import-linter: its graph builder (grimp) walks the directory of the
top package only, and so cannot see ``opsassist.streams`` in ``streams/``
(docs/decisions/0004-layout.md).
"""

from __future__ import annotations

import ast
import tomllib
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import pytest

from opsassist.settings import PROJECT_ROOT

# Top to bottom; a layer may import any layer below it, never one above. Names on one line are
# independent of each other.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("opsassist.cli",),
    ("opsassist.api",),
    ("opsassist.streams",),
    ("opsassist.store",),
    ("opsassist.bus", "opsassist.llm", "opsassist.infra"),
    ("opsassist.schemas", "opsassist.migrations"),
    ("opsassist",),  # the ground: settings, endpoints, logging
)

# Inside the worker: the app wires agents and the Faust runtime; the agents run the pure stages.
STREAMS_LAYERS: tuple[tuple[str, ...], ...] = (
    ("opsassist.streams.app",),
    ("opsassist.streams.agents",),
    ("opsassist.streams.runtime",),
    (
        "opsassist.streams.changelog",
        "opsassist.streams.enrich",
        "opsassist.streams.logs",
        "opsassist.streams.notify",
        "opsassist.streams.privacy",
        "opsassist.streams.triage",
    ),
)
# The pure stages run without Kafka, Faust or a database (streams/__init__.py).
STAGES = STREAMS_LAYERS[-1]
NOT_IN_STAGES = ("faust", "mode", "aiokafka", "asyncpg", "opsassist.store", "opsassist.bus")

# `python -m opsassist` starts the CLI: the one import from the ground to the roof.
ENTRY_POINTS = {"opsassist.__main__"}


@cache
def package_dirs() -> dict[str, Path]:
    config = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    return {name: PROJECT_ROOT / folder for name, folder in config["package-dir"].items()}


@cache
def modules() -> dict[str, Path]:
    """Every module of the product, by import name."""
    found: dict[str, Path] = {}
    dirs = package_dirs()
    for package, folder in dirs.items():
        for path in folder.rglob("*.py"):
            parts = path.relative_to(folder).with_suffix("").parts
            # a sub-folder mapped to a package of its own is read under that name
            if any(f"{package}.{parts[0]}" == other for other in dirs) and len(parts) > 1:
                continue
            if parts[-1] == "__init__":
                parts = parts[:-1]
            found[".".join((package, *parts))] = path
    return found


def imports_of(name: str, path: Path) -> Iterator[str]:
    is_package = path.name == "__init__.py"
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = name.split(".")
                base = base[: len(base) - node.level + (1 if is_package else 0)]
                module = ".".join([*base, node.module] if node.module else base)
            else:
                module = node.module or ""
            # `from package import name`: the module `package.name` where there is one (the
            # package itself is initialised first, as for any `import package.name`)
            yield from (
                f"{module}.{alias.name}" if f"{module}.{alias.name}" in modules() else module
                for alias in node.names
            )


@cache
def graph() -> dict[str, set[str]]:
    known = modules()
    edges: dict[str, set[str]] = {}
    for name, path in known.items():
        targets = set()
        for imported in imports_of(name, path):
            parts = imported.split(".")
            for i in range(len(parts), 0, -1):
                candidate = ".".join(parts[:i])
                if candidate in known:
                    targets.add(candidate)
                    break
        edges[name] = targets - {name}
    return edges


def layer_of(module: str, layers: tuple[tuple[str, ...], ...]) -> tuple[int, str] | None:
    """The index of the layer a module belongs to and the name that places it (longest first)."""
    best: tuple[int, str] | None = None
    for index, names in enumerate(layers):
        for layer in names:
            if (module == layer or module.startswith(layer + ".")) and (
                best is None or len(layer) > len(best[1])
            ):
                best = (index, layer)
    return best


def upward_imports(layers: tuple[tuple[str, ...], ...]) -> list[str]:
    wrong = []
    for source, targets in graph().items():
        if source in ENTRY_POINTS:
            continue
        here = layer_of(source, layers)
        if here is None:
            continue
        for target in targets:
            there = layer_of(target, layers)
            if there is None or there[1] == here[1]:
                continue
            if there[0] <= here[0]:
                wrong.append(f"{source} -> {target}")
    return sorted(wrong)


def test_the_graph_sees_every_layer() -> None:
    """A guard on the test itself: an empty or partial graph would pass every check below."""
    names = modules()
    assert len(names) > 150
    for layer in (name for names_ in LAYERS for name in names_):
        assert layer in names, layer
    assert "opsassist.streams.agents.ingest" in graph()["opsassist.streams.app"]


def test_every_package_folder_is_listed_for_the_wheel() -> None:
    config = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    packages = {name for name, path in modules().items() if path.name == "__init__.py"}
    assert packages == set(config["packages"])


def test_no_layer_imports_a_layer_above_it() -> None:
    assert upward_imports(LAYERS) == []


def test_inside_the_worker_imports_run_from_the_app_to_the_agents_to_the_stages() -> None:
    assert upward_imports(STREAMS_LAYERS) == []


@pytest.mark.parametrize("stage", STAGES)
def test_a_stage_package_needs_no_kafka_faust_or_database(stage: str) -> None:
    found = []
    for name, path in modules().items():
        if name == stage or name.startswith(stage + "."):
            found += [
                f"{name} -> {imported}"
                for imported in imports_of(name, path)
                if imported.startswith(NOT_IN_STAGES)
            ]
    assert found == []


def test_outside_a_stage_package_only_its_curated_face_is_imported() -> None:
    """httpx's way: a stage package's modules are private (``_miner.py``); its ``__init__``
    names what the rest of the product may use."""
    found = [
        f"{source} -> {target}"
        for source, targets in graph().items()
        for target in targets
        for stage in STAGES
        if target.startswith(stage + "._")
        and source != stage
        and not source.startswith(stage + ".")
    ]
    assert found == []


def test_no_modules_import_each_other_in_a_loop() -> None:
    edges = graph()
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    loops: list[list[str]] = []

    def visit(node: str) -> None:  # Tarjan's strongly connected components
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in edges.get(node, ()):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                loops.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    assert loops == []


def layer_edges() -> dict[tuple[str, str], int]:
    """How many imports run from each layer to each other one (docs/decisions/0004-layout.md)."""
    counts: dict[tuple[str, str], int] = {}
    for source, targets in graph().items():
        here = layer_of(source, LAYERS)
        for target in targets:
            there = layer_of(target, LAYERS)
            if here and there and here[1] != there[1]:
                counts[here[1], there[1]] = counts.get((here[1], there[1]), 0) + 1
    return counts


if __name__ == "__main__":  # python -m tests.unit.test_layers: the layer graph, as in the decision
    for (source, target), count in sorted(layer_edges().items()):
        print(f"{source} -> {target}: {count}")
