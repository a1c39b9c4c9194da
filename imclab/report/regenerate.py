"""Rebuild the committed notebooks from their py:percent scripts and refresh their outputs.

``python -m imclab.report.regenerate [NAMES...]`` (``make notebooks``): each
``notebooks/NN_name.py`` becomes ``NN_name.ipynb``, executed on its default parameters
(``data/sample``) from ``notebooks/``; the outputs are what nbval checks in CI.

A notebook that ``imclab run`` hands an earlier notebook's output (:data:`HANDED_OVER`) is
given, as an injected papermill parameter like the runner's, that output as the earlier
notebook wrote it on ``data/sample``: a committed file under ``data/sample_derived/``
(:data:`imclab.config.SAMPLE_DERIVED_DIR`), so its committed run shows real results.
``python -m imclab.report.regenerate --derived`` rewrites those files by running the
notebooks that write them (notebook 04 for ``mmm_curves.csv``) on ``data/sample``; run it
(then the notebooks that take them) after changing what they compute.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

import jupytext
import nbformat
from papermill.exceptions import PapermillExecutionError

from imclab.config import SAMPLE_DERIVED_DIR
from imclab.errors import ImclabError, ParameterError
from imclab.report.notebook_io import (
    JUPYTEXT_FORMATS,
    KERNELSPEC,
    check_declared,
    declared_parameters,
    describe_failure,
    discover_notebooks,
    execute,
    select_notebooks,
    stable_cell_ids,
    strip_volatile,
)
from imclab.report.runner import MMM_FILE, MMM_PARAMETER

HANDED_OVER: dict[str, dict[str, str]] = {
    "07_plan_next_campaign": {MMM_PARAMETER: MMM_FILE},
}
"""Notebook -> {parameter: file under ``data/sample_derived/``} injected when regenerating."""

DERIVED_BY: dict[str, str] = {MMM_FILE: "04_marketing_mix"}
"""File under ``data/sample_derived/`` -> the notebook that writes it into its report folder."""

REQUIRED_PARAMETERS: tuple[str, ...] = ("campaign_file", "data_dir", "report_dir")
"""Every suite notebook declares these in its ``parameters`` cell (``imclab run`` sets them)."""


def build_notebook(script: str | Path) -> nbformat.NotebookNode:
    """Convert a py:percent script into a notebook with the suite's metadata (no outputs).

    Parameters
    ----------
    script
        A ``notebooks/NN_name.py`` jupytext py:percent file.

    Returns
    -------
    nbformat.NotebookNode
        Cells with their tags (the ``parameters`` tag included), content-derived cell ids,
        the ``imclab`` kernelspec and jupytext pairing metadata ``ipynb,py:percent``.
    """
    nb = jupytext.read(script, fmt="py:percent")
    nb.metadata["kernelspec"] = dict(KERNELSPEC)
    meta = dict(nb.metadata.get("jupytext", {}))
    meta.pop("text_representation", None)  # describes the .py file, not the notebook
    meta["formats"] = JUPYTEXT_FORMATS
    nb.metadata["jupytext"] = meta
    return stable_cell_ids(nb)


def check_notebook(nb: nbformat.NotebookNode, name: str) -> None:
    """Check a built notebook declares the parameters `imclab run` passes.

    Raises
    ------
    ParameterError
        Naming the notebook and the missing declarations.
    """
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"{name}.ipynb"
        nbformat.write(nb, path)
        declared = declared_parameters(path)
    check_declared(name, declared, dict.fromkeys(REQUIRED_PARAMETERS, "imclab run"))


def handed_over(name: str, notebooks_dir: str | Path) -> dict[str, str]:
    """Parameters to inject into notebook ``name`` (:data:`HANDED_OVER`), relative paths.

    Raises
    ------
    ParameterError
        A handed-over file is missing (the message says how to derive it).
    """
    out = {}
    for parameter, filename in HANDED_OVER.get(name, {}).items():
        path = SAMPLE_DERIVED_DIR / filename
        if not path.is_file():
            raise ParameterError(
                f"{name} takes {parameter} = {path}, which is missing: run "
                "`python -m imclab.report.regenerate --derived` first"
            )
        out[parameter] = os.path.relpath(path, Path(notebooks_dir).resolve())
    return out


def derive_sample_files(
    notebooks_dir: str | Path, out_dir: str | Path = SAMPLE_DERIVED_DIR, progress_bar: bool = True
) -> list[Path]:
    """Run the notebooks of :data:`DERIVED_BY` on ``data/sample``; copy their files to ``out_dir``.

    Each notebook is built from its script and executed with its default parameters and a
    temporary ``report_dir``; its committed ``.ipynb`` is not touched.

    Returns
    -------
    list of Path
        The files written.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for filename, name in DERIVED_BY.items():
        script = (Path(notebooks_dir) / f"{name}.py").resolve()
        with tempfile.TemporaryDirectory() as tmp:
            try:
                execute(build_notebook(script), None, {"report_dir": tmp}, cwd=script.parent,
                        progress_bar=progress_bar)  # fmt: skip
            except PapermillExecutionError as exc:
                raise ImclabError(describe_failure(f"{name}.ipynb", exc)) from None
            made = Path(tmp) / filename
            if not made.is_file():
                raise ImclabError(f"{name} did not write {filename} into its report folder")
            written.append(Path(shutil.copyfile(made, out_dir / filename)))
    return written


def regenerate(script: str | Path, progress_bar: bool = True, execute_cells: bool = True) -> Path:
    """Rebuild ``NN_name.ipynb`` beside its script and execute it with default parameters.

    Parameters
    ----------
    script
        The py:percent script; the notebook is written next to it.
    progress_bar
        Show papermill's progress bar.
    execute_cells
        Run the notebook (default); False only converts (no outputs).

    Returns
    -------
    Path
        The notebook written.

    Raises
    ------
    ParameterError
        The script lacks a ``parameters`` cell or one of `REQUIRED_PARAMETERS`.
    ImclabError
        A cell raised (message names the notebook, cell and exception); the existing
        ``.ipynb`` is left as it was.
    """
    script = Path(script).resolve()
    target = script.with_suffix(".ipynb")
    nb = build_notebook(script)
    check_notebook(nb, target.name)
    if execute_cells:
        try:
            params = handed_over(script.stem, script.parent)
            nb = execute(nb, None, params, cwd=script.parent, progress_bar=progress_bar)
        except PapermillExecutionError as exc:
            raise ImclabError(
                describe_failure(target.name, exc) + f"\n{target.name} was not rewritten."
            ) from None
        strip_volatile(nb)
        for cell in nb.cells:  # as ruff formats a cell: no trailing newline
            if "injected-parameters" in cell.metadata.get("tags", []):
                cell.source = cell.source.rstrip("\n")
    nbformat.write(nb, target)
    return target


def regenerate_all(
    notebooks_dir: str | Path,
    names: Sequence[str] | None = None,
    progress_bar: bool = True,
    log: Callable[[str], None] | None = None,
) -> list[Path]:
    """Regenerate every (or the named) ``NN_name.py`` script of a folder, in name order.

    Parameters
    ----------
    notebooks_dir
        Folder of the scripts.
    names
        Names as accepted by `imclab.report.notebook_io.select_notebooks`; default all.
    progress_bar
        Show papermill's progress bar.
    log
        Called with a one-line message before each notebook.

    Returns
    -------
    list of Path
        The notebooks written. Stops at the first failing notebook (raising).
    """
    scripts = select_notebooks(discover_notebooks(notebooks_dir, suffix=".py"), names)
    if not scripts:
        raise ParameterError(f"{notebooks_dir}: no NN_name.py notebook scripts found")
    written = []
    for number, script in enumerate(scripts, start=1):
        if log:
            log(f"[{number}/{len(scripts)}] {script.name} -> {script.with_suffix('.ipynb').name}")
        written.append(regenerate(script, progress_bar=progress_bar))
    return written


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: ``python -m imclab.report.regenerate [--notebooks DIR] [NAMES...]``.

    Returns
    -------
    int
        0 on success, 2 on an imclab error (printed as ``regenerate: error: ...``).
    """
    from imclab.config import NOTEBOOKS_DIR

    parser = argparse.ArgumentParser(
        prog="python -m imclab.report.regenerate",
        description="Rebuild notebooks/NN_name.ipynb from NN_name.py and execute them on "
        "their default parameters (data/sample) to refresh the committed outputs.",
    )
    parser.add_argument("names", nargs="*", help="notebooks to rebuild (default: all)")
    parser.add_argument("--notebooks", type=Path, default=NOTEBOOKS_DIR, help="notebooks folder")
    parser.add_argument(
        "--derived",
        action="store_true",
        help="first rewrite data/sample_derived/ (the files later notebooks' committed runs "
        "take, e.g. notebook 04's mmm_curves.csv) by running the notebooks that write them; "
        "with no NAMES, only that",
    )
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return int(exc.code or 0)
    try:
        if args.derived:
            for path in derive_sample_files(args.notebooks):
                print(f"wrote {path}", file=sys.stderr)
            if not args.names:
                return 0
        regenerate_all(args.notebooks, args.names, log=lambda line: print(line, file=sys.stderr))
    except ImclabError as exc:
        print(f"regenerate: error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
