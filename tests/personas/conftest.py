"""Fixtures of the persona tests: feature tables of the small and the sample world."""

from __future__ import annotations

import pytest


def _features(folder):
    from imclab.data.load import load_world
    from imclab.personas import derive_features

    world = load_world(folder, tables=["customers", "touchpoints", "conversions"])
    return derive_features(world.duckdb())


@pytest.fixture(scope="session")
def small_features(small_world):
    """Customer features of the 1,200-customer world (seed 7)."""
    return _features(small_world)


@pytest.fixture(scope="session")
def sample_features(sample_dir):
    """Customer features of the committed 5,000-customer sample world."""
    return _features(sample_dir)


@pytest.fixture(scope="session")
def sample_model(sample_features):
    """The default ``Personas`` fitted on the sample world (k chosen automatically)."""
    from imclab.personas import Personas

    return Personas().fit(sample_features)


@pytest.fixture(scope="session")
def seed99_features(seed99_world):
    """Customer features of the seed-99 world."""
    return _features(seed99_world)
