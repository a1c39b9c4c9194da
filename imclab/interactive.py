"""Interactive exploration in JupyterLab (ipywidgets): attribution, persona cards, budget moves.

Each builder returns an object holding the ``widget`` to display, its ``controls`` (by name)
and the current result ``table`` (a DataFrame recomputed by the widget callbacks), so the
widgets also work, and are tested, without a browser. They are an extra for the interactive
session: the notebooks' static tables and figures do not depend on them.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import ipywidgets as widgets
import numpy as np
import pandas as pd
from IPython.display import display

from imclab.config import LOOKBACK_DAYS
from imclab.errors import ParameterError

__all__ = [
    "ENV_VARIABLE",
    "AttributionExplorer",
    "BudgetSimulator",
    "PersonaBrowser",
    "attribution_explorer",
    "budget_simulator",
    "explore",
    "interactive_enabled",
    "persona_browser",
]

ENV_VARIABLE = "IMCLAB_INTERACTIVE"
"""``make lab`` sets it to 1; headless runs (papermill, nbval, ``make notebooks``) do not."""

HEADLESS_NOTE = (
    "Interactive explorer: open this notebook in JupyterLab with `make lab` "
    "(or set IMCLAB_INTERACTIVE=1) to use it."
)


def interactive_enabled() -> bool:
    """Return True when widgets should be built (``IMCLAB_INTERACTIVE`` is 1/true/yes)."""
    return os.environ.get(ENV_VARIABLE, "").strip().lower() in ("1", "true", "yes")


def explore(builder: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Build an explorer in an interactive session, or return a fixed note in headless runs.

    A notebook cell ``explore(attribution_explorer, tp, conv)`` shows the widget in
    ``make lab`` and the same one-line note under papermill and nbval, so committed outputs
    stay deterministic and headless runs do no extra work.

    Parameters
    ----------
    builder
        One of :func:`attribution_explorer`, :func:`persona_browser`, :func:`budget_simulator`.
    *args, **kwargs
        Passed to ``builder``.

    Returns
    -------
    object
        The explorer (displayed as its widget), or the note string.
    """
    if not interactive_enabled():
        return HEADLESS_NOTE
    return builder(*args, **kwargs)


@dataclass
class _Interactive:
    """Base of the explorers: a widget, its named controls, an output area and a table."""

    widget: widgets.Widget = field(init=False)
    controls: dict[str, widgets.Widget] = field(init=False, default_factory=dict)
    output: widgets.Output = field(init=False, default_factory=widgets.Output)
    table: pd.DataFrame = field(init=False, default_factory=pd.DataFrame)

    def _show(self) -> None:
        self.output.clear_output(wait=True)
        with self.output:
            display(self.table)

    def _ipython_display_(self) -> None:
        display(self.widget)


# --------------------------------------------------------------------------------------
# Attribution
# --------------------------------------------------------------------------------------
@dataclass
class AttributionExplorer(_Interactive):
    """Channel shares of every attribution model, recomputed when a control changes.

    ``table`` has one row per channel and one column per model (share of the touch-attributed
    conversions, rounded to 3 decimals; the ``(no touch)`` row is left out as in the
    notebook); ``results`` is the tidy frame of :func:`imclab.attribution.run_models`;
    ``journeys`` the :class:`Journeys` in use.
    """

    touchpoints: pd.DataFrame = field(repr=False, default=None)
    conversions: pd.DataFrame = field(repr=False, default=None)
    channel_groups: Mapping[str, str] | None = None
    navigational_channels: Sequence[str] = ()
    results: pd.DataFrame = field(init=False, default_factory=pd.DataFrame)
    journeys: Any = field(init=False, default=None)
    _cache: dict[tuple, Any] = field(init=False, default_factory=dict, repr=False)

    def parameters(self) -> dict[str, Any]:
        """Return the current control values as keyword arguments of the attribution models."""
        c = self.controls
        first, last = c["first_weight"].value, c["last_weight"].value
        return {
            "lookback_days": float(c["lookback_days"].value),
            "half_life_days": float(c["half_life_days"].value),
            "interactions": tuple(c["interactions"].value),
            "markov_order": int(c["markov_order"].value),
            "position_weights": (first, round(1.0 - first - last, 10), last),
        }

    def update(self, change: Any = None) -> pd.DataFrame:
        """Rebuild journeys if needed, rerun the models, refresh ``table`` and the output."""
        from imclab.attribution import NO_TOUCH, build_journeys, drop_navigational, run_models

        p = self.parameters()
        if not p["interactions"]:
            self.table = pd.DataFrame({"note": ["select at least one interaction"]})
            self._show()
            return self.table
        if p["position_weights"][1] < 0:
            self.table = pd.DataFrame({"note": ["first + last position weights must not exceed 1"]})
            self._show()
            return self.table
        key = (p["lookback_days"], p["half_life_days"], p["interactions"])
        if key not in self._cache:
            self._cache.clear()  # keep one set of journeys: the event log may be large
            self._cache[key] = build_journeys(
                None,
                self.touchpoints,
                self.conversions,
                lookback_days=p["lookback_days"],
                half_life_days=p["half_life_days"],
                interactions=p["interactions"],
                channel_groups=self.channel_groups,
            )
        self.journeys = self._cache[key]
        paths = drop_navigational(
            self.journeys.paths, self.navigational_channels, collapse_repeats=False
        ).paths
        self.results = run_models(
            paths,
            markov_order=p["markov_order"],
            position_weights=p["position_weights"],
        )
        order = list(dict.fromkeys(self.results["model"]))
        shares = self.results[self.results["channel"] != NO_TOUCH]  # as the notebook shows
        table = shares.pivot_table(
            index="channel", columns="model", values="share", aggfunc="sum", sort=True
        )[order]
        table.columns.name = None
        self.table = table.round(3)
        self._show()
        return self.table


def attribution_explorer(
    touchpoints: pd.DataFrame,
    conversions: pd.DataFrame,
    *,
    lookback_days: int = LOOKBACK_DAYS,
    half_life_days: float = 7.0,
    interactions: Sequence[str] = ("impression", "click", "open", "visit"),
    markov_order: int = 1,
    position_weights: tuple[float, float, float] = (0.4, 0.2, 0.4),
    channel_groups: Mapping[str, str] | None = None,
    navigational_channels: Sequence[str] = (),
) -> AttributionExplorer:
    """Build a widget comparing attribution models while the lookback and parameters change.

    Parameters
    ----------
    touchpoints, conversions
        The event tables (data-dictionary columns), e.g. ``world.touchpoints``.
    lookback_days, half_life_days, interactions, channel_groups
        Initial journey settings (see :func:`imclab.attribution.build_journeys`).
    markov_order, position_weights
        Initial model settings (see :func:`imclab.attribution.run_models`).
    navigational_channels
        Channels removed from every journey (:func:`imclab.attribution.drop_navigational`),
        as in the notebook.

    Returns
    -------
    AttributionExplorer
        Display it (last expression of a cell); ``.table`` holds the shares shown.
    """
    if not 0 <= position_weights[0] <= 1 or not 0 <= position_weights[2] <= 1:
        raise ParameterError(f"position_weights: expected shares in 0..1, got {position_weights}")
    ex = AttributionExplorer(
        touchpoints=touchpoints,
        conversions=conversions,
        channel_groups=channel_groups,
        navigational_channels=tuple(navigational_channels),
    )
    style = {"description_width": "initial"}
    ex.controls = {
        "lookback_days": widgets.IntSlider(
            value=int(lookback_days), min=1, max=90, description="lookback (days)", style=style
        ),
        "half_life_days": widgets.FloatSlider(
            value=float(half_life_days),
            min=0.5,
            max=30.0,
            step=0.5,
            description="time-decay half-life (days)",
            style=style,
        ),
        "interactions": widgets.SelectMultiple(
            options=["impression", "click", "open", "visit"],
            value=tuple(interactions),
            description="touches counted",
            style=style,
        ),
        "markov_order": widgets.IntSlider(
            value=int(markov_order), min=1, max=4, description="Markov order", style=style
        ),
        "first_weight": widgets.FloatSlider(
            value=float(position_weights[0]),
            min=0.0,
            max=1.0,
            step=0.05,
            description="position-based: first",
            style=style,
        ),
        "last_weight": widgets.FloatSlider(
            value=float(position_weights[2]),
            min=0.0,
            max=1.0,
            step=0.05,
            description="position-based: last",
            style=style,
        ),
    }
    for control in ex.controls.values():
        control.observe(ex.update, names="value")
    ex.widget = widgets.VBox(
        [
            widgets.HTML("<b>Channel share of attributed conversions, by model</b>"),
            widgets.HBox(
                [
                    widgets.VBox([ex.controls[k] for k in ("lookback_days", "half_life_days")]),
                    ex.controls["interactions"],
                    widgets.VBox(
                        [ex.controls[k] for k in ("markov_order", "first_weight", "last_weight")]
                    ),
                ]
            ),
            ex.output,
        ]
    )
    ex.update()
    return ex


# --------------------------------------------------------------------------------------
# Persona cards
# --------------------------------------------------------------------------------------
@dataclass
class PersonaBrowser(_Interactive):
    """One persona card at a time; ``table`` is the selected card as ``field, value`` rows."""

    cards: pd.DataFrame = field(repr=False, default=None)
    name_column: str = "persona"

    @property
    def selected(self) -> str:
        """The persona shown."""
        return self.controls["persona"].value

    def update(self, change: Any = None) -> pd.DataFrame:
        """Show the card of the selected persona."""
        row = self.cards.loc[self.cards[self.name_column].astype(str) == self.selected].iloc[0]
        card = row.drop(labels=[self.name_column])
        values = [round(v, 3) if isinstance(v, float | np.floating) else v for v in card.to_numpy()]
        self.table = pd.DataFrame({"field": card.index.astype(str), "value": values})
        self.controls["title"].value = f"<h4>{self.selected}</h4>"
        self._show()
        return self.table


def persona_browser(cards: pd.DataFrame, name_column: str = "persona") -> PersonaBrowser:
    """Build a widget to browse persona cards one by one (dropdown and previous/next buttons).

    Parameters
    ----------
    cards
        One row per persona, e.g. the persona cards of :mod:`imclab.personas` (size, share,
        profile, favourite channels ...); any columns are shown.
    name_column
        The column naming the persona.

    Returns
    -------
    PersonaBrowser
        Display it; ``.controls["persona"].value = name`` selects a card, ``.table`` holds it.

    Raises
    ------
    ParameterError
        ``cards`` is empty, lacks ``name_column`` or names a persona twice.
    """
    if name_column not in cards.columns:
        raise ParameterError(
            f"persona cards: no column {name_column!r} (columns: {', '.join(map(str, cards))})"
        )
    names = cards[name_column].astype(str).tolist()
    if not names:
        raise ParameterError("persona cards: the table is empty")
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise ParameterError(f"persona cards: persona(s) listed twice: {', '.join(repeated)}")
    pb = PersonaBrowser(cards=cards.reset_index(drop=True), name_column=name_column)
    dropdown = widgets.Dropdown(options=names, value=names[0], description="persona")
    previous, following = widgets.Button(description="previous"), widgets.Button(description="next")

    def step(offset: int) -> None:
        i = names.index(dropdown.value)
        dropdown.value = names[(i + offset) % len(names)]

    previous.on_click(lambda _: step(-1))
    following.on_click(lambda _: step(1))
    pb.controls = {
        "persona": dropdown,
        "previous": previous,
        "next": following,
        "title": widgets.HTML(),
    }
    dropdown.observe(pb.update, names="value")
    pb.widget = widgets.VBox(
        [widgets.HBox([dropdown, previous, following]), pb.controls["title"], pb.output]
    )
    pb.update()
    return pb


# --------------------------------------------------------------------------------------
# Budget
# --------------------------------------------------------------------------------------
@dataclass
class BudgetSimulator(_Interactive):
    """Predicted conversions of a budget split under fitted response curves.

    ``table``: one row per channel (``channel, status, base_daily_spend, baseline_spend,
    spend, change_spend, daily_spend, baseline_conversions, conversions,
    change_conversions``; plus ``value`` and ``roi`` when a value per conversion is given)
    and a ``(total)`` row. Conversions are incremental to the always-on base
    (``base_daily_spend`` per day keeps running). ``summary`` holds the totals.
    """

    curves: Any = field(repr=False, default=None)
    baseline: pd.Series = field(repr=False, default=None)
    n_days: int = 1
    value_per_conversion: float | None = None
    base_daily: pd.Series = field(repr=False, default=None)
    summary: dict[str, float] = field(init=False, default_factory=dict)
    _busy: bool = field(init=False, default=False, repr=False)

    @property
    def allocation(self) -> pd.Series:
        """Current spend per channel over the period (the sliders)."""
        return pd.Series(
            {c: float(self.controls[c].value) for c in self.baseline.index}, name="spend"
        )

    def _conversions(self, spend: pd.Series) -> np.ndarray:
        base = self.base_daily if self.base_daily is not None else pd.Series(dtype=float)
        out = []
        for c, s in spend.items():
            b = float(base.get(c, 0.0))
            f = self.curves.response(c, np.array([b, b + s / self.n_days]))
            out.append(self.n_days * float(f[1] - f[0]))
        return np.array(out)

    def _rebalance(self, change: Any) -> None:
        """Keep the total: move the difference to the other channels, pro rata to their spend."""
        if self._busy or not self.controls["keep_total"].value:
            return
        moved = change["owner"]
        channel = next(c for c in self.baseline.index if self.controls[c] is moved)
        others = [c for c in self.baseline.index if c != channel]
        total = float(self.baseline.sum())
        current = self.allocation
        room = total - current[channel]
        if room < 0:  # the channel alone exceeds the total: cap it
            self._busy = True
            moved.value = total
            self._busy = False
            room, current[channel] = 0.0, total
        weights = current[others]
        if weights.sum() <= 0:
            weights = pd.Series(1.0, index=others)
        shares = weights / weights.sum()
        new = (shares * room).round(2)
        if len(others):  # cents: the last channel takes the rounding residue
            new.iloc[-1] = round(room - float(new.iloc[:-1].sum()), 2)
        self._busy = True
        try:
            for c in others:
                self.controls[c].value = max(0.0, float(new[c]))
        finally:
            self._busy = False

    def update(self, change: Any = None) -> pd.DataFrame:
        """Recompute the predicted outcome of the current split."""
        if change is not None and change.get("owner") in [
            self.controls[c] for c in self.baseline.index
        ]:
            self._rebalance(change)
            if self._busy:
                return self.table
        spend = self.allocation
        base = self.baseline
        conv, base_conv = self._conversions(spend), self._conversions(base)
        status = self.curves.params_.set_index("channel")["status"]
        table = pd.DataFrame(
            {
                "channel": spend.index,
                "status": [status.get(c, "unknown") for c in spend.index],
                "base_daily_spend": [
                    float(self.base_daily.get(c, 0.0)) if self.base_daily is not None else 0.0
                    for c in spend.index
                ],
                "baseline_spend": base.to_numpy(),
                "spend": spend.to_numpy(),
                "change_spend": spend.to_numpy() - base.to_numpy(),
                "daily_spend": spend.to_numpy() / self.n_days,
                "baseline_conversions": base_conv,
                "conversions": conv,
                "change_conversions": conv - base_conv,
            }
        )
        sums = table.drop(columns=["channel", "status"]).sum()
        total = {"channel": "(total)", "status": "", **sums.to_dict()}
        table = pd.concat([table, pd.DataFrame([total])], ignore_index=True)
        if self.value_per_conversion is not None:
            table["value"] = table["conversions"] * self.value_per_conversion
            table["roi"] = np.where(
                table["spend"] > 0,
                table["value"] / table["spend"].where(table["spend"] > 0) - 1,
                np.nan,
            )
        self.summary = {
            "total_spend": float(spend.sum()),
            "baseline_conversions": float(base_conv.sum()),
            "conversions": float(conv.sum()),
            "change_conversions": float(conv.sum() - base_conv.sum()),
        }
        self.table = table.round(2)
        self.controls["total"].value = (
            f"total {spend.sum():,.2f} (baseline {base.sum():,.2f}); predicted conversions "
            f"{conv.sum():,.1f} ({conv.sum() - base_conv.sum():+,.1f})"
            + (" incremental to always-on" if self.base_daily is not None else "")
        )
        self._show()
        return self.table


def budget_simulator(
    curves: Any,
    allocation: Mapping[str, float] | pd.Series,
    n_days: int,
    value_per_conversion: float | None = None,
    keep_total: bool = True,
    max_factor: float = 3.0,
    base_daily_spend: Mapping[str, float] | pd.Series | None = None,
) -> BudgetSimulator:
    """Build sliders that move budget between channels and show the predicted outcome.

    Each channel's budget is spent evenly over ``n_days`` days on top of its
    ``base_daily_spend`` ``b`` (always-on media) and brings
    ``n_days * (curves.response(channel, b + budget / n_days) - curves.response(channel, b))``
    conversions incremental to the base (as in
    :func:`imclab.review.budget.optimize_budget`).

    Parameters
    ----------
    curves
        Fitted :class:`imclab.review.budget.ResponseCurves` (or ``from_params``).
    allocation
        The starting (e.g. actual or recommended) spend per channel over the period.
    n_days
        Length of the period in days.
    value_per_conversion
        When given, the table adds ``value`` and ``roi`` (value / spend - 1).
    keep_total
        Start with "keep the total" on: moving one slider moves the others the other way,
        pro rata to their spend.
    max_factor
        Slider maximum as a multiple of the total budget's largest channel share (at least
        the total budget).
    base_daily_spend
        Spend per day per channel that runs anyway (always-on media):
        :func:`imclab.review.budget.base_daily_spend`. It goes under curves of total spend
        and not under curves of a campaign's own spend (:func:`imclab.review.budget.curve_base`,
        the optimiser's rule). ``None``: no base.

    Returns
    -------
    BudgetSimulator
        Display it; ``.controls[channel].value = amount`` moves budget, ``.table`` holds the
        predicted outcome.

    Raises
    ------
    ParameterError
        ``n_days`` below 1, negative amounts, or a channel without a curve.
    """
    if n_days < 1:
        raise ParameterError(f"n_days must be >= 1, got {n_days}")
    base = pd.Series(allocation, dtype=float).rename("spend")
    if (base < 0).any() or not np.isfinite(base).all():
        raise ParameterError(f"allocation: amounts must be finite and >= 0, got {base.to_dict()}")
    known = set(curves.params_["channel"])
    unknown = [c for c in base.index if c not in known]
    if unknown:
        raise ParameterError(
            f"allocation: no response curve for {', '.join(unknown)} "
            f"(curves: {', '.join(sorted(known))})"
        )
    base_daily = None
    if base_daily_spend is not None:  # what runs under each curve: the one rule of the optimiser
        from imclab.review.budget import curve_base

        base_daily = curve_base(curves, base_daily_spend, sorted(known))
    sim = BudgetSimulator(
        curves=curves,
        baseline=base,
        n_days=int(n_days),
        value_per_conversion=value_per_conversion,
        base_daily=base_daily,
    )
    total = float(base.sum())
    top = max(total, max_factor * float(base.max()))
    sim.controls = {
        c: widgets.FloatSlider(
            value=float(v),
            min=0.0,
            max=top,
            step=max(round(top / 200, -1), 1.0),
            description=str(c),
            readout_format=",.0f",
            continuous_update=False,
        )
        for c, v in base.items()
    }
    sim.controls["keep_total"] = widgets.Checkbox(value=keep_total, description="keep the total")
    sim.controls["reset"] = widgets.Button(description="reset")
    sim.controls["total"] = widgets.HTML()

    def reset(_: Any) -> None:
        sim._busy = True
        try:
            for c, v in base.items():
                sim.controls[c].value = float(v)
        finally:
            sim._busy = False
        sim.update()

    sim.controls["reset"].on_click(reset)
    for c in base.index:
        sim.controls[c].observe(sim.update, names="value")
    sim.widget = widgets.VBox(
        [
            widgets.HTML("<b>Move budget between channels</b>"),
            widgets.HBox([sim.controls["keep_total"], sim.controls["reset"]]),
            *[sim.controls[c] for c in base.index],
            sim.controls["total"],
            sim.output,
        ]
    )
    sim.update()
    return sim
