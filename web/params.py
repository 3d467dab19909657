"""Every query parameter, path parameter and form field, validated before it reaches a store.

Anything that does not match is a 400 with a message naming the field: no
value from a request is used as a path, a query fragment or markup.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from shared.ports import RecordQuery
from shared.records import STATUSES

UPLOAD_ID = re.compile(r"^[0-9a-f]{32}$")
_SLUG = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_TS = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$")
_LABEL = re.compile(r"^[^\x00-\x1f\x7f<>]{1,80}$")
PAGE_SIZES = (12, 24, 48, 96)
DEFAULT_PAGE = 48


class BadInput(ValueError):
    """A request field failed validation (400); the message names the field."""


def upload_id(value: str) -> str:
    if not UPLOAD_ID.match(value or ""):
        raise BadInput("upload_id must be 32 lowercase hex characters")
    return value


def _choice(name: str, value: str | None, allowed: tuple[str, ...]) -> str | None:
    if value in (None, ""):
        return None
    if value not in allowed:
        raise BadInput(f"{name} must be one of {', '.join(allowed)}")
    return value


def _slug(name: str, value: str | None) -> str | None:
    if value in (None, ""):
        return None
    if not _SLUG.match(value) or ".." in value:
        raise BadInput(f"{name} must be letters, digits, '_', '.', '-' (at most 64)")
    return value


def text(name: str, value: str | None) -> str | None:
    """A free-text value such as a label: printable, no angle brackets, at most 80 characters."""
    if value in (None, ""):
        return None
    value = value.strip()
    if not _LABEL.match(value):
        raise BadInput(f"{name} must be 1-80 characters without control characters or angle brackets")
    return value


def label(value: str | None) -> str | None:
    return text("label", value)


def category(value: str | None, categories: tuple[str, ...]) -> str | None:
    if value in (None, ""):
        return None
    if categories:
        return _choice("category", value, categories)
    return _slug("category", value)


@dataclass(frozen=True)
class Filters:
    """The gallery's filters and page, as given in the query string (and written back into links)."""

    status: str | None = None
    category: str | None = None
    user: str | None = None
    reason: str | None = None
    since: str | None = None  # YYYY-MM-DD
    after: str | None = None  # keyset cursor: "<upload_ts>~<upload_id>"
    limit: int = DEFAULT_PAGE

    def query(self) -> RecordQuery:
        cursor = tuple(self.after.split("~")) if self.after else None
        return RecordQuery(statuses=(self.status,) if self.status else (), user_id=self.user, reason=self.reason,
                           category=self.category, since=f"{self.since}T00:00:00.000000Z" if self.since else None,
                           current_only=True, after=cursor, limit=self.limit + 1)  # type: ignore[arg-type]

    def params(self, **changes: object) -> dict[str, str]:
        values = {**self.__dict__, **changes}
        return {k: str(v) for k, v in values.items()
                if v not in (None, "") and not (k == "limit" and v == DEFAULT_PAGE)}


def filters(params: dict[str, str], categories: tuple[str, ...]) -> Filters:
    unknown = set(params) - set(Filters.__dataclass_fields__)
    if unknown:
        raise BadInput(f"unknown parameter(s): {', '.join(sorted(unknown))[:200]}")
    since = params.get("since") or None
    if since:
        try:
            date.fromisoformat(since)
        except ValueError:
            raise BadInput("since must be a date, YYYY-MM-DD") from None
        if len(since) != 10:
            raise BadInput("since must be a date, YYYY-MM-DD")
    after = params.get("after") or None
    if after:
        ts, _, uid = after.partition("~")
        if not _TS.match(ts) or not UPLOAD_ID.match(uid):
            raise BadInput("after must be a cursor from a 'next page' link")
    try:
        limit = int(params.get("limit") or DEFAULT_PAGE)
    except ValueError:
        raise BadInput(f"limit must be one of {PAGE_SIZES}") from None
    if limit not in PAGE_SIZES:
        raise BadInput(f"limit must be one of {PAGE_SIZES}")
    return Filters(
        status=_choice("status", params.get("status"), STATUSES),
        category=text("category", params.get("category")),
        user=_slug("user", params.get("user")),
        reason=_slug("reason", params.get("reason")),
        since=since, after=after, limit=limit,
    )


def cursor(upload_ts: str, uid: str) -> str:
    return f"{upload_ts}~{uid}"
