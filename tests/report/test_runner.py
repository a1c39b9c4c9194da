"""Runner: parameter checks before execution, atomic publication, failures, locks."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pandas as pd
import pytest

from imclab.errors import DataError, ParameterError
from imclab.report.runner import (
    MMM_PARAMETER,
    NotebookFailedError,
    PreparedRun,
    ReportLockedError,
    clean_stale_runs,
    lock_path,
    prepare_run,
    replace_dir,
    report_lock,
    run_campaign,
)

TITLE = "<script>alert('x')</script> 春季发布 🌸"
HIDDEN_CODE_MARKER = "# CODE-MARKER-7f3a"
TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d")
# every notebook opens the world with its own as-of: the run's snapshot decides for all
WORLD_CELL = (
    "from imclab.warehouse import is_snapshot, open_world\n"
    "w = open_world(data_dir, as_of=as_of)\n"
    "print('world:', is_snapshot(data_dir), w.report.as_of, len(w.touchpoints), len(w.quarantine))"
)


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def _listing(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()
    }


# ----------------------------------------------------------------------------------------
# One successful run (2 kernels) over a previous report, an old failure and a stale lock
# ----------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def success(tmp_path_factory, write_notebook, write_plan, put_world):
    root = tmp_path_factory.mktemp("success")
    nbs = root / "notebooks"
    write_notebook(
        nbs / "00_first.ipynb",
        [
            "from imclab.report.headlines import record_headlines\n"
            f"{HIDDEN_CODE_MARKER}\n"
            'record_headlines(report_dir, "audit", {"customers": 1234, "share": 0.4567, '
            '"名称": "品牌 🎉"})\n'
            "print('engine:', engine)",
            "import os\nprint('cwd:', os.getcwd())\nprint('data:', os.path.abspath(data_dir))",
            WORLD_CELL.replace("as_of=as_of", "as_of='2030-01-01'"),
        ],
        extra_parameters='engine: str = "duckdb"  # duckdb or spark\n',
        markdown="# First notebook\n\nMarkdown 说明 🎯",
    )
    write_notebook(
        nbs / "01_second.ipynb",
        [
            "print('greeting:', greeting)\nprint('report:', report_dir)",
            WORLD_CELL.replace("as_of=as_of", "as_of=None"),
        ],
        extra_parameters='greeting: str = "hello"  # who to greet\n',
    )
    write_notebook(nbs / "scratch.ipynb", ["raise RuntimeError('not part of the suite')"])
    put_world(root / "data")
    plan = write_plan(
        root / "campaigns" / "demo.yaml",
        name="demo",
        title=TITLE,
        notebook_params={"01_second": {"greeting": "你好 👋"}},
    )
    reports = root / "reports"
    (reports / "demo").mkdir(parents=True)
    (reports / "demo" / "index.html").write_text("previous report")
    (reports / "demo" / "old.txt").write_text("previous report")
    (reports / "demo.failed").mkdir()
    (reports / "demo.failed" / "index.html").write_text("older failure")
    stale_pid = _dead_pid()
    lock_path(reports / "demo").write_text(f"{stale_pid}\n")
    for left in (".demo.tmp-killed1", ".demo.old-killed1"):  # a SIGKILLed run's leftovers
        (reports / left / "sub").mkdir(parents=True)

    result = run_campaign(
        plan, notebooks_dir=nbs, data_dir=root / "data", root=root, engine="spark"
    )
    return root, result


def test_success_publishes_the_report_and_replaces_the_previous_one(success):
    root, result = success
    report = root / "reports" / "demo"
    assert result.report_dir == report
    assert sorted(p.name for p in report.iterdir()) == [
        "00_first.html",
        "00_first.ipynb",
        "01_second.html",
        "01_second.ipynb",
        "headlines",
        "index.html",
    ]
    assert not (report / "old.txt").exists()
    assert json.loads((report / "headlines" / "audit.json").read_text(encoding="utf-8")) == {
        "customers": 1234,
        "share": 0.4567,
        "名称": "品牌 🎉",
    }
    assert [(e.name, e.status, e.html) for e in result.notebooks] == [
        ("00_first", "ok", "00_first.html"),
        ("01_second", "ok", "01_second.html"),
    ]


def test_success_leaves_no_temporary_backup_failed_folder_or_lock(success):
    root, _ = success
    reports = root / "reports"
    # stale lock taken over; a killed run's .demo.tmp-* and .demo.old-* folders removed
    # the run history (history.parquet) is kept beside the reports
    assert sorted(p.name for p in reports.iterdir()) == ["demo", "history.parquet"]


def test_every_notebook_reads_the_runs_snapshot_validated_once(success, tiny_world):
    from imclab.plan import load_plan
    from imclab.warehouse import open_world, run_as_of

    root, _ = success
    plan = load_plan(root / "campaigns" / "demo.yaml")
    expected = open_world(tiny_world, as_of=run_as_of(plan))
    lines = {}
    for name in ("00_first", "01_second"):
        nb = nbformat.read(root / "reports" / "demo" / f"{name}.ipynb", as_version=4)
        text = "".join(
            o.get("text", "") for c in nb.cells for o in c.get("outputs", []) if "text" in o
        )
        lines[name] = next(line for line in text.splitlines() if line.startswith("world:"))
    # the notebooks asked for 2030-01-01 and for now: both got the run's rule and rows
    want = (
        f"world: True {expected.report.as_of} {len(expected.touchpoints)} "
        f"{len(expected.quarantine)}"
    )
    assert lines == {"00_first": want, "01_second": want}
    assert expected.report.as_of == pd.Timestamp(f"{plan.measurement_end} 23:59:59")
    assert not (root / "reports" / "demo" / ".snapshot").exists()  # not published


def test_clean_stale_runs_removes_only_this_reports_leftovers(tmp_path):
    reports = tmp_path / "reports"
    for name in (".demo.tmp-a1", ".demo.old-b2", ".demo2.tmp-c3", ".dem.tmp-d4", "demo"):
        (reports / name).mkdir(parents=True)
    (reports / ".demo.tmp-file").write_text("not a folder")
    removed = clean_stale_runs(reports / "demo")
    assert [p.name for p in removed] == [".demo.old-b2", ".demo.tmp-a1"]
    assert sorted(p.name for p in reports.iterdir()) == [
        ".dem.tmp-d4", ".demo.tmp-file", ".demo2.tmp-c3", "demo",
    ]  # fmt: skip


def test_report_folder_is_readable_not_private(success):
    root, _ = success
    mode = (root / "reports" / "demo").stat().st_mode & 0o777
    assert mode & 0o755 == 0o755 & ~_umask()


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_parameters_injected_with_paths_relative_to_the_root(success):
    root, _ = success
    first = nbformat.read(root / "reports" / "demo" / "00_first.ipynb", as_version=4)
    injected = [c for c in first.cells if "injected-parameters" in c.metadata.get("tags", [])]
    assert len(injected) == 1
    assert injected[0].id == "injected-parameters"
    assert injected[0].source.splitlines()[1:] == [
        'campaign_file = "campaigns/demo.yaml"',
        'data_dir = "data"',
        'report_dir = "reports/demo"',
        'engine = "spark"',
    ]
    outputs = "".join(o.get("text", "") for c in first.cells for o in c.get("outputs", []))
    assert "engine: spark" in outputs
    assert "cwd: notebooks\n" in outputs  # the kernel ran in the notebooks folder
    assert "data: data\n" in outputs

    second = nbformat.read(root / "reports" / "demo" / "01_second.ipynb", as_version=4)
    injected = next(c for c in second.cells if "injected-parameters" in c.metadata.get("tags", []))
    assert "engine" not in injected.source  # 01_second declares no engine parameter
    outputs = "".join(o.get("text", "") for c in second.cells for o in c.get("outputs", []))
    assert "greeting: 你好 👋" in outputs
    assert "report: reports/demo\n" in outputs  # the temporary folder is not shown


def test_saved_notebooks_and_pages_have_no_machine_paths_or_timestamps(success):
    root, _ = success
    report = root / "reports" / "demo"
    for path in sorted(report.glob("*.ipynb")) + sorted(report.glob("*.html")):
        text = path.read_text(encoding="utf-8")
        assert str(root) not in text, path.name
        assert ".demo.tmp-" not in text, path.name
        assert TIMESTAMP.search(text) is None, path.name
    for path in report.glob("*.ipynb"):
        nb = nbformat.read(path, as_version=4)
        assert "papermill" not in nb.metadata
        for cell in nb.cells:
            assert "papermill" not in cell.metadata
            assert "execution" not in cell.metadata


def test_code_is_hidden_by_default(success):
    root, _ = success
    report = root / "reports" / "demo"
    page = (report / "00_first.html").read_text(encoding="utf-8")
    assert "Markdown 说明 🎯" in page
    assert "engine: spark" in page
    assert HIDDEN_CODE_MARKER not in page
    assert HIDDEN_CODE_MARKER in (report / "00_first.ipynb").read_text(encoding="utf-8")


def test_index_links_statuses_headlines_and_escaping(success):
    root, _ = success
    page = (root / "reports" / "demo" / "index.html").read_text(encoding="utf-8")
    assert '<a href="00_first.html">00_first</a>' in page
    assert '<a href="01_second.html">01_second</a>' in page
    assert page.count('<span class="status status-ok">ok</span>') == 2
    assert "scratch" not in page
    assert "<script" not in page
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; 春季发布 🌸" in page
    assert '<div class="value">1,234</div>' in page
    assert "<dt>名称</dt><dd>品牌 🎉</dd>" in page  # text is shown as text, not a number tile
    assert "<dd>campaigns/demo.yaml</dd>" in page
    assert "<dd>spark</dd>" in page


# ----------------------------------------------------------------------------------------
# One failing run (2 kernels): 00 ok, 01 raises, 02 never runs
# ----------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def failure(tmp_path_factory, write_notebook, write_plan, put_world):
    root = tmp_path_factory.mktemp("failure")
    nbs = root / "notebooks"
    write_notebook(nbs / "00_ok.ipynb", [f"{HIDDEN_CODE_MARKER}\nprint('fine')"])
    write_notebook(
        nbs / "01_boom.ipynb",
        ["x = 1", "total = x + 1\nraise ValueError('budget 爆了 at ' + data_dir)"],
    )
    write_notebook(nbs / "02_after.ipynb", ["print('never')"])
    put_world(root / "data")
    plan = write_plan(root / "demo.yaml", name="demo")
    previous = root / "reports" / "demo"
    previous.mkdir(parents=True)
    (previous / "index.html").write_text("previous complete report")
    (previous / "00_ok.html").write_text("previous page")
    older_failure = root / "reports" / "demo.failed"
    older_failure.mkdir()
    (older_failure / "stale.txt").write_text("older failure")
    before = _listing(previous)
    cwd = os.getcwd()
    os.chdir(root)  # where the user types `imclab run`: messages name paths from here
    try:
        with pytest.raises(NotebookFailedError) as info:
            run_campaign(plan, notebooks_dir=nbs, data_dir=root / "data", root=root, show_code=True)
    finally:
        os.chdir(cwd)
    return root, info.value, before


def test_failure_message_names_notebook_cell_and_exception(failure):
    root, error, _ = failure
    message = str(error)
    assert error.notebook == "01_boom"
    # cells: title, parameters, injected parameters, "x = 1", failing cell -> index 4
    assert message.startswith("notebook 01_boom.ipynb failed in cell 4 (execution count In [4])")
    assert "    total = x + 1\n    raise ValueError" in message
    assert "ValueError: budget 爆了 at data" in message  # the data path is shown relative
    assert "reports/demo.failed/" in message
    assert "the previous report reports/demo/ is untouched" in message
    assert str(root) not in message


def test_paths_in_messages_open_from_the_current_folder(tmp_path, monkeypatch):
    # --out elsewhere: the failure path must not be relative to the project root
    project, elsewhere = tmp_path / "project", tmp_path / "elsewhere" / "demo.failed"
    project.mkdir()
    monkeypatch.chdir(project)
    assert PreparedRun.tell(elsewhere) == str(elsewhere.resolve())
    assert PreparedRun.tell(project / "reports" / "demo.failed") == "reports/demo.failed"
    monkeypatch.chdir(elsewhere.parent.parent)
    assert PreparedRun.tell(elsewhere) == "elsewhere/demo.failed"


def test_failure_leaves_the_previous_report_untouched(failure):
    root, _, before = failure
    assert _listing(root / "reports" / "demo") == before


def test_failure_keeps_partial_output_replacing_the_older_failure(failure):
    root, error, _ = failure
    failed = root / "reports" / "demo.failed"
    assert error.failed_dir == failed
    # the validated data the notebooks read stays with them: a notebook can be re-run on it
    assert sorted(p.name for p in failed.iterdir()) == [
        ".snapshot",
        "00_ok.html",
        "00_ok.ipynb",
        "01_boom.html",
        "01_boom.ipynb",
        "index.html",
    ]
    assert sorted(p.name for p in (root / "reports").iterdir()) == ["demo", "demo.failed"]
    boom = nbformat.read(failed / "01_boom.ipynb", as_version=4)
    errors = [o for c in boom.cells for o in c.get("outputs", []) if o.output_type == "error"]
    assert [e.ename for e in errors] == ["ValueError"]
    assert str(root) not in (failed / "01_boom.ipynb").read_text(encoding="utf-8")


def test_failed_index_marks_failed_and_not_run(failure):
    root, _, _ = failure
    page = (root / "reports" / "demo.failed" / "index.html").read_text(encoding="utf-8")
    rows = re.findall(r'<tr class="status-([a-z-]+)"><td>(.*?)</td>', page, flags=re.S)
    assert [(status, cell.split("<pre")[0]) for status, cell in rows] == [
        ("ok", '<a href="00_ok.html">00_ok</a>'),
        ("failed", '<a href="01_boom.html">01_boom</a>'),
        ("not-run", "02_after"),
    ]
    assert "ValueError: budget 爆了 at data" in page
    assert "notebook 01_boom failed" in page


def test_show_code_keeps_code_cells(failure):
    root, _, _ = failure
    page = (root / "reports" / "demo.failed" / "00_ok.html").read_text(encoding="utf-8")
    assert HIDDEN_CODE_MARKER in page


# ----------------------------------------------------------------------------------------
# Checks before anything runs (no kernel)
# ----------------------------------------------------------------------------------------
@pytest.fixture
def suite(tmp_path, write_notebook, write_plan, put_world):
    nbs = tmp_path / "notebooks"
    write_notebook(nbs / "00_audit.ipynb", ["print(1)"], 'engine: str = "duckdb"  # engine\n')
    write_notebook(nbs / "01_personas.ipynb", ["print(2)"], "k: int = 4  # clusters\n")
    put_world(tmp_path / "data")
    return tmp_path


def _plan(suite, write_plan, **changes):
    return write_plan(suite / "plan.yaml", name="demo", **changes)


def test_undeclared_parameter_is_an_error_before_anything_runs(suite, write_plan):
    plan = _plan(suite, write_plan, notebook_params={"01_personas": {"undeclared_knob": 3}})
    with pytest.raises(ParameterError) as info:
        run_campaign(plan, notebooks_dir=suite / "notebooks", data_dir=suite / "data", root=suite)
    message = str(info.value)
    assert message.startswith("01_personas.ipynb: parameter(s) not declared")
    assert "'undeclared_knob' (from plan.yaml: notebook_params.01_personas.undeclared_knob)" in (
        message
    )
    assert "Declared parameters: campaign_file, data_dir, k, report_dir" in message
    assert not (suite / "reports").exists()


def test_notebook_missing_a_runner_parameter_is_an_error(suite, write_plan, write_notebook):
    write_notebook(
        suite / "notebooks" / "02_review.ipynb",
        ["print(3)"],
        base_parameters='campaign_file: str = "x"  # plan\ndata_dir: str = "d"  # data\n',
    )
    with pytest.raises(
        ParameterError, match=r"02_review\.ipynb: .*'report_dir' \(from imclab run\)"
    ):
        prepare_run(
            _plan(suite, write_plan),
            notebooks_dir=suite / "notebooks",
            data_dir=suite / "data",
            root=suite,
        )
    assert not (suite / "reports").exists()


def test_notebook_params_for_an_unknown_notebook_lists_the_notebooks(suite, write_plan):
    plan = _plan(suite, write_plan, notebook_params={"03_nope": {"k": 1}})
    with pytest.raises(ParameterError) as info:
        prepare_run(plan, notebooks_dir=suite / "notebooks", data_dir=suite / "data", root=suite)
    assert str(info.value) == (
        "plan.yaml: notebook_params.03_nope names no notebook; notebooks: 00_audit, 01_personas"
    )


def test_notebook_params_may_not_set_runner_parameters(suite, write_plan):
    plan = _plan(suite, write_plan, notebook_params={"00_audit": {"data_dir": "/elsewhere"}})
    with pytest.raises(ParameterError, match="notebook_params.00_audit sets data_dir"):
        prepare_run(plan, notebooks_dir=suite / "notebooks", data_dir=suite / "data", root=suite)


def test_unknown_only_name_lists_the_notebooks(suite, write_plan):
    with pytest.raises(ParameterError) as info:
        run_campaign(
            _plan(suite, write_plan),
            notebooks_dir=suite / "notebooks",
            data_dir=suite / "data",
            root=suite,
            only=["attribution"],
        )
    assert str(info.value) == (
        "unknown notebook 'attribution'; available notebooks: 00_audit, 01_personas"
    )
    assert not (suite / "reports").exists()


def test_only_selects_by_stem_short_name_or_number(suite, write_plan):
    plan = _plan(suite, write_plan)
    kwargs = {"notebooks_dir": suite / "notebooks", "data_dir": suite / "data", "root": suite}
    for only in (["01_personas"], ["personas"], ["01"], ["01_personas.ipynb"]):
        run = prepare_run(plan, only=only, **kwargs)
        assert [job.name for job in run.jobs] == ["01_personas"]
        assert [p.stem for p in run.notebooks] == ["00_audit", "01_personas"]


def test_parameters_per_notebook(suite, write_plan):
    plan = _plan(suite, write_plan, notebook_params={"01_personas": {"k": 6}}, engine="spark")
    run = prepare_run(plan, notebooks_dir=suite / "notebooks", data_dir=suite / "data", root=suite)
    audit, personas = run.jobs
    base = {
        "campaign_file": str(suite / "plan.yaml"),
        "data_dir": str(suite / "data"),
        "report_dir": str(suite / "reports" / "demo"),
    }
    assert audit.parameters == {**base, "engine": "spark"}  # the plan's engine
    assert personas.parameters == {**base, "k": 6}  # no engine: not declared there
    override = prepare_run(
        plan,
        notebooks_dir=suite / "notebooks",
        data_dir=suite / "data",
        root=suite,
        report_dir=suite / "out",
        engine="duckdb",
    )
    assert override.jobs[0].parameters["engine"] == "duckdb"
    assert override.jobs[0].parameters["report_dir"] == str(suite / "out")


def test_refuses_to_replace_a_folder_that_is_not_a_report(suite, write_plan):
    plan = _plan(suite, write_plan)
    kwargs = {"notebooks_dir": suite / "notebooks", "data_dir": suite / "data", "root": suite}
    documents = suite / "documents"
    documents.mkdir()
    (documents / "thesis.docx").write_text("precious")
    with pytest.raises(ParameterError, match=r"refusing to replace .*documents: .*no index.html"):
        run_campaign(plan, report_dir=documents, **kwargs)
    with pytest.raises(
        ParameterError, match=r"report folder .* contains .*plan\.yaml; choose another"
    ):
        prepare_run(plan, report_dir=suite, **kwargs)
    assert (documents / "thesis.docx").read_text() == "precious"
    prepare_run(plan, report_dir=suite / "empty", **kwargs)  # absent or empty is fine


def test_missing_data_folder_is_an_error(suite, write_plan):
    with pytest.raises(DataError, match=r"data folder .*nowhere does not exist"):
        prepare_run(
            _plan(suite, write_plan),
            notebooks_dir=suite / "notebooks",
            data_dir=suite / "nowhere",
            root=suite,
        )


# ----------------------------------------------------------------------------------------
# Locks and the folder swap
# ----------------------------------------------------------------------------------------
def test_a_live_lock_stops_a_second_run(suite, write_plan):
    reports = suite / "reports"
    reports.mkdir()
    lock = lock_path(reports / "demo")
    lock.write_text(f"{os.getpid()}\n")
    with pytest.raises(ReportLockedError) as info:
        run_campaign(
            _plan(suite, write_plan),
            notebooks_dir=suite / "notebooks",
            data_dir=suite / "data",
            root=suite,
        )
    assert f"process {os.getpid()}" in str(info.value)
    assert str(lock) in str(info.value)
    assert lock.read_text() == f"{os.getpid()}\n"  # the other run's lock is left alone
    assert sorted(p.name for p in reports.iterdir()) == [".demo.lock"]


def test_lock_is_per_campaign_and_released(tmp_path):
    with report_lock(tmp_path / "spring") as spring:
        assert spring == tmp_path / ".spring.lock"
        assert spring.read_text() == f"{os.getpid()}\n"
        with report_lock(tmp_path / "autumn") as autumn:  # another campaign: no conflict
            assert autumn.exists()
        with pytest.raises(ReportLockedError):
            with report_lock(tmp_path / "spring"):
                pass
        assert spring.exists()
    assert not spring.exists() and not autumn.exists()
    with report_lock(tmp_path / "spring"):  # free again
        pass


def test_stale_lock_is_taken_over(tmp_path):
    lock = lock_path(tmp_path / "demo")
    lock.write_text(f"{_dead_pid()}\n")
    with report_lock(tmp_path / "demo"):
        assert lock.read_text() == f"{os.getpid()}\n"
    assert not lock.exists()


def test_empty_lock_counts_as_held_while_young_and_stale_when_old(tmp_path):
    lock = lock_path(tmp_path / "demo")
    lock.write_text("")  # another run between creating the file and writing its pid
    with pytest.raises(ReportLockedError, match="another process"):
        with report_lock(tmp_path / "demo"):
            pass
    old = time.time() - 3600
    os.utime(lock, (old, old))
    with report_lock(tmp_path / "demo"):
        assert lock.read_text() == f"{os.getpid()}\n"


def test_replace_dir_swaps_and_removes_the_backup(tmp_path):
    new, final = tmp_path / ".x.tmp", tmp_path / "x"
    new.mkdir()
    (new / "a.txt").write_text("new")
    final.mkdir()
    (final / "a.txt").write_text("old")
    replace_dir(new, final)
    assert (final / "a.txt").read_text() == "new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x"]


def test_replace_dir_restores_the_old_folder_when_the_swap_fails(tmp_path, monkeypatch):
    new, final = tmp_path / ".x.tmp", tmp_path / "x"
    new.mkdir()
    final.mkdir()
    (final / "a.txt").write_text("old")
    real_rename = os.rename
    calls = []

    def flaky_rename(src, dst):
        calls.append((Path(src).name, Path(dst).name))
        if len(calls) == 2:
            raise OSError("disk full")
        real_rename(src, dst)

    monkeypatch.setattr(os, "rename", flaky_rename)
    with pytest.raises(OSError, match="disk full"):
        replace_dir(new, final)
    assert (final / "a.txt").read_text() == "old"
    assert new.is_dir()
    assert sorted(p.name for p in tmp_path.iterdir()) == [".x.tmp", "x"]


def test_mmm_curves_are_handed_to_notebooks_that_declare_mmm_file(
    tmp_path, write_notebook, write_plan, put_world
):
    nbs = tmp_path / "notebooks"
    write_notebook(
        nbs / "04_model.ipynb",
        ["from pathlib import Path\nPath(report_dir, 'mmm_curves.csv').write_text('curves 42')"],
    )
    write_notebook(
        nbs / "05_review.ipynb",
        ["print('got:', open(mmm_file).read() if mmm_file else 'nothing')"],
        extra_parameters='mmm_file: str = ""  # curves of the model\n',
    )
    write_notebook(nbs / "06_other.ipynb", ["print('other')"])
    put_world(tmp_path / "data")
    plan = write_plan(tmp_path / "plan.yaml", name="demo")
    run_campaign(plan, notebooks_dir=nbs, data_dir=tmp_path / "data", root=tmp_path)
    report = tmp_path / "reports" / "demo"
    review = nbformat.read(report / "05_review.ipynb", as_version=4)
    injected = next(c for c in review.cells if "injected-parameters" in c.metadata.get("tags", []))
    assert 'mmm_file = "reports/demo/mmm_curves.csv"' in injected.source
    outputs = "".join(o.get("text", "") for c in review.cells for o in c.get("outputs", []))
    assert "got: curves 42" in outputs
    other = nbformat.read(report / "06_other.ipynb", as_version=4)
    injected = next(c for c in other.cells if "injected-parameters" in c.metadata.get("tags", []))
    assert "mmm_file" not in injected.source  # only notebooks that declare it get it
    # without the model's notebook the review gets nothing and says so
    (nbs / "04_model.ipynb").unlink()
    run_campaign(plan, notebooks_dir=nbs, data_dir=tmp_path / "data", root=tmp_path)
    review = nbformat.read(report / "05_review.ipynb", as_version=4)
    outputs = "".join(o.get("text", "") for c in review.cells for o in c.get("outputs", []))
    assert "got: nothing" in outputs


def test_campaign_settings_go_to_every_notebook_that_declares_them(
    suite, write_plan, write_notebook
):
    write_notebook(
        suite / "notebooks" / "02_review.ipynb",
        ["print(3)"],
        'review_date: str = ""  # day\nlookback_days: int = 0  # days\n'
        "next_budget: float = 0.0  # budget\nbound_multiples: list = []  # bounds\n",
    )
    plan = _plan(
        suite,
        write_plan,
        settings={"lookback_days": 14, "measurement_window_days": 10},
        notebook_params={"02_review": {"next_budget": 1234.5}},
    )
    run = prepare_run(plan, notebooks_dir=suite / "notebooks", data_dir=suite / "data", root=suite)
    audit, personas, review = run.jobs
    assert "review_date" not in audit.parameters and "lookback_days" not in personas.parameters
    assert review.parameters["review_date"] == "2025-06-04"  # end 2025-05-25 + 10 days
    assert review.parameters["lookback_days"] == 14  # the plan's setting
    assert review.parameters["bound_multiples"] == [0.5, 2.0]  # the one default
    assert review.parameters["next_budget"] == 1234.5  # notebook_params override the plan


def test_mmm_file_means_the_posterior_curves_in_every_suite_notebook(repo_root):
    """The runner hands ``mmm_curves.csv`` (posterior response curves) to every notebook
    declaring ``mmm_file``, so each must read it as curves; notebook 03's channel,contribution
    CSV has a name of its own."""
    from imclab.report.notebook_io import declared_parameters

    readers = {}
    for path in sorted((repo_root / "notebooks").glob("[0-9][0-9]_*.ipynb")):
        declared = declared_parameters(path)
        code = "\n".join(
            c.source for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code"
        )
        if MMM_PARAMETER in declared:
            readers[path.stem] = code
            assert f"PosteriorCurves.read_csv({MMM_PARAMETER})" in code, path.name
            assert f"read_mmm({MMM_PARAMETER})" not in code, path.name
    assert {"05_post_campaign_review", "07_plan_next_campaign"} <= set(readers)
    nb03 = repo_root / "notebooks" / "03_channel_attribution.ipynb"
    assert MMM_PARAMETER not in declared_parameters(nb03)
    assert "mmm_contributions_file" in declared_parameters(nb03)


def test_notebook_03_rejects_the_curves_file_by_name(tmp_path):
    """Given the runner's curves file where it wants contributions, 03 says which file it got."""
    from imclab.attribution import read_mmm
    from imclab.mmm import PosteriorCurves

    draws = pd.DataFrame(
        {"channel": ["tv", "tv"], "draw": [0, 1], "ceiling": [2.0, 3.0],
         "lam_per_unit": [0.01, 0.02], "mean_daily_spend": 100.0, "max_daily_spend": 300.0}
    )  # fmt: skip
    path = PosteriorCurves(draws).write(tmp_path)
    with pytest.raises(DataError, match="posterior response curves, mmm_curves.csv"):
        read_mmm(path)
