"""Journey building: windows, null journeys, no-touch conversions, bad input, order independence."""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd
import pytest

from imclab.attribution import NO_TOUCH, build_journeys, path_length_distribution, top_paths
from imclab.errors import DataError, ParameterError

T0 = pd.Timestamp("2025-03-01")


def _tp(rows):
    """rows: (customer, day offset, channel[, interaction])."""
    out = []
    for i, r in enumerate(rows):
        cust, day, ch = r[:3]
        inter = r[3] if len(r) > 3 else "click"
        out.append((f"E{i:04d}", cust, T0 + pd.Timedelta(days=day), ch, "always_on", inter, 0.0))
    return pd.DataFrame(
        out,
        columns=[
            "event_id",
            "customer_id",
            "timestamp",
            "channel",
            "campaign",
            "interaction",
            "cost",
        ],
    )


def _cv(rows):
    """rows: (customer, day offset, revenue)."""
    out = [
        (f"O{i:04d}", c, T0 + pd.Timedelta(days=d), float(v)) for i, (c, d, v) in enumerate(rows)
    ]
    return pd.DataFrame(out, columns=["order_id", "customer_id", "timestamp", "revenue"])


def _paths(j):
    return j.paths.set_index("path")[["conversions", "nulls", "value"]]


def test_touch_after_conversion_goes_to_next_journey_or_null():
    tp = _tp([("C1", 0, "seo"), ("C1", 2, "social"), ("C1", 5, "edm"), ("C1", 8, "display"),
              ("C2", 1, "tv")])  # fmt: skip
    cv = _cv([("C1", 3, 50), ("C1", 6, 20)])
    p = _paths(build_journeys(None, tp, cv))
    # edm (day 5) credits only the 2nd order; display (day 8) is after the last one: null.
    assert p.loc["seo > social", "conversions"] == 1
    assert p.loc["seo > social", "value"] == 50
    assert p.loc["edm", "conversions"] == 1
    assert p.loc["edm", "value"] == 20
    assert p.loc["display", "nulls"] == 1 and p.loc["display", "conversions"] == 0
    assert p.loc["tv", "nulls"] == 1
    assert p["conversions"].sum() == 2


def test_touch_at_the_order_timestamp_counts_for_that_order():
    tp = _tp([("C1", 3, "direct")])
    cv = _cv([("C1", 3, 10)])
    p = _paths(build_journeys(None, tp, cv))
    assert list(p.index) == ["direct"] and p.loc["direct", "conversions"] == 1


def test_lookback_window_and_no_touch_conversions_are_counted_not_dropped():
    tp = _tp([("C1", 0, "seo"), ("C1", 35, "social"), ("C2", 0, "tv")])
    cv = _cv([("C1", 40, 30), ("C2", 45, 12), ("C3", 2, 7)])
    j = build_journeys(None, tp, cv, lookback_days=30)
    p = _paths(j)
    assert p.loc["social", "conversions"] == 1  # seo is 40 days old: outside
    assert p.loc[NO_TOUCH, "conversions"] == 2  # C2 (tv too old) and C3 (never touched)
    assert p.loc[NO_TOUCH, "value"] == 19
    assert j.count("touches before their conversion's lookback window") == 2
    assert j.count("conversions with no touch in the window") == 2
    assert j.count("conversions counted") == 3


def test_null_journey_keeps_lookback_before_its_last_touch():
    tp = _tp([("C1", 0, "seo"), ("C1", 40, "social"), ("C1", 45, "edm")])
    j = build_journeys(None, tp, _cv([]), lookback_days=30)
    p = _paths(j)
    assert list(p.index) == ["social > edm"] and p.loc["social > edm", "nulls"] == 1
    assert j.count("touches of non-converting journeys outside the lookback window") == 1


def test_collapse_repeats_and_report():
    tp = _tp([("C1", 0, "social"), ("C1", 1, "social"), ("C1", 2, "seo"), ("C1", 3, "social")])
    cv = _cv([("C1", 4, 10)])
    assert _paths(build_journeys(None, tp, cv)).index[0] == "social > social > seo > social"
    j = build_journeys(None, tp, cv, collapse_repeats=True)
    assert list(_paths(j).index) == ["social > seo > social"]
    assert j.count("repeated touches collapsed") == 1


def test_interactions_filter_and_channel_groups():
    tp = _tp([("C1", 0, "display", "impression"), ("C1", 1, "paid_search"), ("C1", 2, "seo")])
    cv = _cv([("C1", 3, 10)])
    j = build_journeys(None, tp, cv, interactions=("click",),
                       channel_groups={"paid_search": "search", "seo": "search"})  # fmt: skip
    assert list(_paths(j).index) == ["search > search"]
    assert j.count("touches of interactions not counted") == 1


def test_unknown_channel_is_an_error_naming_it_unless_grouped():
    tp = _tp([("C1", 0, "tiktok"), ("C1", 1, "tiktok"), ("C1", 1, "seo")])
    cv = _cv([("C1", 3, 10)])
    with pytest.raises(DataError, match=r"'tiktok' \(2 rows\)"):
        build_journeys(None, tp, cv)
    j = build_journeys(None, tp, cv, channel_groups={"tiktok": "social"},
                       channels=["seo", "social", "tiktok"])  # fmt: skip
    assert list(_paths(j).index) == ["social > social > seo"]


def test_negative_revenue_is_an_error_naming_the_orders():
    cv = _cv([("C1", 1, 10), ("C1", 2, -5), ("C2", 2, -1)])
    with pytest.raises(DataError, match=r"2 order\(s\): O0001, O0002"):
        build_journeys(None, _tp([("C1", 0, "seo")]), cv)


def test_bad_parameters():
    tp, cv = _tp([("C1", 0, "seo")]), _cv([("C1", 1, 1)])
    with pytest.raises(ParameterError, match="lookback_days"):
        build_journeys(None, tp, cv, lookback_days=0)
    with pytest.raises(ParameterError, match="unknown: swipe"):
        build_journeys(None, tp, cv, interactions=("click", "swipe"))
    with pytest.raises(DataError, match="missing column"):
        build_journeys(None, tp.drop(columns="channel"), cv)


def test_end_of_data_excludes_and_counts_late_touches_and_orders():
    tp = _tp([("C1", 0, "seo"), ("C1", 20, "edm")])
    cv = _cv([("C1", 1, 5), ("C1", 21, 9)])
    j = build_journeys(None, tp, cv, end="2025-03-10")
    assert j.count("touches after the end of data") == 1
    assert j.count("conversions outside the period") == 1
    assert _paths(j)["conversions"].sum() == 1


def test_time_decay_weights_follow_the_half_life():
    tp = _tp([("C1", 0, "seo"), ("C1", 7, "social")])
    cv = _cv([("C1", 7, 30)])
    p = build_journeys(None, tp, cv, half_life_days=7).paths.set_index("path")
    np.testing.assert_allclose(p.loc["seo > social", "decay"], [1 / 3, 2 / 3])
    np.testing.assert_allclose(p.loc["seo > social", "decay_value"], [10, 20])


def test_rows_out_of_order_give_identical_results(small_world):
    tp = pd.read_csv(small_world / "touchpoints.csv", parse_dates=["timestamp"])
    cv = pd.read_csv(small_world / "conversions.csv", parse_dates=["timestamp"])
    a = build_journeys(None, tp, cv, collapse_repeats=True)
    shuffled = tp.sample(frac=1.0, random_state=3), cv.sample(frac=1.0, random_state=4)
    b = build_journeys(None, *shuffled, collapse_repeats=True)
    pd.testing.assert_frame_equal(a.paths, b.paths)
    pd.testing.assert_frame_equal(a.report, b.report)
    # Nothing lost: every conversion is in a path (possibly "(no touch)").
    assert a.paths["conversions"].sum() == len(cv)
    assert a.count("touches used") + a.count("repeated touches collapsed") + sum(
        a.count(k) for k in ("touches before their conversion's lookback window",
                             "touches of non-converting journeys outside the lookback window")
    ) == len(tp)  # fmt: skip


def test_duckdb_connection_with_table_names_and_segments():
    con = duckdb.connect()
    tp = _tp([("C1", 0, "seo"), ("C2", 0, "tv")])
    cv = _cv([("C1", 1, 10)])
    con.register("tp_view", tp)
    con.register("cv_view", cv)
    seg = pd.DataFrame({"customer_id": ["C1"], "segment": ["busy"]})
    j = build_journeys(con, "tp_view", "cv_view", segments=seg)
    got = j.paths.set_index(["segment", "path"])
    assert got.loc[("busy", "seo"), "conversions"] == 1
    assert got.loc[("(unknown)", "tv"), "nulls"] == 1
    with pytest.raises(DataError, match="table 'nope' not found"):
        build_journeys(con, "nope", "cv_view")


def test_top_paths_and_length_distribution():
    tp = _tp([("C1", 0, "seo"), ("C2", 0, "seo"), ("C2", 1, "tv"), ("C3", 0, "seo")])
    cv = _cv([("C1", 1, 10), ("C2", 2, 10), ("C4", 1, 5)])
    paths = build_journeys(None, tp, cv).paths
    top = top_paths(paths, n=2)
    assert list(top["path"]) == [NO_TOUCH, "seo"]
    assert top.loc[1, "conversion_rate"] == 0.5
    dist = path_length_distribution(paths).set_index("length")
    assert dist.loc[1, "conversions"] == 1 and dist.loc[1, "nulls"] == 1
    assert dist.loc[0, "conversions"] == 1 and dist.loc[2, "conversions"] == 1


def test_raw_sample_files_fail_on_their_planted_faults(sample_dir):
    # The sample's raw CSVs carry documented broken rows (truth/faults.csv); read without the
    # loader's quarantine, the journey builder names them instead of crediting them.
    tp = pd.read_csv(sample_dir / "touchpoints.csv")
    tp["timestamp"] = pd.to_datetime(tp["timestamp"], errors="coerce")
    cv = pd.read_csv(sample_dir / "conversions.csv", parse_dates=["timestamp"])
    with pytest.raises(DataError, match=r"unknown channel\(s\) 'tiktok' \(1 rows\)"):
        build_journeys(None, tp, cv)
    ok_tp = tp[tp["channel"] != "tiktok"]
    with pytest.raises(DataError, match=r"negative for 1 order\(s\): O90000002"):
        build_journeys(None, ok_tp, cv)
    j = build_journeys(None, ok_tp, cv[cv["revenue"] >= 0])
    assert j.count("touches without timestamp or customer") == 2  # the two unparseable dates


def test_heuristics_share_the_touch_table_but_see_changed_paths():
    from imclab.attribution import first_touch, linear

    tp = _tp([("C1", 0, "seo"), ("C1", 1, "tv"), ("C2", 0, "tv")])
    cv = _cv([("C1", 2, 10), ("C2", 1, 4)])
    paths = build_journeys(None, tp, cv).paths
    a = first_touch(paths).set_index("channel")["conversions"]
    assert a["seo"] == 1 and a["tv"] == 1
    # same object, changed in place: the shared touch table must not be reused stale
    paths.loc[paths["path"] == "tv", "conversions"] = 3
    b = linear(paths).set_index("channel")["conversions"]
    assert b["tv"] == pytest.approx(3.5) and b["seo"] == pytest.approx(0.5)


def test_timestamps_as_strings_count_their_missing_rows_like_typed_ones():
    # Parquet files often hold timestamps as text: a NULL string is a touch (or an order)
    # without timestamp, exactly as a NULL timestamp is; the paths are the typed input's.
    tp = _tp([("C1", 0, "seo"), ("C1", 1, "tv"), ("C2", 0, "edm"), ("C2", 1, "social")])
    cv = _cv([("C1", 2, 10), ("C2", 2, 5), ("C3", 1, 7)])
    tp.loc[2, "timestamp"] = pd.NaT
    cv.loc[2, "timestamp"] = pd.NaT
    typed = build_journeys(None, tp, cv)
    con = duckdb.connect()
    for name, frame in (("tp", tp), ("cv", cv)):
        con.register(f"{name}_df", frame)
        con.execute(
            f'CREATE TABLE {name} AS SELECT * REPLACE (strftime("timestamp", \'%Y-%m-%d '
            f'%H:%M:%S\') AS "timestamp") FROM {name}_df'
        )
    assert con.execute('SELECT typeof("timestamp") FROM tp LIMIT 1').fetchone()[0] == "VARCHAR"
    j = build_journeys(con, "tp", "cv")
    assert j.count("touches without timestamp or customer") == 1
    assert j.count("conversions without timestamp or customer") == 1
    pd.testing.assert_frame_equal(j.paths, typed.paths)
    pd.testing.assert_frame_equal(j.report, typed.report)
    assert _paths(j).loc["social", "value"] == 5
