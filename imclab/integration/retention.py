"""Cohort retention: repeat purchases by months since the first order, with BG/NBD overlaid.

Cohorts are acquisition months or first-touch channels; the overlay is the BG/NBD model's
expectation for a new customer.

The orders are reduced in the engine to counts per (cohort, months observed, month of the
repeat order); each point of a curve uses only the customers observed for that long.
"""

from __future__ import annotations

from typing import Literal

import ibis
import numpy as np
import pandas as pd

from imclab.engine import quiet, to_ibis
from imclab.integration.flow import first_events
from imclab.situation.sales import EventTable

MONTH_DAYS = 365.25 / 12
"""Length of the "month" of the curves, in days."""


def _ts(col):
    return col if col.type().is_timestamp() else col.try_cast("timestamp")


@quiet
def retention_curves(
    conversions: EventTable,
    touchpoints: EventTable,
    *,
    by: Literal["acquisition_month", "first_touch_channel"],
    observation_end: pd.Timestamp | str,
    months: int = 6,
    min_customers: int = 30,
) -> pd.DataFrame:
    """Cumulative repeat orders (and share of repeaters) per cohort by months since 1st order.

    Parameters
    ----------
    conversions
        Orders (``order_id, customer_id, timestamp``), pandas or Ibis.
    touchpoints
        Touches (``event_id, customer_id, timestamp, channel``), for the first-touch cohort.
    by
        ``"acquisition_month"`` (month of the first order) or ``"first_touch_channel"``
        (channel of the customer's first touch; ``(no touch)`` when none).
    observation_end
        Last day observed (orders after it are ignored; censoring is measured to it).
    months
        Longest age shown.
    min_customers
        Fewest customers observed at an age for the point to be shown.

    Returns
    -------
    pandas.DataFrame
        ``cohort, month, customers`` (observed at least ``month`` months),
        ``repeat_orders`` (cumulative repeat orders per such customer) and
        ``repeat_share`` (share with a repeat order by then).
    """
    end = pd.Timestamp(observation_end).normalize() + pd.Timedelta(days=1)
    end_lit = ibis.literal(end.to_pydatetime(), type="timestamp")
    conv = to_ibis(conversions, "conversions", ["order_id", "customer_id", "timestamp"])
    conv = conv.select(
        cid=conv.customer_id.cast("string"),
        ts=_ts(conv.timestamp),
        oid=conv.order_id.cast("string"),
    )
    conv = conv.filter(conv.ts < end_lit)
    ranked = conv.mutate(k=ibis.row_number().over(group_by="cid", order_by=["ts", "oid"]))
    first = ranked.filter(ranked.k == 0).select(fid="cid", fts="ts")
    day = 86_400.0
    obs_days = end_lit.epoch_seconds() - first.fts.epoch_seconds()
    first = first.mutate(obs=(obs_days / day / MONTH_DAYS).floor().cast("int64"))
    if by == "acquisition_month":
        first = first.mutate(cohort=first.fts.truncate("M").strftime("%Y-%m"))
    else:
        tp = to_ibis(
            touchpoints, "touchpoints", ["event_id", "customer_id", "timestamp", "channel"]
        )
        tp = tp.select(
            tcid=tp.customer_id.cast("string"),
            tts=_ts(tp.timestamp),
            eid=tp.event_id.cast("string"),
            channel=tp.channel.cast("string"),
        )
        # the first touch (earliest, then smallest event id) by one aggregation, no sort
        ft = first_events(tp.select(cid="tcid", ts="tts", eid="eid", channel="channel"), "channel")
        ft = ft.select(tcid="pid", channel="channel")
        first = first.left_join(ft, first.fid == ft.tcid)
        first = first.select("fid", "fts", "obs", cohort=first.channel.fill_null("(no touch)"))
    repeats = ranked.filter(ranked.k > 0).join(first, ranked.cid == first.fid)
    age_days = (repeats.ts.epoch_seconds() - repeats.fts.epoch_seconds()) / day
    repeats = repeats.mutate(
        age=(age_days / MONTH_DAYS).ceil().cast("int64"), second=repeats.k == 1
    )
    zero = ibis.literal(0, type="int64")
    cells = repeats.group_by(["cohort", "obs", "age"]).agg(
        orders=repeats.count(), repeaters=repeats.second.cast("int64").sum(), customers=zero
    )
    sizes = first.group_by(["cohort", "obs"]).agg(
        age=ibis.null("int64"), orders=zero, repeaters=zero, customers=first.count()
    )
    # one query (the first orders and touches are read once): sizes are the rows without age
    both = ibis.union(cells, sizes.select(*cells.columns)).execute()
    sized = both["age"].isna()
    cells, sizes = both[~sized], both.loc[sized, ["cohort", "obs", "customers"]]
    rows = []
    for cohort, size in sizes.groupby("cohort", sort=True):
        got = cells[cells["cohort"] == cohort]
        for m in range(1, months + 1):
            n = int(size.loc[size["obs"] >= m, "customers"].sum())
            if n < min_customers:
                continue
            seen = got[(got["obs"] >= m) & (got["age"] <= m)]
            rows.append(
                {
                    "cohort": cohort,
                    "month": m,
                    "customers": n,
                    "repeat_orders": seen["orders"].sum() / n,
                    "repeat_share": seen["repeaters"].sum() / n,
                }
            )
    return pd.DataFrame(rows, columns=["cohort", "month", "customers", "repeat_orders",
                                       "repeat_share"])  # fmt: skip


def expected_repeat_orders(
    conversions: EventTable,
    *,
    observation_end: pd.Timestamp | str,
    months: int = 6,
    random_seed: int = 0,
    max_customers: int = 20_000,
) -> pd.DataFrame:
    """Return the BG/NBD model's expected cumulative repeat orders of a new customer by month.

    The review's CLV model (:class:`imclab.review.clv.CustomerValueModel`, BG/NBD by
    PyMC-Marketing, maximum a posteriori) is fitted on the RFM table of
    :func:`imclab.review.clv.rfm_summary` (computed in the engine, in days); its
    :meth:`~imclab.review.clv.CustomerValueModel.expected_purchases_new_customer` is Fader,
    Hardie and Lee's ``E[X(t)]`` for a customer who has just made a first purchase: the
    retention curves' expectation.

    Parameters
    ----------
    conversions
        Orders (pandas or Ibis).
    observation_end
        Last day observed.
    months
        Longest age.
    random_seed
        Seed of the fit and of the sample of buyers.
    max_customers
        The population parameters are fitted on at most this many buyers (a seeded random
        sample): the fit's time grows with the buyers, its precision hardly beyond this.

    Returns
    -------
    pandas.DataFrame
        ``month, expected_repeat_orders``.
    """
    from imclab.review.clv import CustomerValueModel, rfm_summary

    rfm = rfm_summary(conversions, observation_end=observation_end, freq="D")
    if len(rfm) > max_customers:
        rfm = rfm.sample(n=max_customers, random_state=random_seed).sort_index()
    # the purchase model only: without monetary_value no Gamma-Gamma is fitted
    model = CustomerValueModel(transaction_model="bg_nbd", random_state=random_seed)
    model.fit(rfm[["frequency", "recency", "T"]])
    ages = np.arange(1, months + 1)
    values = model.expected_purchases_new_customer(ages * MONTH_DAYS)
    return pd.DataFrame({"month": ages, "expected_repeat_orders": values})
