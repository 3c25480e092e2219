"""The incident lifecycle over GraphQL: acknowledge, assign, resolve, reopen, notes and ticket
links, each with the incident's expected version and an idempotency key. The rules live in
``opsassist.api.workflow.incidents``; this module maps its typed results to union members, so
a conflict or a refused action is an answer a client selects on, never an error. Who may call
them: api/graphql/masking.py (ops and admin).
"""

from __future__ import annotations

from typing import Annotated

import strawberry
from strawberry.types import Info

from opsassist.api.graphql.context import Context
from opsassist.api.graphql.errors import NotFound, UserError, ValidationFailed
from opsassist.api.graphql.inputs import int_id
from opsassist.api.graphql.logs import Incident
from opsassist.api.graphql.workflow import IdempotencyKeyReused, InvalidTransition
from opsassist.api.workflow import IncidentWorkflow
from opsassist.api.workflow import incidents as lifecycle
from opsassist.store.logs import incidents_by_ids

_MAX_KEY = 200


@strawberry.type(description="The change was made (or replayed, for a repeated idempotency key).")
class IncidentUpdated:
    incident: Incident


@strawberry.type(
    description="The incident is no longer at expectedVersion: someone (a person, or the "
    "detector recording a spike or a resolution) changed it meanwhile. Nothing was changed; read "
    "it again (currentIncident) and decide again."
)
class IncidentVersionConflict(UserError):
    expected_version: int
    current_version: int
    current_incident: Incident | None


IncidentChangeResult = Annotated[
    IncidentUpdated
    | IncidentVersionConflict
    | InvalidTransition
    | IdempotencyKeyReused
    | NotFound
    | ValidationFailed,
    strawberry.union("IncidentChangeResult"),
]


def _workflow(info: Info[Context, None]) -> IncidentWorkflow:
    """One per API process, with the process's redactor and key digest."""
    state = info.context.app_state
    workflow: IncidentWorkflow | None = getattr(state, "incident_workflow", None)
    if workflow is None:
        shared = state.ingestion  # api/webhooks/ingestion.py, built once per app
        workflow = state.incident_workflow = IncidentWorkflow(
            info.context.pool, redactor=shared.redactor, keys=shared.keys
        )
    return workflow


async def _incident(info: Info[Context, None], incident_id: int) -> Incident | None:
    rows = await incidents_by_ids(info.context.pool, [incident_id])
    return Incident.from_row(rows[0]) if rows else None


def _not_found(incident_id: object) -> NotFound:
    return NotFound(message=f"incident {incident_id} does not exist")


async def _answer(
    info: Info[Context, None], incident_id: int, result: lifecycle.IncidentResult
) -> IncidentChangeResult:
    match result:
        case lifecycle.Updated():
            incident = await _incident(info, incident_id)
            return (
                _not_found(incident_id) if incident is None else IncidentUpdated(incident=incident)
            )
        case lifecycle.Conflict():
            return IncidentVersionConflict(
                message=f"incident {incident_id} is at version {result.current_version}, not "
                f"{result.expected_version}: read it again and retry with that version",
                expected_version=result.expected_version,
                current_version=result.current_version,
                current_incident=await _incident(info, incident_id),
            )
        case lifecycle.InvalidTransition():
            return InvalidTransition(
                message=result.message,
                current=result.current,
                requested=result.requested,
                allowed=list(result.allowed),
            )
        case lifecycle.InvalidChange():
            return ValidationFailed(message=result.message, field=result.field)
        case lifecycle.IdempotencyKeyReused():
            return IdempotencyKeyReused(
                message=result.message, idempotency_key=result.idempotency_key
            )
    return _not_found(incident_id)


async def _change(
    info: Info[Context, None],
    id: strawberry.ID,
    action: lifecycle.Action,
    expected_version: int,
    idempotency_key: str,
    *,
    reason: str | None = None,
    assignee: str | None = None,
    ticket_id: int | None = None,
    text: str | None = None,
) -> IncidentChangeResult:
    incident_id = int_id(id)
    if incident_id is None:
        return _not_found(id)
    if not idempotency_key.strip() or len(idempotency_key) > _MAX_KEY:
        return ValidationFailed(
            message=f"idempotencyKey must be 1 to {_MAX_KEY} characters", field="idempotencyKey"
        )
    viewer = info.context.viewer
    assert viewer is not None  # every mutation but the login ones requires one (masking.py)
    change = lifecycle.IncidentChange(
        incident_id=incident_id,
        action=action,
        expected_version=expected_version,
        idempotency_key=idempotency_key,
        actor=f"user:{viewer.username}",
        reason=reason,
        assignee=assignee,
        ticket_id=ticket_id,
        text=text,
    )
    return await _answer(info, incident_id, await _workflow(info).change(change))


_VERSIONED = "if it is still at expectedVersion; the same idempotencyKey with the same request "
_REPLAYED = "returns the first answer again."


@strawberry.type
class IncidentWorkflowMutations:
    @strawberry.mutation(
        description="Acknowledge an open incident (someone is on it): open → acknowledged, "
        + _VERSIONED
        + _REPLAYED
    )
    async def acknowledge_incident(
        self,
        info: Info[Context, None],
        *,
        id: strawberry.ID,
        expected_version: int,
        idempotency_key: str,
        reason: str | None = None,
    ) -> IncidentChangeResult:
        return await _change(
            info, id, lifecycle.Action.ACKNOWLEDGE, expected_version, idempotency_key,
            reason=reason,
        )  # fmt: skip

    @strawberry.mutation(
        description="Assign the incident to a user (their login), " + _VERSIONED + _REPLAYED
    )
    async def assign_incident(
        self,
        info: Info[Context, None],
        *,
        id: strawberry.ID,
        assignee: str,
        expected_version: int,
        idempotency_key: str,
        reason: str | None = None,
    ) -> IncidentChangeResult:
        return await _change(
            info, id, lifecycle.Action.ASSIGN, expected_version, idempotency_key,
            assignee=assignee, reason=reason,
        )  # fmt: skip

    @strawberry.mutation(
        description="Resolve an open or acknowledged incident, saying why; the detector does "
        "not reopen it unless a new spike comes. " + _VERSIONED + _REPLAYED
    )
    async def resolve_incident(
        self,
        info: Info[Context, None],
        *,
        id: strawberry.ID,
        reason: str,
        expected_version: int,
        idempotency_key: str,
    ) -> IncidentChangeResult:
        return await _change(
            info, id, lifecycle.Action.RESOLVE, expected_version, idempotency_key, reason=reason
        )

    @strawberry.mutation(
        description="Reopen a resolved incident, saying why (it is unacknowledged again), "
        + _VERSIONED
        + _REPLAYED
    )
    async def reopen_incident(
        self,
        info: Info[Context, None],
        *,
        id: strawberry.ID,
        reason: str,
        expected_version: int,
        idempotency_key: str,
    ) -> IncidentChangeResult:
        return await _change(
            info, id, lifecycle.Action.REOPEN, expected_version, idempotency_key, reason=reason
        )

    @strawberry.mutation(
        description="Add a note (redacted by the privacy policy) to the incident, "
        + _VERSIONED
        + _REPLAYED
    )
    async def add_incident_note(
        self,
        info: Info[Context, None],
        *,
        id: strawberry.ID,
        text: str,
        expected_version: int,
        idempotency_key: str,
    ) -> IncidentChangeResult:
        return await _change(
            info, id, lifecycle.Action.NOTE, expected_version, idempotency_key, text=text
        )

    @strawberry.mutation(
        description="Link a stored ticket (its id) to the incident, " + _VERSIONED + _REPLAYED
    )
    async def link_incident_ticket(
        self,
        info: Info[Context, None],
        *,
        id: strawberry.ID,
        ticket_id: strawberry.ID,
        expected_version: int,
        idempotency_key: str,
    ) -> IncidentChangeResult:
        ticket = int_id(ticket_id)
        if ticket is None:
            return ValidationFailed(message=f"no ticket {ticket_id}", field="ticketId")
        return await _change(
            info, id, lifecycle.Action.LINK_TICKET, expected_version, idempotency_key,
            ticket_id=ticket,
        )  # fmt: skip
