"""Benchmark: ``imgpipe spark run --master local[2]`` against ``imgpipe run --workers 2`` on the same distinct
12 MP JPEGs (``--classifier none``: ingest + cleanse), each run in a fresh process on a fresh copy.

Each command runs on N images (default 200) and on a small subset (default 20), interleaved, so the table
separates the marginal cost per image, (T(N) - T(small)) / (N - small), from the fixed cost of a run with
work, T(small) - small x marginal (for Spark: JVM start, the first job, starting the Python workers). A
Spark run over an empty data dir is timed too: it starts no Spark at all. From both figures it prints the
number of images at which the Spark run's time per image comes within 1.5x of the local runtime's.

    python benchmarks/bench_spark.py [--images 200] [--small 20] [--out .bench]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LOCAL, SPARK = "imgpipe run --workers 2", "imgpipe spark run --master local[2]"
COMMANDS = {
    LOCAL: ["run", "--settle", "0", "--workers", "2", "--classifier", "none", "--quiet"],
    SPARK: ["spark", "run", "--settle", "0", "--master", "local[2]", "--classifier", "none"],
}
TARGET = 1.5


def timed(data_dir: Path, args: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "imgpipe", "--data-dir", str(data_dir), *args], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def fresh_copy(corpus: Path, target: Path, images: int) -> Path:
    shutil.rmtree(target, ignore_errors=True)
    files = sorted((corpus / "uploads").rglob("*.jpg"))[:images]
    for path in files:
        dest = target / path.relative_to(corpus)
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, dest)
    (target / "uploads").mkdir(parents=True, exist_ok=True)
    return target


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=200)
    parser.add_argument("--small", type=int, default=20)
    parser.add_argument("--out", type=Path, default=ROOT / ".bench")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    print("generating inputs ...", file=sys.stderr)
    subprocess.run([sys.executable, str(ROOT / "benchmarks" / "bench_cleanse.py"), "--generate", "--out",
                    str(args.out), "--images", str(args.images)], check=True)
    corpus = args.out / f"corpus-{args.images}"
    before = load()
    seconds: dict[tuple[str, int], float] = {}
    for images in (0, args.small, args.images):
        for name, cmd in COMMANDS.items():
            data_dir = fresh_copy(corpus, args.out / ("spark-run" if name == SPARK else "local-run"), images)
            seconds[name, images] = timed(data_dir, cmd)
    from imgpipe_spark.session import class_archive

    rows = [f"load average before: {before}; after: {load()}; JVM class-data archive: "
            f"{'yes' if class_archive().is_file() else 'no (python -m imgpipe_spark.warm)'}", "",
            "| command | images | seconds | images/s |", "|---|---:|---:|---:|"]
    for (name, images), value in seconds.items():
        rows.append(f"| {name} | {images} | {value:.1f} | {images / value:.1f} |" if images else
                    f"| {name}, empty data dir | 0 | {value:.1f} | |")
    model = {}
    for name in COMMANDS:
        marginal = (seconds[name, args.images] - seconds[name, args.small]) / (args.images - args.small)
        model[name] = (seconds[name, args.small] - args.small * marginal, marginal)
    (f_local, m_local), (f_spark, m_spark) = model[LOCAL], model[SPARK]
    rows += ["", "| command | fixed cost of a run with work, s | marginal ms / image |", "|---|---:|---:|"]
    rows += [f"| {name} | {fixed:.2f} | {marginal * 1000:.1f} |" for name, (fixed, marginal) in model.items()]
    ratio = seconds[SPARK, args.images] / seconds[LOCAL, args.images]
    rows.append(f"\nAt {args.images} images: Spark time per image / local time per image {ratio:.2f}x "
                f"(target: within {TARGET}x); marginal cost per image {m_spark / m_local:.2f}x; "
                f"fixed cost {f_spark:.1f} s against {f_local:.1f} s.")
    if m_spark < TARGET * m_local:
        reach = max(0.0, (f_spark - TARGET * f_local) / (TARGET * m_local - m_spark))
        rows.append(f"Within {TARGET}x from about {reach:,.0f} images per run (where the fixed cost is amortized).")
    else:
        rows.append(f"The marginal cost alone is over {TARGET}x: no run size reaches the target.")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
