"""Who is calling: App Service Authentication's principal in Azure, the person who started the server locally.

Easy Auth signs the caller in with Entra ID and hands the app the result in
``X-MS-CLIENT-PRINCIPAL`` (base64 JSON with the token's claims); it strips
that header from what clients send, so the app may trust it when (and only
when) it runs behind Easy Auth. The user id used for upload paths is the
Entra object id from those claims, never anything the request says.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Any

from shared.naming import clean_display_name, safe_user_id

REVIEWER, SELLER = "reviewer", "seller"
ROLES = (REVIEWER, SELLER)
PRINCIPAL_HEADER = "x-ms-client-principal"
_MAX_HEADER = 32 * 1024
_OID_CLAIMS = ("http://schemas.microsoft.com/identity/claims/objectidentifier", "oid")
_NAME_CLAIMS = ("preferred_username", "name", "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name")
_ROLE_CLAIMS = ("roles", "http://schemas.microsoft.com/ws/2008/06/identity/claims/role")


class BadPrincipal(ValueError):
    """The principal header is present but unusable: treated as no principal (401)."""


@dataclass(frozen=True)
class Principal:
    user_id: str  # a path-safe id: uploads go to uploads/{user_id}/
    name: str  # shown in the page and recorded as the reviewer (human:<name>)
    roles: frozenset[str]

    def has(self, role: str) -> bool:
        return role in self.roles


def local_principal(user: str) -> Principal:
    """Locally the server runs for the person who started it (loopback only by default): every role."""
    return Principal(safe_user_id(user), clean_display_name(user, 128) or "local", frozenset(ROLES))


def from_easy_auth(header: str | None) -> Principal | None:
    """The caller from ``X-MS-CLIENT-PRINCIPAL``; None without one. Raises ``BadPrincipal`` when malformed."""
    if not header:
        return None
    if len(header) > _MAX_HEADER:
        raise BadPrincipal("principal header too large")
    try:
        doc = json.loads(base64.b64decode(header, validate=False))
    except (binascii.Error, ValueError, UnicodeDecodeError) as exc:
        raise BadPrincipal(f"principal header is not base64 JSON: {exc}") from exc
    claims = doc.get("claims") if isinstance(doc, dict) else None
    if not isinstance(claims, list):
        raise BadPrincipal("principal header has no claims")
    pairs = [(str(c.get("typ", "")), str(c.get("val", ""))) for c in claims if isinstance(c, dict)]
    oid = _first(pairs, _OID_CLAIMS)
    if not oid:
        raise BadPrincipal("principal has no object id claim")
    role_types = {*_ROLE_CLAIMS, str(doc.get("role_typ") or "")}
    name_types = (str(doc.get("name_typ") or ""), *_NAME_CLAIMS)
    roles = frozenset(val for typ, val in pairs if typ in role_types and val in ROLES)
    name = clean_display_name(_first(pairs, name_types) or oid, 128)
    return Principal(safe_user_id(oid), name, roles)


def _first(pairs: list[tuple[str, str]], types: tuple[str, ...]) -> str | None:
    for wanted in types:
        for typ, val in pairs:
            if wanted and typ == wanted and val.strip():
                return val.strip()
    return None


def encode_principal(user_id: str, name: str, roles: tuple[str, ...]) -> str:
    """The header as Easy Auth builds it from an Entra ID token (for tests and local trials)."""
    doc: dict[str, Any] = {
        "auth_typ": "aad",
        "name_typ": "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name",
        "role_typ": "http://schemas.microsoft.com/ws/2008/06/identity/claims/role",
        "claims": [{"typ": _OID_CLAIMS[0], "val": user_id},
                   {"typ": "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name", "val": name},
                   *({"typ": "roles", "val": role} for role in roles)],
    }
    return base64.b64encode(json.dumps(doc).encode()).decode()
