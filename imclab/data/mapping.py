"""Map a user's export (GA4, ad platforms, CRM) onto the data dictionary: the plan's ``columns:``.

:func:`apply_mapping` writes one CSV per mapped table (DuckDB SQL, all text, same row order as
the user's file) into a folder that :func:`imclab.data.load_world` then reads, so the loader's
validation and quarantine apply unchanged.

Row numbers: the mapped file has exactly one data row per data row of the user's file, in the
same order (a record the CSV reader cannot split is written as an empty row, which the loader
then quarantines), so a quarantine line ``touchpoints.csv row 17`` points at data row 17 (line 18)
of the user's file named in ``columns.touchpoints.file``. :func:`mapped_sources` tells which.
"""

from __future__ import annotations

import csv
import difflib
import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

from imclab.data.schemas import REQUIRED_TABLES, SCHEMAS, TABLES
from imclab.errors import DataError, ParameterError

__all__ = ["MANIFEST", "apply_mapping", "mapped_sources", "source_file", "table_header"]

MANIFEST = "_mapping.json"
"""File :func:`apply_mapping` writes into the output folder: source file and notes per table."""

_FORMATS = ("csv", "parquet")

# SQL of each transform; {x} is the (VARCHAR) source value. A value that does not convert is
# passed through unchanged, so the loader reports it ("cannot parse '17x' as a timestamp").
_TS = "strftime({ts}, '%Y-%m-%dT%H:%M:%S.%f')"
_TRANSFORM_SQL: dict[str, str] = {
    "epoch_micros": "COALESCE("
    + _TS.format(ts="try(make_timestamp(TRY_CAST(trim({x}) AS BIGINT)))")
    + ", {x})",
    "epoch_millis": "COALESCE("
    + _TS.format(ts="try(make_timestamp(CAST(TRY_CAST(trim({x}) AS DOUBLE) * 1000 AS BIGINT)))")
    + ", {x})",
    "epoch_seconds": "COALESCE("
    + _TS.format(ts="try(make_timestamp(CAST(TRY_CAST(trim({x}) AS DOUBLE) * 1e6 AS BIGINT)))")
    + ", {x})",
    "yyyymmdd": "COALESCE(strftime(try_strptime(trim({x}), '%Y%m%d'), '%Y-%m-%d'), {x})",
    "micros": "COALESCE(CAST(TRY_CAST(trim({x}) AS DOUBLE) / 1e6 AS VARCHAR), {x})",
    "lowercase": "lower(trim({x}))",
}


def _lit(value: str) -> str:
    return "'" + str(value).replace("'", "''") + "'"


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _hint(name: str, choices: list[str]) -> str:
    """Return ``" (did you mean 'x'?)"`` for a close column name (``time_stamp``/``Time Stamp``)."""

    def norm(text: str) -> str:
        return text.lower().replace(" ", "").replace("_", "").replace(".", "").replace("-", "")

    exact = [c for c in choices if norm(c) == norm(name)]
    if exact:
        return f" (did you mean {exact[0]!r}?)"
    close = difflib.get_close_matches(name, list(choices), n=1, cutoff=0.75)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _spec(columns_spec: Any) -> Any:
    """Return a validated :class:`imclab.plan.ColumnsSpec` (a mapping is validated first)."""
    from imclab.plan import ColumnsSpec, PlanValidationError, _error_faults, format_yaml_path

    if isinstance(columns_spec, ColumnsSpec):
        return columns_spec
    if columns_spec is None:
        return ColumnsSpec.model_validate({})
    from pydantic import ValidationError

    try:
        return ColumnsSpec.model_validate(columns_spec)
    except ValidationError as exc:
        faults = [
            (format_yaml_path(("columns", *loc)), msg)
            for loc, msg in _error_faults(exc, ColumnsSpec)
        ]
        raise PlanValidationError("columns", faults) from None


def source_file(data_dir: str | Path, table: str, columns_spec: Any = None) -> Path | None:
    """Return the user's file for ``table``: ``columns.<table>.file`` or ``<table>.csv|.parquet``.

    Parameters
    ----------
    data_dir
        The user's data folder.
    table
        A table of the data dictionary.
    columns_spec
        The plan's ``columns`` (a :class:`imclab.plan.ColumnsSpec`, a mapping or None).

    Returns
    -------
    Path or None
        The file, or None when the table has no file in the folder.

    Raises
    ------
    DataError
        A file named in ``columns.<table>.file`` is missing, or both ``<table>.csv`` and
        ``<table>.parquet`` exist.
    """
    folder = Path(data_dir)
    spec = _spec(columns_spec).tables.get(table)
    if spec is not None and spec.file:
        path = folder / spec.file
        if not path.is_file():
            found = sorted(p.name for p in folder.glob("*") if p.suffix in (".csv", ".parquet"))
            raise DataError(
                f"{folder}: columns.{table}.file names {spec.file}, which is not in the folder"
                f"{_hint(spec.file, found)}; files: {', '.join(found) or '(none)'}"
            )
        return path
    from imclab.data.load import _find_file  # the one table-locating rule

    return _find_file(folder, table)


def table_header(path: str | Path, delimiter: str = ",", encoding: str | None = None) -> list[str]:
    """Return the column names of a CSV (first line) or Parquet file.

    Parameters
    ----------
    path
        The file.
    delimiter, encoding
        How the CSV is written (``columns.<table>.delimiter`` / ``encoding``; default
        comma-separated UTF-8).

    Raises
    ------
    DataError
        The file is empty, its header is not text in the encoding, or the Parquet file cannot
        be read.
    """
    path = Path(path)
    if path.suffix == ".parquet":
        try:
            with duckdb.connect() as con:
                return list(con.sql(f"SELECT * FROM read_parquet({_lit(str(path))})").columns)
        except duckdb.Error as exc:
            raise DataError(f"{path.name}: cannot read the Parquet file ({exc})") from exc
    codec = _codec(encoding)
    if codec.startswith("utf-16"):
        with path.open(encoding=codec, newline="") as text:
            line = text.readline()
    else:
        with path.open("rb") as handle:
            first = handle.readline()
        try:
            line = first.decode(codec)
        except UnicodeDecodeError as exc:
            raise DataError(
                f"{path.name}: the header row is not {codec} text ({exc.reason}); if the file "
                "was saved by older Excel, set its encoding in the plan (columns.<table>."
                "encoding: cp1252); imclab validate names the likely encoding"
            ) from exc
    line = line.lstrip("\ufeff")
    header = (
        next(csv.reader([line.rstrip("\r\n")], delimiter=delimiter), None) if line.strip() else None
    )
    if not header:
        raise DataError(
            f"{path.name}: the file is empty (expected a header row naming the columns)"
        )
    return [h.strip() for h in header]


def _codec(encoding: str | None) -> str:
    """Return the Python codec of ``columns.<table>.encoding`` (default UTF-8, BOM optional)."""
    if encoding is None or encoding.strip().lower().replace("_", "-") in ("utf-8", "utf8"):
        return "utf-8-sig"
    return encoding


def _utf8_copy(path: Path, encoding: str | None, dest: Path) -> Path:
    """Return ``path``, or a UTF-8 copy of it in ``dest`` when the plan names another encoding.

    The copy keeps every line as it is (only the bytes of the text change), so the row numbers
    of messages stay the user's file's.
    """
    codec = _codec(encoding)
    if codec == "utf-8-sig" or path.suffix != ".csv":
        return path
    try:
        with (
            path.open(encoding=codec, newline="") as src,
            dest.open("w", encoding="utf-8", newline="") as out,
        ):
            shutil.copyfileobj(src, out, 1 << 20)
    except UnicodeDecodeError as exc:
        raise DataError(
            f"{path.name}: the file is not {encoding} text ({exc.reason} at byte {exc.start}); "
            "check columns.<table>.encoding (imclab validate names the likely encoding)"
        ) from exc
    return dest


def _numeric_sql(expr: str) -> str:
    """Read a number with a decimal comma (``1.234,50``) as ``1234.50``; other text as is."""
    clean = f"replace(replace(trim({expr}), '.', ''), ',', '.')"
    return f"CASE WHEN TRY_CAST({clean} AS DOUBLE) IS NOT NULL THEN {clean} ELSE {expr} END"


def _date_sql(expr: str, fmt: str, kind: str) -> str:
    """Read a date or timestamp in the plan's ``date_format`` as ISO 8601; other text as is."""
    out = "%Y-%m-%d" if kind == "date" else "%Y-%m-%dT%H:%M:%S"
    return f"COALESCE(strftime(try_strptime(trim({expr}), {_lit(fmt)}), {_lit(out)}), {expr})"


@dataclass(frozen=True)
class _Plan:
    """The SQL select list of one mapped table and the faults found while planning it."""

    select: list[str]
    names: list[str]
    faults: list[str]


def _plan_table(table: str, spec: Any, header: list[str], file: str) -> _Plan:
    """Build ``<expr> AS <imclab column>`` for every column the user's file can provide."""
    from imclab.data.schemas import column_rules

    where = f"columns.{table}"
    kinds = {rule.name: rule.kind for rule in column_rules(SCHEMAS[table])}
    select: list[str] = []
    names: list[str] = []
    faults: list[str] = []
    for name, column in SCHEMAS[table].columns.items():
        if name in spec.constants:
            expr = _lit(spec.constants[name])
        elif name in spec.row_ids:
            # _first: the first row this row repeats exactly (itself when it is no copy).
            number = "_first" if spec.duplicates == "drop" else "_row"
            expr = f"{_lit(spec.row_ids[name])} || CAST({number} AS VARCHAR)"
        elif name == "channel" and spec.channel is not None:
            expr = _channel_sql(spec.channel, header, file, where, faults)
        else:
            source = spec.rename.get(name, name)
            if source not in header:
                if name in spec.rename:
                    faults.append(
                        f"{file}: {where}.rename.{name} names column '{source}', which is not "
                        f"in the file{_hint(source, header)}; columns: {', '.join(header)}"
                    )
                elif column.required:
                    faults.append(
                        f"{file}: missing required column '{name}'{_hint(name, header)}; map "
                        f"it with {where}.rename.{name}: <your column>, or set "
                        f"{where}.constants.{name}"
                    )
                continue
            expr = _ident(source)
            if spec.decimal == "," and kinds[name] in ("int", "float"):
                expr = _numeric_sql(expr)
            if name in spec.transforms:
                expr = _TRANSFORM_SQL[spec.transforms[name]].format(x=expr)
            elif spec.date_format and kinds[name] in ("date", "timestamp"):
                expr = _date_sql(expr, spec.date_format, kinds[name])
            if name in spec.values:
                # Labels compare trimmed and case-blind, as the channel rules do.
                whens = " ".join(
                    f"WHEN {_lit(str(k).strip().lower())} THEN {_lit(v)}"
                    for k, v in spec.values[name].items()
                )
                expr = f"CASE lower(trim({expr})) {whens} ELSE {expr} END"
        select.append(f"{expr} AS {_ident(name)}")
        names.append(_ident(name))
    return _Plan(select, names, faults)


def _channel_sql(rules: Any, header: list[str], file: str, where: str, faults: list[str]) -> str:
    """``CASE`` of the channel rules: first match wins; values compared trimmed, case-blind."""
    used: list[str] = []
    whens = []
    for i, rule in enumerate(rules.rules):
        conds = []
        for column, values in rule.when.items():
            if column not in header:
                faults.append(
                    f"{file}: {where}.channel.rules[{i}].when names column '{column}', which is "
                    f"not in the file{_hint(column, header)}; columns: {', '.join(header)}"
                )
                continue
            if column not in used:
                used.append(column)
            options = ", ".join(_lit(v.strip().lower()) for v in values)
            conds.append(f"lower(trim(COALESCE({_ident(column)}, ''))) IN ({options})")
        if conds:
            whens.append(f"WHEN {' AND '.join(conds)} THEN {_lit(rule.channel)}")
    if rules.default is not None:
        fallback = _lit(rules.default)
    elif used:  # unmatched rows keep what they were, so the quarantine names them
        fallback = "concat_ws(' / ', " + ", ".join(_ident(c) for c in used) + ")"
    else:
        fallback = "NULL"
    return f"CASE {' '.join(whens)} ELSE {fallback} END" if whens else fallback


def _read_sql(path: Path, header: list[str], tag: str, delimiter: str = ",") -> str:
    """All-VARCHAR read of the user's file with the 1-based accepted-record ordinal ``_ord``."""
    if path.suffix == ".parquet":
        cols = ", ".join(f"CAST({_ident(h)} AS VARCHAR) AS {_ident(h)}" for h in header)
        return (
            f"SELECT file_row_number + 1 AS _ord, {cols} FROM "
            f"read_parquet({_lit(str(path))}, file_row_number=true)"
        )
    spec = ", ".join(f"{_lit(h)}: 'VARCHAR'" for h in header)
    return (
        f"SELECT row_number() OVER () AS _ord, * FROM read_csv({_lit(str(path))}, "
        f"columns={{{spec}}}, header=true, delim={_lit(delimiter)}, quote='\"', escape='\"', "
        f"auto_detect=false, all_varchar=true, store_rejects=true, rejects_table='rej_{tag}', "
        f"rejects_scan='rejscan_{tag}')"
    )


def _map_table(
    con: duckdb.DuckDBPyConnection, path: Path, table: str, spec: Any, out: Path
) -> dict[str, Any]:
    from imclab.plan import resolve_delimiter

    delimiter = resolve_delimiter(spec.delimiter)
    source = path
    path = _utf8_copy(path, spec.encoding, out.with_name(f".{table}.utf8.csv"))
    try:
        header = table_header(path, delimiter)
    except DataError as exc:
        raise DataError(str(exc).replace(path.name, source.name)) from exc
    duplicates = sorted({h for h in header if header.count(h) > 1 and h})
    if duplicates:
        raise DataError(
            f"{source.name}: column(s) {', '.join(duplicates)} appear twice in the header"
        )
    plan = _plan_table(table, spec, header, source.name)
    if plan.faults:
        raise DataError("\n".join(plan.faults))
    tag = f"map_{table}"
    try:
        con.execute(f"CREATE TEMP TABLE src_{table} AS {_read_sql(path, header, tag, delimiter)}")
        if path.suffix == ".csv":
            rejected = [
                int(r[0])
                for r in con.execute(
                    f"SELECT DISTINCT line - 1 FROM rej_{tag} ORDER BY 1"
                ).fetchall()
            ]
            con.execute(f"DROP TABLE IF EXISTS rej_{tag}")
            con.execute(f"DROP TABLE IF EXISTS rejscan_{tag}")
        else:
            rejected = []
        # Accepted records fill the row numbers the rejected ones leave free (as the loader).
        n_ok = con.execute(f"SELECT count(*) FROM src_{table}").fetchall()[0][0]
        if rejected:
            skip = ", ".join(str(r) for r in rejected)
            con.execute(
                f"CREATE TEMP TABLE rows_{table} AS SELECT row_number() OVER (ORDER BY g) AS _ord, "
                f"g AS _row FROM (SELECT generate_series AS g FROM generate_series(1, "
                f"{n_ok + len(rejected)}) WHERE generate_series NOT IN ({skip}))"
            )
            body = f"SELECT r._row, s.* FROM src_{table} s JOIN rows_{table} r USING (_ord)"
        else:
            con.execute(f"CREATE TEMP TABLE rows_{table} (_ord BIGINT)")
            body = f"SELECT s._ord AS _row, s.* FROM src_{table} s"
        partition = ", ".join(_ident(h) for h in header)
        body = f"SELECT min(_row) OVER (PARTITION BY {partition}) AS _first, * FROM ({body})"
        n_copies = con.execute(f"SELECT count(*) FROM ({body}) WHERE _row <> _first").fetchall()
        mapped = f"SELECT _row, {', '.join(plan.select)} FROM ({body})"
        names = plan.names
        empty = ", ".join(f"CAST(NULL AS VARCHAR) AS {n}" for n in names)
        blanks = " UNION ALL ".join(f"SELECT {r} AS _row, {empty}" for r in rejected)
        union = f"{mapped} UNION ALL {blanks}" if blanks else mapped
        con.execute(
            f"COPY (SELECT {', '.join(names)} FROM ({union}) ORDER BY _row) "
            f"TO {_lit(str(out))} (FORMAT csv, HEADER true, DELIMITER ',')"
        )
        con.execute(f"DROP TABLE src_{table}")
        con.execute(f"DROP TABLE rows_{table}")
    except duckdb.Error as exc:
        first = str(exc).strip().splitlines()[0]
        raise DataError(f"{source.name}: cannot map the file ({first})") from exc
    unused = [h for h in header if h not in _used_columns(table, spec)]
    if path != source:
        path.unlink()
    return {
        "source": source.name,
        "malformed_rows": rejected,
        "unmapped_columns": unused,
        "exact_duplicates": int(n_copies[0][0]),
        "duplicates": spec.duplicates,
    }


def _used_columns(table: str, spec: Any) -> set[str]:
    used = {spec.rename.get(c, c) for c in SCHEMAS[table].columns}
    if spec.channel is not None:
        used |= {c for rule in spec.channel.rules for c in rule.when}
    return used


def _link(src: Path, dst: Path) -> None:
    try:
        os.symlink(src.resolve(), dst, target_is_directory=src.is_dir())
    except OSError:  # no symlinks (Windows without privileges, some file systems): copy
        if src.is_dir():
            shutil.copytree(src, dst)
        else:
            shutil.copy2(src, dst)


def apply_mapping(data_dir: str | Path, columns_spec: Any, out_dir: str | Path) -> Path:
    """Write the user's tables, mapped through the plan's ``columns:``, into ``out_dir``.

    Mapped tables become ``<table>.csv`` (text, ISO timestamps, imclab column names and
    channel ids, one row per row of the user's file in the same order); unmapped tables (and a
    ``truth/`` folder) are linked (or copied) unchanged. ``out_dir`` then reads with
    :func:`imclab.data.load_world`; quarantine row numbers are the user's file's data rows.

    Parameters
    ----------
    data_dir
        The user's data folder.
    columns_spec
        The plan's ``columns`` section: a :class:`imclab.plan.ColumnsSpec` or the same as a
        mapping (``{"touchpoints": {"rename": {"timestamp": "event_timestamp"}}}``).
    out_dir
        Folder to write into (created; files of earlier mappings there are replaced).

    Returns
    -------
    Path
        ``out_dir``, also holding ``_mapping.json`` (see :func:`mapped_sources`).

    Raises
    ------
    DataError
        The folder or a file is missing, or a file lacks columns the mapping needs (every such
        column is listed, with the closest column name of the file suggested).
    ParameterError
        ``out_dir`` is the data folder itself.
    PlanError
        ``columns_spec`` is a mapping that is not a valid ``columns:`` section.
    """
    spec = _spec(columns_spec)
    folder = Path(data_dir)
    out = Path(out_dir)
    if not folder.is_dir():
        raise DataError(f"{folder}: data folder not found")
    if out.resolve() == folder.resolve():
        raise ParameterError(f"{out}: the mapped tables must go to another folder than the data")
    out.mkdir(parents=True, exist_ok=True)
    manifest: dict[str, Any] = {"data_dir": folder.name, "tables": {}}
    faults: list[str] = []
    with duckdb.connect() as con:
        con.execute("SET enable_progress_bar = false")
        for table in TABLES:
            for ext in _FORMATS:
                stale = out / f"{table}.{ext}"
                if stale.is_symlink() or stale.exists():
                    stale.unlink()
            try:
                src = source_file(folder, table, spec)
            except DataError as exc:
                faults.append(str(exc))
                continue
            if src is None:
                if table in REQUIRED_TABLES and table in spec.tables:
                    faults.append(
                        f"{folder}: no file for mapped table {table} (expected {table}.csv, "
                        f"{table}.parquet, or columns.{table}.file)"
                    )
                continue
            if table in spec.tables:
                try:
                    manifest["tables"][table] = _map_table(
                        con, src, table, spec.tables[table], out / f"{table}.csv"
                    )
                except DataError as exc:
                    faults.append(str(exc))
            else:
                _link(src, out / src.name)
                manifest["tables"][table] = {"source": src.name, "malformed_rows": []}
    if faults:
        raise DataError("\n".join(faults))
    truth = folder / "truth"
    if truth.is_dir() and not (out / "truth").exists():
        _link(truth, out / "truth")
    (out / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return out


def mapped_sources(out_dir: str | Path) -> dict[str, str]:
    """Return ``{mapped file name: user's file name}`` of a folder written by `apply_mapping`.

    Parameters
    ----------
    out_dir
        A folder written by :func:`apply_mapping` (``{}`` for any other folder).

    Returns
    -------
    dict
        E.g. ``{"touchpoints.csv": "ga4_events.csv"}``, to name the user's files in messages.
    """
    path = Path(out_dir) / MANIFEST
    if not path.is_file():
        return {}
    data = json.loads(path.read_text(encoding="utf-8"))
    out = {}
    for table, info in data.get("tables", {}).items():
        if "unmapped_columns" in info:  # mapped: written as <table>.csv
            out[f"{table}.csv"] = info["source"]
    return out
