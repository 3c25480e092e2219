"""Reading request bodies within limits: size as sent, gzip, size once decompressed, and how
deep their JSON nests."""

from __future__ import annotations

import zlib
from typing import Any

import orjson
from starlette.requests import ClientDisconnect, Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from opsassist.api.problems import (
    PayloadTooLarge,
    Unprocessable,
    UnsupportedMediaType,
    problem_response,
)

#: How deep JSON may nest (objects and arrays inside each other) in any body the API reads.
#: Real payloads (GitHub pushes, Jira issues, log attributes) stay far below; the serializers and
#: validators downstream recurse, and a thousand levels made them fail as a plain 500.
MAX_JSON_DEPTH = 64


async def read_body(request: Request, limit: int) -> bytes:
    """The body as sent; 413 as soon as it exceeds ``limit`` bytes (before reading it all)."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"the body is {declared} bytes; the limit is {limit}")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"the body exceeds the limit of {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def decode_content(body: bytes, content_encoding: str | None, limit: int) -> bytes:
    """The body without its ``Content-Encoding`` (identity or gzip); 413 past ``limit`` bytes
    decompressed, so a small gzip bomb cannot fill the memory."""
    encoding = (content_encoding or "identity").strip().lower()
    if encoding in ("identity", ""):
        return body
    if encoding not in ("gzip", "x-gzip"):
        raise UnsupportedMediaType(
            f"Content-Encoding {content_encoding!r} is not supported; use gzip or none"
        )
    inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    try:
        out = inflater.decompress(body, limit + 1)
        if len(out) > limit or inflater.unconsumed_tail:
            raise PayloadTooLarge(f"the body exceeds {limit} bytes once decompressed")
        out += inflater.flush()
    except zlib.error as exc:
        raise Unprocessable(f"the body is not valid gzip: {exc}") from None
    if not inflater.eof:
        raise Unprocessable("the gzip body is truncated")
    if len(out) > limit:
        raise PayloadTooLarge(f"the body exceeds {limit} bytes once decompressed")
    return out


def media_type(request: Request) -> str:
    """The request's media type without parameters, lower case (empty when absent)."""
    return request.headers.get("content-type", "").split(";", 1)[0].strip().lower()


class InvalidJson(ValueError):
    """Not JSON, or JSON nested deeper than :data:`MAX_JSON_DEPTH`; ``str()`` says which."""


def _nests_deeper_than(value: Any, limit: int) -> bool:
    # A loop, not recursion: the point is to refuse depth before anything recurses into it.
    pending: list[tuple[Any, int]] = [(value, 1)]
    while pending:
        item, depth = pending.pop()
        children = item.values() if isinstance(item, dict) else item
        if depth > limit:
            return True
        pending.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return False


def load_json(data: bytes | str) -> Any:
    """The JSON value of ``data``: :class:`InvalidJson` when it is not JSON or nests deeper than
    :data:`MAX_JSON_DEPTH` levels, with the same reason whatever route or line it came from."""
    too_deep = f"JSON nested deeper than {MAX_JSON_DEPTH} levels"
    try:
        value = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        # orjson stops on its own at 1,024 levels: the same depth problem, said the same way.
        reason = too_deep if "depth limit" in str(exc) else f"not JSON: {exc}"
        raise InvalidJson(reason) from None
    # Nesting needs a bracket per level: the C-speed count spares the walk on every flat body,
    # above all the NDJSON log lines, each of which comes through here.
    raw = data if isinstance(data, bytes) else data.encode()
    if (
        isinstance(value, dict | list)
        and raw.count(b"{") + raw.count(b"[") > MAX_JSON_DEPTH
        and _nests_deeper_than(value, MAX_JSON_DEPTH)
    ):
        raise InvalidJson(too_deep)
    return value


def json_body(data: bytes | str) -> Any:
    """:func:`load_json` for a whole request body: 422 problem details when it is not JSON or
    nests too deep, said the same way on every route."""
    try:
        return load_json(data)
    except InvalidJson as exc:
        raise Unprocessable(f"the body is {exc}") from None


class BodyLimit:
    """ASGI middleware for routes that read their body through a library (strawberry's
    ``/graphql``): 413 problem details when the body exceeds ``limit`` bytes, by its
    Content-Length before anything is read, or, chunked, as soon as the bytes read pass it.
    The body is read here (at most ``limit`` bytes) and handed on whole."""

    def __init__(self, app: ASGIApp, *, path: str, limit: int) -> None:
        self.app = app
        self.path = path
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(self.path):
            await self.app(scope, receive, send)
            return
        request = Request(scope, receive)
        try:
            body = await read_body(request, self.limit)
        except ClientDisconnect:
            return  # nobody is left to answer
        except PayloadTooLarge as exc:
            response = problem_response(exc.status, exc.slug, exc.detail, request)
            # The rest of the body is not read: the connection cannot carry another request.
            response.headers["Connection"] = "close"
            await response(scope, receive, send)
            return
        delivered = False

        async def replay() -> Message:
            nonlocal delivered
            if delivered:
                return await receive()
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)
