"""open_world: an engine-side world reports the same as the file-aware loader."""

from __future__ import annotations

import shutil

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
    assert any("'cost' (1 row): negative value (expected >= 0)" in m for m in lazy.report.messages)


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
    folder = tmp_path / "world"
    folder.mkdir()
    for name in ("customers", "conversions", "spend"):
        shutil.copy(sample_dir / f"{name}.csv", folder)
    text = (sample_dir / "touchpoints.csv").read_text(encoding="utf-8")
    text += (
        "E900000001,C005000,2025-06-13T12:21:55+02:00,social,always_on,click,0.5\n"
        "E900000002,C005000,1850-06-13T12:21:55,social,always_on,click,0.5\n"
    )
    (folder / "touchpoints.csv").write_text(text, encoding="utf-8")
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
