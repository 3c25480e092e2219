"""Security headers on every HTTP answer of the API, and a Content-Security-Policy per kind of
answer: data (JSON, problem details, metrics) may load nothing, and the HTML pages (GraphiQL,
``/docs``, ``/redoc``) may run only their own inline scripts (by hash) and their pinned CDN
assets. Plain ASGI, as api/metrics.py explains."""

from __future__ import annotations

import base64
import hashlib
import re

from starlette.types import ASGIApp, Message, Receive, Scope, Send

#: Headers every answer carries, whatever its type.
COMMON_HEADERS: dict[str, str] = {
    "X-Content-Type-Options": "nosniff",
    # Older browsers read only this one; the CSP's frame-ancestors says the same to newer ones.
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
}
DATA_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'"

#: Where GraphiQL (strawberry), Swagger UI and ReDoc (FastAPI) load their assets from.
_PAGE_ASSET_ORIGINS = "https://unpkg.com https://cdn.jsdelivr.net"
_INLINE_SCRIPT = re.compile(rb"<script>(.*?)</script>", re.DOTALL)


def page_csp(html: bytes) -> str:
    """The policy of one of our HTML pages: its inline scripts are allowed by their SHA-256, not
    by 'unsafe-inline', so a script injected into the page would not run."""
    hashes = " ".join(
        f"'sha256-{base64.b64encode(hashlib.sha256(script).digest()).decode()}'"
        for script in _INLINE_SCRIPT.findall(html)
    )
    return (
        "default-src 'none'; "
        f"script-src 'self' {_PAGE_ASSET_ORIGINS} {hashes}; "
        # Swagger UI and GraphiQL set style attributes from their scripts.
        f"style-src 'self' 'unsafe-inline' {_PAGE_ASSET_ORIGINS} https://fonts.googleapis.com; "
        "font-src 'self' https://fonts.gstatic.com; "
        "img-src 'self' data: https://fastapi.tiangolo.com https://cdn.redoc.ly; "
        # GraphiQL queries /graphql over HTTP and subscribes over a WebSocket to the same host.
        "connect-src 'self' ws: wss:; "
        "worker-src 'self' blob:; "
        "frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    )


class SecurityHeaders:
    """ASGI middleware adding :data:`COMMON_HEADERS` and a Content-Security-Policy to every
    HTTP answer (an answer that sets its own keeps it)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        held_start: Message | None = None
        html = bytearray()

        async def send_with_headers(message: Message) -> None:
            nonlocal held_start
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                for name, value in COMMON_HEADERS.items():
                    if name.lower().encode() not in present:
                        headers.append((name.lower().encode(), value.encode()))
                message = {**message, "headers": headers}
                content_type = dict(headers).get(b"content-type", b"")
                if b"content-security-policy" not in present:
                    if content_type.startswith(b"text/html"):
                        # The policy hashes the page's scripts: hold the start until the body is in.
                        held_start = message
                        return
                    headers.append((b"content-security-policy", DATA_CSP.encode()))
            elif message["type"] == "http.response.body" and held_start is not None:
                html.extend(message.get("body", b""))
                if message.get("more_body", False):
                    return
                start, held_start = held_start, None
                csp = page_csp(bytes(html))
                start["headers"].append((b"content-security-policy", csp.encode()))
                await send(start)
                message = {**message, "body": bytes(html)}
            await send(message)

        await self.app(scope, receive, send_with_headers)
