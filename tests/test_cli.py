"""The imclab command line: exit codes, error printing, run and simulate plumbing."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pandas as pd
import pytest
import yaml

from imclab import config
from imclab import plan as plan_module
from imclab.cli import main
from imclab.simulate import simulate_world

REPO = Path(__file__).resolve().parents[1]
PARAMETERS = (
    'campaign_file: str = "../campaigns/demo.yaml"  # plan\n'
    'data_dir: str = "../data/sample"  # data\n'
    'report_dir: str = ""  # report folder\n'
)


def _notebook(path: Path, code: str) -> None:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "imclab", "display_name": "imclab", "language": "python"}
    params = nbformat.v4.new_code_cell(PARAMETERS)
    params.metadata["tags"] = ["parameters"]
    nb.cells = [params, nbformat.v4.new_code_cell(code)]
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)


@pytest.fixture
def project(tmp_path, monkeypatch):
    """A repository-like folder the CLI uses instead of the real repository."""
    _notebook(
        tmp_path / "notebooks" / "00_ok.ipynb",
        "print('rows', len(open_world(data_dir).customers))",
    )
    _notebook(tmp_path / "notebooks" / "01_boom.ipynb", "raise KeyError('channel')")
    nb = nbformat.read(tmp_path / "notebooks" / "00_ok.ipynb", as_version=4)
    nb.cells[1].source = "from imclab.warehouse import open_world\n" + nb.cells[1].source
    nbformat.write(nb, tmp_path / "notebooks" / "00_ok.ipynb")
    simulate_world(tmp_path / "data" / "sample", seed=3, n_customers=150)
    plan = yaml.safe_load((REPO / "campaigns" / "spring_launch.yaml").read_text(encoding="utf-8"))
    plan["name"] = "demo"
    (tmp_path / "campaigns").mkdir()
    (tmp_path / "campaigns" / "demo.yaml").write_text(yaml.safe_dump(plan), encoding="utf-8")
    monkeypatch.setattr(config, "REPO_ROOT", tmp_path)
    monkeypatch.setattr(config, "NOTEBOOKS_DIR", tmp_path / "notebooks")
    monkeypatch.setattr(config, "SAMPLE_DATA_DIR", tmp_path / "data" / "sample")
    monkeypatch.setattr(plan_module, "CAMPAIGNS_DIR", tmp_path / "campaigns")
    return tmp_path


def test_help_and_usage_errors(capsys):
    assert main(["--help"]) == 0
    assert "run" in capsys.readouterr().out
    assert main([]) == 2
    assert main(["run"]) == 2  # no plan
    assert main(["run", "x.yaml", "--engine", "pandas"]) == 2
    assert "invalid choice: 'pandas'" in capsys.readouterr().err


def test_imclab_error_is_printed_without_traceback(tmp_path, capsys):
    missing = tmp_path / "nope.yaml"
    assert main(["run", str(missing)]) == 2
    captured = capsys.readouterr()
    assert captured.err.startswith(f"imclab: error: {missing}: no such plan file")
    assert "Traceback" not in captured.err
    assert captured.out == ""


def test_unknown_only_name_exits_2_listing_notebooks(project, capsys):
    plan = project / "campaigns" / "demo.yaml"
    assert main(["run", str(plan), "--only", "attribution"]) == 2
    assert capsys.readouterr().err == (
        "imclab: error: unknown notebook 'attribution'; available notebooks: 00_ok, 01_boom\n"
    )
    assert not (project / "reports").exists()


def test_run_succeeds_with_data_and_out_options(project, capsys):
    data = simulate_world(project / "other_world", seed=4, n_customers=120)
    out = project / "custom_report"
    code = main(["run", str(project / "campaigns" / "demo.yaml"), "--only", "00", "--data",
                 str(data), "--out", str(out)])  # fmt: skip
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert captured.out == f"report: {out / 'index.html'} (1 notebook(s) run)\n"
    assert "[1/1] 00_ok" in captured.err
    executed = nbformat.read(out / "00_ok.ipynb", as_version=4)
    assert executed.cells[-1].outputs[0].text == "rows 120\n"  # the --data world
    assert 'data_dir = "other_world"' in executed.cells[1].source
    index = (out / "index.html").read_text(encoding="utf-8")
    assert '<span class="status status-not-run">not run</span>' in index
    assert not (project / "reports" / "demo").exists()


def test_failing_notebook_exits_2_naming_it_and_keeps_partial_output(project, capsys):
    assert main(["run", "demo", "--only", "01_boom"]) == 2  # a plan name in campaigns/
    err = capsys.readouterr().err
    err = err[err.index("imclab: error:") :]  # after the progress bar
    assert err.startswith("imclab: error: notebook 01_boom.ipynb failed in cell 2")
    assert "    raise KeyError('channel')\nKeyError: 'channel'\n" in err
    assert "reports/demo.failed/" in err
    assert "Traceback" not in err
    assert (project / "reports" / "demo.failed" / "01_boom.html").is_file()
    assert not (project / "reports" / "demo").exists()


def test_run_on_data_without_a_required_table_fails_before_any_notebook(project, capsys):
    (project / "data" / "sample" / "spend.csv").unlink()
    assert main(["run", "demo"]) == 2
    err = capsys.readouterr().err
    assert "imclab: error:" in err and "missing required file spend.csv" in err
    assert "Traceback" not in err
    reports = project / "reports"
    assert not reports.exists() or sorted(p.name for p in reports.iterdir()) == []


def test_simulate_writes_a_world(tmp_path, capsys):
    out = tmp_path / "world"
    assert main(["simulate", "--seed", "3", "--customers", "150", "--out", str(out)]) == 0
    assert "brand world written to" in capsys.readouterr().out
    customers = pd.read_csv(out / "customers.csv")
    assert len(customers) == 150
    again = tmp_path / "world_parquet"
    assert main(["simulate", "--seed", "3", "--customers", "150", "--out", str(again),
                 "--format", "parquet"]) == 0  # fmt: skip
    assert len(pd.read_parquet(again / "customers.parquet")) == 150
    assert not (out / "truth" / "faults.csv").exists()


@pytest.mark.parametrize(
    "args, message",
    [
        (["--start", "2025-13-01"], "simulate: --start/--end: month must be in 1..12"),
        (["--start", "2025-10-01", "--end", "2025-09-01"], "--start 2025-10-01 is after --end"),
        (["--start", "2025-09-01", "--end", "2025-09-05"], "lasts 5 days; the simulator needs"),
        (["--plan", "no_such_plan"], "no_such_plan"),
    ],
)
def test_simulate_calendar_options_are_checked(tmp_path, capsys, args, message):
    out = tmp_path / "world"
    assert main(["simulate", "--customers", "150", "--out", str(out), *args]) == 2
    err = capsys.readouterr().err
    assert err.startswith("imclab: error: ") and message in err
    assert not (out / "customers.csv").exists()


def test_simulate_with_faults_reproduces_the_sample(regenerated_sample, sample_dir):
    out = regenerated_sample  # `imclab simulate --seed 20250301 --customers 5000 --faults`
    for name in ("touchpoints.csv", "truth/faults.csv"):
        assert (out / name).read_bytes() == (sample_dir / name).read_bytes()


def test_a_command_is_one_function_in_commands(monkeypatch, capsys):
    from imclab import cli

    def add_hello(commands):
        hello = commands.add_parser("hello", help="say hello")
        hello.add_argument("--name", default="world")
        hello.set_defaults(handler=lambda args: print(f"hello {args.name}") or 0)

    monkeypatch.setattr(cli, "COMMANDS", [*cli.COMMANDS, add_hello])
    assert main(["hello", "--name", "春"]) == 0
    assert capsys.readouterr().out == "hello 春\n"
    assert main(["--help"]) == 0
    listed = [line.split()[0] for line in capsys.readouterr().out.splitlines()
              if line.startswith("    ") and not line.startswith("     ")]  # fmt: skip
    assert listed[:2] == ["run", "simulate"] and listed[-1] == "hello"
