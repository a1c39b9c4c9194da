"""Run a campaign's notebooks with papermill into an HTML report, atomically.

``imclab run`` calls `run_campaign`: every parameter is checked against the notebooks
before anything runs; notebooks execute into a temporary folder that replaces
``reports/<name>/`` only when all of them succeed; a failure leaves the previous report
untouched and keeps the partial output in ``reports/<name>.failed/``.
"""

from __future__ import annotations

import glob
import os
import shutil
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat
from papermill.exceptions import PapermillExecutionError

from imclab.errors import DataError, ImclabError, ParameterError
from imclab.report.headlines import read_headlines
from imclab.report.history import append_run, read_history
from imclab.report.html import write_notebook_html
from imclab.report.index import NotebookEntry, write_index
from imclab.report.notebook_io import (
    check_declared,
    declared_parameters,
    describe_failure,
    discover_notebooks,
    display_path,
    execute,
    scrub_paths,
    select_notebooks,
    strip_volatile,
)

RUNNER_PARAMETERS: tuple[str, ...] = ("campaign_file", "data_dir", "report_dir")
"""Parameters every notebook declares; the runner sets them (a plan may not)."""

ENGINE_PARAMETER = "engine"
PERSONA_PARAMETER = "persona_file"
PERSONA_FILE = "personas.csv"  # written by the persona notebook into the report folder
"""Passed only to notebooks that declare it."""
MMM_PARAMETER = "mmm_file"
MMM_FILE = "mmm_curves.csv"  # posterior response curves the marketing-mix notebook writes
"""Passed as ``mmm_file`` only to notebooks that declare it; every notebook declaring
``mmm_file`` reads it as :class:`imclab.mmm.PosteriorCurves` (a notebook taking another
marketing-mix file names its parameter otherwise, e.g. 03's ``mmm_contributions_file``)."""

_LOCK_GRACE_SECONDS = 10.0  # an empty lock file younger than this is still being written
SNAPSHOT_FOLDER = ".snapshot"
"""The run's validated world, inside the temporary run folder (removed when published)."""


class ReportLockedError(ImclabError):
    """Another run is writing the same campaign's report."""


class NotebookFailedError(ImclabError):
    """A notebook raised; the partial report was kept in the ``.failed`` folder."""

    def __init__(self, message: str, notebook: str, failed_dir: Path) -> None:
        super().__init__(message)
        self.notebook = notebook
        self.failed_dir = failed_dir


class RunInterruptedError(NotebookFailedError):
    """The run was interrupted (Ctrl-C, SIGTERM); the partial report is in ``.failed``."""


@dataclass(frozen=True)
class NotebookJob:
    """One notebook to execute and the parameters it receives.

    Attributes
    ----------
    path
        The source ``.ipynb``.
    parameters
        Name to value, injected by papermill (absolute paths for the runner's three).
    takes_personas
        The notebook declares ``persona_file``: it is given the persona labels that an
        earlier notebook of the same run wrote (``<report>/personas.csv``), if any.
    takes_mmm
        The notebook declares ``mmm_file``: it is given the marketing-mix model's posterior
        response curves that an earlier notebook wrote (``<report>/mmm_curves.csv``), if any.
    """

    path: Path
    parameters: dict[str, Any]
    takes_personas: bool = False
    takes_mmm: bool = False

    @property
    def name(self) -> str:
        """The notebook's stem, e.g. ``"00_data_audit"``."""
        return self.path.stem


@dataclass(frozen=True)
class PreparedRun:
    """Everything `run_campaign` checked before executing anything.

    Attributes
    ----------
    plan
        The loaded campaign plan.
    plan_file, notebooks_dir, data_dir, report_dir, root
        Absolute paths (``root`` is the folder paths are shown relative to).
    notebooks
        Every notebook of the suite, in run order (for the index).
    jobs
        The selected notebooks with their parameters, in run order.
    skips
        Notebook stem -> why the run skips it (:meth:`imclab.report.sections.Gaps.notebook_note`:
        the world lacks what its whole analysis needs), found when the world is opened.
    """

    plan: Any
    plan_file: Path
    notebooks_dir: Path
    data_dir: Path
    report_dir: Path
    root: Path
    notebooks: list[Path]
    jobs: list[NotebookJob] = field(default_factory=list)
    skips: dict[str, str] = field(default_factory=dict)

    def show(self, path: str | Path) -> str:
        """Display ``path`` relative to the project root (see `display_path`), as saved."""
        return display_path(path, self.root)

    @staticmethod
    def tell(path: str | Path) -> str:
        """Name a path in a message to the user so that they can open it from where they are.

        Relative to the current folder when ``path`` lies inside it, else absolute (a
        report written with ``--out`` elsewhere is not named relative to the project).
        """
        path = Path(path).resolve()
        try:
            return path.relative_to(Path.cwd().resolve()).as_posix() or "."
        except ValueError:
            return str(path)


@dataclass(frozen=True)
class RunResult:
    """Outcome of a successful run: the report folder and each notebook's status."""

    report_dir: Path
    notebooks: list[NotebookEntry]


def prepare_run(
    plan_file: str | Path,
    *,
    notebooks_dir: str | Path,
    data_dir: str | Path,
    root: str | Path,
    report_dir: str | Path | None = None,
    only: Sequence[str] | None = None,
    engine: str | None = None,
) -> PreparedRun:
    """Load the plan, pick the notebooks and check every parameter they would receive.

    Parameters
    ----------
    plan_file
        Campaign plan YAML, or the name of a plan in ``campaigns/``.
    notebooks_dir
        Folder of ``NN_name.ipynb`` notebooks.
    data_dir
        Folder of the brand-world data passed to the notebooks.
    root
        Project folder: the default report folder is ``root/reports/<plan.name>`` and
        paths inside ``root`` are shown (in saved notebooks and messages) relative to it.
    report_dir
        Report folder; defaults to ``root/reports/<plan.name>``.
    only
        Names of the notebooks to run (see `select_notebooks`); default all.
    engine
        Overrides the plan's ``engine`` for notebooks that declare an ``engine`` parameter.

    Every notebook that declares a parameter named like a campaign setting
    (:data:`imclab.plan.SETTING_NAMES`) receives the plan's resolved value
    (:meth:`imclab.plan.CampaignPlan.resolved_settings`); ``notebook_params`` override it.

    Returns
    -------
    PreparedRun
        The checked jobs; nothing has been written.

    Raises
    ------
    PlanError
        The plan is invalid.
    ParameterError
        An unknown notebook name, a ``notebook_params`` key naming no notebook or setting
        a runner parameter, a parameter a notebook does not declare, or a report folder
        that must not be replaced (it holds an input, or exists without an ``index.html``).
    DataError
        The data folder does not exist.
    """
    from imclab.plan import load_plan, plan_path

    root = Path(root).resolve()
    plan = load_plan(plan_file)  # messages name the plan as the user wrote it
    plan_file = plan_path(plan_file).resolve()
    notebooks_dir = Path(notebooks_dir).resolve()
    notebooks = discover_notebooks(notebooks_dir)
    if not notebooks:
        raise ParameterError(f"{notebooks_dir}: no NN_name.ipynb notebooks to run")
    selected = select_notebooks(notebooks, only)
    data_dir = Path(data_dir).resolve()
    if not data_dir.is_dir():
        raise DataError(f"data folder {data_dir} does not exist (expected a brand-world folder)")
    report_dir = Path(report_dir or root / "reports" / plan.name).resolve()
    _check_replaceable(report_dir, [plan_file, notebooks_dir, data_dir])

    notebook_params = dict(getattr(plan, "notebook_params", None) or {})
    stems = [p.stem for p in notebooks]
    for key, values in notebook_params.items():
        where = f"{plan_file.name}: notebook_params.{key}"
        if key not in stems:
            raise ParameterError(f"{where} names no notebook; notebooks: {', '.join(stems)}")
        reserved = sorted(set(values or {}) & set(RUNNER_PARAMETERS))
        if reserved:
            raise ParameterError(
                f"{where} sets {', '.join(reserved)}, which imclab run sets itself "
                "(use --data / --out instead)"
            )

    # the campaign settings, resolved once, go to every notebook that declares one by name
    settings = plan.resolved_settings().as_params()
    engine_value = engine or getattr(plan, "engine", None)
    engine_origin = "--engine" if engine else f"{plan_file.name}: engine"
    jobs = []
    for path in selected:
        declared = declared_parameters(path)
        params: dict[str, Any] = {
            "campaign_file": str(plan_file),
            "data_dir": str(data_dir),
            "report_dir": str(report_dir),
        }
        origins = {name: "imclab run" for name in params}
        if ENGINE_PARAMETER in declared and engine_value is not None:
            params[ENGINE_PARAMETER] = str(engine_value)
            origins[ENGINE_PARAMETER] = engine_origin
        for key, value in settings.items():
            if key in declared:
                params[key] = value
                origins[key] = f"{plan_file.name}: settings"
        for key, value in (notebook_params.get(path.stem) or {}).items():
            params[key] = value
            origins[key] = f"{plan_file.name}: notebook_params.{path.stem}.{key}"
        check_declared(path.name, declared, origins)
        takes_personas = PERSONA_PARAMETER in declared and PERSONA_PARAMETER not in params
        takes_mmm = MMM_PARAMETER in declared and MMM_PARAMETER not in params
        jobs.append(NotebookJob(path, params, takes_personas, takes_mmm))

    return PreparedRun(
        plan=plan,
        plan_file=plan_file,
        notebooks_dir=notebooks_dir,
        data_dir=data_dir,
        report_dir=report_dir,
        root=root,
        notebooks=notebooks,
        jobs=jobs,
    )


def _check_replaceable(report_dir: Path, inputs: Sequence[Path]) -> None:
    # The report folder is deleted and replaced: never let that be an input's ancestor or
    # a folder that is not an earlier report (``--out ~/Documents``).
    for path in inputs:
        if path == report_dir or report_dir in path.parents:
            raise ParameterError(
                f"report folder {report_dir} contains {path}; choose another folder with --out"
            )
    if report_dir.exists() and (
        not report_dir.is_dir()
        or (any(report_dir.iterdir()) and not (report_dir / "index.html").is_file())
    ):
        raise ParameterError(
            f"refusing to replace {report_dir}: it exists and is not an imclab report "
            "(no index.html); choose another folder with --out or remove it"
        )


def run_campaign(
    plan_file: str | Path,
    *,
    notebooks_dir: str | Path,
    data_dir: str | Path,
    root: str | Path,
    report_dir: str | Path | None = None,
    only: Sequence[str] | None = None,
    engine: str | None = None,
    show_code: bool = False,
    progress_bar: bool = True,
    log: Callable[[str], None] | None = None,
) -> RunResult:
    """Execute a campaign's notebooks and publish the HTML report.

    Parameters
    ----------
    plan_file, notebooks_dir, data_dir, root, report_dir, only, engine
        See `prepare_run`.
    show_code
        Keep code cells in the notebook pages (hidden by default).
    progress_bar
        Show papermill's per-notebook progress bar.
    log
        Called with a one-line message before each notebook (e.g. ``print``).

    Returns
    -------
    RunResult
        The report folder, holding ``<stem>.ipynb``, ``<stem>.html`` per notebook run,
        ``index.html`` and the ``headlines/`` the notebooks recorded.

    Raises
    ------
    ReportLockedError
        Another live process is running the same report.
    NotebookFailedError
        A notebook raised: the message names it, the cell and the exception; partial
        output is in ``<report_dir>.failed/`` and the previous report is untouched.
    RunInterruptedError
        ``KeyboardInterrupt`` (Ctrl-C) during the run: as for a failure, the partial
        output is kept in ``<report_dir>.failed/`` and the previous report is untouched.
    PlanError, ParameterError, DataError
        Before anything runs (see `prepare_run`); nothing is written then.

    Notes
    -----
    Saved notebooks carry no machine-specific data: papermill's metadata and cell
    timestamps are removed, and absolute paths (in the injected-parameters cell and in
    outputs) are rewritten relative to ``root`` (the repository for ``imclab run``), e.g.
    ``campaign_file = "campaigns/spring_launch.yaml"``; paths outside ``root`` are reduced to
    their final name. The temporary run folder is shown as the final report folder.
    """
    run = prepare_run(
        plan_file,
        notebooks_dir=notebooks_dir,
        data_dir=data_dir,
        root=root,
        report_dir=report_dir,
        only=only,
        engine=engine,
    )
    report = run.report_dir
    report.parent.mkdir(parents=True, exist_ok=True)
    with report_lock(report):
        clean_stale_runs(report)
        run = map_columns(run)  # the plan's columns: section (imclab.data.mapping)
        tmp = Path(tempfile.mkdtemp(prefix=f".{report.name}.tmp-", dir=report.parent))
        os.chmod(tmp, 0o777 & ~_umask())  # mkdtemp makes it private; a report is not
        try:
            run = snapshot_world(run, tmp / SNAPSHOT_FOLDER, log)
            return _execute_run(run, tmp, show_code, progress_bar, log)
        except KeyboardInterrupt:
            # Interrupted outside a notebook (while saving or exporting): keep what exists.
            failed_dir = _failed_dir(report)
            _move_partial(tmp, failed_dir)
            raise RunInterruptedError(
                f"run interrupted; partial output kept in {run.tell(failed_dir)}/; "
                f"{_previous(run)}.",
                notebook="",
                failed_dir=failed_dir,
            ) from None
        finally:
            if tmp.exists():  # a second Ctrl-C during cleanup: leave no temporary folder
                shutil.rmtree(tmp, ignore_errors=True)


def snapshot_world(
    run: PreparedRun, folder: Path, log: Callable[[str], None] | None = None
) -> PreparedRun:
    """Open and validate the run's world once and hand every notebook the snapshot.

    The world is opened with :func:`imclab.warehouse.open_world` on the run's engine (Spark
    when every notebook runs on Spark, else the DuckDB file loader), as of
    :func:`imclab.warehouse.run_as_of`, and written to ``folder`` with
    :func:`imclab.warehouse.write_snapshot`; each notebook receives ``folder`` as its
    ``data_dir`` and ``open_world`` restores the tables and the validation report from it.

    Returns
    -------
    PreparedRun
        ``run`` with every job's ``data_dir`` set to the snapshot (``run.data_dir`` still
        names the user's data, for messages and the index), and ``skips``: the notebooks
        whose whole analysis the world cannot feed (:func:`imclab.report.sections.find_gaps`).

    Raises
    ------
    DataError
        The data cannot be opened (a required table or column is missing).
    """
    from dataclasses import replace

    from imclab.report.sections import find_gaps
    from imclab.warehouse import open_world, run_as_of, write_snapshot

    engines = {str(j.parameters.get(ENGINE_PARAMETER, "duckdb")) for j in run.jobs}
    engine = "spark" if engines == {"spark"} else "duckdb"
    as_of = run_as_of(run.plan)
    if log:
        log(f"[0/{len(run.jobs)}] validating {run.show(run.data_dir)} as of {as_of} ({engine})")
    world = open_world(run.data_dir, engine, as_of=as_of)
    write_snapshot(world, folder)
    skips = find_gaps(world, run.plan).skipped_notebooks([job.name for job in run.jobs])
    if engine == "spark":  # each notebook reads the snapshot: free this process's JVM
        world.con.disconnect()
    jobs = [
        replace(job, parameters={**job.parameters, "data_dir": str(folder)}) for job in run.jobs
    ]
    return replace(run, jobs=jobs, skips=skips)


def map_columns(run: PreparedRun) -> PreparedRun:
    """Map the data through the plan's ``columns:`` section, if it has one.

    The mapped tables go to ``<report_dir>.data/`` (next to the report, rewritten on every
    run) and the notebooks receive that folder as ``data_dir``; quarantine row numbers still
    count the rows of the user's files (see :mod:`imclab.data.mapping`).

    Returns
    -------
    PreparedRun
        ``run`` itself without a ``columns:`` section, else a copy reading the mapped folder.
    """
    columns = getattr(run.plan, "columns", None)
    if columns is None or not columns.tables:
        return run
    from dataclasses import replace

    from imclab.data.mapping import apply_mapping

    mapped = apply_mapping(
        run.data_dir, columns, run.report_dir.with_name(run.report_dir.name + ".data")
    )
    jobs = [
        NotebookJob(
            job.path,
            {**job.parameters, "data_dir": str(mapped)},
            job.takes_personas,
            job.takes_mmm,
        )
        for job in run.jobs
    ]
    return replace(run, data_dir=mapped, jobs=jobs)


def clean_stale_runs(report_dir: str | Path) -> list[Path]:
    """Remove what killed runs of this report left behind: ``.<name>.tmp-*`` and ``.old-*``.

    A run that is SIGKILLed (or loses power) cannot clean up its temporary folder. Call this
    only while holding the report's lock (:func:`report_lock`): no live run of the same report
    can then own one of these folders, and another report's folders never match (the name is
    followed by ``.tmp-`` or ``.old-`` exactly).

    Returns
    -------
    list of Path
        The folders removed.
    """
    report_dir = Path(report_dir)
    removed = []
    for kind in ("tmp", "old"):
        for path in report_dir.parent.glob(f".{glob.escape(report_dir.name)}.{kind}-*"):
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path, ignore_errors=True)
                removed.append(path)
    return sorted(removed)


def _failed_dir(report: Path) -> Path:
    return report.with_name(report.name + ".failed")


def _move_partial(tmp: Path, failed_dir: Path) -> None:
    if not tmp.exists():
        return
    if failed_dir.exists():
        shutil.rmtree(failed_dir)
    os.rename(tmp, failed_dir)


def _previous(run: PreparedRun) -> str:
    report = run.report_dir
    if report.exists():
        return f"the previous report {run.tell(report)}/ is untouched"
    return f"no report was published to {run.tell(report)}/"


def _execute_run(
    run: PreparedRun,
    tmp: Path,
    show_code: bool,
    progress_bar: bool,
    log: Callable[[str], None] | None,
) -> RunResult:
    report = run.report_dir
    replacements = {
        str(tmp): run.show(report),
        str(report): run.show(report),
        str(run.data_dir): run.show(run.data_dir),
        str(tmp / SNAPSHOT_FOLDER): run.show(run.data_dir),  # notebooks read the snapshot
        str(run.plan_file): run.show(run.plan_file),
        str(run.notebooks_dir): run.show(run.notebooks_dir),
        str(run.root): ".",
    }
    statuses: dict[str, NotebookEntry] = {}
    failure: tuple[str, str] | None = None
    interrupted = False
    for number, job in enumerate(run.jobs, start=1):
        if log:
            log(
                f"[{number}/{len(run.jobs)}] {job.name}"
                + (" (skipped)" if job.name in run.skips else "")
            )
        output = tmp / f"{job.name}.ipynb"
        if job.name in run.skips:
            html = _write_skipped(job.path, run.skips[job.name], tmp, show_code)
            statuses[job.name] = NotebookEntry(job.name, "skipped", html, run.skips[job.name])
            continue
        params = {**job.parameters, "report_dir": str(tmp)}
        if job.takes_personas and (tmp / PERSONA_FILE).is_file():
            params[PERSONA_PARAMETER] = str(tmp / PERSONA_FILE)
        if job.takes_mmm and (tmp / MMM_FILE).is_file():
            params[MMM_PARAMETER] = str(tmp / MMM_FILE)
        try:
            execute(job.path, output, params, cwd=run.notebooks_dir, progress_bar=progress_bar)
            message = ""
        except PapermillExecutionError as exc:
            message = describe_failure(job.path.name, exc)
        except KeyboardInterrupt:  # Ctrl-C, or SIGTERM turned into one by imclab run
            interrupted = True
            message = f"notebook {job.path.name} was interrupted (Ctrl-C or SIGTERM)"
        except Exception as exc:  # noqa: BLE001 - kernel died, timed out, missing kernel
            message = f"notebook {job.path.name} could not run: {type(exc).__name__}: {exc}"
        html = None
        if output.exists():
            nb = nbformat.read(output, as_version=nbformat.NO_CONVERT)
            scrub_paths(strip_volatile(nb), replacements)
            nbformat.write(nb, output)
            html = write_notebook_html(nb, tmp / f"{job.name}.html", show_code, "index.html").name
        if message:
            message = _scrub_text(message, replacements)
            statuses[job.name] = NotebookEntry(job.name, "failed", html, message)
            failure = (job.name, message)
            break
        statuses[job.name] = NotebookEntry(job.name, "ok", html)

    entries = [statuses.get(p.stem) or NotebookEntry(p.stem, "not run") for p in run.notebooks]
    details = {"Plan file": run.show(run.plan_file), "Data": run.show(run.data_dir)}
    engine = next(
        (j.parameters[ENGINE_PARAMETER] for j in run.jobs if ENGINE_PARAMETER in j.parameters), None
    )
    if engine:
        details["Engine"] = engine
    # A complete run stores its numbers in the run history (reports/history.parquet); a
    # partial one (--only) or a failed one shows the history without changing it.
    reports = report.parent
    if failure is None and all(entry.status in ("ok", "skipped") for entry in entries):
        history = append_run(reports, run.plan, read_headlines(tmp), run.data_dir)
    else:
        history = read_history(reports)
    write_index(run.plan, entries, tmp, details, history)

    failed_dir = _failed_dir(report)
    if failure is not None:
        _move_partial(tmp, failed_dir)
        name, message = failure
        error = RunInterruptedError if interrupted else NotebookFailedError
        raise error(
            f"{message}\nPartial output kept in {run.tell(failed_dir)}/ (index.html marks {name} "
            f"failed and later notebooks not run); {_previous(run)}.",
            notebook=name,
            failed_dir=failed_dir,
        )
    shutil.rmtree(tmp / SNAPSHOT_FOLDER, ignore_errors=True)  # a copy of the data: not published
    replace_dir(tmp, report)
    if failed_dir.exists():  # the latest run succeeded: an older failure is history
        shutil.rmtree(failed_dir)
    return RunResult(report, entries)


def _write_skipped(source: Path, note: str, folder: Path, show_code: bool) -> str:
    """Write the page of a notebook the run skips: its title and the one sentence why.

    Returns
    -------
    str
        The HTML page's file name (an ``.ipynb`` of that one Markdown cell is saved beside it).
    """
    nb = nbformat.read(source, as_version=4)
    title = next(
        (
            c.source.splitlines()[0]
            for c in nb.cells
            if c.cell_type == "markdown" and c.source.startswith("# ")
        ),
        f"# {source.stem}",
    )
    page = nbformat.v4.new_notebook(metadata=nb.metadata)
    page.cells = [nbformat.v4.new_markdown_cell(f"{title}\n\n{note}")]
    nbformat.write(page, folder / f"{source.stem}.ipynb")
    return write_notebook_html(page, folder / f"{source.stem}.html", show_code, "index.html").name


def _scrub_text(text: str, replacements: dict[str, str]) -> str:
    for old in sorted(replacements, key=len, reverse=True):
        text = text.replace(old, replacements[old])
    return text


def replace_dir(new: Path, final: Path) -> None:
    """Move folder ``new`` to ``final``, replacing it as close to atomically as possible.

    The old folder is renamed to a hidden backup, the new one renamed into place, then
    the backup deleted; if the second rename fails the old folder is put back. Readers
    see either the old or the new report, except for the instant between the renames.
    Both folders must be on the same file system (they are siblings).
    """
    new, final = Path(new), Path(final)
    backup = None
    if final.exists():
        backup = final.with_name(f".{final.name}.old-{uuid.uuid4().hex[:8]}")
        os.rename(final, backup)
    try:
        os.rename(new, final)
    except BaseException:
        if backup is not None:
            os.rename(backup, final)
        raise
    if backup is not None:
        shutil.rmtree(backup)


def lock_path(report_dir: str | Path) -> Path:
    """Return the lock file guarding a report folder: ``<parent>/.<name>.lock``."""
    report_dir = Path(report_dir)
    return report_dir.parent / f".{report_dir.name}.lock"


@contextmanager
def report_lock(report_dir: str | Path) -> Iterator[Path]:
    """Hold the lock of a report folder for the duration of a run.

    The lock file is created with ``O_CREAT | O_EXCL`` and holds the owner's pid. A lock
    whose pid is no longer alive (a crashed run) is taken over.

    Parameters
    ----------
    report_dir
        The report folder (its parent must exist).

    Yields
    ------
    Path
        The lock file, removed on exit.

    Raises
    ------
    ReportLockedError
        A live process holds the lock.
    """
    path = lock_path(report_dir)
    _acquire(path, report_dir)
    try:
        yield path
    finally:
        if _read_pid(path) == os.getpid():
            path.unlink(missing_ok=True)


def _acquire(path: Path, report_dir: str | Path) -> None:
    for _attempt in range(2):
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            pid = _read_pid(path)
            if pid is None and _age(path) < _LOCK_GRACE_SECONDS:
                pid = -1  # just created by another run that has not written its pid yet
            if pid is not None and _pid_alive(pid):
                owner = f"process {pid}" if pid > 0 else "another process"
                raise ReportLockedError(
                    f"another imclab run ({owner}) is writing {Path(report_dir).name}; "
                    f"wait for it to finish. If no run is active, delete the lock file {path}"
                ) from None
            # Stale: its owner died. Two runs taking over at the same instant could race
            # here; the second O_EXCL below still lets only one of them in.
            path.unlink(missing_ok=True)
            continue
        with os.fdopen(fd, "w") as handle:
            handle.write(f"{os.getpid()}\n")
        return
    raise ReportLockedError(f"could not take the lock {path}: another run took it first")


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _read_pid(path: Path) -> int | None:
    try:
        return int(path.read_text().strip())
    except (OSError, ValueError):
        return None


def _age(path: Path) -> float:
    try:
        return time.time() - path.stat().st_mtime
    except OSError:
        return float("inf")


def _pid_alive(pid: int) -> bool:
    if pid == -1:
        return True
    if pid <= 0:
        return False
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by another user
        return True
    return True
