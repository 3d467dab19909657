"""What the Functions host would load: ``function_app``'s functions and their binding JSON, and host.json."""

from __future__ import annotations

import importlib
import inspect
import json
from pathlib import Path
from typing import Any

import pytest
from azurefunctions.extensions.base import GrpcClientType
from azurefunctions.extensions.bindings.blob import BlobClient, BlobClientConverter
from azurefunctions.extensions.bindings.servicebus import ServiceBusConverter

from shared.azure import connections
from shared.layout import Queue
from shared.settings import APP_SETTINGS

ROOT = Path(__file__).resolve().parents[2]


def load_app(monkeypatch: pytest.MonkeyPatch, source: str | None) -> Any:
    """Import the app as the worker does, with the given trigger source setting."""
    if source is None:
        monkeypatch.delenv("UPLOADS_TRIGGER_SOURCE", raising=False)
    else:
        monkeypatch.setenv("UPLOADS_TRIGGER_SOURCE", source)
    import functions.ingest

    importlib.reload(functions.ingest)
    import function_app

    return importlib.reload(function_app).app


def bindings(app: Any) -> dict[str, list[dict[str, Any]]]:
    """Each function's bindings as the host reads them (``get_functions`` may be called once per app)."""
    return {f.get_function_name(): json.loads(f.get_function_json())["bindings"] for f in app.get_functions()}


def user_function(builder: Any) -> Any:
    """The plain function behind a decorated handler, as Microsoft's testing guide gets it."""
    return builder.build().get_user_function()


@pytest.fixture
def app_bindings(monkeypatch: pytest.MonkeyPatch) -> dict[str, list[dict[str, Any]]]:
    return bindings(load_app(monkeypatch, "LogsAndContainerScan"))


def test_the_app_has_exactly_its_five_functions(app_bindings: dict[str, Any]) -> None:
    assert set(app_bindings) == {"ingest", "cleanse", "classify", "reconcile", "web"}
    triggers = {name: [b for b in bs if b["type"].endswith("Trigger")] for name, bs in app_bindings.items()}
    assert all(len(t) == 1 and t[0]["direction"] == "IN" for t in triggers.values())
    assert all(len(b) == 1 for name, b in app_bindings.items() if name not in ("reconcile", "web"))


def test_reconcile_is_a_timer_from_an_app_setting_keeping_its_token_in_host_storage(
        app_bindings: dict[str, Any]) -> None:
    by_name = {b["name"]: b for b in app_bindings["reconcile"]}
    assert by_name["timer"] == {"direction": "IN", "type": "timerTrigger", "name": "timer",
                                "schedule": "%RECONCILE_SCHEDULE%", "runOnStartup": False, "useMonitor": True}
    assert by_name["state"]["direction"] == "IN" and by_name["next_state"]["direction"] == "OUT"
    for name in ("state", "next_state"):
        assert by_name[name]["type"] == "blob" and by_name[name]["connection"] == "AzureWebJobsStorage"
        assert by_name[name]["path"] == "imgpipe-state/reconcile.json"
    assert "RECONCILE_SCHEDULE" in APP_SETTINGS


def test_web_is_one_anonymous_http_function_for_every_path(app_bindings: dict[str, Any]) -> None:
    """Easy Auth signs callers in before the function; the app checks roles. host.json drops the /api prefix."""
    trigger, output = app_bindings["web"]
    assert trigger == {"direction": "IN", "type": "httpTrigger", "name": "req", "authLevel": "ANONYMOUS",
                       "route": "{*route}", "methods": ["GET", "HEAD", "POST"]}
    assert output == {"direction": "OUT", "type": "http", "name": "$return"}
    assert json.loads((ROOT / "host.json").read_text())["extensions"]["http"]["routePrefix"] == ""


def test_ingest_is_a_blob_trigger_on_uploads(app_bindings: dict[str, Any]) -> None:
    (trigger,) = app_bindings["ingest"]
    assert trigger == {"direction": "IN", "type": "blobTrigger", "name": "upload", "path": "uploads/{name}",
                       "connection": "IMAGES_STORAGE", "source": "LogsAndContainerScan"}


def test_blob_trigger_source_comes_from_the_app_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    assert bindings(load_app(monkeypatch, "EventGrid"))["ingest"][0]["source"] == "EventGrid"
    assert bindings(load_app(monkeypatch, None))["ingest"][0]["source"] == "EventGrid"  # unset: production default
    with pytest.raises(ValueError, match="UPLOADS_TRIGGER_SOURCE"):
        load_app(monkeypatch, "%UPLOADS_TRIGGER_SOURCE%")


def test_cleanse_and_classify_are_service_bus_triggers_that_settle_themselves(app_bindings: dict[str, Any]) -> None:
    (cleanse,) = app_bindings["cleanse"]
    (classify,) = app_bindings["classify"]
    assert cleanse == {"direction": "IN", "type": "serviceBusTrigger", "name": "message", "connection": "SERVICEBUS",
                       "queueName": Queue.CLEANSE, "autoCompleteMessages": False}
    assert classify["queueName"] == Queue.CLASSIFY and classify["connection"] == "SERVICEBUS"
    assert classify["cardinality"].lower() == "many" and classify["autoCompleteMessages"] is False


def test_handlers_ask_for_sdk_types_and_message_actions(app_bindings: dict[str, Any]) -> None:
    """The worker binds SDK types by annotation: a wrong one would silently deliver a plain message."""
    import functions.classify
    import functions.cleanse
    import functions.ingest

    for handler, arg in ((functions.cleanse.cleanse, "message"), (functions.classify.classify, "messages")):
        params = inspect.signature(user_function(handler)).parameters
        assert ServiceBusConverter.check_input_type_annotation(params[arg].annotation)
        assert issubclass(params["message_actions"].annotation, GrpcClientType)
    # The blob trigger gets a BlobClient (deferred binding): the host does not download the upload for it.
    upload = inspect.signature(user_function(functions.ingest.ingest)).parameters["upload"].annotation
    assert BlobClientConverter.check_input_type_annotation(upload) and upload is BlobClient


def test_connection_settings_are_documented_app_settings(app_bindings: dict[str, Any]) -> None:
    names = {b["connection"] for bs in app_bindings.values() for b in bs if "connection" in b}
    assert names == {"IMAGES_STORAGE", "SERVICEBUS", "AzureWebJobsStorage"}
    assert names - {"AzureWebJobsStorage"} <= set(APP_SETTINGS)  # the host's own storage is the host's setting
    assert {"UPLOADS_TRIGGER_SOURCE", "IMGPIPE_MAX_ATTEMPTS"} <= set(APP_SETTINGS)


def test_importing_the_app_creates_no_client(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("IMAGES_STORAGE", "SERVICEBUS", "COSMOS_ENDPOINT", "COSMOS_KEY"):
        monkeypatch.delenv(name, raising=False)
    connections.reset()
    load_app(monkeypatch, "EventGrid")
    assert connections._instances == {}


def test_host_json_pins_the_bundle_and_tunes_service_bus() -> None:
    host = json.loads((ROOT / "host.json").read_text())
    assert host["version"] == "2.0"
    assert host["extensionBundle"] == {"id": "Microsoft.Azure.Functions.ExtensionBundle", "version": "[4.*, 5.0.0)"}
    bus = host["extensions"]["serviceBus"]
    assert bus["maxConcurrentCalls"] >= 1 and bus["prefetchCount"] >= 0
    assert bus["autoCompleteMessages"] is False and bus["maxMessageBatchSize"] >= 1
    # The lock is renewed for at least as long as a function may run: a lost lock means a second, concurrent delivery.
    assert bus["maxAutoLockRenewalDuration"] >= host["functionTimeout"]
    assert host["logging"]["applicationInsights"]["samplingSettings"]["excludedTypes"] == "Request;Exception"
