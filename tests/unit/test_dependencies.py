"""Every third-party package the product's code imports is one of its declared runtime
dependencies (pyproject.toml [project] dependencies), not only something a dependency happens
to pull in today; and what only tests and benchmarks use (psutil) is not one of them.

Imports are read from the source with ``ast``, deferred ones and ``TYPE_CHECKING`` ones
included, from every folder that installs as part of ``opsassist`` (pyproject.toml
[tool.setuptools.package-dir]).
"""

from __future__ import annotations

import ast
import sys
import tomllib
from functools import cache
from importlib.metadata import packages_distributions

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from opsassist.settings import PROJECT_ROOT


@cache
def _pyproject() -> dict[str, object]:
    return tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())


def _runtime_dependencies() -> set[str]:
    project = _pyproject()["project"]
    assert isinstance(project, dict)
    return {canonicalize_name(Requirement(spec).name) for spec in project["dependencies"]}


def _imported_top_level_modules() -> dict[str, str]:
    """Third-party top-level module -> one file importing it."""
    tool = _pyproject()["tool"]
    assert isinstance(tool, dict)
    folders = sorted(set(tool["setuptools"]["package-dir"].values()))
    found: dict[str, str] = {}
    for folder in folders:
        for path in sorted((PROJECT_ROOT / folder).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(), str(path))):
                if isinstance(node, ast.Import):
                    names = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    names = [node.module]
                else:
                    continue
                for name in names:
                    top = name.split(".")[0]
                    if top != "opsassist" and top not in sys.stdlib_module_names:
                        found.setdefault(top, str(path.relative_to(PROJECT_ROOT)))
    return found


def test_every_imported_package_is_a_declared_runtime_dependency() -> None:
    declared = _runtime_dependencies()
    distributions = packages_distributions()
    undeclared = []
    for module, where in sorted(_imported_top_level_modules().items()):
        providers = {canonicalize_name(d) for d in distributions.get(module, [])}
        assert providers, f"{module} (imported by {where}) is not installed"
        if not providers & declared:
            undeclared.append(f"{module} ({where}) from {sorted(providers)}")
    assert not undeclared, "imported but not declared in [project] dependencies:\n" + "\n".join(
        undeclared
    )


def test_psutil_is_for_tests_and_benchmarks_only() -> None:
    assert "psutil" not in _imported_top_level_modules()
    assert "psutil" not in _runtime_dependencies()
    extras = _pyproject()["project"]
    assert isinstance(extras, dict)
    for extra in ("dev", "bench"):
        names = {
            canonicalize_name(Requirement(s).name) for s in extras["optional-dependencies"][extra]
        }
        assert "psutil" in names, extra
