"""The table contracts as Ibis expressions: the rules a query engine (DuckDB, Spark) checks.

The same rules as the file loader (:mod:`imclab.data.load`), from the same definitions
(:data:`imclab.data.schemas.SCHEMAS`): missing required values, text too long, unparseable
numbers/dates/timestamps/booleans, time zone offsets, implausible dates, values outside the
allowed set, below the minimum or above the maximum, dates in the future, ``left <= right``
column pairs, ids missing from the referenced table and duplicate keys.
:func:`clean_table` applies them to one table where it lives;
:func:`imclab.warehouse.open_world` builds the engine world and its report from it.

The rules' bounds (:data:`MIN_DATE`, :data:`MAX_DATE`, :data:`TZ_PATTERN`) and their words
(:func:`describe`: the reason and the message template of every fault) live here once; the
file loader's SQL takes them from here, so a fault reads the same in every report.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

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


def _blank(col: ir.Value) -> ir.BooleanValue:
    if col.type().is_string():
        return col.isnull() | (col.strip() == "")
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
        low = col.strip().lower()
        return ibis.cases(
            (low == "true", True), (low == "false", False), else_=ibis.null("boolean")
        )
    return col.try_cast(target)


def _fault(col: ir.Value, rule, as_of: pd.Timestamp) -> tuple[ir.StringValue | None, list[str]]:
    """Return the first fault of a cell (NULL when fine) and the faults the rule can give.

    A blank cell is decided by the first branch (missing, or fine when the column is
    nullable), so the later checks see non-blank cells only and the blank test runs once.
    """
    blank = _blank(col)
    typed = _typed(col, rule.kind)
    cases: list[tuple[ir.BooleanValue, str | None]] = [
        (blank, None if rule.nullable else "missing required value")
    ]
    text = col.cast("string") if not col.type().is_string() else col
    if rule.max_length is not None:
        cases.append((text.length() > int(rule.max_length), "text too long"))
    not_parsed = typed.isnull()
    if rule.kind in ("int", "float"):
        # 'inf', 'nan' and integers beyond float precision are not numbers (as in the loader)
        finite = ~(typed.isnan() | typed.isinf())
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
            cases.append((~col.cast("string").strip().isin(values), "unknown value"))
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


def _row_faults(
    name: str, t: ir.Table, as_of: pd.Timestamp
) -> tuple[list, list[tuple[str, str, ir.BooleanValue]]]:
    """Every per-row rule of a table contract, as Ibis expressions over ``t``.

    Returns the rules and ``(column, rule label, expression)`` triples: per column one
    expression giving the cell's first fault (NULL when fine) and labelled ``None``, then the
    cross-column ``left <= right`` checks as boolean expressions. Used by
    :func:`clean_table`.
    """
    rules = _rules(name, t)
    out: list = []
    for rule in rules:
        fault, possible = _fault(t[rule.name], rule, as_of)
        if fault is not None:
            out.append((rule.name, tuple(possible), fault))
    kinds = {r.name: r.kind for r in rules}
    for left, right in cross_column_rules(SCHEMAS[name]):
        lv, rv = _typed(t[left], kinds[left]), _typed(t[right], kinds[right])
        out.append((left, (f"greater than {right}",), (lv > rv).fill_null(False)))
    return rules, out


def _key_text(col: ir.Value) -> ir.StringValue:
    """Ids compared across tables as text (CSV strings and typed Parquet ids alike)."""
    return col.cast("string")


_CAST = {"int": "int64", "float": "float64", "bool": "boolean", "date": "date"}

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
):
    """Apply table ``name``'s contract to ``t`` in its engine.

    The cell checks run once: the rows without a fault are typed and handed to ``store``
    (which computes and keeps them, e.g. a temporary table; by default they stay lazy). The
    id and key checks then read that stored table, and each runs a small query first so that
    a step that removes nothing costs no second copy: unknown ids by an anti-join, duplicate
    keys by a grouped count (the window that picks the first occurrence runs over the
    repeated keys only).

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

    Returns
    -------
    clean : ibis.expr.types.Table
        Typed columns (strings, ``float64``, ``int64``, ``boolean``, ``date``, ``timestamp``)
        holding only the rows that passed, then the file's extra columns.
    excluded : list
        ``("cells", rows)``: the rows refused by a cell check, each with ``_fault``, its
        first fault as ``"column|rule"`` (:func:`split_fault`); then ``((column, rule),
        rows)`` for the rows an id check or the duplicate-key check removed (only the steps
        that removed some). Each refused row appears once.
    passed_cells : int
        Rows that passed the cell checks (``rows read - refused by a cell check``).
    """
    rules, checks = _row_faults(name, t, as_of)
    # a row is excluded once, for its first fault: columns in contract order, then pairs;
    # each check is written once, labelled with its column, so it is evaluated once per row
    none = ibis.null("string")
    labelled = []
    for col, possible, expr in checks:
        if expr.type().is_boolean():
            labelled.append(ibis.ifelse(expr, f"{col}{FAULT_SEP}{possible[0]}", none))
        else:
            labelled.append(ibis.literal(f"{col}{FAULT_SEP}") + expr)
    fault = ibis.coalesce(*labelled, none) if labelled else none
    staged = t.mutate(_fault=fault)
    excluded: list = [("cells", staged.filter(staged._fault.notnull()))]
    kept = staged.filter(staged._fault.isnull())
    typed = {}
    for rule in rules:
        value = _typed(kept[rule.name], rule.kind)
        if rule.kind == "timestamp":
            value = value.cast("timestamp")
        elif rule.kind in _CAST:
            value = value.cast(_CAST[rule.kind])
        elif value.type().is_string():
            value = value.strip()
        typed[rule.name] = value
    extra = [c for c in t.columns if c not in typed]
    clean = store(kept.select(**typed, **{c: kept[c] for c in extra}))
    passed_cells = int(clean.count().execute())
    for rule in rules:  # ids must exist in the (clean) referenced table
        if not rule.references:
            continue
        ref_table, ref_col = rule.references.split(".")
        if ref_table not in refs:
            continue
        known = refs[ref_table].select(_ref=_key_text(refs[ref_table][ref_col])).distinct()
        missing = clean.anti_join(known, _key_text(clean[rule.name]) == known._ref)
        if _any_rows(missing):
            excluded.append(((rule.name, f"not in {rule.references}"), missing))
            clean = store(clean.semi_join(known, _key_text(clean[rule.name]) == known._ref))
    keys = key_columns(SCHEMAS[name])
    if keys and all(k in clean.columns for k in keys):
        repeated = clean.group_by(keys).agg(_c=ibis._.count()).filter(ibis._._c > 1).select(keys)
        if _any_rows(repeated):
            # the first occurrence in a deterministic order (every column, missing values
            # last), ranked among the rows of a repeated key only
            twins = clean.semi_join(repeated, keys)
            order = [e for c in twins.columns for e in (twins[c].isnull(), twins[c])]
            win = ibis.window(group_by=[twins[k] for k in keys], order_by=order)
            ranked = twins.mutate(_n=ibis.row_number().over(win))
            excluded.append((("+".join(keys), "duplicate key"), ranked.filter(ranked._n > 0)))
            first = ranked.filter(ranked._n == 0).drop("_n")
            clean = store(clean.anti_join(repeated, keys).union(first))
    return clean, excluded, passed_cells
