"""The HTML pages: review, gallery, record, report, upload. Handlers parse, check the role, read, render."""

from __future__ import annotations

from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from shared.ports import RecordQuery
from shared.records import STATUSES, Status
from web import params, report
from web.charts import charts
from web.guards import caller, require
from web.identity import REVIEWER, SELLER
from web.render import render
from web.security import CSRF_FIELD, check_csrf
from web.uploads import TooLarge, UploadLimits, check_upload, upload_path
from web.views import card

REVIEW_PAGE = 200


async def home(request: Request) -> Response:
    principal = caller(request)
    target = "/upload" if principal and not principal.has(REVIEWER) and principal.has(SELLER) else "/review"
    return RedirectResponse(target, status_code=303)


async def review_page(request: Request) -> Response:
    principal = require(request, REVIEWER)
    config = request.app.state.config
    query = RecordQuery(statuses=(Status.NEEDS_REVIEW,), current_only=True, limit=REVIEW_PAGE)
    records = await request.app.state.backend.call(lambda ops: list(ops.services.meta.scan(query)))
    cards = [card(r, config.links) for r in records]
    return render(request, "review.html", principal=principal, cards=cards, categories=config.categories[:9],
                  all_categories=config.categories, limit=REVIEW_PAGE)


async def records_page(request: Request) -> Response:
    principal = require(request, REVIEWER)
    config = request.app.state.config
    filters = params.filters(dict(request.query_params), config.categories)
    found = await request.app.state.backend.call(lambda ops: list(ops.services.meta.scan(filters.query())))
    page, more = found[:filters.limit], len(found) > filters.limit
    next_after = params.cursor(page[-1].upload_ts, page[-1].upload_id) if more else None
    return render(request, "records.html", principal=principal, cards=[card(r, config.links) for r in page],
                  filters=filters, statuses=STATUSES, categories=config.categories, next_after=next_after,
                  page_sizes=params.PAGE_SIZES)


async def record_page(request: Request) -> Response:
    principal = require(request, REVIEWER)
    uid = params.upload_id(request.path_params["upload_id"])
    record = await request.app.state.backend.call(lambda ops: ops.services.meta.get(uid))
    if record is None:
        return render(request, "error.html", status=404, principal=principal, message=f"no record {uid}")
    fields = {k: v for k, v in record.to_dict().items() if k not in ("lineage", "predictions")}
    return render(request, "record.html", principal=principal, record=record, fields=fields,
                  card=card(record, request.app.state.config.links))


async def report_page(request: Request) -> Response:
    principal = require(request, REVIEWER)
    data = await request.app.state.backend.call(report.build)
    return render(request, "report.html", principal=principal, report=data, charts=charts(data),
                  fmt=report.format_seconds, contact_sheet=None)


async def upload_page(request: Request) -> Response:
    principal = require(request, SELLER)
    config = request.app.state.config
    return render(request, "upload.html", principal=principal, limits=UploadLimits.from_limits(config.limits),
                  by_sas=config.signer is not None, saved=request.query_params.getlist("saved")[:20])


async def upload_form(request: Request) -> Response:
    """Locally (and with ``imgpipe serve --backend azure``) the app writes the file into ``uploads/{user}/``."""
    principal = require(request, SELLER)
    config = request.app.state.config
    limits = UploadLimits.from_limits(config.limits)
    length = request.headers.get("content-length")
    if not length or not length.isdigit():  # the multipart parser spools to disk: no unbounded streams
        raise params.BadInput("uploads need a Content-Length")
    if int(length) > limits.max_bytes * 4 + 65536:
        raise TooLarge(f"request larger than the {limits.max_bytes}-byte limit allows")
    async with request.form(max_files=4, max_fields=4, max_part_size=64 * 1024) as form:
        check_csrf(request, str(form.get(CSRF_FIELD) or ""))
        files = [f for f in form.getlist("file") if isinstance(f, UploadFile)]
        if not files:
            raise params.BadInput("choose a file to upload")
        saved: list[tuple[str, bytes]] = []
        for upload in files:
            data = await upload.read(limits.max_bytes + 1)
            check_upload(data, limits)
            saved.append((upload_path(principal, upload.filename), data))
    await request.app.state.backend.call(lambda ops: [ops.services.store.put(p, d) for p, d in saved])
    names = "&".join(f"saved={_quote(p.rsplit('/', 1)[-1])}" for p, _ in saved)
    return RedirectResponse(f"/upload?{names}", status_code=303)


def _quote(text: str) -> str:
    from urllib.parse import quote

    return quote(text, safe="")


async def healthz(request: Request) -> Response:
    from starlette.responses import JSONResponse

    await request.app.state.backend.call(lambda ops: ops.services.meta.get("0" * 32))
    return JSONResponse({"status": "ok", "backend": request.app.state.config.backend})


routes = [
    Route("/", home),
    Route("/review", review_page),
    Route("/records", records_page),
    Route("/records/{upload_id}", record_page),
    Route("/report", report_page),
    Route("/upload", upload_page, methods=["GET"]),
    Route("/upload", upload_form, methods=["POST"]),
    Route("/healthz", healthz),
]
