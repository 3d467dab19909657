"""JSON under ``/api/``: records, review decisions, the report, and (in Azure) upload grants."""

from __future__ import annotations

import json
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from shared.stages import review, undo_review
from web import params, report
from web.guards import require
from web.identity import REVIEWER, SELLER
from web.security import check_csrf
from web.uploads import TooLarge, UploadLimits, upload_path
from web.views import card

MAX_JSON = 16 * 1024


async def _json_body(request: Request) -> dict[str, Any]:
    if int(request.headers.get("content-length") or 0) > MAX_JSON:
        raise params.BadInput("request body too large")
    body = await request.body()
    if len(body) > MAX_JSON:
        raise params.BadInput("request body too large")
    if not body:
        return {}
    try:
        data = json.loads(body)
    except ValueError:
        raise params.BadInput("body must be JSON") from None
    if not isinstance(data, dict):
        raise params.BadInput("body must be a JSON object")
    return data


async def records(request: Request) -> Response:
    require(request, REVIEWER)
    config = request.app.state.config
    filters = params.filters(dict(request.query_params), config.categories)
    found = await request.app.state.backend.call(lambda ops: list(ops.services.meta.scan(filters.query())))
    page, more = found[:filters.limit], len(found) > filters.limit
    return JSONResponse({"records": [r.to_dict() for r in page],
                         "next": params.cursor(page[-1].upload_ts, page[-1].upload_id) if more else None})


async def record(request: Request) -> Response:
    require(request, REVIEWER)
    uid = params.upload_id(request.path_params["upload_id"])
    found = await request.app.state.backend.call(lambda ops: ops.services.meta.get(uid))
    if found is None:
        return JSONResponse({"error": f"no record {uid}"}, status_code=404)
    return JSONResponse({**found.to_dict(), "view": card(found, request.app.state.config.links)})


async def decide(request: Request) -> Response:
    """``{"action": "accept"}`` keeps the model's answer; ``{"label": ..., "category": ...}`` corrects it."""
    principal = require(request, REVIEWER)
    check_csrf(request, None)
    uid = params.upload_id(request.path_params["upload_id"])
    body = await _json_body(request)
    config = request.app.state.config
    label = params.label(body.get("label") if isinstance(body.get("label"), str) else None)
    category = params.category(body.get("category") if isinstance(body.get("category"), str) else None,
                               config.categories)
    if body.get("action") not in ("accept", "set"):
        raise params.BadInput("action must be 'accept' or 'set'")
    if body["action"] == "set" and not (label or category):
        raise params.BadInput("'set' needs a label and/or a category")
    if body["action"] == "accept":
        label = category = None
    decided = await request.app.state.backend.call(
        lambda ops: review(ops.services, uid, principal.name, label=label, category=category))
    return JSONResponse(decided.to_dict())


async def undo(request: Request) -> Response:
    principal = require(request, REVIEWER)
    check_csrf(request, None)
    uid = params.upload_id(request.path_params["upload_id"])
    restored = await request.app.state.backend.call(lambda ops: undo_review(ops.services, uid, principal.name))
    return JSONResponse(restored.to_dict())


async def report_json(request: Request) -> Response:
    require(request, REVIEWER)
    return JSONResponse((await request.app.state.backend.call(report.build)).to_dict())


async def upload_grant(request: Request) -> Response:
    """A write-only SAS for one new blob under ``uploads/{caller's user id}/`` (Azure only)."""
    principal = require(request, SELLER)
    check_csrf(request, None)
    config = request.app.state.config
    limits = UploadLimits.from_limits(config.limits)
    if config.signer is None:
        return JSONResponse({"error": "uploads go through the /upload form on this server", "limits":
                             limits.to_dict()}, status_code=404)
    body = await _json_body(request)
    size = body.get("size")
    if not isinstance(size, int) or isinstance(size, bool) or size <= 0:
        raise params.BadInput("size must be the file's size in bytes")
    if size > limits.max_bytes:
        raise TooLarge(f"file larger than {limits.max_bytes} bytes")
    content_type = body.get("type")
    if content_type not in limits.content_types:
        raise params.BadInput(f"type must be one of {', '.join(limits.content_types)}")
    path = upload_path(principal, body.get("name") if isinstance(body.get("name"), str) else None)
    grant = await run_in_threadpool(config.signer.write, path)  # may fetch a delegation key: blocking I/O
    return JSONResponse({"url": grant.url, "method": "PUT", "path": path, "expires": grant.expires.isoformat(),
                         "permissions": grant.permissions,
                         "headers": {"x-ms-blob-type": "BlockBlob", "Content-Type": content_type},
                         "limits": limits.to_dict()}, status_code=201)


routes = [
    Route("/api/records", records),
    Route("/api/records/{upload_id}", record),
    Route("/api/review/{upload_id}", decide, methods=["POST"]),
    Route("/api/review/{upload_id}/undo", undo, methods=["POST"]),
    Route("/api/report", report_json),
    Route("/api/uploads", upload_grant, methods=["POST"]),
]
