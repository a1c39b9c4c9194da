"""Shared notebook plumbing for the runner and the regeneration tool.

Finding notebooks by name, checking declared parameters, executing with papermill in a
reproducible kernel environment, and removing machine-specific metadata and paths.
"""

from __future__ import annotations

import hashlib
import os
import re
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import nbformat
import papermill
from papermill.exceptions import PapermillExecutionError

from imclab.errors import ParameterError

KERNEL_NAME = "python3"
"""Kernel that executes notebooks headlessly: the runner's own Python environment."""

KERNELSPEC = {"name": "imclab", "display_name": "imclab", "language": "python"}
"""Kernelspec metadata stored in the committed notebooks."""

JUPYTEXT_FORMATS = "ipynb,py:percent"
"""Jupytext pairing: each ``NN_name.ipynb`` has its ``NN_name.py`` py:percent source."""

KERNEL_ENV = {
    "PYTHONHASHSEED": "0",
    "MPLBACKEND": "module://matplotlib_inline.backend_inline",
    "IMCLAB_INTERACTIVE": "0",  # widgets only in JupyterLab (`make lab`), never in reports
}
"""Environment of the executing kernel: fixed hash seed, inline figures (even under Agg)."""

INJECTED_TAG = "injected-parameters"
ERROR_CELL_TAG = "papermill-error-cell-tag"

_NOTEBOOK_NAME = re.compile(r"^(?P<number>\d\d)_(?P<short>[A-Za-z0-9_]+)$")


def discover_notebooks(notebooks_dir: str | Path, suffix: str = ".ipynb") -> list[Path]:
    """List the ``NN_name`` notebooks (or their scripts) of a folder, in run order.

    Parameters
    ----------
    notebooks_dir
        Folder holding ``NN_name.ipynb`` notebooks and their ``NN_name.py`` scripts.
    suffix
        ``".ipynb"`` for notebooks, ``".py"`` for the jupytext py:percent scripts.

    Returns
    -------
    list of Path
        Files whose stem matches ``NN_name``, sorted by name (which is the run order).
        Other files (scratch notebooks, helpers) are not part of the suite.
    """
    folder = Path(notebooks_dir)
    if not folder.is_dir():
        raise ParameterError(f"notebooks folder {folder} does not exist")
    return sorted(
        p for p in folder.iterdir() if p.suffix == suffix and _NOTEBOOK_NAME.match(p.stem)
    )


def select_notebooks(notebooks: Sequence[Path], names: Iterable[str] | None) -> list[Path]:
    """Pick notebooks by name, keeping run order.

    Parameters
    ----------
    notebooks
        Candidates, as returned by `discover_notebooks`.
    names
        Each name may be the stem (``02_persona_clustering``), the file name
        (``02_persona_clustering.ipynb`` / ``.py``), the name without its number
        (``persona_clustering``) or the number alone (``02``). None or empty selects all.

    Returns
    -------
    list of Path
        The selected notebooks in run order.

    Raises
    ------
    ParameterError
        A name matches no notebook; the message lists the available ones.
    """
    names = list(names or [])
    if not names:
        return list(notebooks)
    chosen: set[Path] = set()
    for name in names:
        key = Path(name).stem if name.endswith((".ipynb", ".py")) else name
        matches = [p for p in notebooks if key in _aliases(p.stem)]
        if not matches:
            available = ", ".join(p.stem for p in notebooks) or "(none)"
            raise ParameterError(f"unknown notebook {name!r}; available notebooks: {available}")
        chosen.update(matches)
    return [p for p in notebooks if p in chosen]


def _aliases(stem: str) -> set[str]:
    match = _NOTEBOOK_NAME.match(stem)
    if not match:
        return {stem}
    return {stem, match["number"], match["short"]}


def declared_parameters(notebook: str | Path) -> dict[str, dict[str, Any]]:
    """Return the parameters declared in a notebook's ``parameters`` cell.

    Parameters
    ----------
    notebook
        Path of an ``.ipynb`` file.

    Returns
    -------
    dict
        Parameter name to papermill's description (``inferred_type_name``, ``default``,
        ``help``); empty when the notebook has no cell tagged ``parameters``.
    """
    return papermill.inspect_notebook(str(notebook))


def check_declared(
    notebook_name: str, declared: Mapping[str, Any], parameters: Mapping[str, str]
) -> None:
    """Raise when a parameter to pass is not declared in the notebook's parameters cell.

    Parameters
    ----------
    notebook_name
        File name used in the message.
    declared
        Declared parameter names (as returned by `declared_parameters`).
    parameters
        Parameter name to a description of where it comes from (used in the message).

    Raises
    ------
    ParameterError
        Naming the notebook, the undeclared parameter(s), their origin and the declared ones.
    """
    missing = [name for name in parameters if name not in declared]
    if not missing:
        return
    listed = ", ".join(sorted(declared)) if declared else "none: no cell is tagged 'parameters'"
    details = "; ".join(f"{name!r} (from {parameters[name]})" for name in missing)
    raise ParameterError(
        f"{notebook_name}: parameter(s) not declared in its parameters cell: {details}. "
        f"Declared parameters: {listed}"
    )


_ENV_LOCK = threading.Lock()
_env_users = 0
_env_saved: dict[str, str | None] = {}


@contextmanager
def kernel_environment(extra: Mapping[str, str] | None = None) -> Iterator[None]:
    """Set the environment a new kernel inherits (`KERNEL_ENV`), restoring it afterwards.

    Kernels copy ``os.environ`` when they start, and papermill offers no other way to
    pass an environment, hence the temporary change of this process' environment. Runs in
    several threads share the change: the original values are saved by the first to
    enter and restored by the last to leave, so one run never strips another's settings.
    """
    global _env_users
    values = {**KERNEL_ENV, **(extra or {})}
    with _ENV_LOCK:
        for key in values:
            _env_saved.setdefault(key, os.environ.get(key))
        os.environ.update(values)
        _env_users += 1
    try:
        yield
    finally:
        with _ENV_LOCK:
            _env_users -= 1
            if _env_users == 0:
                for key, old in _env_saved.items():
                    if old is None:
                        os.environ.pop(key, None)
                    else:
                        os.environ[key] = old
                _env_saved.clear()


def execute(
    notebook: str | Path | nbformat.NotebookNode,
    output_path: str | Path | None,
    parameters: Mapping[str, Any] | None,
    cwd: str | Path,
    progress_bar: bool = True,
) -> nbformat.NotebookNode:
    """Execute a notebook with papermill in the `KERNEL_NAME` kernel and `KERNEL_ENV`.

    Parameters
    ----------
    notebook
        Input notebook (path or node).
    output_path
        Where papermill saves the executed notebook (also after a failing cell); None
        keeps it in memory only.
    parameters
        Values injected after the ``parameters`` cell; empty or None injects nothing.
    cwd
        Working directory of the kernel (the notebooks folder, so relative defaults work).
    progress_bar
        Show papermill's tqdm bar.

    Returns
    -------
    nbformat.NotebookNode
        The executed notebook (with papermill's volatile metadata, see `strip_volatile`).

    Raises
    ------
    papermill.PapermillExecutionError
        A cell raised; the output notebook (if any) holds the traceback.
    """
    with kernel_environment():
        return papermill.execute_notebook(
            str(notebook) if isinstance(notebook, Path) else notebook,
            None if output_path is None else str(output_path),
            parameters=dict(parameters or {}),
            kernel_name=KERNEL_NAME,
            cwd=str(cwd),
            progress_bar=progress_bar,
        )


def describe_failure(notebook_name: str, error: PapermillExecutionError, lines: int = 5) -> str:
    """Describe a failing cell: notebook, cell index, first source lines, exception.

    Parameters
    ----------
    notebook_name
        Name of the notebook shown to the user.
    error
        The error papermill raised.
    lines
        How many lines of the cell's source to quote.

    Returns
    -------
    str
        A multi-line message. The cell index counts from 0 in the executed notebook,
        which holds one more cell than its source when parameters were injected.
    """
    source = str(error.source or "").splitlines()
    quoted = "\n".join(f"    {line}" for line in source[:lines])
    if len(source) > lines:
        quoted += f"\n    ... ({len(source) - lines} more lines)"
    return (
        f"notebook {notebook_name} failed in cell {error.cell_index} "
        f"(execution count In [{error.exec_count}]):\n{quoted}\n{error.ename}: {error.evalue}"
    )


def strip_volatile(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Remove run-specific metadata from a notebook, in place, so reruns are identical.

    Drops the notebook-level ``papermill`` block (input/output paths, parameters,
    start/end times, duration, exception flag), each cell's ``papermill`` and
    ``execution`` (timestamps) metadata, and the empty ``tags`` lists papermill adds.
    Cells papermill created (injected parameters, error markers) get stable ids.

    Parameters
    ----------
    nb
        An executed notebook.

    Returns
    -------
    nbformat.NotebookNode
        The same notebook, for chaining.
    """
    nb.metadata.pop("papermill", None)
    error_cells = 0
    for cell in nb.cells:
        cell.metadata.pop("papermill", None)
        cell.metadata.pop("execution", None)
        tags = cell.metadata.get("tags")
        if tags is not None and not tags:
            del cell.metadata["tags"]
        if INJECTED_TAG in (tags or []):
            cell["id"] = INJECTED_TAG
        elif ERROR_CELL_TAG in (tags or []):
            error_cells += 1
            cell["id"] = f"papermill-error-{error_cells}"
    return nb


def display_path(path: str | Path, root: str | Path) -> str:
    """Show a path without machine-specific parts.

    Parameters
    ----------
    path
        An absolute path.
    root
        The project folder (the repository root for ``imclab run``).

    Returns
    -------
    str
        The POSIX path relative to ``root`` when ``path`` lies inside it (``"."`` for
        ``root`` itself), otherwise the bare file or folder name.
    """
    path, root = Path(path).resolve(), Path(root).resolve()
    try:
        relative = path.relative_to(root)
    except ValueError:
        return path.name
    return relative.as_posix() or "."


def scrub_paths(
    nb: nbformat.NotebookNode, replacements: Mapping[str, str]
) -> nbformat.NotebookNode:
    """Replace absolute paths in outputs and in the injected-parameters cell, in place.

    Parameters
    ----------
    nb
        An executed notebook.
    replacements
        Absolute path to the text that replaces it. Longer paths are replaced first, and
        a path only matches where it ends (``/a/b`` does not match inside ``/a/bc``).

    Returns
    -------
    nbformat.NotebookNode
        The same notebook, for chaining.
    """
    pairs = sorted(
        ((str(k), v) for k, v in replacements.items() if str(k) not in ("", "/", ".")),
        key=lambda kv: len(kv[0]),
        reverse=True,
    )
    patterns = [(re.compile(re.escape(old) + r"(?![\w.\-])"), new) for old, new in pairs]

    def scrub(text: str) -> str:
        for pattern, new in patterns:
            text = pattern.sub(lambda _m, new=new: new, text)
        return text

    for cell in nb.cells:
        if INJECTED_TAG in cell.metadata.get("tags", []):
            cell.source = scrub(cell.source)
        for output in cell.get("outputs", []):
            if "text" in output:
                output["text"] = scrub(_joined(output["text"]))
            if "evalue" in output:
                output["evalue"] = scrub(output["evalue"])
            if "traceback" in output:
                output["traceback"] = [scrub(line) for line in output["traceback"]]
            for mime, value in output.get("data", {}).items():
                if mime.startswith("text/") or mime == "image/svg+xml":
                    output["data"][mime] = scrub(_joined(value))
    return nb


def _joined(value: str | list[str]) -> str:
    return value if isinstance(value, str) else "".join(value)


def stable_cell_ids(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Give cells ids derived from their type and source (unique, stable across rebuilds).

    jupytext creates random ids each time a script is converted; content-derived ids keep
    the committed notebooks' diffs to real changes.
    """
    seen: dict[str, int] = {}
    for cell in nb.cells:
        digest = hashlib.sha1(f"{cell.cell_type}\n{cell.source}".encode()).hexdigest()[:8]
        seen[digest] = seen.get(digest, 0) + 1
        cell["id"] = digest if seen[digest] == 1 else f"{digest}-{seen[digest]}"
    return nb
