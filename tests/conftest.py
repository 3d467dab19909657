"""Session-wide fixtures: the generated corpus is built once (the 50 MP photo takes seconds)."""

from __future__ import annotations

import pytest

from tests.corpus import corpus


@pytest.fixture(scope="session")
def full_corpus():
    return corpus(include_large=True)


@pytest.fixture(scope="session")
def small_corpus():
    return corpus(include_large=False)
