"""What every webhook route shares: the producer, API-key authentication with rate limits, the
idempotency keys, and turning an answer into an HTTP response. Built once per app (lifespan)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

import asyncpg
import structlog
from fastapi import Request, Security
from fastapi.responses import JSONResponse
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from opsassist.api.bodies import decode_content, read_body
from opsassist.api.graphql.login_throttle import LoginThrottle
from opsassist.api.metrics import WEBHOOK_EVENTS, WEBHOOK_KAFKA_UNAVAILABLE
from opsassist.api.problems import ServiceUnavailable, Unprocessable
from opsassist.api.webhooks.auth import ApiKeyAuthenticator, Caller, token_from_headers
from opsassist.api.webhooks.idempotency import Answer, IdempotentRequests
from opsassist.api.webhooks.publisher import EventPublisher, KafkaUnavailable
from opsassist.api.webhooks.ratelimit import RateLimiter
from opsassist.schemas import AnyEvent, TicketEvent, trace_id_from_traceparent
from opsassist.settings import Settings
from opsassist.store.ticket_workflow import purge_status_requests
from opsassist.streams.agents.sanitize import identifier_refusal
from opsassist.streams.privacy import IdempotencyKeyDigest, Redactor
from opsassist.tracing import current_trace_id

_PURGE_EVERY_SECONDS = 3600.0
log = structlog.get_logger(__name__)


class Ingestion:
    def __init__(self, settings: Settings, bootstrap_servers: str, pool: asyncpg.Pool) -> None:
        self.settings = settings
        self.publisher = EventPublisher(bootstrap_servers, settings)
        self.limiter = RateLimiter(
            settings.webhook_rate_limit_per_second, settings.webhook_rate_limit_burst
        )
        self.authenticator = ApiKeyAuthenticator(
            pool, self.limiter, settings.webhook_api_key_cache_seconds
        )
        # One retention for the webhooks' idempotency keys and those of ticket status changes.
        self._key_ttl = timedelta(hours=settings.webhook_idempotency_ttl_hours)
        # The API process's one key digest and one redactor: GraphQL's ticket workflow uses them
        # too (api/graphql/workflow.py), as streams/privacy asks (one Redactor per process).
        self.keys = IdempotencyKeyDigest.from_settings(settings)
        self.idempotency = IdempotentRequests(
            pool,
            ttl=self._key_ttl,
            lease=timedelta(seconds=settings.webhook_idempotency_lease_seconds),
            keys=self.keys,
        )
        if not self.idempotency.keyed:
            log.warning(
                "idempotency_key_secret_unset",
                hint="set OPSASSIST_PRIVACY_IDEMPOTENCY_KEY_SECRET (or the pseudonym key)",
            )
        # The policy the worker redacts with: what it would refuse is refused here already.
        self.redactor = Redactor.from_settings(settings)
        self._pool = pool
        self._purger: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._purger = asyncio.get_running_loop().create_task(self._purge_forever())

    async def _purge_forever(self) -> None:
        while True:
            with contextlib.suppress(Exception):  # a missed purge only keeps rows longer
                await self.purge_once()
            with contextlib.suppress(Exception):
                await LoginThrottle(self.settings).purge(self._pool)
            await asyncio.sleep(_PURGE_EVERY_SECONDS)

    async def purge_once(self) -> tuple[int, int]:
        """Forget expired idempotency keys: the webhooks' and those of ticket status changes
        (``updateTicketStatus``), kept as long (``webhook_idempotency_ttl_hours``). Returns how
        many of each were deleted."""
        webhooks = await self.idempotency.purge_expired()
        status_changes = await purge_status_requests(self._pool, self._key_ttl)
        return webhooks, status_changes

    async def close(self) -> None:
        if self._purger is not None:
            self._purger.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._purger
        await self.publisher.close()

    async def decoded_body(self, request: Request, content_encoding: str | None) -> bytes:
        """The request body within the size limits, decompressed as ``Content-Encoding`` says."""
        raw = await read_body(request, self.settings.webhook_max_body_bytes)
        return decode_content(raw, content_encoding, self.settings.webhook_max_decompressed_bytes)

    async def publish_ticket(
        self,
        event: TicketEvent,
        endpoint: str,
        payload_name: str,
        answer: dict[str, Any],
        delivery: str | None,
    ) -> Answer:
        """An issue tracker's delivery as its one ticket event: refused now (422) where the
        worker would dead-letter it for a personal identifier, else produced and answered."""
        refusal = identifier_refusal(self.redactor, event)
        if refusal is not None:  # the worker would dead-letter it: say so to the sender now
            raise Unprocessable(f"not {payload_name} payload: {refusal.detail}")
        await self.publish([event], endpoint)
        return Answer(202, {**answer, "delivery": delivery, "produced": 1, "event_ids": [event.id]})

    async def publish(self, events: Sequence[AnyEvent], endpoint: str) -> None:
        """Kafka acknowledged every event, or the request fails with 503 and Retry-After."""
        try:
            await self.publisher.publish(events)
        except KafkaUnavailable as exc:
            WEBHOOK_KAFKA_UNAVAILABLE.labels(endpoint).inc()
            log.warning("webhook_kafka_unavailable", endpoint=endpoint, error=str(exc))
            raise ServiceUnavailable(
                f"the events were not queued: {exc}",
                retry_after=self.settings.webhook_retry_after_seconds,
            ) from None
        WEBHOOK_EVENTS.labels(endpoint).inc(len(events))


def ingestion(request: Request) -> Ingestion:
    service: Ingestion = request.app.state.ingestion
    return service


_bearer = HTTPBearer(auto_error=False, description="An API key: `Bearer opsa_<id>_<secret>`.")
_api_key_header = APIKeyHeader(
    name="X-API-Key", auto_error=False, description="The API key, as an alternative header."
)


async def authenticated_caller(
    request: Request,
    bearer: HTTPAuthorizationCredentials | None = Security(_bearer),  # noqa: B008
    api_key: str | None = Security(_api_key_header),
) -> Caller:
    token = token_from_headers(
        f"Bearer {bearer.credentials}" if bearer is not None else None, api_key
    )
    return await ingestion(request).authenticator.authenticate(token)


def trace_id_of(request: Request) -> str | None:
    """The trace the request's events belong to: the sender's (its ``traceparent``), or with
    tracing on the one the API's server span started."""
    return current_trace_id() or trace_id_from_traceparent(request.headers.get("traceparent"))


def respond(answer: Answer) -> JSONResponse:
    headers = {"Idempotent-Replayed": "true"} if answer.replayed else {}
    return JSONResponse(answer.body, status_code=answer.status, headers=headers)
