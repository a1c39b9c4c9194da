"""Tables as a reader sees them: percent, currency and thousands, text left, "–" for missing.

Every notebook shows its tables through :func:`present`. The result prints as plain aligned
text (what nbval compares and a terminal shows) and renders in JupyterLab and the HTML report
as a table without the meaningless pandas index, text columns left-aligned and numbers
right-aligned, with the formats applied.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd

__all__ = ["MISSING", "Table", "facts", "format_value", "present"]

MISSING = "–"
"""What a missing value reads as."""

_FORMATS = ("percent", "currency", "count", "number", "ratio", "text")


def format_value(value: Any, kind: str, currency: str = "", digits: int = 2) -> str:
    """Format one value: ``12.3 %``, ``1,234.50 EUR``, ``12,345``, ``2.35×``, ``–``.

    Parameters
    ----------
    value
        A number, text, date or missing value.
    kind
        ``percent`` (a share 0..1), ``currency``, ``count``, ``number``, ``ratio`` or
        ``text``.
    currency
        Currency code appended to ``currency`` values.
    digits
        Decimals of ``number``, ``currency`` and ``ratio`` (``percent`` shows one).

    Returns
    -------
    str
        The text; never ``nan`` or ``-0``.
    """
    if value is None or value is pd.NaT:
        return MISSING
    if isinstance(value, float) and math.isnan(value):
        return MISSING
    if isinstance(value, pd.Timestamp):
        return value.strftime("%Y-%m-%d") if value == value.normalize() else str(value)
    if isinstance(value, Mapping):
        parts = (f"{k}: {format_value(v, kind, currency, digits)}" for k, v in value.items())
        return "; ".join(parts)
    if isinstance(value, (list, tuple)):
        return ", ".join(format_value(v, kind, currency, digits) for v in value)
    if isinstance(value, bool) or kind == "text" or not isinstance(value, (int, float)):
        try:
            if pd.isna(value):
                return MISSING
        except (TypeError, ValueError):
            pass
        return "yes" if value is True else "no" if value is False else str(value)
    number = float(value)
    if math.isinf(number):
        return "∞" if number > 0 else "-∞"
    if kind == "percent":
        text = f"{number * 100:,.1f} %"
    elif kind == "currency":
        text = f"{number:,.{digits}f} {currency}".rstrip()
    elif kind == "count":
        text = f"{number:,.0f}"
    elif kind == "ratio":
        text = f"{number:,.{digits}f}×"
    else:
        text = f"{number:,.{digits}f}" if abs(number) < 1e15 else f"{number:.3g}"
    return text[1:] if text.startswith("-") and not any(c in "123456789" for c in text) else text


@dataclass(frozen=True)
class Table:
    """A formatted table: plain text in ``repr``, a styled HTML table in notebooks.

    Attributes
    ----------
    text
        The formatted cells (strings), columns renamed to their labels.
    numeric
        The labels of the columns that hold numbers (right-aligned).
    caption
        Optional caption shown above the HTML table.
    """

    text: pd.DataFrame
    numeric: tuple[str, ...]
    caption: str = ""

    def __repr__(self) -> str:
        if self.text.empty:
            return f"{self.caption}\n(no rows)" if self.caption else "(no rows)"
        body = self.text.to_string(index=False, justify="left")
        return f"{self.caption}\n{body}" if self.caption else body

    def _repr_html_(self) -> str:
        # A stable table id (the content's hash, not a random one): the committed outputs
        # that nbval compares stay identical from run to run.
        digest = hashlib.sha1(self.text.to_csv().encode("utf-8")).hexdigest()[:10]
        styler = self.text.style.set_uuid(digest).hide(axis="index")
        text_cols = [c for c in self.text.columns if c not in self.numeric]
        if text_cols:
            styler = styler.set_properties(subset=text_cols, **{"text-align": "left"})
        if self.numeric:
            styler = styler.set_properties(
                subset=list(self.numeric),
                **{"text-align": "right", "font-variant-numeric": "tabular-nums"},
            )
        styler = styler.set_table_styles([{"selector": "th", "props": "text-align: left;"}])
        if self.caption:
            styler = styler.set_caption(self.caption)
        return styler.to_html()

    def __len__(self) -> int:
        return len(self.text)


def present(
    frame: pd.DataFrame | pd.Series,
    *,
    percent: Iterable[str] | str = (),
    currency: Iterable[str] = (),
    count: Iterable[str] = (),
    ratio: Iterable[str] = (),
    currency_code: str = "",
    digits: int = 2,
    labels: Mapping[str, str] | None = None,
    index: bool | None = None,
    caption: str = "",
) -> Table:
    """Format a result table for reading.

    Parameters
    ----------
    frame
        The table (a Series becomes one row per entry).
    percent, currency, count, ratio
        Columns holding shares (0..1), money, whole counts and ratios. Other numeric columns
        show ``digits`` decimals (integers with thousands separators); text stays as is.
        ``percent`` may also be a regular expression matched against the column names
        (``r"share|rate"``).
    currency_code
        Appended to currency values (the plan's ``currency``).
    digits
        Decimals of other numbers, currency and ratios.
    labels
        ``{column: label}`` to rename columns for the reader.
    index
        Keep the index as the first column(s): default unless it is the plain row count
        ``0, 1, 2 ...`` (which means nothing to a reader).
    caption
        Shown above the table.

    Returns
    -------
    Table
        Prints as aligned text; renders as an HTML table in notebooks and reports.

    Raises
    ------
    KeyError
        A column named in ``percent``, ``currency``, ``count`` or ``ratio`` is not in the
        table (a typo would otherwise silently leave it unformatted).
    """
    series = isinstance(frame, pd.Series)
    data = frame.to_frame() if series else frame
    if series and index is None:
        index = True  # a Series' labels are its meaning
    if index is None:  # an index of labels means something; 0, 1, 2 ... does not
        plain = isinstance(data.index, pd.RangeIndex) and data.index.name is None
        index = not plain
    keep_index = index
    if keep_index:
        data = data.reset_index()
    kinds: dict[str, str] = {}
    if isinstance(percent, str):
        pattern = re.compile(percent)
        percent = [
            c for c in data.columns
            if pattern.search(str(c)) and pd.api.types.is_numeric_dtype(data[c])
        ]  # fmt: skip
    for kind, columns in (
        ("percent", percent),
        ("currency", currency),
        ("count", count),
        ("ratio", ratio),
    ):
        for column in columns:
            if column not in data.columns:
                raise KeyError(f"present(): no column {column!r}; columns: {list(data.columns)}")
            kinds[column] = kind
    out = {}
    numeric = []
    for column in data.columns:
        series = data[column]
        kind = kinds.get(column)
        if kind is None:
            if pd.api.types.is_bool_dtype(series) or not pd.api.types.is_numeric_dtype(series):
                kind = "text"
            elif pd.api.types.is_integer_dtype(series):
                kind = "count"
            else:
                kind = "number"
        label = str((labels or {}).get(column, column))
        if kind != "text":
            numeric.append(label)
        out[label] = [format_value(v, kind, currency_code, digits) for v in series.tolist()]
    text = pd.DataFrame(out, columns=list(out))
    return Table(text=text, numeric=tuple(numeric), caption=caption)


def facts(values: Mapping[str, Any], caption: str = "") -> Table:
    """Show a mapping (a notebook's settings or headline numbers) as a two-column table.

    Nested mappings read ``key: value; key: value``, lists ``a, b``, missing values ``–``;
    numbers keep thousands separators. Never a raw Python ``{'key': ...}``.

    Parameters
    ----------
    values
        Label to value.
    caption
        Shown above the table.

    Returns
    -------
    Table
        Columns ``what`` and ``value``.
    """

    def text(value: Any) -> str:
        if isinstance(value, Mapping):
            return "; ".join(f"{k}: {text(v)}" for k, v in value.items()) or MISSING
        if isinstance(value, (list, tuple)):
            return ", ".join(text(v) for v in value) if value else "none"
        if isinstance(value, float) and not isinstance(value, bool):
            return format_value(value, "number", digits=4 if abs(value) < 10 else 2)
        if isinstance(value, int) and not isinstance(value, bool):
            return format_value(value, "count")
        return format_value(value, "text")

    frame = pd.DataFrame(
        {"what": [str(k) for k in values], "value": [text(v) for v in values.values()]}
    )
    return Table(text=frame, numeric=(), caption=caption)
