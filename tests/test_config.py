"""Tests for imclab.config: vocabularies agree with the data dictionary; the KPI catalogue."""

from __future__ import annotations

import dataclasses
import re

import pytest

from imclab import config
from imclab.config import (
    CHANNEL_LABELS,
    CHANNELS,
    FUNNEL_STAGES,
    JOURNEY_STAGES,
    KPI,
    KPI_TIERS,
    KPIS,
    PAID_CHANNELS,
    PERSONA_TRAITS,
    STAGES,
    UnknownKPIError,
    closest_match_hint,
    get_kpi,
)
from imclab.errors import ParameterError

REQUIRED_KPIS = {
    "brand": ["awareness", "consideration", "preference", "purchase_intent", "nps"],
    "engagement": ["traffic", "ctr", "open_rate", "engagement_rate"],
    "conversion": ["leads", "conversions", "conversion_rate", "cac", "cpa"],
    "value": ["revenue", "aov", "roi", "roas", "retention_rate", "clv"],
}


@pytest.fixture(scope="module")
def dictionary(repo_root) -> dict[str, dict[str, str]]:
    """Tables and columns of data/README.md: {table: {column: rules}}."""
    text = (repo_root / "data" / "README.md").read_text(encoding="utf-8")
    tables: dict[str, dict[str, str]] = {}
    current = None
    for line in text.splitlines():
        heading = re.match(r"## (\w+)\.csv", line)
        if heading:
            current = tables.setdefault(heading.group(1), {})
        elif line.startswith("## "):
            current = None
        elif current is not None and line.startswith("| ") and not line.startswith("| column"):
            cells = [c.strip() for c in line.strip("|").split("|")]
            if cells[0] and not set(cells[0]) <= {"-"}:
                current[cells[0]] = cells[2]
    return tables


def test_paths_point_into_the_repository(repo_root):
    assert config.REPO_ROOT == repo_root
    assert config.PACKAGE_DIR == repo_root / "imclab"
    assert config.SAMPLE_DATA_DIR == repo_root / "data" / "sample"
    assert config.NOTEBOOKS_DIR == repo_root / "notebooks"
    assert config.REPORTS_DIR == repo_root / "reports"
    assert (config.CAMPAIGNS_DIR / f"{config.DEFAULT_CAMPAIGN}.yaml").is_file()


def test_channels_match_the_data_dictionary(repo_root):
    assert CHANNELS == (
        "paid_search",
        "seo",
        "social",
        "edm",
        "display",
        "content",
        "affiliate",
        "tv",
        "direct",
    )
    text = (repo_root / "data" / "README.md").read_text(encoding="utf-8")
    paid_line = next(line for line in text.splitlines() if line.startswith("Paid channels"))
    assert tuple(re.findall(r"`(\w+)`", paid_line)) == PAID_CHANNELS
    assert set(PAID_CHANNELS) < set(CHANNELS)
    assert list(CHANNEL_LABELS) == list(CHANNELS)
    assert CHANNEL_LABELS["edm"] == "EDM (email)"
    assert CHANNEL_LABELS["tv"] == "TV / offline"


def test_interactions_and_regions_match_the_data_dictionary(dictionary):
    rules = dictionary["touchpoints"]["interaction"]
    assert tuple(re.findall(r"`(\w+)`", rules)) == config.INTERACTIONS
    assert tuple(re.findall(r"`(\w+)`", dictionary["customers"]["region"])) == config.REGIONS


def test_funnel_and_journey_stages_are_distinct_and_ordered():
    assert FUNNEL_STAGES == (
        "awareness",
        "consideration",
        "preference",
        "purchase_intent",
        "loyalty",
    )
    assert JOURNEY_STAGES == ("exposed", "engaged", "visited", "converted", "repeat")
    assert STAGES == FUNNEL_STAGES + JOURNEY_STAGES
    assert not set(FUNNEL_STAGES) & set(JOURNEY_STAGES)


def test_persona_traits_are_customer_columns_with_their_values(dictionary):
    customers = dictionary["customers"]
    for trait, allowed in PERSONA_TRAITS.items():
        assert trait in customers, trait
        if allowed is not None:
            assert set(allowed) == set(re.findall(r"`(\w+)`", customers[trait])), trait
    assert "customer_id" not in PERSONA_TRAITS


def test_catalogue_has_every_required_kpi_in_its_tier():
    for tier, names in REQUIRED_KPIS.items():
        for name in names:
            assert KPIS[name].tier == tier, name
    assert {kpi.tier for kpi in KPIS.values()} == set(KPI_TIERS)
    assert all(name == kpi.name for name, kpi in KPIS.items())


def test_every_kpi_requires_documented_columns(dictionary):
    for kpi in KPIS.values():
        assert kpi.requires, kpi.name
        for item in kpi.requires:
            table, column = item.split(".")
            assert column in dictionary[table], f"{kpi.name}: {item} not in data/README.md"


def test_brand_kpis_come_from_the_survey_and_costs_are_lower_is_better():
    assert {KPIS[n].tables for n in REQUIRED_KPIS["brand"]} == {("survey",)}
    lower = {name for name, kpi in KPIS.items() if kpi.direction == "lower"}
    assert lower == {"cac", "cpa"}
    assert KPIS["roi"].formula.startswith("(revenue - ")
    assert "spend.spend" in KPIS["roas"].requires
    assert KPIS["awareness"].unit == "share"
    assert KPIS["nps"].unit == "score"
    assert KPIS["roas"].unit == "ratio"


def test_kpi_better_follows_direction():
    assert KPIS["roas"].better(3.1, 3.0)
    assert not KPIS["roas"].better(2.9, 3.0)
    assert KPIS["cac"].better(29.0, 30.0)
    assert not KPIS["cac"].better(31.0, 30.0)
    assert KPIS["cac"].better(30.0, 30.0)


def test_kpi_definitions_are_frozen_and_checked():
    with pytest.raises(dataclasses.FrozenInstanceError):
        KPIS["roas"].direction = "lower"  # type: ignore[misc]
    with pytest.raises(ValueError, match="tier 'sales' is not one of brand, engagement"):
        KPI("x", "X", "sales", "ratio", "higher", "converted", "d", "f", ("spend.spend",))
    with pytest.raises(ValueError, match="funnel_stage 'buy'"):
        KPI("x", "X", "value", "ratio", "higher", "buy", "d", "f", ("spend.spend",))


def test_get_kpi_returns_the_definition():
    assert get_kpi("roas") is KPIS["roas"]


def test_get_kpi_suggests_the_closest_name():
    with pytest.raises(UnknownKPIError) as info:
        get_kpi("roass")
    message = str(info.value)
    assert message.startswith("unknown KPI 'roass' (did you mean 'roas'?)")
    assert "valid KPIs: awareness, consideration" in message
    assert isinstance(info.value, ParameterError)
    assert isinstance(info.value, KeyError)


def test_get_kpi_without_a_close_match_lists_the_names():
    with pytest.raises(KeyError) as info:
        get_kpi("zzzzzz")
    assert "did you mean" not in str(info.value)
    assert "clv" in str(info.value)


def test_closest_match_hint():
    assert closest_match_hint("socal", CHANNELS) == " (did you mean 'social'?)"
    assert closest_match_hint("qqq", CHANNELS) == ""


def test_campaigns_readme_documents_every_kpi(repo_root):
    text = (repo_root / "campaigns" / "README.md").read_text(encoding="utf-8")
    rows = re.findall(r"^\| `(\w+)` \| ([^|]+) \| (\w+) \| (\w+) \| (\w+) \|", text, re.M)
    documented = {
        name: (label.strip(), tier, unit, direction) for name, label, tier, unit, direction in rows
    }
    assert list(documented) == list(KPIS)
    for name, kpi in KPIS.items():
        assert documented[name] == (kpi.label, kpi.tier, kpi.unit, kpi.direction), name
    assert f"{config.POST_CAMPAIGN_WINDOW_DAYS} days after the campaign" in text


def test_project_dir_is_the_plans_project_or_the_current_folder(tmp_path, monkeypatch):
    (tmp_path / "campaigns").mkdir()
    plan = tmp_path / "campaigns" / "x.yaml"
    assert config.project_dir(plan) == tmp_path.resolve()
    elsewhere = tmp_path / "loose" / "x.yaml"
    monkeypatch.chdir(tmp_path / "campaigns")
    assert config.project_dir(elsewhere) == tmp_path.resolve()  # nearest with campaigns/
    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.chdir(empty)
    assert config.project_dir() in (empty.resolve(), *empty.resolve().parents)
