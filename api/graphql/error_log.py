"""What the API logs about a failed GraphQL operation: what an operator needs to find and group
it, never the query text. graphql-core renders an error with the query's lines and a caret line
between them, which splits a value typed in the query (an e-mail in a block string) across lines
where the redaction of log lines cannot see it whole; so the text stays out of the log, and a
hash of it stands in for it (equal queries, equal hashes)."""

from __future__ import annotations

import hashlib
from typing import Any

import structlog
from graphql import GraphQLError
from strawberry.types import ExecutionContext

log = structlog.get_logger("strawberry.execution")

#: Hex characters of the query's SHA-256 in a log line: enough to tell queries apart.
QUERY_HASH_LENGTH = 16


def query_hash(query: str | None) -> str | None:
    if query is None:
        return None
    return hashlib.sha256(query.encode()).hexdigest()[:QUERY_HASH_LENGTH]


def log_errors(errors: list[GraphQLError], execution_context: ExecutionContext | None) -> None:
    """One log line per error: operation name, error type, message, where in the query and
    the result it happened, and the query's hash. The message is graphql-core's own (which may
    quote a single value, redacted with the rest of the line), not ``str(error)``, which appends
    the query's lines."""
    query = execution_context.query if execution_context is not None else None
    operation = execution_context.operation_name if execution_context is not None else None
    for error in errors:
        original = error.original_error
        fields: dict[str, Any] = {
            "operation_name": operation,
            "error_type": type(original).__name__ if original is not None else "GraphQLError",
            "error_message": error.message,
            "query_sha256": query_hash(query),
        }
        if error.locations:
            # text, not a list: the log redaction would turn a list into its repr anyway
            fields["locations"] = ", ".join(f"{loc.line}:{loc.column}" for loc in error.locations)
        if error.path:
            fields["path"] = ".".join(str(part) for part in error.path)
        # A resolver's own failure keeps its traceback: that is what a fix needs.
        log.error("graphql_error", exc_info=original, **fields)
