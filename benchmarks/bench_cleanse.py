"""Benchmark: imgpipe's cleanse against naive Pillow, pyvips and libjpeg-turbo's djpeg floor,
plus ``imgpipe run`` throughput with 1 and 2 workers. All rows are measured in one run on the
same inputs, each measurement in a fresh process so peak RSS belongs to that method alone.

    python benchmarks/bench_cleanse.py [--repeats 5] [--images 200] [--out .bench]
"""

from __future__ import annotations

import argparse
import io
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

INPUTS = {"jpeg-12mp": (4000, 3000, "JPEG"), "jpeg-50mp": (8660, 5774, "JPEG"), "png-12mp": (4000, 3000, "PNG")}
METHODS = ("imgpipe", "naive-pillow", "pyvips", "djpeg-1/8")


def make_inputs(out: Path) -> dict[str, Path]:
    from tests.corpus import photo

    paths = {}
    for name, (w, h, fmt) in INPUTS.items():
        path = out / f"{name}.{fmt.lower()}"
        if not path.exists():
            photo(w, h, seed=w).save(path, fmt, **({"quality": 92} if fmt == "JPEG" else {}))
        paths[name] = path
    return paths


def cleanse_once(method: str, data: bytes) -> None:
    if method == "imgpipe":
        from shared.imaging import cleanse
        from shared.settings import Limits

        cleanse(data, Limits())
    elif method == "naive-pillow":
        from PIL import Image, ImageOps

        im = ImageOps.exif_transpose(Image.open(io.BytesIO(data)))
        im = im.convert("RGB")
        im.thumbnail((512, 512), Image.Resampling.LANCZOS)
        im.save(io.BytesIO(), "JPEG", quality=85)
    elif method == "pyvips":
        import pyvips

        pyvips.Image.thumbnail_buffer(data, 512).write_to_buffer(".jpg[Q=85,strip]")
    else:
        raise ValueError(method)


def child(method: str, path: str, repeats: int) -> None:
    """Runs in its own process: time ``repeats`` cleanses after one warm-up, print the median ms."""
    data = Path(path).read_bytes()
    if method == "baseline":
        import PIL.Image  # noqa: F401

        print(0.0)
        return
    cleanse_once(method, data)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        cleanse_once(method, data)
        times.append((time.perf_counter() - start) * 1000)
    print(statistics.median(times))


def measure(cmd: list[str]) -> tuple[str, int]:
    """Run ``cmd``; return its stdout and its own peak RSS in MiB (from wait4, not the parent's)."""
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    out = proc.stdout.read() if proc.stdout else ""
    _, status, usage = os.wait4(proc.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"{cmd} failed")
    return out.strip(), usage.ru_maxrss // 1024


def djpeg_row(path: Path, repeats: int) -> tuple[float, int] | None:
    if path.suffix != ".jpeg" or not shutil.which("djpeg"):
        return None
    times, peak = [], 0
    for _ in range(repeats + 1):
        start = time.perf_counter()
        _, rss = measure(["djpeg", "-scale", "1/8", "-outfile", os.devnull, str(path)])
        times.append((time.perf_counter() - start) * 1000)
        peak = max(peak, rss)
    return statistics.median(times[1:]), peak


def cleanse_table(inputs: dict[str, Path], repeats: int) -> list[str]:
    _, base_rss = measure([sys.executable, __file__, "--child", "baseline", str(next(iter(inputs.values()))), "1"])
    rows = ["| input | method | ms / image | peak RSS MiB | vs imgpipe |", "|---|---|---:|---:|---:|"]
    for name, path in inputs.items():
        results: dict[str, tuple[float, int] | None] = {}
        for method in METHODS:
            if method == "djpeg-1/8":
                results[method] = djpeg_row(path, repeats)
                continue
            try:
                out, rss = measure([sys.executable, __file__, "--child", method, str(path), str(repeats)])
                results[method] = (float(out), rss)
            except RuntimeError:
                results[method] = None
        ours = results["imgpipe"][0] if results["imgpipe"] else float("nan")
        for method, result in results.items():
            if result is None:
                if not method.startswith("djpeg"):
                    note = "failed (see stderr)"
                elif path.suffix == ".jpeg":
                    note = "djpeg missing (apt-get install libjpeg-turbo-progs)"
                else:
                    note = "n/a (not JPEG)"
                rows.append(f"| {name} | {method} | {note} | | |")
                continue
            ms, rss = result
            rows.append(f"| {name} | {method} | {ms:.1f} | {rss} | {ms / ours:.2f}x |")
    rows.append(f"\nPeak RSS includes the Python interpreter with Pillow imported: {base_rss} MiB (djpeg excepted).")
    return rows


def make_corpus(out: Path, count: int) -> Path:
    """``count`` distinct 12 MP JPEGs (distinct bytes, so dedup does not skip any)."""
    from PIL import ImageDraw

    from tests.corpus import photo

    folder = out / f"corpus-{count}" / "uploads" / "bench"
    folder.mkdir(parents=True, exist_ok=True)
    base = photo(4000, 3000, seed=99)
    for i in range(count):
        path = folder / f"img-{i:04d}.jpg"
        if not path.exists():
            im = base.copy()
            ImageDraw.Draw(im).rectangle((i * 7 % 3900, i * 11 % 2900, i * 7 % 3900 + 100, i * 11 % 2900 + 100),
                                         fill=(i % 256, 255 - i % 256, 128))
            im.save(path, "JPEG", quality=90)
    return folder.parent.parent


def run_table(corpus: Path, out: Path, count: int) -> list[str]:
    rows = ["| imgpipe run | images | seconds | images/s |", "|---|---:|---:|---:|"]
    rates = {}
    for workers in (1, 2):
        data_dir = out / f"run-w{workers}"
        shutil.rmtree(data_dir, ignore_errors=True)
        shutil.copytree(corpus, data_dir)
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "imgpipe", "--data-dir", str(data_dir), "run", "--settle", "0",
                        "--workers", str(workers), "--classifier", "none", "--quiet"], check=True,
                       stdout=subprocess.DEVNULL)
        seconds = time.perf_counter() - start
        rates[workers] = count / seconds
        rows.append(f"| --workers {workers} | {count} | {seconds:.1f} | {rates[workers]:.1f} |")
    rows.append(f"\n--workers 2 / --workers 1 throughput: {rates[2] / rates[1]:.2f}x on {os.cpu_count()} cores.")
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--images", type=int, default=200)
    parser.add_argument("--out", type=Path, default=ROOT / ".bench")
    parser.add_argument("--generate", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--child", nargs=3, metavar=("METHOD", "FILE", "REPEATS"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child[0], args.child[1], int(args.child[2]))
        return
    if args.generate:
        make_inputs(args.out)
        make_corpus(args.out, args.images)
        return
    args.out.mkdir(parents=True, exist_ok=True)
    print("generating inputs ...", file=sys.stderr)
    # In a child: a fork of a big parent would carry its peak RSS into every measured process.
    subprocess.run([sys.executable, __file__, "--generate", "--out", str(args.out), "--images", str(args.images)],
                   check=True)
    inputs = {name: args.out / f"{name}.{fmt.lower()}" for name, (_, _, fmt) in INPUTS.items()}
    corpus = args.out / f"corpus-{args.images}"
    print("\n".join(cleanse_table(inputs, args.repeats)))
    print()
    print("\n".join(run_table(corpus, args.out, args.images)))


if __name__ == "__main__":
    main()
