"""Security headers, CSRF and roles: every response and every state-changing request goes through here.

CSRF is a double-submit token: a random value in an HttpOnly, SameSite=Strict
cookie (``__Host-`` prefixed over HTTPS, so no other host can plant it),
echoed by the page in a header or form field, plus a same-origin check on
``Origin``/``Sec-Fetch-Site``. It needs no server-side secret, so it works
the same on a laptop and on every instance of a scaled-out Functions app,
and the origin check stops a page on another local port (cookies ignore
ports) even if it managed to set the cookie.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Iterable
from urllib.parse import urlsplit

from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf_token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class CsrfError(Exception):
    """A state-changing request without a valid token or from another origin (403)."""


def cookie_name(secure: bool) -> str:
    return "__Host-imgpipe-csrf" if secure else "imgpipe-csrf"


def csrf_token(request: Request) -> str:
    """The token for this browser: the cookie's value, or a new one the response will set."""
    secure = request.app.state.config.secure_cookies
    token = request.cookies.get(cookie_name(secure))
    if not token or len(token) != 43:
        token = request.state.new_csrf = getattr(request.state, "new_csrf", None) or secrets.token_urlsafe(32)
    return token


def check_csrf(request: Request, submitted: str | None) -> None:
    if request.method in SAFE_METHODS:
        return
    site = request.headers.get("sec-fetch-site")
    if site and site not in ("same-origin", "none"):
        raise CsrfError(f"cross-site request ({site})")
    origin = request.headers.get("origin") or request.headers.get("referer")
    if origin and _host_of(origin) != request.headers.get("host", "").lower():
        raise CsrfError("request from another origin")
    expected = request.cookies.get(cookie_name(request.app.state.config.secure_cookies))
    given = submitted or request.headers.get(CSRF_HEADER)
    if not expected or not given or not hmac.compare_digest(expected.encode(), given.encode()):
        raise CsrfError("missing or wrong CSRF token: reload the page")


def _host_of(url: str) -> str:
    parts = urlsplit(url)
    return (parts.netloc or "").lower()


def content_security_policy(img_sources: Iterable[str] = (), connect_sources: Iterable[str] = ()) -> str:
    """No inline script or style anywhere: scripts and CSS come from /static, charts are SVG images."""
    img = " ".join(("'self'", "data:", *img_sources))
    connect = " ".join(("'self'", *connect_sources))
    return (f"default-src 'none'; script-src 'self'; style-src 'self'; img-src {img}; connect-src {connect}; "
            "form-action 'self'; base-uri 'none'; frame-ancestors 'none'")


class SecurityHeaders:
    """Pure ASGI middleware: the headers on every response, and the CSRF cookie when a page minted one."""

    def __init__(self, app: ASGIApp, csp: str, secure: bool) -> None:
        self.app, self.csp, self.secure = app, csp, secure

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if scope.get("state") is None:  # the Functions ASGI wrapper passes state=None
            scope["state"] = {}
        state = scope["state"]

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.setdefault("content-security-policy", self.csp)
                headers["x-content-type-options"] = "nosniff"
                headers["x-frame-options"] = "DENY"
                headers["referrer-policy"] = "same-origin"
                headers["cross-origin-opener-policy"] = "same-origin"
                headers["permissions-policy"] = "camera=(), microphone=(), geolocation=()"
                headers.setdefault("cache-control", "no-store")
                if self.secure:
                    headers["strict-transport-security"] = "max-age=31536000"
                token = state.get("new_csrf")
                if token:
                    flags = "; Secure" if self.secure else ""
                    headers.append("set-cookie", f"{cookie_name(self.secure)}={token}; Path=/; HttpOnly; "
                                   f"SameSite=Strict{flags}")
            await send(message)

        await self.app(scope, receive, send_with_headers)
