"""Journey flow (the first steps of customers' channel sequences) and the plan's funnel.

Both walk each customer's events in time order where the events live (DuckDB or Spark,
through Ibis) and bring back counts only: links between consecutive steps for the flow
chart, customers reaching each funnel step (per persona) for the funnel.
"""

from __future__ import annotations

from collections.abc import Sequence

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd

from imclab.engine import quiet
from imclab.integration.exposure import UNLABELLED, _labels
from imclab.kpis import DateLike, to_window, wilson_interval
from imclab.plan import FunnelStep
from imclab.situation.sales import EventTable, _events_in_window

ORDERED = "ordered"
NO_ORDER = "no order"


@quiet
def journey_flow(
    touchpoints: EventTable,
    conversions: EventTable,
    start: DateLike,
    end: DateLike,
    *,
    channels: Sequence[str],
    interactions: Sequence[str],
    steps: int = 4,
    collapse_repeats: bool = True,
) -> pd.DataFrame:
    """Count customers flowing between the channels of the first ``steps`` touches of the window.

    Parameters
    ----------
    touchpoints, conversions
        Event tables (pandas or Ibis) with ``event_id``/``order_id``, ``customer_id``,
        ``timestamp`` (and ``channel``, ``interaction`` for touches).
    start, end
        The window.
    channels, interactions
        Touches that count.
    steps
        Touches shown per journey (columns of the chart).
    collapse_repeats
        Merge consecutive touches of the same channel (``search, search, edm`` ->
        ``search, edm``).

    Returns
    -------
    pandas.DataFrame
        ``step`` (0-based column of ``source``), ``source``, ``target``, ``customers``.
        A journey's last shown touch links to ``ordered`` (an order in the window after the
        first touch) or ``no order`` in the next column.
    """
    lo, hi = to_window(start, end)
    cols = ["event_id", "customer_id", "timestamp", "channel", "interaction"]
    tp = _events_in_window(touchpoints, "touchpoints", cols, lo, hi)
    tp = tp.select(
        eid=tp.event_id.cast("string"),
        cid=tp.customer_id.cast("string"),
        ts=tp.timestamp,
        channel=tp.channel.cast("string"),
        kind=tp.interaction.cast("string"),
    )
    tp = tp.filter(tp.kind.isin(list(interactions)) & tp.channel.isin(list(channels)))
    order = ibis.window(group_by="cid", order_by=["ts", "eid"])
    if collapse_repeats:
        tp = tp.mutate(prev=tp.channel.lag().over(order))
        tp = tp.filter(tp.prev.isnull() | (tp.prev != tp.channel)).drop("prev")
    # one sort of the (collapsed) touches: step, next touch and first touch time together
    tp = tp.mutate(
        step=ibis.row_number().over(order),
        next=tp.channel.lead().over(order),
        fts=tp.ts.first().over(order),
    )
    tp = tp.filter(tp.step < steps)
    orders = _events_in_window(conversions, "conversions", ["customer_id", "timestamp"], lo, hi)
    last = orders.group_by(oid=orders.customer_id.cast("string")).agg(lts=orders.timestamp.max())
    t = tp.left_join(last, tp.cid == last.oid)
    target = ibis.coalesce(
        ibis.cases((t.step < steps - 1, t.next), else_=ibis.null("string")),
        ibis.cases(((t.lts > t.fts).fill_null(False), ORDERED), else_=NO_ORDER),
    )
    links = t.group_by(step=t.step, source=t.channel, target=target).agg(customers=t.count())
    out = links.execute()
    out["step"] = out["step"].astype("int64")
    out["customers"] = out["customers"].astype("int64")
    rank = {c: i for i, c in enumerate([*channels, ORDERED, NO_ORDER])}
    out = out.assign(_s=out["source"].map(rank), _t=out["target"].map(rank))
    out = out.sort_values(["step", "_s", "_t"], kind="mergesort", ignore_index=True)
    return out.drop(columns=["_s", "_t"])


def _events(touchpoints: EventTable, conversions: EventTable, lo, hi) -> ir.Table:
    cols = ["event_id", "customer_id", "timestamp", "channel", "interaction"]
    tp = _events_in_window(touchpoints, "touchpoints", cols, lo, hi)
    tp = tp.select(
        cid=tp.customer_id.cast("string"),
        ts=tp.timestamp,
        eid=ibis.literal("t").concat(tp.event_id.cast("string")),
        kind=tp.interaction.cast("string"),
        channel=tp.channel.cast("string"),
    )
    conv = _events_in_window(
        conversions, "conversions", ["order_id", "customer_id", "timestamp"], lo, hi
    )
    conv = conv.select(
        cid=conv.customer_id.cast("string"),
        ts=conv.timestamp,
        eid=ibis.literal("o").concat(conv.order_id.cast("string")),
        kind=ibis.literal("order"),
        channel=ibis.null("string"),
    )
    return tp.union(conv)


def first_events(events: ir.Table, *carry: str) -> ir.Table:
    """Each customer's first event (earliest ``ts``, then smallest ``eid``): ``pid, pts, peid``.

    One aggregation (the event's ``ts``/``eid`` pair as the key of an arg-min), no sort of
    the event stream; ``carry`` names further columns to take from the same event. Events
    without a time are ignored.
    """
    events = events.filter(events.ts.notnull())
    key = ibis.struct({"ts": events.ts, "eid": events.eid})
    return events.group_by(pid="cid").agg(
        pts=events.ts.min(),
        peid=events.eid.argmin(key),
        **{c: events[c].argmin(key) for c in carry},
    )


def _matches(ev: ir.Table, step: FunnelStep) -> ir.BooleanValue:
    cond = ibis.literal(True)
    if step.kinds:
        cond = cond & ev.kind.isin(list(step.kinds))
    if step.channels:
        cond = cond & ev.channel.isin(list(step.channels)).fill_null(False)
    return cond


@quiet
def plan_funnel(
    touchpoints: EventTable,
    conversions: EventTable,
    start: DateLike,
    end: DateLike,
    *,
    steps: Sequence[FunnelStep],
    persona_labels: pd.DataFrame | None = None,
    alpha: float = 0.05,
) -> pd.DataFrame:
    """Count customers reaching each step of the plan's funnel, overall and per persona.

    A customer reaches step 1 with their first event in the window matching it, and step
    ``i`` with their next matching event after the one that reached step ``i - 1`` (in time,
    then event id, order), so a funnel never widens.

    Parameters
    ----------
    touchpoints, conversions
        Event tables (pandas or Ibis).
    start, end
        The window.
    steps
        :attr:`imclab.plan.CampaignPlan.funnel_steps`.
    persona_labels
        Optional ``customer_id, persona``: adds one funnel per persona.
    alpha
        1 - confidence level of the step conversion intervals.

    Returns
    -------
    pandas.DataFrame
        ``persona`` (``all`` first), ``step`` (1-based), ``name``, ``customers``,
        ``share_of_first``, ``conversion`` (of the previous step) with Wilson
        ``conversion_low/high``, ``drop_off`` (1 - conversion).
    """
    lo, hi = to_window(start, end)
    ev = _events(touchpoints, conversions, lo, hi)
    reached: list[ir.Table] = []
    prev = None
    for i, step in enumerate(steps):
        m = ev.filter(_matches(ev, step))
        if prev is not None:
            m = m.join(prev, m.cid == prev.pid)
            m = m.filter((m.ts > m.pts) | ((m.ts == m.pts) & (m.eid > m.peid)))
            m = m.select("cid", "ts", "eid")
        hit = first_events(m)
        reached.append(hit.select(cid="pid", step=ibis.literal(i + 1)))
        prev = hit
    allsteps = ibis.union(*reached)
    persona = ibis.literal("all")
    if persona_labels is not None:
        lab = ibis.memtable(_labels(persona_labels), schema={"lid": "string", "persona": "string"})
        allsteps = allsteps.left_join(lab, allsteps.cid == lab.lid)
        persona = allsteps.persona.fill_null(UNLABELLED)
    counts = allsteps.group_by(step=allsteps.step, persona=persona).agg(customers=allsteps.count())
    got = counts.execute()
    frames = [got.groupby("step", as_index=False)["customers"].sum().assign(persona="all")]
    if persona_labels is not None:
        frames.append(got)
    rows = []
    for frame in frames:
        for persona_name, part in frame.groupby("persona", sort=True):
            n = part.set_index("step")["customers"].reindex(range(1, len(steps) + 1))
            values = n.fillna(0).astype("int64").to_numpy()
            before = np.concatenate([[values[0]], values[:-1]])
            low, high = wilson_interval(values, before, alpha)
            for i, step in enumerate(steps):
                conv = values[i] / before[i] if i and before[i] else np.nan
                rows.append(
                    {
                        "persona": persona_name,
                        "step": i + 1,
                        "name": step.name,
                        "customers": int(values[i]),
                        "share_of_first": values[i] / values[0] if values[0] else np.nan,
                        "conversion": conv,
                        "conversion_low": low[i] if i else np.nan,
                        "conversion_high": high[i] if i else np.nan,
                        "drop_off": 1 - conv if i else np.nan,
                    }
                )
    return pd.DataFrame(rows)
