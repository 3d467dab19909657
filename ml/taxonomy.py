"""ImageNet labels -> product categories, as data a merchandiser can edit (``ml/taxonomy.json``).

The category is decided on probability mass, not on the top-1 label alone: a
shoe photo split 0.40 running shoe / 0.25 sandal / 0.15 clog is 0.80 footwear,
which is both the right answer and a confident one. Loading validates the
file so a typo in a label fails at start-up instead of silently sending that
label to ``other``.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ML_DIR = Path(__file__).resolve().parent
CLASSES_PATH = ML_DIR / "imagenet_classes.json"
TAXONOMY_PATH = Path(os.environ.get("IMGPIPE_TAXONOMY") or ML_DIR / "taxonomy.json")


def load_labels(path: Path = CLASSES_PATH) -> list[str]:
    """The 1000 class labels in model-output order: the first WordNet synonym of each class."""
    names = json.loads(path.read_text(encoding="utf-8"))
    if len(names) != 1000:
        raise ValueError(f"{path} has {len(names)} classes, expected 1000")
    return [name.split(",")[0].strip() for name in names]


@dataclass(frozen=True)
class Taxonomy:
    categories: tuple[str, ...]  # the default category comes last
    matrix: np.ndarray  # (1000, len(categories)) one-hot: class index -> category

    @classmethod
    def load(cls, labels: list[str], path: Path = TAXONOMY_PATH) -> Taxonomy:
        doc = json.loads(Path(path).read_text(encoding="utf-8"))
        default = doc.get("default", "other")
        names = [c for c in doc["categories"] if c != default] + [default]
        matrix = np.zeros((len(labels), len(names)), dtype=np.float32)
        matrix[:, -1] = 1.0
        index = {label: [i for i, x in enumerate(labels) if x == label] for label in set(labels)}
        for column, category in enumerate(names[:-1]):
            for label in doc["categories"][category]:
                if label not in index:
                    raise ValueError(f"{path}: category {category!r} names unknown label {label!r}")
                rows = index[label]
                if matrix[rows, :-1].any():
                    raise ValueError(f"{path}: label {label!r} is in more than one category")
                matrix[rows, -1], matrix[rows, column] = 0.0, 1.0
        return cls(tuple(names), matrix)

    def categorize(self, probabilities: np.ndarray) -> list[tuple[str, float]]:
        """(N, 1000) probabilities -> per image the category with the most mass, and that mass."""
        mass = probabilities @ self.matrix
        best = mass.argmax(axis=1)
        return [(self.categories[b], float(mass[i, b])) for i, b in enumerate(best)]
