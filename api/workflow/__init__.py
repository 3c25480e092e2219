"""People's operations on tickets: the workflow's rules (transitions, triage corrections,
re-triage with the active model, redaction of what people type) over the store's SQL
(``opsassist.store.ticket_workflow``). The GraphQL mutations call it (``api/graphql/workflow.py``).
The incident lifecycle (``incidents``: acknowledge, assign, resolve, reopen, notes, ticket links)
is its sibling, used by ``api/graphql/incident_workflow.py`` and ``opsassist incidents``.
"""

from opsassist.api.workflow.incidents import IncidentWorkflow
from opsassist.api.workflow.ticket_results import (
    Conflict,
    CorrectionResult,
    IdempotencyKeyReused,
    InvalidCorrection,
    InvalidTransition,
    NotFound,
    RetriageResult,
    StatusResult,
    Updated,
)
from opsassist.api.workflow.tickets import TicketWorkflow
from opsassist.store.ticket_workflow import TicketState

__all__ = [
    "Conflict",
    "CorrectionResult",
    "IdempotencyKeyReused",
    "IncidentWorkflow",
    "InvalidCorrection",
    "InvalidTransition",
    "NotFound",
    "RetriageResult",
    "StatusResult",
    "TicketState",
    "TicketWorkflow",
    "Updated",
]
