"""A generated corpus of uploads, normal and hostile, with the outcome each must reach.

Shared by the local and Azure end-to-end tests and by the benchmarks, so both
runtimes are held to the same invariants on the same inputs.
"""

from __future__ import annotations

import io
import random
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageDraw

from shared import errors

OK = "ok"  # gold, or classified / needs_review when a classifier runs


@dataclass(frozen=True)
class Expect:
    outcome: str  # OK, "duplicate" or "rejected"
    reason: str | None = None
    upright: str | None = None  # "portrait": red on top, blue at the bottom after cleansing
    max_side: int | None = 512
    size: tuple[int, int] | None = None  # exact cleansed size


def photo(width: int, height: int, seed: int = 0) -> Image.Image:
    """Photo-like content (gradients, shapes, noise) so that JPEG sizes and timings are realistic."""
    rng = random.Random(seed)
    small = Image.linear_gradient("L").resize((64, 48)).convert("RGB")
    draw = ImageDraw.Draw(small)
    for _ in range(12):
        x, y = rng.randrange(64), rng.randrange(48)
        draw.ellipse((x, y, x + rng.randrange(4, 24), y + rng.randrange(4, 24)),
                     fill=(rng.randrange(256), rng.randrange(256), rng.randrange(256)))
    im = small.resize((width, height), Image.Resampling.BICUBIC)
    noise = Image.effect_noise((max(1, width // 4), max(1, height // 4)), 24).resize((width, height))
    return Image.merge("RGB", [Image.blend(band, noise, 0.15) for band in im.split()])


def jpeg(im: Image.Image, **kw: object) -> bytes:
    out = io.BytesIO()
    im.save(out, "JPEG", quality=90, **kw)
    return out.getvalue()


def encode(im: Image.Image, fmt: str, **kw: object) -> bytes:
    out = io.BytesIO()
    im.save(out, fmt, **kw)
    return out.getvalue()


def with_gps_exif(orientation: int = 1) -> bytes:
    exif = Image.Exif()
    exif[0x0112] = orientation
    exif[0x010F] = "CameraMaker"
    gps = exif.get_ifd(0x8825)
    gps.update({1: "N", 2: (48.0, 51.0, 24.0), 3: "E", 4: (2.0, 21.0, 3.0)})
    return exif.tobytes()


def upright_portrait() -> Image.Image:
    """400x600, red top half, blue bottom half: easy to check orientation on silver."""
    im = Image.new("RGB", (400, 600), (220, 20, 20))
    im.paste((20, 20, 220), (0, 300, 400, 600))
    return im


def rotated(orientation: int) -> bytes:
    """Store pixels so that applying the EXIF orientation shows the upright portrait."""
    stored = upright_portrait().transpose(
        Image.Transpose.ROTATE_90 if orientation == 6 else Image.Transpose.ROTATE_270)
    return jpeg(stored, exif=with_gps_exif(orientation))


def animated_gif() -> bytes:
    frames = [Image.new("RGB", (120, 80), c) for c in ((255, 0, 0), (0, 255, 0), (0, 0, 255))]
    return encode(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)


def rgba_png() -> bytes:
    im = Image.new("RGBA", (300, 200), (0, 0, 0, 0))
    ImageDraw.Draw(im).rectangle((100, 50, 200, 150), fill=(0, 128, 0, 255))
    return encode(im, "PNG")


def sixteen_bit_png() -> bytes:
    im = Image.linear_gradient("L").resize((640, 480)).convert("I")
    im = im.point(lambda v: v * 257).convert("I;16")
    return encode(im, "PNG")


def bomb_png() -> bytes:
    """A ~50 KB PNG whose header declares 20000 x 20000 pixels."""
    return encode(Image.new("1", (20000, 20000)), "PNG", optimize=True)


def flat_png(width: int, height: int, rgba: tuple[int, int, int, int]) -> bytes:
    """A PNG of one colour, built row by row: a huge image in a small file and little memory."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    packer, row = zlib.compressobj(9), b"\0" + bytes(rgba) * width
    pixels = b"".join(packer.compress(row) for _ in range(height)) + packer.flush()
    header = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)  # 8-bit RGBA
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")


def corpus(include_large: bool = True) -> dict[str, tuple[bytes, Expect]]:
    """Relative upload path -> (bytes, expectation)."""
    base = jpeg(photo(1600, 1200, seed=1), exif=with_gps_exif())
    truncated = jpeg(photo(800, 600, seed=2))
    items: dict[str, tuple[bytes, Expect]] = {
        "seller1/shoe.jpg": (base, Expect(OK, size=(512, 384))),
        "seller1/bag.png": (encode(photo(900, 700, seed=3), "PNG"), Expect(OK)),
        "seller1/watch.webp": (encode(photo(1000, 1000, seed=4), "WEBP", quality=85), Expect(OK, size=(512, 512))),
        "seller1/orient6.jpg": (rotated(6), Expect(OK, upright="portrait", size=(341, 512))),
        "seller1/orient8.jpg": (rotated(8), Expect(OK, upright="portrait", size=(341, 512))),
        "seller2/cmyk.jpg": (jpeg(photo(700, 500, seed=5).convert("CMYK")), Expect(OK)),
        "seller2/gray16.png": (sixteen_bit_png(), Expect(OK)),
        "seller2/transparent.png": (rgba_png(), Expect(OK, size=(300, 200))),
        "seller2/animated.gif": (animated_gif(), Expect(OK, size=(120, 80))),
        "seller2/tiny.png": (encode(photo(16, 12, seed=6), "PNG"), Expect(OK, size=(16, 12))),
        "seller2/png-named.jpg": (encode(photo(300, 300, seed=7), "PNG"), Expect(OK)),
        "seller3/zero.jpg": (b"", Expect("rejected", errors.EMPTY_FILE)),
        "seller3/truncated.jpg": (truncated[: len(truncated) // 2], Expect("rejected", errors.CORRUPT_IMAGE)),
        "seller3/page.jpg": (b"<!DOCTYPE html><html><body><script>alert(1)</script></body></html>",
                             Expect("rejected", errors.UNSUPPORTED_FORMAT)),
        "seller3/vector.jpg": (b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"><script/></svg>',
                               Expect("rejected", errors.UNSUPPORTED_FORMAT)),
        "seller3/doc.png": (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n",
                            Expect("rejected", errors.UNSUPPORTED_FORMAT)),
        "seller3/bomb.png": (bomb_png(), Expect("rejected", errors.TOO_MANY_PIXELS)),
        "seller4/copy one.jpg": (base, Expect("duplicate")),
        "seller4/with spaces in name.jpg": (jpeg(photo(640, 480, seed=8)), Expect(OK)),
        "seller4/ünïcødé 商品 ✓.jpg": (jpeg(photo(640, 480, seed=9)), Expect(OK)),
        "seller4/..jpg": (jpeg(photo(320, 240, seed=10)), Expect(OK)),
        "seller4/" + "x" * 196 + ".jpg": (jpeg(photo(320, 240, seed=11)), Expect(OK)),
        "anonymous-drop.jpg": (jpeg(photo(800, 800, seed=12)), Expect(OK)),
    }
    if include_large:
        items["seller5/fifty-megapixel.jpg"] = (jpeg(photo(8660, 5774, seed=13)), Expect(OK, size=(512, 341)))
    return items


def write(uploads: Path, items: dict[str, tuple[bytes, Expect]]) -> None:
    for rel, (data, _) in items.items():
        path = uploads / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
