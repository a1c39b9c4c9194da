"""Guess how an export is written (delimiter, encoding, decimal comma, date format).

``imclab validate`` compares the guess of each CSV file with what the plan's ``columns:``
section says (comma-separated ISO UTF-8 when it says nothing) and proposes the exact lines to
add: ``touchpoints.csv looks semicolon-delimited with decimal commas: add delimiter: ';' and
decimal: ',' under columns.touchpoints in the plan``.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from imclab.data.schemas import SCHEMAS, column_rules

__all__ = ["FileFormat", "format_advice", "sniff_format"]

_SAMPLE_BYTES = 1 << 20  # enough rows to see the accents and the number formats of an export
_DELIMITERS = (",", ";", "\t", "|")
_DELIMITER_WORDS = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}
_DELIMITER_YAML = {",": "','", ";": "';'", "\t": "'\\t'", "|": "'|'"}
_DECIMAL_COMMA = re.compile(r"^-?\d{1,3}(?:\.\d{3})*,\d+$|^-?\d+,\d+$")
_DECIMAL_POINT = re.compile(r"^-?\d+\.\d+$")
_SLASH_DATE = re.compile(
    r"^(\d{1,2})([/.-])(\d{1,2})\2(\d{4})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2}))?)?$"
)


@dataclass(frozen=True)
class FileFormat:
    """How a CSV file is written.

    Attributes
    ----------
    delimiter
        The field separator.
    encoding
        ``utf-8`` (with or without BOM), ``utf-16``, or the likely legacy encoding
        (``cp1252``) of a file that is not UTF-8.
    decimal
        ``","`` when the numeric columns use decimal commas, else ``"."``.
    date_format
        A strftime pattern of the date/timestamp columns when they are not ISO 8601
        (``"%d/%m/%Y %H:%M"``), else None.
    """

    delimiter: str = ","
    encoding: str = "utf-8"
    decimal: str = "."
    date_format: str | None = None


def _decode(raw: bytes) -> tuple[str, str]:
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        return raw.decode("utf-16", errors="replace"), "utf-16"
    try:
        return raw.decode("utf-8-sig"), "utf-8"
    except UnicodeDecodeError as exc:
        if exc.start >= len(raw) - 3:  # the sample cut a multi-byte character in two
            return raw[: exc.start].decode("utf-8-sig"), "utf-8"
    # Not UTF-8: the Windows code page of Western-European Excel reads every byte.
    return raw.decode("cp1252", errors="replace"), "cp1252"


def _delimiter(header: str) -> str:
    counts = {d: header.count(d) for d in _DELIMITERS}
    best = max(_DELIMITERS, key=lambda d: (counts[d], d == ","))
    return best if counts[best] else ","


def _date_format(values: list[str]) -> str | None:
    matches = [_SLASH_DATE.match(v) for v in values]
    if not values or not all(matches):
        return None
    firsts = [int(m.group(1)) for m in matches if m]
    seconds = [int(m.group(3)) for m in matches if m]
    sep = matches[0].group(2) if matches[0] else "/"
    month_first = max(seconds) > 12 and max(firsts) <= 12
    date = f"%m{sep}%d{sep}%Y" if month_first else f"%d{sep}%m{sep}%Y"
    timed = [m for m in matches if m and m.group(5)]
    if not timed:
        return date
    return date + (" %H:%M:%S" if timed[0].group(7) else " %H:%M")


def sniff_format(path: str | Path, columns: dict[str, str] | None = None) -> FileFormat:
    """Guess the delimiter, encoding, decimal mark and date format of a CSV file.

    Parameters
    ----------
    path
        The CSV file (its first megabyte is read).
    columns
        ``{file column: kind}`` of the columns whose values to look at (kinds as in
        :class:`imclab.data.schemas.ColumnRule`: ``int``/``float`` for the decimal mark,
        ``date``/``timestamp`` for the date format); default: none.

    Returns
    -------
    FileFormat
        The guess (comma-separated ISO UTF-8 when nothing says otherwise).
    """
    with Path(path).open("rb") as handle:
        raw = handle.read(_SAMPLE_BYTES)
    text, encoding = _decode(raw)
    lines = text.splitlines()
    if not lines:
        return FileFormat(encoding=encoding)
    delimiter = _delimiter(lines[0])
    if len(raw) == _SAMPLE_BYTES and len(lines) > 1:
        lines = lines[:-1]  # the last line of the sample may be cut
    rows = list(csv.reader(io.StringIO("\n".join(lines)), delimiter=delimiter))
    header = [h.strip() for h in rows[0]] if rows else []
    decimal, date_format = ".", None
    for name, kind in (columns or {}).items():
        if name not in header:
            continue
        i = header.index(name)
        values = [r[i].strip() for r in rows[1:] if len(r) > i and r[i].strip()]
        if kind in ("int", "float") and values:
            commas = sum(bool(_DECIMAL_COMMA.match(v)) for v in values)
            points = sum(bool(_DECIMAL_POINT.match(v)) for v in values)
            if commas > points and delimiter != ",":
                decimal = ","
        elif kind in ("date", "timestamp") and date_format is None:
            date_format = _date_format(values[:1000])
    return FileFormat(delimiter, encoding, decimal, date_format)


def format_advice(path: str | Path, table: str, spec: Any = None) -> str | None:
    """Say, with the exact plan lines, how ``path`` is written if the plan does not say so.

    Parameters
    ----------
    path
        A CSV file of the data folder.
    table
        The data-dictionary table the file holds.
    spec
        The plan's ``columns.<table>`` (a :class:`imclab.plan.TableColumns`) or None.

    Returns
    -------
    str or None
        One sentence, e.g. ``"touchpoints.csv looks semicolon-delimited with decimal commas:
        add delimiter: ';' and decimal: ',' under columns.touchpoints in the plan"``; None
        when the file reads as the plan says.
    """
    from imclab.plan import resolve_delimiter

    path = Path(path)
    if path.suffix != ".csv":
        return None
    rename = dict(spec.rename) if spec is not None else {}
    kinds = {rename.get(r.name, r.name): r.kind for r in column_rules(SCHEMAS[table])}
    if spec is not None:  # a transform already says how these columns are written
        for column in spec.transforms:
            kinds.pop(rename.get(column, column), None)
    found = sniff_format(path, kinds)
    said = FileFormat(
        resolve_delimiter(getattr(spec, "delimiter", None)),
        "utf-8" if getattr(spec, "encoding", None) is None else spec.encoding,
        getattr(spec, "decimal", None) or ".",
        getattr(spec, "date_format", None),
    )
    looks: list[str] = []
    add: list[str] = []
    if found.delimiter != said.delimiter:
        looks.append(f"{_DELIMITER_WORDS[found.delimiter]}-delimited")
        add.append(f"delimiter: {_DELIMITER_YAML[found.delimiter]}")
    if found.encoding == "cp1252" and said.encoding.lower().replace("_", "-") in (
        "utf-8",
        "utf8",
    ):
        looks.append("not UTF-8 (likely Windows-1252 / Latin-1 from Excel)")
        add.append("encoding: cp1252")
    if found.decimal != said.decimal:
        looks.append("written with decimal commas")
        add.append("decimal: ','")
    if found.date_format and not said.date_format:
        looks.append(f"dated {found.date_format.replace('%', '')} rather than ISO 8601")
        add.append(f"date_format: '{found.date_format}'")
    if not looks:
        return None
    return (
        f"{path.name} looks {' and '.join(looks)}: add {' and '.join(add)} under "
        f"columns.{table} in the plan (the other columns: settings still apply)"
    )
