"""What a report section says when an input is missing: one sentence, what to add.

A notebook section whose input is missing calls :func:`skipped` instead of failing; the rest
of the report completes. The sentences are written here once, so every notebook words a
missing survey (or holdout, ...) the same way. :func:`find_gaps` says once, per run, which
inputs a world lacks for its plan (no orders, no competitor rows, a planned channel without
spend, ...), so every notebook tests the same facts. A notebook whose whole analysis needs
what is missing (:data:`NEEDS`) is not executed: ``imclab run`` writes its page as the one
sentence and the index marks it skipped; ``imclab validate --campaign`` lists the same skips
(:meth:`Gaps.skipped_lines`, :func:`skipped_sections`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import pandas as pd
from IPython.display import Markdown

from imclab.errors import ParameterError

__all__ = [
    "GAP_SECTIONS",
    "MISSING",
    "NEEDS",
    "NotebookSkipped",
    "OPTIONAL_SECTIONS",
    "Gaps",
    "find_gaps",
    "skipped",
    "skipped_sections",
]

MISSING: dict[str, str] = {
    "survey": (
        "No brand-tracking survey (survey.csv) in the data folder, so this {part} is "
        "skipped: add survey.csv (columns in data/README.md) to measure the brand funnel."
    ),
    "ab_tests": (
        "No A/B tests (ab_tests.csv) in the data folder, so this {part} is skipped: add "
        "ab_tests.csv (columns in data/README.md) to read out the campaign's experiments."
    ),
    "creatives": (
        "No creatives (creatives.csv) in the data folder, so this {part} is skipped: add "
        "creatives.csv (columns in data/README.md) to check the copy against the message house."
    ),
    "survey_waves": (
        "The survey has no wave between {start} and {end} (the baseline period), so this "
        "{part} is skipped: add the waves fielded in those dates to survey.csv, or set the "
        "plan's settings.baseline_start and baseline_end to dates a wave covers."
    ),
    "holdout_regions": (
        "The plan lists no holdout_regions, so the incrementality test is skipped: keep one or "
        "more regions dark and list them in the plan (holdout_regions: [west]) to measure lift."
    ),
    "competitors": (
        "The survey has no rows for the plan's competitors, so the comparison is skipped: add "
        "their survey rows, or list the brands the survey asks about as the plan's competitors."
    ),
    "orders": (
        "The data has no orders (no row of conversions.csv was kept{detail}), so this {part} "
        "is skipped: add the brand's orders to conversions.csv (columns in data/README.md); "
        "notebook 00 lists the rows that were left out and why."
    ),
    "campaign_orders": (
        "The data has no orders between {start} and {end} (the campaign), so this {part} is "
        "skipped: add the campaign period's orders to conversions.csv (the orders in the data "
        "run from {first} to {last})."
    ),
    "channel_spend": (
        "The data has no campaign spend of the planned channel(s) {channels} between {start} "
        "and {end}, so this {part} leaves them out: add their rows to spend.csv (campaign = "
        "the plan's name), or take them out of the plan's budget."
    ),
    "campaign_conversions": (
        "No order between {start} and {end} followed a touch of campaign {campaign!r} within "
        "the {lookback_days}-day lookback, so this {part} is skipped (a model would credit the "
        "campaign with orders none of its touches preceded): add the campaign's touches to "
        "touchpoints.csv with the plan's name in their campaign column, and the orders of the "
        "customers it reached to conversions.csv."
    ),
    "campaign_spend": (
        "The data has no campaign spend of {campaign!r} between {start} and {end}, so this "
        "{part} is skipped: add the campaign's rows to spend.csv (campaign = the plan's name)."
    ),
}
"""Why a section is skipped and what to add, by missing input (``{...}`` filled by ``skipped``;
``{part}`` is "section", or "notebook" on the page of a notebook the run skips)."""

NEEDS: dict[str, tuple[str, ...]] = {
    "channel_attribution": ("orders",),
    "marketing_mix": ("orders", "campaign_orders", "campaign_spend", "campaign_conversions"),
    "channel_integration": ("orders", "campaign_orders"),
    "plan_next_campaign": (
        "orders",
        "campaign_orders",
        "campaign_spend",
        "campaign_conversions",
    ),
}
"""What a notebook's whole analysis needs (by notebook name without its number), most basic
first: without it every section would fail or show a figure computed from no data, so
``imclab run`` skips the notebook with one sentence (:meth:`Gaps.notebook_note`) and ``imclab
validate`` lists it. Notebooks not named here skip their own sections (:meth:`Gaps.first`)."""


OPTIONAL_SECTIONS: dict[str, str] = {
    "survey": "the brand funnel and share of mind (01 situation analysis) and the brand survey "
    "lift (05 review)",
    "ab_tests": "the A/B tests (05 review, Experiments)",
    "creatives": "brand consistency across channels (05 review)",
    "holdout_regions": "the geo holdout (05 review, Incrementality)",
}
"""Optional input (a table, or the plan's holdout regions) -> the report sections without it."""

GAP_SECTIONS: dict[str, str] = {
    "competitors": "the brand shares and funnel leaks against competitors (01 situation analysis)",
    "channel_spend": "the marketing mix, response curves and budget split (04, 05 and 07)",
}
"""What a world lacks for a plan (a reason :meth:`Gaps.first` tests) -> the sections it
removes, for the list ``imclab validate`` prints (:meth:`Gaps.skipped_lines`)."""


def skipped_sections(plan: Any, present: set[str]) -> list[str]:
    """Return one line per report section a run of ``plan`` on these tables will skip.

    Parameters
    ----------
    plan
        The campaign plan (``None``: only the data is considered).
    present
        The tables the data folder holds (with rows).

    Returns
    -------
    list of str
        ``"<sections>: <the sentence of MISSING>"``, the sentence those sections show.
    """
    lacking = [t for t in ("survey", "ab_tests", "creatives") if t not in present]
    if plan is not None and not plan.holdout_regions:
        lacking.append("holdout_regions")
    return [f"{OPTIONAL_SECTIONS[key]}: {MISSING[key].format(part='section')}" for key in lacking]


def skipped(reason: str, **fields: object) -> Markdown:
    """Return the one-sentence note a notebook shows in place of a skipped section.

    Parameters
    ----------
    reason
        A key of :data:`MISSING` (``"survey"``, ``"holdout_regions"``, ...).
    **fields
        Values for the sentence's placeholders (e.g. ``campaign``, ``start``, ``end``).

    Returns
    -------
    IPython.display.Markdown
        ``**Skipped.** <sentence>``, shown as the cell's output.
    """
    if reason not in MISSING:
        raise ParameterError(f"skipped: unknown reason {reason!r}; reasons: {', '.join(MISSING)}")
    text = MISSING[reason].format(**{"part": "section", **fields})
    return Markdown(f"**{'Note' if reason in PARTIAL else 'Skipped'}.** {text}")


PARTIAL = frozenset({"channel_spend"})
"""Reasons that leave part of a section out (the note reads **Note.**, not **Skipped.**)."""


class NotebookSkipped(Exception):
    """A notebook stopped because the world cannot feed its analysis (:meth:`Gaps.require`).

    In JupyterLab the cell shows the one sentence saying what is missing and how to add it,
    not a traceback (IPython renders an exception's ``_render_traceback_``), and *Run All*
    stops there. ``imclab run`` never executes such a notebook: it writes the same sentence
    as the notebook's page.
    """

    def _render_traceback_(self) -> list[str]:
        return [str(self)]


@dataclass(frozen=True)
class Gaps:
    """The inputs a world lacks for a plan, found once by :func:`find_gaps`.

    Attributes
    ----------
    orders
        No order row was kept (an empty or wholly quarantined conversions table).
    campaign_orders
        No order falls in the campaign (``plan.start`` .. ``plan.end``).
    competitors
        The survey is present but has no row for any of the plan's competitors (or the plan
        lists none): every competitor comparison would compare the brand with itself.
    campaign_spend
        The campaign (``plan.name``) has no spend in the campaign period: nothing of the
        campaign to model or to plan from (a name absent from the data, or other dates).
    campaign_conversions
        No order in the campaign period followed a touch of the campaign within the plan's
        ``lookback_days`` (the campaign reached no customer who then ordered); only tested
        when the world has orders in the period and campaign spend.
    unspent_channels
        Channels with a planned budget but no campaign spend in the campaign period.
    fields
        Values for the sentences' placeholders (campaign, dates, ...).
    """

    orders: bool
    campaign_orders: bool
    competitors: bool
    campaign_spend: bool
    unspent_channels: tuple[str, ...]
    fields: dict[str, Any]
    _unreached: Callable[[], bool] = field(repr=False, compare=False)

    @cached_property
    def campaign_conversions(self) -> bool:
        """Whether no order in the period followed a campaign touch (see the class text).

        A join of the campaign's touches and the period's orders, run the first time a check
        asks for it: a notebook that needs only orders never pays for it.
        """
        return bool(self._unreached())

    def note(self, reason: str) -> Markdown:
        """Return :func:`skipped`'s sentence for ``reason`` with this world's details.

        Parameters
        ----------
        reason
            A key of :data:`MISSING`.

        Returns
        -------
        IPython.display.Markdown
            The one-sentence note.
        """
        return skipped(reason, **self.fields)

    def first(self, *reasons: str) -> Markdown | None:
        """Return the note of the first of ``reasons`` this world lacks, or None.

        ``"orders"``, ``"campaign_orders"``, ``"competitors"``, ``"campaign_spend"``,
        ``"campaign_conversions"`` and ``"channel_spend"`` are tested here; a section that
        needs several inputs lists them, most basic first.

        Parameters
        ----------
        *reasons
            Keys of :data:`MISSING` that name a field of this object.

        Returns
        -------
        IPython.display.Markdown or None
            The note to show instead of the section, None when nothing is missing.
        """
        reason = self.lacking(*reasons)
        return None if reason is None else self.note(reason)

    def lacking(self, *reasons: str) -> str | None:
        """Return the first of ``reasons`` this world lacks, or None (see :meth:`first`)."""
        tested = (
            "orders", "campaign_orders", "competitors", "campaign_spend", "campaign_conversions",
            "channel_spend",
        )  # fmt: skip
        for reason in reasons:
            if reason not in tested:
                raise ParameterError(f"Gaps.first: {reason!r} is not tested; use: {list(tested)}")
            # read in order: a later check (the campaign join) runs only if it is reached
            if reason == "channel_spend":
                found = bool(self.unspent_channels)
            else:
                found = getattr(self, reason)
            if found:
                return reason
        return None

    def notebook_note(self, notebook: str) -> str | None:
        """Return why a notebook is skipped as a whole (:data:`NEEDS`), or None if it runs.

        Parameters
        ----------
        notebook
            The notebook's stem (``"04_marketing_mix"``) or name without its number.

        Returns
        -------
        str or None
            The one sentence (Markdown) its page shows instead of the analysis.
        """
        head, _, tail = notebook.partition("_")
        name = tail if head.isdigit() and tail else notebook
        reason = self.lacking(*NEEDS.get(name, ()))
        return None if reason is None else skipped(reason, **self.fields, part="notebook").data

    def require(self, notebook: str) -> None:
        """Stop ``notebook`` when this world cannot feed its whole analysis (:data:`NEEDS`).

        Called by the notebook right after it opens the world, so a notebook opened by hand on
        such a world stops with the sentence its ``imclab run`` page shows.

        Parameters
        ----------
        notebook
            The notebook's stem (``"04_marketing_mix"``).

        Raises
        ------
        NotebookSkipped
            With :meth:`notebook_note`'s sentence, when the notebook cannot run.
        """
        note = self.notebook_note(notebook)
        if note is not None:
            raise NotebookSkipped(note)

    def skipped_notebooks(self, notebooks: list[str]) -> dict[str, str]:
        """Return notebook stem -> the sentence saying why the run skips it, in run order."""
        notes = {nb: self.notebook_note(nb) for nb in notebooks}
        return {nb: note for nb, note in notes.items() if note is not None}

    def skipped_lines(self, notebooks: list[str]) -> list[str]:
        """Return one line per part of the report a run on this world skips (for validate).

        The sections whose input a gap removes (:data:`GAP_SECTIONS`), then the notebooks
        skipped as a whole (:meth:`skipped_notebooks`), each with the sentence the report
        shows in their place.

        Parameters
        ----------
        notebooks
            The stems of the notebooks the run executes.

        Returns
        -------
        list of str
            ``"<sections>: <sentence>"`` and ``"<notebook> (the whole notebook): <sentence>"``.
        """
        lines = [
            f"{where}: {self.note(reason).data.split('.** ', 1)[1]}"
            for reason, where in GAP_SECTIONS.items()
            if self.lacking(reason)
        ]
        return lines + [
            f"{stem} (the whole notebook): {note.split('.** ', 1)[1]}"
            for stem, note in self.skipped_notebooks(notebooks).items()
        ]


def find_gaps(world: Any, plan: Any) -> Gaps:
    """Say which inputs of a plan's report the world lacks (counts from its report).

    Parameters
    ----------
    world
        The opened world (:func:`imclab.warehouse.open_world`): its validation report gives
        the orders kept and their dates; ``spend`` and ``survey`` are pandas tables.
    plan
        The campaign plan.

    Returns
    -------
    Gaps
        What is missing, with the details the sentences name.
    """
    orders = world.report.tables["conversions"]
    first, last = orders.date_min, orders.date_max
    no_orders = orders.rows_loaded == 0 or first is None
    start, end = pd.Timestamp(plan.start), pd.Timestamp(plan.end) + pd.Timedelta(days=1)
    campaign_orders = no_orders or not (first < end and last >= start)
    survey = world.tables.get("survey")
    competitors = survey is not None and not survey["brand"].isin(plan.competitors).any()
    spend = world.tables["spend"]
    dates = pd.to_datetime(spend["date"])
    in_campaign = (spend["campaign"] == plan.name) & (dates >= start) & (dates < end)
    spent = spend.loc[in_campaign].groupby("channel", observed=True)["spend"].sum()
    unspent = tuple(c for c in plan.paid_channels if not spent.get(c, 0) > 0)
    no_campaign_spend = not (spent > 0).any()
    lookback_days = plan.resolved_settings().lookback_days

    def unreached() -> bool:  # only when a check needs it: see Gaps.campaign_conversions
        return (
            not (campaign_orders or no_campaign_spend)
            and "touchpoints" in world.tables
            and not _campaign_credited(world.tables, plan.name, start, end, lookback_days)
        )

    quarantined = orders.rows_quarantined
    detail = f": all {quarantined:,} rows were quarantined" if quarantined else ""
    fields = {
        "campaign": plan.name,
        "start": plan.start,
        "end": plan.end,
        "detail": detail,
        "first": "–" if no_orders else f"{first:%Y-%m-%d}",
        "last": "–" if no_orders else f"{last:%Y-%m-%d}",
        "channels": ", ".join(unspent),
        "lookback_days": lookback_days,
    }
    return Gaps(
        no_orders, campaign_orders, competitors, no_campaign_spend, unspent, fields, unreached
    )


def _campaign_credited(
    tables: dict[str, Any],
    campaign: str,
    start: pd.Timestamp,
    end: pd.Timestamp,
    lookback_days: int,
) -> bool:
    """Return whether an order in ``[start, end)`` followed a touch of ``campaign``.

    "Followed" is within ``lookback_days`` after the touch, the crediting window of
    :func:`imclab.attribution.build_journeys`.

    The event tables are pandas (the file loader) or Ibis tables of their engine; the join
    runs in DuckDB or in that engine, on the campaign's touches and the period's orders only.
    """
    import ibis

    tp, cv = tables["touchpoints"], tables["conversions"]
    since = start - pd.Timedelta(days=lookback_days)
    if isinstance(tp, pd.DataFrame):
        tp = tp.loc[
            (tp["campaign"] == campaign) & (tp["timestamp"] >= since) & (tp["timestamp"] < end),
            ["customer_id", "timestamp"],
        ]
        cv = cv.loc[
            (cv["timestamp"] >= start) & (cv["timestamp"] < end), ["customer_id", "timestamp"]
        ]
        if tp.empty or cv.empty:
            return False
        tp, cv = ibis.memtable(tp), ibis.memtable(cv)
    else:
        tp = tp.filter(
            (tp.campaign == campaign) & (tp.timestamp >= since) & (tp.timestamp < end)
        ).select("customer_id", "timestamp")
        cv = cv.filter((cv.timestamp >= start) & (cv.timestamp < end)).select(
            "customer_id", "timestamp"
        )
    touch = tp.rename(touch_customer="customer_id", touch_ts="timestamp")
    credited = cv.join(
        touch,
        [
            cv.customer_id == touch.touch_customer,
            touch.touch_ts <= cv.timestamp,
            touch.touch_ts >= cv.timestamp - ibis.interval(days=lookback_days),
        ],
    )
    return bool(credited.limit(1).count().execute())
