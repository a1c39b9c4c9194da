"""Headline numbers that notebooks hand to the report index (KPI tiles, audit counts)."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

HEADLINES_DIR = "headlines"


def record_headlines(report_dir: str | Path, section: str, values: dict[str, Any]) -> Path | None:
    """Write a notebook's headline numbers to ``report_dir/headlines/<section>.json``.

    Parameters
    ----------
    report_dir
        The report folder the runner passed to the notebook; ``""`` writes nothing
        (interactive or nbval runs).
    section
        Short name of the notebook section, e.g. ``"data_audit"``.
    values
        JSON-serialisable mapping of headline name to value (numbers, strings, lists).

    Returns
    -------
    Path or None
        The file written, or None when ``report_dir`` is empty.
    """
    if not str(report_dir):
        return None
    folder = Path(report_dir) / HEADLINES_DIR
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{section}.json"
    path.write_text(json.dumps(values, indent=2, sort_keys=True, default=str), encoding="utf-8")
    return path


def read_headlines(report_dir: str | Path) -> dict[str, dict[str, Any]]:
    """Read every section's headlines from a report folder (empty dict when none)."""
    folder = Path(report_dir) / HEADLINES_DIR
    if not folder.is_dir():
        return {}
    return {
        p.stem: json.loads(p.read_text(encoding="utf-8")) for p in sorted(folder.glob("*.json"))
    }


# ----------------------------------------------------------------------------------------
# What each headline means: the one home of its label, unit and format on the index page.
# ----------------------------------------------------------------------------------------
Unit = Literal["count", "percent", "points", "currency", "ratio", "number", "text", "list"]


@dataclass(frozen=True)
class Headline:
    """How the index shows one headline number.

    Attributes
    ----------
    label
        What a marketing manager reads under the number.
    unit
        ``count`` (thousands separators), ``percent`` (a share 0..1 shown as ``12.3 %``),
        ``points`` (percentage points), ``currency`` (the plan's currency), ``ratio``
        (``2.35×``), ``number``, ``text`` (a sentence or a name: shown as text, never in a
        number tile) or ``list`` (names).
    """

    label: str
    unit: Unit


HEADLINES: dict[str, dict[str, Headline]] = {
    "data_audit": {
        "rows_read": Headline("Rows read", "count"),
        "rows_quarantined": Headline("Rows quarantined", "count"),
        "quarantine_by_table": Headline("Rows quarantined by table", "count"),
        "touchpoint_match_rate": Headline("Touchpoints matched to a customer", "percent"),
        "survey_match_rate": Headline("Survey answers matched to a customer", "percent"),
        "missing_optional_tables": Headline("Optional tables not provided", "list"),
    },
    "situation": {
        "smart_objectives_fully_passed": Headline("Objectives passing all SMART checks", "count"),
        "smart_objectives": Headline("Objectives in the plan", "count"),
        "smart_letters_failed": Headline("SMART checks failed", "count"),
        "biggest_funnel_leak": Headline("Biggest brand-funnel leak", "text"),
        "biggest_leak_gap_pts": Headline("Leak gap to the best competitor", "points"),
        "baseline_median_cpa": Headline("Median cost per order before the campaign", "currency"),
        "revenue_trend_change": Headline("Revenue trend change", "percent"),
        "funnel_warnings": Headline("Brand-funnel warnings", "count"),
    },
    "personas": {
        "k": Headline("Personas found", "count"),
        "k_reason": Headline("Why this number of personas", "text"),
        "largest_persona": Headline("Largest persona", "text"),
        "unreliable_personas": Headline("Personas flagged unstable", "count"),
        "target_match": Headline("Plan personas matched to found personas", "text"),
        "ari_true_personas": Headline("Agreement with the true personas (ARI)", "number"),
    },
    "attribution": {
        "best_model": Headline("Model closest to the truth", "text"),
        "best_model_mae": Headline("Its error in channel shares (MAE)", "points"),
        "last_touch_mae": Headline("Last-touch error in channel shares (MAE)", "points"),
        "top_channel_markov": Headline("Top channel (Markov)", "text"),
        "top_channel_markov_share": Headline("Top channel's share (Markov)", "percent"),
        "recommended_model": Headline("Recommended model (from the evidence)", "text"),
        "recommended_model_mae": Headline("Recommended model's error in shares (MAE)", "points"),
        "recommendation_right": Headline("Recommendation was the truth's best", "text"),
        "conversions": Headline("Orders attributed", "count"),
        "no_touch_conversions": Headline("Orders with no touch in the window", "count"),
    },
    "marketing_mix": {
        "campaign_lift": Headline("Campaign lift in orders (model, calibrated)", "count"),
        "campaign_lift_low": Headline("Campaign lift: 90 % HDI low", "count"),
        "campaign_lift_high": Headline("Campaign lift: 90 % HDI high", "count"),
        "holdout_lift": Headline("Campaign lift in orders (geo holdout)", "count"),
        "calibrated": Headline("Calibrated by the geo holdout", "text"),
        "converged": Headline("Sampler converged", "text"),
        "top_roas_channel": Headline("Highest ROAS (model, 90 % HDI)", "text"),
    },
    "review": {
        "objectives_met": Headline("Objectives met", "count"),
        "objectives_total": Headline("Objectives", "count"),
        "roi": Headline("ROI", "ratio"),
        "roas": Headline("ROAS", "ratio"),
        "cac": Headline("Cost per new customer", "currency"),
        "conversions": Headline("Orders in the campaign period", "count"),
        "incremental_lift": Headline("Incremental lift (holdout)", "number"),
        "incremental_roi": Headline("Incremental ROI (holdout)", "ratio"),
        "incremental_roas": Headline("Incremental ROAS (holdout)", "ratio"),
        "lessons": Headline("Lessons", "text"),
        "objectives": Headline("Objectives: measured outcome", "text"),
    },
    "planning": {
        "next_start": Headline("Next campaign starts", "text"),
        "next_end": Headline("Next campaign ends", "text"),
        "next_budget": Headline("Next campaign's budget", "currency"),
        "target_probability": Headline("Targets set at this chance of reaching them", "percent"),
        "next_conversions_target": Headline("Proposed orders target", "count"),
        "next_conversions_probability": Headline("Chance of reaching the orders target", "percent"),
        "next_revenue_target": Headline("Proposed revenue target", "currency"),
        "next_revenue_probability": Headline("Chance of reaching the revenue target", "percent"),
        "next_roas_target": Headline("Proposed ROAS target", "ratio"),
        "next_roas_probability": Headline("Chance of reaching the ROAS target", "percent"),
        "next_cpa_target": Headline("Proposed cost per order target", "currency"),
        "next_cpa_probability": Headline("Chance of reaching the CPA target", "percent"),
        "smart_fails": Headline("SMART checks the draft fails", "count"),
    },
}
"""Every headline the suite's notebooks record, by section (the end-to-end test checks it)."""


def headline(section: str, key: str, value: Any = None) -> Headline:
    """Return the label and unit of a recorded headline.

    An unlisted key (a report written by an older version) reads as its own words, with the
    unit its value suggests.
    """
    spec = HEADLINES.get(section, {}).get(key)
    if spec is not None:
        return spec
    numeric = isinstance(value, (int, float)) and not isinstance(value, bool)
    unit: Unit = ("count" if isinstance(value, int) else "number") if numeric else "text"
    return Headline(key.replace("_", " ").capitalize() if key.isascii() else key, unit)


def format_headline(value: Any, unit: Unit, currency: str = "") -> str:
    """Format a headline value in its unit: ``12.3 %``, ``1,234``, ``2.35×``, ``4.20 EUR``."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (list, tuple)):
        return ", ".join(str(v) for v in value) if value else "none"
    if not isinstance(value, (int, float)):
        return str(value)
    number = float(value)
    if unit == "percent":
        return f"{_no_minus_zero(number * 100, 1)} %"
    if unit == "points":
        return f"{_no_minus_zero(number if abs(number) >= 1 else number * 100, 1)} pp"
    if unit == "ratio":
        return f"{_no_minus_zero(number, 2)}×"
    if unit == "currency":
        return f"{_no_minus_zero(number, 2)} {currency}".strip()
    if unit == "count" and number == int(number):
        return f"{int(number):,}"
    return f"{number:,.3g}" if abs(number) < 1000 else f"{number:,.0f}"


def _no_minus_zero(number: float, digits: int) -> str:
    text = f"{number:,.{digits}f}"
    return text[1:] if text.startswith("-") and float(text.replace(",", "")) == 0 else text
