"""Load a brand world folder into validated DataFrames, quarantining every row that breaks a rule.

Files are read through DuckDB (CSV as all-VARCHAR so no value can crash the reader, or Parquet);
the clean values and the rule checks are the contracts' Ibis expressions
(:mod:`imclab.data.contracts`, the one home of the data rules) compiled to DuckDB SQL, and each
clean table is validated with its pandera schema as the final guard (dtypes, missing values,
allowed values and bounds; key uniqueness only in SQL).

Row numbers (``row`` in the quarantine) are data row numbers: 1 is the first record after the
header, and row n is line n + 1 of a CSV file (blank lines are skipped but counted, so a user
finds the row at the line its number says), or the 1-based row position in a Parquet file.
"""

from __future__ import annotations

import csv
import difflib
import functools
import shutil
import tempfile
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import duckdb
import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd
import pandera.pandas as pa
import pyarrow as pyarrow_lib
import pyarrow.compute as pyarrow_compute

from imclab.data.contracts import (
    any_fault,
    clean_values,
    describe,
    describe_duplicate,
    describe_reference,
    duplicates_ranked,
    fault_lines,
    key_text,
    parse,
    row_checks,
    unmatched_ids,
)
from imclab.data.quarantine import as_quarantine, empty_faults, faults_message, format_faults
from imclab.data.schemas import (
    OPTIONAL_TABLES,
    REQUIRED_TABLES,
    SCHEMAS,
    TABLES,
    column_rules,
    date_columns,
    key_columns,
)
from imclab.errors import DataError, ParameterError

__all__ = ["TableReport", "ValidationReport", "World", "load_world"]

FORMATS: tuple[str, ...] = ("csv", "parquet")
# A CSV line longer than this is quarantined before DuckDB reads the file (DuckDB's own
# buffers silently drop records beyond 32 MB). Ad copy and ids are far shorter.
MAX_LINE_BYTES = 1_000_000
_TOO_LONG_MARKER = b"imclab: record too long"
_SCAN_CHUNK = 16 * 1024 * 1024


# --------------------------------------------------------------------------------------------
# Reports and the World
# --------------------------------------------------------------------------------------------
@dataclass
class TableReport:
    """What happened to one table during loading.

    Attributes
    ----------
    table
        Table name (``touchpoints``).
    file
        File name read (``touchpoints.csv``), or None when the optional table is absent.
    rows_read, rows_loaded, rows_quarantined
        Data rows in the file, rows kept, rows quarantined (``loaded + quarantined == read``).
    faults
        Quarantine lines of this table (a row can have several).
    date_min, date_max
        Range of the table's date column(s) over the loaded rows (None without dates).
    extra_columns
        Columns in the file that the data dictionary does not define (not loaded).
    identity_rows, identity_matched
        For tables that carry a ``customer_id`` (touchpoints, conversions, survey): rows whose
        customer id was checked, and how many of them join to a loaded customer. For
        touchpoints/conversions the checked rows are those that passed the per-cell checks;
        survey rows with an empty ``customer_id`` count as unmatched.
    """

    table: str
    file: str | None = None
    rows_read: int = 0
    rows_loaded: int = 0
    rows_quarantined: int = 0
    faults: int = 0
    date_min: pd.Timestamp | None = None
    date_max: pd.Timestamp | None = None
    extra_columns: tuple[str, ...] = ()
    identity_rows: int | None = None
    identity_matched: int | None = None

    @property
    def present(self) -> bool:
        """Whether the table's file was found and loaded."""
        return self.file is not None


@dataclass
class ValidationReport:
    """Per-table outcome of :func:`load_world` plus the fault messages.

    Attributes
    ----------
    source
        The data folder.
    as_of
        Events after this moment were quarantined as "in the future".
    tables
        ``{table: TableReport}`` in load order (absent optional tables included).
    messages
        One sentence per file, column and reason of the quarantined faults
        (:func:`imclab.data.quarantine.report_messages`, the same words on every path).
    """

    source: Path
    as_of: pd.Timestamp
    tables: dict[str, TableReport] = field(default_factory=dict)
    messages: list[str] = field(default_factory=list)

    @property
    def missing_optional(self) -> list[str]:
        """Optional tables (survey, ab_tests, creatives) whose file was not found."""
        return [t for t, r in self.tables.items() if t in OPTIONAL_TABLES and not r.present]

    @property
    def ok(self) -> bool:
        """True when no row was quarantined."""
        return all(r.rows_quarantined == 0 for r in self.tables.values())

    def to_frame(self) -> pd.DataFrame:
        """Return one row per table.

        Returns
        -------
        pandas.DataFrame
            Columns ``table, file, present, rows_read, rows_loaded, rows_quarantined, faults,
            date_min, date_max, extra_columns`` (extra columns joined by ``", "``).
        """
        rows = [
            {
                "table": r.table,
                "file": r.file,
                "present": r.present,
                "rows_read": r.rows_read,
                "rows_loaded": r.rows_loaded,
                "rows_quarantined": r.rows_quarantined,
                "faults": r.faults,
                "date_min": r.date_min,
                "date_max": r.date_max,
                "extra_columns": ", ".join(r.extra_columns),
            }
            for r in self.tables.values()
        ]
        frame = pd.DataFrame(rows)
        for col in ("rows_read", "rows_loaded", "rows_quarantined", "faults"):
            frame[col] = frame[col].astype("int64")
        for col in ("date_min", "date_max"):
            frame[col] = pd.to_datetime(frame[col])
        return frame

    def __str__(self) -> str:
        return self.summary()

    def summary(self) -> str:
        """Return a short plain-text account of the load (rows per table, faults, absences)."""
        lines = [
            f"Data folder {Path(str(self.source)).name}/ (as of {self.as_of:%Y-%m-%d %H:%M:%S})"
        ]
        for r in self.tables.values():
            if not r.present:
                lines.append(f"  {r.table}: absent (optional)")
                continue
            text = (
                f"  {r.file}: {r.rows_read:,} rows read, {r.rows_loaded:,} loaded, "
                f"{r.rows_quarantined:,} quarantined"
            )
            if r.date_min is not None:
                text += f"; {r.date_min:%Y-%m-%d} to {r.date_max:%Y-%m-%d}"
            if r.extra_columns:
                text += f"; extra columns not loaded: {', '.join(r.extra_columns)}"
            lines.append(text)
        if self.messages:
            lines.append("Quarantined:")
            lines += [f"  {m}" for m in self.messages]
        else:
            lines.append("No row was quarantined.")
        return "\n".join(lines)


@dataclass
class World:
    """A loaded brand world: validated tables, the quarantine and the validation report.

    Attributes
    ----------
    tables
        ``{table: DataFrame}`` of the tables found (absent optional tables are not keys).
    report
        The :class:`ValidationReport`.
    quarantine
        Every refused row, one line per fault: ``file, row, column, value, reason``.
    source
        The data folder.
    """

    tables: dict[str, pd.DataFrame]
    report: ValidationReport
    quarantine: pd.DataFrame
    source: Path

    def __repr__(self) -> str:
        sizes = ", ".join(f"{name} {len(frame):,}" for name, frame in self.tables.items())
        n_rows = sum(r.rows_quarantined for r in self.report.tables.values())
        return f"World({self.source.name}/: {sizes}; {n_rows:,} rows quarantined)"

    def table(self, name: str) -> pd.DataFrame:
        """Return a table, or raise ``DataError`` naming the file when it is absent.

        Parameters
        ----------
        name
            Table name, e.g. ``"survey"``.

        Returns
        -------
        pandas.DataFrame
            The validated table.
        """
        if name not in self.tables:
            raise DataError(
                f"{self.source}: table '{name}' was not loaded (expected {name}.csv or "
                f"{name}.parquet in the folder)"
            )
        return self.tables[name]

    @property
    def customers(self) -> pd.DataFrame:
        """The customers table (single customer view)."""
        return self.table("customers")

    @property
    def touchpoints(self) -> pd.DataFrame:
        """The touchpoints table (event log)."""
        return self.table("touchpoints")

    @property
    def conversions(self) -> pd.DataFrame:
        """The conversions table (orders)."""
        return self.table("conversions")

    @property
    def spend(self) -> pd.DataFrame:
        """The daily media spend table."""
        return self.table("spend")

    @property
    def survey(self) -> pd.DataFrame | None:
        """The brand-tracking survey, or None when ``survey`` is absent."""
        return self.tables.get("survey")

    @property
    def ab_tests(self) -> pd.DataFrame | None:
        """The aggregated A/B test results, or None when absent."""
        return self.tables.get("ab_tests")

    @property
    def creatives(self) -> pd.DataFrame | None:
        """The creatives (message per channel), or None when absent."""
        return self.tables.get("creatives")

    def duckdb(self, con: duckdb.DuckDBPyConnection | None = None) -> duckdb.DuckDBPyConnection:
        """Return a DuckDB connection with every loaded table registered under its name.

        Parameters
        ----------
        con
            Connection to register the tables on; a new in-memory one by default.

        Returns
        -------
        duckdb.DuckDBPyConnection
            ``con.sql("SELECT channel, count(*) FROM touchpoints GROUP BY 1")`` works.
        """
        con = con or duckdb.connect()
        for name, frame in self.tables.items():
            con.register(name, frame)
        return con


# --------------------------------------------------------------------------------------------
# SQL helpers
# --------------------------------------------------------------------------------------------
def _lit(value: Any) -> str:
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    return repr(value)


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _enum(values: Any) -> str:
    return "ENUM(" + ", ".join(_lit(str(v)) for v in values) + ")"


#: The names the rules' Ibis expressions give the file's rows (replaced by the reading SQL)
#: and the rows with each cell parsed once (replaced by the parsing SQL).
_SOURCE, _PARSED = "__imclab_source__", "__imclab_parsed__"


def _compiled(expr: ir.Table, sources: dict[str, str] | None = None) -> str:
    """DuckDB SQL of a contract expression (:mod:`imclab.data.contracts`), its rules unchanged.

    The rules are written once, as Ibis expressions; the loader runs them as SQL on its own
    connection, over its own reading of the file (``sources`` maps an unbound table's name
    to the SQL that replaces it) or over its temporary tables (named as the unbound tables).
    """
    sql = ibis.to_sql(expr, dialect="duckdb")
    for name, source in (sources or {}).items():
        sql = sql.replace(f'"{name}"', f"({source})")
    return sql


def _suggest(missing: str, found: list[str]) -> str:
    close = difflib.get_close_matches(missing, found, n=1, cutoff=0.6)
    if not close:
        lowered = {f.lower().replace(" ", "_"): f for f in found}
        if missing in lowered:
            close = [lowered[missing]]
    return f" (did you mean '{close[0]}'?)" if close else ""


# --------------------------------------------------------------------------------------------
# Reading one table
# --------------------------------------------------------------------------------------------
def _find_file(folder: Path, table: str) -> Path | None:
    """Return the table's file in ``folder`` (the one rule: :func:`imclab.engine.locate_table`)."""
    from imclab.engine import locate_table

    if not Path(folder).is_dir():
        return None
    found = locate_table(folder, table)
    if found is not None and Path(found).is_dir():
        raise DataError(
            f"{found}: a folder of Parquet part files; the file loader reads one "
            f"{table}.csv or {table}.parquet file (open a folder of parts with engine='spark' "
            "or lazy=True)"
        )
    return None if found is None else Path(found)


def _csv_header(path: Path) -> list[str]:
    with path.open("rb") as handle:  # only the first line: data rows are DuckDB's job
        first = handle.readline()
    try:
        line = first.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DataError(f"{path.name}: the header row is not UTF-8 text ({exc.reason})") from exc
    try:
        header = next(csv.reader([line.rstrip("\r\n")]), None)
    except csv.Error as exc:
        raise DataError(f"{path.name}: cannot read the header row ({exc})") from exc
    if not header or all(not h.strip() for h in header):
        raise DataError(
            f"{path.name}: the file is empty (expected a header row naming the columns)"
        )
    return [h.strip() for h in header]


def _parquet_header(con: duckdb.DuckDBPyConnection, path: Path) -> list[str]:
    try:
        rel = con.sql(f"SELECT * FROM read_parquet({_lit(str(path))})")
        return list(rel.columns)
    except duckdb.Error as exc:
        raise DataError(f"{path.name}: cannot read the Parquet file ({exc})") from exc


def _check_header(path: Path, table: str, header: list[str]) -> tuple[dict[str, int], list[str]]:
    """Return ``{expected column: position in the file}`` and the extra columns."""
    schema = SCHEMAS[table]
    seen: dict[str, int] = {}
    for pos, name in enumerate(header):
        if name in seen and name:
            raise DataError(
                f"{path.name}: column '{name}' appears twice in the header (positions "
                f"{seen[name] + 1} and {pos + 1})"
            )
        seen[name] = pos
    expected = list(schema.columns)
    required = [c for c, col in schema.columns.items() if col.required]
    missing = [c for c in required if c not in seen]
    if missing:
        details = ", ".join(f"'{m}'{_suggest(m, header)}" for m in missing)
        word = "column" if len(missing) == 1 else "columns"
        raise DataError(
            f"{path.name}: missing required {word} {details}; expected columns: "
            f"{', '.join(expected)}; found: {', '.join(header)}"
        )
    positions = {c: seen[c] for c in expected if c in seen}
    extra = [h for h in header if h not in schema.columns]
    return positions, extra


def _long_lines(path: Path, limit: int | None = None) -> list[tuple[int, int, int]]:
    """Find the data lines longer than ``limit`` bytes: ``(line number, start, end)`` offsets.

    A streaming scan for line breaks (numpy over 16 MB chunks: about a second per GB), so a
    runaway record is caught before DuckDB's reader, which drops records beyond its 32 MB
    buffer without a reject. Line 1 (the header) is left to the header check.
    """
    limit = MAX_LINE_BYTES if limit is None else limit
    found: list[tuple[int, int, int]] = []
    newline, line_no, line_start, offset = None, 1, 0, 0
    with path.open("rb") as handle:
        while chunk := handle.read(_SCAN_CHUNK):
            if newline is None:  # "\n" (or "\r\n"), or a classic-Mac file with "\r" only
                newline = 10 if b"\n" in chunk or b"\r" not in chunk else 13
            ends = np.flatnonzero(np.frombuffer(chunk, np.uint8) == newline) + offset
            if len(ends):
                starts = np.concatenate([[line_start], ends[:-1] + 1])
                for i in np.flatnonzero(ends - starts > limit):
                    found.append((line_no + int(i), int(starts[i]), int(ends[i]) + 1))
                line_no += len(ends)
                line_start = int(ends[-1]) + 1
            offset += len(chunk)
    if offset - line_start > limit:  # last line without a line break
        found.append((line_no, line_start, offset))
    return [f for f in found if f[0] > 1]


def _blank_lines(path: Path) -> np.ndarray:
    """Return the data row numbers (line - 1) of the empty lines of a CSV (DuckDB skips them).

    A streaming scan like :func:`_long_lines`. Quarantine rows are ``line - 1`` for every
    record, so a record after a blank line is still found at the line its number says.
    """
    found: list[np.ndarray] = []
    line_no, prev_end = 1, -1  # the break before the first line sits at offset -1
    with path.open("rb") as handle:
        offset, newline = 0, None
        carry = b""
        while chunk := handle.read(_SCAN_CHUNK):
            if newline is None:
                newline = 10 if b"\n" in chunk or b"\r" not in chunk else 13
            data = np.frombuffer(chunk, np.uint8)
            ends = np.flatnonzero(data == newline) + offset
            if len(ends):
                starts = np.concatenate([[prev_end + 1], ends[:-1] + 1])
                width = ends - starts
                # an empty line, or "\r" alone in a "\r\n" file
                empty = width == 0
                one = np.flatnonzero(width == 1)
                if len(one) and newline == 10:
                    first = starts[one] - offset
                    inside = first >= 0
                    cr = np.zeros(len(one), bool)
                    cr[inside] = data[first[inside]] == 13
                    cr[~inside] = carry[-1:] == b"\r"
                    empty[one[cr]] = True
                found.append(line_no + np.flatnonzero(empty))
                line_no += len(ends)
                prev_end = int(ends[-1])
            carry = chunk[-1:]
            offset += len(chunk)
    lines = np.concatenate(found) if found else np.zeros(0, "int64")
    return (lines[lines > 1] - 1).astype("int64")


def _without_long_lines(path: Path, long: list[tuple[int, int, int]], folder: Path) -> Path:
    """Copy ``path`` into ``folder`` with each long line replaced by a one-field marker line.

    The marker has too few fields, so DuckDB rejects it at the same line number and the
    loader quarantines it as "record too long".
    """
    target = folder / path.name
    with path.open("rb") as source, target.open("wb") as out:
        position = 0
        for _, start, end in long:
            source.seek(position)
            _copy_bytes(source, out, start - position)
            out.write(_TOO_LONG_MARKER + b"\n")
            position = end
        source.seek(position)
        shutil.copyfileobj(source, out, _SCAN_CHUNK)
    return target


def _copy_bytes(source: Any, out: Any, n: int) -> None:
    while n > 0:
        block = source.read(min(n, _SCAN_CHUNK))
        if not block:
            return
        out.write(block)
        n -= len(block)


def _long_line_faults(path: Path, long: list[tuple[int, int, int]]) -> pd.DataFrame:
    prefixes = []
    with path.open("rb") as handle:
        for _, start, _end in long:
            handle.seek(start)
            prefixes.append(handle.read(60).decode("utf-8", "replace") + "...")
    limit = f"{MAX_LINE_BYTES:,}"
    return pd.DataFrame(
        {
            "file": path.name,
            "row": [line - 1 for line, _, _ in long],
            "column": "",
            "value": prefixes,
            "reason": f"record too long (over {limit} bytes)",
            "template": [
                f"record {{values}} too long ({end - start:,} bytes, over the {limit}-byte limit)"
                for _, start, end in long
            ],
        }
    )


def _source_sql(
    path: Path, table: str, header: list[str], positions: dict[str, int], tag: str
) -> str:
    """Return SQL yielding ``_ord`` (1-based ordinal of the accepted record) and VARCHAR columns.

    CSV is read all-VARCHAR with the reject store on, so records the reader cannot split into
    the header's columns (too many or too few fields, invalid UTF-8, unterminated quotes) land
    in ``rej_<tag>`` instead of failing the read. ``row_number() OVER ()`` follows the file
    order (DuckDB preserves insertion order), which is what makes ``_ord`` stable between the
    two passes over the file.
    """
    select = []
    for name in SCHEMAS[table].columns:
        if name in positions:
            select.append(f"CAST(c{positions[name]} AS VARCHAR) AS {_ident(name)}")
        else:  # optional column absent from the file
            select.append(f"CAST(NULL AS VARCHAR) AS {_ident(name)}")
    cols = ", ".join(select)
    if path.suffix == ".csv":
        spec = ", ".join(f"'c{i}': 'VARCHAR'" for i in range(len(header)))
        return (
            f"SELECT row_number() OVER () AS _ord, {cols} FROM read_csv({_lit(str(path))}, "
            f"columns={{{spec}}}, header=true, delim=',', quote='\"', escape='\"', "
            "auto_detect=false, all_varchar=true, store_rejects=true, "
            f"rejects_table='rej_{tag}', rejects_scan='rejscan_{tag}')"
        )
    renamed = ", ".join(f"{_ident(h)} AS c{i}" for i, h in enumerate(header))
    return (
        f"SELECT file_row_number + 1 AS _ord, {cols} FROM (SELECT file_row_number, {renamed} "
        f"FROM read_parquet({_lit(str(path))}, file_row_number=true))"
    )


def _take_rejects(con: duckdb.DuckDBPyConnection, tag: str, path: Path) -> pd.DataFrame:
    """Return the rejected CSV records of a pass (``row``, ``error_type``, ``csv_line``)."""
    if path.suffix != ".csv":
        return pd.DataFrame({"row": [], "error_type": [], "csv_line": []})
    rej = con.sql(
        "SELECT line - 1 AS row, min(error_type) AS error_type, min(csv_line) AS csv_line "
        f"FROM rej_{tag} GROUP BY line ORDER BY line"
    ).df()
    con.execute(f"DROP TABLE IF EXISTS rej_{tag}")
    con.execute(f"DROP TABLE IF EXISTS rejscan_{tag}")
    return rej


def _row_map(
    n_ok: int, rejected_rows: np.ndarray, blank_rows: np.ndarray | None = None
) -> np.ndarray | None:
    """File row of each accepted record (``None``: ordinal == row, nothing was rejected).

    Accepted records fill the row numbers the rejected ones and the blank lines leave free,
    so row ``n`` is always line ``n + 1`` of the file. (A record with an embedded newline
    shifts the reader's line numbers; there the numbers of later rows can be off, never
    missing or repeated.)
    """
    blank = np.zeros(0, "int64") if blank_rows is None else np.asarray(blank_rows, "int64")
    taken = np.union1d(np.asarray(rejected_rows, "int64"), blank)
    if len(taken) == 0:
        return None
    rows = np.arange(1, n_ok + len(taken) + 1, dtype="int64")
    return np.setdiff1d(rows, taken)[:n_ok]


def _reject_faults(path: Path, rej: pd.DataFrame) -> pd.DataFrame:
    kinds = rej["error_type"].str.lower()
    return pd.DataFrame(
        {
            "file": path.name,
            "row": rej["row"].astype("int64"),
            "column": "",
            "value": rej["csv_line"],
            "reason": "malformed CSV record (" + kinds + ")",
            "template": "malformed CSV record {values} (" + kinds + ")",
        }
    )


def _materialize(con: duckdb.DuckDBPyConnection, name: str, sql: str, drop: str) -> str:
    con.execute(f"CREATE TEMP TABLE {name} AS {sql}")
    con.execute(f"DROP TABLE {drop}")
    return name


@dataclass
class _Checked:
    """Outcome of checking one file: the clean relation and what was refused."""

    stage: str  # DuckDB table with ``_ord`` and the typed ``t_<column>`` columns
    n_read: int
    row_map: np.ndarray | None  # file row of each ordinal (None: identical)
    faults: list[pd.DataFrame]  # fault lines; ``row`` holds ordinals except for rejects
    rejects: pd.DataFrame  # malformed CSV records (``row`` already a file row)
    stats: dict[str, int]


def _check_file(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    read_path: Path,
    table: str,
    header: list[str],
    positions: dict[str, int],
    as_of: pd.Timestamp,
    file_names: dict[str, str],
) -> _Checked:
    """Read and check one file in DuckDB; return the clean relation and the fault lines.

    The rules are the contracts' (:func:`imclab.data.contracts.row_checks`,
    :func:`~imclab.data.contracts.unmatched_ids`,
    :func:`~imclab.data.contracts.duplicates_ranked`), compiled to DuckDB SQL
    (:func:`_compiled`). Pass 1 reads the file once into ``chk_<table>`` (the clean values
    and a ``_bad`` flag); only when some row is bad does pass 2 re-read the file to name
    every faulty cell of those rows (so a clean file is never held twice in memory). Then, on
    the rows that passed the per-cell checks: references to customers, and duplicate keys
    (the file's row number is the source order: the first row of a key is kept).
    """
    rules = column_rules(SCHEMAS[table])
    by_name = {rule.name: rule for rule in rules}
    src = ibis.table({"_ord": "int64", **{r.name: "string" for r in rules}}, name=_SOURCE)
    # two projections: every cell parsed once, then the checks and clean values read the
    # parses (Ibis would inline them, and DuckDB would parse a cell once per check)
    parsing = parse(src, rules)
    level1 = src.select(src.columns, **{f"_p_{r.name}": parsing[r.name] for r in rules})
    cells = ibis.table(level1.schema(), name=_PARSED)
    parsed = {r.name: cells[f"_p_{r.name}"] for r in rules}
    _, checks = row_checks(table, cells, as_of, parsed)
    values = clean_values(cells, rules, parsed)
    first = cells.select("_ord", **{f"t_{r.name}": values[r.name] for r in rules},
                         _bad=any_fault(checks))  # fmt: skip
    # An ENUM holds a code, not a string: 1 byte per row instead of 16 (or more).
    outer = ", ".join(
        f"TRY_CAST({_ident('t_' + r.name)} AS {_enum(r.allowed)}) AS {_ident('t_' + r.name)}"
        if r.kind == "category" and r.allowed is not None
        else _ident("t_" + r.name)
        for r in rules
    )
    t_cols = ", ".join(["_ord"] + [_ident("t_" + r.name) for r in rules])

    def source(tag: str) -> dict[str, str]:
        reading = _source_sql(read_path, table, header, positions, tag)
        return {_PARSED: _compiled(level1, {_SOURCE: reading})}

    chk = f"chk_{table}"
    try:
        n_ok = con.execute(
            f"CREATE TEMP TABLE {chk} AS SELECT _ord, {outer}, _bad "
            f"FROM ({_compiled(first, source(table))})"
        ).fetchall()[0][0]
        rejects = _take_rejects(con, table, path)
    except duckdb.Error as exc:
        first_line = str(exc).strip().splitlines()[0]
        raise DataError(f"{path.name}: cannot read the file ({first_line})") from exc
    n_read = int(n_ok) + len(rejects)
    if n_read == 0:
        raise DataError(f"{path.name}: the file has no data rows")
    faults: list[pd.DataFrame] = []
    if table == "customers":  # every id in the file, to tell "unknown" from "refused"
        # (the clean value of every source row: contracts.source_ids)
        con.execute(
            "CREATE TEMP TABLE rawids_customers AS SELECT DISTINCT CAST(t_customer_id AS "
            f"VARCHAR) AS _raw FROM {chk} WHERE t_customer_id IS NOT NULL"
        )

    n_bad = con.execute(f"SELECT count(*) FROM {chk} WHERE _bad").fetchall()[0][0]
    if n_bad:
        second = cells.select("_ord", *[r.name for r in rules], **{c.key: c.expr for c in checks})
        bad = con.sql(
            f"SELECT * FROM ({_compiled(second, source(table + '_2'))}) "
            f"WHERE _ord IN (SELECT _ord FROM {chk} WHERE _bad) ORDER BY _ord"
        ).df()
        _take_rejects(con, table + "_2", path)
        lines = fault_lines(bad, checks)
        words = {
            key: describe(by_name[key[0]], key[1], as_of)
            for key in set(zip(lines["column"], lines["label"], strict=True))
        }
        said = [words[key] for key in zip(lines["column"], lines["label"], strict=True)]
        faults.append(
            pd.DataFrame(
                {
                    "file": path.name,
                    "row": bad.loc[lines.index, "_ord"].to_numpy("int64"),
                    "column": lines["column"].to_numpy(),
                    "value": lines["value"].to_numpy(),
                    "reason": [r for r, _ in said],
                    "template": [t for _, t in said],
                }
            )
        )
        stage = _materialize(con, f"ok_{table}", f"SELECT {t_cols} FROM {chk} WHERE NOT _bad", chk)
    else:
        stage = chk

    stats: dict[str, int] = {}
    for rule in rules:
        if not rule.references:
            continue
        ref_table, ref_col = rule.references.split(".")
        ref_file = file_names.get(ref_table, f"{ref_table}.csv")
        t_col = _ident("t_" + rule.name)
        known = f"(SELECT {_ident(ref_col)} FROM clean_{ref_table})"
        checked_rows, matched = con.execute(
            f"SELECT count(*), count(*) FILTER (WHERE {t_col} IN {known}) FROM {stage}"
        ).fetchall()[0]
        stats = {"identity_rows": int(checked_rows), "identity_matched": int(matched)}
        if matched == checked_rows:
            continue
        missing = unmatched_ids(
            ibis.table({"_ord": "int64", f"t_{rule.name}": "string"}, name=stage),
            f"t_{rule.name}",
            ibis.table({ref_col: "string"}, name=f"clean_{ref_table}"),
            ref_col,
            ibis.table({"_raw": "string"}, name=f"rawids_{ref_table}"),
        )
        found = con.sql(_compiled(missing)).df().sort_values("_ord", kind="stable")
        said = [describe_reference(rule, ref_file, bool(q)) for q in found["_quarantined"]]
        faults.append(
            pd.DataFrame(
                {
                    "file": path.name,
                    "row": found["_ord"].to_numpy("int64"),
                    "column": rule.name,
                    "value": found[f"t_{rule.name}"].astype("object").to_numpy(),
                    "reason": [r for r, _ in said],
                    "template": [t for _, t in said],
                }
            )
        )
        stage = _materialize(
            con, f"ref_{table}", f"SELECT {t_cols} FROM {stage} WHERE {t_col} IN {known}", stage
        )

    keys = key_columns(SCHEMAS[table])
    if keys:
        t_keys = [f"t_{k}" for k in keys]
        staged = ibis.table({"_ord": "int64", **{k: "string" for k in t_keys}}, name=stage)
        ranked = duplicates_ranked(staged, t_keys, position="_ord")
        later = ranked.filter(ranked._n > 0)
        dups = con.sql(_compiled(later.select("_ord", _key=key_text(later, t_keys)))).df()
        if len(dups):
            dups = dups.sort_values("_ord", kind="stable")
            label, reason, template = describe_duplicate(keys)
            faults.append(
                pd.DataFrame(
                    {
                        "file": path.name,
                        "row": dups["_ord"].to_numpy("int64"),
                        "column": label,
                        "value": dups["_key"].astype("object").to_numpy(),
                        "reason": reason,
                        "template": template,
                    }
                )
            )
            dup_rows = pyarrow_lib.table({"_ord": dups["_ord"].to_numpy("int64")})
            con.register(f"duprows_{table}", dup_rows)
            stage = _materialize(
                con,
                f"dedup_{table}",
                f"SELECT * FROM {stage} ANTI JOIN duprows_{table} USING (_ord)",
                stage,
            )
            con.unregister(f"duprows_{table}")
    return _Checked(
        stage=stage,
        n_read=n_read,
        row_map=_row_map(
            int(n_ok),
            rejects["row"].to_numpy("int64"),
            _blank_lines(path) if path.suffix == ".csv" else None,
        ),
        faults=faults,
        rejects=rejects,
        stats=stats,
    )


# --------------------------------------------------------------------------------------------
# DuckDB -> pandas, and the pandera guard
# --------------------------------------------------------------------------------------------
def _to_pandas(
    con: duckdb.DuckDBPyConnection, table: str, stage: str, row_map: np.ndarray | None
) -> pd.DataFrame:
    """Fetch the clean relation as pandas with the schema dtypes (index: file row number).

    The DuckDB table is dropped as soon as it is fetched, and the Arrow columns are released
    one by one while converting, so the table is not held three times at once.
    """
    select = ["_ord"]
    for rule in column_rules(SCHEMAS[table]):
        name = _ident("t_" + rule.name)
        if rule.kind == "category" and rule.allowed is None:
            levels = con.execute(
                f"SELECT DISTINCT {name} FROM {stage} WHERE {name} IS NOT NULL ORDER BY 1"
            ).fetchall()
            if levels:  # Arrow dictionary -> pandas Categorical, no string per row
                name = f"CAST({name} AS {_enum(v for (v,) in levels)}) AS {name}"
        select.append(name)
    arrow = con.sql(f"SELECT {', '.join(select)} FROM {stage}").to_arrow_table()
    con.execute(f"DROP TABLE {stage}")
    ords = arrow.column("_ord").to_numpy()
    if len(ords) > 1 and not (np.diff(ords) > 0).all():  # file order, whatever the plan did
        order = np.argsort(ords, kind="stable")
        arrow, ords = arrow.take(order), ords[order]
    rows = ords if row_map is None else row_map[ords - 1]
    box = [arrow.drop_columns(["_ord"])]
    del arrow  # the box holds the only reference: columns are freed as they are converted
    frame = arrow_to_frame(table, box, prefix="t_")
    frame.index = pd.Index(rows, name="_row")
    pyarrow_lib.default_memory_pool().release_unused()
    return frame


def arrow_to_frame(table: str, arrow: Any, prefix: str = "") -> pd.DataFrame:
    """Convert an Arrow table of a brand-world table to pandas with the schema dtypes.

    Categories become pandas Categoricals (the allowed values, else the sorted levels),
    strings the schema's string dtype, dates and timestamps ``datetime64[ns]``. Columns are
    released one by one while converting. Used by the loader and by
    :func:`imclab.warehouse.open_world` (small tables collected from an engine).

    Parameters
    ----------
    table
        Table name (its contract in :data:`imclab.data.schemas.SCHEMAS` gives the dtypes).
    arrow
        ``pyarrow.Table`` holding the contract's columns (named ``prefix + column``), or a
        one-item list holding it: the list is emptied, so each column's memory is released
        as soon as it is converted.
    prefix
        Column name prefix in ``arrow``.

    Returns
    -------
    pandas.DataFrame
        The contract's columns in contract order.
    """
    if isinstance(arrow, list):
        arrow = arrow.pop()
    columns: dict[str, Any] = {}
    for rule in column_rules(SCHEMAS[table]):
        name = prefix + rule.name
        col = arrow.column(name)
        arrow = arrow.drop_columns([name])
        if rule.kind == "category":
            if not pyarrow_lib.types.is_dictionary(col.type):
                col = col.cast(pyarrow_lib.string()).dictionary_encode()
            series = pd.Series(pd.Categorical(col.to_pandas()))
            if rule.allowed is not None:
                series = series.cat.set_categories(list(rule.allowed))
            else:
                series = series.cat.set_categories(sorted(series.cat.categories))
        elif rule.kind == "string":
            # The system allocator hands big buffers back to the OS when they are freed.
            wide = pyarrow_compute.cast(
                col, pyarrow_lib.large_string(), memory_pool=pyarrow_lib.system_memory_pool()
            )
            series = pd.Series(pd.array(wide, dtype=rule.dtype))
        elif rule.kind in ("date", "timestamp"):
            series = col.to_pandas(date_as_object=False, coerce_temporal_nanoseconds=True)
            series = series.astype("datetime64[ns]")
        else:
            series = col.to_pandas().astype(rule.dtype)
        del col
        columns[rule.name] = series.reset_index(drop=True)
    del arrow
    return pd.DataFrame(columns, copy=False)


@functools.cache
def _guard_schema(table: str) -> pa.DataFrameSchema:
    """Return the table's schema without its one-column keys' uniqueness (checked in SQL).

    The SQL key check removed every repeated key (the first occurrence kept); pandera's
    ``unique`` would check it again by hashing every id in pandas, the guard's only costly
    check (about 1.2 GB more at 21.7M touchpoints).
    """
    schema = SCHEMAS[table]
    keys = {name: {"unique": False} for name, col in schema.columns.items() if col.unique}
    return schema.update_columns(keys) if keys else schema


def _pandera_guard(frame: pd.DataFrame, table: str, file: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Validate with the table's pandera schema; failing rows are moved to fault lines."""
    schema = _guard_schema(table)
    try:
        return schema.validate(frame, lazy=True, inplace=True), empty_faults()
    except pa.errors.SchemaErrors as exc:
        cases = exc.failure_cases
    rows_all = frame.index.to_numpy()
    lines = []
    for case in cases.itertuples(index=False):
        reason = f"failed schema check {case.check}"
        if case.index is None or pd.isna(case.index):
            hit = rows_all  # a table-wide failure (dtype, missing column): no row is trusted
        else:
            hit = [int(case.index)]
        for row in hit:
            lines.append(
                {
                    "file": file,
                    "row": int(row),
                    "column": ""
                    if case.schema_context == "DataFrameSchema" or case.column is None
                    else str(case.column),
                    "value": None if case.index is None else str(case.failure_case),
                    "reason": reason,
                    "template": reason + " (value {values})",
                }
            )
    bad = pd.DataFrame(lines)
    kept = frame.drop(index=bad["row"].unique())
    try:
        kept = schema.validate(kept, lazy=True, inplace=True)
    except pa.errors.SchemaErrors:
        extra = pd.DataFrame(
            {
                "file": file,
                "row": kept.index.to_numpy(),
                "column": "",
                "value": None,
                "reason": "failed schema check",
                "template": "failed schema check",
            }
        )
        bad = pd.concat([bad, extra], ignore_index=True)
        kept = kept.iloc[0:0]
    return kept, bad


def _date_range(frame: pd.DataFrame, table: str) -> tuple[pd.Timestamp | None, pd.Timestamp | None]:
    cols = date_columns(SCHEMAS[table])
    if not cols or frame.empty:
        return None, None
    return (
        min(frame[c].min() for c in cols),
        max(frame[c].max() for c in cols),
    )


# --------------------------------------------------------------------------------------------
# Public entry point
# --------------------------------------------------------------------------------------------
def _as_of(as_of: str | date | datetime | pd.Timestamp | None) -> pd.Timestamp:
    """Parse ``as_of``; a date without a time means the end of that day."""
    if as_of is None:
        return pd.Timestamp.now().floor("s")
    try:
        stamp = pd.Timestamp(as_of)
    except (ValueError, TypeError) as exc:
        raise ParameterError(
            f"as_of={as_of!r}: cannot parse as a date or timestamp (expected ISO 8601)"
        ) from exc
    if stamp.tzinfo is not None:
        stamp = stamp.tz_convert(None)
    date_only = (isinstance(as_of, date) and not isinstance(as_of, datetime)) or (
        isinstance(as_of, str) and len(as_of.strip()) <= 10
    )
    if date_only:  # "as of 2025-06-30" includes the events of June 30
        stamp = stamp.normalize() + pd.Timedelta(days=1) - pd.Timedelta(microseconds=1)
    return stamp


REFERENCES_CUSTOMERS = ("touchpoints", "conversions", "survey")
"""Tables whose ids reference customers: they cannot be checked without them."""


def _requested(tables: list[str] | tuple[str, ...] | None) -> list[str]:
    if tables is None:
        return list(TABLES)
    unknown = [t for t in tables if t not in SCHEMAS]
    if unknown:
        raise ParameterError(
            f"tables={list(tables)!r}: unknown table(s) {', '.join(unknown)} "
            f"(expected some of: {', '.join(TABLES)})"
        )
    wanted = set(tables)
    if wanted & set(REFERENCES_CUSTOMERS):
        wanted.add("customers")
    return [t for t in TABLES if t in wanted]


def load_world(
    path: str | Path,
    strict: bool = False,
    as_of: str | date | datetime | pd.Timestamp | None = None,
    tables: list[str] | tuple[str, ...] | None = None,
) -> World:
    """Load and validate a brand world folder (``data/README.md`` describes its tables).

    Every row that breaks a rule of the data dictionary is quarantined (one line per fault in
    ``world.quarantine``) rather than dropped, so ``rows_loaded + rows_quarantined ==
    rows_read`` for every table.

    Parameters
    ----------
    path
        Folder with ``customers``, ``touchpoints``, ``conversions`` and ``spend`` (required)
        and optionally ``survey``, ``ab_tests`` and ``creatives``, each as ``<table>.csv`` or
        ``<table>.parquet``.
    strict
        Raise :class:`~imclab.errors.DataError` listing the faults instead of quarantining.
    as_of
        Events (signups, touches, orders) after this moment are quarantined as "in the
        future"; a date without a time means the end of that day; default: now.
    tables
        Load only these tables (``customers`` is added when a table references customer ids).

    Returns
    -------
    World
        Validated tables, the quarantine and the :class:`ValidationReport`.

    Raises
    ------
    DataError
        The folder or a required file is missing, a file is empty, has no data rows, lacks
        required columns or cannot be read, or (``strict=True``) any row breaks a rule.
    ParameterError
        ``as_of`` or ``tables`` is invalid.
    """
    folder = Path(path)
    stamp = _as_of(as_of)
    wanted = _requested(tables)
    if not folder.is_dir():
        raise DataError(
            f"{folder}: data folder not found (expected a folder with "
            f"{', '.join(t + '.csv' for t in REQUIRED_TABLES)})"
        )
    files = {t: _find_file(folder, t) for t in wanted}
    missing = [t for t in wanted if t in REQUIRED_TABLES and files[t] is None]
    if missing:
        names = ", ".join(f"{t}.csv" for t in missing)
        raise DataError(
            f"{folder}: missing required file{'s' if len(missing) > 1 else ''} {names} "
            f"(expected {', '.join(t + '.csv' for t in REQUIRED_TABLES)} or the same names "
            ".parquet; optional: " + ", ".join(t + ".csv" for t in OPTIONAL_TABLES) + ")"
        )

    report = ValidationReport(source=folder, as_of=stamp)
    frames: dict[str, pd.DataFrame] = {}
    all_faults: list[pd.DataFrame] = []
    scratch: tempfile.TemporaryDirectory | None = None  # copies without over-long lines
    con = duckdb.connect()
    # No progress bar in notebooks; hand freed memory back at once (big worlds are loaded
    # table by table, and each table's DuckDB copy must be gone before the next one).
    con.execute("SET enable_progress_bar = false")
    con.execute("SET allocator_flush_threshold = '16MB'")
    con.execute("SET allocator_background_threads = true")
    try:
        for table in wanted:
            file = files[table]
            if file is None:
                report.tables[table] = TableReport(table=table)
                continue
            if file.suffix == ".csv":
                header = _csv_header(file)
            else:
                header = _parquet_header(con, file)
            positions, extra = _check_header(file, table, header)
            long = _long_lines(file) if file.suffix == ".csv" else []
            read_path = file
            if long:
                if scratch is None:
                    scratch = tempfile.TemporaryDirectory(prefix="imclab-load-")
                read_path = _without_long_lines(file, long, Path(scratch.name))
            result = _check_file(
                con,
                file,
                read_path,
                table,
                header,
                positions,
                stamp,
                {t: f.name for t, f in files.items() if f},
            )
            stage, stats, faults = result.stage, result.stats, []
            for lines in result.faults:  # ordinals -> file rows
                if result.row_map is not None and len(lines):
                    lines["row"] = result.row_map[lines["row"].to_numpy("int64") - 1]
                faults.append(lines)
            rejects = result.rejects
            if long:  # the marker lines: quarantined as too long, not as malformed
                rejects = rejects[~rejects["row"].isin([line - 1 for line, _, _ in long])]
                faults.append(_long_line_faults(file, long))
            if len(rejects):
                faults.append(_reject_faults(file, rejects))
            n_read = result.n_read
            if table == "customers":
                con.execute(
                    "CREATE TEMP TABLE clean_customers AS "
                    f"SELECT t_customer_id AS customer_id FROM {stage}"
                )
            if table == "survey" and "customers" in frames:
                checked, matched = con.execute(
                    "SELECT count(*), count(*) FILTER (WHERE t_customer_id IN "
                    f"(SELECT customer_id FROM clean_customers)) FROM {stage}"
                ).fetchall()[0]
                stats = {"identity_rows": int(checked), "identity_matched": int(matched)}
            frame = _to_pandas(con, table, stage, result.row_map)
            frame, guard = _pandera_guard(frame, table, file.name)
            pyarrow_lib.default_memory_pool().release_unused()
            if len(guard):
                faults.append(guard)
            frames[table] = frame.reset_index(drop=True)
            table_faults = (
                pd.concat([f for f in faults if len(f)], ignore_index=True)
                if any(len(f) for f in faults)
                else empty_faults()
            )
            # by row; a row's lines in the order of the checks (contracts.row_checks: cells
            # in contract order, then the pairs), so its first line is its first fault
            table_faults = table_faults.sort_values("row", kind="stable")
            all_faults.append(table_faults)
            n_quarantined = int(table_faults["row"].nunique())
            date_min, date_max = _date_range(frames[table], table)
            report.tables[table] = TableReport(
                table=table,
                file=file.name,
                rows_read=n_read,
                rows_loaded=len(frames[table]),
                rows_quarantined=n_quarantined,
                faults=len(table_faults),
                date_min=date_min,
                date_max=date_max,
                extra_columns=tuple(extra),
                **stats,
            )
            if len(frames[table]) + n_quarantined != n_read:  # pragma: no cover - invariant
                raise AssertionError(f"{file.name}: rows lost while loading")
    finally:
        con.close()
        if scratch is not None:
            scratch.cleanup()

    faults_frame = pd.concat(all_faults, ignore_index=True) if all_faults else empty_faults()
    faults_frame = faults_frame.reindex(columns=list(empty_faults().columns))
    names = {f.name: t for t, f in files.items() if f}
    if strict and len(faults_frame):
        raise DataError(faults_message(faults_frame, folder, tables=names))
    report.messages = format_faults(faults_frame, names)
    return World(
        tables=frames, report=report, quarantine=as_quarantine(faults_frame), source=folder
    )
