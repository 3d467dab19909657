"""Every Bicep file parses, and main.bicep only uses local modules and known parameters.

Why it matters: checkov skips a file its parser (pycep) cannot read without
failing, so an unparsable module would pass the security scan unscanned; and a
registry module (br/public:...) cannot be fetched here, so nothing could check it.
"""

from __future__ import annotations

import json
import re

import pytest

from tests.infra import bicep_model

FILES = bicep_model.bicep_files()


def test_infra_has_main_and_modules():
    names = {p.relative_to(bicep_model.INFRA).as_posix() for p in FILES}
    assert "main.bicep" in names
    assert len([n for n in names if n.startswith("modules/")]) >= 10, names


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.relative_to(bicep_model.INFRA).as_posix())
def test_bicep_file_parses(path):
    tree = bicep_model.parse(path.relative_to(bicep_model.INFRA).as_posix())
    assert tree.get("resources") or tree.get("modules"), f"{path} declares nothing"


def test_main_uses_only_local_modules_that_exist():
    modules = bicep_model.main()["modules"]
    assert modules
    for name, module in modules.items():
        assert module["type"] == "local", f"module {name} is not a local file: {module['detail']}"
        target = bicep_model.INFRA / module["detail"]["path"]
        assert target.is_file(), f"module {name} points at missing {target}"
    for path in FILES:
        assert not re.search(r"'br[:/]", path.read_text()), f"{path} references a registry module"


def test_parameters_file_matches_main():
    """azd reads main.parameters.json: every entry must be a parameter of main.bicep and
    every parameter without a default must be supplied."""
    params = json.loads((bicep_model.INFRA / "main.parameters.json").read_text())["parameters"]
    declared = bicep_model.main()["parameters"]
    assert set(params) <= set(declared), set(params) - set(declared)
    required = {name for name, p in declared.items() if "default" not in p}
    assert required <= set(params), required - set(params)


def test_azure_yaml_service_matches_the_function_app_tag():
    """azd deploys to the resource tagged azd-service-name=<service>; a mismatch deploys nowhere."""
    text = (bicep_model.REPO / "azure.yaml").read_text()
    services = re.search(r"^services:\n((?:[ ]{2}.*\n?)+)", text, re.M)
    assert services, "azure.yaml has no services section"
    names = re.findall(r"^  ([a-z][\w-]*):", services.group(1), re.M)
    tree = bicep_model.parse("modules/functionapp.bicep")
    assert names == [bicep_model.param_default(tree, "azdServiceName")]
    assert re.search(r"^\s+host: function\s*$", services.group(1), re.M)
