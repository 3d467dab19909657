"""Jinja2 with autoescaping on every template: a user's file name is always text, never markup."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse

from web.security import csrf_token

TEMPLATES = Path(__file__).resolve().parent / "templates"
STATIC = Path(__file__).resolve().parent / "static"

env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(default=True,
                  default_for_string=True), trim_blocks=True, lstrip_blocks=True)


def _pct(value: Any) -> str:
    return "–" if value is None else f"{float(value) * 100:.0f}%"


env.filters["pct"] = _pct


def render(request: Request, template: str, status: int = 200, **context: Any) -> HTMLResponse:
    config = request.app.state.config
    html = env.get_template(template).render(
        csrf_token=csrf_token(request), path=request.url.path, backend=config.backend,
        login_url=config.login_url, standalone=False, **context)
    return HTMLResponse(html, status_code=status)
