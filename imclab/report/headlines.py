"""Headline numbers that notebooks hand to the report index (KPI tiles, audit counts)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

HEADLINES_DIR = "headlines"


def record_headlines(report_dir: str | Path, section: str, values: dict[str, Any]) -> Path | None:
    """Write a notebook's headline numbers to ``report_dir/headlines/<section>.json``.

    Parameters
    ----------
    report_dir
        The report folder the runner passed to the notebook; ``""`` writes nothing
        (interactive or nbval runs).
    section
        Short name of the notebook section, e.g. ``"data_audit"``.
    values
        JSON-serialisable mapping of headline name to value (numbers, strings, lists).

    Returns
    -------
    Path or None
        The file written, or None when ``report_dir`` is empty.
    """
    if not str(report_dir):
        return None
    folder = Path(report_dir) / HEADLINES_DIR
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{section}.json"
    path.write_text(json.dumps(values, indent=2, sort_keys=True, default=str), encoding="utf-8")
    return path


def read_headlines(report_dir: str | Path) -> dict[str, dict[str, Any]]:
    """Read every section's headlines from a report folder (empty dict when none)."""
    folder = Path(report_dir) / HEADLINES_DIR
    if not folder.is_dir():
        return {}
    return {
        p.stem: json.loads(p.read_text(encoding="utf-8")) for p in sorted(folder.glob("*.json"))
    }
