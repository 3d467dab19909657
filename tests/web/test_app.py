"""The app through Starlette's test client over a real local data dir: headers, CSRF, roles, validation,
escaping, images and uploads. What the browser tests do not reach, and what must fail closed."""

from __future__ import annotations

import re
from functools import partial
from html.parser import HTMLParser
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from imgpipe.backends import open_operations
from shared.settings import Limits, Settings
from tests.web.conftest import XSS_NAME, imgpipe, jpeg, records
from web.app import create_app
from web.config import WebConfig
from web.identity import PRINCIPAL_HEADER, encode_principal, from_easy_auth
from web.local import local_app

BASE = "http://127.0.0.1:8080"


def settings_for(data_dir: Path, **limits: int) -> Settings:
    return Settings.from_env().with_(data_dir=data_dir, limits=Limits(**limits) if limits else Limits())


def client(data_dir: Path, **limits: int) -> TestClient:
    settings = settings_for(data_dir, **limits)
    return TestClient(local_app(settings, "local", "tess", partial(open_operations, "local", settings, "none")),
                      base_url=BASE)


def easy_auth_client(data_dir: Path) -> TestClient:
    """The Functions app's identity rules (Easy Auth's header) over the local backend."""
    settings = settings_for(data_dir)
    config = WebConfig(open_operations=partial(open_operations, "local", settings, "none"),
                       principal=lambda request: from_easy_auth(request.headers.get(PRINCIPAL_HEADER)),
                       limits=settings.limits, login_url="/.auth/login/aad")
    return TestClient(create_app(config), base_url=BASE)


def token(http: TestClient) -> str:
    return re.search(r'name="csrf-token" content="([^"]+)"', http.get("/review").text).group(1)


def by_name(data_dir: Path, name: str) -> dict:
    return next(r for r in records(data_dir).values() if r["raw_name"] == name)


@pytest.fixture(scope="module")
def http(data_dir: Path):
    with client(data_dir) as c:
        yield c


PAGES = ["/review", "/records", "/records?status=needs_review", "/report", "/upload"]


def test_every_response_carries_the_security_headers(http, data_dir):
    uid = next(iter(records(data_dir)))
    for path in [*PAGES, f"/records/{uid}", "/api/records", "/static/app.css", "/healthz", "/nowhere"]:
        response = http.get(path)
        csp = response.headers["content-security-policy"]
        assert "script-src 'self';" in csp and "unsafe" not in csp and "frame-ancestors 'none'" in csp, path
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["x-frame-options"] == "DENY"


class InlineCode(HTMLParser):
    """Everything the CSP would block: inline scripts, event handler attributes, style attributes/elements."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        names = {name for name, _ in attrs}
        if (tag == "script" and "src" not in names) or tag == "style":
            self.found.append(tag)
        self.found += [f"{tag}[{n}]" for n in names if n.startswith("on") or n == "style"]


def test_pages_need_no_inline_script_or_style(http):
    for path in PAGES:
        parser = InlineCode()
        parser.feed(http.get(path).text)
        assert parser.found == [], path


def test_a_name_that_is_markup_is_text_everywhere(http, data_dir):
    record = by_name(data_dir, XSS_NAME)
    escaped = "&lt;img src=x onerror=alert(1)&gt;.jpg"
    for path in ["/records", f"/records/{record['upload_id']}", "/review", "/report"]:
        html = http.get(path).text
        assert "<img src=x" not in html, path
    assert escaped in http.get("/records").text
    assert http.get(f"/api/records/{record['upload_id']}").json()["raw_name"] == XSS_NAME


def test_state_changing_requests_need_the_csrf_token_and_the_same_origin(http, data_dir):
    uid = next(r["upload_id"] for r in records(data_dir).values() if r["status"] == "needs_review")
    good = token(http)
    accept = {"action": "accept"}
    assert http.post(f"/api/review/{uid}", json=accept).status_code == 403
    assert http.post(f"/api/review/{uid}", json=accept, headers={"x-csrf-token": "x" * 43}).status_code == 403
    assert http.post(f"/api/review/{uid}", json=accept,
                     headers={"x-csrf-token": good, "origin": "http://127.0.0.1:9999"}).status_code == 403
    assert http.post(f"/api/review/{uid}", json=accept,
                     headers={"x-csrf-token": good, "sec-fetch-site": "cross-site"}).status_code == 403
    assert records(data_dir)[uid]["status"] == "needs_review"  # nothing was written
    ok = http.post(f"/api/review/{uid}", json=accept, headers={"x-csrf-token": good, "origin": BASE})
    assert ok.status_code == 200 and ok.json()["status"] == "classified"
    undone = http.post(f"/api/review/{uid}/undo", headers={"x-csrf-token": good})
    assert undone.status_code == 200 and undone.json()["status"] == "needs_review"
    form = http.post("/upload", files={"file": ("a.jpg", jpeg((1, 2, 3)), "image/jpeg")})
    assert form.status_code == 403


def test_review_decisions_validate_their_input(http, data_dir):
    uid = next(r["upload_id"] for r in records(data_dir).values() if r["status"] == "needs_review")
    rejected = by_name(data_dir, "definitely-a-photo.jpg")["upload_id"]
    headers = {"x-csrf-token": token(http)}
    cases = [
        (uid, {"action": "set", "label": "<b>x</b>"}, 400), (uid, {"action": "set", "category": "weapons"}, 400),
        (uid, {"action": "set"}, 400), (uid, {"action": "delete"}, 400), (uid, [1, 2], 400),
        ("0" * 32, {"action": "accept"}, 404), (rejected, {"action": "accept"}, 409),
        ("../../etc/passwd", {"action": "accept"}, 404),
    ]
    for target, body, status in cases:
        assert http.post(f"/api/review/{target}", json=body, headers=headers).status_code == status, (target, body)
    assert http.post(f"/api/review/{uid}/undo", headers=headers).status_code == 409  # nothing to undo
    assert http.post(f"/api/review/{uid}", content=b"{not json", headers=headers).status_code == 400


def test_query_and_path_parameters_are_validated(http):
    for path in ["/records/NOTHEX", "/records?status=bogus", "/records?since=2026-13-01", "/records?after=x~y",
                 "/records?limit=1000", "/records?user=../etc", "/records?colour=red", "/api/records?reason=<b>",
                 "/images/" + "g" * 32 + "/silver.jpg"]:
        assert http.get(path).status_code == 400, path
    for path in ["/images/..%2F..%2Fgold%2Fimgpipe.db/silver.jpg", "/images/../gold/imgpipe.db",
                 "/static/../gold/imgpipe.db", "/records/" + "0" * 32]:
        response = http.get(path)
        assert response.status_code in (400, 404) and b"SQLite" not in response.content, path


def test_bronze_is_only_ever_a_preview_made_by_the_server(http, data_dir):
    html_file = by_name(data_dir, "definitely-a-photo.jpg")
    response = http.get(f"/images/{html_file['upload_id']}/bronze.jpg")
    assert response.status_code == 404 and response.headers["content-type"] == "application/json"
    photo = by_name(data_dir, "coffee.png")
    preview = http.get(f"/images/{photo['upload_id']}/bronze.jpg")
    raw = (data_dir / photo["raw_path"]).read_bytes()
    assert preview.headers["content-type"] == "image/jpeg" and preview.content[:3] == b"\xff\xd8\xff"
    assert preview.content != raw and raw[:4] == b"\x89PNG"


def test_upload_form_writes_into_the_callers_folder_only(data_dir, tmp_path):
    with client(tmp_path, max_bytes=50_000) as http:
        fields = {"csrf_token": token(http)}
        ok = http.post("/upload", data=fields, files={"file": ("../../evil.jpg", jpeg((9, 9, 9)), "image/jpeg")},
                       follow_redirects=False)
        assert ok.status_code == 303
        assert [p.relative_to(tmp_path).as_posix() for p in (tmp_path / "uploads").rglob("*") if p.is_file()] == [
            "uploads/tess/..\u2215..\u2215evil.jpg"]
        refused = {"notes.txt": (b"just text", 415), "big.jpg": (b"\xff\xd8\xff" + b"0" * 60_000, 413),
                   "photo.jpg.part": (jpeg((1, 1, 1)), 400), "empty.jpg": (b"", 400)}
        for name, (data, status) in refused.items():
            response = http.post("/upload", data=fields, files={"file": (name, data, "image/jpeg")})
            assert response.status_code == status, name
        assert len(list((tmp_path / "uploads").rglob("*.*"))) == 1
        local = http.post("/api/uploads", json={"name": "a.jpg", "size": 10, "type": "image/jpeg"},
                          headers={"x-csrf-token": fields["csrf_token"]})
        assert local.status_code == 404 and local.json()["limits"]["max_bytes"] == 50_000


def test_roles_from_the_easy_auth_principal(data_dir):
    reviewer = {PRINCIPAL_HEADER: encode_principal("0b7e-11", "rev@contoso.com", ("reviewer",))}
    seller = {PRINCIPAL_HEADER: encode_principal("5e11-22", "sam@contoso.com", ("seller",))}
    nobody = {PRINCIPAL_HEADER: encode_principal("a0-33", "guest@contoso.com", ())}
    uid = next(iter(records(data_dir)))
    with easy_auth_client(data_dir) as http:
        assert http.get("/healthz").status_code == 200
        for path in ["/review", "/records", f"/records/{uid}", "/report", "/api/records", f"/images/{uid}/silver.jpg"]:
            assert http.get(path).status_code == 401, path
            assert http.get(path, headers={PRINCIPAL_HEADER: "not base64 json"}).status_code == 401, path
            assert http.get(path, headers=seller).status_code == 403, path
            assert http.get(path, headers=reviewer).status_code in (200, 404), path
        assert "/.auth/login/aad" in http.get("/review").text
        assert http.get("/upload", headers=nobody).status_code == 403
        assert http.get("/upload", headers=seller).status_code == 200
        for headers, status in (({}, 401), (seller, 403), (nobody, 403)):
            assert http.post(f"/api/review/{uid}", json={"action": "accept"}, headers=headers).status_code == status
        for headers, status in (({}, 401), (reviewer, 403), (nobody, 403)):
            assert http.post("/api/uploads", json={}, headers=headers).status_code == status


def test_gallery_pages_with_a_keyset_cursor(tmp_path):
    for i in range(30):
        (tmp_path / "uploads" / f"u{i % 3}").mkdir(parents=True, exist_ok=True)
        (tmp_path / "uploads" / f"u{i % 3}" / f"p{i:02}.jpg").write_bytes(jpeg((i * 8, 100, 50), (64, 48)))
    imgpipe(tmp_path, "run", "--settle", "0", "--workers", "1", "--quiet", "--classifier", "none")
    expected = sorted(records(tmp_path).values(), key=lambda r: (r["upload_ts"], r["upload_id"]))
    with client(tmp_path) as http:
        seen, after = [], None
        while True:
            page = http.get("/api/records", params={"limit": 12, **({"after": after} if after else {})}).json()
            seen += [r["upload_id"] for r in page["records"]]
            after = page["next"]
            if not after:
                break
        assert seen == [r["upload_id"] for r in expected] and len(seen) == 30
        html = http.get("/records?limit=12&user=u1").text
        assert html.count('class="tile') == 10 and "next-page" not in html
        assert 'id="next-page"' in http.get("/records?limit=12").text
