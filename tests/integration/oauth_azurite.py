"""Azurite with HTTPS and OAuth, the mode in which it issues user delegation keys and checks user-delegation SAS.

Azurite only accepts bearer tokens over HTTPS (``--cert``/``--key``) with
``--oauth basic``: it checks a token's issuer, audience and expiry but not its
signature, so the tests mint an unsigned Entra-shaped token here instead of
signing in. A user delegation key it returns is derived from the token's
``oid``/``tid``, and it validates a SAS signed with that key the way Storage
does (signature over permissions, resource, times, key fields). The
certificate is made per session and trusted by the tests explicitly.
"""

from __future__ import annotations

import base64
import datetime as dt
import ipaddress
import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from azure.core.credentials import AccessToken

from tests.integration.azure_services import AZURITE_ACCOUNT, AZURITE_KEY, HOST, NODE_BIN, _start, _stop, free_port

TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
APP_OBJECT_ID = "6c0d1d6e-1f0b-4f6a-9a5e-0d3c1a2b3c4d"


def self_signed(workdir: Path) -> tuple[Path, Path]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, HOST)])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(HOST)),
                                                        x509.DNSName("localhost")]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = workdir / "azurite.pem", workdir / "azurite-key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                                           serialization.NoEncryption()))
    return cert_path, key_path


class EntraShapedCredential:
    """A ``TokenCredential`` whose tokens have the claims Azurite's basic OAuth level checks (unsigned)."""

    def __init__(self, object_id: str = APP_OBJECT_ID) -> None:
        self.object_id = object_id

    def get_token(self, *scopes: str, **kwargs: object) -> AccessToken:
        now = int(time.time())
        claims = {"aud": "https://storage.azure.com", "iss": f"https://sts.windows.net/{TENANT}/",
                  "nbf": now - 60, "iat": now - 60, "exp": now + 3600, "oid": self.object_id, "tid": TENANT}

        def part(doc: dict) -> str:
            return base64.urlsafe_b64encode(json.dumps(doc).encode()).rstrip(b"=").decode()

        return AccessToken(f"{part({'alg': 'RS256', 'typ': 'JWT'})}.{part(claims)}.c2lnbmF0dXJl", now + 3600)


@dataclass(frozen=True)
class OAuthAzurite:
    port: int
    cert: Path

    @property
    def account_url(self) -> str:
        return f"https://{HOST}:{self.port}/{AZURITE_ACCOUNT}"

    @property
    def connection_string(self) -> str:
        """Shared-key access over HTTPS, for the pipeline's own adapters in the same tests."""
        return (f"DefaultEndpointsProtocol=https;AccountName={AZURITE_ACCOUNT};AccountKey={AZURITE_KEY};"
                f"BlobEndpoint={self.account_url};")

    def token_client(self):
        """A blob client signed in with a token, as the app's managed identity is in Azure."""
        from azure.storage.blob import BlobServiceClient

        return BlobServiceClient(self.account_url, credential=EntraShapedCredential(), connection_verify=str(self.cert))


@contextmanager
def running(workdir: Path) -> Iterator[OAuthAzurite]:
    cert, key = self_signed(workdir)
    port = free_port()
    cmd = [str(NODE_BIN / "azurite-blob"), "--blobHost", HOST, "--blobPort", str(port), "--cert", str(cert),
           "--key", str(key), "--oauth", "basic", "--skipApiVersionCheck", "--disableTelemetry", "--silent",
           "--location", str(workdir / "data")]
    proc = _start(cmd, port, "azurite-oauth", workdir)
    try:
        yield OAuthAzurite(port, cert)
    finally:
        _stop(proc)
