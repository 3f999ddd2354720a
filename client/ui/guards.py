"""What keeps the app to its own user on its own machine: loopback, Host, Origin and form tokens.

The app listens on 127.0.0.1 only, and every request is refused with 403 before it
reaches a page unless it comes from a loopback address, names the app itself as its
Host (127.0.0.1 or localhost, with the app's port: a DNS-rebinding page names another
host), and carries no Origin or Sec-Fetch-Site of another site. Every form carries a
token, an HMAC under a secret made at start, bound to the cookie of the browser that
asked for the form: the session cookie once unlocked, a pre-session cookie on the
unlock form. Both cookies are HttpOnly and SameSite=Strict, and die with the process.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import secrets
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from starlette.datastructures import Headers
from starlette.responses import PlainTextResponse

#: The session cookie of the unlocked browser, and the unlock form's pre-session cookie.
SESSION_COOKIE = "tovholder_field"
FORM_COOKIE = "tovholder_field_form"
LANGUAGE_COOKIE = "tovholder_field_lang"
HEADERS = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": "default-src 'none'; style-src 'self' 'unsafe-inline'; form-action 'self'",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    # the browser names this app as the Origin of its own forms (never "null")
    "Referrer-Policy": "same-origin",
}
REFUSED = "This request did not come from the app's own page on this computer; nothing was changed."

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class FormTokens:
    """Form tokens bound to a cookie, under a secret of this start of the app."""

    def __init__(self) -> None:
        self._secret = secrets.token_bytes(32)

    def token(self, purpose: str, binding: str) -> str:
        return hmac.new(self._secret, f"{purpose}\n{binding}".encode(), hashlib.sha256).hexdigest()

    def holds(self, purpose: str, binding: str, token: str) -> bool:
        return bool(binding) and hmac.compare_digest(self.token(purpose, binding), token)


def _loopback(host: str | None) -> bool:
    try:
        return host is not None and ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def refusal(scope: Scope, port: int) -> str | None:
    """Why a request is not the app's own user's, or None when it is."""
    client = scope.get("client")
    if not _loopback(client[0] if client else None):
        return "not from this computer"
    headers = Headers(scope=scope)
    own = {f"127.0.0.1:{port}", f"localhost:{port}"}
    if headers.get("host", "") not in own:
        return "another host"
    origin = headers.get("origin")
    if origin is not None and origin not in {f"http://{h}" for h in own}:
        return "another origin"
    if headers.get("sec-fetch-site", "same-origin") not in ("same-origin", "none"):
        return "another site"
    return None


class LoopbackOnly:
    """ASGI middleware: answer 403 to every request `refusal` finds a reason against."""

    def __init__(self, app: ASGIApp, port: int) -> None:
        self.app = app
        self.port = port

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and refusal(scope, self.port) is not None:
            response = PlainTextResponse(REFUSED, status_code=403, headers=HEADERS)
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)
