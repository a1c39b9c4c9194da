from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from imclab.report.tables import MISSING, facts, format_value, present


def test_values_read_in_their_unit():
    assert format_value(0.1234, "percent") == "12.3 %"
    assert format_value(1234.5, "currency", "EUR") == "1,234.50 EUR"
    assert format_value(12345.0, "count") == "12,345"
    assert format_value(2.345, "ratio") == "2.35×"  # half to even is fine: 2.345 -> 2.35
    assert format_value(np.nan, "number") == MISSING
    assert format_value(None, "text") == MISSING
    assert format_value(pd.NaT, "text") == MISSING
    assert format_value(-0.0001, "percent") == "0.0 %"  # never "-0.0 %"
    assert format_value(-0.004, "currency", "EUR") == "0.00 EUR"
    assert format_value(-0.5, "number") == "-0.50"
    assert format_value(pd.Timestamp("2025-03-03"), "text") == "2025-03-03"
    assert format_value(True, "text") == "yes"


def test_present_formats_columns_hides_a_meaningless_index_and_keeps_a_named_one():
    frame = pd.DataFrame(
        {"channel": ["social", "tv"], "share": [0.25, np.nan], "spend": [1500.0, 20000.0],
         "orders": [1200, 35], "roas": [3.456, 0.8]}
    )  # fmt: skip
    table = present(
        frame, percent=["share"], currency=["spend"], ratio=["roas"], currency_code="EUR"
    )
    assert table.text.to_dict("list") == {
        "channel": ["social", "tv"],
        "share": ["25.0 %", MISSING],
        "spend": ["1,500.00 EUR", "20,000.00 EUR"],
        "orders": ["1,200", "35"],
        "roas": ["3.46×", "0.80×"],
    }
    assert table.numeric == ("share", "spend", "orders", "roas")
    text = repr(table)
    assert "NaN" not in text and "nan" not in text
    assert text.splitlines()[0].split()[0] == "channel"  # no index column
    named = present(frame.set_index("channel"), percent=["share"])
    assert list(named.text.columns)[0] == "channel"


def test_html_aligns_text_left_numbers_right_without_index():
    table = present(pd.DataFrame({"name": ["a"], "n": [1]}), labels={"n": "customers"})
    html = table._repr_html_()
    assert "customers" in html and ">a<" in html
    assert "text-align: left" in html and "text-align: right" in html
    assert "row_heading" not in html  # the index is hidden


def test_a_misspelt_format_column_is_an_error():
    with pytest.raises(KeyError, match="no column 'shares'"):
        present(pd.DataFrame({"share": [0.1]}), percent=["shares"])


def test_percent_columns_can_be_named_by_a_pattern():
    frame = pd.DataFrame({"channel": ["tv"], "reach_share": [0.5], "conv_rate": [0.25],
                          "reach": [10]})  # fmt: skip
    table = present(frame, percent=r"share|rate")
    assert table.text.iloc[0].tolist() == ["tv", "50.0 %", "25.0 %", "10"]


def test_facts_never_shows_a_python_dict():
    table = facts({"rows_read": 125326, "by_table": {"touchpoints": 6, "spend": 1},
                   "missing": [], "share": 0.12345, "lift": None, "ok": True})  # fmt: skip
    assert table.text["value"].tolist() == [
        "125,326", "touchpoints: 6; spend: 1", "none", "0.1235", MISSING, "yes"
    ]  # fmt: skip
    assert "{'" not in repr(table)


def test_html_is_the_same_on_every_run():
    frame = pd.DataFrame({"name": ["a", "b"], "n": [1, 2]})
    assert present(frame)._repr_html_() == present(frame.copy())._repr_html_()


def test_cells_holding_mappings_or_lists_read_as_text():
    frame = pd.DataFrame({"phase": ["teaser"], "channels": [["social", "tv"]],
                          "budget": [{"social": 3755.4, "tv": 3871.0}]})  # fmt: skip
    row = present(frame).text.iloc[0].tolist()
    assert row == ["teaser", "social, tv", "social: 3755.4; tv: 3871.0"]


def test_a_series_keeps_its_labels():
    table = present(pd.Series({"total_budget": 60000.0, "gain": 12.5}), digits=1)
    assert table.text.values.tolist() == [["total_budget", "60,000.0"], ["gain", "12.5"]]
