"""Journey flow and the plan's funnel on a hand-made log and on a simulated world."""

from __future__ import annotations

import pandas as pd
import pytest

from imclab.data import load_world
from imclab.errors import PlanError
from imclab.integration.flow import NO_ORDER, ORDERED, journey_flow, plan_funnel
from imclab.plan import DEFAULT_FUNNEL, FunnelStep, load_plan

from .conftest import ANALYSED, INTERACTIONS, WINDOW

T = pd.Timestamp


def _log():
    touches = pd.DataFrame(
        [
            ("E1", "A", T("2025-03-01 10:00"), "social", "impression"),
            ("E2", "A", T("2025-03-02 10:00"), "social", "click"),
            ("E3", "A", T("2025-03-03 10:00"), "edm", "open"),
            ("E4", "B", T("2025-03-01 09:00"), "edm", "click"),
            ("E5", "B", T("2025-03-05 09:00"), "seo", "visit"),
            ("E6", "C", T("2025-03-04 09:00"), "tv", "impression"),
            ("E7", "D", T("2025-02-01 09:00"), "tv", "impression"),  # before the window
        ],
        columns=["event_id", "customer_id", "timestamp", "channel", "interaction"],
    )
    orders = pd.DataFrame(
        [
            ("O1", "A", T("2025-03-04 12:00")),
            ("O2", "B", T("2025-03-02 12:00")),  # before B's visit
            ("O3", "B", T("2025-03-06 12:00")),
            ("O4", "C", T("2025-03-01 12:00")),  # before C's first touch
        ],
        columns=["order_id", "customer_id", "timestamp"],
    )
    return touches, orders


def test_flow_links_consecutive_channels_and_outcomes():
    touches, orders = _log()
    links = journey_flow(touches, orders, "2025-03-01", "2025-03-31", channels=["social", "edm",
                         "seo", "tv"], interactions=INTERACTIONS, steps=3)  # fmt: skip
    got = {(r.step, r.source, r.target): r.customers for r in links.itertuples()}
    assert got == {
        (0, "social", "edm"): 1,  # A: social (x2, merged) -> edm -> ordered
        (1, "edm", ORDERED): 1,
        (0, "edm", "seo"): 1,  # B: edm -> seo -> ordered (O3 after the first touch)
        (1, "seo", ORDERED): 1,
        (0, "tv", NO_ORDER): 1,  # C ordered before the touch only
    }
    two = {"channels": ["social", "edm"], "interactions": INTERACTIONS, "steps": 2}
    unmerged = journey_flow(touches, orders, "2025-03-01", "2025-03-31", **two,
                            collapse_repeats=False)  # fmt: skip
    assert set(zip(unmerged["source"], unmerged["target"], strict=True)) == {
        ("social", "social"), ("social", ORDERED), ("edm", ORDERED),
    }  # fmt: skip


def test_funnel_steps_in_order_and_never_widening():
    touches, orders = _log()
    steps = [
        FunnelStep(name="reached", kinds=["impression", "click", "open", "visit"]),
        FunnelStep(name="email", channels=["edm"]),
        FunnelStep(name="bought", kinds=["order"]),
        FunnelStep(name="again", kinds=["order"]),
    ]
    funnel = plan_funnel(touches, orders, "2025-03-01", "2025-03-31", steps=steps)
    counts = funnel.set_index("name")["customers"]
    # A: reached, edm, bought; B: reached (edm click), email must come after: no further edm
    # touch, so B stops at reached; C: reached only
    assert counts.tolist() == [3, 1, 1, 0]
    assert funnel["drop_off"].iloc[1] == pytest.approx(2 / 3)
    labels = pd.DataFrame({"customer_id": ["A", "B"], "persona": ["p1", "p2"]})
    split = plan_funnel(touches, orders, "2025-03-01", "2025-03-31", steps=steps,
                        persona_labels=labels)  # fmt: skip
    per = split[split["persona"] != "all"].groupby("step")["customers"].sum()
    assert per.tolist() == counts.tolist()  # C is "(unlabelled)"
    assert set(split["persona"]) == {"all", "p1", "p2", "(unlabelled)"}


def test_default_funnel_on_a_world(small_world):
    world = load_world(small_world)
    funnel = plan_funnel(world.touchpoints, world.conversions, *WINDOW, steps=DEFAULT_FUNNEL)
    assert funnel["customers"].is_monotonic_decreasing
    tp = world.touchpoints
    ts = pd.to_datetime(tp["timestamp"])
    inside = (ts >= WINDOW[0]) & (ts < pd.Timestamp(WINDOW[1]) + pd.Timedelta(days=1))
    assert funnel["customers"].iloc[0] == tp.loc[inside, "customer_id"].nunique()
    links = journey_flow(world.touchpoints, world.conversions, *WINDOW,
                         channels=ANALYSED, interactions=INTERACTIONS, steps=4)  # fmt: skip
    # flow is conserved: what enters a node at step k + 1 leaves it (or ends there)
    for k in range(3):
        into = links[links["step"] == k].groupby("target")["customers"].sum()
        out = links[links["step"] == k + 1].groupby("source")["customers"].sum()
        for channel, n in out.items():
            assert into[channel] == n


def test_plan_funnel_field_validates(tmp_path, repo_root):
    plan = load_plan(repo_root / "campaigns" / "spring_launch.yaml")
    assert plan.funnel_steps == DEFAULT_FUNNEL
    text = (repo_root / "campaigns" / "spring_launch.yaml").read_text(encoding="utf-8")
    good = tmp_path / "good.yaml"
    good.write_text(text + "funnel:\n  - {name: seen, channels: [tv, social]}\n"
                    "  - {name: bought, kinds: [order]}\n", encoding="utf-8")  # fmt: skip
    assert [s.name for s in load_plan(good).funnel_steps] == ["seen", "bought"]
    bad = tmp_path / "bad.yaml"
    bad.write_text(text + "funnel:\n  - {name: seen, kinds: [impresion]}\n  - {name: x}\n",
                   encoding="utf-8")  # fmt: skip
    with pytest.raises(PlanError) as err:
        load_plan(bad)
    message = str(err.value)
    assert "funnel[0].kinds[0]" in message and "impression" in message
    assert "funnel[1]" in message and "kinds or channels" in message
