"""Which backend a command works on: the CLI's composition root.

The library's runtimes stand side by side and never import each other; the
CLI is where one is chosen (``--backend`` / ``IMGPIPE_BACKEND``). Azure
modules are imported only when asked for, so the local runtime never loads
the Azure SDKs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from shared.runtime import Unsupported
from shared.settings import Settings

if TYPE_CHECKING:
    from shared.runtime import Operations, Runtime

LOCAL, AZURE = "local", "azure"
BACKENDS = (LOCAL, AZURE)


def open_runtime(backend: str, settings: Settings, classifier: str | None) -> Runtime:
    """The runtime ``imgpipe run`` drives; use as a context manager."""
    if backend == AZURE:
        from shared.azure.runtime import open_runtime as open_azure

        return open_azure(settings, classifier=classifier)
    from shared.local.bootstrap import bootstrap

    return bootstrap(settings, classifier=classifier)


def open_operations(backend: str, settings: Settings, classifier: str | None = "none",
                    sends: bool = False, read_only: bool = False) -> Operations:
    """Records and dead letters of a backend; use as a context manager.

    ``sends``: the command enqueues work (``reconcile``): in Azure to the Functions app's Service Bus queues;
    locally the jobs table always takes it, for the next ``imgpipe run``. ``read_only``: the command only reads.
    """
    if backend == AZURE:
        from shared.azure.operations import operations as azure_operations

        return azure_operations(settings, classifier=classifier, sends=sends)
    from shared.local.operations import operations as local_operations

    return local_operations(settings, classifier=classifier, read_only=read_only)


def local_only(backend: str, what: str, instead: str) -> None:
    """Refuse a command that has no meaning on ``backend``, saying what does the same job there."""
    if backend != LOCAL:
        raise Unsupported(f"{what} is part of the local runtime only; with --backend {backend}: {instead}")
