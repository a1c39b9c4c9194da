"""A brand world that stays where it lives: event tables as engine tables, small ones in pandas.

:func:`open_world` is what every notebook calls. With the default engine (DuckDB) it is
:func:`imclab.data.load_world`: the file-aware loader, every table validated into pandas and
every quarantined row named by its file row. With ``engine="spark"`` (or ``lazy=True`` on
DuckDB) it returns an :class:`EngineWorld` with the same attributes: the event tables
(``customers``, ``touchpoints``, ``conversions``) are lazy Ibis tables cleaned in the engine by
the same table contracts (:func:`imclab.data.contracts.clean_table`), the small tables (``spend``,
``survey``, ``ab_tests``, ``creatives``) are collected to pandas with the loader's dtypes, and
the validation report is built from counts run in the engine. The analysis functions take
either form (:func:`imclab.engine.to_ibis`), so the notebooks are the same on both engines.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import ibis
import ibis.expr.types as ir
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from imclab.data.contracts import (
    FAULTS,
    _keep,
    clean_table,
    describe,
    describe_duplicate,
    describe_reference,
    fault_lines,
    split_fault,
)
from imclab.data.load import (
    TableReport,
    ValidationReport,
    World,
    _as_of,
    _requested,
    arrow_to_frame,
    load_world,
)
from imclab.data.quarantine import (
    QUARANTINE_COLUMNS,
    SUMMARY_COLUMNS,
    VALUES_SHOWN,
    excluded_rows,
    report_messages,
)
from imclab.data.schemas import (
    OPTIONAL_TABLES,
    REQUIRED_TABLES,
    SCHEMAS,
    column_rules,
    date_columns,
    key_columns,
)
from imclab.engine import (
    DEFAULT_ENGINE,
    _check_engine,
    connect,
    engine_name,
    locate_table,
    quiet,
    world_tables,
)
from imclab.errors import DataError, ParameterError

__all__ = [
    "EVENT_TABLES",
    "SMALL_TABLES",
    "SNAPSHOT_MARKER",
    "EngineWorld",
    "is_snapshot",
    "open_world",
    "run_as_of",
    "write_snapshot",
]

#: Tables that grow with the customer base: kept in the engine, never collected whole.
EVENT_TABLES: tuple[str, ...] = ("customers", "touchpoints", "conversions")
#: Tables small enough to hand to pandas (days x channels, respondents, tests, creatives).
SMALL_TABLES: tuple[str, ...] = ("spend", "survey", "ab_tests", "creatives")


@dataclass
class EngineWorld:
    """A brand world read and validated by a query engine (see :func:`open_world`).

    It has the attributes of :class:`imclab.data.World`, so notebooks and analysis functions
    take either.

    Attributes
    ----------
    tables
        ``{table: table}``: the event tables (:data:`EVENT_TABLES`) as lazy Ibis tables of the
        engine, the others as pandas DataFrames with the loader's dtypes.
    report
        The :class:`~imclab.data.load.ValidationReport` (counts run in the engine).
    quarantine
        Example rows that were left out (``file, row, column, value, reason``), one line
        per faulty cell as in the loader's quarantine; at most ``examples`` rows per table
        for the cell checks and per table, column and reason for the id and key checks,
        ``row`` empty (a warehouse table has no file row numbers). The exact counts are in
        :attr:`excluded` and :attr:`report`.
    excluded
        ``table, column, reason, rows``: every excluded row counted once, by its first fault.
    source
        Where the tables were read from (folder, lake URL or catalog database).
    engine
        ``"duckdb"`` or ``"spark"``.
    con
        The Ibis backend that runs the queries.
    """

    tables: dict[str, Any]
    report: ValidationReport
    quarantine: pd.DataFrame
    excluded: pd.DataFrame
    source: Any
    engine: str
    con: ibis.BaseBackend = field(repr=False)

    def __repr__(self) -> str:
        sizes = ", ".join(
            f"{name} {self.report.tables[name].rows_loaded:,}" for name in self.tables
        )
        n_rows = sum(r.rows_quarantined for r in self.report.tables.values())
        return f"EngineWorld({self.engine}: {self.source}; {sizes}; {n_rows:,} rows quarantined)"

    def table(self, name: str) -> Any:
        """Return a table, or raise ``DataError`` naming the source when it is absent."""
        if name not in self.tables:
            raise DataError(f"{self.source}: table '{name}' was not loaded")
        return self.tables[name]

    customers = property(lambda self: self.table("customers"), doc="Customers (Ibis table).")
    touchpoints = property(lambda self: self.table("touchpoints"), doc="Touches (Ibis table).")
    conversions = property(lambda self: self.table("conversions"), doc="Orders (Ibis table).")
    spend = property(lambda self: self.table("spend"), doc="Daily media spend (pandas).")
    survey = property(lambda self: self.tables.get("survey"), doc="Survey or None (pandas).")
    ab_tests = property(lambda self: self.tables.get("ab_tests"), doc="A/B tests or None.")
    creatives = property(lambda self: self.tables.get("creatives"), doc="Creatives or None.")


def _origin(source: Any, name: str, overrides: dict[str, str]) -> str:
    """How a table is named in messages: its file name, URL or catalog name."""
    target = locate_table(source, name, overrides)
    return target.name if isinstance(target, Path) else str(target)


def _examples(origin: str, rows: ir.Table, limit: int, checks: list | None = None,
              column: str | None = None, reason: str | None = None) -> pd.DataFrame:  # fmt: skip
    """Up to ``limit`` excluded rows as quarantine lines, in a deterministic order.

    Rows refused by the cell checks (``checks`` given) give one line per faulty cell
    (:func:`imclab.data.contracts.fault_lines`), as the loader's quarantine does; the others
    one line each, labelled ``column`` and ``reason``, valued by ``_key`` (a duplicate key)
    or the column.
    """
    data = [c for c in rows.columns if not c.startswith("_")]
    order = [e for c in data for e in (rows[c].isnull(), rows[c].cast("string"))]
    picked = rows.order_by(order).limit(limit).execute()
    if picked.empty:
        return pd.DataFrame(columns=QUARANTINE_COLUMNS)
    if checks is not None:
        lines = fault_lines(picked, checks)
        cols, why, values = lines["column"], lines["label"], lines["value"]
    else:
        cols = pd.Series(column, index=picked.index)
        why = pd.Series(reason, index=picked.index)
        raw = picked["_key"] if "_key" in picked.columns else picked[column]
        values = (
            raw.astype("object").where(raw.notna(), None).map(lambda v: v if v is None else str(v))
        )
    return pd.DataFrame(
        {
            "file": origin,
            "row": pd.NA,
            "column": cols.to_numpy(),
            "value": values.to_numpy(),
            "reason": why.to_numpy(),
        }  # fmt: skip
    )


#: The engine's label of an id whose row in the referenced table was refused.
_REFUSED_IN = "refused in "


def _describe(table: str, column: str, label: str, stamp: pd.Timestamp, file_of) -> tuple:
    """Return ``(column, reason, template)`` worded as the loader words them (one vocabulary).

    ``label`` is the engine's rule name (:data:`imclab.data.contracts.FAULTS`, ``not in ...``
    for an unknown id, ``refused in ...`` for an id whose referenced row was refused,
    ``duplicate key``).
    """
    rules = {r.name: r for r in column_rules(SCHEMAS[table])}
    if column in rules and (label in FAULTS or label.startswith("greater than ")):
        return column, *describe(rules[column], label, stamp)
    for prefix, quarantined in (("not in ", False), (_REFUSED_IN, True)):
        if label.startswith(prefix):
            ref_table = label.removeprefix(prefix).split(".")[0]
            return column, *describe_reference(rules[column], file_of(ref_table), quarantined)
    if label == "duplicate key":
        return describe_duplicate(key_columns(SCHEMAS[table]))
    return column, label, label + " (values {values})"


def _cell_values(rows: ir.Table, checks: list) -> ir.Table:
    """Every faulty cell of the rows a cell check refused as ``column, label, value``.

    One pass over ``rows`` (an array of the checks unnested), as
    :func:`imclab.data.contracts.fault_lines` words them: the cell's text, ``left > right``
    for a pair; ``label`` is NULL for a check the row passed.
    """
    cells = []
    for c in checks:
        value = rows[c.column].cast("string").fill_null("")
        if c.right is not None:
            value = value + " > " + rows[c.right].cast("string").fill_null("")
        cells.append(
            ibis.struct({"column": ibis.literal(c.column), "label": rows[c.key], "value": value})
        )
    flat = rows.select(_c=ibis.array(cells).unnest())
    return flat.select(column=flat._c["column"], label=flat._c["label"], value=flat._c["value"])


def _fault_values(rows: ir.Table, column: str, label: Any, value: ir.Value) -> ir.Table:
    """One line per faulty cell as ``column, label, value`` (the text shown), for the summary."""
    text = value.cast("string") if not value.type().is_string() else value
    return rows.select(column=ibis.literal(column), label=label, value=text.fill_null(""))


def _engine_summary(
    table: str, origin: str, lines: list[ir.Table], stamp: pd.Timestamp, file_of
) -> pd.DataFrame:
    """Return a table's fault summary (``quarantine.fault_summary``), counted in the engine.

    Exact counts per column and reason and the values a message shows (most frequent first,
    then by text, as ``quarantine._top_values``), from every faulty cell, not
    the examples; no row numbers (a warehouse table has none).
    """
    cells = lines[0] if len(lines) == 1 else ibis.union(*lines)
    cells = cells.filter(cells.label.notnull())
    g = cells.group_by(["column", "label", "value"]).agg(n=ibis._.count())
    whole = ibis.window(group_by=[g.column, g.label])
    ranked = g.mutate(
        _r=ibis.row_number().over(group_by=[g.column, g.label], order_by=[ibis.desc(g.n), g.value]),
        _k=g.n.count().over(whole),
        _rows=g.n.sum().over(whole),
    )
    top = ranked.filter(ranked._r < VALUES_SHOWN).execute()
    out = []
    words = {
        k: _describe(table, *k, stamp, file_of)
        for k in set(zip(top["column"], top["label"], strict=True))
    }
    top["_words"] = [words[k] for k in zip(top["column"], top["label"], strict=True)]
    for (column, reason, template), group in top.groupby("_words", sort=False):
        # two rules can share words (below / above a range); their values never overlap
        group = group.sort_values(["n", "value"], ascending=[False, True], kind="mergesort")
        first = group.drop_duplicates(["column", "label"])
        shown = group["value"].head(VALUES_SHOWN).tolist()
        out.append(
            {"file": origin, "column": column, "reason": reason, "template": template,
             "rows": int(first["_rows"].sum()), "values": shown,
             "other_values": int(first["_k"].sum()) - len(shown), "row_numbers": []}
        )  # fmt: skip
    return pd.DataFrame(out, columns=SUMMARY_COLUMNS)


def _small_frame(table: str, expr: ir.Table) -> pd.DataFrame:
    """Collect a small clean table with the loader's dtypes, ordered by key then every column."""
    rules_cols = [c for c in SCHEMAS[table].columns if c in expr.columns]
    keys = [c for c in key_columns(SCHEMAS[table]) if c in rules_cols]
    columns = [*keys, *(c for c in rules_cols if c not in keys)]
    order = [e for c in columns for e in (expr[c].isnull(), expr[c])]
    arrow = expr.select(*rules_cols).order_by(order).to_pyarrow()
    return arrow_to_frame(table, [arrow])


@quiet
def _engine_world(
    con: ibis.BaseBackend,
    source: Any,
    as_of: Any,
    wanted: list[str],
    overrides: dict[str, str],
    examples: int,
) -> EngineWorld:
    from imclab.attribution.journeys import _drop, _materialize

    stamp = _as_of(as_of)
    raw = world_tables(con, source, tables=overrides, names=tuple(wanted))
    missing = [t for t in wanted if t in REQUIRED_TABLES and t not in raw]
    if missing:
        raise DataError(
            f"{source}: missing required table{'s' if len(missing) > 1 else ''} "
            f"{', '.join(missing)} (expected {', '.join(REQUIRED_TABLES)}; optional: "
            f"{', '.join(OPTIONAL_TABLES)})"
        )
    report = ValidationReport(source=source, as_of=stamp)
    clean: dict[str, ir.Table] = {}
    tables: dict[str, Any] = {}
    counts: list[dict[str, Any]] = []
    lines: list[pd.DataFrame] = []
    summaries: list[pd.DataFrame] = []

    def file_of(table: str) -> str:
        return _origin(source, table, overrides)

    # referenced tables first: ids are checked against the rows that passed there
    for name in sorted(raw, key=lambda n: (n != "customers", wanted.index(n))):
        origin = _origin(source, name, overrides)
        n_read = int(raw[name].count().execute())  # Parquet: from the file's metadata
        stored: list[str] = []

        def store(expr: ir.Table, _stored: list[str] = stored) -> ir.Table:
            # computed once: the analyses query the clean event tables many times
            table, table_name = _materialize(con, expr)
            _stored.append(table_name)
            return table

        typed, excluded, passed = clean_table(
            name, raw[name], stamp, clean, _keep if name in SMALL_TABLES else store, raw
        )
        clean[name] = typed
        dates = date_columns(SCHEMAS[name])
        if name in SMALL_TABLES:  # collected: its facts come from the frame
            tables[name] = _small_frame(name, clean[name])
            n_loaded = len(tables[name])
            lows = [tables[name][c].min() for c in dates]
            highs = [tables[name][c].max() for c in dates]
        else:
            tables[name] = clean[name]
            stats = clean[name].agg(
                _n=clean[name].count(),
                **{f"_min_{c}": clean[name][c].min() for c in dates},
                **{f"_max_{c}": clean[name][c].max() for c in dates},
            ).execute().iloc[0]  # fmt: skip
            n_loaded = int(stats["_n"])
            lows = [stats[f"_min_{c}"] for c in dates]
            highs = [stats[f"_max_{c}"] for c in dates]
        lows = [pd.Timestamp(v) for v in lows if pd.notna(v)]
        highs = [pd.Timestamp(v) for v in highs if pd.notna(v)]
        n_cells = n_read - passed
        faulty: list[ir.Table] = []  # every faulty cell, for the messages
        for what, rows, *more in excluded:
            if what == "cells":  # the rows with a cell fault, counted by their first one
                if not n_cells:
                    continue
                checks = more[0]
                found = rows.group_by("_fault").agg(rows=ibis._.count()).execute()
                for fault, n in sorted(zip(found["_fault"], found["rows"], strict=True)):
                    column, reason = split_fault(fault)
                    counts.append({"table": name, "column": column, "reason": reason,
                                   "rows": int(n)})  # fmt: skip
                faulty.append(_cell_values(rows, checks))
                if examples:
                    lines.append(_examples(origin, rows, examples, checks=checks))
                continue
            column, label = what
            parts = [(label, rows)]
            if "_quarantined" in rows.columns:  # an unknown id, or a refused referenced row
                ref = label.removeprefix("not in ")
                parts = [(label, rows.filter(~rows._quarantined)),
                         (_REFUSED_IN + ref, rows.filter(rows._quarantined))]  # fmt: skip
            for reason, part in parts:
                n = int(part.count().execute())
                if not n:
                    continue
                counts.append({"table": name, "column": column, "reason": reason, "rows": n})
                shown = part["_key"] if "_key" in part.columns else part[column]
                faulty.append(_fault_values(part, column, ibis.literal(reason), shown))
                if examples:
                    lines.append(_examples(origin, part, examples, column=column, reason=reason))
        n_lines = 0  # quarantine lines: every faulty cell, then one per row refused later
        if faulty:
            summaries.append(_engine_summary(name, origin, faulty, stamp, file_of))
            n_lines = int(summaries[-1]["rows"].sum())
        for stale in stored[:-1]:  # the copies a later step replaced
            _drop(con, stale)
        identity: dict[str, int] = {}
        mine = [c for c in counts if c["table"] == name]
        unknown_ids = sum(
            c["rows"]
            for c in mine
            if c["reason"]
            in ("not in customers.customer_id", _REFUSED_IN + "customers.customer_id")
        )
        refs = [r.references for r in column_rules(SCHEMAS[name])]
        if "customers.customer_id" in refs and "customers" in clean:
            # as the loader: rows that passed the cell checks, and those whose id is known
            checked = n_read - n_cells
            identity = {"identity_rows": checked, "identity_matched": checked - unknown_ids}
        elif name != "customers" and "customer_id" in clean[name].columns and "customers" in clean:
            ids = clean["customers"].select(_id=clean["customers"].customer_id.cast("string"))
            own = clean[name].select(_id=clean[name].customer_id.cast("string"))
            matched = int(own.semi_join(ids.distinct(), "_id").count().execute())
            identity = {"identity_rows": n_loaded, "identity_matched": matched}
        report.tables[name] = TableReport(
            table=name,
            file=origin,
            rows_read=n_read,
            rows_loaded=n_loaded,
            rows_quarantined=n_read - n_loaded,
            faults=n_lines,
            date_min=min(lows) if lows else None,
            date_max=max(highs) if highs else None,
            extra_columns=tuple(c for c in raw[name].columns if c not in SCHEMAS[name].columns),
            **identity,
        )
    for name in wanted:  # absent optional tables, in data-dictionary order
        report.tables.setdefault(name, TableReport(table=name))
    report.tables = {name: report.tables[name] for name in wanted}
    for c in counts:  # the loader's words for every reason
        c["column"], c["reason"], _ = _describe(
            c["table"], c["column"], c["reason"], stamp, file_of
        )
    excluded_frame = pd.DataFrame(counts, columns=["table", "column", "reason", "rows"])
    # a stable order on every engine: tables as asked, columns in contract order, then reason
    position = {
        (t, c): (wanted.index(t), i) for t in wanted for i, c in enumerate(SCHEMAS[t].columns)
    }
    excluded_frame["_pos"] = [
        position.get((t, c), (wanted.index(t), len(position)))
        for t, c in zip(excluded_frame["table"], excluded_frame["column"], strict=True)
    ]
    excluded_frame = (
        excluded_frame.sort_values(["_pos", "reason"], kind="mergesort")
        .drop(columns="_pos")
        .reset_index(drop=True)
        .astype({"rows": "int64"})
    )
    if summaries:  # the one report builder of the loader, on the engine's exact counts
        report.messages = report_messages(
            pd.concat(summaries, ignore_index=True), {file_of(t): t for t in wanted}
        )
    tables_of = {_origin(source, t, overrides): t for t in wanted}
    for frame in lines:
        if len(frame):
            described = [
                _describe(tables_of[f], c, r, stamp, file_of)
                for f, c, r in zip(frame["file"], frame["column"], frame["reason"], strict=True)
            ]
            frame["column"] = [c for c, _, _ in described]
            frame["reason"] = [r for _, r, _ in described]
    quarantine = (
        pd.concat(lines, ignore_index=True) if lines else pd.DataFrame(columns=QUARANTINE_COLUMNS)
    )
    quarantine = quarantine.sort_values(  # the same order as the counts
        ["file", "column", "reason", "value"], kind="mergesort", na_position="last"
    ).reset_index(drop=True)
    quarantine["row"] = quarantine["row"].astype("Int64")
    return EngineWorld(
        tables={name: tables[name] for name in wanted if name in tables},
        report=report,
        quarantine=quarantine[QUARANTINE_COLUMNS],
        excluded=excluded_frame,
        source=source,
        engine=engine_name(con),
        con=con,
    )


# --------------------------------------------------------------------------------------------
# The run's snapshot: validated once, read by every notebook of the run
# --------------------------------------------------------------------------------------------
#: The file that makes a folder a validated snapshot (written last, so a half-written
#: snapshot is never taken for one).
SNAPSHOT_MARKER = "imclab-snapshot.json"
_SNAPSHOT_FORMAT = 1
_REPORT_DATES = ("date_min", "date_max")


def run_as_of(plan: Any) -> str:
    """Return a run's one as-of rule: rows after it are "in the future" in every notebook.

    The end of the plan's measurement window, as notebook 00 reads it when run alone, so the
    audit and the analyses see the same rows; ``imclab validate --campaign`` uses it too.
    This is the single place where a plan setting for the as-of / review date plugs in
    (issue 14: campaign settings live in the plan).
    """
    return f"{plan.measurement_end.isoformat()} 23:59:59"


def is_snapshot(source: Any) -> bool:
    """Whether ``source`` is a folder written by :func:`write_snapshot`."""
    text = str(source)
    return "://" not in text and (Path(text) / SNAPSHOT_MARKER).is_file()


def _write_parquet(table: Any, path: Path) -> None:
    """One Parquet file per table, timestamps in microseconds (what Spark and DuckDB read)."""
    options = {"coerce_timestamps": "us", "allow_truncated_timestamps": True}
    if isinstance(table, pd.DataFrame):
        pq.write_table(pa.Table.from_pandas(table, preserve_index=False), path, **options)
        return
    batches = table.to_pyarrow_batches()  # streamed from the engine: never whole in memory
    with pq.ParquetWriter(path, batches.schema, **options) as writer:
        for batch in batches:
            writer.write_batch(batch)


def _link_truth(source: Any, folder: Path) -> str | None:
    """Make the simulator's ``truth/`` of ``source`` visible in the snapshot (link or copy)."""
    truth = Path(str(source)) / "truth"
    if "://" in str(source) or not truth.is_dir():
        return None
    try:
        os.symlink(truth.resolve(), folder / "truth", target_is_directory=True)
    except OSError:  # no symlinks (some Windows accounts): copy, it is small
        shutil.copytree(truth, folder / "truth")
    return str(truth)


@quiet
def write_snapshot(world: World | EngineWorld, folder: str | Path) -> Path:
    """Write a validated world to ``folder`` so that :func:`open_world` restores it as it is.

    ``imclab run`` validates the brand world once, with the run's as-of rule, and hands every
    notebook this snapshot as its ``data_dir``: the audit then shows exactly the rows the other
    notebooks analyse, and no notebook validates again (on Spark, no notebook repeats the
    contracts). The folder holds one ``<table>.parquet`` per clean table, ``quarantine.parquet``
    (and, from an engine, ``excluded.parquet``), the simulator's ``truth/`` when the source has
    one, and the marker :data:`SNAPSHOT_MARKER` with the validation report, written last.

    Parameters
    ----------
    world
        What :func:`open_world` returned on the raw data.
    folder
        An empty or new folder.

    Returns
    -------
    Path
        The snapshot folder.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / SNAPSHOT_MARKER).unlink(missing_ok=True)
    for name, table in world.tables.items():
        _write_parquet(table, folder / f"{name}.parquet")
    _write_parquet(world.quarantine, folder / "quarantine.parquet")
    lazy = isinstance(world, EngineWorld)
    if lazy:
        _write_parquet(world.excluded, folder / "excluded.parquet")
    report = world.report
    files = {t: r.file for t, r in report.tables.items() if r.file}
    meta = {
        "format": _SNAPSHOT_FORMAT,
        "kind": "engine" if lazy else "files",
        "engine": world.engine if lazy else DEFAULT_ENGINE,
        "source": str(world.source),
        "truth": _link_truth(world.source, folder),
        "as_of": report.as_of.isoformat(),
        "tables": {
            t: {
                **asdict(r),
                **{
                    d: None if getattr(r, d) is None else getattr(r, d).isoformat()
                    for d in _REPORT_DATES
                },
                "extra_columns": list(r.extra_columns),
            }  # fmt: skip
            for t, r in report.tables.items()
        },
        # messages by table: a notebook that opens a few tables gets their messages only
        "messages": [
            {"table": next((t for t, f in files.items() if m.startswith(f"{f}:")), None), "text": m}
            for m in report.messages
        ],
    }
    (folder / SNAPSHOT_MARKER).write_text(json.dumps(meta, indent=1), encoding="utf-8")
    return folder


@quiet
def _open_snapshot(
    folder: Path,
    con: ibis.BaseBackend | None,
    wanted: list[str],
    strict: bool,
) -> World | EngineWorld:
    """Restore a :func:`write_snapshot` folder without validating again (see :func:`open_world`)."""
    meta = json.loads((folder / SNAPSHOT_MARKER).read_text(encoding="utf-8"))
    if meta.get("format") != _SNAPSHOT_FORMAT:
        raise DataError(
            f"{folder}: a snapshot of format {meta.get('format')!r}, this imclab reads format "
            f"{_SNAPSHOT_FORMAT}; run `imclab run` again to write a new one"
        )
    source: Any = meta["source"]
    if meta["kind"] == "files":
        source = Path(source)
    reports = {}
    for name in wanted:
        fields = dict(meta["tables"].get(name) or {"table": name})
        for d in _REPORT_DATES:
            fields[d] = None if fields.get(d) is None else pd.Timestamp(fields[d])
        fields["extra_columns"] = tuple(fields.get("extra_columns") or ())
        reports[name] = TableReport(**fields)
    files = {t: r.file for t, r in reports.items() if r.file}
    report = ValidationReport(
        source=source,
        as_of=pd.Timestamp(meta["as_of"]),
        tables=reports,
        messages=[m["text"] for m in meta["messages"] if m["table"] in files],
    )
    quarantine = pd.read_parquet(folder / "quarantine.parquet")
    quarantine = quarantine[quarantine["file"].isin(list(files.values()))].reset_index(drop=True)
    quarantine = quarantine[QUARANTINE_COLUMNS]
    if strict and len(quarantine):
        n_rows = sum(r.rows_quarantined for r in reports.values())
        raise DataError(
            f"{source}: {n_rows:,} row{'s' if n_rows != 1 else ''} break the data contract "
            "(strict=True):\n  " + "\n  ".join(report.messages)
        )
    present = [t for t in wanted if t in files]

    def frame(name: str) -> pd.DataFrame:
        return arrow_to_frame(name, [pq.read_table(folder / f"{name}.parquet")])

    if con is None:  # the loader's World: every table in pandas with the loader's dtypes
        if meta["kind"] != "files":
            raise ParameterError(
                f"{source}: this run's snapshot was validated on {meta['engine']} and holds "
                "example rows of the quarantine only; open it with the same engine"
            )
        return World(
            tables={t: frame(t) for t in present}, report=report, quarantine=quarantine,
            source=source,
        )  # fmt: skip
    if meta["kind"] == "engine":
        excluded = pd.read_parquet(folder / "excluded.parquet")
        excluded = excluded[excluded["table"].isin(present)].reset_index(drop=True)
    else:
        excluded = excluded_rows(quarantine, files)
    tables = {
        t: frame(t) if t in SMALL_TABLES else con.read_parquet(str(folder / f"{t}.parquet"))
        for t in present
    }
    return EngineWorld(
        tables=tables,
        report=report,
        quarantine=quarantine,
        excluded=excluded.astype({"rows": "int64"}),
        source=source,
        engine=engine_name(con),
        con=con,
    )


def open_world(
    source: str | Path,
    engine: str | ibis.BaseBackend = DEFAULT_ENGINE,
    *,
    as_of: Any = None,
    tables: list[str] | tuple[str, ...] | None = None,
    sources: dict[str, str] | None = None,
    lazy: bool | None = None,
    examples: int = 20,
    strict: bool = False,
) -> World | EngineWorld:
    """Open a brand world on an engine: what every notebook calls to get its tables.

    Parameters
    ----------
    source
        A folder of ``<table>.parquet``/``.csv`` files, a lake folder URL
        (``s3://bucket/world``) or a catalog database (``lake.marketing``); see
        :func:`imclab.engine.world_tables`. The DuckDB default reads folders only. A
        snapshot folder (:func:`write_snapshot`, what ``imclab run`` gives its notebooks) is
        restored as it was validated, without validating again.
    engine
        ``"duckdb"`` (default) or ``"spark"``, or a backend from :func:`imclab.engine.connect`.
    as_of
        Events after this moment are quarantined as "in the future" (a date means the end of
        that day; default: now). Not used for a run's snapshot: it was validated with the
        run's as-of, which its report keeps (``world.report.as_of``).
    tables
        Open only these tables (``customers`` is added when a table references its ids).
    sources
        Per-table overrides for a warehouse (``{"touchpoints": "lake.web.events"}``).
    lazy
        Return an :class:`EngineWorld` (event tables stay in the engine). Default: True for
        Spark or a backend, False for ``"duckdb"``, whose default is the file-aware loader
        :func:`imclab.data.load_world` (everything in pandas, quarantine rows numbered).
    examples
        :class:`EngineWorld` only: example rows kept per table, column and reason.
    strict
        Raise :class:`~imclab.errors.DataError` naming the faults instead of quarantining.

    Returns
    -------
    World or EngineWorld
        The same attributes (``tables``, ``report``, ``quarantine``, ``source``).

    Raises
    ------
    DataError
        A required table is missing, or misses a required column.
    ParameterError
        An unknown engine or table name.
    """
    wanted = _requested(tables)
    snapshot = is_snapshot(source)
    if snapshot and sources:
        raise ParameterError("sources: a run's snapshot holds every table; no overrides")
    if isinstance(engine, ibis.BaseBackend):
        con, lazy = engine, True if lazy is None else lazy
        if not lazy:
            raise ParameterError("lazy=False needs engine='duckdb', not a backend")
    else:
        name = _check_engine(engine)
        lazy = (name != "duckdb") if lazy is None else bool(lazy)
        if not lazy:
            if name != "duckdb":
                raise ParameterError(f"engine {name}: the tables stay in the engine (lazy=True)")
            if sources:
                raise ParameterError("sources: per-table overrides need lazy=True")
            if snapshot:
                return _open_snapshot(Path(str(source)), None, wanted, strict)
            return load_world(source, strict=strict, as_of=as_of, tables=wanted)
        con = connect(name)
    if snapshot:
        return _open_snapshot(Path(str(source)), con, wanted, strict)
    if examples < 0:
        raise ParameterError(f"examples: expected 0 or more, found {examples}")
    world = _engine_world(con, source, as_of, wanted, dict(sources or {}), int(examples))
    if strict and len(world.excluded):
        n_rows = int(world.excluded["rows"].sum())
        raise DataError(
            f"{source}: {n_rows:,} row{'s' if n_rows != 1 else ''} break the data contract "
            "(strict=True):\n  " + "\n  ".join(world.report.messages)
        )
    return world
