"""Benchmark: Cosmos DB requests/RU per image and time per image, ``run --backend azure`` vs the local backend.

Starts Azurite and the Cosmos DB stand-in on loopback (like the tests), then:

1. stage cost per image, as the Functions app pays it: ``ingest`` + ``cleanse`` for a new image, and for a
   duplicate (same bytes, new name), counting every Cosmos request and its ``x-ms-request-charge``;
2. ``imgpipe run`` over the same N photos with ``--backend local`` and ``--backend azure`` (1 and 2 workers).

The stand-in bills every request at 1 RU, so against it the "RU" column is a request count; against a real
account (set IMAGES_STORAGE/COSMOS_* and pass --real) the same code reads the real charges.

    python benchmarks/bench_azure.py [--images 40] [--real]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from imgpipe.backends import open_runtime  # noqa: E402
from shared.adapters.memory import RecordingQueue  # noqa: E402
from shared.azure import connections  # noqa: E402
from shared.azure.bootstrap import bootstrap  # noqa: E402
from shared.layout import IMAGE_CONTAINERS as CONTAINERS  # noqa: E402
from shared.layout import Queue  # noqa: E402
from shared.runner import RunOptions, run_once  # noqa: E402
from shared.settings import Settings  # noqa: E402
from shared.stages import cleanse, ingest  # noqa: E402
from tests.corpus import jpeg, photo  # noqa: E402
from tests.integration.azure_services import empty_containers  # noqa: E402


def photos(n: int) -> list[bytes]:
    return [jpeg(photo(1600, 1200, seed=1000 + i)) for i in range(n)]


def stage_cost(data: bytes) -> dict[str, Any]:
    """Cosmos requests of one new image and one duplicate of it, through the stages the Functions app runs."""
    rt = bootstrap(Settings.from_env(), queue=RecordingQueue(), classifier="none", create_missing=True)
    out: dict[str, Any] = {}
    for kind, name in (("new image", "uploads/bench/original.jpg"), ("duplicate", "uploads/bench/copy.jpg")):
        rt.store.put(name, data)
        rt.meta.charges.reset()
        ingest(rt.services, rt.store.info(name))
        assert isinstance(rt.services.queue, RecordingQueue)
        (body,) = rt.services.queue.drain(Queue.CLEANSE)
        record = cleanse(rt.services, body)
        out[kind] = {"status": record.status, **rt.meta.charges.snapshot()}
    out["record_item_bytes"] = len(json.dumps({"id": record.upload_id, **record.to_dict()}))
    return out


def timed_run(backend: str, images: list[bytes], workers: int, data_dir: Path) -> dict[str, Any]:
    settings = Settings.from_env().with_(data_dir=data_dir)
    if backend == "azure":
        rt = bootstrap(settings, queue=RecordingQueue(), classifier="none", create_missing=True)
        for i, data in enumerate(images):
            rt.store.put(f"uploads/w{workers}/img{i:04d}.jpg", data)
    else:
        for i, data in enumerate(images):
            path = data_dir / "uploads" / f"w{workers}" / f"img{i:04d}.jpg"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
    with open_runtime(backend, settings, "none") as runtime:
        report = run_once(runtime, RunOptions(workers=workers))
    assert report.ingested == len(images), report
    calls = {k.split(":", 1)[1]: n for k, n in report.usage.items() if k.startswith("cosmos_calls:")}
    extra = {"cosmos_requests_per_image": round(sum(calls.values()) / len(images), 2), "cosmos_calls": calls} \
        if backend == "azure" else {}
    per_image = report.seconds / len(images)
    return {"backend": backend, "workers": workers, "images": len(images), "seconds": round(report.seconds, 2),
            "ms_per_image": round(per_image * 1000, 1), **extra}


def fresh_database(label: str) -> None:
    """A new Cosmos database and empty blob containers, so each phase counts only its own images."""
    os.environ["COSMOS_DATABASE"] = f"bench-{label}-{os.getpid()}"
    connections.reset()
    empty_containers(connections.blob_service_client(), CONTAINERS)


def measure(n: int) -> dict[str, Any]:
    images = photos(n)
    fresh_database("stages")
    result: dict[str, Any] = {"stage_cost": stage_cost(images[0]), "runs": []}
    for workers in (1, 2):
        with tempfile.TemporaryDirectory() as tmp:
            result["runs"].append(timed_run("local", images, workers, Path(tmp)))
        fresh_database(f"run{workers}")
        with tempfile.TemporaryDirectory() as tmp:
            result["runs"].append(timed_run("azure", images, workers, Path(tmp)))
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--images", type=int, default=40)
    parser.add_argument("--real", action="store_true", help="use the services in the environment, start nothing")
    args = parser.parse_args()
    if args.real:
        print(json.dumps(measure(args.images), indent=2))
        return
    from tests.integration.azure_services import running

    with running() as services:
        os.environ.update(services.env())
        print(json.dumps(measure(args.images), indent=2))


if __name__ == "__main__":
    main()
