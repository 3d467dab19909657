"""Drift between infra/ and the code fails the build.

The app reads settings, queues, containers and Cosmos containers by name
(shared/settings.py); the Functions host binds triggers by name
(function_app.py); Bicep creates the resources and app settings by name. A
rename on one side only would deploy cleanly and then fail at run time, so
these tests compare the three.
"""

from __future__ import annotations

import json
import re
from types import SimpleNamespace

import pytest

from shared import settings
from shared.layout import COSMOS_CONTAINERS, IMAGE_CONTAINERS, QUEUES, Zone
from tests.infra import bicep_model

# Settings of the Functions host and the Azure SDK, not of the app (not in APP_SETTINGS).
HOST_SETTINGS = {
    "AzureWebJobsStorage",
    "APPLICATIONINSIGHTS_CONNECTION_STRING",
    "APPLICATIONINSIGHTS_AUTHENTICATION_STRING",
    "AZURE_CLIENT_ID",
}
# Only for `func start`: Flex Consumption sets the runtime in functionAppConfig and
# rejects these as app settings.
LOCAL_ONLY = {"FUNCTIONS_WORKER_RUNTIME", "AzureWebJobsStorage", "AzureWebJobsFeatureFlags"}
FLEX_REJECTS = {
    "FUNCTIONS_WORKER_RUNTIME",
    "FUNCTIONS_EXTENSION_VERSION",
    "WEBSITE_RUN_FROM_PACKAGE",
    "WEBSITE_CONTENTSHARE",
    "WEBSITE_CONTENTAZUREFILECONNECTIONSTRING",
}
EMULATOR_ONLY = {"COSMOS_KEY"}


@pytest.fixture(scope="module")
def azure_settings():
    return bicep_model.function_app_settings()


def _base(name: str) -> str:
    return name.split("__", 1)[0]


def _local_settings() -> dict[str, str]:
    return json.loads((bicep_model.REPO / "local.settings.sample.json").read_text())["Values"]


# ---- app settings ----


def test_every_app_setting_the_code_reads_is_set_in_azure(azure_settings):
    bases = {_base(name) for name in azure_settings}
    missing = set(settings.APP_SETTINGS) - EMULATOR_ONLY - bases
    assert not missing, f"shared/settings.py APP_SETTINGS not given by infra/modules/functionapp.bicep: {missing}"


def test_azure_sets_no_setting_the_code_does_not_know(azure_settings):
    unknown = {name for name in azure_settings if _base(name) not in set(settings.APP_SETTINGS) | HOST_SETTINGS}
    assert not unknown, f"app settings in Bicep that neither the code nor the host reads: {unknown}"


def test_no_keys_in_azure_app_settings(azure_settings):
    assert not EMULATOR_ONLY & {_base(n) for n in azure_settings}, "COSMOS_KEY must never be set in Azure"
    assert "AzureWebJobsStorage" not in azure_settings, "host storage must use the identity form"
    for name, value in azure_settings.items():
        text = json.dumps(value)
        for secret_marker in ("AccountKey=", "SharedAccessKey", "DefaultEndpointsProtocol"):
            assert secret_marker not in text, f"{name} looks like a connection string with a key"


def test_flex_consumption_rejected_settings_are_absent(azure_settings):
    assert not FLEX_REJECTS & set(azure_settings), "Flex Consumption refuses these app settings"


def test_connections_use_the_identity_forms_the_code_and_host_read(azure_settings):
    for prefix in ("AzureWebJobsStorage", "IMAGES_STORAGE", "SERVICEBUS"):
        assert azure_settings.get(f"{prefix}__credential") == "managedidentity", prefix
        assert f"{prefix}__clientId" in azure_settings, f"{prefix}: a user-assigned identity needs __clientId"
    # The blob trigger needs both endpoints (the poison queue); shared/azure/connections.py
    # reads __blobServiceUri (or __serviceUri).
    assert {"IMAGES_STORAGE__blobServiceUri", "IMAGES_STORAGE__queueServiceUri"} <= set(azure_settings)
    assert "SERVICEBUS__fullyQualifiedNamespace" in azure_settings
    assert "COSMOS_ENDPOINT" in azure_settings
    assert "AZURE_CLIENT_ID" in azure_settings, "DefaultAzureCredential (Cosmos) must pick the app's identity"


def test_ml_endpoint_key_is_a_key_vault_reference(azure_settings):
    assert azure_settings["ML_ENDPOINT_KEY"].startswith("@Microsoft.KeyVault(SecretUri=")


def test_blob_trigger_source_is_event_grid_in_azure(azure_settings):
    assert azure_settings["UPLOADS_TRIGGER_SOURCE"] == "EventGrid", "Flex Consumption supports only EventGrid"


def test_local_settings_sample_names_the_same_settings():
    local = set(_local_settings())
    assert set(settings.APP_SETTINGS) <= local, set(settings.APP_SETTINGS) - local
    assert local - LOCAL_ONLY <= set(settings.APP_SETTINGS), local - LOCAL_ONLY - set(settings.APP_SETTINGS)


# ---- containers, queues, Cosmos DB ----


def test_blob_containers_match_the_code():
    main = bicep_model.main()
    assert bicep_model.variable(main, "imageContainers") == list(IMAGE_CONTAINERS)
    assert bicep_model.variable(main, "uploadsContainer") == Zone.UPLOADS
    assert bicep_model.variable(main, "bronzeContainer") == Zone.BRONZE
    assert bicep_model.variable(main, "silverContainer") == Zone.SILVER
    params = bicep_model.module_params("imagesStorage")
    assert params["containerNames"] == "imageContainers"
    assert params["uploadsContainerName"] == "uploadsContainer"
    assert params["bronzeContainerName"] == "bronzeContainer"


def test_lifecycle_rules_target_bronze_and_uploads():
    tree = bicep_model.parse("modules/storage-images.bicep")
    bronze = bicep_model.variable(tree, "bronzeRule")
    assert bronze["definition"]["filters"]["prefixMatch"] == ["${bronzeContainerName}/"]
    actions = bronze["definition"]["actions"]["baseBlob"]
    assert set(actions) == {"tierToCool", "tierToArchive"}
    uploads = bicep_model.variable(tree, "uploadsRule")
    assert uploads["definition"]["filters"]["prefixMatch"] == ["${uploadsContainerName}/"]
    assert set(uploads["definition"]["actions"]["baseBlob"]) == {"delete"}
    main = bicep_model.main()
    cool = bicep_model.param_default(main, "bronzeCoolAfterDays")
    archive = bicep_model.param_default(main, "bronzeArchiveAfterDays")
    assert (cool, archive) == (7, 30)


def test_queues_match_the_code_and_do_not_drop_re_sends():
    main = bicep_model.main()
    assert bicep_model.variable(main, "queueNames") == list(QUEUES)
    for module in ("serviceBus", "rbac", "alerts"):
        assert bicep_model.module_params(module)["queueNames"] == "queueNames", module
    tree = bicep_model.parse("modules/servicebus.bicep")
    (queue,) = bicep_model.resources_of_type(tree, "Microsoft.ServiceBus/namespaces/queues")
    props = bicep_model.body(queue)["properties"]
    # Consumers are idempotent; duplicate detection would drop an operator's re-send that keeps its id.
    assert props["requiresDuplicateDetection"] is False
    assert "duplicateDetectionHistoryTimeWindow" not in props
    assert props["deadLetteringOnMessageExpiration"] is True
    assert props["requiresSession"] is False
    assert 1 <= bicep_model.param_default(tree, "maxDeliveryCount") <= 10
    assert props["maxDeliveryCount"] == "maxDeliveryCount"


def test_one_max_attempts_for_the_code_the_queues_and_local_settings(azure_settings):
    """The app dead-letters on the last delivery; it must count to the broker's number, everywhere."""
    assert azure_settings["IMGPIPE_MAX_ATTEMPTS"]["function"]["parameters"] == {"value_to_convert": "maxAttempts"}
    assert bicep_model.module_params("functionApp")["maxAttempts"] == "queueMaxDeliveryCount"
    assert bicep_model.module_params("serviceBus")["maxDeliveryCount"] == "queueMaxDeliveryCount"
    default = bicep_model.param_default(bicep_model.main(), "queueMaxDeliveryCount")
    assert default == settings.RetryPolicy().max_attempts == int(_local_settings()["IMGPIPE_MAX_ATTEMPTS"])
    emulator = json.loads((bicep_model.REPO / "servicebus-emulator" / "Config.json").read_text())
    queues = emulator["UserConfig"]["Namespaces"][0]["Queues"]
    assert {q["Name"] for q in queues} == set(QUEUES)
    assert {q["Properties"]["MaxDeliveryCount"] for q in queues} == {default}
    assert {q["Properties"]["RequiresDuplicateDetection"] for q in queues} == {False}


def test_cosmos_database_and_containers_match_the_code():
    main = bicep_model.main()
    assert bicep_model.variable(main, "cosmosDatabaseName") == settings.Settings().cosmos_database
    declared = {c["name"]: c["partitionKey"] for c in bicep_model.variable(main, "cosmosContainers")}
    assert set(declared) == set(COSMOS_CONTAINERS)

    # The partition keys the Cosmos adapter creates (emulators, tests) are the ones its point
    # reads assume; infra must declare the same.
    from shared.adapters.cosmos_metadata import provision

    created: dict[str, str] = {}

    def create_container_if_not_exists(name, partition_key, **_):
        created[name] = partition_key.path

    provision(SimpleNamespace(create_container_if_not_exists=create_container_if_not_exists))
    assert created == declared


def test_ml_endpoint_name_matches_ml_endpoint_yml():
    """ML_ENDPOINT_URL is derived from mlEndpointName; az ml creates the endpoint from ml/endpoint.yml."""
    endpoint_yml = bicep_model.REPO / "ml" / "endpoint.yml"
    if not endpoint_yml.exists():
        pytest.skip("ml/endpoint.yml does not exist yet")
    names = re.findall(r"^name:\s*(\S+)", endpoint_yml.read_text(), re.M)
    assert names == [bicep_model.param_default(bicep_model.main(), "mlEndpointName")]


# ---- Functions bindings (what the host would load) ----


@pytest.fixture(scope="module")
def function_bindings():
    try:
        import function_app
    except ModuleNotFoundError as exc:
        if exc.name != "function_app":
            raise  # function_app exists but is broken: that is a failure, not a skip
        pytest.skip("function_app.py does not exist yet: bindings cannot be compared with infra/")
    return {
        f.get_function_name(): [b.get_dict_repr() for b in f.get_bindings()] for f in function_app.app.get_functions()
    }


def test_service_bus_bindings_use_declared_queues(function_bindings, azure_settings):
    queues = set(bicep_model.variable(bicep_model.main(), "queueNames"))
    consumed = set()
    for name, bindings in function_bindings.items():
        for b in bindings:
            if b["type"] in ("serviceBusTrigger", "serviceBus"):
                assert b["queueName"] in queues, f"{name} binds queue {b['queueName']!r}, infra declares {queues}"
                assert f"{b['connection']}__fullyQualifiedNamespace" in azure_settings, name
                if b["type"] == "serviceBusTrigger":
                    consumed.add(b["queueName"])
    assert consumed == queues, f"queues without a consumer: {queues - consumed}"


def test_blob_bindings_use_declared_containers(function_bindings, azure_settings):
    containers = set(bicep_model.variable(bicep_model.main(), "imageContainers"))
    seen = 0
    for name, bindings in function_bindings.items():
        for b in bindings:
            if b["type"] == "blob" and b["connection"] == "AzureWebJobsStorage":
                continue  # the app's own state in host storage (test_the_reconcile_timer_has_its_settings...)
            if b["type"] in ("blobTrigger", "blob"):
                seen += 1
                assert b["path"].split("/", 1)[0] in containers, f"{name}: {b['path']}"
                assert f"{b['connection']}__blobServiceUri" in azure_settings, name
    assert seen, "no blob binding found: the ingest trigger is missing"


def test_event_grid_subscription_targets_the_blob_trigger(function_bindings):
    main = bicep_model.main()
    function_name = bicep_model.variable(main, "ingestFunctionName")
    uploads = bicep_model.variable(main, "uploadsContainer")
    triggers = {
        name: b for name, bindings in function_bindings.items() for b in bindings if b["type"] == "blobTrigger"
    }
    assert function_name in triggers, f"webhook targets Host.Functions.{function_name}; blob triggers: {set(triggers)}"
    assert triggers[function_name]["path"].startswith(f"{uploads}/")
    params = bicep_model.module_params("uploadsSubscription")
    assert params["functionName"] == "ingestFunctionName"
    assert params["uploadsContainerName"] == "uploadsContainer"


# ---- issue 9: the worker isolation setting and the reconciliation timer ----


def test_the_worker_isolates_its_own_dependencies_everywhere_the_app_runs(azure_settings):
    """Without it the worker's protobuf 4.x shadows the app's and no function indexes (test_worker_dependencies)."""
    assert azure_settings["PYTHON_ISOLATE_WORKER_DEPENDENCIES"] == "1"
    assert _local_settings()["PYTHON_ISOLATE_WORKER_DEPENDENCIES"] == "1"
    assert "PYTHON_ISOLATE_WORKER_DEPENDENCIES" in settings.APP_SETTINGS


def test_the_reconcile_timer_has_its_settings_and_its_state_container(function_bindings, azure_settings):
    reconcile_settings = {n for n in settings.APP_SETTINGS if n.startswith("RECONCILE_")}
    assert reconcile_settings == {"RECONCILE_SCHEDULE", "RECONCILE_GRACE_MINUTES", "RECONCILE_STUCK_MINUTES",
                                  "RECONCILE_LOOKBACK_HOURS", "RECONCILE_LIMIT"}
    assert reconcile_settings <= set(azure_settings) and reconcile_settings <= set(_local_settings())
    timer = [b for b in function_bindings["reconcile"] if b["type"] == "timerTrigger"]
    assert [b["schedule"] for b in timer] == ["%RECONCILE_SCHEDULE%"]
    assert azure_settings["RECONCILE_SCHEDULE"] == "reconcileSchedule"
    tree = bicep_model.parse("modules/functionapp.bicep")
    assert len(bicep_model.param_default(tree, "reconcileSchedule").split()) == 6  # NCRONTAB has seconds
    defaults = settings.ReconcilePolicy()
    assert float(azure_settings["RECONCILE_GRACE_MINUTES"]) == defaults.grace_minutes
    assert float(azure_settings["RECONCILE_STUCK_MINUTES"]) == defaults.stuck_minutes
    assert float(azure_settings["RECONCILE_LOOKBACK_HOURS"]) == defaults.lookback_hours
    assert int(azure_settings["RECONCILE_LIMIT"]) == defaults.limit
    # its state blob lives in a container that host storage declares
    containers = {b["path"].split("/", 1)[0] for b in function_bindings["reconcile"] if b["type"] == "blob"}
    assert containers == {bicep_model.variable(bicep_model.main(), "stateContainerName")}
    assert bicep_model.module_params("hostStorage")["stateContainerName"] == "stateContainerName"
