"""open_world: an engine-side world reports the same as the file-aware loader."""

from __future__ import annotations

import shutil

import numpy as np
import pandas as pd
import pytest

from imclab.data import audit, load_world
from imclab.errors import DataError, ParameterError
from imclab.warehouse import EVENT_TABLES, SMALL_TABLES, EngineWorld, open_world

AS_OF = "2025-06-30"


@pytest.fixture(scope="module")
def worlds(sample_dir):
    """The sample through the loader and through DuckDB as an engine (lazy)."""
    return load_world(sample_dir, as_of=AS_OF), open_world(sample_dir, lazy=True, as_of=AS_OF)


def _sample_with_rows(sample_dir, tmp_path, table: str, rows: str):
    """The sample's four required tables in a new folder, ``rows`` (CSV lines) appended to
    ``table``'s file."""
    folder = tmp_path / "world"
    folder.mkdir()
    for name in ("customers", "touchpoints", "conversions", "spend"):
        shutil.copy(sample_dir / f"{name}.csv", folder)
    with open(folder / f"{table}.csv", "a", encoding="utf-8") as out:
        out.write(rows)
    return folder


def test_default_duckdb_is_the_file_aware_loader(sample_dir):
    world = open_world(sample_dir, as_of=AS_OF, tables=["spend"])
    assert type(world).__name__ == "World"
    assert list(world.tables) == ["spend"]


def test_engine_report_equals_the_loader_report(worlds):
    loaded, lazy = worlds
    assert isinstance(lazy, EngineWorld)
    pd.testing.assert_frame_equal(lazy.report.to_frame(), loaded.report.to_frame())
    for name in ("touchpoints", "conversions", "survey"):
        a, b = lazy.report.tables[name], loaded.report.tables[name]
        assert (a.identity_rows, a.identity_matched) == (b.identity_rows, b.identity_matched)


def test_engine_excludes_exactly_the_documented_faults(worlds, sample_dir):
    _, lazy = worlds
    faults = pd.read_csv(sample_dir / "truth" / "faults.csv")
    expected = faults.groupby("table").size().to_dict()
    assert lazy.excluded.groupby("table")["rows"].sum().to_dict() == expected
    # every excluded row has an example line naming its file, column, value and reason
    assert len(lazy.quarantine) == len(faults)
    assert lazy.quarantine["row"].isna().all()
    cost = lazy.quarantine.loc[lazy.quarantine["column"] == "cost"].iloc[0]
    assert (cost["file"], cost["value"], cost["reason"]) == (
        "touchpoints.csv", "-0.75", "negative value (expected >= 0)"
    )  # fmt: skip
    assert "touchpoints.csv: column 'cost' (1 row): negative value '-0.75' (expected >= 0)" in (
        lazy.report.messages
    )


def test_event_tables_stay_in_the_engine_small_tables_are_pandas(worlds):
    loaded, lazy = worlds
    for name in EVENT_TABLES:
        assert not isinstance(lazy.tables[name], pd.DataFrame)
        assert int(lazy.tables[name].count().execute()) == len(loaded.tables[name])
    ids = lazy.touchpoints.select("event_id").execute()["event_id"]
    assert sorted(ids) == sorted(loaded.touchpoints["event_id"].astype(str))
    for name in SMALL_TABLES:
        assert isinstance(lazy.tables[name], pd.DataFrame)
        keys = list(lazy.tables[name].columns)
        got = lazy.tables[name].sort_values(keys, kind="mergesort").reset_index(drop=True)
        want = loaded.tables[name].sort_values(keys, kind="mergesort").reset_index(drop=True)
        pd.testing.assert_frame_equal(got, want)


def test_examples_limit_and_absent_optional_tables(sample_dir, tmp_path):
    folder = tmp_path / "world"
    folder.mkdir()
    for name in ("customers", "touchpoints", "conversions", "spend"):
        shutil.copy(sample_dir / f"{name}.csv", folder)
    world = open_world(folder, lazy=True, as_of=AS_OF, examples=1)
    assert world.survey is None and world.report.missing_optional == [
        "survey", "ab_tests", "creatives"
    ]  # fmt: skip
    per_group = world.quarantine.groupby(["file", "column", "reason"]).size()
    assert per_group.max() == 1
    unparseable = world.excluded.query("column == 'timestamp' and reason.str.startswith('cannot')")
    assert int(unparseable["rows"].iloc[0]) == 2  # counts stay exact when examples are cut


def test_missing_required_table_names_it(sample_dir, tmp_path):
    folder = tmp_path / "world"
    folder.mkdir()
    shutil.copy(sample_dir / "customers.csv", folder)
    with pytest.raises(DataError, match="missing required tables touchpoints, conversions"):
        open_world(folder, lazy=True)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"engine": "bigquery"}, "engine: expected one of duckdb, spark"),
        ({"engine": "spark", "lazy": False}, "tables stay in the engine"),
        ({"sources": {"touchpoints": "x.y"}}, "per-table overrides need lazy=True"),
        ({"lazy": True, "examples": -1}, "examples: expected 0 or more"),
        ({"tables": ["orders"]}, "unknown table"),
    ],
)
def test_bad_parameters_are_named(sample_dir, kwargs, message):
    with pytest.raises(ParameterError, match=message):
        open_world(sample_dir, **kwargs)


def test_strict_raises_naming_the_faults(sample_dir):
    with pytest.raises(DataError, match=r"10 rows break the data contract[\s\S]*'cost'"):
        open_world(sample_dir, lazy=True, as_of=AS_OF, strict=True, examples=0)


def test_engine_quarantine_is_written_with_empty_row_numbers(worlds, tmp_path):
    from imclab.data import write_quarantine

    _, lazy = worlds
    write_quarantine(lazy, tmp_path)
    written = pd.read_csv(tmp_path / "quarantine.csv")
    assert len(written) == len(lazy.quarantine) and written["row"].isna().all()
    assert set(written["file"]) == {"touchpoints.csv", "conversions.csv", "spend.csv"}


def test_engine_checks_every_rule_of_the_loader(sample_dir, tmp_path):
    """Time zone offsets and implausible dates are refused by the engine as by the loader."""
    folder = _sample_with_rows(
        sample_dir,
        tmp_path,
        "touchpoints",
        "E900000001,C005000,2025-06-13T12:21:55+02:00,social,always_on,click,0.5\n"
        "E900000002,C005000,1850-06-13T12:21:55,social,always_on,click,0.5\n",
    )
    loaded = load_world(folder, as_of=AS_OF)
    lazy = open_world(folder, lazy=True, as_of=AS_OF)
    pd.testing.assert_frame_equal(lazy.report.to_frame(), loaded.report.to_frame())
    reasons = set(lazy.excluded.query("table == 'touchpoints'")["reason"])
    assert {
        "timestamp has a time zone offset (expected local time without offset)",
        "implausible date (expected years 1900 to 2199)",
    } <= reasons
    # in the loader's words: the same reasons and counts
    pd.testing.assert_frame_equal(audit.quarantine_reasons(lazy), audit.quarantine_reasons(loaded))


def test_engine_counts_each_row_once_for_its_first_fault(tmp_path):
    from imclab.data.schemas import SCHEMAS

    folder = tmp_path / "world"
    folder.mkdir()
    pd.DataFrame(
        {
            "event_id": ["E1", "E1", "E2", "E3", "E4"],
            "customer_id": ["C1", "C1", "C9", "C1", "C1"],
            "timestamp": [
                "2025-01-02T00:00:00",
                "2025-01-01T00:00:00",
                "2025-01-01T00:00:00",
                "2025-13-01",
                "2025-01-01T00:00:00",
            ],  # fmt: skip
            "channel": ["seo", "seo", "seo", "tiktok", "seo"],
            "campaign": ["organic"] * 5,
            "interaction": ["click"] * 5,
            "cost": ["0", "0", "0", "-1", "1.5"],
        }
    ).to_csv(folder / "touchpoints.csv", index=False)
    cu = pd.DataFrame({c: [""] for c in SCHEMAS["customers"].columns})  # profile left blank
    cu[["customer_id", "signup_date"]] = [["C1", "2024-01-01"]]
    cu.to_csv(folder / "customers.csv", index=False)
    world = open_world(folder, lazy=True, tables=["touchpoints"], as_of="2025-06-30")
    rows = world.excluded.query("table == 'touchpoints'")
    # E3 breaks three rules but is counted once, for its first column in contract order
    assert sorted(zip(rows["column"], rows["rows"], strict=True)) == [
        ("customer_id", 1), ("event_id", 1), ("timestamp", 1),
    ]  # fmt: skip
    kept = world.touchpoints.execute().sort_values("event_id")
    assert kept["event_id"].tolist() == ["E1", "E4"]
    # of the two E1 rows, the first in the order of all columns (the earlier timestamp) is kept
    assert kept["timestamp"].tolist() == [pd.Timestamp("2025-01-01"), pd.Timestamp("2025-01-01")]
    assert kept["cost"].tolist() == [0.0, 1.5]
    assert world.report.tables["touchpoints"].rows_quarantined == 3


@pytest.fixture(scope="module")
def snapshot(sample_dir, tmp_path_factory):
    """The sample as a run opens it (the plan's as-of), and its snapshot folder."""
    from imclab.warehouse import write_snapshot

    world = open_world(sample_dir, as_of="2025-07-24 23:59:59")
    return world, write_snapshot(world, tmp_path_factory.mktemp("run") / ".snapshot")


def test_a_snapshot_restores_the_world_without_validating_again(snapshot, monkeypatch):
    import imclab.warehouse as wh
    from imclab.data import load as load_module

    world, folder = snapshot

    def refuse(*args, **kwargs):
        raise AssertionError("a snapshot is not validated again")

    monkeypatch.setattr(load_module, "_check_file", refuse)
    monkeypatch.setattr(wh, "load_world", refuse)
    again = open_world(folder, as_of="2030-01-01")  # the run's as-of wins: one rule
    assert wh.is_snapshot(folder) and not wh.is_snapshot(folder.parent)
    for name, frame in world.tables.items():
        pd.testing.assert_frame_equal(again.tables[name], frame)
    pd.testing.assert_frame_equal(again.quarantine, world.quarantine)
    assert again.report == world.report and again.source == world.source
    for check in ("rows_per_table", "date_coverage", "missing_values", "duplicates",
                  "identity_match", "quarantine_reasons"):  # fmt: skip
        pd.testing.assert_frame_equal(getattr(audit, check)(again), getattr(audit, check)(world))
    assert (folder / "truth" / "truth.json").is_file()  # the simulator's truth goes along


def test_a_snapshot_opens_some_tables_lazily_or_strictly(snapshot):
    world, folder = snapshot
    spend = open_world(folder, tables=["spend"])
    assert list(spend.tables) == ["spend"] and list(spend.report.tables) == ["spend"]
    assert spend.report.messages == [m for m in world.report.messages if m.startswith("spend")]
    assert set(spend.quarantine["file"]) == {"spend.csv"}
    lazy = open_world(folder, lazy=True)
    assert isinstance(lazy, EngineWorld) and lazy.report == world.report
    assert lazy.touchpoints.count().execute() == len(world.touchpoints)
    assert isinstance(lazy.spend, pd.DataFrame)
    # every quarantined row counted once
    assert lazy.excluded.groupby("table")["rows"].sum().to_dict() == {
        t: r.rows_quarantined for t, r in world.report.tables.items() if r.rows_quarantined
    }
    with pytest.raises(DataError, match="break the data contract"):
        open_world(folder, strict=True)
    with pytest.raises(ParameterError, match="no overrides"):
        open_world(folder, lazy=True, sources={"spend": "x.y"})


def test_engine_words_every_fault_as_the_loader(sample_dir, tmp_path):
    """One vocabulary: a ``left <= right`` pair and a range fault read the same in both."""
    folder = _sample_with_rows(
        sample_dir,
        tmp_path,
        "spend",
        "2025-06-29,paid_search,always_on,10.0,5,9\n2025-06-30,paid_search,always_on,10.0,x,1\n",
    )
    loaded = load_world(folder, as_of=AS_OF, tables=["spend"])
    lazy = open_world(folder, lazy=True, as_of=AS_OF, tables=["spend"])
    assert "clicks greater than impressions" in set(lazy.excluded["reason"])
    assert set(lazy.excluded["reason"]) == set(loaded.quarantine["reason"])
    assert lazy.excluded["rows"].sum() == loaded.report.tables["spend"].rows_quarantined


def test_engine_refuses_non_finite_numbers_as_the_loader(sample_dir, tmp_path):
    """'inf', 'nan' and an integer beyond float precision are unparseable on both paths."""
    folder = _sample_with_rows(
        sample_dir,
        tmp_path,
        "spend",
        "2025-06-27,paid_search,always_on,inf,5,1\n"
        "2025-06-28,paid_search,always_on,nan,5,1\n"
        "2025-06-29,paid_search,always_on,10.0,9e15,1\n",
    )
    loaded = load_world(folder, as_of=AS_OF, tables=["spend"])
    lazy = open_world(folder, lazy=True, as_of=AS_OF, tables=["spend"])
    spend = lazy.excluded.query("table == 'spend'")
    assert spend["rows"].sum() == loaded.report.tables["spend"].rows_quarantined
    assert set(spend["reason"]) == set(loaded.quarantine["reason"])
    refused = spend[spend["reason"].str.startswith("cannot parse")]
    assert sorted(zip(refused["column"], refused["rows"], strict=True)) == [
        ("impressions", 1), ("spend", 2),
    ]  # fmt: skip
    kept = lazy.spend if isinstance(lazy.spend, pd.DataFrame) else lazy.spend.execute()
    assert np.isfinite(kept["spend"]).all() and len(kept) == len(loaded.spend)
