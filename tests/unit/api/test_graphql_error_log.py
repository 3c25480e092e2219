"""A failed GraphQL operation is logged with what an operator needs, never with the query's text:
graphql-core's rendering puts a caret line inside the query, which hid a name from redaction."""

from __future__ import annotations

import json

import pytest

from opsassist.api.graphql.error_log import query_hash
from opsassist.api.graphql.schema import build_schema
from opsassist.streams.privacy import Redactor
from opsassist.structured_logging import configure_logging

# The error is on the first line, so the caret line comes between "reported by" and the name.
QUERY = 'query Canary { tickets(noSuchArgument: """reported by\nMariela Canarino""") { id } }'


def test_a_failed_query_is_logged_by_name_type_message_and_hash_without_its_text(
    capsys: pytest.CaptureFixture[str],
) -> None:
    configure_logging("INFO", "json", Redactor())
    try:
        result = build_schema().execute_sync(QUERY, operation_name="Canary")
    finally:
        configure_logging("INFO", "json")
    assert result.errors
    err = capsys.readouterr().err
    assert "Mariela" not in err and "Canarino" not in err and "reported by" not in err
    lines = [json.loads(text) for text in err.splitlines() if "graphql_error" in text]
    [line] = [line for line in lines if "noSuchArgument" in line["error_message"]]
    assert line["operation_name"] == "Canary"
    assert line["error_type"] == "GraphQLError"
    assert line["locations"] == "1:24"
    assert line["query_sha256"] == query_hash(QUERY)
