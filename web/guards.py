"""Who may do what: the roles each route needs, checked before the handler touches anything.

``reviewer`` reads records and decides reviews; ``seller`` uploads. No
principal is a 401 (sign in), a principal without the role a 403.
"""

from __future__ import annotations

from starlette.requests import Request

from web.identity import BadPrincipal, Principal


class Denied(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def caller(request: Request) -> Principal | None:
    try:
        return request.app.state.config.principal(request)
    except BadPrincipal:
        return None


def require(request: Request, role: str) -> Principal:
    principal = caller(request)
    if principal is None:
        raise Denied(401, "sign in first")
    if not principal.has(role):
        raise Denied(403, f"this needs the '{role}' role; ask an administrator to assign it to you")
    return principal
