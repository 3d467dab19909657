"""The cleansing rules on single images, without any runtime around them."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image, ImageCms

from shared import errors
from shared.formats import sniff
from shared.imaging import cleanse
from shared.settings import Limits
from tests import corpus

LIMITS = Limits()


def opened(data: bytes) -> Image.Image:
    return Image.open(io.BytesIO(data))


@pytest.mark.parametrize(("data", "fmt"), [
    (b"\xff\xd8\xff\xe0rest", "jpeg"), (b"\x89PNG\r\n\x1a\nrest", "png"), (b"RIFF\0\0\0\0WEBPVP8 ", "webp"),
    (b"GIF89a....", "gif"), (b"BM" + b"\0" * 30, "bmp"), (b"II*\x00....", "tiff"),
    (b"<svg xmlns='http://www.w3.org/2000/svg'/>", None), (b"<!doctype html>", None), (b"%PDF-1.4", None),
    (b"\0\0\0\x18ftypheic", None), (b"", None),
])
def test_format_comes_from_magic_bytes(data, fmt):
    assert sniff(data) == fmt


@pytest.mark.parametrize(("data", "reason"), [
    (b"", errors.EMPTY_FILE),
    (b"<html><body>hi</body></html>", errors.UNSUPPORTED_FORMAT),
    (b"\xff\xd8\xff\xe0" + b"\0" * 100, errors.CORRUPT_IMAGE),
    (corpus.bomb_png(), errors.TOO_MANY_PIXELS),
])
def test_bad_input_gets_a_reason_code(data, reason):
    with pytest.raises(errors.PermanentError) as info:
        cleanse(data, LIMITS)
    assert info.value.reason == reason


def test_byte_and_pixel_caps_are_configurable():
    data = corpus.jpeg(corpus.photo(400, 300))
    with pytest.raises(errors.PermanentError) as info:
        cleanse(data, Limits(max_bytes=len(data) - 1))
    assert info.value.reason == errors.FILE_TOO_LARGE
    with pytest.raises(errors.PermanentError) as info:
        cleanse(data, Limits(max_pixels=400 * 300 - 1))
    assert info.value.reason == errors.TOO_MANY_PIXELS


def test_truncated_jpeg_is_corrupt_not_half_decoded():
    data = corpus.jpeg(corpus.photo(800, 600))
    with pytest.raises(errors.PermanentError) as info:
        cleanse(data[: len(data) // 2], LIMITS)
    assert info.value.reason == errors.CORRUPT_IMAGE


@pytest.mark.parametrize("orientation", [6, 8])
def test_exif_orientation_is_applied_and_metadata_stripped(orientation):
    out = cleanse(corpus.rotated(orientation), LIMITS)
    im = opened(out.data)
    assert im.size == (341, 512) and (out.raw.width, out.raw.height) == (600, 400)
    assert im.getpixel((170, 10))[0] > 150 and im.getpixel((170, 500))[2] > 150
    assert not im.getexif() and "exif" not in im.info


def test_longest_side_is_capped_and_never_upscaled():
    assert opened(cleanse(corpus.jpeg(corpus.photo(3000, 1000)), LIMITS).data).size == (512, 171)
    assert opened(cleanse(corpus.encode(corpus.photo(20, 10), "PNG"), LIMITS).data).size == (20, 10)


def test_jpeg_is_shrunk_while_decoding_yet_keeps_quality_headroom():
    # A 4000 px JPEG decoded at 1/2..1/8 must still be >= 1024 px before the final resize.
    out = cleanse(corpus.jpeg(corpus.photo(4000, 3000)), LIMITS)
    assert (out.width, out.height) == (512, 384) and (out.raw.width, out.raw.height) == (4000, 3000)


def test_encoding_is_deterministic():
    data = corpus.jpeg(corpus.photo(1200, 900, seed=5))
    assert cleanse(data, LIMITS).data == cleanse(data, LIMITS).data


def test_transparency_is_flattened_on_white():
    im = opened(cleanse(corpus.rgba_png(), LIMITS).data)
    assert im.mode == "RGB" and all(c > 245 for c in im.getpixel((5, 5)))
    assert im.getpixel((150, 100))[1] > 100 > im.getpixel((150, 100))[0]


def test_sixteen_bit_grey_is_scaled_not_clipped():
    im = opened(cleanse(corpus.sixteen_bit_png(), LIMITS).data)  # a top-to-bottom black-to-white gradient
    top, middle, bottom = (im.getpixel((im.width // 2, y))[0] for y in (2, im.height // 2, im.height - 3))
    assert top < 30 and 90 < middle < 170 and bottom > 225  # clipping would make nearly all of it white


def test_cmyk_with_and_without_profile_become_srgb():
    cmyk = corpus.photo(300, 200).convert("CMYK")
    assert opened(cleanse(corpus.jpeg(cmyk), LIMITS).data).mode == "RGB"
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    tagged = corpus.jpeg(corpus.photo(300, 200), icc_profile=srgb)
    out = opened(cleanse(tagged, LIMITS).data)
    assert out.mode == "RGB" and "icc_profile" not in out.info


def test_animated_gif_keeps_the_first_frame():
    im = opened(cleanse(corpus.animated_gif(), LIMITS).data)
    red, green, blue = im.getpixel((60, 40))
    assert red > 200 and green < 60 and blue < 60


def test_peak_memory_of_a_transparent_png_at_the_pixel_cap_stays_far_below_a_consumption_instance(tmp_path):
    # 64 MP of RGBA is 256 MB decoded; each full-size copy (flattening, colour conversion) adds as much.
    path = tmp_path / "big.png"
    path.write_bytes(corpus.flat_png(8000, 7990, (10, 200, 30, 128)))
    # VmHWM is the child's own high-water mark since exec; getrusage would also count the pages the
    # child shared with this (large) pytest process between fork and exec.
    script = ("import sys; from shared.imaging import cleanse; from shared.settings import Limits; "
              "cleanse(open(sys.argv[1], 'rb').read(), Limits()); "
              "print(next(l for l in open('/proc/self/status') if l.startswith('VmHWM')).split()[1])")
    out = subprocess.run([sys.executable, "-c", script, str(path)], cwd=Path(__file__).resolve().parents[2],
                         check=True, capture_output=True, text=True).stdout
    peak_mib = int(out.strip()) // 1024
    assert peak_mib < 700, f"peak RSS {peak_mib} MiB"


def test_webp_has_its_own_lower_pixel_cap():
    # Pillow cannot decode WebP at reduced scale; 24 MP keeps its full decode well under 0.5 GB.
    webp = corpus.encode(Image.new("RGB", (1000, 900), (120, 30, 200)), "WEBP")
    with pytest.raises(errors.PermanentError) as info:
        cleanse(webp, Limits(max_pixels_webp=1000 * 900 - 1))
    assert info.value.reason == errors.TOO_MANY_PIXELS
    assert cleanse(webp, Limits(max_pixels_webp=1000 * 900)).width == 512
    assert Limits().max_pixels_webp < Limits().max_pixels
