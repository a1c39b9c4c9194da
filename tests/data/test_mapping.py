from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
import yaml

from imclab.data import load_world
from imclab.data.mapping import MANIFEST, apply_mapping, mapped_sources
from imclab.errors import DataError, ParameterError
from imclab.plan import ColumnsSpec, PlanValidationError, parse_plan

FIXTURE = Path(__file__).parent / "fixtures" / "ga4_export.csv"
AS_OF = "2026-01-01"

CUSTOMERS = """customer_id,signup_date,age,gender,region,city_tier,device,income_band,\
loyalty_member,newsletter_opt_in,avg_session_minutes,pages_per_visit,discount_usage_rate
1001.17,2025-01-05,34,female,north,tier1,mobile,middle,true,false,3.5,4.0,0.2
1002.42,2025-01-06,51,male,south,tier2,desktop,high,false,true,2.0,3.0,0.0
1003.08,2025-02-01,40,other,east,tier3,tablet,low,true,true,1.0,2.0,0.5
1004.90,2025-02-03,29,female,west,tier1,mobile,low,false,true,1.5,2.5,0.4
"""
CONVERSIONS = """order_id,customer_id,timestamp,revenue
O1,1001.17,2025-03-03T10:00:00,50
O2,1002.42,2025-03-08T11:00:00,60.5
"""
TOUCHPOINTS = """event_id,customer_id,timestamp,channel,campaign,interaction,cost
E1,1001.17,2025-03-01T10:00:00,social,spring_launch,click,0.5
"""
SPEND = """date,channel,campaign,spend,impressions,clicks
2025-03-03,paid_search,spring_launch,100,1000,50
"""

# The plan's columns: section for a GA4 BigQuery export flattened to one row per event.
GA4_COLUMNS = """
touchpoints:
  file: ga4_export.csv
  rename:
    timestamp: event_timestamp
    customer_id: user_pseudo_id
    interaction: event_name
    campaign: traffic_source.name
  transforms: {timestamp: epoch_micros}
  values:
    interaction: {page_view: visit, session_start: visit, click: click,
                  view_promotion: impression, email_open: open}
    campaign: {"(organic)": organic, "(direct)": organic}
  constants: {cost: 0}
  row_ids: {event_id: ga4-}
  channel:
    rules:
      - when: traffic_source.source=google & traffic_source.medium=cpc
        channel: paid_search
      - when: {traffic_source.medium: organic}
        channel: seo
      - when: {traffic_source.medium: email}
        channel: edm
      - when: {traffic_source.source: [facebook, instagram],
               traffic_source.medium: [cpc, paid_social]}
        channel: social
      - when: {traffic_source.medium: affiliate}
        channel: affiliate
    default: direct
"""


def _notes(out):
    """The per-table notes apply_mapping writes to its manifest."""
    return json.loads((out / MANIFEST).read_text(encoding="utf-8"))["tables"]


def _world(folder: Path, touchpoints: Path | None = FIXTURE) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "customers.csv").write_text(CUSTOMERS)
    (folder / "conversions.csv").write_text(CONVERSIONS)
    (folder / "spend.csv").write_text(SPEND)
    (folder / "touchpoints.csv").write_text(TOUCHPOINTS)  # used when touchpoints are not mapped
    if touchpoints is not None:
        shutil.copy(touchpoints, folder / touchpoints.name)
    return folder


def _spec(text: str) -> ColumnsSpec:
    return ColumnsSpec.model_validate(yaml.safe_load(text))


def test_ga4_export_maps_and_loads(tmp_path):
    data = _world(tmp_path / "export")
    out = apply_mapping(data, _spec(GA4_COLUMNS), tmp_path / "mapped")
    world = load_world(out, as_of=AS_OF)
    tp = world.touchpoints

    # 10 events, the one with an unparseable timestamp quarantined at its row in the export
    report = world.report.tables["touchpoints"]
    assert (report.rows_read, report.rows_loaded, report.rows_quarantined) == (10, 9, 1)
    q = world.quarantine
    assert q[["row", "column", "value"]].values.tolist() == [[6, "timestamp", "17412_BAD"]]
    raw = pd.read_csv(FIXTURE, dtype=str)
    assert raw.loc[6 - 1, "event_timestamp"] == "17412_BAD"  # row 6 is the export's 6th row

    assert tp["event_id"].tolist() == [f"ga4-{i}" for i in (1, 2, 3, 4, 5, 7, 8, 9, 10)]
    assert tp["channel"].astype(str).tolist() == [
        "paid_search", "paid_search", "seo", "edm", "social", "direct", "social",
        "paid_search",  # 'Google' / 'CPC': rules compare values case-blind
        "affiliate",
    ]  # fmt: skip
    assert tp["interaction"].astype(str).tolist() == [
        "visit", "click", "visit", "open", "impression", "visit", "click", "visit", "visit",
    ]  # fmt: skip
    assert tp["campaign"].astype(str).tolist()[2] == "organic"
    assert tp["customer_id"].tolist()[:3] == ["1001.17", "1001.17", "1002.42"]
    assert (tp["cost"] == 0).all()
    # microseconds since the epoch, UTC, sub-second part kept
    assert tp["timestamp"].iloc[0] == pd.Timestamp("2025-03-03T09:15:02.125")
    assert tp["timestamp"].iloc[-1] == pd.Timestamp("2025-03-08T10:10:10")
    assert mapped_sources(out) == {"touchpoints.csv": "ga4_export.csv"}
    assert _notes(out)["touchpoints"]["unmapped_columns"] == ["event_date"]


def test_ga4_columns_in_a_campaign_plan(repo_root):
    plan = yaml.safe_load((repo_root / "campaigns" / "spring_launch.yaml").read_text())
    plan["columns"] = yaml.safe_load(GA4_COLUMNS)
    parsed = parse_plan(plan)
    rules = parsed.columns.tables["touchpoints"].channel.rules
    assert rules[0].when == {"traffic_source.source": ["google"], "traffic_source.medium": ["cpc"]}
    assert parsed.columns.tables["touchpoints"].constants == {"cost": "0"}


def test_unmapped_tables_and_truth_are_passed_through(tmp_path, small_world):
    out = apply_mapping(small_world, {"spend": {}}, tmp_path / "mapped")
    for name in ("customers.csv", "touchpoints.csv", "conversions.csv", "survey.csv"):
        assert (out / name).read_bytes() == (small_world / name).read_bytes()
    assert (out / "truth" / "channels.csv").is_file()
    # a mapping with nothing to rename reproduces the table value for value
    mapped = pd.read_csv(out / "spend.csv", dtype=str)
    original = pd.read_csv(small_world / "spend.csv", dtype=str)
    pd.testing.assert_frame_equal(mapped, original)


def test_malformed_record_keeps_later_row_numbers(tmp_path):
    bad = tmp_path / "ga4_export.csv"
    lines = FIXTURE.read_text().splitlines()
    lines[3] = lines[3] + ",extra,fields"  # data row 3 has too many fields
    bad.write_text("\n".join(lines) + "\n")
    data = _world(tmp_path / "export", touchpoints=bad)
    out = apply_mapping(data, _spec(GA4_COLUMNS), tmp_path / "mapped")
    assert _notes(out)["touchpoints"]["malformed_rows"] == [3]
    world = load_world(out, as_of=AS_OF)
    assert sorted(world.quarantine["row"].unique().tolist()) == [3, 6]
    assert world.report.tables["touchpoints"].rows_read == 10
    assert world.touchpoints["event_id"].tolist()[2] == "ga4-4"


def test_missing_and_misnamed_columns_are_all_named(tmp_path):
    data = _world(tmp_path / "export", touchpoints=None)
    (data / "conversions.csv").write_text(
        "order_id,customer_id,time_stamp,revenue\nO1,1001.17,2025-03-03T10:00:00,50\n"
    )
    spec = {"conversions": {}, "spend": {"rename": {"spend": "cost_eur"}}}
    with pytest.raises(DataError) as err:
        apply_mapping(data, spec, tmp_path / "mapped")
    text = str(err.value)
    assert (
        "conversions.csv: missing required column 'timestamp' (did you mean 'time_stamp'?)" in text
    )
    assert "columns.conversions.rename.timestamp" in text
    assert "spend.csv: columns.spend.rename.spend names column 'cost_eur'" in text


def test_channel_rule_columns_must_exist(tmp_path):
    data = _world(tmp_path / "export")
    text = GA4_COLUMNS.replace("traffic_source.source=google", "traffic_source.sourse=google")
    with pytest.raises(DataError, match=r"names column 'traffic_source.sourse'.*did you mean "
                       r"'traffic_source.source'"):  # fmt: skip
        apply_mapping(data, _spec(text), tmp_path / "mapped")


def test_unmatched_channel_without_default_is_quarantined_by_name(tmp_path):
    data = _world(tmp_path / "export")
    text = GA4_COLUMNS.replace("    default: direct\n", "")
    world = load_world(apply_mapping(data, _spec(text), tmp_path / "mapped"), as_of=AS_OF)
    q = world.quarantine[world.quarantine["column"] == "channel"]
    assert q[["row", "value"]].values.tolist() == [
        [6, "(direct) / (none)"],
        [7, "(direct) / (none)"],
    ]
    assert q["reason"].iloc[0].startswith("unknown channel")


def test_ad_platform_spend_transforms(tmp_path):
    data = _world(tmp_path / "export")
    (data / "ads.csv").write_text(
        "Day,Network,campaign,cost_micros,impressions,clicks\n"
        "20250303,Google Ads,spring_launch,12500000,1000,50\n"
        "20250304,Meta,spring_launch,990000,900,45\n"
        "20250305,Unknown Net,spring_launch,abc,10,1\n"
    )
    spec = {
        "spend": {
            "file": "ads.csv",
            "rename": {"date": "Day", "channel": "Network", "spend": "cost_micros"},
            "transforms": {"date": "yyyymmdd", "spend": "micros"},
            "values": {"channel": {"Google Ads": "paid_search", "Meta": "social"}},
        }
    }
    world = load_world(apply_mapping(data, spec, tmp_path / "mapped"), as_of=AS_OF)
    spend = world.spend
    assert spend["date"].tolist() == [pd.Timestamp("2025-03-03"), pd.Timestamp("2025-03-04")]
    assert spend["channel"].astype(str).tolist() == ["paid_search", "social"]
    assert spend["spend"].tolist() == [12.5, 0.99]
    # the unconvertible value reaches the loader as written, so the quarantine shows it
    q = world.quarantine.set_index("column")
    assert q.loc["spend", "value"] == "abc" and q.loc["channel", "value"] == "Unknown Net"


@pytest.mark.parametrize(
    ("transform", "raw", "expected"),
    [
        ("epoch_seconds", "1741000000", "2025-03-03T11:06:40"),
        ("epoch_seconds", "1741000000.5", "2025-03-03T11:06:40.5"),
        ("epoch_millis", "1741000000250", "2025-03-03T11:06:40.25"),
        ("epoch_micros", "1741000000000001", "2025-03-03T11:06:40.000001"),
    ],
)
def test_epoch_transforms(tmp_path, transform, raw, expected):
    data = _world(tmp_path / "export")
    (data / "conversions.csv").write_text(f"order_id,customer_id,ts,revenue\nO1,1001.17,{raw},5\n")
    spec = {"conversions": {"rename": {"timestamp": "ts"}, "transforms": {"timestamp": transform}}}
    world = load_world(apply_mapping(data, spec, tmp_path / "mapped"), as_of=AS_OF)
    assert world.conversions["timestamp"].iloc[0] == pd.Timestamp(expected)


def test_lowercase_transform_and_constants(tmp_path):
    data = _world(tmp_path / "export")
    (data / "customers.csv").write_text(CUSTOMERS.replace("female,north", " Female ,NORTH"))
    spec = {"customers": {"transforms": {"gender": "lowercase", "region": "lowercase"}}}
    world = load_world(apply_mapping(data, spec, tmp_path / "mapped"), as_of=AS_OF)
    assert world.customers["gender"].astype(str).iloc[0] == "female"
    assert world.customers["region"].astype(str).iloc[0] == "north"
    assert world.report.tables["customers"].rows_quarantined == 0


def test_refuses_to_write_into_the_data_folder(tmp_path):
    data = _world(tmp_path / "export")
    with pytest.raises(ParameterError, match="another folder"):
        apply_mapping(data, {}, data)


def test_named_file_must_exist(tmp_path):
    data = _world(tmp_path / "export")
    with pytest.raises(DataError, match=r"ga4_exprt.csv.*did you mean 'ga4_export.csv'"):
        apply_mapping(data, {"touchpoints": {"file": "ga4_exprt.csv"}}, tmp_path / "m")


@pytest.mark.parametrize(
    ("columns", "fragments"),
    [
        ({"touchpoint": {}}, ["columns.touchpoint:", "did you mean 'touchpoints'"]),
        ({"touchpoints": {"renam": {}}}, ["columns.touchpoints.renam", "did you mean 'rename'"]),
        (
            {"touchpoints": {"rename": {"time_stamp": "ts"}}},
            ["columns.touchpoints.rename.time_stamp", "did you mean 'timestamp'"],
        ),
        (
            {"touchpoints": {"transforms": {"timestamp": "epoch_micro"}}},
            ["columns.touchpoints.transforms.timestamp", "did you mean 'epoch_micros'"],
        ),
        (
            {"touchpoints": {"rename": {"cost": "c"}, "constants": {"cost": 0}}},
            ["columns.touchpoints.constants.cost", "set by both rename and constants"],
        ),
        (
            {"touchpoints": {"channel": {"rules": [{"when": "medium", "channel": "seo"}]}}},
            ["columns.touchpoints.channel.rules[0].when", "column=value & column=value"],
        ),
        (
            {"touchpoints": {"channel": {"rules": [{"when": "m=cpc", "channel": "tiktok"}]}}},
            ["columns.touchpoints.channel.rules[0].channel", "'tiktok' is not a channel"],
        ),
        (
            {"spend": {"values": {"channel": {"Google Ads": "paid_serch"}}}},
            ["columns.spend.values.channel['Google Ads']", "did you mean 'paid_search'"],
        ),
        (
            {"customers": {"channel": {"rules": [{"when": "a=b", "channel": "seo"}]}}},
            ["columns.customers.channel", "no channel column"],
        ),
        ({"spend": {"file": "../x.csv"}}, ["columns.spend.file", "no folders"]),
    ],
)
def test_invalid_columns_section_names_the_yaml_path(repo_root, columns, fragments):
    plan = yaml.safe_load((repo_root / "campaigns" / "spring_launch.yaml").read_text())
    plan["columns"] = columns
    with pytest.raises(PlanValidationError) as err:
        parse_plan(plan, source="plan.yaml")
    for fragment in fragments:
        assert fragment in str(err.value)


def test_runner_maps_plan_columns_before_the_notebooks_run(tmp_path, repo_root):
    from imclab.report.runner import NotebookJob, PreparedRun, map_columns

    data = _world(tmp_path / "export")
    raw = yaml.safe_load((repo_root / "campaigns" / "spring_launch.yaml").read_text())
    plan = parse_plan(raw)
    report = tmp_path / "reports" / "spring_launch"
    job = NotebookJob(tmp_path / "00_x.ipynb", {"data_dir": str(data), "report_dir": str(report)})
    run = PreparedRun(plan, tmp_path / "p.yaml", tmp_path, data, report, tmp_path, [], [job])
    assert map_columns(run) is run  # no columns: section, nothing written
    raw["columns"] = yaml.safe_load(GA4_COLUMNS)
    run = PreparedRun(parse_plan(raw), *list(run.__dict__.values())[1:])
    mapped = map_columns(run)
    assert mapped.data_dir == tmp_path / "reports" / "spring_launch.data"
    assert mapped.jobs[0].parameters == {
        "data_dir": str(mapped.data_dir),
        "report_dir": str(report),
    }
    world = load_world(mapped.data_dir, as_of=AS_OF)
    assert world.report.tables["touchpoints"].rows_loaded == 9
