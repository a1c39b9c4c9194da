from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest
import yaml

from imclab.cli import main
from imclab.validate import EXIT_CLEAN, EXIT_ERRORS, EXIT_QUARANTINE, validate_data

AS_OF = "2026-01-01"
FIXTURE = Path(__file__).parent / "data" / "fixtures" / "ga4_export.csv"


@pytest.fixture()
def world(tmp_path, small_world) -> Path:
    """A clean copy of the small world's required tables and survey (no truth)."""
    folder = tmp_path / "world"
    folder.mkdir()
    for table in ("customers", "touchpoints", "conversions", "spend", "survey"):
        shutil.copy(small_world / f"{table}.csv", folder / f"{table}.csv")
    return folder


def _rows(result, table):
    return result.tables.set_index("table").loc[table]


def test_clean_folder_exits_zero_with_counts_and_dates(world, small_world):
    result = validate_data(world, as_of=AS_OF)
    assert result.errors == []
    assert result.exit_code() == EXIT_CLEAN
    n = len(pd.read_csv(small_world / "touchpoints.csv"))
    tp = _rows(result, "touchpoints")
    assert (tp["rows_read"], tp["rows_accepted"], tp["rows_quarantined"]) == (n, n, 0)
    assert tp["status"] == "ok"
    stamps = pd.to_datetime(pd.read_csv(small_world / "touchpoints.csv")["timestamp"])
    assert tp["date_min"] == stamps.min() and tp["date_max"] == stamps.max()
    assert _rows(result, "ab_tests")["status"] == "absent"
    assert "Result: clean" in result.text()


def test_quarantined_rows_exit_one_unless_allowed(world):
    lines = (world / "conversions.csv").read_text().splitlines()
    fields = lines[3].split(",")
    fields[-1] = "-5"
    lines[3] = ",".join(fields)  # data row 3: negative revenue
    (world / "conversions.csv").write_text("\n".join(lines) + "\n")
    result = validate_data(world, as_of=AS_OF)
    conv = _rows(result, "conversions")
    assert conv["rows_quarantined"] == 1 and conv["status"] == "quarantined"
    assert conv["rows_read"] == conv["rows_accepted"] + 1
    assert result.quarantine[["file", "row", "column"]].values.tolist() == [
        ["conversions.csv", 3, "revenue"]
    ]
    assert result.exit_code() == EXIT_QUARANTINE
    assert result.exit_code(allow_quarantine=True) == EXIT_CLEAN
    text = result.text()
    assert "conversions.csv: column 'revenue' row 3: negative value '-5'" in text
    assert "--allow-quarantine" in text


def test_misnamed_and_unexpected_columns_get_suggestions(world):
    text = (world / "touchpoints.csv").read_text()
    (world / "touchpoints.csv").write_text(text.replace("timestamp", "time_stamp", 1))
    spend = pd.read_csv(world / "spend.csv")
    spend["utm_content"] = "x"
    spend.to_csv(world / "spend.csv", index=False)
    result = validate_data(world, as_of=AS_OF)
    assert result.exit_code() == EXIT_ERRORS
    assert any(
        e.startswith(
            "touchpoints.csv: missing required column 'timestamp' (did you mean 'time_stamp'?)"
        )  # fmt: skip
        for e in result.errors
    )
    assert (
        "touchpoints.csv: unexpected column 'time_stamp' (did you mean 'timestamp'?)"
        in " ".join(result.notes)
    )
    assert "spend.csv: unexpected column 'utm_content' (not loaded)" in result.notes
    assert _rows(result, "touchpoints")["missing_columns"] == "timestamp"
    assert _rows(result, "touchpoints")["unexpected_columns"] == "time_stamp"
    assert _rows(result, "touchpoints")["status"] == "error"
    # the failed table claims no counts; every other table is still checked
    assert pd.isna(_rows(result, "touchpoints")["rows_read"])
    assert _rows(result, "customers")["rows_read"] == 1200
    assert _rows(result, "customers")["status"] == "ok"


def test_missing_files_and_plan_errors_are_all_reported(world, tmp_path, repo_root):
    (world / "spend.csv").rename(world / "spend_2025.csv")
    plan = yaml.safe_load((repo_root / "campaigns" / "spring_launch.yaml").read_text())
    plan["budget"]["total"] = 1
    plan_file = tmp_path / "bad.yaml"
    plan_file.write_text(yaml.safe_dump(plan))
    result = validate_data(world, campaign=plan_file, as_of=AS_OF)
    assert result.exit_code() == EXIT_ERRORS
    joined = "\n".join(result.errors)
    assert "missing required file spend.csv" in joined
    assert "budget.by_channel" in joined and str(plan_file) in joined


def test_missing_folder(tmp_path):
    result = validate_data(tmp_path / "nope")
    assert result.exit_code() == EXIT_ERRORS
    assert "data folder not found" in result.errors[0]
    plan = tmp_path / "autumn.yaml"  # the plan given where the data folder goes
    plan.write_text("name: autumn\n", encoding="utf-8")
    result = validate_data(plan)
    assert result.exit_code() == EXIT_ERRORS
    assert result.errors == [
        f"{plan}: a campaign plan, not a data folder; give the data folder first: "
        f"imclab validate DATA_FOLDER --campaign {plan}"
    ]


def test_header_only_optional_template_is_a_note_not_an_error(world):
    (world / "creatives.csv").write_text("creative_id,channel,campaign,language,text\n")
    result = validate_data(world, as_of=AS_OF)
    assert result.exit_code() == EXIT_CLEAN
    assert any("creatives.csv: no data rows" in n for n in result.notes)
    assert _rows(result, "creatives")["status"] == "absent"


GA4_COLUMNS = {
    "touchpoints": {
        "file": "ga4_export.csv",
        "rename": {
            "timestamp": "event_timestamp",
            "customer_id": "user_pseudo_id",
            "interaction": "event_name",
        },
        "transforms": {"timestamp": "epoch_micros"},
        "values": {"interaction": {"page_view": "visit", "session_start": "visit"}},
        "constants": {"campaign": "spring_launch", "cost": 0},
        "row_ids": {"event_id": "ga4-"},
        "channel": {
            "rules": [{"when": "traffic_source.source=google & traffic_source.medium=cpc",
                       "channel": "paid_search"}],
            "default": "direct",
        },
    }
}  # fmt: skip


def write_ga4_companions(data: Path) -> None:
    """The tables beside the GA4 export: its four customers, one order and one spend row."""
    ids = ["1001.17", "1002.42", "1003.08", "1004.90"]
    customers = pd.DataFrame({"customer_id": ids, "signup_date": "2025-01-05"})
    for col in ("age", "gender", "region", "city_tier", "device", "income_band",
                "loyalty_member", "newsletter_opt_in", "avg_session_minutes",
                "pages_per_visit", "discount_usage_rate"):  # fmt: skip
        customers[col] = ""
    customers.to_csv(data / "customers.csv", index=False)
    (data / "conversions.csv").write_text(
        "order_id,customer_id,timestamp,revenue\nO1,1001.17,2025-03-03T10:00:00,50\n"
    )
    (data / "spend.csv").write_text(
        "date,channel,campaign,spend,impressions,clicks\n"
        "2025-03-03,paid_search,spring_launch,100,1000,50\n"
    )


def test_plan_columns_map_a_ga4_export_and_messages_name_the_users_file(tmp_path, repo_root):
    data = tmp_path / "export"
    data.mkdir()
    shutil.copy(FIXTURE, data / FIXTURE.name)
    write_ga4_companions(data)
    plan = yaml.safe_load((repo_root / "campaigns" / "spring_launch.yaml").read_text())
    plan["columns"] = GA4_COLUMNS
    plan_file = tmp_path / "ga4.yaml"
    plan_file.write_text(yaml.safe_dump(plan, allow_unicode=True))

    result = validate_data(data, campaign=plan_file, as_of=AS_OF)
    assert result.errors == []
    tp = _rows(result, "touchpoints")
    assert tp["file"] == "ga4_export.csv"
    assert (tp["rows_read"], tp["rows_accepted"], tp["rows_quarantined"]) == (10, 7, 3)
    q = result.quarantine
    assert set(q["file"]) == {"ga4_export.csv"}
    # row 6: bad timestamp; rows 4 and 5: GA4 events this mapping gives no interaction
    assert sorted(q["row"].unique()) == [4, 5, 6]
    assert q.loc[q["column"] == "interaction", "value"].tolist() == ["email_open", "view_promotion"]
    assert q.loc[q["column"] == "timestamp", "row"].tolist() == [6]
    assert all(m.startswith("ga4_export.csv: ") for m in result.messages)
    assert (
        "ga4_export.csv: columns not used by columns.touchpoints: event_date, traffic_source.name"
        in result.notes
    )
    # the data only covers March 2025: the campaign period is not covered
    assert any("the campaign runs 2025-03-03 to 2025-05-25" in n for n in result.notes)
    assert result.exit_code() == EXIT_QUARANTINE


def test_plan_columns_naming_absent_columns_are_errors(tmp_path, repo_root, world):
    plan = yaml.safe_load((repo_root / "campaigns" / "spring_launch.yaml").read_text())
    plan["columns"] = {"conversions": {"rename": {"revenue": "order_value"}}}
    plan_file = tmp_path / "p.yaml"
    plan_file.write_text(yaml.safe_dump(plan, allow_unicode=True))
    result = validate_data(world, campaign=plan_file, as_of=AS_OF)
    assert result.exit_code() == EXIT_ERRORS
    assert result.errors == [
        "conversions.csv: columns.conversions.rename.revenue names column 'order_value', which "
        "is not in the file; columns: order_id, customer_id, timestamp, revenue"
    ]


def test_cli_validate_exit_codes(world, capsys):
    assert main(["validate", str(world), "--as-of", AS_OF]) == 0
    assert "Result: clean" in capsys.readouterr().out
    (world / "customers.csv").unlink()
    assert main(["validate", str(world)]) == 2
    assert "missing required file customers.csv" in capsys.readouterr().out


def test_readme_columns_example_is_a_valid_columns_section(repo_root):
    from imclab.plan import ColumnsSpec

    text = (repo_root / "README.md").read_text()
    section = text.split("## Use your own data", 1)[1].split("\n## ", 1)[0]
    block = section.split("```yaml\n", 1)[1].split("```", 1)[0]
    spec = ColumnsSpec.model_validate(yaml.safe_load(block)["columns"])
    assert set(spec.tables) == {"touchpoints", "spend"}
    assert spec.tables["spend"].transforms == {"date": "yyyymmdd", "spend": "micros"}
    # the commands the section tells the user to run exist
    for command in ("imclab init summer_sale --data", "imclab validate data/summer_sale",
                    "imclab run campaigns/summer_sale.yaml --data data/summer_sale"):  # fmt: skip
        assert command in section


def test_yaml_error_counts_once_though_printed_on_several_lines(world, tmp_path):
    plan_file = tmp_path / "broken.yaml"
    plan_file.write_text("name: x\ntitle: [unclosed\nstart: 2025-01-01\n")
    result = validate_data(world, campaign=plan_file, as_of=AS_OF)
    assert len(result.errors) == 1 and "not valid YAML" in result.errors[0]
    text = result.text()
    assert "Result: 1 error; fix it" in text
    # the continuation lines stay indented under the one error
    error_block = text.split("Errors:\n", 1)[1].split("\n\n", 1)[0].splitlines()
    assert error_block[0].startswith("  ") and all(ln.startswith("    ") for ln in error_block[1:])


def test_one_mistake_in_a_mapping_plan_is_one_error_not_a_missing_file_per_table(
    tmp_path, repo_root, world
):
    for table in ("customers", "touchpoints", "conversions", "spend"):  # exported names
        (world / f"{table}.csv").rename(world / f"export_{table}.csv")
    plan = yaml.safe_load((repo_root / "campaigns" / "spring_launch.yaml").read_text())
    plan["columns"] = {t: {"file": f"export_{t}.csv"} for t in ("customers", "conversions")}
    plan["columns"]["touchpoints"] = {"file": "export_touchpoints.csv", "renam": {}}  # typo
    plan["columns"]["spend"] = {"file": "export_spend.csv"}
    plan_file = tmp_path / "p.yaml"
    plan_file.write_text(yaml.safe_dump(plan, allow_unicode=True))
    result = validate_data(world, campaign=plan_file, as_of=AS_OF)
    assert result.exit_code() == EXIT_ERRORS
    assert len(result.errors) == 1 and "renam" in result.errors[0]
    assert not any("missing required file" in e for e in result.errors)
    assert any("columns: section loads" in n for n in result.notes)
    # fixed, the same folder validates
    plan["columns"]["touchpoints"] = {"file": "export_touchpoints.csv"}
    plan_file.write_text(yaml.safe_dump(plan, allow_unicode=True))
    assert validate_data(world, campaign=plan_file, as_of=AS_OF).errors == []


def test_a_row_after_a_blank_line_is_numbered_by_its_line(world):
    path = world / "conversions.csv"
    lines = path.read_text().splitlines()
    lines.insert(9, "")  # line 10 is blank
    lines[51] = ",,,"  # line 52: every field empty
    path.write_text("\n".join(lines) + "\n")
    result = validate_data(world, as_of=AS_OF)
    assert set(result.quarantine["row"]) == {51}  # row n is line n + 1
    assert all("row 51" in m for m in result.messages)


def _shifted(value, days):
    """The plan with every date moved by ``days`` (another campaign period)."""
    import datetime as dt

    if isinstance(value, dict):
        return {k: _shifted(v, days) for k, v in value.items()}
    if isinstance(value, list):
        return [_shifted(v, days) for v in value]
    if isinstance(value, dt.date):
        return value + dt.timedelta(days=days)
    return value


def _plan_file(tmp_path, repo_root, file="p.yaml", days=0, **changes):
    plan = yaml.safe_load((repo_root / "campaigns" / "spring_launch.yaml").read_text())
    plan = _shifted(plan, days)
    plan.update(changes)
    path = tmp_path / file
    path.write_text(yaml.safe_dump(plan, allow_unicode=True))
    return path


def test_plan_checks_what_the_run_needs_and_lists_skipped_sections(world, tmp_path, repo_root):
    # the small world has no A/B tests or creatives; the plan keeps no region dark
    result = validate_data(world, campaign=_plan_file(tmp_path, repo_root, holdout_regions=[]))
    assert result.errors == []
    skipped = "\n".join(result.skipped)
    ab_tests = "Experiments): No A/B tests (ab_tests.csv) in the data folder, so this section"
    assert ab_tests + " is skipped: add ab_tests.csv" in skipped
    assert "No creatives (creatives.csv) in the data folder" in skipped
    assert "(05 review, Incrementality): The plan lists no holdout_regions" in skipped
    assert "survey" not in skipped  # the world has one
    assert "Sections the run will skip:" in result.text()
    (world / "survey.csv").unlink()
    result = validate_data(world, campaign=_plan_file(tmp_path, repo_root))
    assert [s.split(":")[0] for s in result.skipped] == [
        "the brand funnel and share of mind (01 situation analysis) and the brand survey lift "
        "(05 review)",
        "the A/B tests (05 review, Experiments)",
        "brand consistency across channels (05 review)",
    ]


def test_plan_for_a_period_or_campaign_the_data_lacks_is_an_error(world, tmp_path, repo_root):
    early = validate_data(world, campaign=_plan_file(tmp_path, repo_root, "early.yaml", -730))
    assert early.exit_code() == EXIT_ERRORS
    joined = "\n".join(early.errors)
    assert "touchpoints: no row between 2023-03-04 and 2023-05-26" in joined
    assert "conversions: no row between" in joined
    other = validate_data(
        world, campaign=_plan_file(tmp_path, repo_root, "o.yaml", name="summer_sale")
    )
    assert other.exit_code() == EXIT_ERRORS
    assert any("campaign 'summer_sale' has no row in touchpoints or spend" in e
               for e in other.errors)  # fmt: skip


def test_budgeted_channel_without_spend_is_a_note(world, tmp_path, repo_root):
    spend = pd.read_csv(world / "spend.csv")
    spend[spend["channel"] != "tv"].to_csv(world / "spend.csv", index=False)
    result = validate_data(world, campaign=_plan_file(tmp_path, repo_root))
    assert result.errors == []
    assert any("without spend of campaign 'spring_launch': tv" in n for n in result.notes)


def test_validate_with_a_plan_counts_the_rows_the_run_analyses(world, tmp_path, repo_root):
    from imclab.plan import load_plan
    from imclab.warehouse import open_world, run_as_of

    plan_file = _plan_file(tmp_path, repo_root)
    result = validate_data(world, campaign=plan_file)
    run_world = open_world(world, as_of=run_as_of(load_plan(plan_file)))
    counts = result.tables.set_index("table")["rows_accepted"].dropna().astype(int).to_dict()
    assert counts == {t: len(f) for t, f in run_world.tables.items()}


def test_validate_lists_the_notebooks_a_world_without_orders_skips(world, tmp_path, repo_root):
    """The run's own rule (`find_gaps`): what validate lists is what the index marks skipped."""
    orders = pd.read_csv(world / "conversions.csv", dtype=str, keep_default_na=False)
    orders.assign(customer_id="X" + orders["customer_id"]).to_csv(
        world / "conversions.csv", index=False
    )
    result = validate_data(world, campaign=_plan_file(tmp_path, repo_root))
    assert result.exit_code() == EXIT_ERRORS  # every order quarantined is an error too
    whole = [s for s in result.skipped if "(the whole notebook)" in s]
    assert [s.split(" ")[0] for s in whole] == [
        "03_channel_attribution",
        "04_marketing_mix",
        "06_channel_integration",
        "07_plan_next_campaign",
    ]
    assert all("The data has no orders" in s and "add the brand's orders" in s for s in whole)
    text = result.text()
    assert text.index("Sections the run will skip:") < text.index(
        "\n  03_channel_attribution (the whole notebook): The data has no orders"
    )


def test_a_campaign_with_touches_but_no_spend_validates_and_lists_its_skips(
    world, tmp_path, repo_root
):
    """Validate passes (the campaign has touches); the run skips the model and the plan, which
    need the campaign's spend: before, notebook 04 reported a model lift from no spend."""
    spend = pd.read_csv(world / "spend.csv")
    spend[spend["campaign"] != "spring_launch"].to_csv(world / "spend.csv", index=False)
    result = validate_data(world, campaign=_plan_file(tmp_path, repo_root))
    assert result.errors == []
    whole = [s for s in result.skipped if "(the whole notebook)" in s]
    assert [s.split(" ")[0] for s in whole] == ["04_marketing_mix", "07_plan_next_campaign"]
    assert "no campaign spend of 'spring_launch' between 2025-03-03 and 2025-05-25" in whole[0]
    assert "add the campaign's rows to spend.csv" in whole[0]


def test_validate_lists_the_sections_a_survey_without_competitors_and_an_unspent_channel_skip(
    world, tmp_path, repo_root
):
    survey = pd.read_csv(world / "survey.csv")
    survey[survey["brand"] == "Lumina"].to_csv(world / "survey.csv", index=False)
    spend = pd.read_csv(world / "spend.csv")
    spend[spend["channel"] != "tv"].to_csv(world / "spend.csv", index=False)
    result = validate_data(world, campaign=_plan_file(tmp_path, repo_root))
    assert result.errors == []
    lines = [s for s in result.skipped if "(01 situation" in s or "(04, 05" in s]
    assert lines == [
        "the brand shares and funnel leaks against competitors (01 situation analysis): The "
        "survey has no rows for the plan's competitors, so the comparison is skipped: add their "
        "survey rows, or list the brands the survey asks about as the plan's competitors.",
        "the marketing mix, response curves and budget split (04, 05 and 07): The data has no "
        "campaign spend of the planned channel(s) tv between 2025-03-03 and 2025-05-25, so this "
        "section leaves them out: add their rows to spend.csv (campaign = the plan's name), or "
        "take them out of the plan's budget.",
    ]
    assert not [s for s in result.skipped if "(the whole notebook)" in s]
