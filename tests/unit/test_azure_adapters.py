"""Azure adapter logic that needs no service: throttle backoff, Key Vault references, connection settings."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from azure.cosmos.exceptions import CosmosHttpResponseError

from shared import errors
from shared.adapters.cosmos_requests import Requester
from shared.adapters.keyvault_secrets import KeyVaultSecrets, SecretRef, parse_reference
from shared.azure import connections


def throttled(retry_after_ms: str | None = "250") -> CosmosHttpResponseError:
    exc = CosmosHttpResponseError(status_code=429, message="Request rate is large")
    exc.headers = {"x-ms-request-charge": "0.5", **({"x-ms-retry-after-ms": retry_after_ms} if retry_after_ms else {})}
    return exc


def flaky(failures: list[Exception], result: Any = "ok") -> Any:
    def call(hook: Any) -> Any:
        if failures:
            raise failures.pop(0)
        hook({"x-ms-request-charge": "2.5"}, {})
        return result
    return call


def test_throttling_waits_the_advertised_time_then_succeeds() -> None:
    waits: list[float] = []
    request = Requester(sleep=waits.append)
    assert request("read", flaky([throttled("250"), throttled("1200")])) == "ok"
    assert waits == [0.25, 1.2]
    assert request.charges.snapshot() == {"total_ru": 3.5, "ru": {"read": 3.5}, "calls": {"read": 3}}


def test_throttling_without_advice_backs_off_exponentially_and_is_bounded() -> None:
    waits: list[float] = []
    request = Requester(sleep=waits.append, max_attempts=4, max_wait=0.3)
    with pytest.raises(errors.TransientError, match="429 after 4 tries"):
        request("upsert", flaky([throttled(None) for _ in range(4)]))
    assert waits == [0.1, 0.2, 0.3]


def test_non_retryable_errors_pass_through_at_once() -> None:
    waits: list[float] = []
    conflict = CosmosHttpResponseError(status_code=409, message="conflict")
    with pytest.raises(CosmosHttpResponseError):
        Requester(sleep=waits.append)("create", flaky([conflict]))
    assert waits == []


def test_key_vault_references_parse_in_both_forms() -> None:
    assert parse_reference("@Microsoft.KeyVault(SecretUri=https://kv1.vault.azure.net/secrets/ml-key/abc123)") == \
        SecretRef("https://kv1.vault.azure.net", "ml-key", "abc123")
    assert parse_reference("@Microsoft.KeyVault(VaultName=kv1;SecretName=ml-key)") == \
        SecretRef("https://kv1.vault.azure.net", "ml-key", None)
    assert parse_reference("plain-key-value") is None
    with pytest.raises(ValueError):
        parse_reference("@Microsoft.KeyVault(SecretUri=https://kv1.vault.azure.net/keys/x)")


def test_an_unresolved_reference_is_fetched_and_a_plain_value_kept() -> None:
    fetched: list[tuple[str, str, str | None]] = []

    def factory(url: str, credential: Any) -> Any:
        def get_secret(name: str, version: str | None) -> Any:
            fetched.append((url, name, version))
            return SimpleNamespace(value="s3cret")
        return SimpleNamespace(get_secret=get_secret)

    secrets = KeyVaultSecrets(credential=object(), client_factory=factory)
    assert secrets.resolve("@Microsoft.KeyVault(VaultName=kv1;SecretName=ml-key)") == "s3cret"
    assert secrets.resolve("already-resolved") == "already-resolved" and secrets.resolve("") is None
    assert fetched == [("https://kv1.vault.azure.net", "ml-key", None)]


def test_connection_strings_and_identity_settings_are_told_apart(monkeypatch: pytest.MonkeyPatch) -> None:
    assert connections.is_connection_string("UseDevelopmentStorage=true")
    assert connections.is_connection_string("Endpoint=sb://localhost;SharedAccessKeyName=x;SharedAccessKey=y;")
    assert not connections.is_connection_string("https://acct.blob.core.windows.net")
    monkeypatch.delenv("IMAGES_STORAGE", raising=False)
    monkeypatch.setenv("IMAGES_STORAGE__blobServiceUri", "https://acct.blob.core.windows.net")
    monkeypatch.setenv("IMAGES_STORAGE__clientId", "uami-client-id")
    identities: list[str | None] = []

    def credential(client_id: str | None = None) -> Any:
        identities.append(client_id)
        return SimpleNamespace(get_token=lambda *a, **k: None, get_token_info=lambda *a, **k: None)

    monkeypatch.setattr(connections, "credential", credential)
    assert connections.blob_service_client().url.startswith("https://acct.blob.core.windows.net")
    assert identities == ["uami-client-id"]  # a user-assigned identity, as the host reads it
    monkeypatch.setenv("SERVICEBUS__fullyQualifiedNamespace", "ns.servicebus.windows.net")
    monkeypatch.delenv("SERVICEBUS", raising=False)
    assert connections.servicebus_client().fully_qualified_namespace == "ns.servicebus.windows.net"


def test_missing_settings_name_what_would_work(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("IMAGES_STORAGE", "IMAGES_STORAGE__blobServiceUri", "IMAGES_STORAGE__serviceUri",
                 "IMAGES_STORAGE__accountName", "COSMOS_ENDPOINT", "COSMOS__accountEndpoint"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(connections.MissingSetting, match="IMAGES_STORAGE__blobServiceUri"):
        connections.blob_service_client()
    with pytest.raises(connections.MissingSetting, match="COSMOS_ENDPOINT"):
        connections.cosmos_client()


def test_the_functions_classifier_is_the_endpoint_with_its_key_from_key_vault(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys
    import types

    from shared.azure import bootstrap as azure_bootstrap

    built: list[tuple[str, str | None]] = []
    fake = types.ModuleType("shared.adapters.endpoint_classifier")
    fake.EndpointClassifier = lambda url, key=None, **_: built.append((url, key)) or "endpoint"  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "shared.adapters.endpoint_classifier", fake)
    monkeypatch.setenv("ML_ENDPOINT_URL", "https://ep.westeurope.inference.ml.azure.com/score")
    monkeypatch.setenv("ML_ENDPOINT_KEY", "@Microsoft.KeyVault(VaultName=kv1;SecretName=ml-key)")
    monkeypatch.setattr(azure_bootstrap, "ml_endpoint_key", lambda: "from-key-vault")
    factory = azure_bootstrap.classifier_factory(None)
    assert factory is not None and factory() == "endpoint"
    assert built == [("https://ep.westeurope.inference.ml.azure.com/score", "from-key-vault")]
    monkeypatch.setenv("ML_ENDPOINT_URL", "none")
    assert azure_bootstrap.classifier_factory(None) is None


def test_the_functions_app_without_an_endpoint_setting_names_it(monkeypatch: pytest.MonkeyPatch) -> None:
    from shared.azure import bootstrap as azure_bootstrap

    monkeypatch.delenv("ML_ENDPOINT_URL", raising=False)
    factory = azure_bootstrap.classifier_factory(None, fallback=None)
    assert factory is not None
    with pytest.raises(connections.MissingSetting, match="ML_ENDPOINT_URL"):
        factory()
