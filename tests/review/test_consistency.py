"""Message consistency: off-message channels match the simulator's truth; Chinese copy works."""

from __future__ import annotations

import pandas as pd
import pytest

from imclab.errors import DataError, ParameterError
from imclab.plan import load_plan
from imclab.review import consistency as K
from imclab.review.experiments import ReviewWarning
from imclab.simulate import load_truth


@pytest.fixture(scope="module")
def house(repo_root):
    return load_plan(repo_root / "campaigns" / "spring_launch.yaml").message_house


@pytest.fixture(scope="module")
def creatives(sample_dir):
    return pd.read_csv(sample_dir / "creatives.csv")


def test_off_message_channels_match_truth(creatives, house, sample_dir):
    result = K.message_consistency(creatives, house)
    assert result.off_message_channels == load_truth(sample_dir)["off_message_channels"]
    assert result.off_message_channels == ["affiliate"]
    assert result.warnings == []
    ch = result.channels.set_index("channel")
    assert set(ch.index) == set(creatives["channel"])
    assert ch["creatives"].sum() == len(creatives)
    # the gap is wide, not a coin toss at the threshold
    assert ch.loc["affiliate", "max_score"] < 0.5 * K.DEFAULT_THRESHOLD
    assert ch.drop("affiliate")["mean_score"].min() > 1.5 * K.DEFAULT_THRESHOLD


def test_chinese_creatives_score_on_message_against_the_chinese_core_message(creatives, house):
    sim = K.creative_similarity(creatives, house)
    zh = sim[sim["language"] == "zh"]
    assert len(zh) == 2
    assert (zh["reference_language"] == "zh").all()
    assert zh["on_message"].all()
    assert (zh["core_message"] > K.DEFAULT_THRESHOLD).all()
    # without the translation, the same copy is compared with English and looks off-message
    english_only = house.model_dump()
    english_only["translations"] = {}
    with pytest.warns(ReviewWarning, match="2 creative.*without a message-house translation"):
        no_zh = K.creative_similarity(creatives, english_only)
    assert (no_zh.loc[no_zh["language"] == "zh", "score"] < 0.05).all()


def test_similarity_columns_and_ranges(creatives, house):
    sim = K.creative_similarity(creatives, house)
    assert list(sim.columns[:5]) == [
        "creative_id", "channel", "language", "reference_language", "core_message"
    ]  # fmt: skip
    assert {"pillar_1", "pillar_2", "pillar_3", "pillar_mean", "score"} <= set(sim.columns)
    scores = sim[["core_message", "pillar_1", "pillar_2", "pillar_3", "score"]]
    assert ((scores >= 0) & (scores <= 1 + 1e-12)).all().all()
    assert (
        sim["score"]
        >= sim[["core_message", "pillar_1", "pillar_2", "pillar_3"]].max(axis=1) - 1e-12
    ).all()
    # a creative that is the core message itself scores 1
    exact = pd.DataFrame(
        {"creative_id": ["X"], "channel": ["tv"], "language": ["en"],
         "text": [house.core_message]}
    )  # fmt: skip
    assert K.creative_similarity(exact, house)["core_message"].iloc[0] == pytest.approx(1.0)


def test_threshold_moves_the_flag(creatives, house):
    strict = K.message_consistency(creatives, house, threshold=0.99)
    assert len(strict.off_message_channels) == creatives["channel"].nunique()
    lax = K.message_consistency(creatives, house, threshold=0.01)
    assert lax.off_message_channels == []
    with pytest.raises(ParameterError, match="threshold must be between 0 and 1, got 1.5"):
        K.message_consistency(creatives, house, threshold=1.5)


def test_empty_creatives_table_gives_a_warning_result(house):
    empty = pd.DataFrame(columns=["creative_id", "channel", "campaign", "language", "text"])
    with pytest.warns(ReviewWarning, match="creatives: the table is empty"):
        result = K.message_consistency(empty, house)
    assert result.creatives.empty and result.channels.empty
    assert result.off_message_channels == []
    assert result.warnings == [
        "creatives: the table is empty; message consistency cannot be scored"
    ]


def test_bad_input_names_the_fault(creatives, house):
    with pytest.raises(DataError, match="creatives: missing column.*text"):
        K.creative_similarity(creatives.drop(columns="text"), house)
    blank = creatives.copy()
    blank.loc[3, "text"] = "  "
    with pytest.raises(DataError, match="column 'text' is empty in row\\(s\\) 5 \\(1 rows\\)"):
        K.creative_similarity(blank, house)
    with pytest.raises(ParameterError, match="message_house: expected"):
        K.creative_similarity(creatives, "Clean beauty")


def test_plain_mapping_message_house(creatives):
    house = {"core_message": "Clean beauty that fits your day", "pillars": ["natural ingredients"]}
    sim = K.creative_similarity(creatives[creatives["language"] == "en"], house)
    assert "pillar_2" not in sim.columns
    assert sim.set_index("channel").loc["affiliate", "on_message"] == False  # noqa: E712
