"""Runs that never lose work: real interrupted, concurrent and repeated ``imclab run`` processes.

Each run is a separate ``imclab`` process (a small driver points the CLI at a throwaway
project), so signals, locks and folder swaps are exercised as a user meets them.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from imclab import config
from imclab import plan as plan_module
from imclab.cli import main
from imclab.report.runner import lock_path

DRIVER = """\
import sys
from pathlib import Path

from imclab import config, plan

root = Path(sys.argv[1])
config.REPO_ROOT = root
config.NOTEBOOKS_DIR = root / "notebooks"
config.SAMPLE_DATA_DIR = root / "data"
plan.CAMPAIGNS_DIR = root / "campaigns"
from imclab.cli import main

sys.exit(main(sys.argv[2:]))
"""

# Deterministic work: seeded draws, a groupby, a figure, headlines. `hold` lets a test keep
# the run inside the notebook (the lock held) until it removes the file.
WORK = (
    "import json, os, time\n"
    "import numpy as np, pandas as pd, matplotlib.pyplot as plt\n"
    "from imclab.report.headlines import record_headlines\n"
    "from imclab.plan import load_plan\n"
    "campaign = load_plan(campaign_file).name\n"
    "os.makedirs(trace_dir, exist_ok=True)\n"
    "with open(os.path.join(trace_dir, campaign + '.start'), 'w') as f:\n"
    "    f.write(json.dumps({'t': time.time(), 'pid': os.getpid()}))\n"
    "deadline = time.time() + 60\n"
    "while hold and os.path.exists(hold) and time.time() < deadline:\n"
    "    time.sleep(0.1)\n"
    "time.sleep(pause)\n"
    "rng = np.random.default_rng(11)\n"
    "df = pd.DataFrame({'channel': rng.choice(['search', 'social', 'tv'], 500),\n"
    "                   'revenue': rng.gamma(2.0, 30.0, 500)})\n"
    "table = df.groupby('channel', observed=True)['revenue'].agg(['count', 'sum']).round(3)\n"
    "record_headlines(report_dir, 'review', {'campaign': campaign, 'roi': round(\n"
    "    float(df.revenue.sum() / 20000 - 1), 4), 'by_channel': table['sum'].to_dict()})\n"
    "with open(os.path.join(trace_dir, campaign + '.end'), 'w') as f:\n"
    "    f.write(json.dumps({'t': time.time()}))\n"
    "table"
)
FIGURE = (
    "fig, ax = plt.subplots(figsize=(3, 2))\n"
    "table['sum'].plot.bar(ax=ax)\n"
    "ax.set_title(campaign)\n"
    "plt.show()"
)
PARAMS = (
    'trace_dir: str = ""  # where the test reads progress\n'
    'hold: str = ""  # wait while this file exists\n'
    "pause: float = 0.0  # seconds to sleep\n"
)


@pytest.fixture
def project(tmp_path, write_notebook, write_plan, put_world):
    """A project folder with a one-notebook suite and campaigns alpha, beta and demo."""
    write_notebook(tmp_path / "notebooks" / "00_work.ipynb", [WORK, FIGURE], PARAMS)
    put_world(tmp_path / "data")
    (tmp_path / "driver.py").write_text(DRIVER)
    return tmp_path


def _plan(project: Path, write_plan, name: str, **params) -> Path:
    values = {"trace_dir": str(project / "trace"), **params}
    return write_plan(
        project / "campaigns" / f"{name}.yaml", name=name, notebook_params={"00_work": values}
    )


def _start(project: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, str(project / "driver.py"), str(project), "run", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=project,
    )


def _wait_for(path: Path, proc: subprocess.Popen[str], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        if proc.poll() is not None:
            pytest.fail(f"the run ended before {path.name} appeared: {proc.communicate()}")
        if time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"{path.name} did not appear within {timeout} s")
        time.sleep(0.1)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _listing(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()
    }


def _use_project(monkeypatch, project: Path) -> None:
    monkeypatch.setattr(config, "REPO_ROOT", project)
    monkeypatch.setattr(config, "NOTEBOOKS_DIR", project / "notebooks")
    monkeypatch.setattr(config, "SAMPLE_DATA_DIR", project / "data")
    monkeypatch.setattr(plan_module, "CAMPAIGNS_DIR", project / "campaigns")


def test_sigterm_keeps_the_last_good_report_and_says_where_the_partial_output_is(
    project, write_plan
):
    hold = project / "hold"
    hold.write_text("")
    _plan(project, write_plan, "demo", hold=str(hold))
    previous = project / "reports" / "demo"
    previous.mkdir(parents=True)
    (previous / "index.html").write_text("last good report")
    (previous / "00_work.html").write_text("last good page")
    before = _listing(previous)

    proc = _start(project, "demo")
    _wait_for(project / "trace" / "demo.start", proc)  # the kernel is inside the notebook
    kernel_pid = json.loads((project / "trace" / "demo.start").read_text())["pid"]
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=60)

    assert proc.returncode == 130, err
    err = err[err.index("imclab: interrupted:") :]
    assert err.startswith("imclab: interrupted: notebook 00_work.ipynb was interrupted")
    assert "Partial output kept in reports/demo.failed/" in err
    assert "the previous report reports/demo/ is untouched" in err
    assert out == ""
    assert _listing(previous) == before
    reports = project / "reports"
    assert sorted(p.name for p in reports.iterdir()) == ["demo", "demo.failed"]  # no tmp, lock
    failed_index = (reports / "demo.failed" / "index.html").read_text(encoding="utf-8")
    assert '<span class="status status-failed">failed</span>' in failed_index
    assert "was interrupted (Ctrl-C or SIGTERM)" in failed_index
    deadline = time.monotonic() + 15
    while _pid_alive(kernel_pid) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not _pid_alive(kernel_pid), "the notebook's kernel outlived the interrupted run"


def test_a_sigkilled_runs_temporary_folder_is_removed_by_the_next_run(
    project, write_plan, monkeypatch
):
    hold = project / "hold"
    hold.write_text("")
    _plan(project, write_plan, "demo", hold=str(hold))
    proc = _start(project, "demo")
    _wait_for(project / "trace" / "demo.start", proc)
    kernel_pid = json.loads((project / "trace" / "demo.start").read_text())["pid"]
    proc.kill()  # SIGKILL: no cleanup runs
    proc.communicate(timeout=60)
    hold.unlink()  # let the orphaned kernel finish
    reports = project / "reports"
    left = sorted(p.name for p in reports.glob(".demo.tmp-*"))
    assert len(left) == 1 and (reports / left[0] / ".snapshot").is_dir()
    other = reports / ".demo_other.tmp-x1"  # another campaign's folder is never touched
    other.mkdir()
    deadline = time.monotonic() + 30
    while _pid_alive(kernel_pid) and time.monotonic() < deadline:
        time.sleep(0.2)

    _use_project(monkeypatch, project)
    monkeypatch.chdir(project)
    _plan(project, write_plan, "demo")
    assert main(["run", "demo"]) == 0
    # another campaign's leftover stays; the run history is kept beside the reports
    assert sorted(p.name for p in reports.iterdir()) == [
        ".demo_other.tmp-x1",
        "demo",
        "history.parquet",
    ]


def test_two_campaigns_at_once_do_not_interfere(project, write_plan):
    for name in ("alpha", "beta"):
        _plan(project, write_plan, name, pause=2.0)
    procs = {name: _start(project, name) for name in ("alpha", "beta")}
    results = {name: proc.communicate(timeout=120) for name, proc in procs.items()}
    for name, proc in procs.items():
        assert proc.returncode == 0, results[name][1]
    trace = project / "trace"
    starts = [json.loads((trace / f"{n}.start").read_text())["t"] for n in ("alpha", "beta")]
    ends = [json.loads((trace / f"{n}.end").read_text())["t"] for n in ("alpha", "beta")]
    assert max(starts) < min(ends), "the two runs did not overlap; the test proves nothing"

    reports = project / "reports"
    assert sorted(p.name for p in reports.iterdir()) == ["alpha", "beta", "history.parquet"]
    # both runs finished at about the same time: the run history holds both, none lost
    from imclab.report.history import read_history

    assert sorted(set(read_history(reports)["campaign"])) == ["alpha", "beta"]
    for name in ("alpha", "beta"):
        headlines = json.loads((reports / name / "headlines" / "review.json").read_text())
        assert headlines["campaign"] == name
        assert sorted(p.name for p in (reports / name).iterdir()) == [
            "00_work.html",
            "00_work.ipynb",
            "headlines",
            "index.html",
        ]
        notebook = (reports / name / "00_work.ipynb").read_text(encoding="utf-8")
        assert f"campaigns/{name}.yaml" in notebook
        other = "beta" if name == "alpha" else "alpha"
        assert other not in notebook
    alpha = json.loads((reports / "alpha" / "headlines" / "review.json").read_text())
    beta = json.loads((reports / "beta" / "headlines" / "review.json").read_text())
    assert {k: v for k, v in alpha.items() if k != "campaign"} == {
        k: v for k, v in beta.items() if k != "campaign"
    }


def test_same_campaign_twice_fails_clearly_and_reruns_are_identical(
    project, write_plan, monkeypatch, capsys
):
    hold = project / "hold"
    hold.write_text("")
    _plan(project, write_plan, "demo", hold=str(hold))
    first = _start(project, "demo")
    _wait_for(project / "trace" / "demo.start", first)

    _use_project(monkeypatch, project)
    assert main(["run", "demo"]) == 2  # the second run of the same campaign
    err = capsys.readouterr().err
    lock = lock_path(project / "reports" / "demo")
    assert err == (
        f"imclab: error: another imclab run (process {first.pid}) is writing demo; wait for it "
        f"to finish. If no run is active, delete the lock file {lock}\n"
    )
    assert not (project / "reports" / "demo").exists()  # nothing of the second run

    hold.unlink()
    out, err = first.communicate(timeout=120)
    assert first.returncode == 0, err
    report = project / "reports" / "demo"
    first_run = _listing(report)

    assert main(["run", "demo"]) == 0  # again, on the same data: identical numbers
    capsys.readouterr()
    second_run = _listing(report)
    assert sorted(first_run) == sorted(second_run)
    assert json.loads(first_run["headlines/review.json"]) == json.loads(
        second_run["headlines/review.json"]
    )
    for name in first_run:  # notebooks (outputs, figure PNG), pages and index, byte for byte
        assert first_run[name] == second_run[name], name
    assert not lock.exists()
