"""The app as ``imgpipe serve`` runs it: one backend's operations, the person who started it, images via the app."""

from __future__ import annotations

from collections.abc import Callable

from shared.runtime import Operations
from shared.settings import Settings
from web.app import create_app
from web.config import WebConfig
from web.identity import local_principal


def local_app(settings: Settings, backend: str, user: str, opener: Callable[[], Operations]):
    """``opener`` builds the ``Operations`` of ``backend`` (the CLI passes its composition root's)."""
    principal = local_principal(user)
    config = WebConfig(open_operations=opener, principal=lambda request: principal, limits=settings.limits,
                       backend=backend)
    return create_app(config)
