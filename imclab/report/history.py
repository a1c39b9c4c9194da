"""Run history: every complete ``imclab run`` leaves its headline numbers for later campaigns.

The store is one Parquet file, ``reports/history.parquet`` (beside the report folders), one
row per campaign and figure; a campaign run again replaces its own rows, so re-running a
report gives the same history and the same index page. Schema (documented in
``campaigns/README.md``):

============== ======== =========================================================
column         type     meaning
============== ======== =========================================================
campaign       string   plan ``name`` (the key: one record per campaign)
title          string   plan ``title``
start, end     string   campaign dates (ISO)
currency       string   plan ``currency``
budget         float    plan ``budget.total``
fingerprint    string   SHA-256 of the data folder's files (names, sizes, bytes)
kind           string   ``kpi`` (a campaign KPI: roi, roas, cac ...), ``objective``
                        (one of the plan's objectives) or ``headline`` (any other
                        number a notebook recorded, as ``section.key``)
name           string   the KPI, objective id or headline
kpi            string   catalogue KPI of an objective (else equal to ``name`` for kpis)
value          float    the measured value
target         float    an objective's target (NaN otherwise)
status         string   an objective's status (met, missed ...; empty otherwise)
============== ======== =========================================================

Objectives can take their baseline from it: ``baseline: history:spring_launch.roas`` in a
plan reads the ``roas`` of the campaign ``spring_launch`` (see :func:`lookup`).
"""

from __future__ import annotations

import fcntl
import hashlib
import math
import os
from collections.abc import Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pandas as pd

from imclab.errors import PlanError

__all__ = [
    "COLUMNS",
    "HISTORY_FILE",
    "KPI_HEADLINES",
    "append_run",
    "compare_campaigns",
    "data_fingerprint",
    "history_path",
    "lookup",
    "read_history",
]

HISTORY_FILE = "history.parquet"
COLUMNS = [
    "campaign", "title", "start", "end", "currency", "budget", "fingerprint",
    "kind", "name", "kpi", "value", "target", "status",
]  # fmt: skip
KPI_HEADLINES = {"review": ("roi", "roas", "cac", "conversions")}
"""Headlines stored as campaign KPIs (the same definitions in every run)."""


def history_path(reports_dir: str | Path) -> Path:
    """Return the history file of a reports folder (``<reports>/history.parquet``)."""
    return Path(reports_dir) / HISTORY_FILE


def data_fingerprint(data_dir: str | Path) -> str:
    """Return the SHA-256 of a data folder: every file's relative name, size and bytes."""
    digest = hashlib.sha256()
    folder = Path(data_dir)
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        digest.update(path.relative_to(folder).as_posix().encode())
        digest.update(str(path.stat().st_size).encode())
        with path.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


def read_history(reports_dir: str | Path) -> pd.DataFrame:
    """Read the history of a reports folder (an empty frame with :data:`COLUMNS` if none)."""
    path = history_path(reports_dir)
    if not path.is_file():
        return pd.DataFrame({c: pd.Series(dtype=object) for c in COLUMNS})
    return pd.read_parquet(path)[COLUMNS]


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def _rows(
    plan: Any, headlines: Mapping[str, Mapping[str, Any]], fingerprint: str
) -> list[dict[str, Any]]:
    base = {
        "campaign": plan.name,
        "title": plan.title,
        "start": str(plan.start),
        "end": str(plan.end),
        "currency": plan.currency,
        "budget": float(plan.budget.total),
        "fingerprint": fingerprint,
    }
    rows = []
    stored = set()
    for section, keys in KPI_HEADLINES.items():
        for key in keys:
            value = _number(headlines.get(section, {}).get(key))
            if value is not None:
                rows.append({**base, "kind": "kpi", "name": key, "kpi": key, "value": value})
                stored.add((section, key))
    for outcome in headlines.get("review", {}).get("objectives", None) or []:
        value = _number(outcome.get("actual"))
        rows.append(
            {
                **base,
                "kind": "objective",
                "name": outcome["id"],
                "kpi": outcome["kpi"],
                "value": math.nan if value is None else value,
                "target": _number(outcome.get("target")),
                "status": str(outcome.get("status", "")),
            }
        )
    for section in sorted(headlines):
        for key, raw in sorted(headlines[section].items()):
            value = _number(raw)
            if value is not None and (section, key) not in stored:
                name = f"{section}.{key}"
                rows.append({**base, "kind": "headline", "name": name, "kpi": "", "value": value})
    for row in rows:
        row.setdefault("target", math.nan)
        row["target"] = math.nan if row["target"] is None else row["target"]
        row.setdefault("status", "")
    return rows


@contextmanager
def _locked(path: Path):
    """Hold the reports folder: two campaigns finishing at once are both stored."""
    path.parent.mkdir(parents=True, exist_ok=True)
    folder = os.open(path.parent, os.O_RDONLY)  # a lock on the folder leaves no lock file
    try:
        fcntl.flock(folder, fcntl.LOCK_EX)
        yield
    finally:
        os.close(folder)  # closing releases the lock


def append_run(
    reports_dir: str | Path,
    plan: Any,
    headlines: Mapping[str, Mapping[str, Any]],
    data_dir: str | Path,
) -> pd.DataFrame:
    """Store a complete run's numbers in the history, replacing the campaign's earlier record.

    Parameters
    ----------
    reports_dir
        The folder that holds the report folders (``reports/``).
    plan
        The run's :class:`imclab.plan.CampaignPlan`.
    headlines
        The run's headlines (:func:`imclab.report.headlines.read_headlines`).
    data_dir
        The data folder the run read (its fingerprint is stored).

    Returns
    -------
    pandas.DataFrame
        The whole history after the update, ordered by campaign start and name.
    """
    path = history_path(reports_dir)
    new = pd.DataFrame(_rows(plan, headlines, data_fingerprint(data_dir)), columns=COLUMNS)
    with _locked(path):
        old = read_history(reports_dir)
        old = old[old["campaign"] != plan.name]
        frames = [f for f in (old, new) if len(f)]
        history = pd.concat(frames, ignore_index=True) if frames else new
        history = history.sort_values(
            ["start", "campaign", "kind", "name"], kind="mergesort"
        ).reset_index(drop=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        history.to_parquet(tmp, index=False)
        os.replace(tmp, path)
    return history


def compare_campaigns(history: pd.DataFrame) -> pd.DataFrame:
    """Return one row per campaign (in start order) and one column per stored KPI.

    Columns: ``campaign, title, start, end, budget, currency``, ``objectives met`` (``x of
    y``), then each KPI of :data:`KPI_HEADLINES` that any campaign has.
    """
    if history.empty:
        return pd.DataFrame(columns=["campaign", "title", "start", "end", "budget", "currency"])
    info = history.drop_duplicates("campaign")[
        ["campaign", "title", "start", "end", "budget", "currency"]
    ].set_index("campaign")
    kpis = history[history["kind"] == "kpi"].pivot(index="campaign", columns="name", values="value")
    order = [k for keys in KPI_HEADLINES.values() for k in keys if k in kpis.columns]
    objectives = history[history["kind"] == "objective"]
    met = objectives.groupby("campaign")["status"].agg(
        lambda s: f"{int((s == 'met').sum())} of {len(s)}"
    )
    out = info.join(met.rename("objectives met")).join(kpis[order])
    out = out.reset_index().sort_values(["start", "campaign"], kind="mergesort")
    return out.reset_index(drop=True)


def lookup(reports_dir: str | Path, campaign: str, kpi: str) -> float:
    """Return a KPI of an earlier campaign: an objective's measured value, else a stored KPI.

    Raises
    ------
    PlanError
        The history has no such campaign or KPI; the message lists what it has.
    """
    history = read_history(reports_dir)
    path = history_path(reports_dir)
    runs = history[history["campaign"] == campaign]
    if runs.empty:
        known = ", ".join(sorted(history["campaign"].unique())) or "(none yet)"
        raise PlanError(
            f"no run of campaign {campaign!r} in {path}; run it first (imclab run) or type the "
            f"baseline; campaigns there: {known}"
        )
    for kind, column in (("objective", "kpi"), ("kpi", "name")):
        hits = runs[(runs["kind"] == kind) & (runs[column] == kpi)]["value"].dropna()
        if len(hits):
            return float(hits.iloc[0])
    have = sorted(set(runs.loc[runs["kind"].isin(["kpi", "objective"]), "kpi"]) - {""})
    raise PlanError(
        f"campaign {campaign!r} in {path} has no measured {kpi!r}; it has: {', '.join(have)}"
    )
