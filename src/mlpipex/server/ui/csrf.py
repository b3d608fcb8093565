"""CSRF protection for the UI's forms, stateless so that any server replica can check it.

The browser holds a random secret in an HttpOnly, SameSite=Strict cookie; each form carries
HMAC(secret, session cookie) in a hidden field. Another site can neither read the secret nor,
even if it managed to plant a secret cookie, know the session token the HMAC is bound to. A POST
that the browser marks as coming from another site (Sec-Fetch-Site) is refused as well.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from urllib.parse import parse_qsl

from fastapi import Request, Response

from mlpipex.errors import Forbidden

COOKIE = "mlpipex_csrf"
FIELD = "csrf"
SESSION_COOKIE = "mlpipex_token"
MAX_FORM_BYTES = 64 * 1024


def new_secret() -> str:
    return secrets.token_urlsafe(32)


def secret(request: Request) -> tuple[str, bool]:
    """The browser's CSRF secret, and whether it is new (then the response must set it)."""
    found = request.cookies.get(COOKIE)
    if found and 16 <= len(found) <= 128:
        return found, False
    return new_secret(), True


def token(secret_value: str, request: Request, session: str | None = None) -> str:
    bound = session if session is not None else request.cookies.get(SESSION_COOKIE, "")
    mac = hmac.new(secret_value.encode(), b"mlpipex-ui\0" + bound.encode(), hashlib.sha256)
    return mac.hexdigest()


def set_cookie(response: Response, request: Request, secret_value: str) -> None:
    response.set_cookie(
        COOKIE,
        secret_value,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        path="/",
    )


async def checked_form(request: Request) -> dict[str, str]:
    """The POSTed urlencoded form, once its CSRF token and Origin are checked (Forbidden if not).

    Parsed here rather than with python-multipart: the UI posts only small urlencoded forms."""
    # Browsers say where a request comes from; this holds behind proxies that rewrite Host.
    if request.headers.get("sec-fetch-site", "same-origin") not in ("same-origin", "none"):
        raise Forbidden("cross-site form submission refused")
    body = await request.body()
    if len(body) > MAX_FORM_BYTES:
        raise Forbidden("form too large")
    form = dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
    secret_value = request.cookies.get(COOKIE)
    sent = form.pop(FIELD, "")
    if not secret_value or not hmac.compare_digest(sent, token(secret_value, request)):
        raise Forbidden(
            "the form's CSRF token is missing or stale", hint="reload the page and try again"
        )
    return form
