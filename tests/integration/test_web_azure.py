"""The web app as the Functions app serves it, against Azurite (HTTPS + OAuth) and the Cosmos DB stand-in.

Requests go through the registered ``web`` function and the Functions ASGI
wrapper (``func.AsgiMiddleware``), with the principal header App Service
Authentication would add. SAS URLs are user-delegation SAS signed with a key
Azurite issued for a token, and Azurite checks them as Storage does.
"""

from __future__ import annotations

import asyncio
import importlib
import io
import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import azure.functions as func
import pytest
import requests
from click.testing import CliRunner
from PIL import Image

from imgpipe.cli import cli
from shared.azure import connections
from tests.integration import oauth_azurite
from tests.integration.conftest import fresh_azure_settings
from tests.web.conftest import THRESHOLD
from web.azure import azure_app
from web.azure_sas import SasSigner
from web.identity import PRINCIPAL_HEADER, encode_principal

PHOTOS = Path(__file__).resolve().parents[1] / "fixtures" / "photos"
HOST = "imgpipe-web.azurewebsites.net"
REVIEWER = {PRINCIPAL_HEADER: encode_principal("0b7e9f6a-1111-4c3d-9e8f-000000000001", "rev@contoso.com",
                                               ("reviewer",))}
SELLER_OID = "5e11e400-2222-4c3d-9e8f-000000000002"
SELLER = {PRINCIPAL_HEADER: encode_principal(SELLER_OID, "sam@contoso.com", ("seller",))}


@pytest.fixture(scope="module")
def oauth(tmp_path_factory):
    from tests.integration.azure_services import node_modules_or_skip

    node_modules_or_skip()
    with oauth_azurite.running(tmp_path_factory.mktemp("azurite-oauth")) as running:
        yield running


def jpeg(colour=(30, 140, 60)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (400, 300), colour).save(out, "JPEG")
    return out.getvalue()


def put(url: str, data: bytes, cert: Path) -> int:
    return requests.put(url, data=data, headers={"x-ms-blob-type": "BlockBlob"}, verify=str(cert), timeout=30
                        ).status_code


def test_upload_sas_is_write_only_short_lived_and_for_one_blob_under_the_callers_prefix(oauth):
    service = oauth.token_client()
    if not service.get_container_client("uploads").exists():
        service.create_container("uploads")
    signer = SasSigner(service)
    grant = signer.write(f"uploads/{SELLER_OID}/shoe.jpg")
    query = parse_qs(urlsplit(grant.url).query)
    assert (query["sp"], query["sr"], query["spr"]) == (["cw"], ["b"], ["https"])
    assert "skoid" in query and "sig" in query  # a user-delegation SAS: signed with a delegation key
    lifetime = datetime.fromisoformat(query["se"][0].replace("Z", "+00:00")) - datetime.now(UTC)
    assert timedelta(minutes=5) < lifetime <= timedelta(minutes=10)

    assert put(grant.url, jpeg(), oauth.cert) == 201
    for other in ("uploads/someone-else/shoe.jpg", f"uploads/{SELLER_OID}/other.jpg", "bronze/x/shoe.jpg"):
        assert put(grant.url.replace(f"uploads/{SELLER_OID}/shoe.jpg", other), b"x", oauth.cert) == 403, other
    own = requests.get(grant.url, verify=str(oauth.cert), timeout=30)
    assert own.status_code == 403  # write-only: the seller cannot read it back with this SAS
    listing = grant.url.split("/shoe.jpg")[0].rsplit("/", 1)[0] + "?restype=container&comp=list&" + \
        grant.url.split("?", 1)[1]
    assert requests.get(listing, verify=str(oauth.cert), timeout=30).status_code == 403
    assert requests.delete(grant.url, verify=str(oauth.cert), timeout=30).status_code == 403
    expired = SasSigner(service, clock=lambda: datetime.now(UTC) - timedelta(minutes=30))
    assert put(expired.write(f"uploads/{SELLER_OID}/late.jpg").url, jpeg(), oauth.cert) == 403
    read = signer.read(f"uploads/{SELLER_OID}/shoe.jpg")
    assert requests.get(read.url, verify=str(oauth.cert), timeout=30).content == jpeg()
    assert put(read.url, b"x", oauth.cert) == 403


def test_without_easy_auth_a_principal_header_is_not_trusted(monkeypatch):
    """Without App Service Authentication nobody strips X-MS-CLIENT-PRINCIPAL: a forged one must not count."""
    from azure.storage.blob import BlobServiceClient
    from starlette.testclient import TestClient

    from shared.settings import Settings
    from tests.integration.azure_services import AZURITE_ACCOUNT, AZURITE_KEY

    service = BlobServiceClient(f"https://127.0.0.1:1/{AZURITE_ACCOUNT}", credential=AZURITE_KEY)
    for enabled, status in ((None, 401), ("True", 200)):
        if enabled:
            monkeypatch.setenv("WEBSITE_AUTH_ENABLED", enabled)
        else:
            monkeypatch.delenv("WEBSITE_AUTH_ENABLED", raising=False)
        app = azure_app(Settings(), signer=SasSigner(service))
        with TestClient(app, base_url=f"https://{HOST}") as http:
            assert http.get("/upload", headers=SELLER).status_code == status


@pytest.fixture
def azure_web(azure_services, oauth, monkeypatch):
    """Cosmos stand-in + the HTTPS Azurite for images; the web function's middleware built on its signer."""
    with fresh_azure_settings(azure_services):
        monkeypatch.setenv("IMAGES_STORAGE", oauth.connection_string)
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(oauth.cert))
        monkeypatch.setenv("WEBSITE_AUTH_ENABLED", "True")  # App Service sets it when Easy Auth is on
        monkeypatch.setenv("CLASSIFY_CONFIDENCE_THRESHOLD", THRESHOLD["CLASSIFY_CONFIDENCE_THRESHOLD"])
        connections.reset()
        uploads = connections.blob_service_client()
        for container in ("uploads", "bronze", "silver"):
            if uploads.get_container_client(container).exists():
                for blob in uploads.get_container_client(container).list_blobs():
                    uploads.get_container_client(container).delete_blob(blob.name)
        middleware = func.AsgiMiddleware(azure_app(signer=SasSigner(oauth.token_client())))
        connections.once("web-asgi", lambda: middleware)  # what functions/web.py builds on first request
        import function_app

        app = importlib.reload(function_app).app
        (web,) = [f for f in app.get_functions() if f.get_function_name() == "web"]
        yield web.get_user_function()
        connections.reset()


def call(handler, method: str, path: str, headers: dict | None = None, body: bytes = b"") -> func.HttpResponse:
    request = func.HttpRequest(method, f"https://{HOST}{path}", headers={"host": HOST, **(headers or {})},
                               body=body)
    return asyncio.run(handler(request, None))


def imgpipe(*args: str) -> str:
    result = CliRunner().invoke(cli, [*args, "--backend", "azure"] if args[0] != "run" else [*args])
    assert result.exit_code == 0, result.output
    return result.stdout  # logs go to stderr


def test_the_functions_app_serves_the_web_app_behind_easy_auth(azure_web, oauth):
    handler = azure_web
    service = connections.blob_service_client()
    if not service.get_container_client("uploads").exists():
        service.create_container("uploads")
    for photo in ("chelsea.png", "coffee.png", "rocket.jpg"):
        service.get_blob_client("uploads", f"demo/{photo}").upload_blob((PHOTOS / photo).read_bytes())
    imgpipe("run", "--settle", "0", "--backend", "azure", "--workers", "1", "--quiet")
    waiting = [r for r in json.loads(imgpipe("records", "--json")) if r["status"] == "needs_review"]
    assert waiting

    assert call(handler, "GET", "/healthz").status_code == 200
    assert call(handler, "GET", "/review").status_code == 401
    assert call(handler, "GET", "/review", SELLER).status_code == 403
    page = call(handler, "GET", "/review", REVIEWER)
    html = page.get_body().decode()
    assert page.status_code == 200 and f"https://127.0.0.1:{oauth.port}" in page.headers["content-security-policy"]
    silver = re.findall(r'<img src="(https://127\.0\.0\.1:\d+/devstoreaccount1/silver/[^"]+)"', html)
    assert len(silver) == len(waiting)
    image = requests.get(silver[0].replace("&amp;", "&"), verify=str(oauth.cert), timeout=30)
    assert image.status_code == 200 and image.content[:3] == b"\xff\xd8\xff"

    uid = waiting[0]["upload_id"]
    decision = json.dumps({"action": "accept"}).encode()
    assert call(handler, "POST", f"/api/review/{uid}", body=decision).status_code == 401
    assert call(handler, "POST", f"/api/review/{uid}", SELLER, decision).status_code == 403
    assert call(handler, "POST", f"/api/review/{uid}", REVIEWER, decision).status_code == 403  # no CSRF token
    cookie = page.headers["set-cookie"]
    assert cookie.startswith("__Host-imgpipe-csrf=") and "Secure" in cookie and "SameSite=Strict" in cookie
    token = cookie.split("=", 1)[1].split(";", 1)[0]
    csrf = {"cookie": f"__Host-imgpipe-csrf={token}", "x-csrf-token": token, "origin": f"https://{HOST}"}
    done = call(handler, "POST", f"/api/review/{uid}", {**REVIEWER, **csrf}, decision)
    assert done.status_code == 200
    stored = {r["upload_id"]: r for r in json.loads(imgpipe("records", "--json"))}[uid]
    assert stored["status"] == "classified" and stored["predictions"][-1]["model_version"] == "human:rev@contoso.com"

    ask = json.dumps({"name": "<b>boot</b>.jpg", "size": len(jpeg()), "type": "image/jpeg"}).encode()
    assert call(handler, "POST", "/api/uploads", body=ask).status_code == 401
    assert call(handler, "POST", "/api/uploads", {**REVIEWER, **csrf}, ask).status_code == 403
    spoofed = json.dumps({"name": "x.jpg", "size": 10, "type": "image/jpeg", "user_id": "victim"}).encode()
    granted = json.loads(call(handler, "POST", "/api/uploads", {**SELLER, **csrf}, spoofed).get_body())
    assert granted["path"] == f"uploads/{SELLER_OID}/x.jpg"  # the user id comes from the principal only
    too_big = json.dumps({"name": "x.jpg", "size": 10**9, "type": "image/jpeg"}).encode()
    assert call(handler, "POST", "/api/uploads", {**SELLER, **csrf}, too_big).status_code == 413
    grant = call(handler, "POST", "/api/uploads", {**SELLER, **csrf}, ask)
    body = json.loads(grant.get_body())
    assert grant.status_code == 201 and body["path"] == f"uploads/{SELLER_OID}/<b>boot<∕b>.jpg"
    assert body["limits"]["max_bytes"] == 50 * 1024 * 1024 and "image/jpeg" in body["limits"]["content_types"]
    assert put(body["url"], jpeg(), oauth.cert) == 201
    imgpipe("run", "--settle", "0", "--backend", "azure", "--workers", "1", "--quiet")
    mine = [r for r in json.loads(imgpipe("records", "--json")) if r["user_id"] == SELLER_OID]
    assert [(r["raw_name"], r["status"] in ("classified", "needs_review")) for r in mine] == [
        ("<b>boot<∕b>.jpg", True)]
    gallery = call(handler, "GET", "/records", REVIEWER).get_body().decode()
    assert "&lt;b&gt;boot&lt;∕b&gt;.jpg" in gallery and "<b>boot" not in gallery
