"""Start-up of the Functions Python worker, step by step, to see whether ``function_app`` indexes.

Run as ``python -I -S worker_start.py SCENARIO WORKER_DEPS APP_DEPS APP_DIR WWWROOT`` (no site-packages:
this script lays out ``sys.path`` itself) with the app settings in the environment; prints one JSON
line. It follows what the worker 4.x for Python 3.8–3.12 does (``Azure/azure-functions-python-worker``:
``azure_functions_worker/main.py``, ``dispatcher.py``, ``utils/dependency.py``); the worker folder
carries the worker's own pins (protobuf ~4.25, grpcio ~1.59: ``requirements-worker.txt``).

- ``main``: ``use_worker_dependencies()`` when ``PYTHON_ISOLATE_WORKER_DEPENDENCIES`` is true (the
  app's folders leave ``sys.path``, the worker folder goes first), then the worker imports its gRPC
  stack (grpc, protobuf) to talk to the host.
- ``core-tools`` (``func start``, also a worker restart in Azure): ``sys.path`` is [worker folder,
  app packages, app folder]; on ``WorkerInitRequest`` the worker calls
  ``prioritize_customer_dependencies()`` when the setting is true (worker folder out, its modules
  dropped from ``sys.modules``, app packages first, worker folder and app folder appended).
- ``placeholder`` (a Flex/Linux Consumption cold start): the worker starts in placeholder mode before
  the app is mounted, so its grpc/protobuf load from the worker folder; on
  ``FunctionEnvironmentReloadRequest`` the app folder is appended, the importer cache cleared and
  ``reload_customer_libraries()`` runs: with the setting, ``prioritize_customer_dependencies``;
  without, only the ``azure``/``google`` namespace packages are reloaded, so modules already
  imported from the worker folder stay.
- Then the worker indexes the app: imports ``function_app`` and reads ``app.get_functions()``.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
from pathlib import Path

ISOLATE = "PYTHON_ISOLATE_WORKER_DEPENDENCIES"
SCRIPT_ROOT = "AzureWebJobsScriptRoot"  # the host names the app folder with it


def isolating() -> bool:
    return os.environ.get(ISOLATE, "").strip().lower() in ("1", "true", "t", "yes", "y")


def forget_modules_from(path: str) -> None:
    """``DependencyManager._remove_module_cache``: drop every module loaded from ``path``."""
    for name, module in list(sys.modules.items()):
        files = set(getattr(module, "__path__", None) or [])
        if getattr(module, "__file__", None):
            files.add(module.__file__)
        if any(str(f).startswith(path) for f in files):
            del sys.modules[name]


def remove_path(path: str) -> None:
    if not path:
        return
    sys.path[:] = [p for p in sys.path if p != path]
    sys.path_importer_cache.pop(path, None)
    forget_modules_from(path)


def add_path(path: str, first: bool) -> None:
    if path and path not in sys.path:
        sys.path.insert(0, path) if first else sys.path.append(path)
        sys.path_importer_cache.pop(path, None)
        forget_modules_from(path)


def use_worker_dependencies(worker: str, app_deps: str, app_dir: str) -> None:
    if isolating():
        remove_path(app_deps)
        remove_path(app_dir)
        add_path(worker, first=True)


def prioritize_customer_dependencies(worker: str, app_deps: str, app_dir: str) -> None:
    remove_path(worker)
    add_path(app_deps, first=True)
    add_path(worker, first=False)
    add_path(app_dir, first=False)


def mount(app_dir: Path, wwwroot: Path) -> str:
    """The app's package appears (Flex mounts it at specialization): code plus .python_packages."""
    wwwroot.mkdir(parents=True, exist_ok=True)
    for name in ("function_app.py", "functions", "shared", "host.json"):
        (wwwroot / name).symlink_to(app_dir / name)
    return str(wwwroot)


def start(scenario: str, worker: str, app_deps_src: str, app_dir: Path, wwwroot: Path) -> list[str]:
    site = wwwroot / ".python_packages" / "lib" / "site-packages"  # where the app's packages live in Azure
    app_deps = str(site)
    if scenario == "core-tools":
        root = mount(app_dir, wwwroot)
        site.parent.mkdir(parents=True)
        site.symlink_to(app_deps_src)
        os.environ[SCRIPT_ROOT] = root
        sys.path[0:0] = [worker, app_deps, root]
    else:
        sys.path[0:0] = [str(wwwroot.parent / "standby"), app_deps, worker]
        os.environ.update(CONTAINER_NAME="placeholder", WEBSITE_PLACEHOLDER_MODE="1")
    use_worker_dependencies(worker, app_deps, os.environ.get(SCRIPT_ROOT, ""))
    importlib.import_module("grpc")  # the worker's own gRPC channel to the host
    importlib.import_module("google.protobuf.message")
    if scenario == "core-tools":
        if isolating():  # WorkerInitRequest (should_load_cx_dependencies: not in placeholder mode)
            prioritize_customer_dependencies(worker, app_deps, root)
    else:  # FunctionEnvironmentReloadRequest after the app is mounted
        root = mount(app_dir, wwwroot)
        site.parent.mkdir(parents=True)
        site.symlink_to(app_deps_src)
        os.environ.update({SCRIPT_ROOT: root, "WEBSITE_PLACEHOLDER_MODE": "0"})
        sys.path.append(root)
        sys.path_importer_cache.clear()
        if isolating():
            prioritize_customer_dependencies(worker, app_deps, root)
        else:
            for name in ("azure", "google", "azure.functions"):
                if name in sys.modules:
                    importlib.reload(sys.modules[name])
    app = importlib.import_module("function_app").app
    return sorted(f.get_function_name() for f in app.get_functions())


def main() -> None:
    scenario, worker, app_deps, app_dir, wwwroot = sys.argv[1:6]
    result: dict[str, object] = {"scenario": scenario, "isolate": isolating()}
    try:
        result["functions"] = start(scenario, worker, app_deps, Path(app_dir), Path(wwwroot))
    except Exception as exc:  # what the worker would report as the indexing error
        result["error"] = f"{type(exc).__name__}: {exc}"
    protobuf = sys.modules.get("google.protobuf")
    result["protobuf"] = getattr(protobuf, "__version__", None)
    result["protobuf_from"] = getattr(protobuf, "__file__", None)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
