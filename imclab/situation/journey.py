"""Customer-journey funnel from the event log: exposed, engaged, visited, converted, repeat.

Per channel and per persona (when persona labels are given); the relational work runs in
DuckDB SQL.
"""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd

from imclab.config import CHANNELS, JOURNEY_STAGES
from imclab.errors import DataError, ParameterError
from imclab.kpis import DateLike, in_window, plain, to_window, wilson_interval

JOURNEY_KEYS: tuple[str, ...] = ("channel", "persona")
UNLABELLED = "(unlabelled)"
"""Persona shown for touched customers missing from the persona file."""

_SQL = """
WITH cohort AS (
    SELECT {keys_select} customer_id,
           min(timestamp) AS first_touch,
           bool_or(interaction IN ('click', 'open')) AS engaged_here
    FROM tp
    GROUP BY ALL
),
seen AS (
    SELECT c.*,
           (SELECT count(*) FROM tp AS v
             WHERE v.customer_id = c.customer_id AND v.interaction = 'visit'
               AND v.timestamp >= c.first_touch) AS visits,
           (SELECT count(*) FROM orders AS o
             WHERE o.customer_id = c.customer_id AND o.timestamp >= c.first_touch) AS n_orders
    FROM cohort AS c
),
deepest AS (
    SELECT {keys_plain} customer_id,
           CASE WHEN n_orders >= 2 THEN 4 WHEN n_orders = 1 THEN 3 WHEN visits > 0 THEN 2
                WHEN engaged_here THEN 1 ELSE 0 END AS depth
    FROM seen
)
SELECT {keys_plain}
       count(*) AS exposed,
       count(*) FILTER (WHERE depth >= 1) AS engaged,
       count(*) FILTER (WHERE depth >= 2) AS visited,
       count(*) FILTER (WHERE depth >= 3) AS converted,
       count(*) FILTER (WHERE depth >= 4) AS repeat
FROM deepest
GROUP BY ALL
ORDER BY ALL
"""


def journey_funnel(
    touchpoints: pd.DataFrame,
    conversions: pd.DataFrame,
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
    ``exposed``, the first stage).

    Parameters
    ----------
    touchpoints, conversions
        The event log and the orders.
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
        When the persona labels lack ``customer_id`` or ``persona``.
    """
    keys = (by,) if isinstance(by, str) else tuple(by)
    unknown = [k for k in keys if k not in JOURNEY_KEYS]
    if unknown:
        raise ParameterError(
            f"journey_funnel by={unknown[0]!r}: expected any of {', '.join(JOURNEY_KEYS)}"
        )
    if "persona" in keys and persona_labels is None:
        raise ParameterError("journey_funnel by='persona' needs persona_labels")
    lo, hi = to_window(start, end)
    tp = plain(
        touchpoints.loc[
            in_window(touchpoints["timestamp"], lo, hi),
            ["customer_id", "timestamp", "channel", "interaction"],
        ]
    )
    orders = plain(
        conversions.loc[in_window(conversions["timestamp"], lo, hi), ["customer_id", "timestamp"]]
    )
    if "persona" in keys:
        labels = _labels(persona_labels)
        tp["persona"] = tp["customer_id"].map(labels).fillna(UNLABELLED)
    with duckdb.connect() as con:
        con.register("tp", tp)
        con.register("orders", orders)
        keys_plain = "".join(f"{k}, " for k in keys)
        counts = con.execute(_SQL.format(keys_select=keys_plain, keys_plain=keys_plain)).fetch_df()
    return _long(counts, list(keys), min_customers, alpha)


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
