"""Structural similarity (Wang et al. 2004) in numpy, as scikit-image computes it by default.

A 7x7 uniform window, K1 = 0.01, K2 = 0.03, data range 255, sample covariance,
the mean over the valid interior and over the RGB channels: the figures match
``skimage.metrics.structural_similarity(a, b, channel_axis=2)`` without pulling
scikit-image and scipy into the benchmark environment.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

WINDOW = 7


def _box_mean(x: np.ndarray) -> np.ndarray:
    """Mean over every WINDOW x WINDOW patch (valid positions only), by summed-area tables."""
    s = np.pad(x, ((1, 0), (1, 0))).cumsum(0).cumsum(1)
    w = WINDOW
    return (s[w:, w:] - s[:-w, w:] - s[w:, :-w] + s[:-w, :-w]) / (w * w)


def _channel(a: np.ndarray, b: np.ndarray) -> float:
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    norm = WINDOW * WINDOW / (WINDOW * WINDOW - 1)
    ma, mb = _box_mean(a), _box_mean(b)
    va = norm * (_box_mean(a * a) - ma * ma)
    vb = norm * (_box_mean(b * b) - mb * mb)
    cov = norm * (_box_mean(a * b) - ma * mb)
    ssim = ((2 * ma * mb + c1) * (2 * cov + c2)) / ((ma * ma + mb * mb + c1) * (va + vb + c2))
    return float(ssim.mean())


def ssim(a: Image.Image, b: Image.Image) -> float:
    """SSIM of two same-size images (RGB channels averaged); 1.0 for identical ones or ones too small to window."""
    if a.size != b.size:
        raise ValueError(f"sizes differ: {a.size} vs {b.size}")
    x = np.asarray(a.convert("RGB"), dtype=np.float64)
    y = np.asarray(b.convert("RGB"), dtype=np.float64)
    if min(a.size) < WINDOW or np.array_equal(x, y):
        return 1.0
    return float(np.mean([_channel(x[..., c], y[..., c]) for c in range(3)]))
