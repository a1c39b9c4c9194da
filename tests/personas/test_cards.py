"""Tests of the persona cards, names and target-persona matching."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from imclab.errors import DataError, PlanError
from imclab.personas.cards import (
    match_target_personas,
    persona_cards,
    persona_labels,
    persona_name,
    persona_profiles,
    trait_mask,
)


@pytest.fixture
def toy():
    """Four customers in two personas with round numbers."""
    features = pd.DataFrame(
        {
            "customer_id": ["A", "B", "C", "D"],
            "age": [20.0, 22.0, 50.0, 52.0],
            "discount_usage_rate": [0.8, 0.6, 0.1, 0.1],
            "device": ["mobile", "mobile", "desktop", "tablet"],
            "city_tier": ["tier1", "tier1", "tier3", "tier2"],
            "share_social": [0.6, 0.4, 0.1, 0.1],
            "share_tv": [0.1, 0.1, 0.5, 0.7],
            "frequency": [1, 0, 2, 1],
            "monetary": [40.0, 0.0, 300.0, 60.0],
        }
    )
    return features, np.array([0, 0, 1, 1])


def test_profiles_are_standardised_differences(toy):
    features, labels = toy
    z = persona_profiles(features, labels)
    sd = features["age"].std(ddof=0)
    assert z.loc[0, "age"] == pytest.approx((21.0 - 36.0) / sd)
    assert z.loc[0, "age"] == pytest.approx(-z.loc[1, "age"])
    # categorical level: share of mobile is 1.0 in persona 0 vs 0.5 overall, sd 0.5
    assert z.loc[0, "device=mobile"] == pytest.approx(1.0)
    assert "customer_id" not in z.columns


def test_cards_add_up(toy):
    features, labels = toy
    cards = persona_cards(features, labels)
    assert cards["customers"].tolist() == [2, 2]
    assert cards["share"].sum() == pytest.approx(1.0)
    assert cards["value_share"].sum() == pytest.approx(1.0)
    assert cards.loc[1, "aov"] == pytest.approx(360.0 / 3)
    assert cards.loc[0, "conversion_rate"] == pytest.approx(0.5)
    assert cards.loc[0, "preferred_channels"].startswith("social")
    assert cards.loc[1, "preferred_channels"].startswith("tv")
    assert cards.loc[0, "name"] == "young urban mobile-first deal seekers"


def test_name_from_traits():
    z = pd.Series({"age": 1.5, "city_tier=tier3": 1.1, "device=tablet": 0.8, "share_tv": 2.0})
    assert persona_name(z) == "older small-town tablet TV viewers"
    assert persona_name(pd.Series({"age": 0.1})) == "shoppers"
    z = pd.Series({"income_band=high": 1.2, "device=desktop": 0.9, "share_edm": 1.5})
    assert persona_name(z) == "desktop professionals"  # who they are beats the channel


def test_duplicate_names_are_made_unique():
    features = pd.DataFrame({"age": [30.0, 31.0, 30.0, 31.0], "frequency": 0, "monetary": 0.0})
    names = persona_labels(features, [0, 0, 1, 1])
    assert names == {0: "shoppers", 1: "shoppers (2)"}


def test_trait_masks():
    f = pd.DataFrame(
        {"age": [18, 29, 30, 45, 70, 50], "device": ["mobile", "desktop", "mobile", "tablet",
                                                   "mobile", "desktop"],
         "discount_usage_rate": [0.1, 0.2, 0.3, 0.4, 0.5, 0.6],
         "loyalty_member": [1.0, 0.0, 1.0, 0.0, 1.0, 0.0]}
    )  # fmt: skip
    assert trait_mask(f, "age", "18-29").tolist() == [True, True, False, False, False, False]
    assert trait_mask(f, "age", "45+").tolist() == [False, False, False, True, True, True]
    assert trait_mask(f, "device", "Mobile").sum() == 3
    assert trait_mask(f, "discount_usage_rate", "high").tolist() == [False] * 4 + [True] * 2
    assert trait_mask(f, "loyalty_member", "true").sum() == 3
    with pytest.raises(PlanError, match="'hobby' is not a customer feature"):
        trait_mask(f, "hobby", "golf")
    with pytest.raises(PlanError, match="not a range, a number or a level"):
        trait_mask(f, "age", "young")


def test_match_target_personas(toy):
    features, labels = toy
    targets = [
        {"name": "young deal seekers", "traits": {"age": "18-29", "device": "mobile"}},
        {"name": "older viewers", "traits": {"age": "45+"}},
    ]
    match = match_target_personas(targets, features, labels)
    best = match[match["best"]].set_index("target")
    assert best.loc["young deal seekers", "persona"] == 0
    assert best.loc["young deal seekers", "score"] == pytest.approx(1.0)
    assert best.loc["young deal seekers", "lift"] == pytest.approx(2.0)
    assert best.loc["older viewers", "persona"] == 1
    assert match.groupby("target")["best"].sum().eq(1).all()


def test_plan_targets_match_the_sample_personas(sample_model, sample_features):
    from imclab.plan import load_plan

    plan = load_plan("campaigns/spring_launch.yaml")
    names = persona_labels(sample_features, sample_model.labels_)
    match = match_target_personas(plan.target_personas, sample_features, sample_model.labels_)
    best = match[match["best"]].set_index("target")
    young = best.loc["young urban deal seekers"]
    assert names[young["persona"]] == "young urban mobile-first deal seekers"
    assert young["score"] > 0.75
    assert "professionals" in best.loc["busy professionals", "name"]


def test_label_count_mismatch_is_an_error(toy):
    features, _ = toy
    with pytest.raises(DataError, match="3 labels for 4 customers"):
        persona_profiles(features, [0, 1, 0])
