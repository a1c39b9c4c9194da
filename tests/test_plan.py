"""Tests for imclab.plan: the bundled plan, every validation rule, and hostile YAML."""

from __future__ import annotations

import copy
import datetime as dt
import math
import time

import pytest
import yaml

from imclab.errors import ParameterError, PlanError
from imclab.plan import (
    MAX_PLAN_BYTES,
    CampaignPlan,
    PlanValidationError,
    format_yaml_path,
    load_plan,
    parse_plan,
    plan_path,
)


@pytest.fixture(scope="module")
def bundled_path(repo_root):
    return repo_root / "campaigns" / "spring_launch.yaml"


@pytest.fixture(scope="module")
def bundled(bundled_path) -> CampaignPlan:
    return load_plan(bundled_path)


@pytest.fixture(scope="module")
def raw(bundled_path) -> dict:
    """The bundled plan as yaml.safe_load reads it (dates as datetime.date)."""
    return yaml.safe_load(bundled_path.read_text(encoding="utf-8"))


@pytest.fixture
def data(raw) -> dict:
    return copy.deepcopy(raw)


def faults_of(data: dict, source: str = "campaigns/x.yaml") -> PlanValidationError:
    with pytest.raises(PlanValidationError) as info:
        parse_plan(data, source)
    return info.value


# --------------------------------------------------------------------------------------
# The bundled plan
# --------------------------------------------------------------------------------------
def test_bundled_plan_loads_with_its_facts(bundled):
    assert bundled.name == "spring_launch"
    assert bundled.brands == ("Lumina", "Brightly", "Norvo", "Castell")
    assert (bundled.start, bundled.end) == (dt.date(2025, 3, 3), dt.date(2025, 5, 25))
    assert bundled.days == 84
    assert [p.name for p in bundled.phases] == ["teaser", "launch", "sustain"]
    assert sum(p.days for p in bundled.phases) == bundled.days
    assert bundled.budget.total == 60000
    assert bundled.paid_channels == ("paid_search", "social", "edm", "display", "affiliate", "tv")
    assert "direct" not in bundled.channels and "seo" in bundled.channels
    assert bundled.holdout_regions == ["west"]
    assert bundled.engine == "duckdb"
    assert bundled.measurement_end == dt.date(2025, 7, 24)


def test_bundled_phase_budgets_add_up(bundled):
    frame = bundled.budget_frame()
    by_channel = frame.groupby("channel")["budget"].sum().to_dict()
    assert by_channel == bundled.budget.by_channel
    assert frame["budget"].sum() == bundled.budget.total
    phases = bundled.phases_frame()
    assert list(phases["budget"]) == [15000.0, 31000.0, 14000.0]
    assert list(phases["days"]) == [21, 35, 28]


def test_bundled_objectives(bundled):
    objectives = bundled.objectives_frame()
    assert list(objectives["id"]) == [
        "awareness_lift",
        "campaign_revenue",
        "new_customers",
        "roas_3_5x",
        "edm_open_rate",
    ]
    assert objectives.set_index("kpi").loc["leads", "direction"] == "higher"
    awareness = bundled.objective("awareness_lift")
    assert (awareness.baseline, awareness.target) == (0.30, 0.38)
    assert awareness.persona == "young urban deal seekers"
    assert bundled.objective("edm_open_rate").channel == "edm"
    assert bundled.objective("roas_3_5x").target == 3.5


def test_bundled_translation_is_intact(bundled):
    zh = bundled.message_house.translations["zh"]
    assert zh.core_message == "纯净美妆,融入你的每一天"
    assert zh.pillars[1] == "皮肤科医生测试适合敏感肌"
    assert len(zh.pillars) == len(bundled.message_house.pillars)


def test_load_plan_by_campaign_name(bundled, bundled_path):
    assert plan_path("spring_launch") == bundled_path
    assert load_plan("spring_launch") == bundled


@pytest.mark.parametrize(
    ("day", "phase"),
    [
        ("2025-03-03", "teaser"),
        ("2025-03-23", "teaser"),
        ("2025-03-24", "launch"),
        (dt.datetime(2025, 4, 27, 23, 59), "launch"),
        (dt.date(2025, 4, 28), "sustain"),
        ("2025-05-25", "sustain"),
        ("2025-03-02", None),
        ("2025-05-26", None),
    ],
)
def test_phase_of_includes_both_ends(bundled, day, phase):
    found = bundled.phase_of(day)
    assert (found.name if found else None) == phase
    assert bundled.in_campaign(day) == (phase is not None)


def test_lookups_suggest_the_closest_name(bundled):
    assert bundled.phase("launch").start == dt.date(2025, 3, 24)
    assert bundled.persona("busy professionals").traits["device"] == "desktop"
    with pytest.raises(ParameterError, match=r"no objective 'roas_35x' .*did you mean 'roas_3_5x'"):
        bundled.objective("roas_35x")
    with pytest.raises(ParameterError, match=r"did you mean 'teaser'"):
        bundled.phase("teasr")


CAC_OBJECTIVE = {
    "id": "cac_down",
    "kpi": "cac",
    "description": "Bring the cost of acquiring a new customer down from EUR 38 to EUR 30",
    "baseline": 38,
    "target": 30,
    "deadline": "2025-05-25",
    "funnel_stage": "converted",
}


def test_objective_achieved_and_progress(bundled, data):
    data["objectives"].append(dict(CAC_OBJECTIVE))
    cac = parse_plan(data).objective("cac_down")  # 38 -> 30, lower is better
    assert cac.achieved(29.5) and cac.achieved(30.0) and not cac.achieved(31.0)
    assert cac.progress(34.0) == pytest.approx(0.5)
    roas = bundled.objective("roas_3_5x")  # 2.8 -> 3.5
    assert roas.achieved(3.6) and not roas.achieved(3.4)
    assert roas.progress(3.15) == pytest.approx(0.5)


def test_lower_is_better_target_worse_than_baseline(data):
    data["objectives"].append(dict(CAC_OBJECTIVE, target=45))
    error = str(faults_of(data))
    assert "objectives[5].target: 45 is worse than the baseline 38 for cac (lower is better)" in (
        error
    )


def test_plan_is_immutable(bundled):
    with pytest.raises(Exception, match="frozen"):
        bundled.name = "other"


def test_funnel_stage_defaults_to_the_kpi_stage(data):
    del data["objectives"][3]["funnel_stage"]
    del data["objectives"][4]["funnel_stage"]
    plan = parse_plan(data)
    assert plan.objectives[3].funnel_stage == "converted"
    assert plan.objectives[4].funnel_stage == "engaged"


def test_text_is_kept_verbatim(data, tmp_path):
    title = '春季新品 <script>alert("x")</script> & "Lumina" {brand}'
    data["title"] = title
    data["target_personas"][0]["description"] = "<b>年轻</b> & deal-seekers"
    plan = parse_plan(data)
    assert plan.title == title
    assert plan.target_personas[0].description == "<b>年轻</b> & deal-seekers"
    path = tmp_path / "plan.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    assert load_plan(path).title == title


# --------------------------------------------------------------------------------------
# Validation: every fault names its YAML path and the value found
# --------------------------------------------------------------------------------------
def _set(path, value):
    def mutate(d):
        *parents, last = path
        for key in parents:
            d = d[key]
        d[last] = value

    return mutate


INVALID = [
    (
        "unknown top-level key",
        _set(("budgett",), 1),
        "budgett",
        ["unknown key 'budgett'", "did you mean 'budget'?", "valid keys here: name, title"],
    ),
    (
        "unknown nested key",
        _set(("phases", 1, "chanels"), ["social"]),
        "phases[1].chanels",
        ["unknown key 'chanels'", "did you mean 'channels'?"],
    ),
    (
        "unknown channel in a phase",
        lambda d: d["phases"][0]["channels"].append("socal"),
        "phases[0].channels[4]",
        ["'socal' is not a channel", "did you mean 'social'?"],
    ),
    (
        "unknown channel as a budget key",
        lambda d: d["budget"]["by_channel"].update(tv_ads=0),
        "budget.by_channel.tv_ads",
        ["'tv_ads' is not a channel"],
    ),
    (
        "unknown channel in channel_groups",
        _set(("channel_groups",), {"dispaly": "media"}),
        "channel_groups.dispaly",
        ["did you mean 'display'?"],
    ),
    (
        "phase budget for a channel not in the phase",
        lambda d: d["phases"][0]["budget"].update(paid_search=500),
        "phases[0].budget.paid_search",
        ["'paid_search' has a budget but is not one of this phase's channels"],
    ),
    (
        "phase budget for an unpaid channel",
        lambda d: d["phases"][0]["budget"].update(content=500),
        "phases[0].budget.content",
        ["'content' is not a paid channel"],
    ),
    (
        "channel budgets do not sum to the total",
        _set(("budget", "total"), 61000),
        "budget.by_channel",
        ["sum to 60,000", "budget.total is 61,000", "difference -1,000"],
    ),
    (
        "phase budgets do not sum to the channel budget",
        _set(("phases", 1, "budget", "tv"), 9000),
        "budget.by_channel.tv",
        ["budgeted 18,000", "sum to 17,000", "difference -1,000"],
    ),
    (
        "negative amount",
        _set(("phases", 2, "budget", "edm"), -1000),
        "phases[2].budget.edm",
        ["-1000 is negative"],
    ),
    (
        "amount that is not a number",
        _set(("budget", "total"), "60k"),
        "budget.total",
        ["'60k' is not a number"],
    ),
    (
        "phase after the campaign end",
        _set(("phases", 2, "end"), "2025-06-01"),
        "phases[2].end",
        ["2025-06-01 is after the campaign end 2025-05-25"],
    ),
    (
        "phase before the campaign start",
        _set(("phases", 0, "start"), "2025-03-01"),
        "phases[0].start",
        ["2025-03-01 is before the campaign start 2025-03-03"],
    ),
    (
        "overlapping phases",
        _set(("phases", 1, "start"), "2025-03-20"),
        "phases[1].start",
        ["2025-03-20 overlaps phase 'teaser' (2025-03-03..2025-03-23)"],
    ),
    (
        "phase start after its end",
        _set(("phases", 1, "end"), "2025-03-01"),
        "phases[1].start",
        ["2025-03-24 is after the phase end 2025-03-01"],
    ),
    (
        "campaign start after end",
        _set(("start",), "2025-06-01"),
        "start",
        ["2025-06-01 is after the campaign end 2025-05-25"],
    ),
    (
        "deadline long after the campaign",
        _set(("objectives", 2, "deadline"), "2025-09-01"),
        "objectives[2].deadline",
        ["2025-09-01 is after the campaign end 2025-05-25", "60-day", "latest 2025-07-24"],
    ),
    (
        "deadline before the campaign",
        _set(("objectives", 2, "deadline"), "2025-02-01"),
        "objectives[2].deadline",
        ["2025-02-01 is before the campaign start 2025-03-03"],
    ),
    (
        "impossible date",
        _set(("objectives", 0, "deadline"), "2025-06-31"),
        "objectives[0].deadline",
        ["'2025-06-31' is not a valid date"],
    ),
    (
        "date that is not ISO",
        _set(("end",), "25/05/2025"),
        "end",
        ["'25/05/2025' is not an ISO date (expected YYYY-MM-DD)"],
    ),
    (
        "unknown KPI",
        _set(("objectives", 3, "kpi"), "roass"),
        "objectives[3].kpi",
        ["'roass' is not a KPI", "did you mean 'roas'?"],
    ),
    (
        "objective persona not among the target personas",
        _set(("objectives", 0, "persona"), "young urban deal seeker"),
        "objectives[0].persona",
        ["'young urban deal seeker' is not one of target_personas", "did you mean"],
    ),
    (
        "unknown funnel stage",
        _set(("objectives", 0, "funnel_stage"), "awarenes"),
        "objectives[0].funnel_stage",
        ["'awarenes' is not a funnel or journey stage", "did you mean 'awareness'?"],
    ),
    (
        "duplicate objective id",
        _set(("objectives", 4, "id"), "roas_3_5x"),
        "objectives[4].id",
        ["'roas_3_5x' is used twice"],
    ),
    (
        "duplicate phase name",
        _set(("phases", 2, "name"), "teaser"),
        "phases[2].name",
        ["'teaser' is used twice"],
    ),
    (
        "name with a parent folder",
        _set(("name",), "../spring"),
        "name",
        ["'../spring' is not a safe name"],
    ),
    (
        "name with a backslash",
        _set(("name",), "spring\\launch"),
        "name",
        ["is not a safe name", "no '/', '\\', '..'"],
    ),
    (
        "share written as a percentage",
        _set(("objectives", 0, "target"), 38),
        "objectives[0].target",
        ["38 is outside 0..1 for awareness", "0.38, not 38"],
    ),
    (
        "target worse than the baseline",
        _set(("objectives", 2, "target"), 1000),
        "objectives[2].target",
        ["1000 is worse than the baseline 1170 for leads (higher is better)"],
    ),
    (
        "objective channel not in the campaign",
        _set(("objectives", 4, "channel"), "direct"),
        "objectives[4].channel",
        ["'direct' is not used in any phase"],
    ),
    (
        "unknown persona trait",
        _set(("target_personas", 1, "traits", "incomeband"), "high"),
        "target_personas[1].traits.incomeband",
        ["'incomeband' is not a customer trait", "did you mean 'income_band'?"],
    ),
    (
        "unknown trait value",
        _set(("target_personas", 1, "traits", "device"), "phone"),
        "target_personas[1].traits.device",
        ["'phone' is not a value of device", "mobile, desktop, tablet"],
    ),
    (
        "unknown holdout region",
        _set(("holdout_regions",), ["wset"]),
        "holdout_regions[0]",
        ["'wset' is not a region", "did you mean 'west'?"],
    ),
    (
        "unknown engine",
        _set(("engine",), "pandas"),
        "engine",
        ["'duckdb' or 'spark'", "found 'pandas'"],
    ),
    (
        "missing required key",
        lambda d: d["phases"][0].pop("end"),
        "phases[0].end",
        ["required key is missing"],
    ),
    (
        "translation with a different number of pillars",
        _set(("message_house", "translations", "zh", "pillars"), ["天然成分"]),
        "message_house.translations.zh.pillars",
        ["1 pillars but message_house.pillars has 3"],
    ),
    (
        "brand among its competitors",
        lambda d: d["competitors"].append("Lumina"),
        "competitors[3]",
        ["'Lumina' is our own brand"],
    ),
]


@pytest.mark.parametrize(
    ("mutate", "path", "fragments"),
    [case[1:] for case in INVALID],
    ids=[case[0] for case in INVALID],
)
def test_invalid_plan_names_path_and_value(data, mutate, path, fragments):
    mutate(data)
    error = faults_of(data)
    assert isinstance(error, PlanError)
    paths = [p for p, _ in error.faults]
    assert path in paths, str(error)
    line = next(
        line for line in str(error).splitlines() if line.startswith(f"campaigns/x.yaml: {path}: ")
    )
    for fragment in fragments:
        assert fragment in line, line
    assert str(error).startswith("campaigns/x.yaml: ")


def test_every_fault_is_reported_at_once(data):
    data["typo"] = 1  # unknown key
    data["phases"][0]["channels"].append("socal")  # field error
    data["phases"][1]["budget"]["tv"] = -5  # field error
    data["currency"] = "eur"
    error = faults_of(data)
    paths = [p for p, _ in error.faults]
    assert set(paths) == {"typo", "phases[0].channels[4]", "phases[1].budget.tv", "currency"}
    assert len(str(error).splitlines()) == 4


def test_every_cross_field_fault_is_reported_at_once(data):
    data["phases"][1]["budget"]["tv"] = 9000
    data["phases"][1]["budget"]["social"] = 6000
    data["objectives"][0]["deadline"] = "2025-12-01"
    data["objectives"][1]["persona"] = "nobody"
    data["phases"][2]["name"] = "launch"
    error = faults_of(data)
    assert [p for p, _ in error.faults] == [
        "objectives[0].deadline",
        "budget.by_channel.social",
        "budget.by_channel.tv",
        "objectives[1].persona",
        "phases[2].name",
    ]


def test_plan_must_be_a_mapping():
    with pytest.raises(PlanValidationError, match=r"^<string>: a plan must be a YAML mapping"):
        parse_plan(["not", "a", "plan"])  # type: ignore[arg-type]


def test_format_yaml_path():
    assert format_yaml_path(("objectives", 2, "deadline")) == "objectives[2].deadline"
    assert (
        format_yaml_path(("budget", "by_channel", "tv_ads", "[key]")) == "budget.by_channel.tv_ads"
    )
    assert format_yaml_path(("traits", "age group")) == "traits['age group']"
    assert format_yaml_path(()) == ""


# --------------------------------------------------------------------------------------
# Files and hostile YAML
# --------------------------------------------------------------------------------------
def test_file_errors_carry_the_path_and_line(tmp_path, bundled_path):
    text = bundled_path.read_text(encoding="utf-8")
    bad = text.replace("deadline: 2025-06-15", "deadline: 2025-09-01")
    path = tmp_path / "late.yaml"
    path.write_text(bad, encoding="utf-8")
    line = 1 + bad.splitlines().index("    deadline: 2025-09-01")
    with pytest.raises(PlanValidationError) as info:
        load_plan(path)
    assert str(info.value) == (
        f"{path}: objectives[0].deadline: 2025-09-01 is after the campaign end 2025-05-25 plus "
        f"the 60-day measurement window (latest 2025-07-24) (line {line})"
    )


def test_invalid_calendar_date_in_yaml_gets_a_path(tmp_path, bundled_path):
    # yaml.safe_load itself would crash on 2025-02-30; the plan loader reports it with a path.
    text = bundled_path.read_text(encoding="utf-8").replace("end: 2025-05-25", "end: 2025-02-30")
    path = tmp_path / "plan.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(PlanValidationError, match=r"end: '2025-02-30' is not a valid date"):
        load_plan(path)


def test_duplicate_yaml_keys_are_reported(tmp_path, bundled_path):
    text = bundled_path.read_text(encoding="utf-8")
    path = tmp_path / "dup.yaml"
    path.write_text(text.replace("currency: EUR", "currency: EUR\ncurrency: USD"), encoding="utf-8")
    with pytest.raises(PlanValidationError, match=r"currency: key 'currency' appears twice"):
        load_plan(path)


def test_billion_laughs_is_refused_quickly(tmp_path):
    lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for i in range(1, 10):
        refs = ", ".join([f"*a{i - 1}"] * 9)
        lines.append(f"a{i}: &a{i} [{refs}]")
    path = tmp_path / "laughs.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    started = time.perf_counter()
    with pytest.raises(PlanError, match=r"laughs.yaml: refused: aliases expand the document"):
        load_plan(path)
    assert time.perf_counter() - started < 5


def test_recursive_alias_is_refused(tmp_path):
    path = tmp_path / "loop.yaml"
    path.write_text("a: &a [1, *a]\n", encoding="utf-8")
    with pytest.raises(PlanError, match=r"loop.yaml: a\[1\]: recursive alias"):
        load_plan(path)


def test_python_tags_are_refused(tmp_path):
    path = tmp_path / "evil.yaml"
    path.write_text('name: !!python/object/apply:os.system ["echo hacked"]\n', encoding="utf-8")
    with pytest.raises(PlanError, match=r"evil.yaml: not valid YAML: .*python/object/apply"):
        load_plan(path)


def test_oversized_file_is_refused_before_parsing(tmp_path):
    path = tmp_path / "big.yaml"
    path.write_text("# " + "x" * MAX_PLAN_BYTES + "\nname: x\n", encoding="utf-8")
    with pytest.raises(PlanError, match=r"big.yaml: refused: the file is 1,000,\d{3} bytes"):
        load_plan(path)


def test_missing_file_lists_available_plans(tmp_path):
    with pytest.raises(PlanError, match=r"nope.yaml: no such plan file; .*spring_launch.yaml"):
        load_plan(tmp_path / "nope.yaml")


def test_non_utf8_and_broken_yaml(tmp_path):
    binary = tmp_path / "bin.yaml"
    binary.write_bytes(b"\xff\xfename: x\n")
    with pytest.raises(PlanError, match=r"bin.yaml: not UTF-8 text"):
        load_plan(binary)
    broken = tmp_path / "broken.yaml"
    broken.write_text("name: [spring\n", encoding="utf-8")
    with pytest.raises(PlanError, match=r"broken.yaml: not valid YAML"):
        load_plan(broken)
    empty = tmp_path / "empty.yaml"
    empty.write_text("", encoding="utf-8")
    with pytest.raises(PlanError, match=r"empty.yaml: a plan must be a YAML mapping"):
        load_plan(empty)


def test_progress_is_nan_when_target_equals_baseline(data):
    data["objectives"][3]["target"] = data["objectives"][3]["baseline"]
    plan = parse_plan(data)
    assert math.isnan(plan.objectives[3].progress(2.5))
    assert plan.objectives[3].achieved(2.8) and not plan.objectives[3].achieved(2.7)


def test_values_in_messages_are_shown_exactly(data):
    data["objectives"][1]["target"] = 115999.75  # revenue: worse than the 116000 baseline
    data["budget"]["by_channel"]["edm"] = True
    error = str(faults_of(data))
    # Both are checks within one part of the plan, so they are reported together.
    assert "budget.by_channel.edm: true is not a number" in error
    assert "objectives[1].target: 115999.75 is worse than the baseline 116000" in error


# --------------------------------------------------------------------------------------
# Campaign settings
# --------------------------------------------------------------------------------------
def _autumn_plan(**settings) -> dict:
    """A plan nothing like the sample's dates or budget: Sep-Oct 2026, 9,000 budget."""
    from imclab.config import REPO_ROOT

    data = yaml.safe_load((REPO_ROOT / "campaigns" / "spring_launch.yaml").read_text("utf-8"))
    data.pop("settings", None)
    data.update(name="autumn", start="2026-09-07", end="2026-10-18")
    data["phases"] = [
        {"name": "only", "start": "2026-09-07", "end": "2026-10-18",
         "channels": ["social", "tv"], "budget": {"social": 4000, "tv": 5000}}
    ]  # fmt: skip
    data["budget"] = {"total": 9000, "by_channel": {"social": 4000, "tv": 5000}}
    for objective in data["objectives"]:
        objective["deadline"] = "2026-10-18"
        objective.pop("channel", None)
    if settings:
        data["settings"] = settings
    return data


def test_settings_defaults_are_derived_from_the_plan():
    from imclab.config import BOUND_MULTIPLES, LOOKBACK_DAYS, MEASUREMENT_WINDOW_DAYS

    plan = parse_plan(_autumn_plan(), "autumn.yaml")
    s = plan.resolved_settings()
    assert s.review_date == dt.date(2026, 10, 18) + dt.timedelta(days=MEASUREMENT_WINDOW_DAYS)
    assert s.baseline_end == dt.date(2026, 9, 6)
    assert s.baseline_start == dt.date(2026, 7, 27)  # 42 days, as long as the campaign
    assert (s.baseline_end - s.baseline_start).days + 1 == plan.days
    assert s.lookback_days == LOOKBACK_DAYS
    assert s.navigational_channels == ("direct",)
    assert s.next_budget == 9000.0
    assert s.bound_multiples == BOUND_MULTIPLES
    assert s.as_params()["review_date"] == s.review_date.isoformat()


def test_settings_from_the_plan_and_overrides():
    plan = parse_plan(
        _autumn_plan(measurement_window_days=7, lookback_days=14, next_budget=5000,
                     navigational_channels=["direct", "seo"], bound_multiples=[0.8, 1.5]),
        "autumn.yaml",
    )  # fmt: skip
    s = plan.resolved_settings()
    assert s.review_date == dt.date(2026, 10, 25)
    assert (s.lookback_days, s.next_budget) == (14, 5000.0)
    assert s.navigational_channels == ("direct", "seo")
    assert s.bound_multiples == (0.8, 1.5)
    # empty notebook parameters mean "the plan's"; given ones win
    assert plan.resolved_settings(review_date="", lookback_days=0, next_budget=0.0) == s
    o = plan.resolved_settings(review_date="2026-12-01", lookback_days=7, bound_multiples=[1, 1])
    assert (o.review_date, o.lookback_days, o.bound_multiples) == (
        dt.date(2026, 12, 1),
        7,
        (1.0, 1.0),
    )
    with pytest.raises(ParameterError, match="lookback_days"):
        plan.resolved_settings(lookback_days=-3)
    with pytest.raises(ParameterError, match="unknown name"):
        plan.resolved_settings(look_back=3)


def test_settings_faults_are_reported_with_their_path():
    bad = _autumn_plan(review_date="2026-09-01", baseline_end="2026-09-07")
    with pytest.raises(PlanError) as info:
        parse_plan(bad, "autumn.yaml")
    text = str(info.value)
    assert "settings.review_date: 2026-09-01 is before the campaign start 2026-09-07" in text
    assert "settings.baseline_end: 2026-09-07 is not before the campaign start" in text
    with pytest.raises(PlanError, match=r"settings\.bound_multiples: \[1\.5, 2\] must be"):
        parse_plan(_autumn_plan(bound_multiples=[1.5, 2]), "autumn.yaml")
    with pytest.raises(PlanError, match="did you mean 'lookback_days'"):
        parse_plan(_autumn_plan(lookback_dys=3), "autumn.yaml")
