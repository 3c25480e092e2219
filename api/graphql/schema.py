"""The schema: one Query, Mutation and Subscription type merged from a module per entity.

Adding an entity (incidents, ticket workflow mutations...) is a module with its ``…Queries`` /
``…Mutations`` types, added to the tuples below; masking rules go to api/graphql/masking.py.
"""

from __future__ import annotations

from collections.abc import Callable

import strawberry
from graphql import GraphQLError
from strawberry.extensions import SchemaExtension
from strawberry.tools import merge_types
from strawberry.types import ExecutionContext

from opsassist.api.graphql.accounts import AccountMutations, AccountQueries
from opsassist.api.graphql.aggregates import AggregateQueries
from opsassist.api.graphql.commits import CommitQueries
from opsassist.api.graphql.dead_letters import DeadLetterMutations, DeadLetterQueries
from opsassist.api.graphql.error_log import log_errors
from opsassist.api.graphql.incident_workflow import IncidentWorkflowMutations
from opsassist.api.graphql.inputs import RejectNulCharacters
from opsassist.api.graphql.limits import protection_extensions
from opsassist.api.graphql.logs import LogEventQueries, LogIntelligenceQueries
from opsassist.api.graphql.masking import attach_rules
from opsassist.api.graphql.notifications import NotificationQueries
from opsassist.api.graphql.releases import ReleaseQueries
from opsassist.api.graphql.subscriptions import IncidentSubscriptions, TicketSubscriptions
from opsassist.api.graphql.tickets import TicketQueries
from opsassist.api.graphql.workflow import WorkflowMutations
from opsassist.settings import Settings

Query = merge_types(
    "Query",
    (
        AccountQueries,
        LogEventQueries,
        TicketQueries,
        CommitQueries,
        ReleaseQueries,
        AggregateQueries,
        LogIntelligenceQueries,
        DeadLetterQueries,
        NotificationQueries,
    ),
)
Mutation = merge_types(
    "Mutation",
    (AccountMutations, WorkflowMutations, IncidentWorkflowMutations, DeadLetterMutations),
)
Subscription = merge_types("Subscription", (TicketSubscriptions, IncidentSubscriptions))


class _Schema(strawberry.Schema):
    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        # Strawberry's default logs str(error): the query's text, caret lines and all.
        log_errors(errors, execution_context)


def build_schema(settings: Settings | None = None) -> strawberry.Schema:
    """The schema with its protections as ``settings`` configure them (none: the bare schema,
    as exported to schema.graphql)."""
    # The access rules go on the fields' definitions, which a first build resolves (by name).
    attach_rules(strawberry.Schema(query=Query, mutation=Mutation, subscription=Subscription))
    extensions: list[Callable[[], SchemaExtension]] = [RejectNulCharacters]
    if settings is not None:
        extensions.extend(protection_extensions(settings))
    return _Schema(query=Query, mutation=Mutation, subscription=Subscription, extensions=extensions)


def schema_sdl() -> str:
    """The schema in SDL, as schema.graphql holds it."""
    return build_schema().as_str() + "\n"
