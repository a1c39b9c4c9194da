"""Customer lifetime value: BG/NBD purchase counts and Gamma-Gamma order values (``lifetimes``).

Checked against Fader, Hardie and Lee (2005) on the CDNOW data; split by persona and by the
channel of each customer's first touchpoint.

Public functions
----------------
- :func:`rfm_summary` (conversions -> frequency, recency, T, monetary_value per buyer)
- :class:`CustomerValueModel` (sklearn-style: ``fit(rfm)``, ``clv(rfm, ...)``, ``params_``)
- :func:`customer_lifetime_value` (conversions -> :class:`CLVResult` in one call)
- :func:`first_touch_channel` (touchpoints -> channel of each customer's first touch)
- :func:`clv_by_segment` (CLV table + labels -> count, mean, median, total per segment)
- :func:`clv_by_persona`, :func:`clv_by_first_touch` (the two segmentations the review shows)
- :func:`holdout_check` (calibration/holdout split: predicted vs actual repeat purchases)
- :func:`cdnow_check` (our fit of the CDNOW data vs the published parameters)

Time unit
---------
A *transaction* is a customer-day with at least one order (same-day orders are one purchase
occasion; their revenue is summed), as ``lifetimes.utils.summary_data_from_transaction_data``
does with ``freq="D"``. Times are measured in **weeks** (days / 7) by default, as in the CDNOW
papers; ``freq="D"`` measures them in days. ``frequency`` = repeat transactions (all but the
first), ``recency`` = first to last transaction, ``T`` = first transaction to the end of the
observation, ``monetary_value`` = mean value of the repeat transactions (0 when none).
Customers without an order are outside the model (BG/NBD starts at the first purchase); they
are counted in :attr:`CLVResult.notes`. Data start is treated as the start of each customer's
history (customers who bought before it are seen from their first order in the data).

Engines
-------
The event tables (``conversions``, ``touchpoints``, ``customers``) may be pandas DataFrames
(:func:`imclab.data.load_world`) or Ibis tables on DuckDB or Spark
(:func:`imclab.warehouse.open_world`): the orders are reduced to customer-days and customers
where they live (:func:`imclab.engine.to_ibis`); only one row per customer comes back, the
input of the models.
"""

from __future__ import annotations

import io
import warnings
from collections.abc import Iterator
from contextlib import contextmanager, redirect_stdout
from dataclasses import dataclass, field

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd
from scipy.special import hyp2f1
from sklearn.base import BaseEstimator

from imclab.engine import quiet, to_ibis
from imclab.errors import DataError, ParameterError

__all__ = [
    "CDNOW_PUBLISHED",
    "CLVResult",
    "PENALIZER_LADDER",
    "CustomerValueModel",
    "cdnow_check",
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

CDNOW_PUBLISHED: dict[str, dict[str, float]] = {
    "bg_nbd": {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426},
    "gamma_gamma": {"p": 6.25, "q": 3.74, "gamma": 15.44},
}
"""Published estimates on the CDNOW 1/10th sample (2,357 customers, 39 weeks of calibration):
BG/NBD from Fader, Hardie and Lee (2005), *Counting your customers the easy way*, Marketing
Science 24(2); Gamma-Gamma from Fader and Hardie (2013), *The Gamma-Gamma model of monetary
value* (``gamma`` is the scale parameter lifetimes calls ``v``)."""

PENALIZER_LADDER: tuple[float, ...] = (1e-4, 1e-3, 1e-2, 1e-1)
"""Penalizers BG/NBD falls back to, smallest first, when plain maximum likelihood degenerates."""

NO_TOUCH = "(no touch)"
"""First-touch label of customers with no touchpoint."""


@contextmanager
def _quiet_lifetimes() -> Iterator[None]:
    """Silence only lifetimes' own chatter around a call.

    That is: deprecation warnings from the pandas/numpy API it still uses, overflow in its
    likelihood while the optimiser explores, and the optimiser result it prints before raising
    ``ConvergenceError`` (the error itself is handled by the caller).
    """
    with warnings.catch_warnings(), redirect_stdout(io.StringIO()):
        for category in (DeprecationWarning, FutureWarning, PendingDeprecationWarning):
            warnings.filterwarnings("ignore", category=category, module=r"lifetimes(\.|$)")
            warnings.filterwarnings("ignore", category=category, module=r"autograd(\.|$)")
        # lifetimes divides by zero-size arrays in its likelihood on some inputs (harmless)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            yield


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
    """BG/NBD (purchase counts) and Gamma-Gamma (order values) fitted with ``lifetimes``.

    Parameters
    ----------
    penalizer
        L2 penalty on the parameters (``lifetimes``' ``penalizer_coef``, on the mean
        log-likelihood); 0 = plain maximum likelihood, as in the papers.
    auto_penalize
        BG/NBD's likelihood can peak at the boundary (``r, alpha -> inf``, ``a -> 0``: the
        Poisson limit, when purchase rates barely differ between customers and nobody seems to
        drop out; the simulated world is like that over six months). When the fit fails or a
        parameter leaves [1e-4, 1e3], the smallest penalizer of :data:`PENALIZER_LADDER` that
        gives a proper fit is used for BG/NBD (reported in ``bgnbd_penalizer_``); Gamma-Gamma
        keeps ``penalizer``.

    Attributes
    ----------
    bgnbd_, gamma_gamma_
        The fitted ``lifetimes`` fitters.
    params_
        ``model``, ``parameter``, ``estimate`` (BG/NBD ``r, alpha, a, b``; Gamma-Gamma
        ``p, q, gamma``).
    freq_
        Time unit of the RFM table it was fitted on (``"W"`` or ``"D"``).
    bgnbd_penalizer_
        Penalizer BG/NBD was finally fitted with.
    """

    def __init__(self, penalizer: float = 0.0, auto_penalize: bool = True) -> None:
        self.penalizer = penalizer
        self.auto_penalize = auto_penalize

    def _fit_bgnbd(self, rfm: pd.DataFrame):
        from lifetimes import BetaGeoFitter
        from lifetimes.utils import ConvergenceError

        ladder = [self.penalizer]
        if self.auto_penalize:
            ladder += [p for p in PENALIZER_LADDER if p > self.penalizer]
        args = (rfm["frequency"].astype(float), rfm["recency"].astype(float))
        args += (rfm["T"].astype(float),)
        for pen in ladder:
            try:
                with _quiet_lifetimes():
                    fitter = BetaGeoFitter(penalizer_coef=pen).fit(*args)
            except ConvergenceError:
                continue
            values = np.asarray(fitter.params_, dtype=float)
            if np.all(np.isfinite(values)) and np.all((values > 1e-4) & (values < 1e3)):
                return fitter, pen
        raise DataError(
            f"RFM summary ({len(rfm)} buyers): BG/NBD did not converge to finite parameters "
            f"with penalizers {ladder}; the purchase histories are too short or too uniform"
        )

    def fit(self, rfm: pd.DataFrame) -> CustomerValueModel:
        """Fit both models on an RFM table (:func:`rfm_summary` or the CDNOW summary).

        Gamma-Gamma is fitted on repeat buyers with a positive ``monetary_value``; when the
        table has no ``monetary_value`` column only BG/NBD is fitted.
        """
        from lifetimes import GammaGammaFitter

        _require(rfm, "RFM summary", ("frequency", "recency", "T"))
        if len(rfm) < 10:
            raise DataError(
                f"RFM summary: {len(rfm)} customers; BG/NBD needs at least 10 buyers to fit"
            )
        self.freq_ = rfm.attrs.get("freq", "W")
        self.bgnbd_, self.bgnbd_penalizer_ = self._fit_bgnbd(rfm)
        rows = [("bg_nbd", k, float(v)) for k, v in self.bgnbd_.params_.items()]
        self.gamma_gamma_ = None
        if "monetary_value" in rfm.columns:
            repeat = rfm[(rfm["frequency"] > 0) & (rfm["monetary_value"] > 0)]
            if len(repeat) < 10:
                raise DataError(
                    f"RFM summary: {len(repeat)} repeat buyers with a positive order value; "
                    "Gamma-Gamma needs at least 10 to fit order values"
                )
            with _quiet_lifetimes():
                self.gamma_gamma_ = GammaGammaFitter(penalizer_coef=self.penalizer).fit(
                    repeat["frequency"].astype(float), repeat["monetary_value"].astype(float)
                )
            names = {"p": "p", "q": "q", "v": "gamma"}
            rows += [
                ("gamma_gamma", names[k], float(v)) for k, v in self.gamma_gamma_.params_.items()
            ]
            self.n_repeat_buyers_ = len(repeat)
        self.params_ = pd.DataFrame(rows, columns=["model", "parameter", "estimate"])
        return self

    def expected_purchases(self, rfm: pd.DataFrame, t: float) -> pd.Series:
        """Return each customer's expected transactions in the next ``t`` time units (BG/NBD).

        Fader, Hardie and Lee (2005), eq. 10, evaluated without taking the logarithm of the
        hypergeometric term (``lifetimes`` does, which gives NaN when ``a + b + x - 1 < 0``
        makes that term negative).
        """
        r, alpha, a, b = (float(self.bgnbd_.params_[k]) for k in ("r", "alpha", "a", "b"))
        x = rfm["frequency"].to_numpy(dtype=float)
        tx = rfm["recency"].to_numpy(dtype=float)
        big_t = rfm["T"].to_numpy(dtype=float)
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            hyp = hyp2f1(r + x, b + x, a + b + x - 1, t / (alpha + big_t + t))
            ratio = ((alpha + big_t) / (alpha + big_t + t)) ** (r + x)
            numerator = (a + b + x - 1) / (a - 1) * (1 - hyp * ratio)
            denominator = 1 + (x > 0) * (a / (b + x - 1)) * ((alpha + big_t) / (alpha + tx)) ** (
                r + x
            )
            out = numerator / denominator
        bad = ~np.isfinite(out)
        if bad.any():
            raise DataError(
                f"BG/NBD expected purchases are not finite for {int(bad.sum())} customers "
                f"(e.g. {rfm.index[bad][0]!r}) with r={r:.4g}, alpha={alpha:.4g}, a={a:.4g}, "
                f"b={b:.4g}"
            )
        return pd.Series(out, index=rfm.index, name="expected_purchases")

    def clv(
        self,
        rfm: pd.DataFrame,
        horizon_months: int = 12,
        monthly_discount_rate: float = 0.01,
        margin: float = 1.0,
    ) -> pd.DataFrame:
        """Discounted value of each customer's purchases over the next ``horizon_months``.

        CLV = ``margin`` x sum over months m = 1..horizon of E[transactions in month m] x
        E[order value] / (1 + ``monthly_discount_rate``)^m, the discounted cash flow of
        ``lifetimes.GammaGammaFitter.customer_lifetime_value`` (a month is 4.345 weeks or 30
        days). E[order value] is the Gamma-Gamma conditional mean; one-time buyers get the
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
        per_month = {"W": 4.345, "D": 30.0}[freq]
        f = rfm["frequency"].astype(float)
        with _quiet_lifetimes():
            value = self.gamma_gamma_.conditional_expected_average_profit(
                f, rfm["monetary_value"].astype(float)
            )
            alive = self.bgnbd_.conditional_probability_alive(
                f, rfm["recency"].astype(float), rfm["T"].astype(float)
            )
        cumulative = [np.zeros(len(rfm))] + [
            self.expected_purchases(rfm, m * per_month).to_numpy()
            for m in range(1, horizon_months + 1)
        ]
        months = np.arange(1, horizon_months + 1)
        per_period = np.diff(np.vstack(cumulative), axis=0)  # (months, customers)
        discount = (1 + monthly_discount_rate) ** -months
        out = rfm.copy()
        out["p_alive"] = np.asarray(alive, dtype=float)
        out["expected_purchases"] = cumulative[-1]
        out["expected_order_value"] = np.asarray(value, dtype=float)
        out["clv"] = margin * out["expected_order_value"] * (discount @ per_period)
        return out


def customer_lifetime_value(
    conversions: pd.DataFrame | ir.Table,
    observation_end: str | pd.Timestamp | None = None,
    horizon_months: int = 12,
    monthly_discount_rate: float = 0.01,
    margin: float = 1.0,
    freq: str = "W",
    customers: pd.DataFrame | ir.Table | None = None,
) -> CLVResult:
    """Fit BG/NBD + Gamma-Gamma on the orders and return every buyer's CLV.

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

    Returns
    -------
    CLVResult
    """
    rfm = rfm_summary(conversions, observation_end=observation_end, freq=freq)
    model = CustomerValueModel().fit(rfm)
    table = model.clv(rfm, horizon_months, monthly_discount_rate, margin)
    repeat = rfm[rfm["frequency"] > 0]
    corr = (
        float(np.corrcoef(repeat["frequency"], repeat["monetary_value"])[0, 1])
        if len(repeat) > 2
        else float("nan")
    )
    notes: dict[str, float | int | str] = {
        "buyers": len(rfm),
        "one_time_buyers": int((rfm["frequency"] == 0).sum()),
        "repeat_buyers_in_gamma_gamma": model.n_repeat_buyers_,
        "bgnbd_penalizer": model.bgnbd_penalizer_,
        "orders_after_observation_end": rfm.attrs["orders_after_end"],
        "frequency_value_correlation": round(corr, 4),
        "time_unit": {"W": "weeks", "D": "days"}[freq],
        "observation_end": str(rfm.attrs["observation_end"].date()),
    }
    if customers is not None:
        notes["customers_without_orders"] = _customers_without_orders(customers, rfm.index)
    return CLVResult(customers=table, params=model.params_, notes=notes)


@quiet
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
) -> pd.DataFrame:
    """Fit BG/NBD on the calibration period, predict each buyer's holdout purchases, compare.

    Buyers are those with a first purchase by ``calibration_end``; their actual holdout
    transactions are the customer-days with orders after ``calibration_end`` up to
    ``observation_end`` (default: the last order's day).

    Returns
    -------
    pandas.DataFrame
        One row per calibration frequency (0, 1, 2, ``3+``) and a ``total`` row: ``buyers``,
        ``predicted`` and ``actual`` holdout transactions (sums) and ``ratio`` = predicted /
        actual. The holdout length in time units is in ``df.attrs["holdout_length"]``.
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
    model = CustomerValueModel().fit(rfm[["frequency", "recency", "T"]])
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
    out.attrs["bgnbd_penalizer"] = model.bgnbd_penalizer_
    return out


def cdnow_check() -> pd.DataFrame:
    """Fit the CDNOW summary data that ``lifetimes`` ships and compare with the papers.

    Returns
    -------
    pandas.DataFrame
        ``model``, ``parameter``, ``published``, ``estimate``, ``relative_difference``.
    """
    from lifetimes.datasets import (
        load_cdnow_summary,
        load_cdnow_summary_data_with_monetary_value,
    )

    with _quiet_lifetimes():
        bg = CustomerValueModel().fit(load_cdnow_summary(index_col=[0])).params_
        gg = CustomerValueModel().fit(load_cdnow_summary_data_with_monetary_value()).params_
    est = pd.concat([bg, gg[gg["model"] == "gamma_gamma"]], ignore_index=True)
    published = pd.DataFrame(
        [(m, k, v) for m, ps in CDNOW_PUBLISHED.items() for k, v in ps.items()],
        columns=["model", "parameter", "published"],
    )
    out = published.merge(est, on=["model", "parameter"], how="left")
    out["relative_difference"] = (out["estimate"] - out["published"]) / out["published"]
    return out
