"""Persona cards: size, distinguishing traits, channels, value, a descriptive name, plan matching.

Every trait is compared with the whole customer base as a standardised difference
``(mean in persona - mean overall) / sd overall``; for a categorical level the "mean" is the
share of customers with that level, so numeric and categorical traits share one scale.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from imclab.config import CHANNEL_LABELS, CHANNELS
from imclab.errors import DataError, PlanError

__all__ = [
    "match_target_personas",
    "persona_cards",
    "persona_labels",
    "persona_name",
    "persona_profiles",
    "trait_mask",
]

CATEGORICALS: tuple[str, ...] = ("gender", "city_tier", "device", "income_band", "region")
PROFILE_NUMERIC: tuple[str, ...] = (
    "age",
    "avg_session_minutes",
    "pages_per_visit",
    "discount_usage_rate",
    "loyalty_member",
    "newsletter_opt_in",
    *(f"share_{c}" for c in CHANNELS),
    "click_rate",
    "open_rate",
    "visit_rate",
    "touches_per_week",
    "recency_days",
    "frequency",
    "monetary",
    "aov",
    "tenure_days",
)
#: Standardised difference a trait needs before it appears in a persona's name.
NAME_THRESHOLD: float = 0.5

_PLACE = {"tier1": "urban", "tier2": "second-city", "tier3": "small-town"}
_DEVICE = {"mobile": "mobile-first", "desktop": "desktop", "tablet": "tablet"}
#: Nouns from who the customers are (preferred), then from where they are reached.
_NOUNS = {
    "discount_usage_rate": "deal seekers",
    "avg_session_minutes": "researchers",
    "pages_per_visit": "researchers",
    "loyalty_member": "loyalists",
    "income_band=high": "professionals",
}
_CHANNEL_NOUNS = {
    "share_tv": "TV viewers",
    "share_edm": "email subscribers",
    "share_social": "social scrollers",
    "share_seo": "searchers",
}
_TRAIT_LABELS = {
    "discount_usage_rate": "discount usage",
    "avg_session_minutes": "session minutes",
    "pages_per_visit": "pages per visit",
    "loyalty_member": "loyalty member",
    "newsletter_opt_in": "newsletter opt-in",
    "touches_per_week": "touches per week",
    "recency_days": "days since last order",
    "tenure_days": "tenure (days)",
}


def _check(features: pd.DataFrame, labels: Iterable) -> np.ndarray:
    labels = np.asarray(labels)
    if len(labels) != len(features):
        raise DataError(
            f"persona labels: {len(labels)} labels for {len(features)} customers "
            "(expected one label per row of the feature table)"
        )
    return labels


def _indicators(features: pd.DataFrame) -> pd.DataFrame:
    """Numeric traits plus one 0/1 column ``column=level`` per categorical level."""
    numeric = [c for c in PROFILE_NUMERIC if c in features.columns]
    parts = [features[numeric].astype(float)]
    for col in CATEGORICALS:
        if col in features.columns:
            levels = sorted(features[col].dropna().astype(str).unique())
            values = features[col].astype("object")
            parts.append(
                pd.DataFrame(
                    {f"{col}={lv}": (values == lv).astype(float) for lv in levels},
                    index=features.index,
                )
            )
    return pd.concat(parts, axis=1)


def persona_profiles(features: pd.DataFrame, labels: Iterable) -> pd.DataFrame:
    """Standardised difference of every trait between each persona and all customers.

    Parameters
    ----------
    features
        Customer feature table.
    labels
        Persona of each row.

    Returns
    -------
    pandas.DataFrame
        Index ``persona``; one column per numeric trait and per categorical level
        (``device=mobile``); values ``(mean_persona - mean_all) / sd_all`` (0 when the trait
        is constant).
    """
    labels = _check(features, labels)
    ind = _indicators(features)
    mean, sd = ind.mean(), ind.std(ddof=0).replace(0.0, np.nan)
    by = ind.groupby(labels).mean()
    z = ((by - mean) / sd).fillna(0.0)
    z.index.name = "persona"
    return z


def persona_name(z: pd.Series, threshold: float = NAME_THRESHOLD) -> str:
    """Build a descriptive name such as "young urban mobile-first deal seekers".

    Parameters
    ----------
    z
        One row of :func:`persona_profiles`.
    threshold
        Standardised difference a trait needs to enter the name.

    Returns
    -------
    str
        Age word, place, device, then a noun from the strongest behavioural trait
        ("shoppers" when none stands out).
    """

    def get(key: str) -> float:
        return float(z.get(key, 0.0))

    words = []
    age = get("age")
    if age <= -threshold:
        words.append("young")
    elif age >= 2 * threshold:
        words.append("older")
    for mapping, column in ((_PLACE, "city_tier"), (_DEVICE, "device")):
        best = max(mapping, key=lambda lv: get(f"{column}={lv}"))
        if get(f"{column}={best}") >= threshold:
            words.append(mapping[best])
    noun = "shoppers"
    for vocabulary in (_NOUNS, _CHANNEL_NOUNS):
        key = max(vocabulary, key=get)
        if get(key) >= threshold:
            noun = vocabulary[key]
            break
    if noun != "professionals" and get("income_band=high") >= 2 * threshold:
        words.append("affluent")
    return " ".join([*words, noun])


def _unique_names(names: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for name in names:
        seen[name] = seen.get(name, 0) + 1
        out.append(name if seen[name] == 1 else f"{name} ({seen[name]})")
    return out


def persona_labels(features: pd.DataFrame, labels: Iterable) -> dict[int, str]:
    """Descriptive (unique) name of each persona id.

    Parameters
    ----------
    features, labels
        As in :func:`persona_profiles`.

    Returns
    -------
    dict
        ``{persona id: name}`` in id order.
    """
    z = persona_profiles(features, labels)
    names = _unique_names([persona_name(z.loc[p]) for p in z.index])
    return dict(zip([int(p) for p in z.index], names, strict=True))


def _describe(trait: str, value: float) -> str:
    if "=" in trait:
        col, level = trait.split("=", 1)
        return f"{'more' if value > 0 else 'fewer'} {col.replace('_', ' ')}={level}"
    label = _TRAIT_LABELS.get(trait, trait.replace("share_", "").replace("_", " "))
    if trait.startswith("share_"):
        label = CHANNEL_LABELS.get(trait[6:], label) + " share"
    return f"{'high' if value > 0 else 'low'} {label}"


def persona_cards(
    features: pd.DataFrame,
    labels: Iterable,
    stability: pd.DataFrame | None = None,
    top_n: int = 3,
) -> pd.DataFrame:
    """One row per persona: size, share, name, traits, channels, value and stability.

    Parameters
    ----------
    features
        Customer feature table (needs ``frequency``, ``monetary``; ``converted`` optional).
    labels
        Persona id per row.
    stability
        ``Personas.stability_`` (``cluster, jaccard_mean, unreliable``), optional.
    top_n
        Distinguishing traits and preferred channels listed.

    Returns
    -------
    pandas.DataFrame
        ``persona, name, customers, share, top_traits, preferred_channels,
        conversion_rate, aov, revenue, value_share`` (+ ``stability, unreliable``), ordered
        by persona id. ``aov`` is revenue per order; ``conversion_rate`` the share of
        customers with at least one order.
    """
    labels = _check(features, labels)
    for col in ("frequency", "monetary"):
        if col not in features.columns:
            raise DataError(f"customer features: column '{col}' is required for persona cards")
    z = persona_profiles(features, labels)
    names = persona_labels(features, labels)
    frame = features.assign(_p=labels)
    grouped = frame.groupby("_p")
    converted = frame["frequency"] > 0
    total_revenue = float(features["monetary"].sum())
    shares = [f"share_{c}" for c in CHANNELS if f"share_{c}" in features.columns]
    overall_mix = features[shares].mean() if shares else pd.Series(dtype=float)
    rows = []
    for p in z.index:
        traits = z.loc[p].drop(
            labels=shares + ["monetary", "frequency", "recency_days"], errors="ignore"
        )
        top = traits.abs().sort_values(ascending=False, kind="mergesort").head(top_n).index
        orders = float(grouped["frequency"].sum()[p])
        revenue = float(grouped["monetary"].sum()[p])
        row: dict[str, Any] = {
            "persona": int(p),
            "name": names[int(p)],
            "customers": int(grouped.size()[p]),
            "share": float(grouped.size()[p] / len(features)),
            "top_traits": "; ".join(
                f"{_describe(t, traits[t])} ({traits[t]:+.1f} sd)" for t in top
            ),
            "preferred_channels": "",
            "conversion_rate": float(converted[labels == p].mean()),
            "aov": revenue / orders if orders else np.nan,
            "revenue": revenue,
            "value_share": revenue / total_revenue if total_revenue else np.nan,
        }
        if shares:
            lift = (grouped[shares].mean().loc[p] / overall_mix).sort_values(
                ascending=False, kind="mergesort"
            )
            row["preferred_channels"] = ", ".join(
                f"{c[6:]} (x{v:.1f})" for c, v in lift.head(min(top_n, 2)).items()
            )
        rows.append(row)
    cards = pd.DataFrame(rows)
    if stability is not None:
        stab = stability.set_index("cluster")
        cards["stability"] = cards["persona"].map(stab["jaccard_mean"])
        cards["unreliable"] = cards["persona"].map(stab["unreliable"]).astype(bool)
    return cards


_RANGE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*-\s*(\d+(?:\.\d+)?)\s*$")
_OPEN = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*\+\s*$")


def trait_mask(features: pd.DataFrame, trait: str, value: Any) -> pd.Series:
    """Which customers meet a plan trait (``age: "18-29"``, ``device: mobile``, ``x: high``).

    Numeric traits take a range ``"a-b"`` (inclusive), an open range ``"a+"``, a number
    (within 10 %) or a level ``low``/``medium``/``high`` (bottom, middle, top third of the
    customer base). Categorical and boolean traits compare the value.

    Parameters
    ----------
    features
        Customer feature table.
    trait
        Column name.
    value
        Trait value from the plan.

    Returns
    -------
    pandas.Series
        Boolean per customer.

    Raises
    ------
    PlanError
        The trait is not a column of the feature table, or the value cannot be read.
    """
    if trait not in features.columns:
        raise PlanError(
            f"target_personas traits: {trait!r} is not a customer feature "
            f"(columns: {', '.join(map(str, features.columns))})"
        )
    col = features[trait]
    text = str(value).strip().lower()
    if trait in ("loyalty_member", "newsletter_opt_in"):
        if text not in ("true", "false"):
            raise PlanError(
                f"target_personas traits: {trait}: expected true or false, got {value!r}"
            )
        return col.astype(float) == (1.0 if text == "true" else 0.0)
    if not pd.api.types.is_numeric_dtype(col):
        return col.astype("object").astype(str).str.lower() == text
    x = col.astype(float)
    if text in ("low", "medium", "high"):
        lo, hi = x.quantile([1 / 3, 2 / 3])
        return {"low": x <= lo, "medium": (x > lo) & (x <= hi), "high": x > hi}[text]
    if m := _RANGE.match(text):
        return x.between(float(m.group(1)), float(m.group(2)))
    if m := _OPEN.match(text):
        return x >= float(m.group(1))
    try:
        target = float(text)
    except ValueError as exc:
        raise PlanError(
            f"target_personas traits: {trait}: {value!r} is not a range, a number or a level"
        ) from exc
    return (x - target).abs() <= 0.1 * abs(target)


def match_target_personas(
    targets: Iterable[Any], features: pd.DataFrame, labels: Iterable, names: Mapping | None = None
) -> pd.DataFrame:
    """Score how well each found persona matches each target persona of the plan.

    The score of (target, persona) is the mean, over the target's traits, of the share of
    the persona's customers meeting the trait; ``lift`` divides it by the same score over
    all customers. Each target's best persona has ``best = True``.

    Parameters
    ----------
    targets
        ``plan.target_personas`` (objects or dicts with ``name`` and ``traits``).
    features, labels
        Customer features and persona ids.
    names
        ``{persona id: name}`` (default: :func:`persona_labels`).

    Returns
    -------
    pandas.DataFrame
        ``target, persona, name, score, lift, best, traits`` (per-trait shares as text).
    """
    labels = _check(features, labels)
    names = dict(names) if names is not None else persona_labels(features, labels)
    rows = []
    for target in targets:
        tname = target["name"] if isinstance(target, Mapping) else target.name
        traits = target["traits"] if isinstance(target, Mapping) else target.traits
        if not traits:
            continue
        masks = {t: trait_mask(features, t, v) for t, v in traits.items()}
        overall = float(np.mean([m.mean() for m in masks.values()]))
        for p in sorted(np.unique(labels)):
            sel = labels == p
            shares = {t: float(m[sel].mean()) for t, m in masks.items()}
            score = float(np.mean(list(shares.values())))
            rows.append(
                {
                    "target": tname,
                    "persona": int(p),
                    "name": names.get(int(p), str(p)),
                    "score": score,
                    "lift": score / overall if overall else np.nan,
                    "traits": ", ".join(f"{t}={traits[t]}: {s:.0%}" for t, s in shares.items()),
                }
            )
    table = pd.DataFrame(rows, columns=["target", "persona", "name", "score", "lift", "traits"])
    table["best"] = False
    if not table.empty:
        best = table.groupby("target", sort=False)["score"].idxmax()
        table.loc[best.to_numpy(), "best"] = True
    return table[["target", "persona", "name", "score", "lift", "best", "traits"]]
