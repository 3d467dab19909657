"""Benchmark: ``imgpipe spark run --master local[2]`` against ``imgpipe run --workers 2`` on the same 200
distinct 12 MP JPEGs (``--classifier none``: ingest + cleanse), each in a fresh process on a fresh copy.

Also times a Spark run over an empty data dir (JVM start, session, the phases' fixed jobs), so the table
shows the marginal cost per image apart from the fixed start-up.

    python benchmarks/bench_spark.py [--images 200] [--out .bench]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
COMMANDS = {
    "imgpipe run --workers 2": ["run", "--settle", "0", "--workers", "2", "--classifier", "none", "--quiet"],
    "imgpipe spark run --master local[2]": ["spark", "run", "--master", "local[2]", "--classifier", "none"],
}


def timed(data_dir: Path, args: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "imgpipe", "--data-dir", str(data_dir), *args], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=200)
    parser.add_argument("--out", type=Path, default=ROOT / ".bench")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    print("generating inputs ...", file=sys.stderr)
    subprocess.run([sys.executable, str(ROOT / "benchmarks" / "bench_cleanse.py"), "--generate", "--out",
                    str(args.out), "--images", str(args.images)], check=True)
    corpus = args.out / f"corpus-{args.images}"
    empty = args.out / "spark-empty"
    shutil.rmtree(empty, ignore_errors=True)
    fixed = timed(empty, COMMANDS["imgpipe spark run --master local[2]"])
    rows = ["| command | images | seconds | images/s | ms / image after start-up |", "|---|---:|---:|---:|---:|"]
    rates = {}
    for name, cmd in COMMANDS.items():
        data_dir = args.out / ("spark-run" if "spark" in name else "local-run")
        shutil.rmtree(data_dir, ignore_errors=True)
        shutil.copytree(corpus, data_dir)
        seconds = timed(data_dir, cmd)
        rates[name] = args.images / seconds
        marginal = ""
        if "spark" in name:  # on a busy machine the difference can drown in noise: say so rather than print < 0
            marginal = f"{(seconds - fixed) * 1000 / args.images:.1f}" if seconds > fixed else "n/a (noise)"
        rows.append(f"| {name} | {args.images} | {seconds:.1f} | {rates[name]:.1f} | {marginal} |")
    rows.append(f"| imgpipe spark run, empty data dir (fixed cost) | 0 | {fixed:.1f} | | |")
    local, spark = rates["imgpipe run --workers 2"], rates["imgpipe spark run --master local[2]"]
    rows.append(f"\nSpark time per image / local time per image: {local / spark:.2f}x (target: within 1.5x).")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
