"""Join attributed conversions to media spend: CPA and ROAS per channel per model.

Spend is summed per channel over the period given (by default the whole ``spend`` table,
i.e. the whole data period, matching journeys built without ``start``/``end``; pass the
campaign's start and end, and build the journeys with the same period, for campaign CPA).
Channels with spend are always shown, also when a model credits them nothing.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from imclab.attribution.journeys import NO_TOUCH
from imclab.errors import DataError

NOTE_NO_CREDIT = "spend but no credited conversions: CPA infinite"
NOTE_UNPAID = "no spend (unpaid channel): CPA and ROAS undefined"
NOTE_NO_TOUCH = "conversions with no touch: no media to charge"


def spend_by_channel(
    spend: pd.DataFrame,
    *,
    start=None,
    end=None,
    campaign: str | None = None,
    channel_groups: Mapping[str, str] | None = None,
) -> pd.Series:
    """Total media spend per channel (or channel group) over a period.

    Parameters
    ----------
    spend
        The ``spend`` table (``date``, ``channel``, ``campaign``, ``spend``).
    start, end
        Inclusive dates; None = open.
    campaign
        Only this campaign's spend (None = all campaigns).
    channel_groups
        The grouping the journeys used.

    Returns
    -------
    pandas.Series
        Spend indexed by channel.
    """
    missing = [c for c in ("date", "channel", "spend") if c not in spend.columns]
    if missing:
        raise DataError(f"spend: missing column(s) {', '.join(missing)}")
    s = spend
    dates = pd.to_datetime(s["date"])
    keep = pd.Series(True, index=s.index)
    if start is not None:
        keep &= dates >= pd.Timestamp(start)
    if end is not None:
        keep &= dates <= pd.Timestamp(end)
    if campaign is not None:
        keep &= s["campaign"] == campaign
    s = s[keep]
    groups = dict(channel_groups or {})
    ch = s["channel"].astype(str).map(lambda c: groups.get(c, c))
    return s["spend"].groupby(ch.to_numpy()).sum().astype(float).rename("spend")


def cost_per_channel(
    results: pd.DataFrame,
    spend: pd.DataFrame,
    *,
    start=None,
    end=None,
    campaign: str | None = None,
    channel_groups: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """CPA (spend per attributed conversion) and ROAS (attributed value per unit of spend).

    Parameters
    ----------
    results
        Stacked tidy results (``channel, model, conversions, value, share``).
    spend
        The ``spend`` table.
    start, end, campaign, channel_groups
        Which spend to count (see :func:`spend_by_channel`).

    Returns
    -------
    pandas.DataFrame
        ``model, channel, conversions, value, spend, cpa, roas, note``: one row per model and
        channel credited or with spend. A channel with spend and no credit has CPA ``inf``
        and ROAS 0; an unpaid channel has CPA and ROAS NaN; the ``(no touch)`` row has no
        spend. ``note`` says which case applies.
    """
    sp = spend_by_channel(
        spend, start=start, end=end, campaign=campaign, channel_groups=channel_groups
    )
    rows = []
    for model, part in results.groupby("model", sort=False):
        credited = part.set_index("channel")
        channels = sorted(set(credited.index) - {NO_TOUCH} | set(sp.index))
        if NO_TOUCH in credited.index:
            channels.append(NO_TOUCH)
        for c in channels:
            conv = float(credited["conversions"].get(c, 0.0))
            val = float(credited["value"].get(c, 0.0))
            s = float(sp.get(c, 0.0))
            if c == NO_TOUCH:
                cpa, roas, note = np.nan, np.nan, NOTE_NO_TOUCH
            elif s <= 0:
                cpa, roas, note = np.nan, np.nan, NOTE_UNPAID
            elif conv <= 0:
                cpa, roas, note = np.inf, 0.0, NOTE_NO_CREDIT
            else:
                cpa, roas, note = s / conv, val / s, ""
            rows.append((model, c, conv, val, s, cpa, roas, note))
    return pd.DataFrame(
        rows, columns=["model", "channel", "conversions", "value", "spend", "cpa", "roas", "note"]
    )
