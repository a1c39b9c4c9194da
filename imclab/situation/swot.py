"""SWOT: strengths and weaknesses derived from the data by documented rules.

Merged with the plan's opportunities and threats into the classic 2x2 table.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

SWOT_RULES: dict[str, str] = {
    "funnel_vs_best": (
        "Brand-funnel stage conversion vs the best competitor in the same survey wave(s): "
        "strength when the brand converts at least as well as the best competitor; weakness "
        "when it converts worse and the gap is significant (two-proportion z-test, p < alpha) "
        "or the stage is the brand's biggest leak. Smaller gaps may be sampling noise and are "
        "left out."
    ),
    "channel_cpa_vs_median": (
        "Baseline last-touch CPA of each paid channel vs the median over paid channels: "
        "strength when CPA <= cpa_strength x median, weakness when CPA >= cpa_weakness x "
        "median."
    ),
    "channel_roas_below_one": (
        "Weakness when a paid channel's baseline last-touch ROAS is below 1 (its spend is "
        "not paid back by the revenue of the orders it last touched)."
    ),
    "sales_trend": (
        "STL trend of revenue over the analysis window: strength when it rose by more than "
        "trend_threshold, weakness when it fell by more than trend_threshold."
    ),
}
"""The rules that turn figures into strengths and weaknesses (cited in every entry)."""

SWOT_COLUMNS: tuple[str, ...] = ("quadrant", "entry", "figure", "rule", "source")
QUADRANTS: tuple[str, ...] = ("strength", "weakness", "opportunity", "threat")
STAGE_LABELS: dict[str, str] = {
    "awareness": "Awareness",
    "consideration": "Aware -> consideration",
    "preference": "Consideration -> preference",
    "purchase_intent": "Preference -> purchase intent",
    "loyalty": "Aware -> promoter (loyalty)",
}


def _pct(value: float) -> str:
    return f"{100 * value:.1f}%"


def derive_swot(
    *,
    leaks: pd.DataFrame | None = None,
    baseline: pd.DataFrame | None = None,
    sales: pd.DataFrame | None = None,
    group: str | None = None,
    alpha: float = 0.05,
    cpa_strength: float = 0.8,
    cpa_weakness: float = 1.25,
    trend_threshold: float = 0.05,
    currency: str = "",
) -> pd.DataFrame:
    """Derive strengths and weaknesses from the situation figures with :data:`SWOT_RULES`.

    Parameters
    ----------
    leaks
        :func:`imclab.situation.funnel.funnel_leaks` output (rule ``funnel_vs_best``).
    baseline
        :func:`imclab.situation.baseline.channel_baseline` output (CPA and ROAS rules).
    sales
        :func:`imclab.situation.sales.sales_summary` output (rule ``sales_trend``).
    group
        The survey wave group of ``leaks`` to judge (default: the first, i.e. the
        earliest/pre-campaign one).
    alpha
        Significance level of the funnel rule.
    cpa_strength, cpa_weakness
        Multiples of the median CPA that make a strength / weakness.
    trend_threshold
        Relative trend change that counts as growth or decline.
    currency
        Currency code shown with money figures.

    Returns
    -------
    pandas.DataFrame
        Columns ``quadrant, entry, figure, rule, source``: one row per derived entry, each
        citing the figure behind it and the rule that produced it.
    """
    rows: list[dict[str, str]] = []
    money = f"{currency} " if currency else ""
    if leaks is not None and not leaks.empty:
        group = group if group is not None else str(leaks["group"].iloc[0])
        for rec in leaks.loc[leaks["group"] == group].itertuples():
            if pd.isna(rec.brand_conversion) or pd.isna(rec.best_conversion):
                continue
            label = STAGE_LABELS.get(str(rec.stage), str(rec.stage))
            p = rec.p_value
            p_text = f"p = {p:.3f}" if pd.notna(p) else "no test"
            figure = (
                f"{label}: {_pct(rec.brand_conversion)} of {rec.base_of} vs "
                f"{rec.best_competitor} {_pct(rec.best_conversion)} (waves {group}, "
                f"n = {rec.brand_base:.0f}, {p_text})"
            )
            if rec.brand_conversion >= rec.best_conversion:
                quadrant, entry = "strength", f"{label} leads the category"
            elif (pd.notna(p) and p < alpha) or bool(rec.biggest_leak):
                quadrant = "weakness"
                entry = f"{label} trails {rec.best_competitor}"
                if rec.biggest_leak:
                    entry += " (biggest leak in the funnel)"
            else:
                continue
            rows.append(_row(quadrant, entry, figure, "funnel_vs_best", "survey.csv"))
    if baseline is not None and not baseline.empty:
        paid = baseline.loc[baseline["paid"].astype(bool) & baseline["cpa"].notna()]
        if len(paid) >= 2:
            median = float(paid["cpa"].median())
            for rec in paid.itertuples():
                figure = (
                    f"{rec.channel}: CPA {money}{rec.cpa:.2f} vs median {money}{median:.2f} "
                    f"({rec.last_touch_orders} last-touch orders)"
                )
                if rec.cpa <= cpa_strength * median:
                    entry = f"{rec.channel} acquires orders cheaply"
                    rows.append(_row("strength", entry, figure, "channel_cpa_vs_median",
                                     "spend.csv, touchpoints.csv, conversions.csv"))  # fmt: skip
                elif rec.cpa >= cpa_weakness * median:
                    entry = f"{rec.channel} acquires orders expensively"
                    rows.append(_row("weakness", entry, figure, "channel_cpa_vs_median",
                                     "spend.csv, touchpoints.csv, conversions.csv"))  # fmt: skip
        for rec in baseline.loc[baseline["paid"].astype(bool)].itertuples():
            if pd.notna(rec.roas) and rec.roas < 1:
                figure = (
                    f"{rec.channel}: last-touch ROAS {rec.roas:.2f} (revenue "
                    f"{money}{rec.last_touch_revenue:,.0f} on spend {money}{rec.spend:,.0f})"
                )
                rows.append(
                    _row("weakness", f"{rec.channel} does not pay back its spend", figure,
                         "channel_roas_below_one", "spend.csv, conversions.csv")
                )  # fmt: skip
    if sales is not None and not sales.empty:
        trend = sales.loc[sales["figure"] == "trend_change"]
        if len(trend) and np.isfinite(float(trend["value"].iloc[0])):
            change = float(trend["value"].iloc[0])
            figure = f"revenue trend {change:+.1%} ({trend['meaning'].iloc[0]})"
            if change > trend_threshold:
                rows.append(_row("strength", "Sales are growing", figure, "sales_trend",
                                 "conversions.csv"))  # fmt: skip
            elif change < -trend_threshold:
                rows.append(_row("weakness", "Sales are declining", figure, "sales_trend",
                                 "conversions.csv"))  # fmt: skip
    return pd.DataFrame(rows, columns=list(SWOT_COLUMNS))


def _row(quadrant: str, entry: str, figure: str, rule: str, source: str) -> dict[str, str]:
    return {"quadrant": quadrant, "entry": entry, "figure": figure, "rule": rule, "source": source}


def merge_swot(
    derived: pd.DataFrame, opportunities: Sequence[str] = (), threats: Sequence[str] = ()
) -> pd.DataFrame:
    """Add the analyst's opportunities and threats (from the plan's ``swot``) to the entries.

    Parameters
    ----------
    derived
        :func:`derive_swot` output.
    opportunities, threats
        ``plan.swot.opportunities`` and ``plan.swot.threats``.

    Returns
    -------
    pandas.DataFrame
        All entries, ordered strengths, weaknesses, opportunities, threats; plan entries
        cite their YAML path in ``source``.
    """
    extra = [
        _row(quadrant, str(text), "", "analyst (campaign plan)", f"swot.{key}[{i}]")
        for quadrant, key, items in (
            ("opportunity", "opportunities", opportunities),
            ("threat", "threats", threats),
        )
        for i, text in enumerate(items)
    ]
    out = pd.concat([derived, pd.DataFrame(extra, columns=list(SWOT_COLUMNS))], ignore_index=True)
    out["_q"] = out["quadrant"].map({q: i for i, q in enumerate(QUADRANTS)})
    return out.sort_values("_q", kind="stable").drop(columns="_q").reset_index(drop=True)


def swot_table(entries: pd.DataFrame) -> pd.DataFrame:
    """Render SWOT entries as the classic 2x2 table (internal/external x helpful/harmful).

    Parameters
    ----------
    entries
        :func:`merge_swot` output.

    Returns
    -------
    pandas.DataFrame
        Index ``Internal``, ``External``; columns ``Helpful``, ``Harmful``; each cell lists
        its entries, one per line, data-derived ones followed by their figure in brackets.
        An empty quadrant says so instead of staying blank.
    """
    empty = {
        "strength": "(no strength found by the rules)",
        "weakness": "(no weakness found by the rules)",
        "opportunity": "(none written in the plan: add swot.opportunities)",
        "threat": "(none written in the plan: add swot.threats)",
    }
    cells = {}
    for quadrant in QUADRANTS:
        part = entries.loc[entries["quadrant"] == quadrant]
        lines = [
            f"- {r.entry} [{r.figure}]" if r.figure else f"- {r.entry}" for r in part.itertuples()
        ]
        cells[quadrant] = "\n".join(lines) if lines else empty[quadrant]
    return pd.DataFrame(
        {
            "Helpful": [cells["strength"], cells["opportunity"]],
            "Harmful": [cells["weakness"], cells["threat"]],
        },
        index=pd.Index(["Internal", "External"], name="SWOT"),
    )
