"""Rebuild the committed notebooks from their py:percent scripts and refresh their outputs.

``python -m imclab.report.regenerate [NAMES...]`` (``make notebooks``): each
``notebooks/NN_name.py`` becomes ``NN_name.ipynb``, executed on its default parameters
(``data/sample``) from ``notebooks/``; the outputs are what nbval checks in CI.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

import jupytext
import nbformat
from papermill.exceptions import PapermillExecutionError

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
            nb = execute(nb, None, None, cwd=script.parent, progress_bar=progress_bar)
        except PapermillExecutionError as exc:
            raise ImclabError(
                describe_failure(target.name, exc) + f"\n{target.name} was not rewritten."
            ) from None
        strip_volatile(nb)
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
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return int(exc.code or 0)
    try:
        regenerate_all(args.notebooks, args.names, log=lambda line: print(line, file=sys.stderr))
    except ImclabError as exc:
        print(f"regenerate: error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
