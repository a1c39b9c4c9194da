"""Worlds for the channel-integration tests: one with a planted synergy, one without."""

from __future__ import annotations

import pytest

#: The planted synergy of the synergy world (large enough to stand out of 28 pairs' noise).
PLANTED = ("paid_search", "edm")
ANALYSED = ("paid_search", "seo", "social", "edm", "display", "content", "affiliate", "tv")
INTERACTIONS = ("impression", "click", "open", "visit")
WINDOW = ("2025-03-03", "2025-05-25")  # the simulator's campaign: its truth's window


@pytest.fixture(scope="session")
def synergy_world(tmp_path_factory):
    """4,000 customers (seed 11) with paid search x EDM synergy planted (factor 12)."""
    from imclab.simulate import simulate_world

    out = tmp_path_factory.mktemp("synergy_world")
    return simulate_world(out, seed=11, n_customers=4000, synergy={PLANTED: 12.0})


@pytest.fixture(scope="session")
def plain_world(tmp_path_factory):
    """4,000 customers (seed 12), no synergy, with the integration truth written."""
    from imclab.simulate import simulate_world

    out = tmp_path_factory.mktemp("plain_world")
    return simulate_world(out, seed=12, n_customers=4000, integration_truth=True)


def exposure_of(folder, personas: bool = True):
    """The world's per-customer exposure table (true personas as strata) and its truth."""
    from imclab.data import load_world
    from imclab.integration.exposure import customer_exposure
    from imclab.simulate import load_truth

    world = load_world(folder)
    truth = load_truth(folder)
    labels = truth["personas"] if personas else None
    exposure = customer_exposure(
        world.customers, world.touchpoints, world.conversions, *WINDOW,
        channels=ANALYSED, interactions=INTERACTIONS, persona_labels=labels,
    )  # fmt: skip
    return exposure, truth
