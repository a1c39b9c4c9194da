"""What caused the change: pre/post survey lift, A/B test read-outs and geo-holdout incrementality.

Every function takes tables with data-dictionary columns and returns a DataFrame (or a small
result object with ``summary()``); bad input gives a warning and a ``warning`` column entry. The
event tables (``customers``, ``conversions``) may be pandas DataFrames or Ibis tables (DuckDB,
Spark): they are reduced where they live (:func:`imclab.engine.to_ibis`) and only per-customer
or per-day results come back to pandas.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd
import statsmodels.formula.api as smf
from statsmodels.stats.power import NormalIndPower
from statsmodels.stats.proportion import (
    confint_proportions_2indep,
    proportion_effectsize,
    proportions_ztest,
)
from statsmodels.stats.weightstats import CompareMeans, DescrStatsW

from imclab.engine import quiet, to_ibis
from imclab.errors import DataError, ParameterError

__all__ = [
    "AB_METRICS",
    "SURVEY_STAGES",
    "DidResult",
    "ReviewWarning",
    "ab_readout",
    "holdout_did",
    "placebo_did",
    "survey_lift",
    "two_proportion_test",
    "weekly_outcome",
]


class ReviewWarning(UserWarning):
    """Input the review works around but the analyst must know about (missing wave, empty arm)."""


SURVEY_STAGES: dict[str, str] = {
    "aware": "awareness",
    "consider": "consideration",
    "prefer": "preference",
    "intent": "purchase_intent",
}
"""Survey flag -> brand-funnel stage (see :data:`imclab.config.FUNNEL_STAGES`)."""

AB_METRICS: dict[str, tuple[str, str]] = {
    "open_rate": ("opens", "sends"),
    "click_rate": ("clicks", "opens"),
    "conversion_rate": ("conversions", "clicks"),
    "conversions_per_send": ("conversions", "sends"),
}
"""A/B metric -> (numerator, denominator) columns of ``ab_tests``.

Click and conversion rates are conditional on the previous step (click-to-open, orders per
click), so each step's test isolates what the variant changed; ``conversions_per_send`` is the
end-to-end business outcome.
"""

_MIN_EVENTS = 10  # successes and failures per arm for the normal approximation to hold
_TARGET_POWER = 0.8
_MIN_CLUSTERS = 10  # regions per DiD group below which region-clustered errors are unreliable


def _warn(message: str) -> str:
    warnings.warn(message, ReviewWarning, stacklevel=3)
    return message


def _require(frame: pd.DataFrame | ir.Table, columns: Sequence[str], table: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise DataError(
            f"{table}: missing column(s) {', '.join(missing)} "
            f"(found {', '.join(map(str, frame.columns)) or 'none'}; see data/README.md)"
        )


def _timestamp(col: ir.Value) -> ir.TimestampValue:
    """Return a timestamp column as an Ibis timestamp (text timestamps of raw CSV are cast)."""
    return col if col.type().is_timestamp() else col.cast("timestamp")


def _region_groups(customers: ir.Table, holdout: Sequence[str]) -> ir.Table:
    """``customer_id, region, treated``: 0 in a holdout region, 1 elsewhere (also no region)."""
    region = customers.region.cast("string")
    return customers.select(
        customer_id=customers.customer_id.cast("string"),
        region=region,
        treated=ibis.ifelse(region.isin(list(holdout)).fill_null(False), 0, 1),
    )


# --------------------------------------------------------------------------------------
# Two proportions
# --------------------------------------------------------------------------------------
def two_proportion_test(
    x_control: float,
    n_control: float,
    x_variant: float,
    n_variant: float,
    alpha: float = 0.05,
    power: float = _TARGET_POWER,
) -> dict[str, float]:
    """Compare two proportions: lift, Newcomb confidence interval, z-test, Cohen's h and power.

    Parameters
    ----------
    x_control, n_control
        Successes and trials of the control (or pre-period) group.
    x_variant, n_variant
        Successes and trials of the variant (or post-period) group.
    alpha
        Significance level; the interval has coverage ``1 - alpha``.
    power
        Power the required sample size is computed for.

    Returns
    -------
    dict
        ``rate_control, rate_variant, abs_lift, rel_lift, ci_low, ci_high, z, p_value,
        cohen_h, power, n_needed_per_arm``. Values that cannot be computed (an empty group, no
        difference) are NaN; ``n_needed_per_arm`` is NaN when the observed effect is zero.

    Notes
    -----
    ``power`` is the achieved power for the *observed* effect (``NormalIndPower`` with Cohen's
    h at the observed sample sizes) and ``n_needed_per_arm`` the sample per arm that would give
    80 % power for that effect: read them as "was this test big enough for an effect this
    size", not as evidence for or against the effect.
    """
    out = dict.fromkeys(
        (
            "rate_control",
            "rate_variant",
            "abs_lift",
            "rel_lift",
            "ci_low",
            "ci_high",
            "z",
            "p_value",
            "cohen_h",
            "power",
            "n_needed_per_arm",
        ),
        np.nan,
    )
    if n_control <= 0 or n_variant <= 0:
        return out
    p0, p1 = x_control / n_control, x_variant / n_variant
    out.update(rate_control=p0, rate_variant=p1, abs_lift=p1 - p0)
    out["rel_lift"] = (p1 - p0) / p0 if p0 > 0 else np.nan
    low, high = confint_proportions_2indep(
        x_variant, n_variant, x_control, n_control, method="newcomb", compare="diff", alpha=alpha
    )
    out.update(ci_low=float(low), ci_high=float(high))
    pooled = (x_control + x_variant) / (n_control + n_variant)
    if 0 < pooled < 1:
        z, p = proportions_ztest([x_variant, x_control], [n_variant, n_control])
        out.update(z=float(z), p_value=float(p))
    h = float(proportion_effectsize(p1, p0))
    out["cohen_h"] = h
    if h != 0:
        analysis = NormalIndPower()
        out["power"] = float(
            analysis.power(abs(h), nobs1=n_control, alpha=alpha, ratio=n_variant / n_control)
        )
        out["n_needed_per_arm"] = float(
            np.ceil(analysis.solve_power(abs(h), power=power, alpha=alpha, ratio=1.0))
        )
    return out


# --------------------------------------------------------------------------------------
# Pre/post brand survey
# --------------------------------------------------------------------------------------
def _nps_values(scores: pd.Series) -> np.ndarray:
    s = pd.to_numeric(scores, errors="coerce").dropna().to_numpy()
    return np.where(s >= 9, 100.0, np.where(s <= 6, -100.0, 0.0))


def survey_lift(
    survey: pd.DataFrame | None,
    brand: str = "Lumina",
    pre_waves: Sequence[str] | None = None,
    post_waves: Sequence[str] | None = None,
    alpha: float = 0.05,
) -> pd.DataFrame:
    """Lift of each brand-funnel stage from the pre- to the post-campaign survey waves.

    Each stage's share (``aware``, ``consider``, ``prefer``, ``intent``: all respondents as the
    base) is compared with a two-proportion z-test and a Newcomb 95 % interval for the
    difference; NPS (among aware respondents with an answer, as the KPI catalogue defines it)
    with a Welch t-interval.

    Parameters
    ----------
    survey
        The ``survey`` table (None when the data has none).
    brand
        Brand to read (ours by default; competitors give the market's background change).
    pre_waves, post_waves
        Waves to pool on each side; default: by the ``period`` column (``pre`` / ``post``).
    alpha
        Significance level.

    Returns
    -------
    pandas.DataFrame
        One row per stage (``awareness`` .. ``purchase_intent``, then ``nps``): ``stage,
        pre_waves, post_waves, n_pre, n_post, pre, post, lift, ci_low, ci_high, p_value,
        significant, warning``. When a side has no wave the numbers are NaN and ``warning``
        says which wave is missing (a :class:`ReviewWarning` is issued too).
    """
    stages = [*SURVEY_STAGES.values(), "nps"]
    columns = [
        "stage",
        "pre_waves",
        "post_waves",
        "n_pre",
        "n_post",
        "pre",
        "post",
        "lift",
        "ci_low",
        "ci_high",
        "p_value",
        "significant",
        "warning",
    ]

    def empty(reason: str) -> pd.DataFrame:
        frame = pd.DataFrame({"stage": stages})
        for col in columns[1:]:
            frame[col] = np.nan
        frame["pre_waves"] = frame["post_waves"] = ""
        frame["significant"] = False
        frame["warning"] = _warn(reason)
        return frame[columns]

    if survey is None or len(survey) == 0:
        return empty("no survey table: brand-funnel lift cannot be measured")
    _require(survey, ["wave", "period", "brand", *SURVEY_STAGES, "nps"], "survey")
    rows = survey[survey["brand"] == brand]
    if rows.empty:
        brands = ", ".join(sorted(survey["brand"].astype(str).unique()))
        return empty(f"survey: no respondents for brand {brand!r} (brands: {brands})")
    waves = rows.groupby(rows["wave"].astype(str), sort=True)["period"].first().astype(str)
    pre = list(pre_waves) if pre_waves is not None else list(waves[waves == "pre"].index)
    post = list(post_waves) if post_waves is not None else list(waves[waves == "post"].index)
    found = ", ".join(f"{w} ({p})" for w, p in waves.items())
    missing = [w for w in [*pre, *post] if w not in waves.index]
    if missing:
        return empty(f"survey: wave(s) {', '.join(missing)} not found; waves: {found}")
    if not pre or not post:
        side = "pre-campaign" if not pre else "post-campaign"
        return empty(f"survey: no {side} wave, so no lift can be measured; waves: {found}")
    wave = rows["wave"].astype(str)
    before, after = rows[wave.isin(pre)], rows[wave.isin(post)]
    out = []
    for flag, stage in SURVEY_STAGES.items():
        x0, n0 = float(before[flag].sum()), float(before[flag].notna().sum())
        x1, n1 = float(after[flag].sum()), float(after[flag].notna().sum())
        t = two_proportion_test(x0, n0, x1, n1, alpha=alpha)
        out.append(
            {
                "stage": stage,
                "n_pre": n0,
                "n_post": n1,
                "pre": t["rate_control"],
                "post": t["rate_variant"],
                "lift": t["abs_lift"],
                "ci_low": t["ci_low"],
                "ci_high": t["ci_high"],
                "p_value": t["p_value"],
            }
        )
    # NPS as the catalogue defines it (imclab.kpis): among aware respondents with an answer.
    v0 = _nps_values(before.loc[pd.to_numeric(before["aware"]) == 1, "nps"])
    v1 = _nps_values(after.loc[pd.to_numeric(after["aware"]) == 1, "nps"])
    nps = {"stage": "nps", "n_pre": float(v0.size), "n_post": float(v1.size)}
    if v0.size >= 2 and v1.size >= 2:
        cm = CompareMeans(DescrStatsW(v1), DescrStatsW(v0))
        low, high = cm.tconfint_diff(alpha=alpha, usevar="unequal")
        _, p, _ = cm.ttest_ind(usevar="unequal")
        nps.update(
            pre=v0.mean(), post=v1.mean(), lift=v1.mean() - v0.mean(), ci_low=low, ci_high=high
        )
        nps["p_value"] = p
    out.append(nps)
    frame = pd.DataFrame(out).reindex(columns=columns)
    frame["pre_waves"] = ", ".join(pre)
    frame["post_waves"] = ", ".join(post)
    frame["significant"] = frame["p_value"].lt(alpha)
    frame["warning"] = ""
    return frame[columns]


# --------------------------------------------------------------------------------------
# A/B tests
# --------------------------------------------------------------------------------------
def ab_readout(
    ab_tests: pd.DataFrame | None,
    metrics: Sequence[str] = tuple(AB_METRICS),
    control: str = "A",
    alpha: float = 0.05,
    min_events: int = _MIN_EVENTS,
) -> pd.DataFrame:
    """Read out every A/B test: rates per variant, lift against control, CI, p-value and power.

    Parameters
    ----------
    ab_tests
        The ``ab_tests`` table (one row per test and variant).
    metrics
        Metrics of :data:`AB_METRICS` to read out.
    control
        Variant label of the control arm (the first variant in label order when absent).
    alpha
        Significance level.
    min_events
        Fewest successes (and failures) per arm for the normal approximation; below it the row
        is flagged "too small".

    Returns
    -------
    pandas.DataFrame
        One row per test, metric and non-control variant: ``test_id, channel, metric,
        control, variant, n_control, x_control, rate_control, n_variant, x_variant,
        rate_variant, abs_lift, rel_lift, ci_low, ci_high, p_value, significant, cohen_h,
        power, n_needed_per_arm, warning``. ``warning`` names underpowered metrics (power below
        80 %), too-small samples and empty arms; empty arms also raise a
        :class:`ReviewWarning`.
    """
    columns = [
        "test_id",
        "channel",
        "metric",
        "control",
        "variant",
        "n_control",
        "x_control",
        "rate_control",
        "n_variant",
        "x_variant",
        "rate_variant",
        "abs_lift",
        "rel_lift",
        "ci_low",
        "ci_high",
        "p_value",
        "significant",
        "cohen_h",
        "power",
        "n_needed_per_arm",
        "warning",
    ]
    unknown = [m for m in metrics if m not in AB_METRICS]
    if unknown:
        raise ParameterError(
            f"unknown A/B metric(s) {', '.join(unknown)}; valid: {', '.join(AB_METRICS)}"
        )
    if ab_tests is None or len(ab_tests) == 0:
        _warn("no ab_tests table: there is no A/B test to read out")
        return pd.DataFrame(columns=columns)
    _require(ab_tests, ["test_id", "channel", "variant", "sends", "opens", "clicks", "conversions"],
             "ab_tests")  # fmt: skip
    rows = []
    for test_id, test in ab_tests.sort_values(["test_id", "variant"]).groupby("test_id", sort=True):
        variants = list(test["variant"].astype(str))
        ctrl = control if control in variants else variants[0]
        if len(variants) < 2:
            _warn(f"ab_tests: test {test_id!r} has only variant {ctrl!r}: nothing to compare")
            continue
        c = test[test["variant"].astype(str) == ctrl].iloc[0]
        for _, v in test[test["variant"].astype(str) != ctrl].iterrows():
            for metric in metrics:
                num, den = AB_METRICS[metric]
                xc, nc, xv, nv = (float(c[num]), float(c[den]), float(v[num]), float(v[den]))
                stats = two_proportion_test(xc, nc, xv, nv, alpha=alpha)
                notes = []
                empty = [
                    f"{lab} has 0 {den}" for lab, n in ((ctrl, nc), (v["variant"], nv)) if n <= 0
                ]
                if empty:
                    notes.append(
                        _warn(
                            f"ab_tests: test {test_id!r} {metric}: arm {' and arm '.join(empty)}; "
                            "no rate can be compared"
                        )
                    )
                else:
                    low = [
                        f"{lab}: {int(x)} {num} of {int(n)}"
                        for lab, x, n in ((ctrl, xc, nc), (v["variant"], xv, nv))
                        if min(x, n - x) < min_events
                    ]
                    if low:
                        notes.append(
                            f"too small: fewer than {min_events} {num} or non-{num} in an arm "
                            f"({'; '.join(low)})"
                        )
                    if not np.isnan(stats["power"]) and stats["power"] < _TARGET_POWER:
                        notes.append(
                            f"underpowered: {stats['power']:.0%} power for the observed lift; "
                            f"about {stats['n_needed_per_arm']:,.0f} {den} per arm needed for 80%"
                        )
                    elif np.isnan(stats["power"]):
                        notes.append("no difference observed: power undefined")
                rows.append(
                    {
                        "test_id": test_id,
                        "channel": c.get("channel"),
                        "metric": metric,
                        "control": ctrl,
                        "variant": v["variant"],
                        "n_control": nc,
                        "x_control": xc,
                        "n_variant": nv,
                        "x_variant": xv,
                        **stats,
                        "warning": "; ".join(notes),
                    }
                )
    frame = pd.DataFrame(rows).reindex(columns=columns)
    frame["significant"] = frame["p_value"].lt(alpha)
    return frame


# --------------------------------------------------------------------------------------
# Geo holdout: difference in differences
# --------------------------------------------------------------------------------------
@dataclass
class DidResult:
    """A difference-in-differences estimate of the campaign's incremental conversions.

    Attributes
    ----------
    estimate, ci_low, ci_high, std_error, p_value
        Incremental conversions per treated customer per week (treated change minus holdout
        change), its confidence interval, standard error and p-value.
    window_weeks
        Length of the post (campaign) window in weeks.
    treated_customers, holdout_customers
        Customers in the treated and holdout regions.
    means
        Conversions per customer per week: rows ``treated``/``holdout``, columns
        ``pre``/``post``/``change``.
    cov_type
        Standard-error type (``cluster by customer``, ``cluster by region``, ``HC1``).
    periods
        ``{"pre": (start, end), "post": (start, end)}`` dates (inclusive).
    """

    estimate: float
    ci_low: float
    ci_high: float
    std_error: float
    p_value: float
    window_weeks: float
    treated_customers: int
    holdout_customers: int
    means: pd.DataFrame
    cov_type: str
    periods: dict[str, tuple[pd.Timestamp, pd.Timestamp]] = field(default_factory=dict)
    alpha: float = 0.05

    @property
    def per_customer_in_window(self) -> tuple[float, float, float]:
        """Incremental conversions per treated customer over the whole window (est, low, high)."""
        w = self.window_weeks
        return self.estimate * w, self.ci_low * w, self.ci_high * w

    @property
    def incremental_conversions(self) -> tuple[float, float, float]:
        """Incremental conversions of all treated customers in the window (est, low, high)."""
        n = self.treated_customers
        return tuple(v * n for v in self.per_customer_in_window)  # type: ignore[return-value]

    @property
    def relative_lift(self) -> float:
        """Estimate as a share of the treated group's counterfactual post-period rate."""
        m = self.means
        counterfactual = m.loc["treated", "post"] - self.estimate
        return self.estimate / counterfactual if counterfactual > 0 else np.nan

    def summary(self) -> pd.DataFrame:
        """Return the estimate in three units, with the interval, as a table.

        Returns
        -------
        pandas.DataFrame
            Rows ``per customer per week``, ``per customer in window``, ``incremental
            conversions``; columns ``estimate, ci_low, ci_high``, plus ``p_value``.
        """
        units = {
            "per customer per week": (self.estimate, self.ci_low, self.ci_high),
            "per customer in window": self.per_customer_in_window,
            "incremental conversions": self.incremental_conversions,
        }
        frame = pd.DataFrame(units, index=["estimate", "ci_low", "ci_high"]).T
        frame.index.name = "unit"
        frame["p_value"] = self.p_value
        return frame


def _day(value: object, name: str) -> pd.Timestamp:
    try:
        return pd.Timestamp(value).normalize()
    except (TypeError, ValueError):
        raise ParameterError(
            f"{name}: cannot read {value!r} as a date (expected ISO 8601)"
        ) from None


def _customer_periods(
    customers: ir.Table,
    conversions: ir.Table,
    holdout: Sequence[str],
    periods: dict[str, tuple[pd.Timestamp, pd.Timestamp]],
) -> pd.DataFrame:
    """Conversions per customer per week in each period, one row per customer and period.

    The orders are counted per customer and period in the engine; one row per customer
    (``customer_id, region, treated`` and a count per period) comes back.
    """
    conv = conversions.select(
        customer_id=conversions.customer_id.cast("string"),
        day=_timestamp(conversions.timestamp).date(),
    )
    lo = min(start for start, _ in periods.values())
    hi = max(end for _, end in periods.values())
    conv = conv.filter((conv.day >= lo.date()) & (conv.day <= hi.date()))
    counts = conv.group_by("customer_id").agg(
        **{
            f"n_{name}": ((conv.day >= start.date()) & (conv.day <= end.date())).cast("int64").sum()
            for name, (start, end) in periods.items()
        }
    )
    groups = _region_groups(customers, holdout)
    joined = groups.left_join(counts, "customer_id")
    per_customer = (
        joined.select(
            "customer_id",
            "region",
            "treated",
            **{f"n_{name}": joined[f"n_{name}"].fill_null(0) for name in periods},
        )
        .execute()
        .sort_values("customer_id", kind="mergesort")
    )
    parts = []
    for name, (start, end) in periods.items():
        weeks = ((end - start).days + 1) / 7
        parts.append(
            pd.DataFrame(
                {
                    "customer_id": per_customer["customer_id"].to_numpy(),
                    "region": per_customer["region"].to_numpy(),
                    "treated": per_customer["treated"].to_numpy(dtype="int64"),
                    "post": int(name == "post"),
                    "y": per_customer[f"n_{name}"].to_numpy(dtype="int64") / weeks,
                }
            )
        )
    return pd.concat(parts, ignore_index=True)


@quiet
def holdout_did(
    customers: pd.DataFrame | ir.Table,
    conversions: pd.DataFrame | ir.Table,
    holdout_regions: Sequence[str],
    post_start: object,
    post_end: object,
    pre_start: object | None = None,
    pre_end: object | None = None,
    cluster: str = "customer",
    alpha: float = 0.05,
) -> DidResult:
    """Estimate the incremental conversions of the campaign from a geo holdout (DiD).

    The outcome is each customer's conversions per week in the pre period and in the post
    (campaign) window. ``y ~ treated + post + treated:post`` is fitted by OLS (statsmodels);
    the ``treated:post`` coefficient is the average effect on the treated per customer per week.

    Parameters
    ----------
    customers
        ``customers`` table (``customer_id``, ``region``): a pandas DataFrame or an Ibis table
        (DuckDB, Spark); the orders are counted per customer and period where it lives.
    conversions
        ``conversions`` table (``customer_id``, ``timestamp``), pandas or Ibis.
    holdout_regions
        Regions kept dark (the plan's ``holdout_regions``); the rest are treated.
    post_start, post_end
        The campaign window (inclusive dates).
    pre_start, pre_end
        The comparison period; default: from the first order to the day before ``post_start``.
    cluster
        ``"customer"`` (default: each customer's two periods are correlated), ``"region"``
        (valid only with many regions in both groups: a :class:`ReviewWarning` is issued
        when the treated or the holdout group has fewer than 10) or ``"hc"`` (HC1
        heteroskedasticity-robust). With customer clustering the interval reflects
        customer-to-customer noise only: a shock hitting a whole region (a local promotion,
        weather) is indistinguishable from the campaign effect when one region is held out,
        so read the interval together with :func:`placebo_did`.
    alpha
        The interval has coverage ``1 - alpha``.

    Returns
    -------
    DidResult
        Estimate, interval, 2x2 table of means; see :meth:`DidResult.summary`.

    Raises
    ------
    DataError
        A holdout region has no customers, or no region is treated.
    ParameterError
        Bad dates (post before pre, an empty period) or an unknown ``cluster``.
    """
    _require(customers, ["customer_id", "region"], "customers")
    _require(conversions, ["customer_id", "timestamp"], "conversions")
    if cluster not in ("customer", "region", "hc"):
        raise ParameterError(f"cluster: {cluster!r} is not one of customer, region, hc")
    holdout = list(holdout_regions)
    if not holdout:
        raise ParameterError("holdout_regions is empty: the plan keeps no region dark")
    cust = to_ibis(customers, "customers", ["customer_id", "region"])
    conv = to_ibis(conversions, "conversions", ["customer_id", "timestamp"])
    found = cust.select(region=cust.region.cast("string")).distinct().execute()["region"]
    regions = sorted(found.dropna())
    absent = [r for r in holdout if r not in regions]
    if absent:
        raise DataError(
            f"customers.region: holdout region(s) {', '.join(absent)} have no customers "
            f"(regions: {', '.join(regions)})"
        )
    if set(regions) <= set(holdout):
        raise DataError("customers.region: every region is a holdout region; nothing is treated")
    post0, post1 = _day(post_start, "post_start"), _day(post_end, "post_end")
    if pre_start is None:
        pre_start = _timestamp(conv.timestamp).min().execute()
    pre0 = _day(pre_start, "pre_start")
    pre1 = _day(pre_end, "pre_end") if pre_end is not None else post0 - pd.Timedelta(days=1)
    if post1 < post0 or pre1 < pre0:
        raise ParameterError(
            f"empty period: pre {pre0:%Y-%m-%d}..{pre1:%Y-%m-%d}, "
            f"post {post0:%Y-%m-%d}..{post1:%Y-%m-%d}"
        )
    if pre1 >= post0:
        raise ParameterError(
            f"pre period ends {pre1:%Y-%m-%d}, not before the post window starts {post0:%Y-%m-%d}"
        )
    if cluster == "region":
        n_hold = len(set(holdout))
        n_treat = len(set(regions) - set(holdout))
        if min(n_hold, n_treat) < _MIN_CLUSTERS:
            _warn(
                f"holdout_did: standard errors clustered by region rest on {n_treat} treated "
                f"and {n_hold} holdout region(s); cluster-robust errors need many clusters in "
                f"both groups (at least {_MIN_CLUSTERS}), so this interval and p-value are not "
                "reliable (typically far too narrow); use cluster='customer' and the placebo"
            )
    periods = {"pre": (pre0, pre1), "post": (post0, post1)}
    panel = _customer_periods(cust, conv, holdout, periods)
    treated = panel.loc[panel["post"] == 0, "treated"]
    model = smf.ols("y ~ treated * post", data=panel)
    if cluster == "hc":
        fit, cov = model.fit(cov_type="HC1"), "HC1"
    else:
        groups = pd.factorize(panel["customer_id" if cluster == "customer" else "region"])[0]
        fit, cov = (
            model.fit(cov_type="cluster", cov_kwds={"groups": groups}),
            f"cluster by {cluster}",
        )
    term = "treated:post"
    low, high = fit.conf_int(alpha=alpha).loc[term]
    means = panel.groupby(["treated", "post"])["y"].mean().unstack()
    means.index = means.index.map({1: "treated", 0: "holdout"})
    means.columns = ["pre", "post"]
    means = means.loc[["treated", "holdout"]]
    means["change"] = means["post"] - means["pre"]
    return DidResult(
        estimate=float(fit.params[term]),
        ci_low=float(low),
        ci_high=float(high),
        std_error=float(fit.bse[term]),
        p_value=float(fit.pvalues[term]),
        window_weeks=((post1 - post0).days + 1) / 7,
        treated_customers=int(treated.sum()),
        holdout_customers=int((1 - treated).sum()),
        means=means,
        cov_type=cov,
        periods=periods,
        alpha=alpha,
    )


def placebo_did(
    customers: pd.DataFrame | ir.Table,
    conversions: pd.DataFrame | ir.Table,
    holdout_regions: Sequence[str],
    pre_start: object,
    pre_end: object,
    cluster: str = "customer",
    alpha: float = 0.05,
) -> DidResult:
    """Run the holdout comparison on the pre-campaign period alone, split in two halves.

    Nothing was switched on between the halves, so the interval should cover zero; when it
    does not, the regions were already drifting apart and the real estimate is suspect.

    Parameters
    ----------
    customers, conversions, holdout_regions, cluster, alpha
        As in :func:`holdout_did`.
    pre_start, pre_end
        The pre-campaign period to split (inclusive dates, at least two days).

    Returns
    -------
    DidResult
        The placebo estimate (first half as "pre", second half as "post").
    """
    start, end = _day(pre_start, "pre_start"), _day(pre_end, "pre_end")
    days = (end - start).days + 1
    if days < 2:
        raise ParameterError(
            f"placebo: the pre period {start:%Y-%m-%d}..{end:%Y-%m-%d} is too short"
        )
    mid = start + pd.Timedelta(days=days // 2)
    return holdout_did(
        customers,
        conversions,
        holdout_regions,
        post_start=mid,
        post_end=end,
        pre_start=start,
        pre_end=mid - pd.Timedelta(days=1),
        cluster=cluster,
        alpha=alpha,
    )


@quiet
def weekly_outcome(
    customers: pd.DataFrame | ir.Table,
    conversions: pd.DataFrame | ir.Table,
    holdout_regions: Sequence[str],
) -> pd.DataFrame:
    """Conversions per customer per week in the treated and holdout regions (for the DiD plot).

    Parameters
    ----------
    customers, conversions, holdout_regions
        As in :func:`holdout_did`.

    Returns
    -------
    pandas.DataFrame
        Columns ``week`` (Monday), ``group`` (``treated``/``holdout``), ``conversions``,
        ``customers``, ``days`` (days of the week inside the data), ``per_customer``
        (conversions per customer per 7 days, so partial first/last weeks compare);
        weeks with no order in a group have 0.
    """
    _require(customers, ["customer_id", "region"], "customers")
    _require(conversions, ["customer_id", "timestamp"], "conversions")
    groups = _region_groups(
        to_ibis(customers, "customers", ["customer_id", "region"]), holdout_regions
    ).select("customer_id", group=ibis.ifelse(ibis._.treated == 1, "treated", "holdout"))
    conv = to_ibis(conversions, "conversions", ["customer_id", "timestamp"])
    conv = conv.select(
        customer_id=conv.customer_id.cast("string"), day=_timestamp(conv.timestamp).date()
    )
    sizes = groups.group_by("group").agg(n=ibis._.count()).execute().set_index("group")["n"]
    # orders per day and group (no group: the buyer is not in customers; still dates the data)
    joined = conv.left_join(groups, "customer_id")
    daily = joined.group_by(day=joined.day, group=joined.group).agg(n=ibis._.count()).execute()
    daily = daily.dropna(subset=["day"])
    day = pd.to_datetime(daily["day"]).astype("datetime64[ns]")
    week = (day - pd.to_timedelta(day.dt.weekday, unit="D")).rename("week")
    known = daily["group"].notna()
    counts = daily.loc[known, "n"].groupby([week[known], daily.loc[known, "group"]]).sum()
    index = pd.MultiIndex.from_product(
        [pd.date_range(week.min(), week.max(), freq="7D"), ["treated", "holdout"]],
        names=["week", "group"],
    )
    out = counts.reindex(index, fill_value=0).rename("conversions").reset_index()
    out["customers"] = out["group"].map(sizes).fillna(0).astype(int)
    first, last = day.min(), day.max()
    lo = out["week"].where(out["week"] > first, first)
    hi = (out["week"] + pd.Timedelta(days=6)).where(out["week"] + pd.Timedelta(days=6) < last, last)
    out["days"] = (hi - lo).dt.days + 1
    rate = out["conversions"] / out["customers"].where(out["customers"] > 0)
    out["per_customer"] = rate * 7 / out["days"]
    return out
