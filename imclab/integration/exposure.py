"""Per-customer exposure and orders in a window, reduced in the engine to cells of counts.

Every integration analysis (synergy, overlap, reach and frequency) starts from the same
customer table: touches per channel in the window, orders in the window and a stratum
(persona when labels are given, and the number of orders before the window, a proxy for
each customer's organic demand). It stays an Ibis expression; the analyses group it into a
few hundred cells and bring back only those.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir
import pandas as pd

from imclab.engine import to_ibis
from imclab.errors import DataError, ParameterError
from imclab.kpis import DateLike, plain, to_window
from imclab.situation.sales import EventTable, _events_in_window

UNLABELLED = "(unlabelled)"
"""Persona of customers missing from the persona file."""


def exposure_column(channel: str) -> str:
    """Name of the column holding a channel's touch count (``n_paid_search``)."""
    return f"n_{channel}"


def customer_exposure(
    customers: EventTable,
    touchpoints: EventTable,
    conversions: EventTable,
    start: DateLike,
    end: DateLike,
    *,
    channels: list[str] | tuple[str, ...],
    interactions: list[str] | tuple[str, ...],
    persona_labels: pd.DataFrame | None = None,
) -> ir.Table:
    """One row per known customer: touches per channel and orders in the window, stratum.

    Parameters
    ----------
    customers, touchpoints, conversions
        The world's tables (pandas or Ibis); only ``customer_id``, ``timestamp``,
        ``channel`` and ``interaction`` are read.
    start, end
        The window (both days included): touches and orders inside it count.
    channels
        Channels whose touches are counted (one ``n_<channel>`` column each).
    interactions
        Touch kinds that count as an exposure.
    persona_labels
        Optional ``customer_id, persona``: the persona becomes part of the stratum.

    Returns
    -------
    ibis.expr.types.Table
        ``customer_id, n_<channel>..., orders, stratum`` (an unexecuted expression).

    Raises
    ------
    ParameterError
        No channel or no interaction given.
    DataError
        A table lacks a column, or the persona labels are malformed.
    """
    if not channels:
        raise ParameterError("channel integration: no channel to analyse (channels is empty)")
    if not interactions:
        raise ParameterError("channel integration: no touch kind counts (interactions is empty)")
    lo, hi = to_window(start, end)
    cust = to_ibis(customers, "customers", ["customer_id"])
    cust = cust.select(customer_id=cust.customer_id.cast("string")).distinct()
    tp = _events_in_window(
        touchpoints, "touchpoints", ["customer_id", "timestamp", "channel", "interaction"], lo, hi
    )
    tp = tp.filter(
        tp.interaction.cast("string").isin(list(interactions))
        & tp.channel.cast("string").isin(list(channels))
    )
    ch = tp.channel.cast("string")
    touches = tp.group_by(cid=tp.customer_id.cast("string")).agg(
        **{exposure_column(c): (ch == c).cast("int64").sum() for c in channels}
    )
    orders = _events_in_window(conversions, "conversions", ["customer_id", "timestamp"], lo, hi)
    orders = orders.group_by(oid=orders.customer_id.cast("string")).agg(orders=ibis._.count())
    conv = to_ibis(conversions, "conversions", ["customer_id", "timestamp"])
    ts = (
        conv.timestamp
        if conv.timestamp.type().is_timestamp()
        else conv.timestamp.try_cast("timestamp")
    )
    before = conv.filter(ts < ibis.literal(lo.to_pydatetime(), type="timestamp"))
    prior = before.group_by(pid=before.customer_id.cast("string")).agg(prior=ibis._.count())
    t = cust.left_join(touches, cust.customer_id == touches.cid)
    t = t.left_join(orders, t.customer_id == orders.oid)
    t = t.left_join(prior, t.customer_id == prior.pid)
    prior_band = ibis.cases((t.prior.fill_null(0) == 0, "0"), (t.prior == 1, "1"), else_="2+")
    persona = ibis.literal("all")
    if persona_labels is not None:
        labels = _labels(persona_labels)
        lab = ibis.memtable(labels, schema={"lid": "string", "persona": "string"})
        t = t.left_join(lab, t.customer_id == lab.lid)
        persona = t.persona.fill_null(UNLABELLED)
    return t.select(
        "customer_id",
        *[t[exposure_column(c)].fill_null(0).name(exposure_column(c)) for c in channels],
        orders=t.orders.fill_null(0).cast("int64"),
        stratum=persona.concat(" | prior orders ", prior_band),
    )


def exposure_cells(frequency: pd.DataFrame, channels: list[str] | tuple[str, ...]) -> pd.DataFrame:
    """Group the customers by which channels reached them and stratum.

    Summed from the frequency cells (:func:`frequency_cells`, which hold the reach pattern of
    every channel), so the customers are read from the engine once for both.

    Parameters
    ----------
    frequency
        :func:`frequency_cells` of the customer exposure table, for the same ``channels``.
    channels
        The channels (one 0/1 column each).

    Returns
    -------
    pandas.DataFrame
        One row per (exposure pattern, stratum): ``<channel>`` (0/1 each), ``stratum``,
        ``customers``, ``orders`` (sum), ``orders_sq`` (sum of squares), ``converters``.
    """
    keys = [*channels, "stratum"]
    missing = [c for c in [*keys, "channel", "customers"] if c not in frequency.columns]
    if missing:
        raise ParameterError(
            f"exposure cells: the frequency cells lack {', '.join(missing)}; pass "
            "frequency_cells(exposure, channels, cap) for the same channels"
        )
    # every customer appears once per channel: the first channel's rows hold each once
    one = frequency[frequency["channel"] == channels[0]]
    sums = ["customers", "orders", "orders_sq", "converters"]
    out = one.groupby(keys, as_index=False, sort=False)[sums].sum()
    return _sorted(out.astype({c: "int64" for c in [*channels, *sums]}), keys)


def frequency_cells(
    exposure: ir.Table, channels: list[str] | tuple[str, ...], cap: int
) -> pd.DataFrame:
    """Count customers and orders per channel, touch count (capped at ``cap``) and stratum.

    Returns
    -------
    pandas.DataFrame
        ``channel, touches, <channel>... (0/1: reached by each channel), stratum, customers,
        orders, orders_sq, converters, touches_sum`` (``touches_sum`` is the uncapped total,
        for the average frequency).
    """
    parts = []
    flags = {c: (exposure[exposure_column(c)] > 0).cast("int64") for c in channels}
    for c in channels:
        n = exposure[exposure_column(c)]
        capped = ibis.cases((n >= cap, cap), else_=n).cast("int64")
        parts.append(
            exposure.group_by(
                channel=ibis.literal(c), touches=capped, stratum=exposure.stratum, **flags
            ).agg(
                customers=exposure.count(),
                orders=exposure.orders.sum(),
                orders_sq=(exposure.orders * exposure.orders).sum(),
                converters=(exposure.orders > 0).cast("int64").sum(),
                touches_sum=n.sum(),
            )
        )
    out = ibis.union(*parts).execute()
    order = {c: i for i, c in enumerate(channels)}
    out = out.assign(_o=out["channel"].map(order))
    out = _sorted(out, ["_o", "touches", *channels, "stratum"]).drop(columns="_o")
    for col in ("touches", "customers", "orders", "orders_sq", "converters", "touches_sum"):
        out[col] = out[col].astype("int64")
    return out


def _sorted(frame: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    return frame.sort_values(keys, kind="mergesort", ignore_index=True)


def _labels(persona_labels: pd.DataFrame) -> pd.DataFrame:
    missing = {"customer_id", "persona"} - set(persona_labels.columns)
    if missing:
        raise DataError(
            f"persona labels: missing column(s) {', '.join(sorted(missing))}; expected "
            "customer_id, persona (as written by the persona notebook)"
        )
    labels = plain(persona_labels[["customer_id", "persona"]])
    dupes = labels["customer_id"].duplicated(keep=False)
    if dupes.any():
        ids = ", ".join(sorted(set(labels.loc[dupes, "customer_id"].astype(str)))[:5])
        raise DataError(f"persona labels: customer_id repeated ({ids}); one label per customer")
    text = labels.map(lambda v: None if pd.isna(v) else str(v))
    return text.rename(columns={"customer_id": "lid"}).reset_index(drop=True)
