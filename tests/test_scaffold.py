from __future__ import annotations

import pandas as pd
import pytest
import yaml

from imclab.cli import main
from imclab.data.schemas import SCHEMAS, TABLES
from imclab.errors import ParameterError
from imclab.plan import load_plan
from imclab.scaffold import csv_header, init_campaign, plan_template


def test_init_writes_a_valid_plan_and_header_templates(tmp_path):
    result = init_campaign("acme_spring-25", tmp_path / "data", tmp_path / "campaigns")
    assert result.plan_file == tmp_path / "campaigns" / "acme_spring-25.yaml"
    plan = load_plan(result.plan_file)  # valid as written
    assert plan.name == "acme_spring-25"
    assert plan.title == "Acme Spring 25"
    assert plan.columns is None  # the GA4 example is commented out
    assert [p.name for p in result.written] == [f"{t}.csv" for t in TABLES]
    for table in TABLES:
        frame = pd.read_csv(tmp_path / "data" / f"{table}.csv")
        assert list(frame.columns) == list(SCHEMAS[table].columns)
        assert frame.empty


def test_template_is_commented_and_its_columns_example_is_valid(tmp_path):
    text = plan_template("acme")
    assert text.count("\n#") > 20  # explains itself
    # uncommenting the columns: example gives a valid mapping section
    lines = text.splitlines()
    start = lines.index("# columns:")
    example = "\n".join(line[2:] for line in lines[start:] if line.startswith("# "))
    data = yaml.safe_load(text)
    data["columns"] = yaml.safe_load(example)["columns"]
    from imclab.plan import parse_plan

    plan = parse_plan(data)
    touch = plan.columns.tables["touchpoints"]
    assert touch.transforms == {"timestamp": "epoch_micros"}
    assert [r.channel for r in touch.channel.rules] == ["paid_search", "seo", "edm"]


def test_init_refuses_to_overwrite_a_plan(tmp_path):
    init_campaign("acme", tmp_path / "data", tmp_path / "campaigns")
    before = (tmp_path / "campaigns" / "acme.yaml").read_text()
    (tmp_path / "campaigns" / "acme.yaml").write_text(before + "# my edits\n")
    with pytest.raises(ParameterError, match="already exists; imclab init never overwrites"):
        init_campaign("acme", tmp_path / "other", tmp_path / "campaigns")
    assert (tmp_path / "campaigns" / "acme.yaml").read_text().endswith("# my edits\n")
    assert not (tmp_path / "other").exists()


def test_init_keeps_existing_data_files(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    (data / "customers.csv").write_text("customer_id\nC1\n")
    (data / "spend.parquet").write_bytes(b"not really parquet")
    result = init_campaign("acme", data, tmp_path / "campaigns")
    assert (data / "customers.csv").read_text() == "customer_id\nC1\n"
    assert sorted(p.name for p in result.kept) == ["customers.csv", "spend.parquet"]
    assert not (data / "spend.csv").exists()
    assert "kept your existing customers.csv, spend.parquet" in result.guide


@pytest.mark.parametrize("name", ["Acme", "../acme", "a b", "", "-acme", "a" * 65, "acme/x"])
def test_init_validates_the_name_like_plan_names(tmp_path, name):
    with pytest.raises(ParameterError, match="not a safe name"):
        init_campaign(name, tmp_path / "data", tmp_path / "campaigns")
    assert not (tmp_path / "campaigns").exists()


def test_csv_header_follows_the_schema():
    assert csv_header("conversions") == "order_id,customer_id,timestamp,revenue\n"
    with pytest.raises(ParameterError, match="unknown table 'orders'"):
        csv_header("orders")


def test_cli_init_prints_the_next_commands(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)  # another folder than the package's repository
    assert main(["init", "acme", "--data", "mydata"]) == 0
    assert (tmp_path / "campaigns" / "acme.yaml").is_file()
    out = capsys.readouterr().out
    assert "imclab validate mydata --campaign campaigns/acme.yaml" in out
    assert "imclab run campaigns/acme.yaml --data mydata" in out
    assert (tmp_path / "mydata" / "touchpoints.csv").is_file()
    assert main(["init", "acme"]) == 2
    assert "already exists" in capsys.readouterr().err


def test_init_writes_into_the_project_of_the_current_folder(tmp_path, monkeypatch, repo_root):
    project = tmp_path / "clone"
    (project / "campaigns").mkdir(parents=True)
    work = project / "notebooks"
    work.mkdir()
    monkeypatch.chdir(work)  # inside the project, below its root
    result = init_campaign("acme")
    assert result.plan_file == project / "campaigns" / "acme.yaml"
    assert result.data_dir == project / "data" / "acme"
    assert not (repo_root / "campaigns" / "acme.yaml").exists()
