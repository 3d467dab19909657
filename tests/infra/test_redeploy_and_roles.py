"""Issue 9's deployment rules, read from the Bicep (items 6-9).

- the Key Vaults and the ML workspace can be recreated in the same azd environment after
  ``azd down`` (soft-delete with purge protection keeps their names for 90 days);
- the operator can upload a model to the ML workspace storage (shared keys off, identity datastores);
- a classify batch cannot outlive its lock during an endpoint outage (batch locks are not renewed);
- the app's identity has the documented minimum roles of its triggers.
"""

from __future__ import annotations

import inspect
import json
import re
from datetime import timedelta
from typing import Any

from shared.settings import Settings
from tests.infra import bicep_model

ROLES = {
    "storageBlobDataOwner": "b7e6dc6d-f1e8-4753-8033-0f276bb0955b",
    "storageBlobDataContributor": "ba92f5b4-2d11-453d-a403-e96b0029c9fe",
    "storageQueueDataContributor": "974c5e8b-45b9-4653-ba55-5f855dd0fb88",
    "storageFileDataPrivilegedContributor": "69566ab7-960f-475b-8e7c-b3118f30c6bd",
    "storageQueueDataMessageProcessor": "8a0f0c08-91a1-4084-bc3d-661d67233fed",
    "serviceBusDataReceiver": "4f6d3b9b-027b-4f4c-9142-0e5a2a2247e0",
    "serviceBusDataOwner": "090c5cfd-751d-490a-894a-3ce6f1109419",
}


def assignments(module: str) -> list[tuple[str, Any, str]]:
    """(role variable, scope, principal) of every role assignment in a module."""
    tree = bicep_model.parse(module)
    roles = bicep_model.variable(tree, "roles")
    for name, role_id in roles.items():
        if name in ROLES:
            assert role_id == ROLES[name], f"{module}: {name} has the wrong role definition id"
    out = []
    for resource in bicep_model.resources_of_type(tree, "Microsoft.Authorization/roleAssignments"):
        config = bicep_model.body(resource)
        role = config["properties"]["roleDefinitionId"]["function"]["parameters"]["resource_name_1"]
        principal = config["properties"]["principalId"]
        out.append((role["operator"]["operands"]["operand_2"], json.dumps(config["scope"]),
                    principal if isinstance(principal, str) else json.dumps(principal)))
    return out


def seconds(iso_duration: str) -> float:
    match = re.fullmatch(r"PT(?:(\d+)M)?(?:(\d+)S)?", iso_duration)
    assert match, iso_duration
    return int(match.group(1) or 0) * 60 + int(match.group(2) or 0)


# ---- item 6: recreatable in the same environment ----


def test_soft_deleted_names_change_with_a_salt_that_azd_down_renews() -> None:
    main = bicep_model.main()
    names = bicep_model.variable(main, "names")
    for key in ("keyVault", "mlKeyVault", "mlWorkspace"):
        assert names[key].endswith("${recreatableToken}"), key
    token = json.dumps(main["variables"]["recreatableToken"]["value"])
    assert "vaultNameSalt" in token and "resourceToken" in token
    assert bicep_model.param_default(main, "vaultNameSalt") == ""  # first deployment: the names it always had
    params = json.loads((bicep_model.INFRA / "main.parameters.json").read_text())["parameters"]
    assert params["vaultNameSalt"]["value"] == "${KEY_VAULT_NAME_SALT=}"
    postdown = (bicep_model.REPO / "azure.yaml").read_text().split("postdown:", 1)[1]
    assert postdown.count("azd env set KEY_VAULT_NAME_SALT") == 2  # posix and windows
    teardown = (bicep_model.REPO / "docs" / "operations.md").read_text().split("## Tear down", 1)[1]
    assert "KEY_VAULT_NAME_SALT" in teardown and "vaultNameSalt" in teardown


def test_key_vault_keeps_purge_protection() -> None:
    tree = bicep_model.parse("modules/keyvault.bicep")
    (vault,) = bicep_model.resources_of_type(tree, "Microsoft.KeyVault/vaults")
    assert bicep_model.body(vault)["properties"]["enablePurgeProtection"] is True


# ---- item 7: the operator can deploy the model ----


def test_the_operator_may_upload_models_to_the_ml_workspace_storage() -> None:
    granted = {(role, principal) for role, scope, principal in assignments("modules/ml.bicep") if scope == '"storage"'}
    assert {("storageBlobDataContributor", "operatorPrincipalId"),
            ("storageFileDataPrivilegedContributor", "operatorPrincipalId")} <= granted
    params = bicep_model.module_params("ml")
    assert params["operatorPrincipalId"] == "principalId" and params["operatorPrincipalType"] == "principalType"


# ---- item 8: a classify batch ends inside its lock ----


def worst_endpoint_call() -> float:
    """One scoring call's longest run with the endpoint down: every attempt times out, every wait is the longest."""
    from shared.adapters.endpoint_classifier import EndpointClassifier

    defaults = {n: p.default for n, p in inspect.signature(EndpointClassifier.__init__).parameters.items()}
    attempts = defaults["max_attempts"]
    return attempts * defaults["timeout"] + (attempts - 1) * defaults["max_delay"]


def test_a_classify_batch_cannot_outlive_its_lock_during_an_endpoint_outage() -> None:
    main = bicep_model.main()
    assert bicep_model.variable(main, "batchQueueNames") == ["classify"]
    batch_lock = seconds(bicep_model.param_default(main, "batchQueueLockDuration"))
    params = bicep_model.module_params("serviceBus")
    assert params["batchQueueNames"] == "batchQueueNames" and params["batchLockDuration"] == "batchQueueLockDuration"
    tree = bicep_model.parse("modules/servicebus.bicep")
    (queue,) = bicep_model.resources_of_type(tree, "Microsoft.ServiceBus/namespaces/queues")
    assert "batchLockDuration" in json.dumps(bicep_model.body(queue)["properties"]["lockDuration"])
    budget = Settings().classify_budget_seconds
    app = bicep_model.function_app_settings()
    assert float(app["CLASSIFY_BATCH_BUDGET_SECONDS"]) == budget
    host = json.loads((bicep_model.REPO / "host.json").read_text())
    h, m, s = (int(x) for x in host["functionTimeout"].split(":"))
    timeout = timedelta(hours=h, minutes=m, seconds=s).total_seconds()
    # the last call may start just before the budget ends and then take its longest
    longest = budget + worst_endpoint_call()
    assert longest + 10 <= batch_lock <= 300, (longest, batch_lock)  # PT5M is Service Bus' maximum lock
    assert longest + 10 <= timeout


# ---- item 9: documented minimum roles ----


def test_the_blob_trigger_has_its_documented_roles_on_its_account() -> None:
    granted = {(role, scope) for role, scope, principal in assignments("modules/rbac.bicep")
               if principal == "appPrincipalId"}
    assert {("storageBlobDataOwner", '"imagesStorage"'), ("storageQueueDataContributor", '"imagesStorage"')} <= granted
    assert ("storageBlobDataContributor", '"imagesStorage"') not in granted  # Owner covers it


def test_the_service_bus_trigger_has_receiver_and_owner_on_each_queue_it_consumes() -> None:
    per_queue = {role for role, scope, principal in assignments("modules/rbac.bicep")
                 if principal == "appPrincipalId" and '"queues"' in scope}
    assert {"serviceBusDataReceiver", "serviceBusDataOwner", "serviceBusDataSender"} <= per_queue
    namespace_wide = {role for role, scope, principal in assignments("modules/rbac.bicep")
                      if principal == "appPrincipalId" and scope == '"serviceBus"'}
    assert not namespace_wide  # never namespace-wide for the app


def test_the_operator_may_work_the_poison_queue() -> None:
    granted = {(role, scope) for role, scope, principal in assignments("modules/rbac.bicep")
               if principal == "operatorPrincipalId"}
    assert ("storageQueueDataMessageProcessor", '"imagesStorage"') in granted
