"""Exports as analysts really get them: delimiters, decimal commas, dd/mm dates, legacy
encodings, relabelled channels and appended duplicates. Each variant either loads clean with
the plan lines `imclab validate` proposes, or fails with an error that names the fix."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest
import yaml

from imclab.data.sniff import format_advice, sniff_format
from imclab.validate import EXIT_CLEAN, EXIT_ERRORS, EXIT_QUARANTINE, validate_data

AS_OF = "2026-01-01"
FIXTURE = Path(__file__).parent / "fixtures" / "ga4_export.csv"
TABLES = ("customers", "touchpoints", "conversions", "spend")


@pytest.fixture()
def world(tmp_path, small_world) -> Path:
    folder = tmp_path / "world"
    folder.mkdir()
    for table in TABLES:
        shutil.copy(small_world / f"{table}.csv", folder / f"{table}.csv")
    return folder


def _plan(tmp_path: Path, repo_root: Path, columns: dict) -> Path:
    plan = yaml.safe_load((repo_root / "campaigns" / "spring_launch.yaml").read_text())
    plan["columns"] = columns
    path = tmp_path / "plan.yaml"
    path.write_text(yaml.safe_dump(plan, allow_unicode=True))
    return path


def _european(frame: pd.DataFrame, numbers: list[str]) -> pd.DataFrame:
    out = frame.astype(object).copy()
    for col in numbers:
        out[col] = frame[col].map(lambda v: f"{v:.2f}".replace(".", ",") if pd.notna(v) else "")
    return out


def _clean(result) -> bool:
    return result.exit_code() == EXIT_CLEAN and result.errors == []


def test_semicolon_and_decimal_comma_file_gets_the_exact_lines_then_loads(
    world, tmp_path, repo_root
):
    tp = pd.read_csv(world / "touchpoints.csv")
    _european(tp, ["cost"]).to_csv(world / "touchpoints.csv", sep=";", index=False)

    result = validate_data(world, as_of=AS_OF)
    assert result.exit_code() == EXIT_ERRORS
    # one message with the fix, not one "missing required column" per column
    assert result.errors == [
        "touchpoints.csv looks semicolon-delimited and written with decimal commas: add "
        "delimiter: ';' and decimal: ',' under columns.touchpoints in the plan (the other "
        "columns: settings still apply)"
    ]
    # every other table is still checked
    assert result.tables.set_index("table").loc["customers", "status"] == "ok"
    assert result.tables.set_index("table").loc["conversions", "status"] == "ok"

    plan = _plan(tmp_path, repo_root, {"touchpoints": {"delimiter": ";", "decimal": ","}})
    fixed = validate_data(world, campaign=plan, as_of=AS_OF)
    assert fixed.errors == []
    row = fixed.tables.set_index("table").loc["touchpoints"]
    assert row["rows_read"] == row["rows_accepted"] == len(tp)


def test_tab_delimited_file_with_dd_mm_dates(world, tmp_path, repo_root):
    conv = pd.read_csv(world / "conversions.csv")
    out = conv.copy()
    out["timestamp"] = pd.to_datetime(conv["timestamp"]).dt.strftime("%d/%m/%Y %H:%M:%S")
    out.to_csv(world / "conversions.csv", sep="\t", index=False)
    result = validate_data(world, as_of=AS_OF)
    assert result.exit_code() == EXIT_ERRORS
    (message,) = result.errors
    assert "conversions.csv looks tab-delimited" in message
    assert "delimiter: '\\t'" in message and "date_format: '%d/%m/%Y %H:%M:%S'" in message

    plan = _plan(
        tmp_path,
        repo_root,
        {"conversions": {"delimiter": "tab", "date_format": "%d/%m/%Y %H:%M:%S"}},
    )
    fixed = validate_data(world, campaign=plan, as_of=AS_OF)
    assert fixed.errors == []
    row = fixed.tables.set_index("table").loc["conversions"]
    assert row["rows_accepted"] == len(conv)
    assert row["date_min"] == pd.to_datetime(conv["timestamp"]).min()


def test_month_first_dates_are_told_apart_from_day_first(tmp_path):
    path = tmp_path / "spend.csv"
    path.write_text("date,spend\n03/25/2025,1\n04/01/2025,2\n")
    assert sniff_format(path, {"date": "date"}).date_format == "%m/%d/%Y"
    path.write_text("date,spend\n25.03.2025,1\n01.04.2025,2\n")
    assert sniff_format(path, {"date": "date"}).date_format == "%d.%m.%Y"
    path.write_text("date,spend\n2025-03-25,1\n")
    assert sniff_format(path, {"date": "date"}).date_format is None


def test_cp1252_file_is_named_not_utf8_and_loads_with_the_encoding(world, tmp_path, repo_root):
    spend = pd.read_csv(world / "spend.csv")
    spend["campaign"] = spend["campaign"].fillna("").astype(str)
    spend.loc[spend.index[:5], "campaign"] = "crème_brûlée"
    spend.to_csv(world / "spend.csv", index=False, encoding="cp1252")

    result = validate_data(world, as_of=AS_OF)
    assert result.exit_code() == EXIT_ERRORS
    assert result.errors == [
        "spend.csv looks not UTF-8 (likely Windows-1252 / Latin-1 from Excel): add encoding: "
        "cp1252 under columns.spend in the plan (the other columns: settings still apply)"
    ]
    plan = _plan(tmp_path, repo_root, {"spend": {"encoding": "cp1252"}})
    fixed = validate_data(world, campaign=plan, as_of=AS_OF)
    assert fixed.errors == [] and fixed.rows_quarantined == 0
    assert fixed.tables.set_index("table").loc["spend", "rows_accepted"] == len(spend)


def test_mixed_case_and_chinese_channel_labels_point_to_values_and_load_with_it(
    world, tmp_path, repo_root
):
    tp = pd.read_csv(world / "touchpoints.csv")
    tp["channel"] = (
        tp["channel"]
        .map({"social": " Social ", "paid_search": "PAID_SEARCH", "edm": "邮件"})
        .fillna(tp["channel"])
    )
    tp.to_csv(world / "touchpoints.csv", index=False)
    relabelled = int(tp["channel"].isin([" Social ", "PAID_SEARCH", "邮件"]).sum())
    assert relabelled > 0

    result = validate_data(world, as_of=AS_OF)
    assert result.exit_code() == EXIT_QUARANTINE
    assert result.tables.set_index("table").loc["touchpoints", "rows_quarantined"] == relabelled
    message = next(m for m in result.messages if "column 'channel'" in m)
    assert "values: {your label: imclab value} for channel in the plan's columns: section" in (
        message
    )

    # labels compare trimmed and case-blind, as the channel rules do
    columns = {"touchpoints": {"values": {"channel": {"social": "social",
                                                      "paid_search": "paid_search",
                                                      "邮件": "edm"}}}}  # fmt: skip
    fixed = validate_data(world, campaign=_plan(tmp_path, repo_root, columns), as_of=AS_OF)
    assert _clean(fixed)


def test_values_that_clash_after_normalisation_are_a_plan_error(tmp_path, repo_root, world):
    columns = {"touchpoints": {"values": {"channel": {"Social": "social", "social ": "edm"}}}}
    result = validate_data(world, campaign=_plan(tmp_path, repo_root, columns), as_of=AS_OF)
    assert result.exit_code() == EXIT_ERRORS
    assert any("compared trimmed and case-blind" in e for e in result.errors)


def test_ga4_rows_appended_twice_are_counted_and_dropped_or_kept(tmp_path, repo_root):
    from tests.test_validate import GA4_COLUMNS, write_ga4_companions  # as the README

    data = tmp_path / "export"
    data.mkdir()
    text = FIXTURE.read_text()
    lines = text.splitlines()
    appended = lines + lines[1:4]  # three events exported twice
    (data / FIXTURE.name).write_text("\n".join(appended) + "\n")
    write_ga4_companions(data)
    dropped = validate_data(data, campaign=_plan(tmp_path, repo_root, GA4_COLUMNS), as_of=AS_OF)
    keep = dict(GA4_COLUMNS, touchpoints={**GA4_COLUMNS["touchpoints"], "duplicates": "keep"})
    kept = validate_data(data, campaign=_plan(tmp_path, repo_root, keep), as_of=AS_OF)
    q_drop, q_keep = dropped.quarantine, kept.quarantine
    dup = q_drop[q_drop["column"] == "event_id"]
    # the copies (data rows 11-13) are quarantined as duplicates of rows 1-3
    assert dup["row"].tolist() == [11, 12, 13]
    assert all("duplicate event_id" in r for r in dup["reason"])
    assert (q_keep["column"] == "event_id").sum() == 0
    read = dropped.tables.set_index("table").loc["touchpoints"]
    assert read["rows_read"] == len(appended) - 1
    assert (
        kept.tables.set_index("table").loc["touchpoints", "rows_accepted"]
        == read["rows_accepted"] + 3
    )


def test_a_table_quarantined_in_full_is_an_error_with_its_cause(world):
    conv = pd.read_csv(world / "conversions.csv")
    conv["revenue"] = -1.0
    conv.to_csv(world / "conversions.csv", index=False)
    result = validate_data(world, as_of=AS_OF)
    assert result.exit_code() == EXIT_ERRORS
    assert (
        f"conversions.csv: every row ({len(conv):,}) was quarantined, so the table is unusable; "
        "the most frequent reason: column 'revenue': negative value (expected >= 0)"
    ) in result.errors


def test_sample_files_read_as_written(sample_dir):
    for table in ("customers", "touchpoints", "conversions", "spend", "survey", "ab_tests"):
        assert format_advice(sample_dir / f"{table}.csv", table) is None


def test_bad_format_options_are_plan_errors(tmp_path, repo_root, world):
    columns = {
        "spend": {"delimiter": ";;", "encoding": "klingon", "date_format": "day-month"},
    }
    result = validate_data(world, campaign=_plan(tmp_path, repo_root, columns), as_of=AS_OF)
    assert result.exit_code() == EXIT_ERRORS
    text = "\n".join(result.errors)
    assert "columns.spend.delimiter" in text and "one-character delimiter" in text
    assert "columns.spend.encoding" in text and "klingon" in text
    assert "columns.spend.date_format" in text
