"""A small OpenAI-compatible server for tests: ``POST /v1/chat/completions`` answered from a
script per model (good JSON, malformed text, a refusal, 429 with Retry-After, 500, or no answer
at all), served by uvicorn on a free local port so that the real ``openai`` SDK talks real HTTP
to it. Start it inside a test's event loop (``await server.start()``), or, for a client in
another process, on a loop of its own in a background thread
(``with serving_in_thread() as server``).
Like OpenAI's API, it answers 400 to a ``json_schema`` response format that strict mode would
reject (:func:`strict_schema_violations`), so that every test through it checks the schemas
the layer generates."""

from __future__ import annotations

import asyncio
import json
import re
import threading
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from opsassist.infra.processes import free_port


@dataclass(frozen=True)
class Reply:
    status: int = 200
    content: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    hang: bool = False  # hold the request until the test releases it or the server stops
    prompt_tokens: int = 100
    completion_tokens: int = 20
    refusal: str | None = None  # strict structured output's refusal: no content, this instead


def answer(obj: dict[str, Any], **kwargs: Any) -> Reply:
    return Reply(content=json.dumps(obj), **kwargs)


def rate_limited(retry_after: str) -> Reply:
    return Reply(status=429, headers={"Retry-After": retry_after})


SERVER_ERROR = Reply(status=500)
HANG = Reply(hang=True)

Responder = Callable[[dict[str, Any]], Reply]

_SCHEMA_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
# The JSON Schema keywords OpenAI's structured outputs accept in strict mode; anything else
# (default, allOf, not, if/then/else, patternProperties, uniqueItems, ...) is rejected.
_STRICT_KEYWORDS = frozenset(
    {
        "type", "properties", "required", "additionalProperties", "items", "enum", "const",
        "anyOf", "$defs", "$ref", "title", "description", "pattern", "format", "minimum",
        "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf", "minItems", "maxItems",
    }
)  # fmt: skip


def strict_schema_violations(schema: Any, path: str = "#") -> list[str]:
    """Why OpenAI's strict mode would reject ``schema`` (empty when it would not): every object
    closed (``additionalProperties: false``) with all its properties required, only the
    supported keywords, and an object at the root."""
    if path == "#" and (not isinstance(schema, dict) or schema.get("type") != "object"):
        return [f"{path}: the root must be an object schema"]
    if not isinstance(schema, dict):
        return [f"{path}: a schema must be an object, not {schema!r}"]
    problems = [f"{path}: unsupported keyword {k!r}" for k in schema if k not in _STRICT_KEYWORDS]
    if schema.get("type") == "object" or "properties" in schema:
        properties = schema.get("properties", {})
        if schema.get("additionalProperties") is not False:
            problems.append(f"{path}: additionalProperties must be false")
        if sorted(schema.get("required", [])) != sorted(properties):
            problems.append(f"{path}: every property must be required")
        for name, sub in properties.items():
            problems += strict_schema_violations(sub, f"{path}/properties/{name}")
    if "items" in schema:
        problems += strict_schema_violations(schema["items"], f"{path}/items")
    for index, sub in enumerate(schema.get("anyOf", [])):
        problems += strict_schema_violations(sub, f"{path}/anyOf/{index}")
    for name, sub in schema.get("$defs", {}).items():
        problems += strict_schema_violations(sub, f"{path}/$defs/{name}")
    return problems


def response_format_violations(response_format: dict[str, Any]) -> list[str]:
    """Why OpenAI would reject this ``json_schema`` response format (empty when it would not)."""
    spec = response_format.get("json_schema")
    if not isinstance(spec, dict):
        return ["json_schema is missing"]
    problems = [] if spec.get("strict") is True else ["strict must be true"]
    if not _SCHEMA_NAME.match(str(spec.get("name", ""))):
        problems.append(f"name {spec.get('name')!r} is not [a-zA-Z0-9_-]{{1,64}}")
    return problems + strict_schema_violations(spec.get("schema"))


class FakeOpenAI:
    def __init__(self) -> None:
        self.port = free_port()
        self.requests: list[dict[str, Any]] = []
        self.azure_calls: list[dict[str, Any]] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self.release = asyncio.Event()
        self._queued: dict[str, deque[Reply]] = {}
        self._responders: dict[str, Responder] = {}
        self._server: uvicorn.Server | None = None
        self._task: asyncio.Task[None] | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def queue(self, model: str, *replies: Reply) -> None:
        """Answer the next requests for ``model`` with these replies, in order."""
        self._queued.setdefault(model, deque()).extend(replies)

    def respond(self, model: str, responder: Responder) -> None:
        """Answer every request for ``model`` (once its queue is empty) with ``responder``."""
        self._responders[model] = responder

    def requests_for(self, model: str) -> list[dict[str, Any]]:
        return [r for r in self.requests if r["model"] == model]

    async def _azure_chat(self, request: Request) -> JSONResponse:
        self.azure_calls.append(
            {
                "deployment": request.path_params["deployment"],
                "api_version": request.query_params.get("api-version"),
                "api_key": request.headers.get("api-key"),
            }
        )
        return await self._chat(request)

    async def _chat(self, request: Request) -> JSONResponse:
        body = await request.json()
        self.requests.append(body)
        model = body["model"]
        response_format = body.get("response_format") or {}
        if response_format.get("type") == "json_schema":
            problems = response_format_violations(response_format)
            if problems:
                message = "Invalid schema for response_format: " + "; ".join(problems)
                error = {"error": {"message": message, "type": "invalid_request_error"}}
                return JSONResponse(error, status_code=400)
        queued = self._queued.get(model)
        if queued:
            reply = queued.popleft()
        elif model in self._responders:
            reply = self._responders[model](body)
        else:
            reply = Reply(status=500, content="unscripted")
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            if reply.hang:
                await self.release.wait()
        finally:
            self.in_flight -= 1
        if reply.status != 200:
            error = {"error": {"message": f"scripted {reply.status}", "type": "test"}}
            return JSONResponse(error, status_code=reply.status, headers=reply.headers)
        return JSONResponse(
            {
                "id": f"chatcmpl-{len(self.requests)}",
                "object": "chat.completion",
                "created": 0,
                "model": model,
                "choices": [
                    {
                        "index": 0,
                        "message": {
                            "role": "assistant",
                            "content": reply.content if reply.refusal is None else None,
                            "refusal": reply.refusal,
                        },
                        "finish_reason": "stop",
                    }
                ],
                "usage": {
                    "prompt_tokens": reply.prompt_tokens,
                    "completion_tokens": reply.completion_tokens,
                    "total_tokens": reply.prompt_tokens + reply.completion_tokens,
                },
            },
            headers=reply.headers,
        )

    async def start(self) -> None:
        app = Starlette(
            routes=[
                Route("/v1/chat/completions", self._chat, methods=["POST"]),
                # Azure OpenAI's classic API: the deployment in the path, api-version in the query
                Route(
                    "/openai/deployments/{deployment}/chat/completions",
                    self._azure_chat,
                    methods=["POST"],
                ),
            ]
        )
        config = uvicorn.Config(
            app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="off"
        )
        self._server = uvicorn.Server(config)
        self._task = asyncio.create_task(self._server.serve())
        deadline = asyncio.get_running_loop().time() + 10
        while not self._server.started:
            if self._task.done() or asyncio.get_running_loop().time() > deadline:
                raise RuntimeError("the fake OpenAI server did not start")
            await asyncio.sleep(0.01)

    async def stop(self) -> None:
        self.release.set()
        assert self._server is not None and self._task is not None
        self._server.should_exit = True
        await self._task


@contextmanager
def serving_in_thread(timeout: float = 15) -> Iterator[FakeOpenAI]:
    """A :class:`FakeOpenAI` serving from its own event loop in a daemon thread, so that it
    answers while the test's thread blocks (waiting on a worker subprocess, say). Responders
    run on that thread."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="fake-openai", daemon=True)
    thread.start()
    server = FakeOpenAI()
    started = False
    try:
        asyncio.run_coroutine_threadsafe(server.start(), loop).result(timeout)
        started = True
        yield server
    finally:
        if started:
            asyncio.run_coroutine_threadsafe(server.stop(), loop).result(timeout)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout)
        loop.close()
