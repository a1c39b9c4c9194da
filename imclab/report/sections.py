"""What a report section says when an optional input is missing: one sentence, what to add.

A notebook section whose input is missing calls :func:`skipped` instead of failing; the rest
of the report completes. The sentences are written here once, so every notebook words a
missing survey (or holdout, ...) the same way.
"""

from __future__ import annotations

from IPython.display import Markdown

from imclab.errors import ParameterError

__all__ = ["MISSING", "skipped"]

MISSING: dict[str, str] = {
    "survey": (
        "No brand-tracking survey (survey.csv) in the data folder, so this section is "
        "skipped: add survey.csv (columns in data/README.md) to measure the brand funnel."
    ),
    "ab_tests": (
        "No A/B tests (ab_tests.csv) in the data folder, so this section is skipped: add "
        "ab_tests.csv (columns in data/README.md) to read out the campaign's experiments."
    ),
    "creatives": (
        "No creatives (creatives.csv) in the data folder, so this section is skipped: add "
        "creatives.csv (columns in data/README.md) to check the copy against the message house."
    ),
    "holdout_regions": (
        "The plan lists no holdout_regions, so the incrementality test is skipped: keep one or "
        "more regions dark and list them in the plan (holdout_regions: [west]) to measure lift."
    ),
    "competitors": (
        "The survey has no rows for the plan's competitors, so the comparison is skipped: add "
        "their survey rows, or list the brands the survey asks about as the plan's competitors."
    ),
    "campaign_rows": (
        "The data has no spend or orders of campaign {campaign!r} between {start} and {end}, "
        "so this section is skipped: add the campaign's rows for those dates to spend.csv and "
        "touchpoints.csv, with the plan's name in their campaign column."
    ),
    "campaign_spend": (
        "The data has no campaign spend of {campaign!r} between {start} and {end}, so this "
        "section is skipped: add the campaign's rows to spend.csv (campaign = the plan's name)."
    ),
}
"""Why a section is skipped and what to add, by missing input (``{...}`` filled by ``skipped``)."""


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
    return Markdown(f"**Skipped.** {MISSING[reason].format(**fields)}")
