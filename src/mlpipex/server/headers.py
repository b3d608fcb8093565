"""Headers every response carries so that browsers hold the UI to what it means to do: no
framing (clickjacking), no content-type guessing, scripts only from this server."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)
ALWAYS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
]
# FastAPI's interactive /docs page loads Swagger UI from a CDN with an inline script.
CSP_EXEMPT = ("/docs", "/redoc")
# what a response gets, made once: every request sends one of them
_WITH_CSP = (*ALWAYS, (b"content-security-policy", CSP.encode()))
_WITHOUT_CSP = tuple(ALWAYS)


class SecurityHeaders:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        extra = _WITHOUT_CSP if scope["path"].startswith(CSP_EXEMPT) else _WITH_CSP

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                # a header the response already sets (a download's nosniff) is not sent twice
                headers = message.get("headers", ())
                present = {name.lower() for name, _ in headers}
                message["headers"] = [*headers, *(h for h in extra if h[0] not in present)]
            await send(message)

        await self.app(scope, receive, with_headers)
