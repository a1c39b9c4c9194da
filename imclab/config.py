"""Paths, channel and funnel vocabularies, and the KPI catalogue (one definition per KPI).

Nothing here computes a KPI value: the scorecard does that from the definitions below.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from imclab.errors import ParameterError

# --------------------------------------------------------------------------------------
# Paths
# --------------------------------------------------------------------------------------
PACKAGE_DIR: Path = Path(__file__).resolve().parent
"""The installed ``imclab`` package folder."""
REPO_ROOT: Path = PACKAGE_DIR.parent
"""The repository root (parent of the package)."""
NOTEBOOKS_DIR: Path = REPO_ROOT / "notebooks"
REPORTS_DIR: Path = REPO_ROOT / "reports"
CAMPAIGNS_DIR: Path = REPO_ROOT / "campaigns"
SAMPLE_DATA_DIR: Path = REPO_ROOT / "data" / "sample"
SAMPLE_DERIVED_DIR: Path = REPO_ROOT / "data" / "sample_derived"
"""What notebooks write on data/sample that later notebooks' committed runs take
(``python -m imclab.report.regenerate --derived`` rewrites it)."""


def project_dir(plan_file: str | Path | None = None) -> Path:
    """Return the analyst's project folder, where ``campaigns/``, ``data/`` and ``reports/`` live.

    A plan inside a ``campaigns/`` folder belongs to that folder's parent; otherwise the
    nearest folder from the current directory upwards that holds ``campaigns/``, else the
    current directory. Never the folder the package was installed from, unless the analyst
    works there (``imclab init`` run from another clone writes into that clone).

    Parameters
    ----------
    plan_file
        The campaign plan being run, if any.

    Returns
    -------
    Path
        An absolute folder.
    """
    if plan_file is not None:
        folder = Path(plan_file).resolve().parent
        if folder.name == "campaigns":
            return folder.parent
    cwd = Path.cwd().resolve()
    for folder in (cwd, *cwd.parents):
        if (folder / "campaigns").is_dir():
            return folder
    return cwd


DEFAULT_CAMPAIGN: str = "spring_launch"
"""Name of the bundled sample campaign (``campaigns/spring_launch.yaml``)."""

# --------------------------------------------------------------------------------------
# Channels and interactions (see data/README.md)
# --------------------------------------------------------------------------------------
CHANNELS: tuple[str, ...] = (
    "paid_search",
    "seo",
    "social",
    "edm",
    "display",
    "content",
    "affiliate",
    "tv",
    "direct",
)
"""Every channel id, in the canonical display order."""

PAID_CHANNELS: tuple[str, ...] = ("paid_search", "social", "edm", "display", "affiliate", "tv")
"""Channels with media spend (rows in ``spend.csv``); the others cost nothing per touch."""

CHANNEL_LABELS: dict[str, str] = {
    "paid_search": "Paid search",
    "seo": "SEO",
    "social": "Paid social",
    "edm": "EDM (email)",
    "display": "Display / programmatic",
    "content": "Content",
    "affiliate": "Affiliate",
    "tv": "TV / offline",
    "direct": "Direct",
}
"""Human-readable channel names for tables and figures."""

INTERACTIONS: tuple[str, ...] = ("impression", "click", "open", "visit")
"""Kinds of touch in ``touchpoints.interaction`` (an EDM ``impression`` is a send)."""

REGIONS: tuple[str, ...] = ("north", "south", "east", "west", "central")
"""Sales regions (``customers.region``); holdout tests keep whole regions dark."""

PERSONA_TRAITS: dict[str, tuple[str, ...] | None] = {
    "age": None,
    "gender": ("female", "male", "other"),
    "region": REGIONS,
    "city_tier": ("tier1", "tier2", "tier3"),
    "device": ("mobile", "desktop", "tablet"),
    "income_band": ("low", "middle", "high"),
    "loyalty_member": ("true", "false"),
    "newsletter_opt_in": ("true", "false"),
    "avg_session_minutes": None,
    "pages_per_visit": None,
    "discount_usage_rate": None,
}
"""Customer columns a plan's persona traits may name, with their allowed values.

``None`` marks a numeric column: its trait is a number, a range (``"18-29"``), an open
range (``"45+"``) or a level from :data:`TRAIT_LEVELS` relative to the customer base.
"""
TRAIT_LEVELS: tuple[str, ...] = ("low", "medium", "high")

# --------------------------------------------------------------------------------------
# Funnels
# --------------------------------------------------------------------------------------
FUNNEL_STAGES: tuple[str, ...] = (
    "awareness",
    "consideration",
    "preference",
    "purchase_intent",
    "loyalty",
)
"""The brand funnel, measured by the brand-tracking survey (attitudes, share of people).

``awareness`` .. ``purchase_intent`` map to the survey flags ``aware``, ``consider``,
``prefer`` and ``intent``; ``loyalty`` is measured by NPS and repeat purchase.
"""

JOURNEY_STAGES: tuple[str, ...] = ("exposed", "engaged", "visited", "converted", "repeat")
"""The customer journey, measured from behaviour in the event log (customers who reached it).

``exposed``: any touch (impression, send); ``engaged``: a click or an EDM open;
``visited``: a site visit; ``converted``: an order; ``repeat``: a second or later order.
"""

STAGES: tuple[str, ...] = FUNNEL_STAGES + JOURNEY_STAGES
"""Every stage an objective or KPI may be attached to (brand funnel, then journey)."""

# --------------------------------------------------------------------------------------
# KPI catalogue
# --------------------------------------------------------------------------------------
KPI_TIERS: tuple[str, ...] = ("brand", "engagement", "conversion", "value")
"""KPI tiers of the IMC articles: brand, engagement (interaction), conversion, sales/value."""
KPI_UNITS: tuple[str, ...] = ("share", "currency", "ratio", "count", "score")
"""``share`` is a proportion in 0..1; ``ratio`` an unbounded quotient; ``score`` e.g. NPS."""
KPI_DIRECTIONS: tuple[str, ...] = ("higher", "lower")

POST_CAMPAIGN_WINDOW_DAYS: int = 60
"""Objective deadlines may fall up to this many days after the campaign end (post waves)."""

# --------------------------------------------------------------------------------------
# Campaign settings: the one default of each (a plan's ``settings:`` section overrides them;
# the resolved values come from :meth:`imclab.plan.CampaignPlan.resolved_settings`)
# --------------------------------------------------------------------------------------
MEASUREMENT_WINDOW_DAYS: int = 35
"""Default days after the campaign end until the review (orders of the last journeys, the
post-campaign survey wave): the default review date is the campaign end plus this."""
LOOKBACK_DAYS: int = 30
"""Default attribution lookback: an order is credited to touches at most this many days before
it (journeys, channel baseline, daily credit of the budget curves, plan vs actual)."""
NAVIGATIONAL_CHANNELS: tuple[str, ...] = ("direct",)
"""Default channels that only navigate to an order someone else earned (typed URL, bookmark)."""
BOUND_MULTIPLES: tuple[float, float] = (0.5, 2.0)
"""Default bounds of the budget optimiser: each channel between these multiples of its actual
spend, after scaling the actual mix to the next budget (see
:func:`imclab.review.budget.budget_bounds`)."""


@dataclass(frozen=True)
class KPI:
    """Definition of one key performance indicator.

    Parameters
    ----------
    name
        Identifier used in plans and code (``roas``).
    label
        Display name (``Return on ad spend (ROAS)``).
    tier
        One of :data:`KPI_TIERS`.
    unit
        One of :data:`KPI_UNITS`.
    direction
        ``"higher"`` or ``"lower"``: which way is better.
    funnel_stage
        The stage (of :data:`STAGES`) the KPI measures.
    definition
        One sentence for the analyst: what the number means.
    formula
        How it is computed from a brand world, in terms of the data dictionary.
    requires
        ``table.column`` strings needed to compute it (see ``data/README.md``).
    """

    name: str
    label: str
    tier: str
    unit: str
    direction: str
    funnel_stage: str
    definition: str
    formula: str
    requires: tuple[str, ...]

    def __post_init__(self) -> None:
        """Reject a definition that uses a tier, unit, direction or stage outside the lists."""
        for field, value, allowed in (
            ("tier", self.tier, KPI_TIERS),
            ("unit", self.unit, KPI_UNITS),
            ("direction", self.direction, KPI_DIRECTIONS),
            ("funnel_stage", self.funnel_stage, STAGES),
        ):
            if value not in allowed:
                raise ValueError(
                    f"KPI {self.name!r}: {field} {value!r} is not one of {', '.join(allowed)}"
                )

    @property
    def tables(self) -> tuple[str, ...]:
        """The tables (``survey``, ``spend``, ...) named in :attr:`requires`, in order."""
        return tuple(dict.fromkeys(item.split(".", 1)[0] for item in self.requires))

    def better(self, value: float, reference: float) -> bool:
        """Return True when ``value`` is at least as good as ``reference`` for this KPI.

        Parameters
        ----------
        value
            The measured (or planned) value.
        reference
            The value to compare with (a target or a baseline).

        Returns
        -------
        bool
            ``value >= reference`` for higher-is-better KPIs, ``value <= reference`` otherwise.
        """
        return value >= reference if self.direction == "higher" else value <= reference


_SURVEY_BASE = ("survey.wave", "survey.period", "survey.brand")
_ORDERS = ("conversions.customer_id", "conversions.timestamp")
_SPEND = ("spend.date", "spend.campaign", "spend.spend")

_CATALOGUE: tuple[KPI, ...] = (
    # Brand tier: the brand-tracking survey, for our brand and each competitor.
    KPI(
        "awareness",
        "Aided awareness",
        "brand",
        "share",
        "higher",
        "awareness",
        "Share of survey respondents who recognise the brand when prompted.",
        "mean(survey.aware) over the brand's respondents in a wave",
        (*_SURVEY_BASE, "survey.aware"),
    ),
    KPI(
        "consideration",
        "Consideration",
        "brand",
        "share",
        "higher",
        "consideration",
        "Share of survey respondents who would consider buying the brand.",
        "mean(survey.consider) over the brand's respondents in a wave",
        (*_SURVEY_BASE, "survey.consider"),
    ),
    KPI(
        "preference",
        "Preference",
        "brand",
        "share",
        "higher",
        "preference",
        "Share of survey respondents for whom the brand is their preferred one in the category.",
        "mean(survey.prefer) over the brand's respondents in a wave",
        (*_SURVEY_BASE, "survey.prefer"),
    ),
    KPI(
        "purchase_intent",
        "Purchase intent",
        "brand",
        "share",
        "higher",
        "purchase_intent",
        "Share of survey respondents who intend to buy the brand in the next 3 months.",
        "mean(survey.intent) over the brand's respondents in a wave",
        (*_SURVEY_BASE, "survey.intent"),
    ),
    KPI(
        "nps",
        "Net promoter score (NPS)",
        "brand",
        "score",
        "higher",
        "loyalty",
        "Promoters minus detractors among aware respondents, from -100 to 100.",
        "100 * (share of survey.nps in 9..10 - share in 0..6), aware respondents with an nps "
        "answer",
        (*_SURVEY_BASE, "survey.nps"),
    ),
    # Engagement tier: the event log and daily media delivery.
    KPI(
        "traffic",
        "Site visits",
        "engagement",
        "count",
        "higher",
        "visited",
        "Number of site visits in the period, from every channel.",
        "count(touchpoints where interaction = 'visit') in the period",
        ("touchpoints.timestamp", "touchpoints.interaction", "touchpoints.channel"),
    ),
    KPI(
        "ctr",
        "Click-through rate (CTR)",
        "engagement",
        "share",
        "higher",
        "engaged",
        "Share of paid impressions that were clicked.",
        "sum(spend.clicks) / sum(spend.impressions) in the period (per channel or overall)",
        ("spend.date", "spend.campaign", "spend.channel", "spend.impressions", "spend.clicks"),
    ),
    KPI(
        "open_rate",
        "Email open rate",
        "engagement",
        "share",
        "higher",
        "engaged",
        "Share of EDM sends that were opened (a click counts as an open).",
        "edm touchpoints with interaction 'open' or 'click' / sends (edm 'impression' "
        "touches, or spend.impressions of edm when the event log holds no sends)",
        (
            "touchpoints.timestamp",
            "touchpoints.channel",
            "touchpoints.campaign",
            "touchpoints.interaction",
            "spend.impressions",
        ),
    ),
    KPI(
        "engagement_rate",
        "Engagement rate",
        "engagement",
        "share",
        "higher",
        "engaged",
        "Share of exposed customers who engaged: clicked, opened or visited.",
        "customers with a click, open or visit / customers with any touch, in the period",
        (
            "touchpoints.customer_id",
            "touchpoints.timestamp",
            "touchpoints.channel",
            "touchpoints.interaction",
        ),
    ),
    # Conversion tier: orders against the people and money that produced them.
    KPI(
        "leads",
        "New customers acquired",
        "conversion",
        "count",
        "higher",
        "converted",
        "Customers whose first ever order falls in the period.",
        "count(customers whose min(conversions.timestamp) is in the period)",
        _ORDERS,
    ),
    KPI(
        "conversions",
        "Orders",
        "conversion",
        "count",
        "higher",
        "converted",
        "Number of orders placed in the period (repeat orders included).",
        "count(conversions) in the period",
        _ORDERS,
    ),
    KPI(
        "conversion_rate",
        "Conversion rate",
        "conversion",
        "share",
        "higher",
        "converted",
        "Share of customers who visited the site in the period and ordered in the period.",
        "customers with a visit and an order / customers with a visit, in the period",
        ("touchpoints.customer_id", "touchpoints.timestamp", "touchpoints.interaction", *_ORDERS),
    ),
    KPI(
        "cac",
        "Customer acquisition cost (CAC)",
        "conversion",
        "currency",
        "lower",
        "converted",
        "Campaign media spend per new customer acquired.",
        "sum(spend.spend for the campaign) / leads",
        (*_SPEND, *_ORDERS),
    ),
    KPI(
        "cpa",
        "Cost per acquisition (CPA)",
        "conversion",
        "currency",
        "lower",
        "converted",
        "Campaign media spend per order.",
        "sum(spend.spend for the campaign) / conversions",
        (*_SPEND, *_ORDERS),
    ),
    # Value tier: sales and long-term customer value.
    KPI(
        "revenue",
        "Revenue",
        "value",
        "currency",
        "higher",
        "converted",
        "Order revenue (net of discounts) in the period.",
        "sum(conversions.revenue) in the period",
        ("conversions.timestamp", "conversions.revenue"),
    ),
    KPI(
        "aov",
        "Average order value (AOV)",
        "value",
        "currency",
        "higher",
        "converted",
        "Revenue per order in the period.",
        "revenue / conversions",
        ("conversions.timestamp", "conversions.revenue"),
    ),
    KPI(
        "roi",
        "Return on investment (ROI)",
        "value",
        "ratio",
        "higher",
        "converted",
        "Net return per unit of campaign media spend: (revenue - cost) / cost.",
        "(revenue - sum(spend.spend)) / sum(spend.spend) for the campaign",
        (*_SPEND, "conversions.timestamp", "conversions.revenue"),
    ),
    KPI(
        "roas",
        "Return on ad spend (ROAS)",
        "value",
        "ratio",
        "higher",
        "converted",
        "Revenue per unit of campaign media spend: revenue / cost.",
        "revenue / sum(spend.spend) for the campaign",
        (*_SPEND, "conversions.timestamp", "conversions.revenue"),
    ),
    KPI(
        "retention_rate",
        "Repeat-purchase rate",
        "value",
        "share",
        "higher",
        "repeat",
        "Share of the period's buyers who ordered again (two or more orders).",
        "buyers with >= 2 orders / buyers with >= 1 order, in the period",
        _ORDERS,
    ),
    KPI(
        "clv",
        "Customer lifetime value (CLV)",
        "value",
        "currency",
        "higher",
        "repeat",
        "Revenue per customer over 12 months at the period's rate: the annualised revenue "
        "of the customer base signed up by the period's end (a historical proxy; the "
        "post-campaign review also fits BG/NBD x Gamma-Gamma).",
        "sum(conversions.revenue) in the period x 365 / period days / count(customers with "
        "signup_date <= the period's end)",
        (
            "conversions.customer_id",
            "conversions.timestamp",
            "conversions.revenue",
            "customers.customer_id",
            "customers.signup_date",
        ),
    ),
)

KPIS: dict[str, KPI] = {kpi.name: kpi for kpi in _CATALOGUE}
"""The KPI catalogue: name -> definition, grouped by tier in :data:`KPI_TIERS` order."""


def closest_match_hint(value: object, choices: Iterable[str]) -> str:
    """Return ``" (did you mean 'x'?)"`` for the closest choice, or ``""`` when none is close.

    Parameters
    ----------
    value
        What the user wrote.
    choices
        The valid names.

    Returns
    -------
    str
        A hint to append to an error message.
    """
    matches = difflib.get_close_matches(str(value), list(choices), n=1, cutoff=0.6)
    return f" (did you mean {matches[0]!r}?)" if matches else ""


class UnknownKPIError(ParameterError, KeyError):
    """A KPI name that is not in the catalogue (a KeyError, so ``dict``-style code still works)."""

    def __str__(self) -> str:
        """Return the message itself (KeyError would show its repr)."""
        return str(self.args[0]) if self.args else ""


def get_kpi(name: str) -> KPI:
    """Return the catalogue definition of a KPI.

    Parameters
    ----------
    name
        KPI name, e.g. ``"roas"``.

    Returns
    -------
    KPI
        The definition.

    Raises
    ------
    UnknownKPIError
        When the name is not in the catalogue; the message suggests the closest name and
        lists the valid ones.
    """
    try:
        return KPIS[name]
    except (KeyError, TypeError):
        raise UnknownKPIError(
            f"unknown KPI {name!r}{closest_match_hint(name, KPIS)}; valid KPIs: {', '.join(KPIS)}"
        ) from None
