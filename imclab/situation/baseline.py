"""Channel baseline before the campaign: CTR, CPC, CPM, conversion rate, CPA and ROAS.

Rates carry Wilson intervals so the post-campaign review can tell a real change from noise.
The event tables are reduced per channel where they live (DuckDB or Spark, through Ibis).
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd

from imclab.config import CHANNELS, LOOKBACK_DAYS, PAID_CHANNELS
from imclab.engine import quiet
from imclab.kpis import DateLike, in_window, plain, to_window, wilson_interval
from imclab.situation.sales import EventTable, _events_in_window

BASELINE_COLUMNS: tuple[str, ...] = (
    "channel", "paid", "spend", "impressions", "clicks", "ctr", "ctr_low", "ctr_high", "cpc",
    "cpm", "touched_customers", "converting_customers", "conversion_rate",
    "conversion_rate_low", "conversion_rate_high", "last_touch_orders", "last_touch_revenue",
    "cpa", "roas", "note",
)  # fmt: skip
"""Columns of :func:`channel_baseline`."""


@quiet
def channel_baseline(
    spend: pd.DataFrame,
    touchpoints: EventTable,
    conversions: EventTable,
    start: DateLike,
    end: DateLike,
    *,
    lookback_days: int = LOOKBACK_DAYS,
    campaign: str | None = None,
    min_trials: int = 30,
    alpha: float = 0.05,
) -> pd.DataFrame:
    """Return each channel's baseline performance over a period, with Wilson intervals.

    - **Media delivery** (``spend.csv``, platform totals): ``ctr = clicks / impressions``,
      ``cpc = spend / clicks``, ``cpm = 1000 * spend / impressions``. Channels reporting
      no clicks (TV) get no CTR or CPC.
    - **Conversion** (event log): orders are credited by the one journey rule of
      :func:`imclab.attribution.journeys.event_stream`: a touch belongs to the customer's
      first order at or after it (after the previous order) and counts when it lies within
      ``lookback_days`` of that order. ``conversion_rate`` = customers with a counted touch
      on the channel / customers touched on it.
    - **Cost of results**: each order is credited to the last counted touch of its journey
      (touches at the same moment: the channel first in alphabetical order),
      ``cpa = spend / last-touch orders`` and
      ``roas = last-touch revenue / spend``. Last touch over-credits channels that sit
      next to the order (direct visits); it is a baseline to compare like with like later,
      not a causal estimate (the attribution notebook estimates contributions).

    The event tables are reduced per channel where they live; only one row per channel
    comes back.

    Parameters
    ----------
    spend
        The spend table (pandas, as the loader gives it).
    touchpoints, conversions
        The event log (``event_id, customer_id, timestamp, channel``, and ``campaign`` when
        ``campaign`` is given) and the orders (``order_id, customer_id, timestamp,
        revenue``): DataFrames or Ibis tables.
    start, end
        The baseline period (days, both included). Orders and touches inside it count.
    lookback_days
        How long before an order a touch still counts (days, the end included).
    campaign
        Only this campaign's spend and touches (None: all, including organic touches).
    min_trials
        Fewest impressions / touched customers for an interval; smaller channels keep
        their values and get a note.
    alpha
        1 - confidence level.

    Returns
    -------
    pandas.DataFrame
        One row per channel of :data:`imclab.config.CHANNELS` (canonical order; channels
        with no activity in the period get a note), then any other channel found; columns
        :data:`BASELINE_COLUMNS`.

    Raises
    ------
    DataError
        When an event table lacks a column (the message names the table and the column).
    """
    lo, hi = to_window(start, end)
    media = plain(spend.loc[in_window(spend["date"], lo, hi)])
    if campaign is not None:
        media = media.loc[media["campaign"] == campaign]
    tracked = _tracked(touchpoints, conversions, lo, hi, int(lookback_days), campaign).execute()
    delivery = media.groupby("channel")[["spend", "impressions", "clicks"]].sum()
    present = set(delivery.index) | set(tracked["channel"])
    channels = list(CHANNELS) + sorted(present - set(CHANNELS))
    table = (
        pd.DataFrame({"channel": channels})
        .merge(delivery.reset_index(), on="channel", how="left")
        .merge(tracked, on="channel", how="left")
    )
    return _finish(table, min_trials, alpha)


def _tracked(
    touchpoints: EventTable,
    conversions: EventTable,
    lo: pd.Timestamp,
    hi: pd.Timestamp,
    lookback_days: int,
    campaign: str | None,
) -> ir.Table:
    """Build the per-channel touched, converting and last-touch credited figures (Ibis).

    Orders are credited by the journeys' rule (:func:`imclab.attribution.journeys.event_stream`,
    the rule of attribution, budget curves and plan vs actual): a touch belongs to the
    customer's first order at or after it and counts when it lies within ``lookback_days``.
    """
    from imclab.attribution.journeys import event_stream

    cols = ["event_id", "customer_id", "timestamp", "channel"]
    cols += ["campaign"] if campaign is not None else []
    tp = _events_in_window(touchpoints, "touchpoints", cols, lo, hi)
    if campaign is not None:
        tp = tp.filter(tp.campaign.cast("string") == campaign)
    tp = tp.select(
        customer_id=tp.customer_id.cast("string"),
        ts=tp.timestamp,
        event_id=tp.event_id.cast("string"),
        channel=tp.channel.cast("string"),
    )
    cv = _events_in_window(
        conversions, "conversions", ["order_id", "customer_id", "timestamp", "revenue"], lo, hi
    )
    orders = cv.select(
        customer_id=cv.customer_id.cast("string"),
        ts=cv.timestamp,
        order_id=cv.order_id.cast("string"),
        revenue=cv.revenue.try_cast("float64"),
    )
    ev = event_stream(
        tp.filter(tp.customer_id.notnull()),
        orders.filter(orders.customer_id.notnull()).select("customer_id", "ts", "order_id"),
    )
    lag = ev.next_conv.epoch_seconds() - ev.ts.epoch_seconds()
    credited = ev.filter((ev.kind == 0) & ev.next_conv.notnull() & (lag <= lookback_days * 86_400))
    touched = tp.group_by("channel").agg(touched_customers=ibis._.customer_id.nunique())
    converting = credited.group_by("channel").agg(converting_customers=ibis._.customer_id.nunique())
    # an order goes to its journey's last counted touch (same moment: alphabetical channel)
    last = ibis.window(group_by=["customer_id", "conv_no"], order_by=[ibis.desc("ts"), "channel"])
    winners = credited.mutate(rank=ibis.row_number().over(last)).filter(ibis._["rank"] == 0)
    # a conversion row closes journey conv_no - 1 (conv_no counts the orders up to it)
    closes = ev.filter(ev.kind == 1).select(
        "customer_id", journey=ev.conv_no - 1, order_id=ev.event_id
    )
    won = winners.join(
        closes,
        [winners.customer_id == closes.customer_id, winners.conv_no == closes.journey],
    ).select("channel", "order_id")
    won = won.join(orders.select("order_id", "revenue"), "order_id")
    credited_orders = won.group_by("channel").agg(
        last_touch_orders=ibis._.count(), last_touch_revenue=ibis._.revenue.sum()
    )
    out = touched.left_join(converting, touched.channel == converting.channel)
    out = out.select(*touched.columns, "converting_customers")
    out = out.left_join(credited_orders, out.channel == credited_orders.channel)
    return out.select(
        "channel",
        "touched_customers",
        converting_customers=out.converting_customers.fill_null(0),
        last_touch_orders=out.last_touch_orders.fill_null(0),
        last_touch_revenue=out.last_touch_revenue.fill_null(0.0),
    )


def _finish(table: pd.DataFrame, min_trials: int, alpha: float) -> pd.DataFrame:
    for col in ("touched_customers", "converting_customers", "last_touch_orders"):
        table[col] = table[col].fillna(0).astype(int)
    table["last_touch_revenue"] = table["last_touch_revenue"].fillna(0.0).astype(float)
    table["paid"] = table["channel"].isin(PAID_CHANNELS) | (table["spend"].fillna(0) > 0)
    spend = table["spend"].astype(float)
    imps = table["impressions"].astype(float)
    clicks = table["clicks"].astype(float)
    has_clicks = clicks > 0
    table["ctr"] = np.where(has_clicks & (imps > 0), clicks / imps.where(imps > 0), np.nan)
    table["cpc"] = np.where(has_clicks, spend / clicks.where(has_clicks), np.nan)
    table["cpm"] = np.where(imps > 0, 1000 * spend / imps.where(imps > 0), np.nan)
    lo, hi = wilson_interval(clicks.fillna(0), imps.fillna(0), alpha)
    ok = has_clicks & (imps >= min_trials)
    table["ctr_low"], table["ctr_high"] = np.where(ok, lo, np.nan), np.where(ok, hi, np.nan)
    touched = table["touched_customers"].astype(float)
    conv = table["converting_customers"].astype(float)
    table["conversion_rate"] = conv / touched.where(touched > 0)
    lo, hi = wilson_interval(conv, touched, alpha)
    ok = touched >= min_trials
    table["conversion_rate_low"] = np.where(ok, lo, np.nan)
    table["conversion_rate_high"] = np.where(ok, hi, np.nan)
    orders = table["last_touch_orders"].astype(float)
    paid_spend = spend.where(spend > 0)
    table["cpa"] = paid_spend / orders.where(orders > 0)
    table["roas"] = table["last_touch_revenue"] / paid_spend
    notes = []
    for rec in table.itertuples():
        note = []
        if pd.isna(rec.spend) and rec.touched_customers == 0:
            notes.append("no spend and no touches in the period")
            continue
        if not rec.paid:
            note.append("unpaid channel: no spend, CPC, CPM, CPA or ROAS")
        elif pd.isna(rec.spend):
            note.append("no spend rows in the period")
        elif not rec.clicks:
            note.append("no clicks reported: no CTR or CPC")
        if rec.paid and rec.last_touch_orders == 0 and not pd.isna(rec.spend):
            note.append("no last-touch orders: CPA undefined")
        if 0 < rec.touched_customers < min_trials:
            note.append(f"only {rec.touched_customers} touched customers: no interval")
        if pd.notna(rec.impressions) and 0 < rec.impressions < min_trials:
            note.append(f"only {int(rec.impressions)} impressions: no CTR interval")
        notes.append("; ".join(note))
    table["note"] = notes
    return table.reindex(columns=list(BASELINE_COLUMNS))


def baseline_cpa_median(baseline: pd.DataFrame) -> float:
    """Return the median CPA over the paid channels that have one (NaN when none).

    Parameters
    ----------
    baseline
        Output of :func:`channel_baseline`.

    Returns
    -------
    float
        The median channel CPA.
    """
    values = baseline.loc[baseline["paid"].astype(bool), "cpa"].dropna()
    return float(values.median()) if len(values) else float("nan")
