"""``imgpipe report --out report.html``: the report page as one file that opens without a network.

CSS is inlined, charts and contact-sheet thumbnails are ``data:`` URIs, and
the file carries a Content-Security-Policy that allows nothing to load from
anywhere and no script to run: it is safe to mail around.
"""

from __future__ import annotations

import base64
from typing import Any

from shared.runtime import Operations
from web import images, report
from web.charts import charts
from web.render import STATIC, env

CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"


def contact_sheet(ops: Operations, records: list, side: int = images.THUMB_SIDE) -> list[dict[str, Any]]:
    sheet = []
    for record in records:
        try:
            thumb = images.downscale(ops.services.store.get(record.cleansed_path), ops.settings.limits, side)
        except (images.NoImage, KeyError, OSError):
            continue  # an image gone missing (archived, deleted) leaves a gap, not a failed report
        sheet.append({"thumb": "data:image/jpeg;base64," + base64.b64encode(thumb).decode("ascii"),
                      "raw_name": record.raw_name, "label": record.label, "category": record.category,
                      "status": record.status})
    return sheet


def render_report(ops: Operations, latest: int = report.LATEST) -> str:
    data = report.build(ops, latest=latest)
    html = env.get_template("report.html").render(
        report=data, charts=charts(data), fmt=report.format_seconds, contact_sheet=contact_sheet(ops, data.latest),
        standalone=True, inline_css=(STATIC / "app.css").read_text(encoding="utf-8"), csrf_token="", path="",
        principal=None, backend=ops.name, login_url=None)
    return html.replace("<head>", f'<head>\n<meta http-equiv="Content-Security-Policy" content="{CSP}">', 1)
