"""The table contracts as Ibis expressions: the data rules, written once for every path.

From the definitions of :data:`imclab.data.schemas.SCHEMAS`: missing required values, text
too long, unparseable numbers/dates/timestamps/booleans, time zone offsets, implausible dates,
values outside the allowed set, below the minimum or above the maximum, dates in the future,
``left <= right`` column pairs (:func:`row_checks`), ids missing from the referenced table
(:func:`unmatched_ids`) and duplicate keys (:func:`duplicates_ranked`). The engines apply
them where a table lives (:func:`clean_table`, for :func:`imclab.warehouse.open_world`); the
file loader (:mod:`imclab.data.load`) compiles the same expressions to DuckDB SQL over its
reading of the file. ``data/README.md`` ("How the rules are applied") states them for users.

The rules' bounds (:data:`MIN_DATE`, :data:`MAX_DATE`, :data:`TZ_PATTERN`) and their words
(:func:`describe`, :func:`describe_reference`, :func:`describe_duplicate`: the reason and the
message template of every fault) live here once, so a fault reads the same in every report.
"""

from __future__ import annotations

import functools
import operator
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import ibis
import ibis.expr.types as ir
import pandas as pd

from imclab.data.schemas import SCHEMAS, column_rules, cross_column_rules, key_columns
from imclab.errors import DataError

__all__ = [
    "FAULTS",
    "FAULT_SEP",
    "MAX_DATE",
    "MIN_DATE",
    "TZ_PATTERN",
    "clean_table",
    "describe",
    "split_fault",
]

#: Fault kinds counted per column, in the order a cell is checked (a cell gets the first).
FAULTS: tuple[str, ...] = (
    "missing required value",
    "text too long",
    "unparseable",
    "time zone offset",
    "implausible date",
    "unknown value",
    "below minimum",
    "above maximum",
    "in the future",
)

#: Plausible dates (a date or timestamp outside them is a typing slip, not an event).
MIN_DATE, MAX_DATE = "1900-01-01", "2199-12-31"
#: A time of day followed by a zone (``Z``, ``+02:00``): local times carry none.
TZ_PATTERN = r"[0-9]:[0-9]{2}(:[0-9]{2}(\.[0-9]*)?)?\s*(Z|z|[+-][0-9]{2}(:?[0-9]{2})?)$"

# The plan's columns: feature that fixes a value that does not parse (messages only).
_FIXES = {
    "int": "; a decimal comma or thousands dot? set decimal: ',' for this file in the plan's "
    "columns: section",
    "float": "; a decimal comma? set decimal: ',' for this file in the plan's columns: section",
    "date": "; another date format? set date_format (e.g. '%d/%m/%Y') for this file in the "
    "plan's columns: section",
    "timestamp": "; another date format? set date_format (e.g. '%d/%m/%Y %H:%M') for this file "
    "in the plan's columns: section",
}
_KIND_WORDS = {
    "int": "an integer",
    "float": "a number",
    "bool": "a boolean (expected true or false)",
    "date": "a date (expected ISO 8601)",
    "timestamp": "a timestamp (expected ISO 8601)",
}


def _number(value: float) -> str:
    return f"{value:g}"


def describe(rule, label: str, as_of: pd.Timestamp) -> tuple[str, str]:
    """Return the words of a cell fault: ``(reason, template)``, one vocabulary for all.

    The file loader, the engines' report and the quarantine messages all word a fault here.

    Parameters
    ----------
    rule
        The column's :class:`~imclab.data.schemas.ColumnRule`.
    label
        One of :data:`FAULTS`, or ``"greater than <column>"`` for a ``left <= right`` pair.
    as_of
        The moment after which dates are "in the future".

    Returns
    -------
    tuple of str
        The reason (``"negative value (expected >= 0)"``) and the message template, where
        ``{values}`` stands for the offending values.
    """
    if label == "missing required value":
        return label, label
    if label == "text too long":
        limit = f"{rule.max_length:,}"
        return (
            f"text too long (over {limit} characters)",
            f"text {{values}} too long (over {limit} characters)",
        )
    if label == "unparseable":
        words = _KIND_WORDS[rule.kind]
        return (
            f"cannot parse as {words}",
            f"cannot parse {{values}} as {words}{_FIXES.get(rule.kind, '')}",
        )
    if label == "time zone offset":
        return (
            "timestamp has a time zone offset (expected local time without offset)",
            "timestamp {values} has a time zone offset (expected local time without offset)",
        )
    if label == "implausible date":
        years = f"years {MIN_DATE[:4]} to {MAX_DATE[:4]}"
        return (
            f"implausible date (expected {years})",
            f"implausible date {{values}} (expected {years})",
        )
    if label == "unknown value":
        expected = ", ".join(str(v) for v in rule.allowed)
        return (
            f"unknown {rule.name} (expected one of: {expected})",
            f"unknown {rule.name} {{values}} (expected one of: {expected}; map your labels "
            f"with values: {{your label: imclab value}} for {rule.name} in the plan's "
            "columns: section, which compares labels trimmed and case-blind)",
        )
    if label in ("below minimum", "above maximum"):
        lo, hi = rule.min_value, rule.max_value
        if hi is None and lo == 0:
            return "negative value (expected >= 0)", "negative value {values} (expected >= 0)"
        if lo is not None and hi is not None:
            expected = f"{_number(lo)}..{_number(hi)}"
        else:
            expected = f">= {_number(lo)}" if lo is not None else f"<= {_number(hi)}"
        return (
            f"out of range (expected {expected})",
            f"value {{values}} out of range (expected {expected})",
        )
    if label == "in the future":
        stamp = as_of.strftime("%Y-%m-%d %H:%M:%S")
        return (
            f"in the future (after as_of {stamp})",
            f"{{values}} is in the future (after as_of {stamp})",
        )
    if label.startswith("greater than "):
        right = label.removeprefix("greater than ")
        return (
            f"{rule.name} {label}",
            f"{rule.name} {label} ({{values}}; expected {rule.name} <= {right})",
        )
    raise ValueError(f"no words for the fault {label!r}")  # pragma: no cover


_TYPES = {
    "int": "float64",  # integers are checked as numbers, then for a fractional part
    "float": "float64",
    "bool": "boolean",
    "date": "date",
    "timestamp": "timestamp",
}


@ibis.udf.scalar.builtin(name="trim")
def _trim(text: str) -> str:
    """Trim with SQL ``trim``: the text without surrounding spaces (DuckDB and Spark alike).

    Text is compared and kept trimmed (allowed values, ids, clean strings). Ibis's own
    ``strip`` compiles to a trim of a set of characters, about twice as slow in DuckDB.
    """


def _blank(col: ir.Value, trimmed: ir.StringValue | None = None) -> ir.BooleanValue:
    if col.type().is_string():
        return col.isnull() | ((_trim(col) if trimmed is None else trimmed) == "")
    return col.isnull()


def _typed(col: ir.Value, kind: str) -> ir.Value:
    target = _TYPES.get(kind)
    if target is None:
        return col.cast("string") if not col.type().is_string() else col
    if kind == "timestamp" and col.type().is_timestamp():
        return col
    if kind == "date" and col.type().is_date():
        return col
    if kind == "bool" and col.type().is_string():
        low = _trim(col).lower()
        return ibis.cases(
            (low == "true", True), (low == "false", False), else_=ibis.null("boolean")
        )
    return col.try_cast(target)


def _finite(value: ir.FloatingValue) -> ir.BooleanValue:
    """Whether a number is finite (not 'inf', '-inf' or 'nan'); NULL stays NULL.

    A comparison, not ``isinf``: Ibis's Spark ``isinf`` misses Spark's parse of ``'inf'``.
    NaN compares greater than every number in DuckDB and Spark alike.
    """
    return value.abs() <= sys.float_info.max


def parse(t: ir.Table, rules) -> dict[str, ir.Value]:
    """Return each column's parse, the one value its checks and its clean value read.

    Text columns (strings, categories) give the trimmed text, the others the parsed number,
    boolean, date or timestamp (NULL when the cell does not parse). Passed to
    :func:`row_checks` and :func:`clean_values` as computed columns, a cell is parsed once
    (the loader computes them in a first projection; an engine inlines them).
    """
    return {rule.name: _parse_value(t[rule.name], rule.kind) for rule in rules}


def _parse_value(col: ir.Value, kind: str) -> ir.Value:
    if kind in _TYPES:
        return _typed(col, kind)
    return _trim(col.cast("string") if not col.type().is_string() else col)


def _fault(
    col: ir.Value, rule, as_of: pd.Timestamp, parsed: ir.Value | None = None
) -> tuple[ir.StringValue | None, list[str]]:
    """Return the first fault of a cell (NULL when fine) and the faults the rule can give.

    ``parsed`` is the cell's :func:`parse` (computed here when not given). A blank cell is
    decided by the first branch (missing, or fine when the column is nullable), so the later
    checks see non-blank cells only and the blank test runs once.
    """
    if parsed is None:
        parsed = _parse_value(col, rule.kind)
    text_kind = rule.kind not in _TYPES
    blank = _blank(col, parsed if text_kind else None)
    typed = parsed
    cases: list[tuple[ir.BooleanValue, str | None]] = [
        (blank, None if rule.nullable else "missing required value")
    ]
    text = col.cast("string") if not col.type().is_string() else col
    if rule.max_length is not None:
        cases.append((text.length() > int(rule.max_length), "text too long"))
    not_parsed = typed.isnull()
    if rule.kind in ("int", "float"):
        # 'inf', 'nan' and integers beyond float precision are not numbers (as in the loader)
        finite = _finite(typed)
        not_parsed = not_parsed | (~finite).fill_null(False)
        if rule.kind == "int":
            exact = (typed.floor() == typed) & (typed.abs() < 9e15)
            not_parsed = not_parsed | (~exact).fill_null(False)
    if rule.kind in _TYPES:
        cases.append((not_parsed, "unparseable"))
    if rule.kind == "timestamp" and col.type().is_string():
        # 'YYYY-MM-DDTHH:MM:SS' is 19 characters: only longer text can carry an offset
        offset = (text.length() > 19) & text.re_search(TZ_PATTERN)
        cases.append((offset, "time zone offset"))
    if rule.kind in ("date", "timestamp"):
        lo = ibis.literal(pd.Timestamp(MIN_DATE).to_pydatetime(), type="timestamp")
        hi = ibis.literal(pd.Timestamp(MAX_DATE).to_pydatetime(), type="timestamp")
        stamp = typed.cast("timestamp")
        cases.append(((stamp < lo) | (stamp > hi), "implausible date"))
    if rule.allowed is not None:
        values = [str(v) for v in rule.allowed]
        if rule.kind in ("category", "string"):
            cases.append((~parsed.isin(values), "unknown value"))
        else:
            nums = [float(v) for v in rule.allowed]
            cases.append((~typed.isin(nums), "unknown value"))
    if rule.min_value is not None:
        cases.append((typed < float(rule.min_value), "below minimum"))
    if rule.max_value is not None:
        cases.append((typed > float(rule.max_value), "above maximum"))
    if rule.not_future:
        if rule.kind == "date":
            limit = ibis.literal(as_of.date(), type="date")
        else:
            limit = ibis.literal(as_of.to_pydatetime(), type="timestamp")
        cases.append((typed > limit, "in the future"))
    labels = [label for _, label in cases if label is not None]
    if not labels:
        return None, []
    none = ibis.null("string")
    fault = ibis.cases(
        *[(cond.fill_null(False), none if label is None else label) for cond, label in cases]
    )
    return fault, labels


def _rules(name: str, t: ir.Table):
    """Return the column rules of table ``name`` that apply to ``t`` (raise on missing ones)."""
    rules = [r for r in column_rules(SCHEMAS[name]) if r.name in t.columns or r.required]
    missing = [r.name for r in rules if r.name not in t.columns]
    if missing:
        raise DataError(f"{name}: missing required column(s) {', '.join(missing)}")
    return rules


@dataclass(frozen=True)
class Check:
    """One per-row check of a table contract, as an Ibis expression.

    Attributes
    ----------
    column
        The column a fault is reported on (the left column of a ``left <= right`` pair).
    key
        The name of the check's result column (``_f0``, ``_f1``, ...).
    expr
        The fault label of the row for this check (one of :data:`FAULTS`, or ``"greater than
        <right>"``), NULL when the row passes it.
    right
        For a ``left <= right`` pair, the right column (the value shown is ``"left > right"``).
    """

    column: str
    key: str
    expr: ir.StringValue
    right: str | None = None


def row_checks(
    name: str, t: ir.Table, as_of: pd.Timestamp, parsed: Mapping[str, ir.Value] | None = None
) -> tuple[list, list[Check]]:
    """Every per-row rule of table ``name``'s contract, as Ibis expressions over ``t``.

    The one definition of which cell is faulty and why, for every path: the engines apply
    it where the table lives (:func:`clean_table`), the file loader compiles the same
    expressions to DuckDB SQL (:mod:`imclab.data.load`). Per column one check giving the
    cell's first fault (the order of :data:`FAULTS`), then the ``left <= right`` pairs.
    A row is refused when any check gives a fault; the quarantine lists every check that
    did (one line per faulty cell), the counts count the row once, by its first fault
    (:func:`first_fault`: columns in contract order, then pairs).

    Allowed values are compared after trimming surrounding whitespace and case-sensitive
    (``" email"`` is ``email``, ``"Email"`` is unknown); the clean value is the trimmed text
    (:func:`clean_values`).

    Returns
    -------
    rules : list
        The column rules that apply to ``t``.
    checks : list of Check
    """
    rules = _rules(name, t)
    parsed = parse(t, rules) if parsed is None else parsed
    out: list[Check] = []
    for rule in rules:
        fault, _possible = _fault(t[rule.name], rule, as_of, parsed[rule.name])
        if fault is not None:
            out.append(Check(rule.name, f"_f{len(out)}", fault))
    none = ibis.null("string")
    for left, right in cross_column_rules(SCHEMAS[name]):
        lv, rv = parsed[left], parsed[right]
        label = ibis.ifelse((lv > rv).fill_null(False), f"greater than {right}", none)
        out.append(Check(left, f"_f{len(out)}", label, right))
    return rules, out


def any_fault(checks: list[Check]) -> ir.BooleanValue:
    """Whether a row breaks any of ``checks`` (the cheap test the loader's first pass runs)."""
    if not checks:
        return ibis.literal(False)
    return functools.reduce(operator.or_, [c.expr.notnull() for c in checks])


def first_fault(checks: list[Check]) -> ir.StringValue:
    """Return a row's first fault as ``"column|rule"`` (:func:`split_fault`), NULL when it has none.

    The counts of excluded rows count each row once, by this fault.
    """
    none = ibis.null("string")
    labelled = [ibis.literal(f"{c.column}{FAULT_SEP}") + c.expr for c in checks]
    return ibis.coalesce(*labelled, none) if labelled else none


def clean_values(
    t: ir.Table, rules, parsed: Mapping[str, ir.Value] | None = None
) -> dict[str, ir.Value]:
    """Return the typed value of every column of a row that passed :func:`row_checks`.

    Text (strings, categories) is trimmed of surrounding spaces, blank text is missing;
    numbers, booleans, dates and timestamps are parsed as the checks parse them. NULL where
    a cell is faulty, never an error, so the expressions can run on every row. ``parsed``:
    :func:`parse` as computed columns (computed here when not given).
    """
    parsed = parse(t, rules) if parsed is None else parsed
    typed = {}
    for rule in rules:
        value = parsed[rule.name]
        if rule.kind == "int":
            exact = _finite(value) & (value.floor() == value)
            value = ibis.ifelse(exact & (value.abs() < 9e15), value, ibis.null("float64"))
            value = value.cast("int64")
        elif rule.kind == "float":
            finite = _finite(value)
            value = ibis.ifelse(finite, value, ibis.null("float64"))
        elif rule.kind == "timestamp":
            value = value.cast("timestamp")
        elif rule.kind in _CAST:
            value = value.cast(_CAST[rule.kind])
        elif value.type().is_string():
            value = ibis.ifelse(value == "", ibis.null("string"), value)
        typed[rule.name] = value
    return typed


def fault_lines(rows: pd.DataFrame, checks: list[Check]) -> pd.DataFrame:
    """One line per faulty cell of ``rows`` (the refused rows with the checks' columns).

    Parameters
    ----------
    rows
        The raw cells of refused rows and the result column of every check (``Check.key``).
    checks
        :func:`row_checks`.

    Returns
    -------
    pandas.DataFrame
        ``column, value, label`` with the index of ``rows``; per row the checks in their
        order. ``value`` is the cell's text (``"left > right"`` for a pair).
    """
    parts = []
    for position, check in enumerate(checks):
        hit = rows[rows[check.key].notna()]
        if hit.empty:
            continue
        value = _text(hit[check.column])
        if check.right is not None:
            value = value.fillna("") + " > " + _text(hit[check.right]).fillna("")
        parts.append(
            pd.DataFrame(
                {"column": check.column, "value": value, "label": hit[check.key], "_p": position},
                index=hit.index,
            )
        )
    if not parts:
        return pd.DataFrame({"column": [], "value": [], "label": []}, dtype="object")
    lines = pd.concat(parts)
    lines["_i"] = rows.index.get_indexer(lines.index)
    lines = lines.sort_values(["_i", "_p"], kind="mergesort")
    return lines[["column", "value", "label"]]


def _text(values: pd.Series) -> pd.Series:
    return (
        values.astype("object")
        .where(values.notna(), None)
        .map(lambda v: v if v is None or isinstance(v, str) else str(v))
    )


def duplicates_ranked(t: ir.Table, keys: list[str], position: str | None = None) -> ir.Table:
    """Return the rows of ``t`` whose key repeats, each ranked ``_n`` (0: the one that is kept).

    The rule for duplicate keys, on every path: the first row in source order is kept. A
    file has an order, so the loader passes its row number as ``position`` (the first row
    of the file is kept). A warehouse table has no order: there the first row in the sort of
    all its columns (missing values last) is kept, so the choice is the same on every run
    and engine. The other rows of the key are refused as duplicates.

    Parameters
    ----------
    t
        The rows that passed the earlier checks.
    keys
        The key columns.
    position
        The column holding the source order, or None for a table without one.
    """
    repeated = t.group_by(keys).agg(_c=ibis._.count()).filter(ibis._._c > 1).select(keys)
    twins = t.semi_join(repeated, keys)
    if position is not None:
        order = [twins[position]]
    else:
        order = [e for c in twins.columns for e in (twins[c].isnull(), twins[c])]
    win = ibis.window(group_by=[twins[k] for k in keys], order_by=order)
    return twins.mutate(_n=ibis.row_number().over(win))


def key_text(t: ir.Table, keys: list[str]) -> ir.StringValue:
    """Return a key's value as the quarantine shows it: the key columns as text joined by ``|``."""
    parts = [t[k].cast("string").fill_null("") for k in keys]
    return functools.reduce(lambda a, b: a + "|" + b, parts)


def source_ids(raw_ref: ir.Table, reference: str) -> ir.Table:
    """Return the ids in every row of a referenced table's source (``_raw``), refused rows included.

    ``reference`` is a rule's ``references`` (``"customers.customer_id"``); the ids are
    cleaned as the column's clean value (:func:`clean_values`), blanks left out.
    """
    ref_table, ref_column = reference.split(".")
    rule = next(r for r in column_rules(SCHEMAS[ref_table]) if r.name == ref_column)
    ids = raw_ref.select(_raw=_key_text(clean_values(raw_ref, [rule])[ref_column]))
    return ids.filter(ids._raw.notnull()).distinct()


def unmatched_ids(
    t: ir.Table, column: str, clean_ref: ir.Table, ref_column: str, raw_ids: ir.Table | None
) -> ir.Table:
    """Return the rows of ``t`` whose id is missing from the clean referenced table.

    The rule for ids, on every path: an id must be in the rows of the referenced table that
    passed its checks (ids compared as text). Each missing row gets ``_quarantined``: True
    when the id is in the referenced table's source but its row was itself refused there
    ("customer row quarantined"), False when the id is nowhere in it ("unknown customer");
    :func:`describe_reference` words both. ``raw_ids`` is :func:`source_ids` of the
    referenced source (None: every missing id is unknown).
    """
    known = clean_ref.select(_ref=_key_text(clean_ref[ref_column])).distinct()
    missing = t.anti_join(known, _key_text(t[column]) == known._ref)
    if raw_ids is None:
        return missing.mutate(_quarantined=ibis.literal(False))
    # a join, not IN (subquery): Spark takes subqueries in filters only
    seen = raw_ids.select(_raw=raw_ids._raw, _seen=ibis.literal(True))
    joined = missing.left_join(seen, _key_text(missing[column]) == seen._raw)
    return joined.select(*missing.columns, _quarantined=joined._seen.notnull())


def describe_reference(rule, ref_file: str, quarantined: bool) -> tuple[str, str]:
    """Return ``(reason, template)`` of an id missing from the clean referenced table."""
    if quarantined:
        return (
            f"customer row quarantined in {ref_file}",
            f"customer {{values}} was quarantined in {ref_file}",
        )
    return (
        f"unknown customer ({rule.name} not in {ref_file})",
        f"unknown customer {{values}} (not in {ref_file})",
    )


def describe_duplicate(keys: list[str]) -> tuple[str, str, str]:
    """Return ``(column, reason, template)`` of a row refused by :func:`duplicates_ranked`."""
    label = ", ".join(keys)
    word = "duplicate key" if len(keys) > 1 else "duplicate"
    return (
        label,
        f"{word} {label} (the first occurrence is kept)",
        f"{word} {label} {{values}} (the first occurrence is kept)",
    )


def _key_text(col: ir.Value) -> ir.StringValue:
    """Ids compared across tables as text (CSV strings and typed Parquet ids alike)."""
    return col.cast("string")


_CAST = {"bool": "boolean", "date": "date"}

#: Separates the column from the rule in a ``_fault`` label (``"cost|below minimum"``).
FAULT_SEP = "|"


def split_fault(label: str) -> tuple[str, str]:
    """Return ``(column, rule)`` of a ``_fault`` label written by :func:`clean_table`."""
    column, _, rule = label.partition(FAULT_SEP)
    return column, rule


def _keep(table: ir.Table) -> ir.Table:
    return table


def _any_rows(table: ir.Table) -> bool:
    return bool(table.limit(1).count().execute())


def clean_table(
    name: str,
    t: ir.Table,
    as_of: pd.Timestamp,
    refs: Mapping[str, ir.Table],
    store: Callable[[ir.Table], ir.Table] = _keep,
    raw_refs: Mapping[str, ir.Table] | None = None,
):
    """Apply table ``name``'s contract to ``t`` in its engine.

    The cell checks (:func:`row_checks`) run once: the rows without a fault are typed
    (:func:`clean_values`) and handed to ``store`` (which computes and keeps them, e.g. a
    temporary table; by default they stay lazy). The id and key checks then read that stored
    table, and each runs a small query first so that a step that removes nothing costs no
    second copy: unknown ids by an anti-join (:func:`unmatched_ids`), duplicate keys by a
    grouped count (:func:`duplicates_ranked`: the window that picks the row to keep runs over
    the repeated keys only).

    Parameters
    ----------
    name
        The table of the data dictionary.
    t
        The raw table (text cells from CSV, or typed Parquet columns).
    as_of
        The moment after which dates are "in the future" (``imclab.data.load._as_of``).
    refs
        The clean tables already built (ids are checked against the rows that passed there).
    store
        Called on the typed rows that passed the cell checks, and again after a step that
        removed rows; returns the table the next steps read.
    raw_refs
        The raw referenced tables, to tell a refused customer row from an unknown customer.

    Returns
    -------
    clean : ibis.expr.types.Table
        Typed columns (strings, ``float64``, ``int64``, ``boolean``, ``date``, ``timestamp``)
        holding only the rows that passed, then the file's extra columns.
    excluded : list
        ``("cells", rows, checks)``: the rows refused by a cell check, each with ``_fault``,
        its first fault as ``"column|rule"`` (:func:`split_fault`), and every check's label
        (``Check.key``, for :func:`fault_lines`); then ``((column, rule), rows)`` for the
        rows an id check (rule ``"not in <table.column>"``, rows with ``_quarantined``) or
        the duplicate-key check removed (only the steps that removed some). Each refused row
        appears once.
    passed_cells : int
        Rows that passed the cell checks (``rows read - refused by a cell check``).
    """
    rules, checks = row_checks(name, t, as_of)
    staged = t.mutate(_fault=first_fault(checks))
    refused = staged.filter(staged._fault.notnull())
    refused = refused.mutate(**{c.key: c.expr for c in checks}) if checks else refused
    excluded: list = [("cells", refused, checks)]
    kept = staged.filter(staged._fault.isnull())
    typed = clean_values(kept, rules)
    extra = [c for c in t.columns if c not in typed]
    clean = store(kept.select(**typed, **{c: kept[c] for c in extra}))
    passed_cells = int(clean.count().execute())
    for rule in rules:  # ids must exist in the (clean) referenced table
        if not rule.references:
            continue
        ref_table, ref_col = rule.references.split(".")
        if ref_table not in refs:
            continue
        raw_ref = (raw_refs or {}).get(ref_table)
        raw_ids = None if raw_ref is None else source_ids(raw_ref, rule.references)
        missing = unmatched_ids(clean, rule.name, refs[ref_table], ref_col, raw_ids)
        if _any_rows(missing):
            excluded.append(((rule.name, f"not in {rule.references}"), missing))
            clean = store(clean.anti_join(missing.select(rule.name).distinct(), rule.name))
    keys = key_columns(SCHEMAS[name])
    if keys and all(k in clean.columns for k in keys):
        ranked = duplicates_ranked(clean, keys)
        if _any_rows(ranked):
            later = ranked.filter(ranked._n > 0)
            excluded.append(
                (("+".join(keys), "duplicate key"), later.mutate(_key=key_text(later, keys)))
            )
            first = ranked.filter(ranked._n == 0).drop("_n")
            clean = store(clean.anti_join(ranked.select(keys).distinct(), keys).union(first))
    return clean, excluded, passed_cells
