"""Additive-hazard attribution: each exposure raises the daily order hazard, decaying in time.

The survival view of multi-touch attribution (Zhang, Wei and Ren 2014, "Multi-touch
attribution in online advertising with survival theory"; Ji and Wang 2017, "Additional
multi-touch attribution for online advertising"): every customer, converting or not, is
followed day by day, and

    h_i(d) = k(r_i(d)) * (b(s(d)) + sum_j beta_j * x_ij(d))

is the chance that customer ``i`` orders on day ``d``, where ``b`` is the organic baseline
of the day's stratum ``s`` (weekday x month), ``x_ij(d)`` the customer's exposure to feature
``j`` (a channel, an interaction kind and a decay half-life) carried from the days before
``d`` with an exponential decay (adstock), ``beta_j >= 0`` the hazard each unit of exposure
adds, and ``k(r)`` a multiplier for the days since the customer's previous order ``r``
(repurchase cycle). A conversion's credit splits exactly into the shares of its fitted hazard
(the additive decomposition); a channel's credit is the sum over its features. The fit is a
maximum likelihood on an aggregated panel: the at-risk customer-days enter only through
their sums per stratum, the converting days one by one.

The touches and orders are counted per customer and day in the engine (DuckDB, Spark via
:func:`imclab.engine.to_ibis`); the adstock and the fit run in numpy/scipy on the counts.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.optimize import minimize
from scipy.signal import lfilter
from threadpoolctl import threadpool_limits

from imclab.attribution._common import RESULT_COLUMNS
from imclab.engine import quiet, to_ibis
from imclab.errors import DataError, ParameterError

#: Name of the model in result tables.
MODEL = "additive_hazard"
#: Half-lives (days) of the decay kernels each exposure is spread over; the fitted
#: non-negative weights mix them into each channel's own decay curve.
HALF_LIVES = (1.0, 3.0, 7.0, 21.0)
#: Days-since-previous-order bins of the repurchase multiplier (the last bin is open).
RECENCY_BINS = (0, 7, 14, 30)
_SCALE = 1e-3  # parameters are fitted in thousandths of a daily hazard


@dataclass
class Panel:
    """The aggregated customer-day panel an :class:`AdditiveHazard` model is fitted on.

    Attributes
    ----------
    features
        ``channel, interaction, half_life`` of each exposure feature (row ``j``).
    at_risk
        Customer-days at risk per baseline stratum and recency bin, shape ``(S, R)``.
    exposure
        Summed exposure of every feature over those days, shape ``(J, S, R)``.
    events
        One row per converting customer-day: ``customer, day, stratum, recency, orders,
        value, treated_window`` (an order in the window by a treated customer).
    event_x
        Exposure of each feature on each converting day, shape ``(E, J)``.
    event_campaign_x
        The part of ``event_x`` carried by touches of the campaign, shape ``(E, J)``.
    window_campaign_exposure
        Campaign exposure of each feature summed over treated customers' at-risk days in
        the campaign window, per recency bin, shape ``(J, R)``.
    group
        Resampling group (0..G-1) of every event; ``group_at_risk``, ``group_exposure``
        are ``at_risk``/``exposure`` split by group, for the customer bootstrap.
    strata
        Label of each stratum.
    customers
        Customers followed.
    report
        ``item, count``: what went in and what was left out (orders before a customer's
        sign-up date are not at risk and are counted, not used).
    """

    features: pd.DataFrame
    at_risk: np.ndarray
    exposure: np.ndarray
    events: pd.DataFrame
    event_x: np.ndarray
    event_campaign_x: np.ndarray
    window_campaign_exposure: np.ndarray
    group_at_risk: np.ndarray
    group_exposure: np.ndarray
    strata: list[str]
    customers: int
    report: pd.DataFrame


def _day(col):
    return col.cast("timestamp").date()


@quiet
def _counts(
    touchpoints,
    conversions,
    customers,
    interactions: Sequence[str],
    navigational: Sequence[str],
    campaign: str | None,
):
    """Touch and order counts per customer and day, reduced where the tables live."""
    need = ["customer_id", "timestamp", "channel", "interaction"]
    t = to_ibis(touchpoints, "touchpoints", need + (["campaign"] if campaign else []))
    has_campaign = bool(campaign)
    t = t.filter(t.interaction.cast("string").isin(list(interactions)))
    if navigational:
        t = t.filter(~t.channel.cast("string").isin(list(navigational)))
    camp = (t.campaign.cast("string") == campaign) if has_campaign else t.channel.isnull()
    tc = (
        t.select(
            customer_id=t.customer_id.cast("string"),
            day=_day(t.timestamp),
            channel=t.channel.cast("string"),
            interaction=t.interaction.cast("string"),
            campaign=camp.fill_null(False),
        )
        .group_by(["customer_id", "day", "channel", "interaction", "campaign"])
        .agg(n=lambda x: x.count())
        .execute()
    )
    c = to_ibis(conversions, "conversions", ["customer_id", "timestamp", "revenue"])
    oc = (
        c.select(
            customer_id=c.customer_id.cast("string"),
            day=_day(c.timestamp),
            revenue=c.revenue.cast("float64"),
        )
        .group_by(["customer_id", "day"])
        .agg(orders=lambda x: x.count(), value=lambda x: x.revenue.sum())
        .execute()
    )
    if customers is not None:
        cu = to_ibis(customers, "customers")
        if "customer_id" not in cu.columns:
            raise DataError(
                f"customers: missing column customer_id (found {', '.join(cu.columns)})"
            )
        keep = [x for x in ("customer_id", "signup_date", "region") if x in cu.columns]
        cu = cu.select(
            **{
                k: (cu[k].cast("string") if k != "signup_date" else cu[k].cast("timestamp").date())
                for k in keep
            }
        ).execute()
    else:
        cu = None
    return tc, oc, cu


def build_panel(
    touchpoints,
    conversions,
    customers=None,
    *,
    interactions: Sequence[str],
    navigational_channels: Sequence[str],
    channel_groups: Mapping[str, str] | None = None,
    campaign: str | None = None,
    campaign_window: tuple[object, object] | None = None,
    holdout_regions: Sequence[str] = (),
    half_lives: Sequence[float] = HALF_LIVES,
    groups: int = 200,
    seed: int = 20250301,
    chunk: int = 20_000,
) -> Panel:
    """Count exposures and orders per customer and day, adstock them and aggregate.

    Parameters
    ----------
    touchpoints, conversions, customers
        The world's tables (pandas or Ibis). ``customers`` gives everyone followed (also
        those never touched), their ``signup_date`` (no one is at risk before signing up)
        and ``region``; without it the customers in the two other tables are followed.
    interactions
        Touch kinds that count.
    navigational_channels
        Channels left out of the exposures (their visits follow the decision to buy).
    channel_groups
        Channel -> group, as the journeys use.
    campaign
        The campaign's name in ``touchpoints.campaign`` (for the campaign-attributable
        conversions); None: not split.
    campaign_window
        (start, end) dates of the campaign window.
    holdout_regions
        Regions kept dark (customers there are not ``treated``).
    half_lives
        Decay kernels of every exposure (days).
    groups
        Resampling groups of customers for the bootstrap.
    seed
        Seed of the assignment of customers to groups.
    chunk
        Customers adstocked at a time (memory).

    Returns
    -------
    Panel
    """
    if not half_lives or min(half_lives) <= 0:
        raise ParameterError(f"half_lives: expected positive days, found {list(half_lives)}")
    grp = dict(channel_groups or {})
    # named as the journeys name them: an ungrouped channel, or a group (all its channels)
    nav = {c for c in navigational_channels if c not in grp}
    nav |= {c for c, g in grp.items() if g in set(navigational_channels)}
    tc, oc, cu = _counts(touchpoints, conversions, customers, interactions, sorted(nav), campaign)
    if oc.empty:
        raise DataError("conversions: no orders; the hazard model has nothing to explain")
    tc["channel"] = tc["channel"].map(lambda c: grp.get(c, c))
    days_seen = pd.concat([tc["day"], oc["day"]])
    d0, d1 = pd.Timestamp(days_seen.min()), pd.Timestamp(days_seen.max())
    dates = pd.date_range(d0, d1, freq="D")
    n_days = len(dates)
    if cu is not None:
        ids = np.sort(cu["customer_id"].dropna().unique())
    else:
        ids = np.sort(pd.unique(pd.concat([tc["customer_id"], oc["customer_id"]])))
    unknown = ~oc["customer_id"].isin(ids)
    if unknown.any():
        raise DataError(
            f"conversions: {int(unknown.sum())} customer-days of orders by customers missing "
            f"from the customers table (e.g. {oc.loc[unknown, 'customer_id'].iloc[0]}); "
            "load the full customers table"
        )
    tc = tc[tc["customer_id"].isin(ids)]
    n = len(ids)
    pos = pd.Index(ids)
    entry = np.zeros(n, dtype=np.int64)
    treated = np.ones(n, dtype=bool)
    if cu is not None:
        cu = cu.drop_duplicates("customer_id").set_index("customer_id").reindex(ids)
        if "signup_date" in cu:
            sd = pd.to_datetime(cu["signup_date"])
            entry = np.clip(((sd - d0).dt.days).fillna(0).to_numpy(np.int64), 0, n_days)
        if "region" in cu and holdout_regions:
            treated = ~cu["region"].isin(list(holdout_regions)).to_numpy()
    rng = np.random.default_rng(seed)
    group_of = rng.integers(0, groups, size=n)

    feats = tc[["channel", "interaction"]].drop_duplicates().sort_values(["channel", "interaction"])
    base_feats = list(feats.itertuples(index=False, name=None))
    features = pd.DataFrame(
        [(c, k, h) for c, k in base_feats for h in half_lives],
        columns=["channel", "interaction", "half_life"],
    )
    J = len(features)
    dow = dates.dayofweek.to_numpy()
    month = (dates.year * 12 + dates.month).to_numpy()
    month = month - month.min()
    strat_code = dow * (month.max() + 1) + month
    uniq, strat = np.unique(strat_code, return_inverse=True)
    S = len(uniq)
    strata = [f"dow{c // (month.max() + 1)}_m{c % (month.max() + 1)}" for c in uniq]
    R = len(RECENCY_BINS)
    if campaign_window is not None:
        w0 = (pd.Timestamp(campaign_window[0]) - d0).days
        w1 = (pd.Timestamp(campaign_window[1]) - d0).days
    else:
        w0, w1 = 0, -1
    in_window = (np.arange(n_days) >= w0) & (np.arange(n_days) <= w1)

    at_risk = np.zeros((groups, S, R))
    exposure = np.zeros((groups, J, S, R))
    wexp = np.zeros((J, R))
    ev_rows, ev_x, ev_cx = [], [], []
    t_ci = pos.get_indexer(tc["customer_id"])
    t_day = (pd.to_datetime(tc["day"]) - d0).dt.days.to_numpy()
    t_feat = pd.MultiIndex.from_frame(tc[["channel", "interaction"]]).map(
        {f: i for i, f in enumerate(base_feats)}.get
    )
    t_feat = np.asarray(t_feat, dtype=np.int64)
    t_n = tc["n"].to_numpy(float)
    t_camp = tc["campaign"].to_numpy(bool)
    o_ci = pos.get_indexer(oc["customer_id"])
    o_day = (pd.to_datetime(oc["day"]) - d0).dt.days.to_numpy()
    value = oc.assign(customer=o_ci, day=o_day).groupby(["customer", "day"])["value"].sum()
    # sorted by customer, so each chunk is a slice (found by binary search)
    t_order = np.lexsort((t_feat, t_ci))
    t_ci, t_day, t_feat = t_ci[t_order], t_day[t_order], t_feat[t_order]
    t_n, t_camp = t_n[t_order], t_camp[t_order]
    o_order = np.argsort(o_ci, kind="stable")
    o_ci, o_day = o_ci[o_order], o_day[o_order]
    decays = [0.5 ** (1.0 / h) for h in half_lives]
    before_signup = 0
    for lo in range(0, n, chunk):
        hi = min(n, lo + chunk)
        m = hi - lo
        orders = np.zeros((m, n_days))
        oa, ob = np.searchsorted(o_ci, [lo, hi])
        np.add.at(orders, (o_ci[oa:ob] - lo, o_day[oa:ob]), 1.0)
        day_idx = np.arange(n_days)[None, :]
        risk = day_idx >= entry[lo:hi, None]
        # days since the previous order -> recency bin (0: none or older than the last bin)
        last = np.where(orders > 0, day_idx, -10_000)
        last = np.maximum.accumulate(last, axis=1)
        prev = np.concatenate([np.full((m, 1), -10_000), last[:, :-1]], axis=1)
        since = day_idx - prev
        rec = np.zeros((m, n_days), dtype=np.int64)
        for b in range(1, R):
            rec[(since > RECENCY_BINS[b - 1]) & (since <= RECENCY_BINS[b])] = b
        g = group_of[lo:hi]
        cell = (g[:, None] * S + strat[None, :]) * R + rec
        at_risk += np.bincount(cell[risk], minlength=groups * S * R).reshape(groups, S, R)
        before_signup += int(orders[~risk].sum())
        ev_ci, ev_d = np.nonzero(orders * risk)
        ev_rows.append(
            pd.DataFrame(
                {
                    "customer": ev_ci + lo,
                    "day": ev_d,
                    "stratum": strat[ev_d],
                    "recency": rec[ev_ci, ev_d],
                    "orders": orders[ev_ci, ev_d],
                    "group": g[ev_ci],
                    "treated_window": treated[lo:hi][ev_ci] & in_window[ev_d],
                }
            )
        )
        x_ev = np.zeros((len(ev_ci), J))
        cx_ev = np.zeros((len(ev_ci), J))
        ta, tb = np.searchsorted(t_ci, [lo, hi])
        c_ci, c_day, c_feat = t_ci[ta:tb] - lo, t_day[ta:tb], t_feat[ta:tb]
        c_n, c_camp = t_n[ta:tb], t_camp[ta:tb]
        win_mask = risk & in_window[None, :] & treated[lo:hi, None]
        for f in range(len(base_feats)):
            fs = c_feat == f
            raw = np.zeros((m, n_days))
            np.add.at(raw, (c_ci[fs], c_day[fs]), c_n[fs])
            craw = np.zeros((m, n_days))
            cs = fs & c_camp
            np.add.at(craw, (c_ci[cs], c_day[cs]), c_n[cs])
            for hk, lam in enumerate(decays):
                j = f * len(half_lives) + hk
                # x(d) = lam * x(d-1) + raw(d-1): a touch counts from the next day on
                x = lfilter([0.0, 1.0], [1.0, -lam], raw, axis=1)
                exposure[:, j] += np.bincount(
                    cell[risk], weights=x[risk], minlength=groups * S * R
                ).reshape(groups, S, R)
                x_ev[:, j] = x[ev_ci, ev_d]
                if t_camp.any():
                    cxx = lfilter([0.0, 1.0], [1.0, -lam], craw, axis=1)
                    cx_ev[:, j] = cxx[ev_ci, ev_d]
                    wexp[j] += np.bincount(rec[win_mask], weights=cxx[win_mask], minlength=R)
        ev_x.append(x_ev)
        ev_cx.append(cx_ev)
    events = pd.concat(ev_rows, ignore_index=True)
    events["value"] = value.reindex(
        pd.MultiIndex.from_frame(events[["customer", "day"]])
    ).to_numpy()
    return Panel(
        features=features,
        at_risk=at_risk.sum(axis=0),
        exposure=exposure.sum(axis=0),
        events=events,
        event_x=np.concatenate(ev_x),
        event_campaign_x=np.concatenate(ev_cx),
        window_campaign_exposure=wexp,
        group_at_risk=at_risk,
        group_exposure=exposure,
        strata=strata,
        customers=n,
        report=pd.DataFrame(
            {
                "item": [
                    "customers followed",
                    "customer-days at risk",
                    "touches counted (navigational and other kinds left out)",
                    "orders on days at risk",
                    "orders before the customer's sign-up date (not used)",
                    "exposure features (channel x kind x half-life)",
                ],
                "count": [
                    n,
                    int(at_risk.sum()),
                    int(tc["n"].sum()),
                    int(events["orders"].sum()),
                    before_signup,
                    J,
                ],
            }
        ),
    )


def _fit(at_risk, exposure, ev_s, ev_r, ev_x, ev_w, start=None):
    """Maximise the additive-hazard likelihood; returns (baseline, recency mult, beta, ll)."""
    S, R = at_risk.shape
    J = exposure.shape[0]
    n_p = S + (R - 1) + J

    def unpack(p):
        b = p[:S] * _SCALE
        k = np.concatenate([[1.0], p[S : S + R - 1]])
        beta = p[S + R - 1 :] * _SCALE
        return b, k, beta

    def negll(p):
        b, k, beta = unpack(p)
        lin = b[ev_s] + ev_x @ beta
        h = k[ev_r] * lin
        h = np.maximum(h, 1e-300)
        em = -np.expm1(-h)
        ll_ev = np.log(em) + h
        tot_s = at_risk * b[:, None] + np.tensordot(beta, exposure, axes=1)  # (S, R)
        ll = (ev_w * ll_ev).sum() - (tot_s * k[None, :]).sum()
        gh = ev_w / em  # d ll_ev / d h, weighted
        g_b = np.bincount(ev_s, weights=gh * k[ev_r], minlength=S) - at_risk @ k
        g_beta = ev_x.T @ (gh * k[ev_r]) - np.tensordot(exposure, k, axes=([2], [0])).sum(axis=1)
        g_k = np.bincount(ev_r, weights=gh * lin, minlength=R) - tot_s.sum(axis=0)
        grad = np.concatenate([g_b * _SCALE, g_k[1:], g_beta * _SCALE])
        return -ll, -grad

    if start is None:
        rate = max(float(ev_w.sum()) / max(float(at_risk.sum()), 1.0), 1e-6)
        start = np.concatenate([np.full(S, rate / _SCALE), np.ones(R - 1), np.full(J, 0.01)])
    bounds = [(1e-9, None)] * S + [(1e-3, 10.0)] * (R - 1) + [(0.0, None)] * J
    # small matrices: BLAS threads only contend (10x slower on a busy machine)
    with threadpool_limits(1):
        res = _minimize(negll, start, bounds)
    b, k, beta = unpack(res.x)
    return b, k, beta, -res.fun, res.x, n_p


def _minimize(negll, start, bounds):
    return minimize(
        negll, start, jac=True, method="L-BFGS-B", bounds=bounds,
        options={"maxiter": 5000, "ftol": 1e-11, "gtol": 1e-8},
    )  # fmt: skip


def _credit(b, k, beta, ev_s, ev_r, ev_x, J_channel, n_channels):
    """Per-event hazard shares of the baseline and every channel, shape (E, 1 + C)."""
    parts = ev_x * beta[None, :]
    ch = np.zeros((len(ev_s), n_channels))
    for c in range(n_channels):
        ch[:, c] = parts[:, J_channel == c].sum(axis=1)
    base = b[ev_s]
    tot = base + ch.sum(axis=1)
    return np.column_stack([base, ch]) / tot[:, None]


class AdditiveHazard:
    """Survival (additive hazard) attribution fitted on an aggregated customer-day panel.

    Parameters
    ----------
    n_boot
        Bootstrap replicates over groups of customers for the share intervals (0: none).
    level
        Confidence level of the percentile intervals.
    random_state
        Seed of the bootstrap.

    Attributes
    ----------
    baseline_
        Daily organic hazard per stratum (Series).
    recency_
        Multiplier per days-since-previous-order bin (Series).
    coef_
        ``channel, interaction, half_life, beta``: hazard added per unit of exposure.
    credit_
        Tidy result ``channel, model, conversions, value, share`` (share of the
        touch-caused conversions, as the other models).
    baseline_conversions_
        Conversions credited to the organic baseline.
    intervals_
        ``channel, share, lo, hi, se`` from the bootstrap (when ``n_boot > 0``).
    campaign_conversions_
        Expected campaign-caused conversions of treated customers in the campaign window
        (estimate, lo, hi).
    loglik_
        Log-likelihood at the optimum.
    """

    def __init__(self, n_boot: int = 100, level: float = 0.9, random_state: int = 20250301):
        self.n_boot = n_boot
        self.level = level
        self.random_state = random_state

    def fit(self, panel: Panel) -> AdditiveHazard:
        """Fit the model on a panel from :func:`build_panel`; returns ``self``."""
        ev = panel.events
        ev_s = ev["stratum"].to_numpy()
        ev_r = ev["recency"].to_numpy()
        ev_w = ev["orders"].to_numpy(float)
        channels = sorted(panel.features["channel"].unique())
        jc = panel.features["channel"].map({c: i for i, c in enumerate(channels)}).to_numpy()
        b, k, beta, ll, x, _ = _fit(panel.at_risk, panel.exposure, ev_s, ev_r, panel.event_x, ev_w)
        self.baseline_ = pd.Series(b, index=panel.strata, name="baseline")
        self.recency_ = pd.Series(
            k, index=[f"<= {RECENCY_BINS[i]} days" if i else "none / older" for i in range(len(k))]
        )
        self.coef_ = panel.features.assign(beta=beta)
        self.loglik_ = ll
        self.channels_ = channels
        self._x = x

        def shares(b, k, beta, w):
            cr = _credit(b, k, beta, ev_s, ev_r, panel.event_x, jc, len(channels)) * w[:, None]
            return cr

        cr = shares(b, k, beta, ev_w)
        conv = cr[:, 1:].sum(axis=0)
        val = (cr[:, 1:] * (ev["value"].to_numpy(float) / ev_w)[:, None]).sum(axis=0)
        self.baseline_conversions_ = float(cr[:, 0].sum())
        tot = conv.sum()
        self.credit_ = pd.DataFrame(
            {
                "channel": channels,
                "model": MODEL,
                "conversions": conv,
                "value": val,
                "share": conv / tot if tot > 0 else conv * 0.0,
            }
        )[RESULT_COLUMNS]
        camp = self._campaign(panel, k, beta)
        self.intervals_ = None
        draws_c = []
        if self.n_boot:
            rng = np.random.default_rng(self.random_state)
            G = panel.group_at_risk.shape[0]
            ev_g = ev["group"].to_numpy()
            draws = []
            for _ in range(self.n_boot):
                wg = np.bincount(rng.integers(0, G, size=G), minlength=G).astype(float)
                ar = np.tensordot(wg, panel.group_at_risk, axes=1)
                ex = np.tensordot(wg, panel.group_exposure, axes=1)
                we = ev_w * wg[ev_g]
                bb, kk, bt, _, _, _ = _fit(ar, ex, ev_s, ev_r, panel.event_x, we, start=x)
                c = shares(bb, kk, bt, we)[:, 1:].sum(axis=0)
                draws.append(c / c.sum() if c.sum() > 0 else c)
                draws_c.append(self._campaign(panel, kk, bt))
            d = np.array(draws)
            a = (1 - self.level) / 2
            self.intervals_ = pd.DataFrame(
                {
                    "model": MODEL,
                    "channel": channels,
                    "share": self.credit_["share"].to_numpy(),
                    "lo": np.quantile(d, a, axis=0),
                    "hi": np.quantile(d, 1 - a, axis=0),
                    "se": d.std(axis=0, ddof=1),
                }
            )
            self.boot_shares_ = pd.DataFrame(d, columns=channels)
        a = (1 - self.level) / 2
        self.campaign_conversions_ = (
            camp,
            float(np.quantile(draws_c, a)) if draws_c else np.nan,
            float(np.quantile(draws_c, 1 - a)) if draws_c else np.nan,
        )
        return self

    @staticmethod
    def _campaign(panel: Panel, k, beta) -> float:
        """Return the expected campaign-caused orders of treated customers in the window."""
        return float(beta @ panel.window_campaign_exposure @ k)


def heldout_loglik(panel: Panel, folds: int = 2) -> pd.DataFrame:
    """Cross-validated log-likelihood of conversion on customers the fit has not seen.

    Customers are split by their resampling group into ``folds`` folds; the model with
    exposures and the baseline-only model (no exposure) are fitted on the other folds and
    scored on each fold's customer-days (orders and non-orders alike).

    Parameters
    ----------
    panel
        From :func:`build_panel`.
    folds
        Number of folds (at least 2).

    Returns
    -------
    pandas.DataFrame
        ``model`` (``additive_hazard`` and ``baseline only``), ``loglik`` (held-out
        log-likelihood summed over folds), ``log_loss`` (minus it, per held-out customer-day)
        and ``gain_per_conversion`` (log-likelihood gained over the baseline-only model per
        held-out conversion, in nats; 0 for the baseline).
    """
    if folds < 2:
        raise ParameterError(f"folds: expected at least 2, found {folds}")
    ev = panel.events
    G = panel.group_at_risk.shape[0]
    fold_of = np.arange(G) % folds
    ev_s = ev["stratum"].to_numpy()
    ev_r = ev["recency"].to_numpy()
    ev_w = ev["orders"].to_numpy(float)
    ev_f = fold_of[ev["group"].to_numpy()]
    ll = {"additive_hazard": 0.0, "baseline only": 0.0}
    for f in range(folds):
        tr, te = fold_of != f, fold_of == f
        ar_tr, ar_te = panel.group_at_risk[tr].sum(0), panel.group_at_risk[te].sum(0)
        ex_tr, ex_te = panel.group_exposure[tr].sum(0), panel.group_exposure[te].sum(0)
        w_tr, w_te = ev_w * (ev_f != f), ev_w * (ev_f == f)
        for name, ex_a, ex_b, x in (
            ("additive_hazard", ex_tr, ex_te, panel.event_x),
            ("baseline only", ex_tr[:0], ex_te[:0], panel.event_x[:, :0]),
        ):
            b, k, beta, _, _, _ = _fit(ar_tr, ex_a, ev_s, ev_r, x, w_tr)
            h = np.maximum(k[ev_r] * (b[ev_s] + x @ beta), 1e-300)
            tot = (ar_te * b[:, None] + np.tensordot(beta, ex_b, axes=1)) * k[None, :]
            ll[name] += float((w_te * (np.log(-np.expm1(-h)) + h)).sum() - tot.sum())
    days = float(panel.at_risk.sum())
    conv = float(ev_w.sum())
    base = ll["baseline only"]
    return pd.DataFrame(
        {
            "model": list(ll),
            "loglik": list(ll.values()),
            "log_loss": [-v / days for v in ll.values()],
            "gain_per_conversion": [(v - base) / conv for v in ll.values()],
        }
    )


def touched_window_conversions(panel: Panel) -> float:
    """Treated customers' orders in the campaign window with an earlier counted touch.

    Path models credit every one of them to channels: this is the campaign-attributable
    number they imply, to set beside the holdout's lift.
    """
    ev = panel.events
    touched = panel.event_x.sum(axis=1) > 0
    return float(ev.loc[ev["treated_window"].to_numpy() & touched, "orders"].sum())
