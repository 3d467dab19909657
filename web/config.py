"""What differs between the two ways the app is served; everything else is the same code.

``imgpipe serve`` builds a local config (the person who started it, images
and uploads through the app); ``functions/web.py`` builds the Azure one
(Easy Auth's principal, SAS links and upload grants, HTTPS-only cookies).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from starlette.requests import Request

from shared.runtime import Operations
from shared.settings import Limits
from web.identity import Principal
from web.images import ImageLinks, ServedLinks

TAXONOMY = Path(__file__).resolve().parents[1] / "ml" / "taxonomy.json"


def load_categories(path: Path = TAXONOMY) -> tuple[str, ...]:
    """The model's product categories in taxonomy order, the default last (keys 1-9 pick the first nine).

    Read as plain JSON (no model code needed); an app without the file lets
    reviewers type a category instead of choosing one.
    """
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except OSError:
        return ()
    default = doc.get("default", "other")
    return (*(c for c in doc["categories"] if c != default), default)


@dataclass(frozen=True)
class WebConfig:
    open_operations: Callable[[], Operations]
    principal: Callable[[Request], Principal | None]
    limits: Limits
    links: ImageLinks = field(default_factory=ServedLinks)
    signer: object | None = None  # web.azure_sas.SasSigner: uploads by SAS grant instead of through the app
    categories: tuple[str, ...] = field(default_factory=load_categories)
    secure_cookies: bool = False
    login_url: str | None = None
    extra_sources: tuple[str, ...] = ()  # origins allowed for images and fetch (the blob endpoint in Azure)
    backend: str = "local"
