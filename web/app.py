"""``create_app(config)``: the one ASGI app, whatever serves it (uvicorn locally, the Functions host in Azure)."""

from __future__ import annotations

import logging
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from shared.stages import ReviewError
from web import api, images, pages, params
from web.backend import Backend
from web.config import WebConfig
from web.guards import Denied, caller, require
from web.identity import REVIEWER
from web.render import STATIC, render
from web.security import CsrfError, SecurityHeaders, content_security_policy
from web.uploads import NotAnImage, TooLarge

log = logging.getLogger(__name__)
IMAGE_CACHE = "private, max-age=3600"  # bronze and silver never change under a given record path


async def silver(request: Request) -> Response:
    require(request, REVIEWER)
    uid = params.upload_id(request.path_params["upload_id"])
    data = await request.app.state.backend.call(images.silver_bytes, uid)
    return Response(data, media_type="image/jpeg", headers={"cache-control": IMAGE_CACHE})


async def bronze(request: Request) -> Response:
    require(request, REVIEWER)
    uid = params.upload_id(request.path_params["upload_id"])
    data = await request.app.state.backend.call(images.bronze_preview, uid)
    return Response(data, media_type="image/jpeg", headers={"cache-control": IMAGE_CACHE})


def _is_api(request: Request) -> bool:
    return request.url.path.startswith(("/api/", "/images/", "/healthz"))


def _error(request: Request, status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    if _is_api(request):
        return JSONResponse({"error": message}, status_code=status, headers=headers)
    return render(request, "error.html", status=status, principal=caller(request), message=message, code=status)


async def on_error(request: Request, exc: Exception) -> Response:
    if isinstance(exc, Denied):
        return _error(request, exc.status, str(exc))
    if isinstance(exc, CsrfError):
        return _error(request, 403, str(exc))
    if isinstance(exc, TooLarge):
        return _error(request, 413, str(exc))
    if isinstance(exc, NotAnImage):
        return _error(request, 415, str(exc))
    if isinstance(exc, params.BadInput):
        return _error(request, 400, str(exc))
    if isinstance(exc, images.NoImage):
        return _error(request, 404, str(exc))
    if isinstance(exc, ReviewError):
        return _error(request, 404 if str(exc).startswith("no record") else 409, str(exc))
    raise exc


def create_app(config: WebConfig) -> Starlette:
    backend = Backend(config.open_operations)

    @asynccontextmanager
    async def lifespan(app: Starlette):
        yield
        backend.close()

    routes = [
        *pages.routes, *api.routes,
        Route("/images/{upload_id}/silver.jpg", silver),
        Route("/images/{upload_id}/bronze.jpg", bronze),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ]
    # Unexpected errors stay Starlette's plain 500 (logged by the server), without a stack trace to the caller.
    handled = (Denied, CsrfError, params.BadInput, images.NoImage, ReviewError)
    app = Starlette(routes=routes, lifespan=lifespan, exception_handlers=dict.fromkeys(handled, on_error))
    app.state.config = config
    app.state.backend = backend
    csp = content_security_policy(config.extra_sources, config.extra_sources)
    app.add_middleware(SecurityHeaders, csp=csp, secure=config.secure_cookies)
    return app
