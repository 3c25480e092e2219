"""``GET /traces/{trace_id}``: where one trace id's events went, so that the id a sender put in
its ``traceparent`` finds the stored rows (with their Kafka topic, partition and offset); the
worker's log lines for the same events carry it too."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request

from opsassist.api.problems import Forbidden, problem_responses
from opsassist.api.webhooks.auth import Caller
from opsassist.api.webhooks.ingestion import authenticated_caller
from opsassist.store.traces import rows_of_trace

router = APIRouter(tags=["traces"])


@router.get(
    "/traces/{trace_id}",
    summary="The stored events of one trace id, with where they came from in Kafka",
    responses={200: {"description": "the rows, possibly none"}, **problem_responses(401, 403, 422)},
)
async def trace(
    request: Request,
    trace_id: Annotated[str, Path(pattern=r"^[0-9a-f]{32}$", description="W3C trace id")],
    caller: Annotated[Caller, Depends(authenticated_caller)],
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> dict[str, Any]:
    # Stored rows may hold what only a full-access key may read.
    if "*" not in caller.scopes:
        raise Forbidden(f"API key {caller.name!r} needs the scope * to read traces")
    async with request.app.state.pool.acquire() as conn:
        found = await rows_of_trace(conn, trace_id, limit)
    return {"trace_id": trace_id, **found}
