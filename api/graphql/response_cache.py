"""A shared, short-lived cache of read-only query results, per API process.

Dashboards poll the same queries: fifty screens asking for the same page within a second need
one execution, not fifty. A query's result is kept for ``ttl`` seconds under the key (role,
the query as graphql-core prints it, operation name, variables) (plus the user id when the
query reads the viewer), and requests for a key that is being executed wait for that execution
(single flight) instead of starting their own.

Only queries are cached: a document with a mutation or subscription never is, nor a request
without a valid login, nor one with operation extensions; a result with errors is shared with
the requests that waited for it but not kept. A successful mutation through this process
clears its cache, so a client sees its own writes at once (other processes see them within
the bound below).

Staleness is bounded: a result is served at most ``ttl`` seconds after its execution ended,
and that execution began at most one execution time before; so a reader sees every change
committed more than ``ttl`` plus one execution time ago (docs/graphql.md). ``ttl`` 0 disables
the cache.

Masking is respected because it depends only on the role (api/graphql/masking.py), which is in
the key; a field whose value depends on who asks (``viewer``) puts the user id in the key too.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import orjson
from graphql import (
    DocumentNode,
    FieldNode,
    GraphQLError,
    OperationDefinitionNode,
    OperationType,
    parse,
    print_ast,
)
from prometheus_client import Counter
from strawberry.types import ExecutionResult

#: Root query fields whose value depends on the user, not only on the role.
USER_SPECIFIC_ROOT_FIELDS = frozenset({"viewer"})
#: The header that says how a query was answered: hit, shared (waited for the same query in
#: flight), miss (executed and kept), bypass (not cacheable, or the cache is off).
CACHE_HEADER = "x-opsassist-cache"

RESPONSES = Counter(
    "opsassist_graphql_response_cache_total",
    "GraphQL HTTP operations by how the response cache answered them.",
    ["result"],
)


@dataclass(frozen=True, slots=True)
class _Shape:
    """What the cache needs to know of a query text (parsed once per distinct text)."""

    cacheable: bool  # every operation of the document is a query
    user_specific: bool  # the result may depend on the user, not only the role
    normalized: str  # the document as graphql-core prints it (whitespace, commas normalized)


@lru_cache(maxsize=512)
def _shape(query: str) -> _Shape:
    try:
        document: DocumentNode = parse(query)
    except GraphQLError:
        return _Shape(False, False, "")
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    cacheable = bool(operations) and all(o.operation is OperationType.QUERY for o in operations)
    user_specific = any(
        not isinstance(selection, FieldNode) or selection.name.value in USER_SPECIFIC_ROOT_FIELDS
        for operation in operations
        for selection in operation.selection_set.selections
    )  # a fragment at the root may select viewer: counted as user-specific
    return _Shape(cacheable, user_specific, print_ast(document))


def _is_mutation(query: str | None) -> bool:
    if not query:
        return False
    shape = _shape(query)
    return not shape.cacheable and bool(shape.normalized)


Key = tuple[str, int | None, str, str | None, bytes]


class ResponseCache:
    """Results of read-only queries for ``ttl`` seconds, at most ``max_entries`` of them."""

    def __init__(self, ttl: float, max_entries: int = 1024) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        self._entries: OrderedDict[Key, tuple[float, ExecutionResult]] = OrderedDict()
        self._in_flight: dict[Key, asyncio.Task[ExecutionResult]] = {}

    @property
    def enabled(self) -> bool:
        return self.ttl > 0

    def key(
        self,
        *,
        role: str | None,
        user_id: int | None,
        query: str | None,
        operation_name: str | None,
        variables: dict[str, Any] | None,
        extensions: dict[str, Any] | None,
    ) -> Key | None:
        """The key of a request, or None when it must not be cached."""
        if not self.enabled or role is None or not query or extensions:
            return None
        shape = _shape(query)
        if not shape.cacheable:
            return None
        try:
            packed = orjson.dumps(variables or {}, option=orjson.OPT_SORT_KEYS)
        except TypeError:
            return None
        return (
            role,
            user_id if shape.user_specific else None,
            shape.normalized,
            operation_name,
            packed,
        )

    async def get_or_execute(
        self, key: Key, execute: Callable[[], Awaitable[ExecutionResult]]
    ) -> tuple[ExecutionResult, str]:
        """The result for ``key`` and how it was found: ``hit``, ``shared`` or ``miss``."""
        now = time.monotonic()
        entry = self._entries.get(key)
        if entry is not None:
            if entry[0] > now:
                self._entries.move_to_end(key)
                return entry[1], "hit"
            del self._entries[key]
        task = self._in_flight.get(key)
        if task is not None:
            # shielded: a waiter that goes away (client disconnect) does not cancel the others
            return await asyncio.shield(task), "shared"
        task = asyncio.ensure_future(self._run(key, execute))
        self._in_flight[key] = task
        return await asyncio.shield(task), "miss"

    async def _run(
        self, key: Key, execute: Callable[[], Awaitable[ExecutionResult]]
    ) -> ExecutionResult:
        try:
            result = await execute()
            if not result.errors:
                self._entries[key] = (time.monotonic() + self.ttl, result)
                self._entries.move_to_end(key)
                while len(self._entries) > self.max_entries:
                    self._entries.popitem(last=False)
            return result
        finally:
            self._in_flight.pop(key, None)

    def clear(self) -> None:
        self._entries.clear()

    def note_operation(self, query: str | None, result: ExecutionResult) -> None:
        """After an operation that was not cached: a mutation that changed something (no
        errors) clears this process's cache, so its client reads its own write."""
        if self._entries and result.errors is None and _is_mutation(query):
            self.clear()

    def __len__(self) -> int:
        return len(self._entries)
