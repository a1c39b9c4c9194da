"""The quarantine: rows the loader refused, one line per fault, and the messages that name them.

A quarantine frame has the columns ``file, row, column, value, reason``. ``row`` is the data row
number in the file: 1 is the first record after the header (so data row n is line n + 1 of a
CSV, blank lines included), or the 1-based row position in a Parquet file. A row with two
faults has two lines; nothing the loader refuses is dropped without a line here.

The report is built here once for every path: :func:`report_messages` words a fault summary
(:data:`SUMMARY_COLUMNS`), which the loader takes from its lines (:func:`fault_summary`) and an
engine counts where the table lives; :func:`excluded_rows` counts each refused row once, by
its first fault.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from imclab.data.schemas import SCHEMAS

if TYPE_CHECKING:  # pragma: no cover
    from imclab.data.load import World

QUARANTINE_COLUMNS: list[str] = ["file", "row", "column", "value", "reason"]
QUARANTINE_FILE = "quarantine.csv"
_MAX_ROWS_SHOWN = 10
#: Distinct values a message quotes (then "and N other values").
VALUES_SHOWN = 3
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


#: The per-message summary of faults (:func:`fault_summary`), what :func:`report_messages` words.
SUMMARY_COLUMNS: list[str] = [
    "file", "column", "reason", "template", "rows", "values", "other_values", "row_numbers",
]  # fmt: skip


def _top_values(values: pd.Series) -> tuple[list[str], int]:
    """Return the values a message shows (most frequent first, then by text) and how many more.

    The order both paths compute (an engine in its own SQL, ``warehouse._engine_summary``);
    missing values count as ``''``.
    """
    counts = values.astype("object").where(values.notna(), "").map(str).value_counts()
    frame = counts.rename_axis("value").reset_index(name="n")
    frame = frame.sort_values(["n", "value"], ascending=[False, True], kind="mergesort")
    shown = frame["value"].head(VALUES_SHOWN).tolist()
    return shown, len(frame) - len(shown)


def fault_summary(faults: pd.DataFrame) -> pd.DataFrame:
    """Summarise every fault line per file, column and reason (the loader's quarantine).

    Parameters
    ----------
    faults
        Every fault line (quarantine columns; a ``template`` column words the values into
        the sentence, see :func:`report_messages`).

    Returns
    -------
    pandas.DataFrame
        :data:`SUMMARY_COLUMNS`: ``rows`` rows with this fault (a row with two faults counts
        under both), the ``values`` shown and how many ``other_values``, the first
        ``row_numbers`` (up to 10). An engine builds the same frame from its aggregates, with
        no row numbers (a warehouse table has none).
    """
    if faults.empty:
        return pd.DataFrame(columns=SUMMARY_COLUMNS)
    frame = faults.copy()
    if "template" not in frame.columns:
        frame["template"] = frame["reason"] + " (values {values})"
    frame["column"] = frame["column"].fillna("")
    out = []
    for (file, column, reason), group in frame.groupby(
        ["file", "column", "reason"], sort=False, dropna=False
    ):
        rows = sorted(set(group["row"].astype(int)))
        shown, other = _top_values(group["value"])
        out.append(
            {"file": file, "column": column, "reason": reason,
             "template": group["template"].iloc[0], "rows": len(rows), "values": shown,
             "other_values": other, "row_numbers": rows[:_MAX_ROWS_SHOWN]}
        )  # fmt: skip
    return pd.DataFrame(out, columns=SUMMARY_COLUMNS)


def _position(file: str, column: str, tables: dict[str, str]) -> tuple[int, int]:
    files = list(tables)
    table = tables.get(file)
    columns = list(SCHEMAS[table].columns) if table in SCHEMAS else []
    return (
        files.index(file) if file in files else len(files),
        columns.index(column) if column in columns else len(columns),
    )


def report_messages(summary: pd.DataFrame, tables: dict[str, str] | None = None) -> list[str]:
    """Word a fault summary: one message per file, column and reason, for every path.

    The one report builder: the file loader (:func:`fault_summary` of its quarantine) and the
    engines (:func:`imclab.warehouse.open_world`, from counts run in the engine) hand it the
    same summary for the same faults, so ``imclab validate``, the audit notebook and the
    :class:`~imclab.data.load.ValidationReport` read the same on either path. Only a file
    names its rows (``row 3:``, ``rows 3, 8 (2 rows):``); a warehouse table has no row
    numbers and gives the count alone (``(1 row):``, ``(2 rows):``).

    Parameters
    ----------
    summary
        :data:`SUMMARY_COLUMNS` (``template``: the sentence, ``{values}`` standing for the
        quoted values).
    tables
        ``{file: table}`` in report order; messages are ordered by it, then by the column's
        place in the data dictionary, then by reason. Default: files in order of appearance.

    Returns
    -------
    list of str
        Messages such as ``touchpoints.csv: column 'timestamp' rows 17, 242 (2 rows): cannot
        parse '2024-13-01' as a timestamp (expected ISO 8601)``.
    """
    if summary.empty:
        return []
    if tables is None:
        tables = {f: Path(str(f)).stem for f in dict.fromkeys(summary["file"])}
    frame = summary.copy()
    frame["_pos"] = [
        _position(f, c, tables) for f, c in zip(frame["file"], frame["column"], strict=True)
    ]
    frame = frame.sort_values(["_pos", "reason"], kind="mergesort")
    messages = []
    for s in frame.itertuples(index=False):
        values = ", ".join(_quote(v) for v in s.values)
        if s.other_values > 0:
            values += f" and {s.other_values:,} other value{'s' if s.other_values > 1 else ''}"
        sentence = s.template.replace("{values}", values)
        where = f"column '{s.column}' " if s.column else ""
        numbers = list(s.row_numbers) if isinstance(s.row_numbers, (list, tuple)) else []
        count = f"({s.rows:,} row{'s' if s.rows != 1 else ''})"
        if numbers and s.rows == 1:
            count = f"row {numbers[0]}"
        elif numbers:
            more = ", ..." if s.rows > len(numbers) else ""
            count = f"rows {', '.join(map(str, numbers))}{more} {count}"
        messages.append(f"{s.file}: {where}{count}: {sentence}")
    return messages


def format_faults(faults: pd.DataFrame, tables: dict[str, str] | None = None) -> list[str]:
    """Word fault lines: :func:`report_messages` of their :func:`fault_summary`."""
    return report_messages(fault_summary(faults), tables)


def faults_message(
    faults: pd.DataFrame,
    source: Path | str,
    limit: int = 20,
    tables: dict[str, str] | None = None,
) -> str:
    """Return the text of the ``DataError`` raised by ``load_world(..., strict=True)``.

    Parameters
    ----------
    faults
        The fault lines of every table.
    source
        The data folder (named in the first line).
    limit
        How many grouped messages to list before counting the rest.
    tables
        ``{file: table}`` in report order (see :func:`report_messages`).

    Returns
    -------
    str
        A header line, the first ``limit`` messages and a count of the rest.
    """
    messages = format_faults(faults, tables)
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


def excluded_rows(quarantine: pd.DataFrame, files: dict[str, str] | None = None) -> pd.DataFrame:
    """Count every quarantined row once, by its first fault (rule 4 of ``data/README.md``).

    The loader lists a row's faults in the order of the checks (cells in contract order, then
    the ``left <= right`` pairs), so its first line is the fault an engine counts it by
    (:func:`imclab.data.contracts.first_fault`): this is an engine world's ``excluded`` for
    a file's quarantine.

    Parameters
    ----------
    quarantine
        Fault lines of numbered rows (a file's quarantine), in the loader's order.
    files
        ``{table: file}``; default: the table is the file name's stem.

    Returns
    -------
    pandas.DataFrame
        ``table, column, reason, rows``: tables in data-dictionary order, columns in contract
        order, then reason.
    """
    if files is None:
        files = {Path(str(f)).stem: f for f in dict.fromkeys(quarantine["file"])}
    table_of = {f: t for t, f in files.items()}
    first = quarantine.drop_duplicates(["file", "row"], keep="first")
    counts = (
        first.assign(table=first["file"].map(table_of), column=first["column"].fillna(""))
        .groupby(["table", "column", "reason"], sort=False, dropna=False)
        .size()
        .rename("rows")
        .reset_index()
    )
    tables = list(SCHEMAS)
    counts["_pos"] = [
        _position(files.get(t, ""), c, {files[n]: n for n in tables if n in files})
        if t in SCHEMAS
        else (len(tables), 0)
        for t, c in zip(counts["table"], counts["column"], strict=True)
    ]
    counts = counts.sort_values(["_pos", "reason"], kind="mergesort").reset_index(drop=True)
    return counts[["table", "column", "reason", "rows"]].astype({"rows": "int64"})


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
