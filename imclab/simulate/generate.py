"""Generate a deterministic Lumina brand world with known ground truth.

The causal model (documented in ``data/README.md``):
each customer has an organic daily order hazard (persona base rate x weekday x trend);
every marketing touch adds a channel- and interaction-specific increment to that hazard
from the next day on, decaying with the channel's half-life (adstock). A customer orders
on a day with probability ``1 - exp(-hazard)``; after an order the hazard is damped for
two weeks. Paid channels reach customers along a Hill saturation curve of the day's
spend. Because the hazard is a sum, each order's true cause splits exactly into the
shares of that day's hazard: that is the true incremental credit per channel. A second
truth, ``removal_conversions``, re-runs the same random numbers without the channel.
Customers are generated in chunks, so worlds of millions of customers fit in memory.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from imclab.errors import ParameterError
from imclab.plan import split_cents
from imclab.simulate import world as W
from imclab.simulate.spend_plan import check_spend_plan

DEFAULT_SEED = 20250301
TABLES = ("customers", "touchpoints", "conversions", "spend", "survey", "ab_tests", "creatives")


def _days(cal: W.Calendar) -> pd.DatetimeIndex:
    return pd.date_range(cal.period_start, cal.period_end, freq="D")


def hill(s: np.ndarray | float, K: float, alpha: float) -> np.ndarray:
    """Hill saturation ``s**alpha / (s**alpha + K**alpha)`` (0 at zero spend)."""
    s = np.asarray(s, dtype=float)
    sa = np.power(np.clip(s, 0.0, None), alpha)
    return sa / (sa + K**alpha)


@dataclass
class _Combo:
    """A (channel, campaign) stream of touches with its per-customer daily rate."""

    channel: str
    campaign: str
    rate: np.ndarray  # touches per reachable customer per day, shape (days,)
    spend: np.ndarray  # world spend per day (0 for unpaid)
    treated_only: bool


@dataclass
class _Truth:
    credit: dict[str, float] = field(default_factory=dict)
    credit_revenue: dict[str, float] = field(default_factory=dict)
    removal: dict[str, float] = field(default_factory=dict)
    touches: dict[str, int] = field(default_factory=dict)
    conversions: int = 0
    revenue: float = 0.0
    campaign_incremental: float = 0.0
    campaign_incremental_in_window: float = 0.0
    treated_customers: int = 0
    holdout_customers: int = 0
    edm: dict[str, np.ndarray] = field(default_factory=dict)  # campaign -> (opens, clicks)/day
    # (channel_a, channel_b) -> [extra orders in the campaign window, customers touched by both]
    synergy: dict[tuple[str, str], list[float]] = field(default_factory=dict)
    # (channel, touches in the campaign window) -> [customers, true orders the channel caused]
    exposure: dict[tuple[str, int], list[float]] = field(default_factory=dict)


def _plan_spend(
    rng: np.random.Generator,
    n_customers: int,
    cal: W.Calendar,
    spend_plan: dict[str, dict[str, float]] | None = None,
    extra: np.random.Generator | None = None,
) -> list[_Combo]:
    """World-level daily spend and reach rate for each (channel, campaign) stream.

    The campaign spends the calendar's phase budgets (written for ``REFERENCE_CUSTOMERS``)
    scaled to the world and times the delivery factor, or the amounts of ``spend_plan``
    (:mod:`imclab.simulate.spend_plan`) as they are; ``extra`` draws the daily noise of
    the plan's phases and channels the calendar gives no budget.
    """
    days = _days(cal)
    n_days = len(days)
    scale = n_customers / W.REFERENCE_CUSTOMERS
    treated_share = 1.0 - len(W.HOLDOUT_REGIONS) / len(W.REGIONS)
    in_campaign = (days.date >= cal.campaign_start) & (days.date <= cal.campaign_end)
    combos: list[_Combo] = []
    for name in W.CHANNELS:
        ch = W.CHANNEL_SPECS[name]
        if not ch.paid:
            rate = np.full(n_days, ch.organic_rate) + np.where(in_campaign, ch.campaign_rate, 0.0)
            combos.append(_Combo(name, "organic", rate, np.zeros(n_days), False))
            continue
        if ch.always_on > 0:
            weekly = rng.lognormal(0.0, 0.10, size=n_days // 7 + 1)
            spend = np.round(ch.always_on * n_customers / 1000 * np.repeat(weekly, 7)[:n_days], 2)
            s = spend / (n_customers / 1000)
            rate = ch.rmax * hill(s, ch.K, ch.alpha)
            combos.append(_Combo(name, "always_on", rate, spend, False))
        spend = np.zeros(n_days)
        for phase in cal.phases:
            mask = (days.date >= phase.start) & (days.date <= phase.end)
            # the calendar's budgets draw their daily noise from ``rng`` whether or not a spend
            # plan replaces the amount, so the market's other draws (always-on spend) stay
            if name in phase.budget:
                noise = rng.lognormal(0.0, 0.20, size=int(mask.sum()))
            elif spend_plan is not None and name in spend_plan[phase.name]:
                noise = extra.lognormal(0.0, 0.20, size=int(mask.sum()))
            if spend_plan is None:
                if name in phase.budget:
                    total = phase.budget[name] * W.DELIVERY[name] * scale
                    spend[mask] = total * noise / noise.sum()
            elif name in spend_plan[phase.name]:  # whole cents that add up to the amount
                spend[mask] = split_cents(spend_plan[phase.name][name], noise)
        if spend.any():
            spend = np.round(spend, 2)
            s = spend / (n_customers * treated_share / 1000)
            rate = ch.rmax * hill(s, ch.K, ch.alpha)
            combos.append(_Combo(name, cal.campaign, rate, spend, True))
    return combos


def _spend_table(
    rng: np.random.Generator, combos: list[_Combo], edm: dict[str, np.ndarray], cal: W.Calendar
) -> pd.DataFrame:
    """Platform-reported daily spend, impressions and clicks for the whole market.

    EDM goes to known customers only, so its row counts the tracked world: clicks are the
    tracked click touches and impressions are sends (tracked opens and clicks divided by
    the list's open rate).
    """
    days = _days(cal)
    frames = []
    for combo in combos:
        if combo.campaign == "organic":
            continue
        ch = W.CHANNEL_SPECS[combo.channel]
        live = combo.spend > 0
        spend = combo.spend[live]
        if combo.channel == "edm":
            opens, clicks = edm[combo.campaign][:, live]
            sends = (opens + clicks) / W.EDM_OPEN_RATE * rng.lognormal(0, 0.05, spend.size)
            impressions = np.maximum(np.round(sends), opens + clicks)
        elif ch.cpm > 0:
            impressions = np.round(spend / ch.cpm * 1000 * rng.lognormal(0, 0.05, spend.size))
            clicks = np.zeros(spend.size)
        else:
            clicks = np.round(spend / ch.cpc * rng.lognormal(0, 0.05, spend.size))
            impressions = np.round(clicks / ch.ctr * rng.lognormal(0, 0.05, spend.size))
            impressions = np.maximum(impressions, clicks)
        frames.append(
            pd.DataFrame(
                {
                    "date": days[live].strftime("%Y-%m-%d"),
                    "channel": combo.channel,
                    "campaign": combo.campaign,
                    "spend": spend,
                    "impressions": impressions.astype(np.int64),
                    "clicks": clicks.astype(np.int64),
                }
            )
        )
    out = pd.concat(frames, ignore_index=True)
    return out.sort_values(["date", "channel", "campaign"], kind="stable", ignore_index=True)


def _draw_categorical(rng: np.random.Generator, probs: list[dict[str, float]], idx: np.ndarray):
    """Draw one label per customer from its persona's categorical distribution."""
    labels = list(probs[0].keys())
    table = np.array([[p[label] for label in labels] for p in probs])
    table = table / table.sum(axis=1, keepdims=True)
    cum = np.cumsum(table[idx], axis=1)
    u = rng.random(idx.size)[:, None]
    pick = (u > cum).sum(axis=1)
    return np.array(labels, dtype=object)[np.minimum(pick, len(labels) - 1)]


def _customers(
    rng: np.random.Generator, n: int, first_id: int, width: int, cal: W.Calendar
) -> pd.DataFrame:
    personas = W.PERSONAS
    weights = np.array([p.weight for p in personas])
    pidx = rng.choice(len(personas), size=n, p=weights / weights.sum())
    age = np.empty(n)
    for k, p in enumerate(personas):
        m = pidx == k
        mean, sd, lo, hi = p.age
        age[m] = np.clip(np.round(rng.normal(mean, sd, m.sum())), lo, hi)
    session = np.array([p.session_minutes for p in personas])[pidx]
    pages = np.array([p.pages_per_visit for p in personas])[pidx]
    disc = np.array([p.discount for p in personas])[pidx]
    old = rng.random(n) < 0.85
    old_start = pd.Timestamp("2021-01-01")
    signup = np.where(
        old,
        old_start.value // 86_400_000_000_000 + rng.integers(0, 1461, n),
        pd.Timestamp(cal.period_start).value // 86_400_000_000_000
        + rng.integers(0, len(_days(cal)) - 10, n),
    )
    ids = np.char.add("C", np.char.zfill(np.arange(first_id, first_id + n).astype(str), width))
    return pd.DataFrame(
        {
            "customer_id": ids.astype(object),
            "signup_date": pd.to_datetime(signup, unit="D").strftime("%Y-%m-%d"),
            "age": age.astype(np.int64),
            "gender": _draw_categorical(rng, [p.gender for p in personas], pidx),
            "region": np.array(W.REGIONS, dtype=object)[rng.integers(0, len(W.REGIONS), n)],
            "city_tier": _draw_categorical(rng, [p.city_tier for p in personas], pidx),
            "device": _draw_categorical(rng, [p.device for p in personas], pidx),
            "income_band": _draw_categorical(rng, [p.income_band for p in personas], pidx),
            "loyalty_member": rng.random(n) < np.array([p.loyalty for p in personas])[pidx],
            "newsletter_opt_in": rng.random(n) < np.array([p.newsletter for p in personas])[pidx],
            "avg_session_minutes": np.round(
                np.clip(rng.normal(session[:, 0], session[:, 1]), 0.3, None), 1
            ),
            "pages_per_visit": np.round(np.clip(rng.normal(pages[:, 0], pages[:, 1]), 1, None), 1),
            "discount_usage_rate": np.round(rng.beta(disc[:, 0], disc[:, 1]), 3),
            "_persona": pidx,
        }
    )


def _reach_weights(cust: pd.DataFrame) -> np.ndarray:
    """Per-customer relative chance of being reached, per channel (mean 1 over the world)."""
    personas = W.PERSONAS
    weights = np.array([p.weight for p in personas]) / sum(p.weight for p in personas)
    aff = np.array([[p.affinity[c] for c in W.CHANNELS] for p in personas])
    expected = weights @ aff
    w = aff[cust["_persona"].to_numpy()] / expected
    edm = W.CHANNELS.index("edm")
    opt_share = float(weights @ np.array([p.newsletter for p in personas]))
    w[:, edm] = w[:, edm] * cust["newsletter_opt_in"].to_numpy() / opt_share
    return w


def _simulate_orders(
    base: np.ndarray, lift: np.ndarray, u: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Run the order process for every customer over the days.

    Returns the boolean order matrix and the hazard on each day (for credit shares).
    """
    n, n_days = base.shape
    orders = np.zeros((n, n_days), dtype=bool)
    hazard = np.empty((n, n_days))
    cool = np.zeros(n, dtype=np.int64)
    for d in range(n_days):
        h = base[:, d] + lift[:, d]
        h = np.where(cool > 0, h * W.COOLDOWN_FACTOR, h)
        hazard[:, d] = h
        hit = u[:, d] < -np.expm1(-h)
        orders[:, d] = hit
        cool = np.where(hit, W.COOLDOWN_DAYS, np.maximum(cool - 1, 0))
    return orders, hazard


def _adstock(x: np.ndarray, half_life: float) -> np.ndarray:
    """Carry each day's touch effect into the following days, halving every half-life."""
    decay = 0.5 ** (1.0 / half_life)
    out = np.zeros_like(x)
    for d in range(1, x.shape[1]):
        out[:, d] = decay * out[:, d - 1] + x[:, d - 1]
    return out


def _pair_lift(
    ad: np.ndarray, synergy: dict[tuple[str, str], float] | None
) -> dict[tuple[str, str], np.ndarray]:
    """Return each pair's planted synergy hazard, ``factor * min(adstock_a, adstock_b)``.

    While a customer carries the effect of touches of both channels, the weaker of the two
    effects is amplified by ``factor`` (0 when either channel has not touched them).
    """
    out = {}
    for (a, b), factor in (synergy or {}).items():
        i, j = W.CHANNELS.index(a), W.CHANNELS.index(b)
        out[(a, b)] = factor * np.minimum(ad[:, i], ad[:, j])
    return out


def _integration_truth(
    truth: _Truth, base, lift, u, orders, pair_lift, ad, h, o_cust, o_day, ev_cust, ev_day,
    ev_ch, window,
) -> None:  # fmt: skip
    """Add the chunk's true synergy and true response to exposure (campaign window)."""
    n, n_ch, _ = ad.shape
    in_win = window[np.concatenate(ev_day)]
    cust_e = np.concatenate(ev_cust)[in_win]
    ch_e = np.concatenate(ev_ch)[in_win]
    touches = np.zeros((n, n_ch), dtype=np.int64)
    np.add.at(touches, (cust_e, ch_e), 1)
    for pair, extra in pair_lift.items():
        cf_orders, _ = _simulate_orders(base, lift - extra, u)
        gained = float(orders[:, window].sum() - cf_orders[:, window].sum())
        both = touches[:, W.CHANNELS.index(pair[0])] * touches[:, W.CHANNELS.index(pair[1])]
        row = truth.synergy.setdefault(pair, [0.0, 0.0])
        row[0] += gained
        row[1] += float((both > 0).sum())
    in_window = window[o_day]
    for c, name in enumerate(W.CHANNELS):
        caused = np.bincount(
            o_cust[in_window], weights=ad[o_cust, c, o_day][in_window] / h[in_window], minlength=n
        )
        for k in np.unique(touches[:, c]):
            sel = touches[:, c] == k
            row = truth.exposure.setdefault((name, int(k)), [0.0, 0.0])
            row[0] += float(sel.sum())
            row[1] += float(caused[sel].sum())


def _fmt_ts(day_index: np.ndarray, seconds: np.ndarray, cal: W.Calendar) -> np.ndarray:
    start = np.datetime64(cal.period_start.isoformat(), "s")
    ts = start + day_index.astype("timedelta64[D]") + seconds.astype("timedelta64[s]")
    return np.datetime_as_string(ts, unit="s")


def _chunk(
    rng: np.random.Generator,
    combos: list[_Combo],
    n_world: int,
    first_id: int,
    n: int,
    width: int,
    truth: _Truth,
    cal: W.Calendar,
    synergy: dict[tuple[str, str], float] | None = None,
    integration_truth: bool = False,
) -> dict[str, pd.DataFrame]:
    """Generate customers, touches and orders of one chunk of customers."""
    days = _days(cal)
    n_days = len(days)
    n_ch = len(W.CHANNELS)
    cust = _customers(rng, n, first_id, width, cal)
    pidx = cust["_persona"].to_numpy()
    treated = ~cust["region"].isin(W.HOLDOUT_REGIONS).to_numpy()
    truth.treated_customers += int(treated.sum())
    truth.holdout_customers += int((~treated).sum())
    w = _reach_weights(cust)
    resp = np.array([p.responsiveness for p in W.PERSONAS])[pidx]

    # --- touches -------------------------------------------------------------------------
    x_all = np.zeros((n, n_ch, n_days))
    x_campaign = np.zeros((n, n_ch, n_days))
    ev_cust, ev_day, ev_sec, ev_ch, ev_camp, ev_int, ev_cost = [], [], [], [], [], [], []
    for k, combo in enumerate(combos):
        c = W.CHANNELS.index(combo.channel)
        ch = W.CHANNEL_SPECS[combo.channel]
        lam = w[:, c, None] * combo.rate[None, :]
        if combo.treated_only:
            lam = lam * treated[:, None]
        counts = rng.poisson(lam)
        cust_i, day_i = np.nonzero(counts)
        reps = counts[cust_i, day_i]
        cust_e = np.repeat(cust_i, reps)
        day_e = np.repeat(day_i, reps)
        m = cust_e.size
        kinds = list(ch.interactions)
        shares = np.array([ch.interactions[i] for i in kinds])
        kind_e = rng.choice(len(kinds), size=m, p=shares / shares.sum())
        effect = np.array([ch.effect[i] for i in kinds])[kind_e] * resp[cust_e]
        np.add.at(x_all, (cust_e, c, day_e), effect)
        if combo.campaign == cal.campaign:
            np.add.at(x_campaign, (cust_e, c, day_e), effect)
        # cost: the chunk's share of the day's spend spread over the day's touches
        cost = np.zeros(m)
        if combo.spend.any():
            # chunks take spend in proportion to their size: exact for a one-chunk world
            per_day = np.bincount(day_e, minlength=n_days)
            share = combo.spend * n / n_world
            unit = np.divide(share, per_day, out=np.zeros(n_days), where=per_day > 0)
            cost = np.round(unit[day_e], 4)
        ev_cust.append(cust_e)
        ev_day.append(day_e)
        ev_sec.append(rng.integers(7 * 3600, 23 * 3600, size=m))
        ev_ch.append(np.full(m, c))
        ev_camp.append(np.full(m, k))
        ev_int.append(np.array(kinds, dtype=object)[kind_e])
        ev_cost.append(cost)
        truth.touches[combo.channel] = truth.touches.get(combo.channel, 0) + int(m)
        if combo.channel == "edm":
            counts_edm = truth.edm.setdefault(combo.campaign, np.zeros((2, n_days), np.int64))
            for row, kind in enumerate(("open", "click")):
                sel = kind_e == kinds.index(kind)
                counts_edm[row] += np.bincount(day_e[sel], minlength=n_days)

    # --- orders --------------------------------------------------------------------------
    signup_day = (
        (pd.to_datetime(cust["signup_date"]).to_numpy() - np.datetime64(cal.period_start, "D"))
        .astype("timedelta64[D]")
        .astype(np.int64)
    )
    weekday = np.array(W.WEEKDAY_FACTORS)[days.weekday]
    trend = 1.0 + W.TREND * np.arange(n_days) / (n_days - 1)
    base_rate = np.array([p.base_hazard for p in W.PERSONAS])[pidx]
    base = base_rate[:, None] * (weekday * trend)[None, :]
    signed_up = np.arange(n_days)[None, :] >= signup_day[:, None]  # no orders before signup
    base = base * signed_up
    ad = np.stack([_adstock(x_all[:, c], W.CHANNEL_SPECS[ch].half_life)
                   for c, ch in enumerate(W.CHANNELS)], axis=1)  # fmt: skip
    ad_campaign = np.stack([_adstock(x_campaign[:, c], W.CHANNEL_SPECS[ch].half_life)
                            for c, ch in enumerate(W.CHANNELS)], axis=1)  # fmt: skip
    ad = ad * signed_up[:, None, :]
    ad_campaign = ad_campaign * signed_up[:, None, :]
    lift = ad.sum(axis=1)
    pair_lift = _pair_lift(ad, synergy)
    if pair_lift:
        lift = lift + sum(pair_lift.values())
    u = rng.random((n, n_days))
    orders, hazard = _simulate_orders(base, lift, u)
    o_cust, o_day = np.nonzero(orders)
    n_orders = o_cust.size
    aov = np.array([p.aov for p in W.PERSONAS])[pidx[o_cust]]
    sigma = 0.5
    revenue = np.round(rng.lognormal(np.log(aov) - sigma**2 / 2, sigma), 2)
    order_sec = rng.integers(0, 86_400, size=n_orders)

    # true causes: each order's hazard split into its parts
    h = base[o_cust, o_day] + lift[o_cust, o_day]
    for c, name in enumerate(W.CHANNELS):
        part = ad[o_cust, c, o_day] / h
        truth.credit[name] = truth.credit.get(name, 0.0) + float(part.sum())
        truth.credit_revenue[name] = truth.credit_revenue.get(name, 0.0) + float(
            (part * revenue).sum()
        )
        cut = ad[:, c] + sum(v for pair, v in pair_lift.items() if name in pair)
        cf_orders, _ = _simulate_orders(base, lift - cut, u)
        truth.removal[name] = truth.removal.get(name, 0.0) + float(n_orders - cf_orders.sum())
    part = base[o_cust, o_day] / h
    truth.credit["(baseline)"] = truth.credit.get("(baseline)", 0.0) + float(part.sum())
    truth.credit_revenue["(baseline)"] = truth.credit_revenue.get("(baseline)", 0.0) + float(
        (part * revenue).sum()
    )
    truth.conversions += n_orders
    truth.revenue += float(revenue.sum())
    cf_orders, _ = _simulate_orders(base, lift - ad_campaign.sum(axis=1), u)
    truth.campaign_incremental += float(orders.sum() - cf_orders.sum())
    days_d = days.date
    window = (days_d >= cal.campaign_start) & (days_d <= cal.campaign_end)
    truth.campaign_incremental_in_window += float(
        orders[:, window].sum() - cf_orders[:, window].sum()
    )
    if synergy is not None or integration_truth:
        _integration_truth(truth, base, lift, u, orders, pair_lift, ad, h, o_cust, o_day,
                           ev_cust, ev_day, ev_ch, window)  # fmt: skip

    # navigational direct visits: a consequence of the decision to buy, minutes before it
    nav = rng.random(n_orders) < W.NAVIGATIONAL_DIRECT_SHARE
    nav_cust, nav_day, nav_sec = o_cust[nav], o_day[nav], order_sec[nav]
    nav_abs = nav_day * 86_400 + nav_sec - rng.integers(120, 3_600, size=nav_cust.size)
    keep = nav_abs >= 0
    nav_cust, nav_abs = nav_cust[keep], nav_abs[keep]
    direct_k = next(k for k, cb in enumerate(combos) if cb.channel == "direct")
    ev_cust.append(nav_cust)
    ev_day.append(nav_abs // 86_400)
    ev_sec.append(nav_abs % 86_400)
    ev_ch.append(np.full(nav_cust.size, W.CHANNELS.index("direct")))
    ev_camp.append(np.full(nav_cust.size, direct_k))
    ev_int.append(np.full(nav_cust.size, "visit", dtype=object))
    ev_cost.append(np.zeros(nav_cust.size))
    truth.touches["direct"] = truth.touches.get("direct", 0) + int(nav_cust.size)

    # --- assemble ------------------------------------------------------------------------
    e_cust = np.concatenate(ev_cust)
    e_day = np.concatenate(ev_day)
    e_sec = np.concatenate(ev_sec)
    e_ch = np.concatenate(ev_ch)
    e_camp = np.concatenate(ev_camp)
    order = np.lexsort((e_ch, e_sec, e_day, e_cust))
    ids = cust["customer_id"].to_numpy()
    touch = pd.DataFrame(
        {
            "customer_id": ids[e_cust[order]],
            "timestamp": _fmt_ts(e_day[order], e_sec[order], cal),
            "channel": np.array(W.CHANNELS, dtype=object)[e_ch[order]],
            "campaign": np.array([cb.campaign for cb in combos], dtype=object)[e_camp[order]],
            "interaction": np.concatenate(ev_int)[order],
            "cost": np.concatenate(ev_cost)[order],
        }
    )
    o_order = np.lexsort((order_sec, o_day, o_cust))
    conv = pd.DataFrame(
        {
            "customer_id": ids[o_cust[o_order]],
            "timestamp": _fmt_ts(o_day[o_order], order_sec[o_order], cal),
            "revenue": revenue[o_order],
        }
    )
    personas = pd.DataFrame(
        {
            "customer_id": ids,
            "persona": np.array([p.name for p in W.PERSONAS], dtype=object)[pidx],
        }
    )
    return {
        "customers": cust.drop(columns="_persona"),
        "touchpoints": touch,
        "conversions": conv,
        "personas": personas,
    }


def _survey(rng: np.random.Generator, customer_ids: np.ndarray, cal: W.Calendar) -> pd.DataFrame:
    rows = []
    rid = 0
    brands = (W.BRAND, *W.COMPETITORS)
    for wave, fieldwork, period in cal.survey_waves:
        n = W.SURVEY_RESPONDENTS
        matched = rng.random(n) < W.SURVEY_MATCHED_SHARE
        cids = np.where(matched, customer_ids[rng.integers(0, customer_ids.size, n)], "")
        resp_ids = np.array([f"R{rid + i + 1:05d}" for i in range(n)], dtype=object)
        rid += n
        for brand in brands:
            f = W.SURVEY_TRUTH[period][brand]
            aware = rng.random(n) < f.aware
            consider = aware & (rng.random(n) < f.consider)
            prefer = consider & (rng.random(n) < f.prefer)
            intent = prefer & (rng.random(n) < f.intent)
            group = rng.choice(3, size=n, p=np.array(f.nps_mix) / sum(f.nps_mix))
            score = np.select(
                [group == 0, group == 1],
                [rng.integers(0, 7, n), rng.integers(7, 9, n)],
                rng.integers(9, 11, n),
            )
            nps = pd.array(np.where(aware, score, 0), dtype="Int64")
            nps[~aware] = pd.NA
            rows.append(
                pd.DataFrame(
                    {
                        "respondent_id": resp_ids,
                        "wave": wave,
                        "fieldwork_date": fieldwork.isoformat(),
                        "period": period,
                        "brand": brand,
                        "aware": aware.astype(int),
                        "consider": consider.astype(int),
                        "prefer": prefer.astype(int),
                        "intent": intent.astype(int),
                        "nps": nps,
                        "customer_id": cids,
                    }
                )
            )
    return pd.concat(rows, ignore_index=True)


def _ab_tests(rng: np.random.Generator, cal: W.Calendar) -> pd.DataFrame:
    t = cal.ab_test
    rows = []
    for v in t["variants"]:
        sends = t["sends_per_arm"]
        opens = rng.binomial(sends, v.open_rate)
        clicks = rng.binomial(opens, v.click_rate)
        conversions = rng.binomial(clicks, v.conversion_rate)
        rows.append(
            {
                "test_id": t["test_id"],
                "channel": t["channel"],
                "variant": v.variant,
                "description": v.description,
                "start_date": t["start_date"].isoformat(),
                "end_date": t["end_date"].isoformat(),
                "sends": sends,
                "opens": opens,
                "clicks": clicks,
                "conversions": conversions,
            }
        )
    return pd.DataFrame(rows)


def _creatives(cal: W.Calendar) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "creative_id": f"CR{i + 1:03d}",
                "channel": c.channel,
                "campaign": cal.campaign,
                "language": c.language,
                "text": c.text,
            }
            for i, c in enumerate(W.CREATIVES)
        ]
    )


class _Sink:
    """Append chunks of a table to CSV or Parquet without holding the whole table."""

    def __init__(self, path: Path, fmt: str):
        self.path = path
        self.fmt = fmt
        self._writer = None
        self._first = True

    def write(self, df: pd.DataFrame) -> None:
        if self.fmt == "csv":
            # booleans as the lowercase literals of the data dictionary
            bools = df.select_dtypes(bool).columns
            df = df.assign(**{c: df[c].map({True: "true", False: "false"}) for c in bools})
            df.to_csv(self.path, mode="w" if self._first else "a", header=self._first, index=False)
        else:
            import pyarrow as pa
            import pyarrow.parquet as pq

            table = pa.Table.from_pandas(df, preserve_index=False)
            if self._writer is None:
                self._writer = pq.ParquetWriter(self.path, table.schema)
            self._writer.write_table(table)
        self._first = False

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()


def _inject_faults(tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Add the broken rows of a realistic export to the first chunk's tables (in place).

    Returns the fault log: table, 1-based data row in the written file, column, fault.
    """
    t = tables["touchpoints"].astype({"cost": object})
    c = tables["conversions"].astype({"revenue": object})
    # (position, row, column, fault); every injected row has an id of its own except the
    # deliberate duplicate, which repeats the row before it
    touch = [
        (16, dict(t.iloc[16], timestamp="2025-13-01T10:00:00"), "timestamp",
         "unparseable timestamp"),
        (241, dict(t.iloc[241], timestamp="not a date"), "timestamp", "unparseable timestamp"),
        (500, dict(t.iloc[500], channel="tiktok"), "channel", "unknown channel"),
        (801, dict(t.iloc[800]), "event_id", "duplicate event (exported twice)"),
        (1200, dict(t.iloc[1200], customer_id="C9999999"), "customer_id", "unknown customer"),
        (1500, dict(t.iloc[1500], cost=-0.75), "cost", "negative cost"),
    ]  # fmt: skip
    conv = [
        (31, dict(c.iloc[30]), "order_id", "duplicate order id (exported twice)"),
        (60, dict(c.iloc[60], revenue=-54.2), "revenue", "negative revenue"),
        (90, dict(c.iloc[90], timestamp="2031-01-01T09:00:00"), "timestamp",
         "order in the future"),
    ]  # fmt: skip
    log = []
    for name, df, key, prefix, faults in (
        ("touchpoints", t, "event_id", "E9", touch),
        ("conversions", c, "order_id", "O9", conv),
    ):
        marked = []
        for k, (_, row, column, _fault) in enumerate(faults):
            if column != key:
                row = dict(row, **{key: f"{prefix}{k + 1:0{len(row[key]) - 2}d}"})
            marked.append(row)
        for (pos, _, _, _), row in sorted(zip(faults, marked, strict=True), key=lambda x: -x[0][0]):
            df = pd.concat(
                [df.iloc[:pos], pd.DataFrame([row], columns=df.columns), df.iloc[pos:]],
                ignore_index=True,
            )
        for (_, _, column, fault), row in zip(faults, marked, strict=True):
            hits = np.flatnonzero((df[key] == row[key]).to_numpy())
            log.append({"table": name, "row": int(hits[-1]) + 1, "column": column, "fault": fault})
        tables[name] = df
    return pd.DataFrame(log)


def simulate_world(
    out_dir: str | Path,
    seed: int = DEFAULT_SEED,
    n_customers: int = 5000,
    fmt: str = "csv",
    chunk_size: int = 10_000,
    faults: bool = False,
    calendar: W.Calendar | None = None,
    synergy: dict[tuple[str, str], float] | None = None,
    integration_truth: bool = False,
    spend_plan: dict[str, dict[str, float]] | None = None,
) -> Path:
    """Generate a brand world and its ground truth into ``out_dir``.

    Parameters
    ----------
    out_dir
        Folder to write the tables into (created; existing table files are replaced).
    seed
        Seed of every random draw: the same seed and size give byte-identical files.
    n_customers
        Number of customers; spend scales with it (the plan is written for 5,000).
    fmt
        ``"csv"`` or ``"parquet"``.
    chunk_size
        Customers generated at a time; bounds memory for large worlds.
    faults
        Add a handful of broken rows, as real exports have (listed in
        ``truth/faults.csv``): the bundled sample has them so the data audit finds
        something. They are extra rows: the clean rows are the same with or without them.
    calendar
        The campaign's name and dates (:func:`imclab.simulate.world.calendar`, e.g. those
        of a plan); default the sample's spring_launch calendar. ``truth/truth.json``
        records it under ``spec``.
    synergy
        Planted channel synergy, ``{(channel_a, channel_b): factor}`` (off by default):
        while a customer carries the effect of both channels' touches, the daily order
        hazard gains ``factor * min(adstock_a, adstock_b)``. The true extra orders it causes
        are written to ``truth/synergy.csv`` (with ``truth/exposure.csv``).
    integration_truth
        Write ``truth/synergy.csv`` and ``truth/exposure.csv`` (true orders each channel
        caused by number of touches in the campaign window) even without a planted synergy.
    spend_plan
        What the campaign spends, ``{phase: {channel: amount}}`` in the world's currency
        (:mod:`imclab.simulate.spend_plan`; :func:`~imclab.simulate.spend_plan.read_spend_plan`
        reads one from a CSV or plan YAML), instead of the simulator's own budget. Everything
        else (customers, always-on spend, organic touches) keeps its seed, and the truth
        (``truth/``) is the true outcome of that spend; ``truth.json`` records the plan
        under ``spend_plan``.

    Returns
    -------
    Path
        The output folder, holding the tables of ``data/README.md`` and ``truth/``.
    """
    if fmt not in ("csv", "parquet"):
        raise ParameterError(f"simulate: format must be 'csv' or 'parquet', got {fmt!r}")
    if n_customers < 100:
        raise ParameterError(f"simulate: customers must be at least 100, got {n_customers}")
    if chunk_size < 100:
        raise ParameterError(f"simulate: chunk_size must be at least 100, got {chunk_size}")
    synergy = _check_synergy(synergy)
    cal = calendar or W.Calendar()
    if spend_plan is not None:
        spend_plan = check_spend_plan(spend_plan, cal, "(argument)")
    out = Path(out_dir)
    (out / "truth").mkdir(parents=True, exist_ok=True)
    root = np.random.SeedSequence(seed)
    market_ss, survey_ss, ab_ss, chunks_ss = root.spawn(4)
    market = np.random.default_rng(market_ss)
    extra = np.random.default_rng(market_ss.spawn(1)[0]) if spend_plan is not None else None
    combos = _plan_spend(market, n_customers, cal, spend_plan, extra)

    width = max(6, len(str(n_customers)))
    n_chunks = -(-n_customers // chunk_size)
    sinks = {
        name: _Sink(out / f"{name}.{fmt}", fmt)
        for name in ("customers", "touchpoints", "conversions")
    }
    persona_sink = _Sink(out / "truth" / f"personas.{fmt}", fmt)
    truth = _Truth()
    event_no = order_no = 0
    id_samples = []
    for k, ss in enumerate(chunks_ss.spawn(n_chunks)):
        first = k * chunk_size
        n = min(chunk_size, n_customers - first)
        tables = _chunk(
            np.random.default_rng(ss),
            combos,
            n_customers,
            first + 1,
            n,
            width,
            truth,
            cal,
            synergy,
            integration_truth,
        )
        t = tables["touchpoints"]
        t.insert(0, "event_id", [f"E{event_no + i + 1:09d}" for i in range(len(t))])
        event_no += len(t)
        c = tables["conversions"]
        c.insert(0, "order_id", [f"O{order_no + i + 1:08d}" for i in range(len(c))])
        order_no += len(c)
        if faults and k == 0:
            fault_log = _inject_faults(tables)
        for name, sink in sinks.items():
            sink.write(tables[name])
        persona_sink.write(tables["personas"])
        id_samples.append(tables["customers"]["customer_id"].to_numpy()[:2000])
    for sink in (*sinks.values(), persona_sink):
        sink.close()

    spend = _spend_table(market, combos, truth.edm, cal)
    if faults:
        bad = pd.DataFrame([dict(spend.iloc[40], spend=-120.5)], columns=spend.columns)
        spend = pd.concat([spend.iloc[:41], bad, spend.iloc[41:]], ignore_index=True)
        fault_log.loc[len(fault_log)] = ["spend", 42, "spend", "negative spend"]
        fault_log.to_csv(out / "truth" / "faults.csv", index=False)
    survey = _survey(np.random.default_rng(survey_ss), np.concatenate(id_samples), cal)
    ab = _ab_tests(np.random.default_rng(ab_ss), cal)
    for name, df in (("spend", spend), ("survey", survey), ("ab_tests", ab),
                     ("creatives", _creatives(cal))):  # fmt: skip
        sink = _Sink(out / f"{name}.{fmt}", fmt)
        sink.write(df)
        sink.close()
    _write_truth(out, seed, n_customers, truth, combos, cal, spend_plan)
    if synergy is not None or integration_truth:
        _write_integration_truth(out, truth, synergy or {})
    return out


def _check_synergy(
    synergy: dict[tuple[str, str], float] | None,
) -> dict[tuple[str, str], float] | None:
    if synergy is None:
        return None
    out = {}
    for pair, factor in synergy.items():
        bad = [c for c in pair if c not in W.CHANNELS]
        if len(pair) != 2 or bad or pair[0] == pair[1]:
            raise ParameterError(
                f"simulate: synergy pair {pair!r} must name two different channels of "
                f"{', '.join(W.CHANNELS)}"
            )
        if not np.isfinite(factor) or factor < 0:
            raise ParameterError(f"simulate: synergy factor of {pair!r} must be >= 0, got {factor}")
        a, b = sorted(pair, key=W.CHANNELS.index)
        out[(a, b)] = float(factor)
    return out


def _write_integration_truth(out: Path, truth: _Truth, synergy: dict) -> None:
    rows = []
    for i, a in enumerate(W.CHANNELS):
        for b in W.CHANNELS[i + 1 :]:
            extra, both = truth.synergy.get((a, b), [0.0, 0.0])
            rows.append(
                {
                    "channel_a": a,
                    "channel_b": b,
                    "factor": synergy.get((a, b), 0.0),
                    "extra_orders": round(extra, 3),
                    "customers_both": int(both),
                    "extra_orders_per_customer": round(extra / both, 6) if both else 0.0,
                }
            )
    pd.DataFrame(rows).to_csv(out / "truth" / "synergy.csv", index=False)
    rows = [
        {
            "channel": ch,
            "touches": k,
            "customers": int(n),
            "caused_orders": round(caused, 3),
            "caused_orders_per_customer": round(caused / n, 6) if n else 0.0,
        }
        for (ch, k), (n, caused) in sorted(
            truth.exposure.items(), key=lambda x: (W.CHANNELS.index(x[0][0]), x[0][1])
        )
    ]
    pd.DataFrame(rows).to_csv(out / "truth" / "exposure.csv", index=False)


def _write_truth(
    out: Path, seed: int, n_customers: int, truth: _Truth, combos, cal: W.Calendar,
    spend_plan: dict[str, dict[str, float]] | None = None,
) -> None:  # fmt: skip
    touch_caused = sum(v for k, v in truth.credit.items() if k != "(baseline)")
    rows = []
    for name in (*W.CHANNELS, "(baseline)"):
        credit = truth.credit.get(name, 0.0)
        rows.append(
            {
                "channel": name,
                "true_conversions": round(credit, 3),
                "true_revenue": round(truth.credit_revenue.get(name, 0.0), 2),
                "true_share": round(credit / touch_caused, 6) if name != "(baseline)" else None,
                "removal_conversions": round(truth.removal.get(name, 0.0), 3)
                if name != "(baseline)"
                else None,
                "touches": truth.touches.get(name, 0) if name != "(baseline)" else None,
            }
        )
    frame = pd.DataFrame(rows).astype({"touches": "Int64"})
    frame.to_csv(out / "truth" / "channels.csv", index=False)

    curves = {}
    for name in W.PAID_CHANNELS:
        ch = W.CHANNEL_SPECS[name]
        if not ch.paid:
            continue
        touches = truth.touches.get(name, 0)
        curves[name] = {
            "rmax": ch.rmax,
            "K": ch.K,
            "alpha": ch.alpha,
            "conversions_per_touch": truth.credit.get(name, 0.0) / touches if touches else 0.0,
            "unit": "touches per customer per day = rmax * hill(spend per 1,000 customers)",
        }
    spec = W.WorldSpec(
        period_start=cal.period_start,
        period_end=cal.period_end,
        campaign=cal.campaign,
        campaign_start=cal.campaign_start,
        campaign_end=cal.campaign_end,
        plan_phases=cal.phases,
    ).to_dict()
    doc = {
        "seed": seed,
        "n_customers": n_customers,
        "spec": spec,
        "totals": {"conversions": truth.conversions, "revenue": round(truth.revenue, 2)},
        "response_curves": curves,
        "holdout": {
            "regions": list(W.HOLDOUT_REGIONS),
            "treated_customers": truth.treated_customers,
            "holdout_customers": truth.holdout_customers,
            "campaign_incremental_conversions": round(truth.campaign_incremental, 3),
            "campaign_incremental_conversions_in_window": round(
                truth.campaign_incremental_in_window, 3
            ),
            "att_conversions_per_treated_customer_in_window": round(
                truth.campaign_incremental_in_window / max(truth.treated_customers, 1), 6
            ),
        },
        "ab_test": {
            "test_id": cal.ab_test["test_id"],
            "true_rates": {
                v.variant: {
                    "open_rate": v.open_rate,
                    "click_rate": v.click_rate,
                    "conversion_rate": v.conversion_rate,
                }
                for v in cal.ab_test["variants"]
            },
        },
        "survey": {
            period: {
                brand: {
                    "aware": f.aware,
                    "consider": round(f.aware * f.consider, 6),
                    "prefer": round(f.aware * f.consider * f.prefer, 6),
                    "intent": round(f.aware * f.consider * f.prefer * f.intent, 6),
                    "nps": round(100 * (f.nps_mix[2] - f.nps_mix[0]), 3),
                }
                for brand, f in brands.items()
            }
            for period, brands in W.SURVEY_TRUTH.items()
        },
        "off_message_channels": sorted({c.channel for c in W.CREATIVES if not c.on_message}),
    }
    if spend_plan is not None:  # the campaign spent this instead of the calendar's budgets
        doc["spend_plan"] = {
            phase: {c: round(v, 2) for c, v in budget.items()}
            for phase, budget in spend_plan.items()
        }
    (out / "truth" / "truth.json").write_text(
        json.dumps(doc, indent=2, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8"
    )


def load_truth(data_dir: str | Path) -> dict | None:
    """Read a simulated world's ground truth (None when the folder has no ``truth/``).

    Returns a dict with ``channels`` (DataFrame), ``personas`` (DataFrame), ``synergy`` and
    ``exposure`` (DataFrames, only in worlds simulated with a synergy or the integration
    truth) and the contents of ``truth.json``.
    """
    folder = Path(data_dir) / "truth"
    if not (folder / "truth.json").exists():
        return None
    doc = json.loads((folder / "truth.json").read_text(encoding="utf-8"))
    doc["channels"] = pd.read_csv(folder / "channels.csv")
    for name in ("synergy", "exposure"):
        if (folder / f"{name}.csv").exists():
            doc[name] = pd.read_csv(folder / f"{name}.csv")
    if (folder / "personas.csv").exists():
        doc["personas"] = pd.read_csv(folder / "personas.csv")
    elif (folder / "personas.parquet").exists():
        doc["personas"] = pd.read_parquet(folder / "personas.parquet")
    return doc


def true_response(truth: dict, channel: str, daily_spend, n_customers: float) -> np.ndarray:
    """Return the expected touch-caused daily conversions of a paid channel at a spend.

    ``n_customers`` is the number of customers the spend reaches. Uses the world's Hill
    reach curve times the channel's mean true conversions per touch.
    """
    curve = truth["response_curves"][channel]
    s = np.asarray(daily_spend, dtype=float) / (n_customers / 1000.0)
    touches = n_customers * curve["rmax"] * hill(s, curve["K"], curve["alpha"])
    return touches * curve["conversions_per_touch"]
