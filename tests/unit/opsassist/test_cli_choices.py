"""Options that take one of a fixed set of values are enums: ``--help`` lists the values, and
any other value is refused (exit 2, with the list) before the command does anything."""

from __future__ import annotations

import re

import pytest
from typer.testing import CliRunner

from opsassist.api.graphql.masking import ROLES as MASKED_ROLES
from opsassist.cli import app
from opsassist.cli.graphql import Role
from opsassist.cli.services import MigrationPhase
from opsassist.store.migrations import PHASES
from opsassist.store.users import ROLES

# command line up to the option, the option, the values it takes
CHOICES = [
    (["migrate"], "--phase", ("expand", "migrate", "contract")),
    (["replay", "tickets"], "--source", ("auto", "kafka", "store")),
    (["replay", "commits"], "--source", ("auto", "kafka", "store")),
    (["triage", "classify"], "--format", ("json", "text")),
    (["users", "create", "--username", "kim"], "--role", ("admin", "ops", "hr")),
]
IDS = [" ".join([*command[:2], option]) for command, option, _ in CHOICES]


def _flat(text: str) -> str:
    """The output without rich's panel borders and line wrapping."""
    return " ".join(re.sub(r"[│╭╮╰╯─]", " ", text).split())


@pytest.mark.parametrize(("command", "option", "values"), CHOICES, ids=IDS)
def test_help_lists_the_values(command: list[str], option: str, values: tuple[str, ...]) -> None:
    result = CliRunner().invoke(app, [*command, "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "|".join(values) in _flat(result.output)


@pytest.mark.parametrize(("command", "option", "values"), CHOICES, ids=IDS)
def test_an_unknown_value_is_refused_with_the_list(
    command: list[str], option: str, values: tuple[str, ...]
) -> None:
    result = CliRunner().invoke(app, [*command, option, "bogus"], env={"COLUMNS": "200"})
    assert result.exit_code == 2, result.output
    listed = ", ".join(f"'{value}'" for value in values)
    assert f"'bogus' is not one of {listed}" in _flat(result.output)


def test_the_cli_choices_are_the_stores() -> None:
    """The CLI declares them without importing the store (start-up time); they must not drift."""
    assert tuple(MigrationPhase) == PHASES
    assert tuple(Role) == ROLES == MASKED_ROLES
