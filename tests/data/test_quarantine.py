"""Quarantine frame helpers: grouped fault messages, counts and the CSV written for the report."""

from __future__ import annotations

import pandas as pd

from imclab.data.quarantine import (
    QUARANTINE_COLUMNS,
    faults_message,
    format_faults,
    write_quarantine,
)


def faults(rows, column="timestamp", reason="r", values=None, file="touchpoints.csv"):
    values = values or ["v"] * len(rows)
    return pd.DataFrame(
        {"file": file, "row": rows, "column": column, "value": values, "reason": reason}
    )


def test_message_for_one_row_and_for_many_rows():
    one = faults([17]).assign(template="cannot parse {values} as a timestamp")
    assert format_faults(one) == [
        "touchpoints.csv: column 'timestamp' row 17: cannot parse 'v' as a timestamp"
    ]
    # values: the most frequent first, then by text (the order an engine computes too)
    values = ["x9", "x3", "x9", "x7", "x3", "x9", "x1", "x2", "x4", "x5", "x6", "x8"]
    many = faults(list(range(12, 0, -1)), values=values)
    many["template"] = "bad {values}"
    assert format_faults(many) == [
        "touchpoints.csv: column 'timestamp' rows 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, ... (12 rows): "
        "bad 'x9', 'x3', 'x1' and 6 other values"
    ]


def test_messages_group_by_file_column_reason_in_table_then_column_order():
    """Files in report order, columns in data-dictionary order, then reasons: an order a
    warehouse table (without row numbers) gives as well."""
    frame = pd.concat(
        [
            faults([5], column="cost", reason="negative"),
            faults([2, 9], column="channel", reason="unknown"),
            faults([1], column="cost", reason="cannot parse"),
            faults([3], column="", reason="malformed", file="spend.csv"),
        ]
    )
    messages = format_faults(frame)  # no template: values follow the reason
    assert messages == [
        "touchpoints.csv: column 'channel' rows 2, 9 (2 rows): unknown (values 'v')",
        "touchpoints.csv: column 'cost' row 1: cannot parse (values 'v')",
        "touchpoints.csv: column 'cost' row 5: negative (values 'v')",
        "spend.csv: row 3: malformed (values 'v')",
    ]
    tables = {"spend.csv": "spend", "touchpoints.csv": "touchpoints"}
    assert format_faults(frame, tables)[0].startswith("spend.csv: row 3")


def test_long_values_and_newlines_are_shortened():
    frame = faults([1], values=["a\nb" + "x" * 80]).assign(template="{values}")
    (message,) = format_faults(frame)
    assert message.endswith("'a\\nb" + "x" * 34 + "...'")


def test_strict_message_header_and_limit():
    frame = pd.concat([faults([i], column=f"c{i}") for i in range(1, 5)])
    text = faults_message(frame, "data/world", limit=2)
    assert text.splitlines() == [
        "data/world: 4 faults in 4 rows (strict=True; load with strict=False to quarantine "
        "these rows and keep the rest):",
        "  touchpoints.csv: column 'c1' row 1: r (values 'v')",
        "  touchpoints.csv: column 'c2' row 2: r (values 'v')",
        "  ... and 2 more fault messages",
    ]


def test_write_quarantine_to_a_file_or_a_folder(tmp_path):
    frame = faults([3, 4]).assign(template="t")
    target = write_quarantine(frame, tmp_path / "reports" / "spring_launch")
    assert target == tmp_path / "reports" / "spring_launch" / "quarantine.csv"
    written = pd.read_csv(target)
    assert list(written.columns) == QUARANTINE_COLUMNS
    assert written["row"].tolist() == [3, 4]
    explicit = write_quarantine(frame.iloc[0:0], tmp_path / "q.csv")
    assert explicit.read_text().strip() == ",".join(QUARANTINE_COLUMNS)


def test_write_quarantine_from_a_world(make_world, tmp_path):
    from imclab.data.load import load_world

    folder = make_world()
    text = (folder / "spend.csv").read_text() + "2025-03-09,social,x,-1,1,1\n"
    (folder / "spend.csv").write_text(text)
    world = load_world(folder, as_of="2025-07-01")
    written = pd.read_csv(write_quarantine(world, tmp_path / "out"))
    assert written.to_dict("records") == [
        {
            "file": "spend.csv",
            "row": 4,
            "column": "spend",
            "value": -1,
            "reason": "negative value (expected >= 0)",
        }
    ]
