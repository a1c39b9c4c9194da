"""Customer-journey funnel from the event log: exposed, engaged, visited, converted, repeat.

Per channel and per persona (when persona labels are given); each customer's deepest stage
and the counts per stage are computed where the events live (DuckDB or Spark, through Ibis).
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd

from imclab.config import CHANNELS, JOURNEY_STAGES
from imclab.engine import quiet
from imclab.errors import DataError, ParameterError
from imclab.kpis import DateLike, plain, to_window, wilson_interval
from imclab.situation.sales import EventTable, _events_in_window

JOURNEY_KEYS: tuple[str, ...] = ("channel", "persona")
UNLABELLED = "(unlabelled)"
"""Persona shown for touched customers missing from the persona file."""


@quiet
def journey_funnel(
    touchpoints: EventTable,
    conversions: EventTable,
    start: DateLike,
    end: DateLike,
    *,
    by: tuple[str, ...] | list[str] | str = (),
    persona_labels: pd.DataFrame | None = None,
    min_customers: int = 30,
    alpha: float = 0.05,
) -> pd.DataFrame:
    """Count customers at each journey stage (AIDA-style), overall or per channel/persona.

    The cohort is every customer touched in the window (per channel: touched on that
    channel). Each customer's deepest stage after their first touch (on the channel) is:
    ``repeat`` (2+ orders), ``converted`` (1 order), ``visited`` (a site visit),
    ``engaged`` (a click or EDM open on the channel) or ``exposed``; a customer counts at
    every stage up to the deepest one, so the funnel never widens. ``conversion`` is the
    share of the previous stage that reached the stage, with a Wilson interval (NaN for
    ``exposed``, the first stage). The stages are counted where the tables live; only the
    counts per group come back.

    Parameters
    ----------
    touchpoints, conversions
        The event log (``customer_id, timestamp, channel, interaction``) and the orders
        (``customer_id, timestamp``): DataFrames or Ibis tables.
    start, end
        The window (touches and orders inside it).
    by
        ``()`` for one overall funnel, ``"channel"``, ``"persona"`` or both.
    persona_labels
        ``customer_id, persona`` (the persona notebook's ``personas.csv``); required for
        ``by="persona"``. Touched customers without a label are shown as ``(unlabelled)``.
    min_customers
        Fewest customers at the previous stage for an interval; smaller groups keep their
        counts and get a warning.
    alpha
        1 - confidence level.

    Returns
    -------
    pandas.DataFrame
        Columns ``[channel], [persona], stage, step, customers, share_of_exposed,
        conversion, conversion_low, conversion_high, warning``.

    Raises
    ------
    ParameterError
        For an unknown ``by`` key, or ``by="persona"`` without labels.
    DataError
        When the persona labels lack ``customer_id`` or ``persona``, or an event table
        lacks a column.
    """
    keys = (by,) if isinstance(by, str) else tuple(by)
    unknown = [k for k in keys if k not in JOURNEY_KEYS]
    if unknown:
        raise ParameterError(
            f"journey_funnel by={unknown[0]!r}: expected any of {', '.join(JOURNEY_KEYS)}"
        )
    if "persona" in keys and persona_labels is None:
        raise ParameterError("journey_funnel by='persona' needs persona_labels")
    labels = _labels(persona_labels) if "persona" in keys else None
    lo, hi = to_window(start, end)
    tp = _events_in_window(
        touchpoints, "touchpoints", ["customer_id", "timestamp", "channel", "interaction"], lo, hi
    )
    tp = tp.mutate(
        customer_id=tp.customer_id.cast("string"),
        channel=tp.channel.cast("string"),
        interaction=tp.interaction.cast("string"),
    )
    orders = _events_in_window(conversions, "conversions", ["customer_id", "timestamp"], lo, hi)
    orders = orders.mutate(customer_id=orders.customer_id.cast("string"))
    if labels is not None:
        text = labels.reset_index().map(lambda v: None if pd.isna(v) else str(v))
        table = ibis.memtable(text, schema={"customer_id": "string", "persona": "string"})
        joined = tp.left_join(table, tp.customer_id == table.customer_id)
        tp = joined.select(
            *[joined[c] for c in tp.columns], persona=joined.persona.fill_null(UNLABELLED)
        )
    counts = _stage_counts(tp, orders, list(keys)).execute()
    for stage in JOURNEY_STAGES:
        counts[stage] = counts[stage].astype("int64")
    if keys:
        counts = counts.sort_values(list(keys), kind="mergesort", na_position="last")
    return _long(counts.reset_index(drop=True), list(keys), min_customers, alpha)


def _stage_counts(tp: ir.Table, orders: ir.Table, keys: list[str]) -> ir.Table:
    """Count customers reaching each stage per group (one row per group; one if no keys)."""
    cohort = tp.group_by([*keys, "customer_id"]).agg(
        first_touch=tp.timestamp.min(),
        engaged_here=tp.interaction.isin(["click", "open"]).fill_null(False).any(),
    )
    # a visit (on any channel) after the first touch <=> the customer's last visit is after it
    visits = (
        tp.filter(tp.interaction == "visit")
        .group_by("customer_id")
        .agg(last_visit=ibis._.timestamp.max())
    )
    # 1+ (2+) orders after the first touch <=> the last (second-to-last) order is after it
    latest = ibis.window(group_by="customer_id", order_by=ibis.desc("timestamp"))
    ranked = orders.mutate(rank=ibis.row_number().over(latest))
    bought = (
        ranked.filter(ranked["rank"] < 2)
        .group_by("customer_id")
        .agg(
            last_order=ibis._.timestamp.max(where=ibis._["rank"] == 0),
            second_order=ibis._.timestamp.max(where=ibis._["rank"] == 1),
        )
    )
    seen = cohort.left_join(visits, cohort.customer_id == visits.customer_id)
    seen = seen.select(*cohort.columns, "last_visit")
    seen = seen.left_join(bought, seen.customer_id == bought.customer_id)
    first = seen.first_touch
    depth = ibis.cases(
        ((seen.second_order >= first).fill_null(False), 4),
        ((seen.last_order >= first).fill_null(False), 3),
        ((seen.last_visit >= first).fill_null(False), 2),
        (seen.engaged_here.fill_null(False), 1),
        else_=0,
    )
    deepest = seen.select(*keys, depth=depth)
    reached = {
        stage: (deepest.depth >= i).cast("int64").sum().fill_null(0)  # 0, not NULL, if empty
        for i, stage in enumerate(JOURNEY_STAGES)
        if i
    }
    stages = {JOURNEY_STAGES[0]: deepest.count(), **reached}
    return deepest.group_by(keys).agg(**stages) if keys else deepest.aggregate(**stages)


def _labels(persona_labels: pd.DataFrame | None) -> pd.Series:
    assert persona_labels is not None
    missing = {"customer_id", "persona"} - set(persona_labels.columns)
    if missing:
        raise DataError(
            f"persona labels: missing column(s) {', '.join(sorted(missing))}; expected "
            "customer_id, persona (as written by the persona notebook)"
        )
    labels = plain(persona_labels)
    dupes = labels["customer_id"].duplicated(keep=False)
    if dupes.any():
        ids = ", ".join(sorted(set(labels.loc[dupes, "customer_id"]))[:5])
        raise DataError(f"persona labels: customer_id repeated ({ids}); one label per customer")
    return labels.set_index("customer_id")["persona"]


def _long(counts: pd.DataFrame, keys: list[str], min_customers: int, alpha: float) -> pd.DataFrame:
    if "channel" in keys:
        order = {c: i for i, c in enumerate(CHANNELS)}
        counts = counts.assign(_o=counts["channel"].map(order).fillna(len(order)))
        counts = counts.sort_values(["_o", *[k for k in keys if k != "channel"]], kind="stable")
        counts = counts.drop(columns="_o")
    rows = []
    for _, rec in counts.iterrows():
        values = [int(rec[s]) for s in JOURNEY_STAGES]
        prev = [values[0], *values[:-1]]
        lo, hi = wilson_interval(values, prev, alpha)
        for i, stage in enumerate(JOURNEY_STAGES):
            row = {k: rec[k] for k in keys}
            row.update(
                stage=stage,
                step=i,
                customers=values[i],
                share_of_exposed=values[i] / values[0] if values[0] else np.nan,
                conversion=values[i] / prev[i] if i and prev[i] else np.nan,
                conversion_low=np.nan,
                conversion_high=np.nan,
                warning="",
            )
            if i and prev[i] >= min_customers:
                row["conversion_low"], row["conversion_high"] = lo[i], hi[i]
            elif i:
                where = ", ".join(f"{k} {rec[k]}" for k in keys) or "overall"
                row["warning"] = (
                    f"{where}: only {prev[i]} customers at {JOURNEY_STAGES[i - 1]} "
                    f"(< {min_customers}): no confidence interval"
                )
            rows.append(row)
    columns = [*keys, "stage", "step", "customers", "share_of_exposed", "conversion",
               "conversion_low", "conversion_high", "warning"]  # fmt: skip
    return pd.DataFrame(rows, columns=columns)
