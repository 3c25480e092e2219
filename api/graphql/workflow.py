"""The ticket workflow over GraphQL: status changes with optimistic locking and idempotency keys,
triage corrections by people, and re-triage. The rules live in ``opsassist.api.workflow``; this
module maps its typed results to union members, so a conflict or a refused transition is an
answer a client selects on, never an error.
"""

from __future__ import annotations

from typing import Annotated

import strawberry
from strawberry.types import Info

from opsassist.api.graphql.context import Context
from opsassist.api.graphql.errors import Forbidden, NotFound, UserError, ValidationFailed
from opsassist.api.graphql.inputs import int_id
from opsassist.api.graphql.masking import refusal
from opsassist.api.graphql.tickets import Ticket
from opsassist.api.workflow import TicketWorkflow
from opsassist.api.workflow import ticket_results as results
from opsassist.store.tickets import tickets_by_ids
from opsassist.streams.triage import load_config


@strawberry.type(description="The change was made (or replayed, for a repeated idempotency key).")
class TicketUpdated:
    ticket: Ticket


@strawberry.type(
    description="The ticket is no longer at expectedVersion: someone changed it meanwhile. "
    "Nothing was changed; read the ticket (here, at currentVersion) and decide again."
)
class VersionConflict(UserError):
    expected_version: int
    current_version: int
    current_ticket: Ticket | None


@strawberry.type(description="The workflow does not allow this move; allowed says where it may go.")
class InvalidTransition(UserError):
    current: str
    requested: str
    allowed: list[str]


@strawberry.type(
    description="The idempotency key was used before for another request; nothing was changed."
)
class IdempotencyKeyReused(UserError):
    idempotency_key: str


TicketStatusResult = Annotated[
    TicketUpdated
    | VersionConflict
    | InvalidTransition
    | IdempotencyKeyReused
    | NotFound
    | ValidationFailed,
    strawberry.union("TicketStatusResult"),
]
TriageCorrectionResult = Annotated[
    TicketUpdated | VersionConflict | NotFound | ValidationFailed | Forbidden,
    strawberry.union("TriageCorrectionResult"),
]
RetriageResult = Annotated[TicketUpdated | NotFound | Forbidden, strawberry.union("RetriageResult")]


def _workflow(info: Info[Context, None]) -> TicketWorkflow:
    """One per API process: it caches the stored triage model that re-triage uses."""
    state = info.context.app_state
    workflow: TicketWorkflow | None = getattr(state, "ticket_workflow", None)
    if workflow is None:
        shared = (
            state.ingestion
        )  # the process's redactor and key digest (api/webhooks/ingestion.py)
        workflow = state.ticket_workflow = TicketWorkflow(
            info.context.pool,
            load_config(info.context.settings.triage_config),
            redactor=shared.redactor,
            keys=shared.keys,
        )
    return workflow


def _actor(info: Info[Context, None]) -> str:
    viewer = info.context.viewer
    assert viewer is not None  # every mutation but the login ones requires one (masking.py)
    return f"user:{viewer.username}"


async def _ticket(info: Info[Context, None], ticket_id: int) -> Ticket | None:
    rows = await tickets_by_ids(info.context.pool, [ticket_id])
    return Ticket.from_row(rows[0]) if rows else None


def _refused(
    info: Info[Context, None], ticket_id: int, ticket: Ticket | None
) -> NotFound | Forbidden | None:
    """Why the caller may not change the triage of ``ticket`` as it is now (masking.py's rules
    of the mutation being resolved), or None if it may."""
    if ticket is None:
        return _not_found(ticket_id)
    reason = refusal(info.context.role, "Mutation", info.field_name, ticket)
    return None if reason is None else Forbidden(message=reason)


async def _correction_refused(
    info: Info[Context, None], ticket_id: int, expected_version: int
) -> NotFound | Forbidden | VersionConflict | None:
    """:func:`_refused` for a correction, without a race: the correction applies only at
    ``expected_version``, so the version checked must be that one (else the ticket could turn
    HR between the check and the change, at the very version the caller expected)."""
    ticket = await _ticket(info, ticket_id)
    if (refused := _refused(info, ticket_id, ticket)) is not None:
        return refused
    if ticket is not None and ticket.version != expected_version:
        return await _conflict(info, results.Conflict(ticket_id, expected_version, ticket.version))
    return None


async def _updated(info: Info[Context, None], ticket_id: int) -> TicketUpdated | NotFound:
    ticket = await _ticket(info, ticket_id)
    if ticket is None:  # deleted between the change and this read
        return NotFound(message=f"ticket {ticket_id} does not exist")
    return TicketUpdated(ticket=ticket)


async def _conflict(info: Info[Context, None], conflict: results.Conflict) -> VersionConflict:
    return VersionConflict(
        message=f"ticket {conflict.ticket_id} is at version {conflict.current_version}, "
        f"not {conflict.expected_version}: read it again and retry with that version",
        expected_version=conflict.expected_version,
        current_version=conflict.current_version,
        current_ticket=await _ticket(info, conflict.ticket_id),
    )


def _not_found(ticket_id: object) -> NotFound:
    return NotFound(message=f"ticket {ticket_id} does not exist")


async def _status_answer(
    info: Info[Context, None], ticket_id: int, result: results.StatusResult
) -> TicketStatusResult:
    match result:
        case results.Updated():
            return await _updated(info, ticket_id)
        case results.Conflict():
            return await _conflict(info, result)
        case results.InvalidTransition():
            return InvalidTransition(
                message=result.message,
                current=result.current,
                requested=result.requested,
                allowed=list(result.allowed),
            )
        case results.IdempotencyKeyReused():
            return IdempotencyKeyReused(
                message=result.message, idempotency_key=result.idempotency_key
            )
    return _not_found(ticket_id)


@strawberry.type
class WorkflowMutations:
    @strawberry.mutation(
        description="Move a ticket along the workflow (open → triaged → in_progress → resolved "
        "→ closed; resolved or closed → triaged reopens) if it is still at expectedVersion. "
        "The same idempotencyKey with the same request returns the first answer again."
    )
    async def update_ticket_status(
        self,
        info: Info[Context, None],
        *,
        id: strawberry.ID,
        status: str,
        expected_version: int,
        idempotency_key: str,
    ) -> TicketStatusResult:
        ticket_id = int_id(id)
        if ticket_id is None:
            return _not_found(id)
        if not idempotency_key.strip() or len(idempotency_key) > 200:
            return ValidationFailed(
                message="idempotencyKey must be 1 to 200 characters", field="idempotencyKey"
            )
        result = await _workflow(info).update_status(
            ticket_id, status, expected_version, idempotency_key, _actor(info)
        )
        return await _status_answer(info, ticket_id, result)

    @strawberry.mutation(
        description="Set a ticket's category, priority and/or team as a person: recorded in its "
        "history with who and why, counted as an override, kept from later automatic triage, "
        "and learned by the next training."
    )
    async def correct_triage(
        self,
        info: Info[Context, None],
        *,
        id: strawberry.ID,
        expected_version: int,
        reason: str,
        category: str | None = None,
        priority: str | None = None,
        team: str | None = None,
    ) -> TriageCorrectionResult:
        ticket_id = int_id(id)
        if ticket_id is None:
            return _not_found(id)
        if (refused := await _correction_refused(info, ticket_id, expected_version)) is not None:
            return refused
        result = await _workflow(info).correct_triage(
            ticket_id,
            category=category,
            priority=priority,
            team=team,
            actor=_actor(info),
            reason=reason,
            expected_version=expected_version,
        )
        match result:
            case results.Updated():
                return await _updated(info, ticket_id)
            case results.Conflict():
                return await _conflict(info, result)
            case results.InvalidCorrection():
                return ValidationFailed(message=result.message, field=None)
        return _not_found(ticket_id)

    @strawberry.mutation(
        description="Triage the ticket again with the current rules and stored model; fields a "
        "person corrected are kept."
    )
    async def retriage_ticket(self, info: Info[Context, None], id: strawberry.ID) -> RetriageResult:
        ticket_id = int_id(id)
        if ticket_id is None:
            return _not_found(id)
        # No expected version here: a ticket that turns HR between this check and the
        # re-triage is re-triaged (the worker's own triage races the same way).
        if (refused := _refused(info, ticket_id, await _ticket(info, ticket_id))) is not None:
            return refused
        result = await _workflow(info).retriage(ticket_id)
        if isinstance(result, results.Updated):
            return await _updated(info, ticket_id)
        return _not_found(ticket_id)
