"""Secrets from Azure Key Vault, for the few settings that must be secret (the ML endpoint key).

In Azure the app setting holds a Key Vault reference
(``@Microsoft.KeyVault(SecretUri=...)``) that the platform resolves before the
worker starts, so the code just reads the value. ``func start`` and
``imgpipe --backend azure`` do not resolve references; there the same
reference is parsed here and fetched with the SDK under the developer's
identity (``az login``), so nobody copies a key into a file.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

_REFERENCE = re.compile(r"^@Microsoft\.KeyVault\((?P<args>.*)\)\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class SecretRef:
    vault_url: str
    name: str
    version: str | None = None


def parse_reference(value: str) -> SecretRef | None:
    """Both reference forms the platform accepts, or None for a value that is not a reference.

    ``SecretUri=https://v.vault.azure.net/secrets/name[/version]`` or
    ``VaultName=v;SecretName=n[;SecretVersion=x]``.
    """
    match = _REFERENCE.match(value.strip())
    if not match:
        return None
    args = dict(part.split("=", 1) for part in match.group("args").split(";") if "=" in part)
    args = {k.strip().lower(): v.strip() for k, v in args.items()}
    if "secreturi" in args:
        uri = urlparse(args["secreturi"])
        parts = [p for p in uri.path.split("/") if p]
        if len(parts) < 2 or parts[0] != "secrets":
            raise ValueError(f"not a Key Vault secret URI: {args['secreturi']}")
        return SecretRef(f"{uri.scheme}://{uri.netloc}", parts[1], parts[2] if len(parts) > 2 else None)
    if "vaultname" in args and "secretname" in args:
        return SecretRef(f"https://{args['vaultname']}.vault.azure.net", args["secretname"], args.get("secretversion"))
    raise ValueError("Key Vault reference needs SecretUri=… or VaultName=…;SecretName=…")


class KeyVaultSecrets:
    def __init__(self, credential: Any, client_factory: Callable[[str, Any], Any] | None = None) -> None:
        self.credential = credential
        self._factory = client_factory or _secret_client
        self._clients: dict[str, Any] = {}

    def get(self, ref: SecretRef) -> str:
        if ref.vault_url not in self._clients:
            self._clients[ref.vault_url] = self._factory(ref.vault_url, self.credential)
        return str(self._clients[ref.vault_url].get_secret(ref.name, ref.version).value)

    def resolve(self, value: str | None) -> str | None:
        """A plain value as is; an unresolved Key Vault reference fetched; empty as None."""
        if not value:
            return None
        ref = parse_reference(value)
        return self.get(ref) if ref else value


def _secret_client(vault_url: str, credential: Any) -> Any:
    from azure.keyvault.secrets import SecretClient

    return SecretClient(vault_url=vault_url, credential=credential)
