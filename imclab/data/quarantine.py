"""The quarantine: rows the loader refused, one line per fault, and the messages that name them.

A quarantine frame has the columns ``file, row, column, value, reason``. ``row`` is the data row
number in the file: 1 is the first record after the header (so data row n is line n + 1 of a
CSV, blank lines included), or the 1-based row position in a Parquet file. A row with two
faults has two lines; nothing the loader refuses is dropped without a line here.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

if TYPE_CHECKING:  # pragma: no cover
    from imclab.data.load import World

QUARANTINE_COLUMNS: list[str] = ["file", "row", "column", "value", "reason"]
QUARANTINE_FILE = "quarantine.csv"
_MAX_ROWS_SHOWN = 10
_MAX_VALUES_SHOWN = 3
_MAX_VALUE_CHARS = 40


def empty_faults() -> pd.DataFrame:
    """Return an empty fault frame (quarantine columns plus the message ``template``)."""
    return pd.DataFrame(
        {
            "file": pd.Series(dtype="object"),
            "row": pd.Series(dtype="int64"),
            "column": pd.Series(dtype="object"),
            "value": pd.Series(dtype="object"),
            "reason": pd.Series(dtype="object"),
            "template": pd.Series(dtype="object"),
        }
    )


def as_quarantine(faults: pd.DataFrame) -> pd.DataFrame:
    """Return the public quarantine frame (``file, row, column, value, reason``) of a fault frame.

    Parameters
    ----------
    faults
        Frame with at least the quarantine columns (extra columns are dropped).

    Returns
    -------
    pandas.DataFrame
        A copy with exactly :data:`QUARANTINE_COLUMNS`, ``row`` as int64 (nullable ``Int64``
        when some rows have no number: example rows of a warehouse table).
    """
    frame = faults.reindex(columns=QUARANTINE_COLUMNS).copy()
    frame["row"] = frame["row"].astype("Int64" if frame["row"].isna().any() else "int64")
    return frame.reset_index(drop=True)


def _quote(value: Any) -> str:
    text = "" if value is None or (isinstance(value, float) and pd.isna(value)) else str(value)
    if len(text) > _MAX_VALUE_CHARS:
        text = text[: _MAX_VALUE_CHARS - 3] + "..."
    return "'" + text.replace("\n", "\\n") + "'"


def _rows_text(rows: list[int]) -> str:
    n = len(rows)
    if n == 1:
        return f"row {rows[0]}"
    shown = ", ".join(str(r) for r in rows[:_MAX_ROWS_SHOWN])
    more = ", ..." if n > _MAX_ROWS_SHOWN else ""
    return f"rows {shown}{more} ({n:,} rows)"


def _values_text(values: list[Any]) -> str:
    distinct = list(dict.fromkeys(_quote(v) for v in values))
    text = ", ".join(distinct[:_MAX_VALUES_SHOWN])
    rest = len(distinct) - _MAX_VALUES_SHOWN
    if rest > 0:
        text += f" and {rest:,} other value{'s' if rest > 1 else ''}"
    return text


def format_faults(faults: pd.DataFrame) -> list[str]:
    """Turn fault lines into one message per file, column and reason.

    Parameters
    ----------
    faults
        A quarantine frame; when it has a ``template`` column (``"cannot parse {values} as a
        timestamp (expected ISO 8601)"``) the offending values are written into the sentence,
        otherwise they follow the reason.

    Returns
    -------
    list of str
        Messages such as ``touchpoints.csv: column 'timestamp' rows 17, 242 (2 rows): cannot
        parse '2024-13-01' as a timestamp (expected ISO 8601)``, in order of first fault.
    """
    if faults.empty:
        return []
    frame = faults.copy()
    if "template" not in frame.columns:
        frame["template"] = frame["reason"] + " (values {values})"
    frame["column"] = frame["column"].fillna("")
    frame["_order"] = range(len(frame))
    messages = []
    groups = frame.groupby(["file", "column", "reason"], sort=False, dropna=False)
    for (file, column, _reason), group in sorted(groups, key=lambda g: g[1]["_order"].min()):
        rows = sorted(set(group["row"].astype(int)))
        template = group["template"].iloc[0]
        sentence = template.replace("{values}", _values_text(list(group["value"])))
        where = f"column '{column}' " if column else ""
        messages.append(f"{file}: {where}{_rows_text(rows)}: {sentence}")
    return messages


def faults_message(faults: pd.DataFrame, source: Path | str, limit: int = 20) -> str:
    """Return the text of the ``DataError`` raised by ``load_world(..., strict=True)``.

    Parameters
    ----------
    faults
        The fault lines of every table.
    source
        The data folder (named in the first line).
    limit
        How many grouped messages to list before counting the rest.

    Returns
    -------
    str
        A header line, the first ``limit`` messages and a count of the rest.
    """
    messages = format_faults(faults)
    n_rows = faults.groupby("file")["row"].nunique().sum()
    lines = [
        f"{source}: {len(faults):,} fault{'s' if len(faults) != 1 else ''} in {n_rows:,} "
        f"row{'s' if n_rows != 1 else ''} (strict=True; load with strict=False to quarantine "
        "these rows and keep the rest):"
    ]
    lines += [f"  {m}" for m in messages[:limit]]
    rest = len(messages) - limit
    if rest > 0:
        lines.append(f"  ... and {rest:,} more fault message{'s' if rest > 1 else ''}")
    return "\n".join(lines)


def write_quarantine(world_or_frame: World | pd.DataFrame, path: str | Path) -> Path:
    """Write the quarantine to CSV (``reports/<campaign>/quarantine.csv`` in the audit notebook).

    Parameters
    ----------
    world_or_frame
        A loaded :class:`~imclab.data.load.World` or a quarantine frame.
    path
        The CSV file to write, or a folder (existing, or a path without suffix) in which
        ``quarantine.csv`` is written. Parent folders are created.

    Returns
    -------
    pathlib.Path
        The file written (always written, with just the header when nothing was quarantined).
    """
    frame = (
        world_or_frame if isinstance(world_or_frame, pd.DataFrame) else world_or_frame.quarantine
    )
    target = Path(path)
    if target.is_dir() or not target.suffix:
        target = target / QUARANTINE_FILE
    target.parent.mkdir(parents=True, exist_ok=True)
    as_quarantine(frame).to_csv(target, index=False)
    return target
