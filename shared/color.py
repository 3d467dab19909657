"""Any Pillow mode in, 8-bit sRGB RGB out.

Product photos arrive as CMYK JPEGs from print workflows, 16-bit PNGs from
scanners, palette GIFs and transparent PNGs from design tools. The silver
image is always plain sRGB so that every consumer (a browser, the model) sees
the same colours, and transparency is flattened on white because that is the
background of a product listing.
"""

from __future__ import annotations

import io
import logging

from PIL import Image, ImageCms

log = logging.getLogger(__name__)

_SRGB = ImageCms.createProfile("sRGB")
_ALPHA_MODES = {"RGBA", "LA", "PA", "RGBa", "La"}
_WIDE_INT_MODES = {"I", "I;16", "I;16B", "I;16L", "I;16N"}


def to_resizable(im: Image.Image) -> Image.Image:
    """Eight bits per channel and no palette, so that resampling is meaningful; the input is not modified.

    Done before resizing; flattening and colour management come after it, on at most
    512 px, because at full size each of them copies the image (a 64 MP RGBA PNG
    peaked at 1.2 GB doing them first).
    """
    im = _to_eight_bit(im)
    if im.mode in ("P", "PA"):
        im = im.convert("RGBA" if im.mode == "PA" or "transparency" in im.info else "RGB")
    return im


def to_srgb(im: Image.Image, icc: bytes | None = None) -> Image.Image:
    """Return an RGB image in sRGB; ``icc`` is the source's profile. The input is not modified."""
    icc = icc or im.info.get("icc_profile")
    im = to_resizable(im)
    if im.mode in _ALPHA_MODES:
        im = _flatten_on_white(im)
    if icc and im.mode in ("RGB", "CMYK", "L"):
        converted = _apply_icc(im, icc)
        if converted is not None:
            return converted
    return im if im.mode == "RGB" else im.convert("RGB")


def _to_eight_bit(im: Image.Image) -> Image.Image:
    """Scale 16/32-bit grey to 8 bits; a plain convert would clip everything above 255 to white."""
    if im.mode in _WIDE_INT_MODES:
        as_int = im if im.mode in ("I", "I;16") else im.convert("I")  # I;16 scales without a 32-bit copy
        _lo, hi = as_int.getextrema()
        divisor = 256 if hi > 255 else 1
        return as_int.point(lambda v: v / divisor).convert("L")
    if im.mode == "F":
        return im.point(lambda v: v * 255 if im.getextrema()[1] <= 1.0 else v).convert("L")
    if im.mode == "1":
        return im.convert("L")
    return im


def _flatten_on_white(im: Image.Image) -> Image.Image:
    rgba = im.convert("RGBA")
    background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
    return Image.alpha_composite(background, rgba).convert("RGB")


def _apply_icc(im: Image.Image, icc: bytes) -> Image.Image | None:
    """Convert through the embedded profile; a broken profile falls back to a plain convert."""
    try:
        source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        if im.mode == "L":
            im = im.convert("RGB")
            if source.profile.xcolor_space.strip() != "RGB":
                return im
        return ImageCms.profileToProfile(im, source, _SRGB, outputMode="RGB")
    except (ImageCms.PyCMSError, OSError, ValueError, TypeError) as exc:
        log.debug("ignoring unusable ICC profile: %s", exc)
        return None
