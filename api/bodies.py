"""Reading request bodies within limits: size as sent, gzip, and size once decompressed."""

from __future__ import annotations

import zlib

from starlette.requests import Request

from api.problems import PayloadTooLarge, Unprocessable, UnsupportedMediaType


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
