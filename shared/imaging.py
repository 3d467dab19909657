"""Bytes in, bytes out: validate an untrusted upload and cleanse it for silver.

Pure functions with no I/O, so every runtime (Functions, local, Spark) calls
exactly this code. Order matters for speed: a JPEG is shrunk by the decoder
(``draft``, DCT scaling) *before* ``exif_transpose``; the other order decodes
every pixel of a 50 MP photo first and is several times slower and bigger.
"""

from __future__ import annotations

import io
import math
import warnings
from dataclasses import dataclass

from PIL import Image, ImageOps, UnidentifiedImageError

from shared import errors
from shared.color import to_resizable, to_srgb
from shared.formats import SNIFF_BYTES, describe, sniff
from shared.settings import Limits

# Raise when the code that shapes silver changes (colour handling, resampling, encoder settings):
# records made by other rules are then recomputed by ``imgpipe reprocess``, and only they.
CLEANSE_REVISION = 1
# Pillow's plugin names for the formats we allow; opening is restricted to the sniffed one.
_PIL_FORMATS = {"jpeg": "JPEG", "png": "PNG", "webp": "WEBP", "gif": "GIF", "bmp": "BMP", "tiff": "TIFF"}
_DECODE_ERRORS = (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError, IndexError, TypeError)


@dataclass(frozen=True)
class Header:
    format: str
    width: int
    height: int


@dataclass(frozen=True)
class Cleansed:
    data: bytes
    width: int
    height: int
    raw: Header


def cleanse_version(limits: Limits) -> str:
    """The version of the rules that make silver: the revision plus every setting that shapes the output.

    Limits that only admit or refuse an upload (bytes, pixels) are not part of
    it: they change which uploads get a silver image, not what it looks like.
    """
    return f"r{CLEANSE_REVISION}-{limits.max_side}px-q{limits.jpeg_quality}"


def check_bytes(data: bytes, limits: Limits) -> str:
    """Cheap checks before any decoding; returns the sniffed format."""
    if not data:
        raise errors.PermanentError(errors.EMPTY_FILE)
    if len(data) > limits.max_bytes:
        raise errors.PermanentError(errors.FILE_TOO_LARGE, f"{len(data)} bytes > {limits.max_bytes}")
    fmt = sniff(data[:SNIFF_BYTES])
    if fmt is None:
        raise errors.PermanentError(errors.UNSUPPORTED_FORMAT, describe(data[:SNIFF_BYTES]))
    return fmt


def open_checked(data: bytes, fmt: str, limits: Limits) -> Image.Image:
    """Open (header only) and refuse too many pixels before a single pixel is decoded."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            im = Image.open(io.BytesIO(data), formats=[_PIL_FORMATS[fmt]])
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise errors.PermanentError(errors.TOO_MANY_PIXELS, str(exc)) from exc
    except _DECODE_ERRORS as exc:
        raise errors.PermanentError(errors.CORRUPT_IMAGE, f"cannot read header: {exc}") from exc
    width, height = im.size
    if width <= 0 or height <= 0:
        raise errors.PermanentError(errors.CORRUPT_IMAGE, f"invalid size {width}x{height}")
    cap = limits.max_pixels_webp if fmt == "webp" else limits.max_pixels
    if width * height > cap:
        raise errors.PermanentError(errors.TOO_MANY_PIXELS, f"{width}x{height} > {cap} pixels")
    return im


# The silver resample. Bicubic was measured against it (benchmarks/bench_resample.py, issue 15): it saves
# ~4 % of cleanse's CPU on a 12 MP JPEG (the decoder's draft already shrank it) and ~9 % over the corpus,
# but its silver images reach an SSIM of only 0.986 against Lanczos on the corpus (0.978 on coffee.png),
# short of the 0.99 a switch needed; reducing_gap changes nothing measurable here. Lanczos stays.
RESAMPLE = Image.Resampling.LANCZOS
# Pillow's thumbnail default: box-reduce by an integer factor first while the image is >= 2x the target.
REDUCING_GAP = 2.0


def cleanse(data: bytes, limits: Limits, *, resample: Image.Resampling = RESAMPLE,
            reducing_gap: float | None = REDUCING_GAP) -> Cleansed:
    """Validate and cleanse: upright, sRGB, no metadata, longest side <= max_side, deterministic JPEG.

    ``resample``/``reducing_gap`` exist for the resample benchmark; silver is made with the defaults.
    """
    fmt = check_bytes(data, limits)
    im = open_checked(data, fmt, limits)
    raw = Header(fmt, *im.size)
    try:
        if fmt == "jpeg":
            _shrink_on_load(im, limits.max_side)
        im.load()
        icc = im.info.get("icc_profile")
        ImageOps.exif_transpose(im, in_place=True)  # in place: no full-size copy of an upright image
        im = to_resizable(im)
        im.thumbnail((limits.max_side, limits.max_side), resample, reducing_gap)
        im = to_srgb(im, icc)
    except errors.PermanentError:
        raise
    except _DECODE_ERRORS as exc:
        raise errors.PermanentError(errors.CORRUPT_IMAGE, str(exc)) from exc
    return Cleansed(encode_jpeg(im, limits.jpeg_quality), im.width, im.height, raw)


def _shrink_on_load(im: Image.Image, max_side: int) -> None:
    """Ask libjpeg to decode at 1/2, 1/4 or 1/8 scale, keeping the longest side >= 1.5x the target.

    DCT scaling skips most of the inverse transform; leaving 1.5-2x headroom for
    the final Lanczos pass keeps the result as sharp as a full decode would.
    """
    width, height = im.size
    factor = (1.5 * max_side) / max(width, height)
    if factor < 1:
        im.draft(im.mode, (max(1, math.ceil(width * factor)), max(1, math.ceil(height * factor))))


def encode_jpeg(im: Image.Image, quality: int) -> bytes:
    """Same pixels -> same bytes: fixed settings, and no EXIF/XMP/ICC carried over from ``info``."""
    im.info = {}
    out = io.BytesIO()
    im.save(out, "JPEG", quality=quality, subsampling="4:2:0", optimize=False, progressive=False)
    return out.getvalue()
