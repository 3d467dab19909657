"""The silver resample: Bicubic (and Pillow's reducing_gap) against today's Lanczos.

For every image of the test corpus (``tests/corpus.py``, large one included),
the four sample photos and the 12 MP benchmark JPEG, ``cleanse`` runs with each
variant; the decoded silver image is compared with today's (Lanczos,
reducing_gap 2.0) by SSIM, and the CPU time of ``cleanse`` is measured. The
rule of issue 15: switch only if SSIM >= 0.99 on every image.

    python benchmarks/bench_resample.py [--repeats 5]
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import time
from pathlib import Path

from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.ssim import ssim  # noqa: E402
from shared import errors  # noqa: E402
from shared.imaging import cleanse  # noqa: E402
from shared.settings import Limits  # noqa: E402

R = Image.Resampling
REFERENCE = ("lanczos, gap 2.0 (today)", R.LANCZOS, 2.0)
VARIANTS = (("bicubic, gap 2.0", R.BICUBIC, 2.0), ("bicubic, no gap", R.BICUBIC, None),
            ("bicubic, gap 1.5", R.BICUBIC, 1.5), ("lanczos, gap 1.5", R.LANCZOS, 1.5),
            ("lanczos, no gap", R.LANCZOS, None))
MIN_SSIM = 0.99


def inputs() -> dict[str, bytes]:
    from tests.corpus import OK, corpus, jpeg, photo

    found = {name: data for name, (data, expect) in corpus(include_large=True).items() if expect.outcome == OK}
    for path in sorted((ROOT / "tests" / "fixtures" / "photos").iterdir()):
        found[f"photos/{path.name}"] = path.read_bytes()
    found["bench/jpeg-12mp.jpg"] = jpeg(photo(4000, 3000, seed=4000))
    return found


def cpu_ms(data: bytes, resample: R, gap: float | None, repeats: int) -> float:
    cleanse(data, Limits(), resample=resample, reducing_gap=gap)
    times = []
    for _ in range(repeats):
        start = time.process_time()
        cleanse(data, Limits(), resample=resample, reducing_gap=gap)
        times.append((time.process_time() - start) * 1000)
    return statistics.median(times)


def silver(data: bytes, resample: R, gap: float | None) -> Image.Image:
    return Image.open(io.BytesIO(cleanse(data, Limits(), resample=resample, reducing_gap=gap).data))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    images = inputs()
    resized = {n: d for n, d in images.items() if _resized(d)}
    print(f"{len(images)} images, {len(resized)} of them resized (the others are <= 512 px: silver identical)\n")
    print("| variant | min SSIM vs Lanczos | on | mean SSIM | cleanse ms, 12 MP JPEG | cleanse ms, corpus total |")
    print("|---|---:|---|---:|---:|---:|")
    twelve = images["bench/jpeg-12mp.jpg"]
    for label, resample, gap in (REFERENCE, *VARIANTS):
        scores = {n: ssim(silver(d, *REFERENCE[1:]), silver(d, resample, gap)) for n, d in resized.items()}
        worst = min(scores, key=scores.__getitem__)
        total = sum(cpu_ms(d, resample, gap, args.repeats) for d in resized.values())
        print(f"| {label} | {scores[worst]:.4f} | {worst} | {statistics.mean(scores.values()):.4f} "
              f"| {cpu_ms(twelve, resample, gap, args.repeats):.1f} | {total:.1f} |")
    print(f"\nSwitch only if min SSIM >= {MIN_SSIM} on every image.")


def _resized(data: bytes) -> bool:
    try:
        return max(cleanse(data, Limits()).raw.width, cleanse(data, Limits()).raw.height) > Limits().max_side
    except errors.PermanentError:
        return False


if __name__ == "__main__":
    main()
