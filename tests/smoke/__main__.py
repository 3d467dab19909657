"""``make smoke-azure``: after ``azd up``, check the deployed pipeline end to end; ``--dry-run`` here.

    python -m tests.smoke             # the azd environment's deployment, as the signed-in caller
    python -m tests.smoke --dry-run   # Azurite + the Cosmos DB stand-in, the functions run in-process

Uploads a good JPEG, an EXIF-rotated one, a duplicate and an SVG named .jpg,
waits for their records and checks each terminal state and reason, sends one
malformed message to ``cleanse`` and waits for the app to dead-letter it
with ``bad_message`` (settlement through the SDK-type binding's message
actions works on this plan), and prints upload -> classified latency. Exit
code 1 when anything is off, with the reason.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

from tests.smoke.plan import Result, run

# azd outputs (infra/main.bicep) -> the settings the app's clients read.
AZD_OUTPUTS = ("AZURE_IMAGES_STORAGE_ACCOUNT", "AZURE_COSMOS_ACCOUNT", "AZURE_SERVICEBUS_NAMESPACE")


def azd_values() -> dict[str, str]:
    """``azd env get-values`` of the current environment (KEY="value" lines)."""
    try:
        out = subprocess.run(["azd", "env", "get-values"], capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError) as exc:
        raise SystemExit(f"smoke: set {', '.join(AZD_OUTPUTS)} or run inside an azd environment ({exc})") from exc
    pairs = (line.split("=", 1) for line in out.splitlines() if "=" in line)
    return {k.strip(): v.strip().strip('"') for k, v in pairs}


def deployed(timeout: float) -> Result:
    values = {k: os.environ[k] for k in AZD_OUTPUTS if os.environ.get(k)}
    if len(values) < len(AZD_OUTPUTS):
        values = {**azd_values(), **values}
    os.environ.update({
        "IMAGES_STORAGE__blobServiceUri": f"https://{values['AZURE_IMAGES_STORAGE_ACCOUNT']}.blob.core.windows.net",
        "COSMOS_ENDPOINT": f"https://{values['AZURE_COSMOS_ACCOUNT']}.documents.azure.com:443/",
        "SERVICEBUS__fullyQualifiedNamespace": f"{values['AZURE_SERVICEBUS_NAMESPACE']}.servicebus.windows.net",
    })
    from shared.azure import connections
    from shared.azure.bootstrap import bootstrap
    from shared.azure.operations import NoSends
    from shared.settings import Settings
    from tests.smoke.targets import AzureTarget

    app = bootstrap(Settings.from_env(), queue=NoSends(), classifier="none")
    return run(AzureTarget(app, connections.servicebus_client()), timeout=timeout, poll=5.0)


def dry_run(timeout: float) -> Result:
    from shared.azure import connections
    from shared.azure.bootstrap import bootstrap
    from shared.settings import Settings
    from tests.integration.azure_services import running
    from tests.smoke.targets import DryRunTarget, InProcessHost

    with tempfile.TemporaryDirectory(prefix="imgpipe-smoke-") as tmp, running(workdir=Path(tmp)) as services:
        os.environ.update(services.env(database=f"smoke{uuid.uuid4().hex[:8]}"))
        for name in ("SERVICEBUS", "SERVICEBUS__fullyQualifiedNamespace", "ML_ENDPOINT_URL", "ML_ENDPOINT_KEY"):
            os.environ.pop(name, None)
        connections.reset()
        settings = Settings.from_env()
        host = InProcessHost(settings.retry.max_attempts)
        app = bootstrap(settings, queue=host, classifier="local", create_missing=True)
        try:
            return run(DryRunTarget(app, host), timeout=timeout, poll=0.0)
        finally:
            connections.reset()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make smoke-azure", description=__doc__.split("\n\n")[0])
    parser.add_argument("--dry-run", action="store_true", default=os.environ.get("SMOKE_DRY_RUN") == "1",
                        help="against Azurite + the Cosmos DB stand-in here, functions in-process (SMOKE_DRY_RUN=1)")
    parser.add_argument("--timeout", type=float, default=float(os.environ.get("SMOKE_TIMEOUT", "600")),
                        help="seconds to wait for the records (SMOKE_TIMEOUT, default 600)")
    args = parser.parse_args(argv)
    result = dry_run(args.timeout) if args.dry_run else deployed(args.timeout)
    print("\n".join(result.lines()))
    return 0 if result.ok else 1


if __name__ == "__main__":
    sys.exit(main())
