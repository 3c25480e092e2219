"""The GraphQL schema's artefacts stay true: the packaged SDL and the docs' masking table."""

from __future__ import annotations

from importlib import resources

from opsassist.api.graphql import build_schema, schema_sdl
from opsassist.api.graphql.masking import RULES, markdown_table
from opsassist.settings import PROJECT_ROOT


def test_schema_graphql_is_current() -> None:
    # The packaged file, as `opsassist graphql schema` writes and checks it.
    current = resources.files("opsassist.api.graphql").joinpath("schema.graphql").read_text()
    assert current == schema_sdl(), "schema.graphql is stale: run `opsassist graphql schema`"


def test_the_docs_show_the_masking_table_of_the_code() -> None:
    page = (PROJECT_ROOT / "docs" / "graphql.md").read_text()
    start = page.index("<!-- masking-table -->") + len("<!-- masking-table -->")
    table = page[start : page.index("<!-- /masking-table -->")].strip()
    assert table == markdown_table()


def test_every_masked_field_exists_and_may_be_null() -> None:
    schema = build_schema()._schema
    for rule in RULES:
        owner = schema.get_type(rule.type_name)
        assert owner is not None, rule
        field = owner.fields.get(rule.field)  # type: ignore[attr-defined]
        assert field is not None, f"{rule.type_name}.{rule.field} is not in the schema"
        if rule.type_name not in ("Query", "Mutation"):
            # A masked value is answered as null, so the field must be nullable.
            assert not str(field.type).endswith("!"), f"{rule.type_name}.{rule.field}"


def test_every_root_field_checks_the_caller() -> None:
    from strawberry.types.base import StrawberryObjectDefinition

    from opsassist.api.graphql.masking import _RootAccess

    schema = build_schema()
    for root in ("Query", "Mutation"):
        definition = schema.get_type_by_name(root)
        assert isinstance(definition, StrawberryObjectDefinition)
        unchecked = [
            f.name
            for f in definition.fields
            if not any(isinstance(e, _RootAccess) for e in f.extensions)
        ]
        assert not unchecked, f"{root} fields without the access check: {unchecked}"
        # building again does not stack the checks
        build_schema()
        assert all(
            sum(isinstance(e, _RootAccess) for e in f.extensions) == 1 for f in definition.fields
        )
