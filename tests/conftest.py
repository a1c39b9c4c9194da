"""Shared fixtures: the bundled sample world and a small simulated world."""

from __future__ import annotations

from pathlib import Path

import matplotlib
import pytest

matplotlib.use("Agg")

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def repo_root() -> Path:
    """The repository root."""
    return REPO


@pytest.fixture(scope="session")
def sample_dir() -> Path:
    """The committed sample world (5,000 customers, seed 20250301)."""
    return REPO / "data" / "sample"


@pytest.fixture(scope="session")
def small_world(tmp_path_factory) -> Path:
    """A small simulated world (1,200 customers in 3 chunks, seed 7) with ground truth."""
    from imclab.simulate import simulate_world

    return simulate_world(
        tmp_path_factory.mktemp("small_world"), seed=7, n_customers=1200, chunk_size=500
    )
