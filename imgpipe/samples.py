"""Seed ``uploads/`` with sample product photos for ``make demo``, only when it is empty.

The photos are scikit-image's public-domain/CC0 sample images (kept under
tests/fixtures/photos); a duplicate, an EXIF-rotated copy and an HTML file
named .jpg are added so the demo shows dedup, orientation and rejection too.
"""

from __future__ import annotations

import io
import shutil
import sys
from pathlib import Path

from PIL import Image

PHOTOS = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "photos"
SELLER = "demo-seller"


def rotated_copy(source: Path) -> bytes:
    """The photo stored sideways with EXIF orientation 6, as phones do."""
    im = Image.open(source).convert("RGB").transpose(Image.Transpose.ROTATE_90)
    exif = Image.Exif()
    exif[0x0112] = 6
    out = io.BytesIO()
    im.save(out, "JPEG", quality=90, exif=exif.tobytes())
    return out.getvalue()


def seed(uploads: Path) -> int:
    if uploads.is_dir() and any(p.is_file() for p in uploads.rglob("*")):
        print(f"{uploads} already has files; not adding samples")
        return 0
    photos = sorted(PHOTOS.glob("*.*"))
    if not photos:
        raise SystemExit(f"no sample photos in {PHOTOS}")
    target = uploads / SELLER
    target.mkdir(parents=True, exist_ok=True)
    for photo in photos:
        shutil.copyfile(photo, target / photo.name)
    shutil.copyfile(photos[0], target / f"copy of {photos[0].name}")
    (target / "sideways phone photo.jpg").write_bytes(rotated_copy(photos[-1]))
    (target / "definitely-a-photo.jpg").write_bytes(b"<!DOCTYPE html><html><script>alert(1)</script></html>")
    count = len(photos) + 3
    print(f"added {count} sample uploads to {target}")
    return count


if __name__ == "__main__":
    seed(Path(sys.argv[1] if len(sys.argv) > 1 else "data/uploads"))
