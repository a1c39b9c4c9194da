"""Brand funnel from the survey waves (awareness to loyalty), brand vs competitors.

Stage-to-stage conversion with Wilson confidence intervals, and where the brand leaks most.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import norm
from statsmodels.stats.proportion import proportions_ztest

from imclab.config import FUNNEL_STAGES
from imclab.kpis import SURVEY_FLAGS, DateLike, in_window, plain, to_window, wilson_interval

FUNNEL_COLUMNS: tuple[str, ...] = (
    "group", "fieldwork_date", "period", "brand", "stage", "step", "respondents", "base",
    "reached", "share", "share_low", "share_high", "conversion", "conversion_low",
    "conversion_high", "nps", "nps_low", "nps_high", "warning",
)  # fmt: skip
"""Columns of :func:`brand_funnel`."""

BASE_OF: dict[str, str] = {
    "awareness": "respondents",
    "consideration": "aware",
    "preference": "considering",
    "purchase_intent": "preferring",
    "loyalty": "aware with an NPS answer",
}
"""What each stage's ``conversion`` is a share of."""


def brand_funnel(
    survey: pd.DataFrame,
    brands: list[str] | tuple[str, ...],
    start: DateLike | None = None,
    end: DateLike | None = None,
    *,
    pooled: bool = False,
    min_respondents: int = 30,
    min_base: int = 10,
    alpha: float = 0.05,
) -> pd.DataFrame:
    """Return the brand funnel per survey wave and brand, with stage-to-stage conversion.

    Stages (:data:`imclab.config.FUNNEL_STAGES`): ``awareness`` .. ``purchase_intent`` are
    the survey flags ``aware``, ``consider``, ``prefer``, ``intent``; ``loyalty`` counts
    promoters (NPS 9-10) among aware respondents who answered the NPS question, and carries
    the brand's NPS (promoters - detractors, in points) with a normal-approximation
    interval. ``share`` is the share of all respondents who reached the stage;
    ``conversion`` the share of the previous stage's respondents who also reached this one
    (see :data:`BASE_OF`; flags need not be nested, so it never exceeds 1).
    Intervals are Wilson score intervals (statsmodels ``proportion_confint``).

    Bad input becomes a ``warning`` on the row, never an exception or a missing row:
    a brand with no respondents in a wave (NaN values), fewer than ``min_respondents``
    respondents (values kept, no interval), or a conversion base below ``min_base``.

    Parameters
    ----------
    survey
        The survey table.
    brands
        Our brand first, then the competitors; every brand gets rows in every wave.
    start, end
        Keep waves whose ``fieldwork_date`` is in this window (default: all waves).
    pooled
        Pool all waves in the window into one group (labelled ``W1+W2``) instead of one
        group per wave.
    min_respondents
        Fewest respondents per brand and wave for an interval.
    min_base
        Fewest respondents at the previous stage for a conversion interval.
    alpha
        1 - confidence level.

    Returns
    -------
    pandas.DataFrame
        One row per group, brand and stage; columns :data:`FUNNEL_COLUMNS`.
    """
    data = _survey_in_window(survey, start, end)
    waves = (
        data.groupby("wave", sort=False)
        .agg(fieldwork_date=("fieldwork_date", "min"), period=("period", "first"))
        .sort_values(["fieldwork_date"], kind="stable")
    )
    if pooled and len(waves):
        label = "+".join(waves.index)
        data = data.assign(wave=label)
        periods = "+".join(dict.fromkeys(waves["period"]))
        waves = pd.DataFrame(
            {"fieldwork_date": [waves["fieldwork_date"].min()], "period": [periods]},
            index=pd.Index([label], name="wave"),
        )
    rows: list[dict[str, object]] = []
    for wave, info in waves.iterrows():
        in_wave = data.loc[data["wave"] == wave]
        for brand in brands:
            answers = in_wave.loc[in_wave["brand"] == brand]
            rows.extend(
                _brand_rows(answers, str(wave), info, brand, min_respondents, min_base, alpha)
            )
    return pd.DataFrame(rows, columns=list(FUNNEL_COLUMNS))


def _survey_in_window(
    survey: pd.DataFrame, start: DateLike | None, end: DateLike | None
) -> pd.DataFrame:
    data = plain(survey)
    data["fieldwork_date"] = pd.to_datetime(data["fieldwork_date"])
    if start is not None or end is not None:
        lo, hi = to_window(
            start if start is not None else data["fieldwork_date"].min(),
            end if end is not None else data["fieldwork_date"].max(),
        )
        data = data.loc[in_window(data["fieldwork_date"], lo, hi)]
    return data


def _brand_rows(
    answers: pd.DataFrame,
    wave: str,
    info: pd.Series,
    brand: str,
    min_respondents: int,
    min_base: int,
    alpha: float,
) -> list[dict[str, object]]:
    n = len(answers)
    common = {
        "group": wave,
        "fieldwork_date": info["fieldwork_date"],
        "period": info["period"],
        "brand": brand,
        "respondents": n,
    }
    if n == 0:
        reason = f"{brand} has no respondents in wave {wave}: stage values unknown"
        return [
            {**common, "stage": stage, "step": i, "warning": reason}
            for i, stage in enumerate(FUNNEL_STAGES)
        ]
    flags = {stage: pd.to_numeric(answers[col]).fillna(0).astype(int) for stage, col in
             SURVEY_FLAGS.items()}  # fmt: skip
    aware = flags["awareness"] == 1
    score = pd.to_numeric(answers["nps"], errors="coerce").loc[aware].dropna()
    reached = [int(flags[s].sum()) for s in SURVEY_FLAGS] + [int((score >= 9).sum())]
    bases = [n, *reached[:3], len(score)]
    # Stage-to-stage conversion counts the respondents at both stages: survey flags need not
    # be nested (someone may consider a brand they did not tick as aware), and reached[i] /
    # reached[i - 1] could then exceed 1.
    stages = list(SURVEY_FLAGS)
    both = [reached[0]]
    both += [
        int(((flags[s] == 1) & (flags[p] == 1)).sum())
        for p, s in zip(stages[:-1], stages[1:], strict=True)
    ]
    both.append(reached[4])
    share_lo, share_hi = wilson_interval(reached, [n] * len(reached), alpha)
    conv_lo, conv_hi = wilson_interval(both, bases, alpha)
    out = []
    for i, stage in enumerate(FUNNEL_STAGES):
        warnings = []
        row = {
            **common,
            "stage": stage,
            "step": i,
            "base": bases[i],
            "reached": reached[i],
            "share": reached[i] / n,
            "conversion": both[i] / bases[i] if bases[i] else np.nan,
        }
        if n >= min_respondents:
            row["share_low"], row["share_high"] = share_lo[i], share_hi[i]
        else:
            warnings.append(
                f"only {n} respondents for {brand} in wave {wave} (< {min_respondents}): "
                "too few for a confidence interval"
            )
        if bases[i] >= min_base and n >= min_respondents:
            row["conversion_low"], row["conversion_high"] = conv_lo[i], conv_hi[i]
        elif bases[i] < min_base:
            warnings.append(
                f"{stage} conversion rests on {bases[i]} {BASE_OF[stage]} respondents "
                f"(< {min_base}): no interval"
            )
        if stage == "loyalty" and len(score):
            row.update(_nps(score, alpha, interval=len(score) >= min_base))
        row["warning"] = "; ".join(warnings)
        out.append(row)
    return out


def _nps(score: pd.Series, alpha: float, *, interval: bool) -> dict[str, float]:
    """NPS in points with a normal-approximation interval (multinomial variance)."""
    n = len(score)
    p_pro = float((score >= 9).mean())
    p_det = float((score <= 6).mean())
    value = p_pro - p_det
    out = {"nps": 100 * value, "nps_low": np.nan, "nps_high": np.nan}
    if interval:
        se = np.sqrt(max(p_pro + p_det - value**2, 0.0) / n)
        z = norm.ppf(1 - alpha / 2)
        out["nps_low"] = 100 * max(value - z * se, -1.0)
        out["nps_high"] = 100 * min(value + z * se, 1.0)
    return out


def funnel_leaks(funnel: pd.DataFrame, brand: str) -> pd.DataFrame:
    """Compare the brand's stage conversion with the competitors' in each wave group.

    For every group and stage: the brand's conversion, the best competitor's, the
    competitors' mean, the gap to the best (points and relative ``index``: brand / best),
    and a two-proportion z-test of brand vs best competitor (statsmodels
    ``proportions_ztest``). ``biggest_leak`` marks, per group, the stage with the lowest
    index vs the best competitor: where the brand loses the most people relative to the
    strongest rival. Stages without competitor data get a warning instead of a value.

    Parameters
    ----------
    funnel
        Output of :func:`brand_funnel`.
    brand
        Our brand.

    Returns
    -------
    pandas.DataFrame
        Columns ``group, stage, step, base_of, brand_conversion, brand_base,
        best_competitor, best_conversion, competitor_mean, gap_vs_best, index_vs_best,
        p_value, biggest_leak, warning``.
    """
    out = []
    for (group, stage), part in funnel.groupby(["group", "stage"], sort=False):
        ours = part.loc[part["brand"] == brand]
        rivals = part.loc[(part["brand"] != brand) & part["conversion"].notna()]
        row: dict[str, object] = {
            "group": group,
            "stage": stage,
            "step": int(part["step"].iloc[0]),
            "base_of": BASE_OF[str(stage)],
            "biggest_leak": False,
        }
        warnings = []
        value = float(ours["conversion"].iloc[0]) if len(ours) else np.nan
        row["brand_conversion"] = value
        row["brand_base"] = float(ours["base"].iloc[0]) if len(ours) else np.nan
        if np.isnan(value):
            warnings.append(f"no {brand} value for {stage} in {group}")
        missing = sorted(set(part.loc[part["conversion"].isna(), "brand"]) - {brand})
        if missing:
            warnings.append(f"no data for {', '.join(missing)} in {group}")
        if rivals.empty:
            warnings.append(f"no competitor has a {stage} value in {group}: no comparison")
        else:
            best = rivals.loc[rivals["conversion"].idxmax()]
            row["best_competitor"] = best["brand"]
            row["best_conversion"] = float(best["conversion"])
            row["competitor_mean"] = float(rivals["conversion"].mean())
            if not np.isnan(value):
                row["gap_vs_best"] = value - float(best["conversion"])
                row["index_vs_best"] = (
                    value / float(best["conversion"]) if best["conversion"] else np.nan
                )
                counts = np.array([float(ours["reached"].iloc[0]), float(best["reached"])])
                nobs = np.array([float(ours["base"].iloc[0]), float(best["base"])])
                if (nobs > 0).all() and 0 < counts.sum() < nobs.sum():
                    row["p_value"] = float(proportions_ztest(counts, nobs)[1])
        row["warning"] = "; ".join(warnings)
        out.append(row)
    columns = ["group", "stage", "step", "base_of", "brand_conversion", "brand_base",
               "best_competitor", "best_conversion", "competitor_mean", "gap_vs_best",
               "index_vs_best", "p_value", "biggest_leak", "warning"]  # fmt: skip
    leaks = pd.DataFrame(out).reindex(columns=columns)
    for _, part in leaks.groupby("group", sort=False):
        index = part["index_vs_best"].astype(float)
        if index.notna().any():
            leaks.loc[index.idxmin(), "biggest_leak"] = True
    order = {g: i for i, g in enumerate(dict.fromkeys(funnel["group"]))}
    leaks["_order"] = leaks["group"].map(order)
    leaks = leaks.sort_values(["_order", "step"], kind="stable").drop(columns="_order")
    return leaks.reset_index(drop=True)


def biggest_leak(leaks: pd.DataFrame, group: str | None = None) -> pd.Series | None:
    """Return the biggest-leak row of a group (the last group by default), or None.

    Parameters
    ----------
    leaks
        Output of :func:`funnel_leaks`.
    group
        The wave group; default the last one in the table.

    Returns
    -------
    pandas.Series or None
        The row flagged ``biggest_leak``, None when no stage could be compared.
    """
    if leaks.empty:
        return None
    group = group if group is not None else leaks["group"].iloc[-1]
    hit = leaks.loc[(leaks["group"] == group) & leaks["biggest_leak"].astype(bool)]
    return hit.iloc[0] if len(hit) else None
