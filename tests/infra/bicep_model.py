"""The Bicep in infra/, parsed once, as the infra tests see it.

The tests read what the templates *declare* (pycep-parser's syntax tree), not
what someone wrote about them, so renaming a queue, container or app setting on
one side only fails the build. pycep-parser is pinned to the version checkov
uses: a file it cannot parse is a file checkov silently does not scan.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
INFRA = REPO / "infra"


def bicep_files() -> list[Path]:
    return sorted(INFRA.rglob("*.bicep"))


@cache
def _parser() -> Any:
    from pycep import BicepParser

    return BicepParser()


@cache
def parse(relative: str) -> dict[str, Any]:
    return _parser().parse(file_path=INFRA / relative)


def main() -> dict[str, Any]:
    return parse("main.bicep")


def variable(tree: dict[str, Any], name: str) -> Any:
    """A variable's value, with references to other variables of the same file resolved."""
    return _resolve(tree, tree["variables"][name]["value"])


def _resolve(tree: dict[str, Any], value: Any) -> Any:
    if isinstance(value, str) and value in tree.get("variables", {}):
        return variable(tree, value)
    if isinstance(value, list):
        return [_resolve(tree, v) for v in value]
    return value


def body(declaration: dict[str, Any]) -> dict[str, Any]:
    """The body of a resource or module, also when it is conditional (if) or a loop (for)."""
    config = declaration["config"]
    while "params" not in config and "properties" not in config and "config" in config:
        config = config["config"]
    return config


def module_params(name: str) -> dict[str, Any]:
    """Parameters main.bicep passes to one module (values as pycep renders them)."""
    return body(main()["modules"][name])["params"]


def param_default(tree: dict[str, Any], name: str) -> Any:
    return tree["parameters"][name].get("default")


def resources_of_type(tree: dict[str, Any], resource_type: str) -> list[dict[str, Any]]:
    return [
        r for r in tree.get("resources", {}).values()
        if r["type"] == resource_type and not r.get("existing")
    ]


def function_app_settings() -> dict[str, Any]:
    """The app settings the Function App gets: siteConfig.appSettings of the one site resource.

    The template builds that array with a loop over one object variable; the
    test follows the loop to the variable so that a setting added inline to
    the array (bypassing the variable) would not be missed silently.
    """
    tree = parse("modules/functionapp.bicep")
    (site,) = resources_of_type(tree, "Microsoft.Web/sites")
    settings = body(site)["properties"]["siteConfig"]["appSettings"]
    loop = settings["loop_type"]
    if loop["type"] != "object":
        raise AssertionError(f"appSettings is expected to loop over an object variable, got {loop}")
    return dict(variable(tree, loop["detail"]["object_name"]))
