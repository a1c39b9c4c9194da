"""Customer lifetime value with PyMC-Marketing: purchase counts and order values per buyer.

Purchase counts by BG/NBD (default) or Pareto/NBD, order values by Gamma-Gamma, all from
:mod:`pymc_marketing.clv`, fitted by maximum a posteriori (deterministic, a few seconds). With
flat priors this is the maximum likelihood of the papers: ``tests/review/test_clv.py`` checks
the fit of the CDNOW data against Fader, Hardie and Lee (2005). CLV is split by persona and
by the channel of each customer's first touchpoint.

Public functions
----------------
- :func:`rfm_summary` (conversions -> frequency, recency, T, monetary_value per buyer)
- :class:`CustomerValueModel` (sklearn-style: ``fit(rfm)``, ``clv(rfm, ...)``, ``params_``;
  ``expected_purchases_new_customer(t)``, the retention curves' overlay in notebook 06)
- :func:`customer_lifetime_value` (conversions -> :class:`CLVResult` in one call)
- :func:`holdout_check` (fit up to a date, predict the repeat purchases after it, compare)
- :func:`first_touch_channel` (touchpoints -> channel of each customer's first touch)
- :func:`clv_by_segment` (CLV table + labels -> count, mean, median, total per segment)
- :func:`clv_by_persona`, :func:`clv_by_first_touch` (the two segmentations the review shows)

Time unit
---------
A *transaction* is a customer-day with at least one order (same-day orders are one purchase
occasion; their revenue is summed), as ``pymc_marketing.clv.rfm_summary`` (after
``lifetimes``) does with daily periods. Times are measured in **weeks** (days / 7) by
default, as in the CDNOW papers; ``freq="D"`` measures them in days. ``frequency`` = repeat
transactions (all but the first), ``recency`` = first to last transaction, ``T`` = first
transaction to the end of the observation, ``monetary_value`` = mean value of the repeat
transactions (0 when none). Customers without an order are outside the model (BG/NBD starts
at the first purchase); they are counted in :attr:`CLVResult.notes`. Data start is treated as
the start of each customer's history (customers who bought before it are seen from their
first order in the data).

Not offered: the shifted-beta-geometric model (``ShiftedBetaGeoModel``) is for contracts or
subscriptions renewed or cancelled period by period, by cohort; the brand world's schema has
orders only (no subscription, renewal or cancellation table), so it does not apply.

Engines
-------
The event tables (``conversions``, ``touchpoints``, ``customers``) may be pandas DataFrames
(:func:`imclab.data.load_world`) or Ibis tables on DuckDB or Spark
(:func:`imclab.warehouse.open_world`): the orders are reduced to customer-days and customers
where they live (:func:`imclab.engine.to_ibis`); only one row per customer comes back, the
input of the models.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator

from imclab.engine import quiet, to_ibis
from imclab.errors import DataError, ParameterError

__all__ = [
    "CLVResult",
    "CustomerValueModel",
    "clv_by_first_touch",
    "clv_by_persona",
    "clv_by_segment",
    "customer_lifetime_value",
    "first_touch_channel",
    "holdout_check",
    "rfm_summary",
]

#: Days per time unit of the RFM summary.
_UNIT_DAYS = {"D": 1.0, "W": 7.0}

DAYS_PER_MONTH = 30.4375
"""Days in a month of the CLV horizon, as in :func:`pymc_marketing.clv.customer_lifetime_value`."""

TRANSACTION_MODELS = ("bg_nbd", "pareto_nbd")
"""Purchase-count models :class:`CustomerValueModel` fits (``transaction_model``)."""

_LABELS = {"bg_nbd": "BG/NBD", "pareto_nbd": "Pareto/NBD", "gamma_gamma": "Gamma-Gamma"}
_PARAMETERS = {
    "bg_nbd": ("r", "alpha", "a", "b"),
    "pareto_nbd": ("r", "alpha", "s", "beta"),
    "gamma_gamma": ("p", "q", "v"),
}
_PLAUSIBLE = (1e-4, 1e3)
"""Parameters outside this range mean the fit ran to the boundary of the parameter space."""

NO_TOUCH = "(no touch)"
"""First-touch label of customers with no touchpoint."""


@contextmanager
def _quiet_pymc() -> Iterator[None]:
    """Silence PyMC's and PyTensor's chatter around a fit or a prediction.

    That is: their informational log lines, deprecation notices between the PyMC libraries
    (on import), overflow while the optimiser explores, and the ``T=0 is uninformative``
    warning (those customers are left out of the fit on purpose).
    """
    loggers = [logging.getLogger(name) for name in ("pymc", "pytensor", "pymc_marketing")]
    levels = [logger.level for logger in loggers]
    libraries = r"(pymc|pymc_marketing|pymc_extras|pytensor|arviz\w*|xarray|preliz)(\.|$)"
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="T=0 is uninformative", category=UserWarning)
        for category in (DeprecationWarning, FutureWarning, PendingDeprecationWarning):
            warnings.filterwarnings("ignore", category=category, module=libraries)
        warnings.filterwarnings("ignore", category=RuntimeWarning, module=libraries)
        for logger in loggers:
            logger.setLevel(logging.WARNING)
        try:
            with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
                yield
        finally:
            for logger, level in zip(loggers, levels, strict=True):
                logger.setLevel(level)


def _model_class(kind: str) -> Any:
    from pymc_marketing.clv import BetaGeoModel, GammaGammaModel, ParetoNBDModel

    return {"bg_nbd": BetaGeoModel, "pareto_nbd": ParetoNBDModel, "gamma_gamma": GammaGammaModel}[
        kind
    ]


def _flat_priors(kind: str) -> dict:
    """``HalfFlat`` on every parameter: the MAP estimate is then the maximum likelihood."""
    from pymc_extras.prior import Prior

    return {name: Prior("HalfFlat") for name in _PARAMETERS[kind]}


def _estimates(model: Any, kind: str) -> dict[str, float]:
    """Point estimates of a MAP-fitted PyMC-Marketing model, by parameter name."""
    return {k: float(model.fit_result[k].values.squeeze()) for k in _PARAMETERS[kind]}


def _model_frame(rfm: pd.DataFrame) -> pd.DataFrame:
    """RFM table with ``customer_id`` as a column (PyMC-Marketing's input) and float times."""
    data = rfm.reset_index() if "customer_id" not in rfm.columns else rfm.reset_index(drop=True)
    if "customer_id" not in data.columns:
        raise DataError(
            "RFM summary: no customer_id column or index "
            f"(found: {', '.join(map(str, rfm.columns))})"
        )
    cols = [c for c in ("frequency", "recency", "T", "monetary_value") if c in data.columns]
    out = data[["customer_id", *cols]].astype({c: float for c in cols})
    out["customer_id"] = out["customer_id"].astype(str)
    return out


def _per_customer(values: Any, data: pd.DataFrame) -> np.ndarray:
    """Return a MAP prediction (chain, draw, customer_id) as an array in ``data``'s order."""
    squeezed = values.squeeze(
        [d for d in ("chain", "draw") if d in values.dims and values.sizes[d] == 1]
    )
    if "customer_id" not in squeezed.dims:  # a population quantity: one value for everyone
        return np.full(len(data), float(squeezed.values))
    return squeezed.sel(customer_id=data["customer_id"].to_numpy()).to_numpy().astype(float)


def _check_freq(freq: str) -> float:
    if freq not in _UNIT_DAYS:
        raise ParameterError(f"clv: freq must be 'W' (weeks) or 'D' (days), got {freq!r}")
    return _UNIT_DAYS[freq]


def _require(df: pd.DataFrame | ir.Table, table: str, columns: tuple[str, ...]) -> None:
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise DataError(
            f"{table}: missing column(s) {', '.join(missing)} "
            f"(found: {', '.join(map(str, df.columns))})"
        )


def _timestamp(col: ir.Value) -> ir.TimestampValue:
    """Return a timestamp column as an Ibis timestamp (text timestamps of raw CSV are cast)."""
    return col if col.type().is_timestamp() else col.cast("timestamp")


@quiet
def rfm_summary(
    conversions: pd.DataFrame | ir.Table,
    observation_end: str | pd.Timestamp | None = None,
    freq: str = "W",
    observation_start: str | pd.Timestamp | None = None,
) -> pd.DataFrame:
    """Build the RFM summary (one row per buyer) from the conversions table, in the engine.

    Parameters
    ----------
    conversions
        Orders with ``customer_id``, ``timestamp`` and ``revenue``: a pandas DataFrame or an
        Ibis table (DuckDB, Spark); the orders are reduced to one row per buyer where they
        live.
    observation_end
        Last day observed (inclusive); orders after it are ignored (and counted in
        ``df.attrs["orders_after_end"]``). Default: the day of the last order.
    freq
        Time unit of ``recency`` and ``T``: ``"W"`` weeks (default) or ``"D"`` days.
    observation_start
        First day observed; earlier orders are ignored (counted in
        ``df.attrs["orders_before_start"]``). Default: no lower limit.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``customer_id`` (sorted): ``frequency``, ``recency``, ``T``,
        ``monetary_value`` (lifetimes conventions, see the module docstring), ``orders``,
        ``revenue`` (total in the window) and ``first_purchase`` (date).

    Raises
    ------
    DataError
        A missing column, an empty table, or rows with a missing or negative revenue, a
        missing timestamp or customer (the message gives their count and the first rows).
    """
    unit = _check_freq(freq)
    cols = ["customer_id", "timestamp", "revenue"]
    _require(conversions, "conversions", tuple(cols))
    if isinstance(conversions, pd.DataFrame):  # row positions, to name the index of bad rows
        conversions = conversions[cols].assign(_row=np.arange(len(conversions)))
        original_index, wanted = conversions.index, [*cols, "_row"]
    else:
        original_index, wanted = None, cols
    conv = to_ibis(conversions, "conversions", wanted)
    ts = _timestamp(conv.timestamp)
    day = ts.date()
    revenue = conv.revenue.cast("float64")
    bad = (revenue.isnull() | revenue.isnan().fill_null(False) | (revenue < 0).fill_null(False)) | (
        ts.isnull() | conv.customer_id.isnull()
    )
    end = pd.Timestamp(observation_end).normalize() if observation_end is not None else None
    start = pd.Timestamp(observation_start).normalize() if observation_start is not None else None
    stats: dict[str, ir.Scalar] = {
        "n": conv.count(),
        "n_bad": bad.cast("int64").sum(),
        "last": ts.max(),
    }
    if end is not None:
        stats["after"] = (day > end.date()).fill_null(False).cast("int64").sum()
    if start is not None:
        stats["before"] = (day < start.date()).fill_null(False).cast("int64").sum()
    row = conv.agg(**stats).execute().iloc[0]
    if int(row["n"]) == 0:
        raise DataError("conversions: the table is empty; CLV needs at least one order")
    n_bad = int(row["n_bad"] or 0)
    if n_bad:
        raise DataError(
            f"conversions: {n_bad} row(s) with a missing or negative revenue, a missing "
            f"timestamp or customer_id ({_bad_rows(conv, bad, original_index)}); load the data "
            "with imclab.data.load_world (or imclab.warehouse.open_world), which quarantines "
            "such rows"
        )
    after = int(row["after"] or 0) if end is not None else 0
    if end is None:
        end = pd.Timestamp(row["last"]).normalize()
    keep = day <= end.date()
    if start is not None:
        keep = keep & (day >= start.date())
    days = (
        conv.filter(keep)
        .group_by(customer_id=conv.customer_id, day=day)
        .agg(value=revenue.sum(), orders=ibis._.count())
    )
    days = days.mutate(k=ibis.row_number().over(group_by="customer_id", order_by="day"))
    rows = (
        days.group_by("customer_id")
        .agg(
            transactions=days.count(),
            first=days.day.min(),
            last=days.day.max(),
            monetary_value=days.value.mean(where=days.k > 0),
            orders=days.orders.sum(),
            revenue=days.value.sum(),
        )
        .execute()
        .sort_values("customer_id", kind="mergesort")
    )
    first = pd.to_datetime(rows["first"]).astype("datetime64[us]")
    last = pd.to_datetime(rows["last"]).astype("datetime64[us]")
    out = pd.DataFrame(
        {
            "frequency": rows["transactions"].to_numpy(dtype="int64") - 1,
            "recency": (last - first).dt.days.to_numpy() / unit,
            "T": (end - first).dt.days.to_numpy() / unit,
            "monetary_value": rows["monetary_value"].astype(float).fillna(0.0).to_numpy(),
            "orders": rows["orders"].to_numpy(dtype="int64"),
            "revenue": rows["revenue"].to_numpy(dtype=float),
            "first_purchase": first.to_numpy(),
        },
        index=pd.Index(rows["customer_id"].to_numpy(dtype=object), name="customer_id"),
    )
    out.attrs.update(
        freq=freq,
        observation_end=end,
        orders_after_end=after,
        orders_before_start=int(row["before"] or 0) if start is not None else 0,
    )
    return out


def _bad_rows(conv: ir.Table, bad: ir.BooleanValue, index: pd.Index | None) -> str:
    """Name the first rows that fail: index labels of a DataFrame, values of an Ibis table."""
    if index is not None:
        rows = conv.filter(bad).select("_row").order_by("_row").limit(5).execute()["_row"]
        return "index " + ", ".join(map(str, index[rows.to_numpy(dtype="int64")]))
    sample = (
        conv.filter(bad)
        .select("customer_id", "timestamp", "revenue")
        .order_by(["customer_id", "timestamp"])
        .limit(5)
        .execute()
    )
    return "e.g. " + "; ".join(
        f"customer_id {r.customer_id}, timestamp {r.timestamp}, revenue {r.revenue}"
        for r in sample.itertuples(index=False)
    )


@dataclass
class CLVResult:
    """CLV per customer with the fitted model and the bookkeeping of who was left out.

    Attributes
    ----------
    customers
        One row per buyer: the RFM columns, ``p_alive``, ``expected_purchases`` (over the
        horizon), ``expected_order_value`` (Gamma-Gamma) and ``clv`` (discounted).
    params
        Fitted parameters: ``model``, ``parameter``, ``estimate``.
    notes
        Counts of excluded rows and the checks made (e.g. the frequency-value correlation that
        Gamma-Gamma assumes to be near zero).
    """

    customers: pd.DataFrame
    params: pd.DataFrame
    notes: dict[str, float | int | str] = field(default_factory=dict)


class CustomerValueModel(BaseEstimator):
    """Purchase counts (BG/NBD or Pareto/NBD) and order values (Gamma-Gamma), PyMC-Marketing.

    Both models are fitted by maximum a posteriori (``method="map"``, deterministic: no
    sampling). With flat priors (``HalfFlat`` on every parameter) the MAP estimate is the
    maximum-likelihood estimate of the papers; on the CDNOW data it reproduces Fader, Hardie
    and Lee (2005) (``tests/review/test_clv.py``).

    Parameters
    ----------
    transaction_model
        ``"bg_nbd"`` (BG/NBD, :class:`pymc_marketing.clv.BetaGeoModel`, default) or
        ``"pareto_nbd"`` (Pareto/NBD, :class:`pymc_marketing.clv.ParetoNBDModel`; slower: its
        likelihood needs a hypergeometric series per customer).
    priors
        ``"auto"`` (default): flat priors, and when that fit runs to the boundary (a parameter
        outside [1e-4, 1e3]: the Poisson limit, when purchase rates barely differ between
        customers and nobody seems to drop out; the simulated world is like that over six
        months) the model is refitted with PyMC-Marketing's default weakly informative priors,
        which keep the parameters finite (reported in ``priors_``). ``"flat"`` or
        ``"default"`` force one of the two.
    random_state
        Seed of the optimiser's start (the MAP fit is deterministic given it).

    Attributes
    ----------
    transaction_, gamma_gamma_
        The fitted PyMC-Marketing models (``gamma_gamma_`` is None without ``monetary_value``).
    params_
        ``model``, ``parameter``, ``estimate`` (BG/NBD ``r, alpha, a, b``; Pareto/NBD
        ``r, alpha, s, beta``; Gamma-Gamma ``p, q, gamma``, the scale PyMC-Marketing calls
        ``v``).
    priors_
        Priors each model was finally fitted with, by model: ``"flat"`` or ``"default"``.
    freq_
        Time unit of the RFM table it was fitted on (``"W"`` or ``"D"``).
    n_repeat_buyers_
        Buyers Gamma-Gamma was fitted on (repeat buyers with a positive order value).

    Notes
    -----
    The shifted-beta-geometric model (:class:`pymc_marketing.clv.ShiftedBetaGeoModel`) is for
    contractual settings (subscriptions renewed or cancelled per period, by cohort). The brand
    world has no subscriptions or contracts, only orders, so it is not offered here.
    """

    def __init__(
        self, transaction_model: str = "bg_nbd", priors: str = "auto", random_state: int = 0
    ) -> None:
        self.transaction_model = transaction_model
        self.priors = priors
        self.random_state = random_state

    def _fit_one(self, kind: str, data: pd.DataFrame):
        """Fit one PyMC-Marketing model by MAP; return (model, priors used, estimates)."""
        if self.priors not in ("auto", "flat", "default"):
            raise ParameterError(
                f"CustomerValueModel: priors must be 'auto', 'flat' or 'default', "
                f"got {self.priors!r}"
            )
        tries = ["flat", "default"] if self.priors == "auto" else [self.priors]
        found = {}
        for priors in tries:
            try:
                with _quiet_pymc():
                    config = _flat_priors(kind) if priors == "flat" else None
                    model = _model_class(kind)(model_config=config)
                    model.fit(data, method="map", progressbar=False, random_seed=self.random_state)
            except (FloatingPointError, ValueError, RuntimeError):
                continue
            found = _estimates(model, kind)
            values = np.array(list(found.values()), dtype=float)
            low, high = _PLAUSIBLE
            if np.all(np.isfinite(values)) and np.all((values > low) & (values < high)):
                return model, priors, found
        shown = ", ".join(f"{k}={v:.3g}" for k, v in found.items())
        raise DataError(
            f"RFM summary ({len(data)} customers): {_LABELS[kind]} did not reach finite "
            f"parameters with {' or '.join(tries)} priors ({shown or 'the fit failed'}); the "
            "purchase histories are too short or too uniform"
        )

    def fit(self, rfm: pd.DataFrame) -> CustomerValueModel:
        """Fit both models on an RFM table (:func:`rfm_summary` or the CDNOW summary).

        ``customer_id`` is the index or a column. Customers first seen on the last day
        (``T = 0``) carry no information for the purchase model and are left out of its fit
        (they still get predictions). Gamma-Gamma is fitted on repeat buyers with a positive
        ``monetary_value``; when the table has no ``monetary_value`` column only the purchase
        model is fitted.
        """
        if self.transaction_model not in TRANSACTION_MODELS:
            raise ParameterError(
                f"CustomerValueModel: transaction_model must be one of "
                f"{', '.join(map(repr, TRANSACTION_MODELS))}, got {self.transaction_model!r}"
            )
        _require(rfm, "RFM summary", ("frequency", "recency", "T"))
        if len(rfm) < 10:
            raise DataError(
                f"RFM summary: {len(rfm)} customers; {_LABELS[self.transaction_model]} needs "
                "at least 10 buyers to fit"
            )
        self.freq_ = rfm.attrs.get("freq", "W")
        data = _model_frame(rfm)
        self.priors_ = {}
        kind = self.transaction_model
        self.transaction_, self.priors_[kind], found = self._fit_one(kind, data[data["T"] > 0])
        rows = [(kind, k, v) for k, v in found.items()]
        self.gamma_gamma_ = None
        if "monetary_value" in rfm.columns:
            repeat = data[(data["frequency"] > 0) & (data["monetary_value"] > 0)]
            if len(repeat) < 10:
                raise DataError(
                    f"RFM summary: {len(repeat)} repeat buyers with a positive order value; "
                    "Gamma-Gamma needs at least 10 to fit order values"
                )
            cols = ["customer_id", "frequency", "monetary_value"]
            self.gamma_gamma_, self.priors_["gamma_gamma"], found = self._fit_one(
                "gamma_gamma", repeat[cols]
            )
            rows += [("gamma_gamma", "gamma" if k == "v" else k, v) for k, v in found.items()]
            self.n_repeat_buyers_ = len(repeat)
        self.params_ = pd.DataFrame(rows, columns=["model", "parameter", "estimate"])
        return self

    def expected_purchases(self, rfm: pd.DataFrame, t: float) -> pd.Series:
        """Each customer's expected transactions in the next ``t`` time units.

        BG/NBD: Fader, Hardie and Lee (2005), eq. 10; Pareto/NBD: Schmittlein, Morrison and
        Colombo (1987); both as PyMC-Marketing computes them (``expected_purchases``).
        """
        data = _model_frame(rfm)
        with _quiet_pymc():
            out = self.transaction_.expected_purchases(data, future_t=t)
        values = _per_customer(out, data)
        bad = ~np.isfinite(values)
        if bad.any():
            raise DataError(
                f"{_LABELS[self.transaction_model]} expected purchases are not finite for "
                f"{int(bad.sum())} customers (e.g. {rfm.index[bad][0]!r}) with parameters "
                f"{self.params_.set_index('parameter')['estimate'].round(4).to_dict()}"
            )
        return pd.Series(values, index=rfm.index, name="expected_purchases")

    def expected_purchases_new_customer(self, t: np.ndarray | list[float]) -> np.ndarray:
        """Return the expected repeat transactions of a customer just after a first purchase.

        ``E[X(t)]`` for each length ``t`` (in the time unit of the fitted RFM table): Fader,
        Hardie and Lee (2005), eq. 9 for BG/NBD (Schmittlein et al. for Pareto/NBD), as
        PyMC-Marketing computes it (``expected_purchases_new_customer``). The expectation
        cohort retention curves are compared with.
        """
        ages = np.asarray(t, dtype=float)
        if ages.ndim != 1 or not np.all(np.isfinite(ages)) or np.any(ages < 0):
            raise ParameterError(f"expected purchases: t must be lengths >= 0, got {t!r}")
        new = pd.DataFrame(
            {"customer_id": np.arange(len(ages)), "frequency": 0.0, "recency": 0.0, "T": 0.0}
        )
        with _quiet_pymc():
            out = self.transaction_.expected_purchases_new_customer(new, t=ages)
        return out.mean(("chain", "draw")).to_numpy().astype(float)

    def clv(
        self,
        rfm: pd.DataFrame,
        horizon_months: int = 12,
        monthly_discount_rate: float = 0.01,
        margin: float = 1.0,
    ) -> pd.DataFrame:
        """Discounted value of each customer's purchases over the next ``horizon_months``.

        CLV = ``margin`` x sum over months m = 1..horizon of E[transactions in month m] x
        E[order value] / (1 + ``monthly_discount_rate``)^m: the discounted cash flow of
        :func:`pymc_marketing.clv.customer_lifetime_value` (a month is 30.4375 days, as
        there). E[order value] is the Gamma-Gamma conditional mean; one-time buyers get the
        population mean ``p * gamma / (q - 1)``.

        Returns
        -------
        pandas.DataFrame
            The RFM columns plus ``p_alive``, ``expected_purchases`` (over the horizon),
            ``expected_order_value`` and ``clv``.
        """
        if self.gamma_gamma_ is None:
            raise ParameterError("clv: the model was fitted without monetary_value (no CLV)")
        if horizon_months < 1:
            raise ParameterError(f"clv: horizon_months must be >= 1, got {horizon_months}")
        if not 0 <= monthly_discount_rate < 1:
            raise ParameterError(
                f"clv: monthly_discount_rate must be in [0, 1), got {monthly_discount_rate}"
            )
        freq = rfm.attrs.get("freq", self.freq_)
        data = _model_frame(rfm)
        with _quiet_pymc():
            from pymc_marketing.clv import customer_lifetime_value as pymc_clv

            value = _per_customer(self.gamma_gamma_.expected_customer_spend(data), data)
            alive = _per_customer(self.transaction_.expected_probability_alive(data), data)
            value_of_clv = pymc_clv(
                self.transaction_,
                data.assign(future_spend=value),
                future_t=horizon_months,
                discount_rate=monthly_discount_rate,
                time_unit=freq,
            )
        out = rfm.copy()
        out["p_alive"] = alive
        horizon = horizon_months * DAYS_PER_MONTH / _UNIT_DAYS[freq]
        out["expected_purchases"] = self.expected_purchases(rfm, horizon).to_numpy()
        out["expected_order_value"] = value
        out["clv"] = margin * _per_customer(value_of_clv, data)
        return out


def customer_lifetime_value(
    conversions: pd.DataFrame | ir.Table,
    observation_end: str | pd.Timestamp | None = None,
    horizon_months: int = 12,
    monthly_discount_rate: float = 0.01,
    margin: float = 1.0,
    freq: str = "W",
    customers: pd.DataFrame | ir.Table | None = None,
    transaction_model: str = "bg_nbd",
) -> CLVResult:
    """Fit BG/NBD (or Pareto/NBD) + Gamma-Gamma on the orders and return every buyer's CLV.

    Parameters
    ----------
    conversions
        Orders (``customer_id``, ``timestamp``, ``revenue``), pandas or Ibis (see
        :func:`rfm_summary`).
    observation_end
        Last observed day (default: the last order's day).
    horizon_months, monthly_discount_rate, margin
        See :meth:`CustomerValueModel.clv`. ``margin`` turns revenue into profit (1 = revenue).
    freq
        RFM time unit, ``"W"`` (default) or ``"D"``.
    customers
        Optional customers table: customers in it who never ordered are counted in the notes
        (they have no CLV under BG/NBD, which starts at the first purchase).
    transaction_model
        ``"bg_nbd"`` or ``"pareto_nbd"``, see :class:`CustomerValueModel`.

    Returns
    -------
    CLVResult
    """
    rfm = rfm_summary(conversions, observation_end=observation_end, freq=freq)
    model = CustomerValueModel(transaction_model).fit(rfm)
    table = model.clv(rfm, horizon_months, monthly_discount_rate, margin)
    repeat = rfm[rfm["frequency"] > 0]
    corr = (
        float(np.corrcoef(repeat["frequency"], repeat["monetary_value"])[0, 1])
        if len(repeat) > 2
        else float("nan")
    )
    notes: dict[str, float | int | str] = {
        "transaction_model": _LABELS[transaction_model],
        "buyers": len(rfm),
        "one_time_buyers": int((rfm["frequency"] == 0).sum()),
        "repeat_buyers_in_gamma_gamma": model.n_repeat_buyers_,
        "priors": _priors_note(model.priors_),
        "orders_after_observation_end": rfm.attrs["orders_after_end"],
        "frequency_value_correlation": round(corr, 4),
        "time_unit": {"W": "weeks", "D": "days"}[freq],
        "observation_end": str(rfm.attrs["observation_end"].date()),
    }
    if customers is not None:
        notes["customers_without_orders"] = _customers_without_orders(customers, rfm.index)
    return CLVResult(customers=table, params=model.params_, notes=notes)


def _priors_note(priors: dict[str, str]) -> str:
    """Say which priors each model was fitted with, in words."""
    words = {
        "flat": "flat (maximum likelihood)",
        "default": "PyMC-Marketing's weakly informative defaults (the flat fit ran to the "
        "boundary)",
    }
    return "; ".join(f"{_LABELS[kind]}: {words[p]}" for kind, p in priors.items())


@quiet
def _customers_without_orders(customers: pd.DataFrame | ir.Table, buyers: pd.Index) -> int:
    """Count the customers (rows of ``customers``) whose id is not among ``buyers``."""
    _require(customers, "customers", ("customer_id",))
    cust = to_ibis(customers, "customers", ["customer_id"])
    cust = cust.select(customer_id=cust.customer_id.cast("string"))
    known = ibis.memtable(pd.DataFrame({"customer_id": buyers.astype(str)}))
    return int(cust.anti_join(known, "customer_id").count().execute())


@quiet
def first_touch_channel(touchpoints: pd.DataFrame | ir.Table) -> pd.DataFrame:
    """Channel of each customer's first touchpoint (earliest timestamp, then ``event_id``).

    Parameters
    ----------
    touchpoints
        The touchpoints table (``event_id``, ``customer_id``, ``timestamp``, ``channel``): a
        pandas DataFrame (categorical or text channel) or an Ibis table (DuckDB, Spark); the
        first touch is found where it lives.

    Returns
    -------
    pandas.DataFrame
        ``customer_id``, ``first_touch_channel``, ``first_touch_time`` (sorted by customer).
    """
    cols = ("event_id", "customer_id", "timestamp", "channel")
    _require(touchpoints, "touchpoints", cols)
    tp = to_ibis(touchpoints, "touchpoints", list(cols))
    tp = tp.select(
        event_id=tp.event_id.cast("string"),
        customer_id=tp.customer_id.cast("string"),
        channel=tp.channel.cast("string"),
        ts=_timestamp(tp.timestamp),
    )
    order = [tp.ts.isnull(), tp.ts, tp.event_id]
    ranked = tp.mutate(_k=ibis.row_number().over(group_by="customer_id", order_by=order))
    first = ranked.filter(ranked._k == 0).select(
        "customer_id", first_touch_channel="channel", first_touch_time="ts"
    )
    out = first.execute().sort_values("customer_id", kind="mergesort", ignore_index=True)
    out["first_touch_channel"] = out["first_touch_channel"].astype(object)
    out["first_touch_time"] = pd.to_datetime(out["first_touch_time"]).astype("datetime64[ns]")
    return out[["customer_id", "first_touch_channel", "first_touch_time"]]


def clv_by_segment(
    clv: pd.DataFrame | CLVResult, labels: pd.DataFrame, segment: str, missing: str = "(unknown)"
) -> pd.DataFrame:
    """Summarise CLV per segment: buyers, mean, median and total CLV, share of total value.

    Parameters
    ----------
    clv
        :class:`CLVResult` or its ``customers`` table (index or column ``customer_id``).
    labels
        ``customer_id`` and the ``segment`` column.
    segment
        Column of ``labels`` to group by.
    missing
        Label of buyers that ``labels`` does not cover (kept, not dropped).

    Returns
    -------
    pandas.DataFrame
        ``segment`` column plus ``buyers``, ``mean_clv``, ``median_clv``, ``total_clv``,
        ``share_of_clv``, ``mean_expected_purchases``, sorted by ``mean_clv`` descending.
    """
    table = clv.customers if isinstance(clv, CLVResult) else clv
    _require(labels, "labels", ("customer_id", segment))
    if "customer_id" not in table.columns:
        table = table.reset_index()
    dup = labels["customer_id"].duplicated()
    if dup.any():
        raise DataError(
            f"labels: customer_id must be unique; {int(dup.sum())} duplicate rows, e.g. "
            f"{labels.loc[dup, 'customer_id'].iloc[0]!r}"
        )
    labels = labels.assign(
        customer_id=labels["customer_id"].astype(str), **{segment: labels[segment].astype(object)}
    )
    table = table.assign(customer_id=table["customer_id"].astype(str))
    merged = table.merge(labels[["customer_id", segment]], on="customer_id", how="left")
    merged[segment] = merged[segment].fillna(missing).astype(str)
    out = (
        merged.groupby(segment, sort=True)
        .agg(
            buyers=("clv", "size"),
            mean_clv=("clv", "mean"),
            median_clv=("clv", "median"),
            total_clv=("clv", "sum"),
            mean_expected_purchases=("expected_purchases", "mean"),
        )
        .reset_index()
    )
    out["share_of_clv"] = out["total_clv"] / out["total_clv"].sum()
    cols = [segment, "buyers", "mean_clv", "median_clv", "total_clv", "share_of_clv"]
    cols.append("mean_expected_purchases")
    return out[cols].sort_values(["mean_clv", segment], ascending=[False, True], ignore_index=True)


def clv_by_persona(clv: pd.DataFrame | CLVResult, personas: pd.DataFrame) -> pd.DataFrame:
    """CLV per persona (``personas``: ``customer_id``, ``persona``); see :func:`clv_by_segment`."""
    return clv_by_segment(clv, personas, "persona")


def clv_by_first_touch(
    clv: pd.DataFrame | CLVResult, touchpoints: pd.DataFrame | ir.Table
) -> pd.DataFrame:
    """CLV per first-touch channel (buyers with no touchpoint are ``(no touch)``).

    ``touchpoints`` may be a pandas DataFrame (categorical or text ``channel``) or an Ibis
    table; see :func:`first_touch_channel` and :func:`clv_by_segment`.
    """
    first = first_touch_channel(touchpoints)
    return clv_by_segment(clv, first, "first_touch_channel", missing=NO_TOUCH)


@quiet
def holdout_check(
    conversions: pd.DataFrame | ir.Table,
    calibration_end: str | pd.Timestamp,
    observation_end: str | pd.Timestamp | None = None,
    freq: str = "W",
    transaction_model: str = "bg_nbd",
) -> pd.DataFrame:
    """Fit the purchase model up to ``calibration_end``, predict the purchases after it, compare.

    Buyers are those with a first purchase by ``calibration_end``; their actual holdout
    transactions are the customer-days with orders after ``calibration_end`` up to
    ``observation_end`` (default: the last order's day). The review calls it with the
    campaign's end: does the model fitted then foresee the orders up to the review date?
    ``transaction_model``: ``"bg_nbd"`` or ``"pareto_nbd"`` (:class:`CustomerValueModel`).

    Returns
    -------
    pandas.DataFrame
        One row per calibration frequency (0, 1, 2, ``3+``) and a ``total`` row: ``buyers``,
        ``predicted`` and ``actual`` holdout transactions (sums) and ``ratio`` = predicted /
        actual. The holdout length in time units is in ``df.attrs["holdout_length"]``, the
        priors of the fit in ``df.attrs["priors"]``.
    """
    unit = _check_freq(freq)
    cal_end = pd.Timestamp(calibration_end).normalize()
    _require(conversions, "conversions", ("customer_id", "timestamp"))
    conv = to_ibis(conversions, "conversions", ["customer_id", "timestamp"])
    conv = conv.select("customer_id", day=_timestamp(conv.timestamp).date())
    if observation_end is not None:
        end = pd.Timestamp(observation_end).normalize()
    else:
        end = pd.Timestamp(conv.day.max().execute()).normalize()
    if cal_end >= end:
        raise ParameterError(
            f"holdout_check: calibration_end {cal_end.date()} must be before the observation "
            f"end {end.date()}"
        )
    rfm = rfm_summary(conversions, observation_end=cal_end, freq=freq)
    model = CustomerValueModel(transaction_model).fit(rfm[["frequency", "recency", "T"]])
    length = (end - cal_end).days / unit
    predicted = model.expected_purchases(rfm, length)
    # holdout transactions: distinct order days per buyer after the calibration end
    after = conv.filter((conv.day > cal_end.date()) & (conv.day <= end.date())).distinct()
    actual_days = (
        after.group_by("customer_id").agg(n=ibis._.count()).execute().set_index("customer_id")
    )["n"]
    frame = pd.DataFrame(
        {
            "bucket": np.where(rfm["frequency"] >= 3, "3+", rfm["frequency"].astype(str)),
            "predicted": predicted,
            "actual": actual_days.reindex(rfm.index, fill_value=0).astype(float),
        }
    )
    rows = frame.groupby("bucket").agg(
        buyers=("actual", "size"), predicted=("predicted", "sum"), actual=("actual", "sum")
    )
    rows.loc["total"] = [len(frame), frame["predicted"].sum(), frame["actual"].sum()]
    rows["ratio"] = rows["predicted"] / rows["actual"].where(rows["actual"] > 0)
    out = rows.reset_index().rename(columns={"bucket": "calibration_frequency"})
    out["buyers"] = out["buyers"].astype(int)
    out.attrs["holdout_length"] = length
    out.attrs["priors"] = _priors_note(model.priors_)
    return out
