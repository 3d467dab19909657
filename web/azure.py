"""The app as the Functions app serves it: Cosmos DB + Blob Storage, Easy Auth's principal, SAS for images.

Built on the first request (never at import: the worker imports every module
while indexing, before it may have settings or a network), then shared by
every invocation in the worker process.
"""

from __future__ import annotations

import os

from starlette.applications import Starlette

from shared.azure import connections
from shared.azure.operations import operations
from shared.settings import Settings
from web.app import create_app
from web.azure_sas import SasSigner
from web.config import WebConfig
from web.identity import PRINCIPAL_HEADER, from_easy_auth
from web.images import SasLinks

LOGIN_URL = "/.auth/login/aad"


def easy_auth_enabled() -> bool:
    """App Service sets ``WEBSITE_AUTH_ENABLED`` when Authentication is on for the app.

    Only then does ``X-MS-CLIENT-PRINCIPAL`` come from Easy Auth (which strips
    copies sent by clients); without it anyone could send the header, so it is
    ignored and every route but ``/healthz`` answers 401.
    """
    return (os.environ.get("WEBSITE_AUTH_ENABLED") or "").strip().lower() == "true"


def azure_app(settings: Settings | None = None, signer: SasSigner | None = None) -> Starlette:
    """``signer`` defaults to one on the app's own blob client (its managed identity holds Storage Blob Delegator)."""
    settings = settings or Settings.from_env()
    trusted = easy_auth_enabled()
    signer = signer or SasSigner(connections.once("blob", connections.blob_service_client))
    config = WebConfig(
        open_operations=lambda: operations(settings),
        principal=lambda request: from_easy_auth(request.headers.get(PRINCIPAL_HEADER)) if trusted else None,
        limits=settings.limits, links=SasLinks(signer), signer=signer, secure_cookies=True, login_url=LOGIN_URL,
        extra_sources=(signer.origin,), backend="azure",
    )
    return create_app(config)
