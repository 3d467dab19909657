"""Generated images that span the Open-NSFW score range, for the moderation agreement check.

No explicit material may go into the repository, yet a check that only sees
scores near 0 says nothing about the review threshold (0.5), where a small
change in the model's logits moves the score most. Skin-toned, blurred, heavy
crops of the shipped sample photos reach high scores; plain crops and skin-tone
blobs fill the low and middle range. Everything is derived from
``tests/fixtures/photos`` with seeded generators, so the set is the same on
every machine (given the pinned Pillow and numpy).

``TONED_SEEDS`` were picked once from seeds 0-1199 of ``toned``: every seed the
package's float model scores >= 0.3, plus every 12th seed (which adds the low
range). Of the 211 images, 19 score above 0.5 with the float model.
"""

from __future__ import annotations

import functools
import random
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageEnhance, ImageFilter

PHOTOS = Path(__file__).resolve().parent / "fixtures" / "photos"
PHOTO_NAMES = ("coffee.png", "chelsea.png", "motorcycle_left.png", "rocket.jpg")
SKIN = ((255, 224, 196), (241, 194, 167), (224, 172, 105), (198, 134, 66),
        (141, 85, 36), (255, 205, 180), (234, 160, 140), (200, 120, 100))
TONED_SEEDS = (
    0, 1, 4, 14, 22, 24, 28, 29, 41, 52, 54, 57, 65, 68, 80, 84, 92, 94, 96, 107, 119, 131, 138, 144, 156, 164,
    169, 180, 182, 194, 200, 207, 219, 231, 232, 236, 245, 253, 258, 270, 271, 272, 284, 292, 296, 298, 300, 308,
    312, 324, 328, 333, 338, 350, 362, 374, 386, 398, 410, 411, 423, 426, 436, 448, 460, 468, 473, 480, 486, 498,
    500, 511, 523, 535, 547, 559, 571, 572, 576, 580, 586, 587, 592, 600, 604, 608, 613, 615, 627, 639, 651, 663,
    675, 684, 688, 700, 704, 713, 725, 726, 728, 739, 741, 752, 764, 768, 777, 789, 801, 804, 814, 826, 834, 839,
    851, 863, 870, 876, 888, 900, 912, 924, 933, 937, 949, 961, 968, 974, 980, 984, 988, 992, 1001, 1002, 1014,
    1026, 1034, 1039, 1040, 1048, 1052, 1054, 1066, 1070, 1078, 1080, 1092, 1104, 1116, 1128, 1140, 1152, 1153,
    1165, 1168, 1172, 1179, 1180, 1192,
)


@functools.cache
def photos() -> tuple[Image.Image, ...]:
    return tuple(Image.open(PHOTOS / name).convert("RGB") for name in PHOTO_NAMES)


def _crop(rng: np.random.Generator, image: Image.Image, smallest: float, largest: float) -> Image.Image:
    w, h = image.size
    f = rng.uniform(smallest, largest)
    cw, ch = int(w * f), int(h * f)
    left, top = rng.integers(0, w - cw), rng.integers(0, h - ch)
    return image.crop((int(left), int(top), int(left) + cw, int(top) + ch))


def toned(seed: int) -> Image.Image:
    """A heavy crop of a sample photo, blurred and recoloured towards a skin tone (its luminance kept)."""
    rng = np.random.default_rng(seed)
    crop = _crop(rng, photos()[seed % 4], 0.08, 0.6)
    crop = crop.filter(ImageFilter.GaussianBlur(rng.uniform(0, 8)))
    pixels = np.asarray(crop, dtype=np.float32)
    luminance = pixels.mean(2, keepdims=True)
    tone = np.array(SKIN[rng.integers(len(SKIN))], dtype=np.float32)
    mix = rng.uniform(0.5, 1.0)
    out = (1 - mix) * pixels + mix * (luminance / 255 * rng.uniform(1.0, 1.6) * tone)
    return Image.fromarray(out.clip(0, 255).astype(np.uint8))


def shifted(seed: int) -> Image.Image:
    """A heavy crop with its colour, contrast and brightness shifted (scores stay low)."""
    rng = np.random.default_rng(10_000 + seed)
    crop = _crop(rng, photos()[seed % 4], 0.15, 0.9)
    r, g, b = crop.split()
    crop = Image.merge("RGB", (r, g, b) if seed % 3 == 0 else (b, r, g) if seed % 3 == 1 else (g, b, r))
    crop = ImageEnhance.Color(crop).enhance(rng.uniform(0.2, 2.0))
    return ImageEnhance.Brightness(crop).enhance(rng.uniform(0.6, 1.4))


def skin_blobs(seed: int, size: int = 320) -> Image.Image:
    """Skin-tone ellipses on a skin-tone ground, blurred and shaded: skin-dominated, nothing depicted."""
    rnd = random.Random(seed)
    image = Image.new("RGB", (size, size), rnd.choice(SKIN))
    draw = ImageDraw.Draw(image)
    for _ in range(rnd.randrange(1, 6)):
        colour = tuple(max(0, min(255, v + rnd.randrange(-40, 40))) for v in rnd.choice(SKIN))
        cx, cy, rx, ry = rnd.randrange(size), rnd.randrange(size), rnd.randrange(40, 200), rnd.randrange(40, 200)
        draw.ellipse((cx - rx, cy - ry, cx + rx, cy + ry), fill=colour)
    pixels = np.asarray(image.filter(ImageFilter.GaussianBlur(rnd.uniform(3, 15))), dtype=np.float32)
    ramp = np.linspace(0.7, 1.2, size, dtype=np.float32)
    pixels *= (ramp[:, None] if seed % 2 else ramp[None, :])[..., None]
    return Image.fromarray(pixels.clip(0, 255).astype(np.uint8))


def agreement_set() -> list[Image.Image]:
    """211 images: the 4 photos, 24 colour-shifted crops, 24 skin-tone blobs, 159 skin-toned crops."""
    return [*photos(), *(shifted(s) for s in range(24)), *(skin_blobs(s) for s in range(24)),
            *(toned(s) for s in TONED_SEEDS)]


def calibration_set(count: int = 64) -> list[Image.Image]:
    """Images from the same generators but seeds the agreement set never uses (for quantization)."""
    return [toned(20_000 + s) if s % 4 else skin_blobs(1000 + s) for s in range(count)]
