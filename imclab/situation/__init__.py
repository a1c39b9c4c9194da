"""Situation analysis (the S of SOSTAC): where the brand stands before the campaign.

Market and sales (:mod:`.sales`), brand funnel (:mod:`.funnel`), customer journey
(:mod:`.journey`), channel baseline (:mod:`.baseline`), SWOT (:mod:`.swot`) and the SMART
check of the plan's objectives (:mod:`.smart`). KPI definitions live in :mod:`imclab.kpis`.
"""

from imclab.situation.baseline import baseline_cpa_median, channel_baseline
from imclab.situation.funnel import biggest_leak, brand_funnel, funnel_leaks
from imclab.situation.journey import journey_funnel
from imclab.situation.sales import (
    analysis_window,
    daily_sales,
    sales_decomposition,
    sales_growth,
    sales_summary,
    share_of_market,
    share_of_voice,
    weekly_seasonality,
)
from imclab.situation.smart import (
    objective_baselines,
    smart_check,
    smart_matrix,
    smart_warnings,
)
from imclab.situation.swot import SWOT_RULES, derive_swot, merge_swot, swot_table

__all__ = [
    "SWOT_RULES",
    "analysis_window",
    "baseline_cpa_median",
    "biggest_leak",
    "brand_funnel",
    "channel_baseline",
    "daily_sales",
    "derive_swot",
    "funnel_leaks",
    "journey_funnel",
    "merge_swot",
    "objective_baselines",
    "sales_decomposition",
    "sales_growth",
    "sales_summary",
    "share_of_market",
    "share_of_voice",
    "smart_check",
    "smart_matrix",
    "smart_warnings",
    "swot_table",
    "weekly_seasonality",
]
