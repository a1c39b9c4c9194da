"""The generating parameters of the synthetic Lumina brand world: personas, channels, plan.

Everything the simulator draws from is declared here, as data, so that the ground truth
written next to a world (``truth/truth.json``) is exactly these numbers.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date, timedelta

from imclab.errors import ParameterError

BRAND = "Lumina"
COMPETITORS = ("Brightly", "Norvo", "Castell")

PERIOD_START = date(2025, 1, 1)
PERIOD_END = date(2025, 6, 30)
CAMPAIGN = "spring_launch"
CAMPAIGN_START = date(2025, 3, 3)
CAMPAIGN_END = date(2025, 5, 25)
HOLDOUT_REGIONS = ("west",)
REGIONS = ("north", "south", "east", "west", "central")

#: Customers the plan's budget was written for; larger worlds scale spend in proportion.
REFERENCE_CUSTOMERS = 5000

CHANNELS = (
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
PAID_CHANNELS = ("paid_search", "social", "edm", "display", "affiliate", "tv")


@dataclass(frozen=True)
class Persona:
    """A hidden true persona: the distributions its customers are drawn from."""

    name: str
    weight: float
    age: tuple[float, float, int, int]  # mean, sd, min, max
    gender: dict[str, float]
    city_tier: dict[str, float]
    device: dict[str, float]
    income_band: dict[str, float]
    loyalty: float
    newsletter: float
    session_minutes: tuple[float, float]
    pages_per_visit: tuple[float, float]
    discount: tuple[float, float]  # beta(a, b)
    affinity: dict[str, float]  # relative chance of being reached by each channel
    base_hazard: float  # organic daily chance of ordering, before seasonality
    responsiveness: float  # multiplier on every touch effect
    aov: float  # mean order value (lognormal)


PERSONAS: tuple[Persona, ...] = (
    Persona(
        name="urban_deal_seekers",
        weight=0.26,
        age=(24.0, 3.5, 18, 34),
        gender={"female": 0.62, "male": 0.35, "other": 0.03},
        city_tier={"tier1": 0.75, "tier2": 0.20, "tier3": 0.05},
        device={"mobile": 0.85, "desktop": 0.08, "tablet": 0.07},
        income_band={"low": 0.50, "middle": 0.45, "high": 0.05},
        loyalty=0.20,
        newsletter=0.35,
        session_minutes=(4.0, 1.5),
        pages_per_visit=(3.0, 1.0),
        discount=(6.0, 4.0),
        affinity={
            "paid_search": 0.8,
            "seo": 0.6,
            "social": 3.0,
            "edm": 0.5,
            "display": 1.2,
            "content": 0.8,
            "affiliate": 2.5,
            "tv": 0.3,
            "direct": 0.8,
        },
        base_hazard=0.0016,
        responsiveness=1.2,
        aov=45.0,
    ),
    Persona(
        name="busy_professionals",
        weight=0.22,
        age=(38.0, 5.0, 26, 55),
        gender={"female": 0.50, "male": 0.48, "other": 0.02},
        city_tier={"tier1": 0.70, "tier2": 0.25, "tier3": 0.05},
        device={"mobile": 0.25, "desktop": 0.70, "tablet": 0.05},
        income_band={"low": 0.03, "middle": 0.32, "high": 0.65},
        loyalty=0.35,
        newsletter=0.60,
        session_minutes=(6.0, 2.0),
        pages_per_visit=(5.0, 1.5),
        discount=(1.5, 10.0),
        affinity={
            "paid_search": 3.0,
            "seo": 1.0,
            "social": 0.6,
            "edm": 2.2,
            "display": 0.8,
            "content": 0.6,
            "affiliate": 0.4,
            "tv": 0.5,
            "direct": 1.5,
        },
        base_hazard=0.0014,
        responsiveness=1.0,
        aov=150.0,
    ),
    Persona(
        name="family_planners",
        weight=0.20,
        age=(42.0, 5.0, 28, 58),
        gender={"female": 0.70, "male": 0.28, "other": 0.02},
        city_tier={"tier1": 0.20, "tier2": 0.60, "tier3": 0.20},
        device={"mobile": 0.55, "desktop": 0.10, "tablet": 0.35},
        income_band={"low": 0.15, "middle": 0.70, "high": 0.15},
        loyalty=0.80,
        newsletter=0.85,
        session_minutes=(8.0, 2.5),
        pages_per_visit=(6.0, 1.5),
        discount=(4.0, 5.0),
        affinity={
            "paid_search": 1.0,
            "seo": 1.0,
            "social": 1.0,
            "edm": 3.0,
            "display": 0.7,
            "content": 1.5,
            "affiliate": 0.6,
            "tv": 1.2,
            "direct": 2.0,
        },
        base_hazard=0.0022,
        responsiveness=0.9,
        aov=85.0,
    ),
    Persona(
        name="research_enthusiasts",
        weight=0.17,
        age=(31.0, 5.0, 20, 48),
        gender={"female": 0.55, "male": 0.43, "other": 0.02},
        city_tier={"tier1": 0.45, "tier2": 0.45, "tier3": 0.10},
        device={"mobile": 0.35, "desktop": 0.60, "tablet": 0.05},
        income_band={"low": 0.10, "middle": 0.55, "high": 0.35},
        loyalty=0.30,
        newsletter=0.50,
        session_minutes=(15.0, 3.5),
        pages_per_visit=(11.0, 2.5),
        discount=(2.0, 8.0),
        affinity={
            "paid_search": 1.2,
            "seo": 3.0,
            "social": 0.8,
            "edm": 0.8,
            "display": 0.5,
            "content": 3.0,
            "affiliate": 0.5,
            "tv": 0.3,
            "direct": 1.0,
        },
        base_hazard=0.0012,
        responsiveness=1.1,
        aov=110.0,
    ),
    Persona(
        name="traditional_shoppers",
        weight=0.15,
        age=(60.0, 6.0, 45, 85),
        gender={"female": 0.55, "male": 0.44, "other": 0.01},
        city_tier={"tier1": 0.10, "tier2": 0.35, "tier3": 0.55},
        device={"mobile": 0.20, "desktop": 0.45, "tablet": 0.35},
        income_band={"low": 0.35, "middle": 0.50, "high": 0.15},
        loyalty=0.45,
        newsletter=0.40,
        session_minutes=(5.0, 2.0),
        pages_per_visit=(3.5, 1.2),
        discount=(3.0, 6.0),
        affinity={
            "paid_search": 0.5,
            "seo": 0.5,
            "social": 0.3,
            "edm": 0.8,
            "display": 1.5,
            "content": 0.4,
            "affiliate": 0.2,
            "tv": 3.5,
            "direct": 1.0,
        },
        base_hazard=0.0011,
        responsiveness=0.9,
        aov=70.0,
    ),
)


@dataclass(frozen=True)
class Channel:
    """How a channel reaches customers and how much each touch raises the order hazard.

    Paid channels reach ``rmax * s**alpha / (s**alpha + K**alpha)`` touches per customer
    per day, where ``s`` is the day's spend per 1,000 reachable customers (a Hill
    saturation curve). A touch of interaction ``k`` adds ``effect[k]`` to the customer's
    daily order hazard from the next day on, halving every ``half_life`` days (adstock).
    """

    name: str
    paid: bool
    interactions: dict[str, float]  # interaction -> share of touches
    effect: dict[str, float]  # interaction -> hazard increment the day after the touch
    half_life: float  # days
    rmax: float = 0.0
    K: float = 1.0
    alpha: float = 1.0
    organic_rate: float = 0.0  # touches per customer per day for unpaid channels
    campaign_rate: float = 0.0  # extra unpaid touches per day while the campaign runs
    always_on: float = 0.0  # always-on spend per 1,000 customers per day
    cpc: float = 0.0  # platform cost per click (spend table)
    ctr: float = 0.0  # platform click-through rate (spend table)
    cpm: float = 0.0  # platform cost per 1,000 impressions, for channels without clicks


CHANNEL_SPECS: dict[str, Channel] = {
    c.name: c
    for c in (
        Channel(
            "paid_search", True, {"click": 1.0}, {"click": 0.020}, 2.0,
            rmax=0.030, K=30.0, alpha=1.1, always_on=15.0, cpc=1.6, ctr=0.045,
        ),
        Channel(
            "seo", False, {"visit": 1.0}, {"visit": 0.010}, 3.0, organic_rate=0.010,
        ),
        Channel(
            "social", True, {"impression": 0.8, "click": 0.2},
            {"impression": 0.0012, "click": 0.010}, 4.0,
            rmax=0.080, K=40.0, alpha=1.0, always_on=8.0, cpc=0.9, ctr=0.012,
        ),
        Channel(
            "edm", True, {"open": 0.75, "click": 0.25}, {"open": 0.004, "click": 0.012}, 3.0,
            rmax=0.050, K=5.0, alpha=1.5, always_on=1.0, cpc=0.35, ctr=0.035,
        ),
        Channel(
            "display", True, {"impression": 0.9, "click": 0.1},
            {"impression": 0.0006, "click": 0.006}, 5.0,
            rmax=0.100, K=50.0, alpha=0.9, always_on=6.0, cpc=2.2, ctr=0.004,
        ),
        Channel(
            "content", False, {"visit": 1.0}, {"visit": 0.007}, 7.0,
            organic_rate=0.005, campaign_rate=0.004,
        ),
        Channel(
            "affiliate", True, {"click": 1.0}, {"click": 0.012}, 2.0,
            rmax=0.020, K=20.0, alpha=1.2, always_on=4.0, cpc=1.1, ctr=0.010,
        ),
        Channel(
            "tv", True, {"impression": 1.0}, {"impression": 0.0030}, 10.0,
            rmax=0.060, K=80.0, alpha=1.3, cpm=12.0,
        ),
        Channel(
            "direct", False, {"visit": 1.0}, {"visit": 0.002}, 1.0, organic_rate=0.006,
        ),
    )
}  # fmt: skip

#: Share of orders preceded by a navigational direct visit (typed-in URL) minutes before:
#: these visits are a consequence of the decision to buy, not a cause.
NAVIGATIONAL_DIRECT_SHARE = 0.45

#: Share of EDM sends that are opened (the tracked opens and clicks over the sends).
EDM_OPEN_RATE = 0.20

#: After an order the hazard is multiplied by this factor for ``COOLDOWN_DAYS`` days.
COOLDOWN_FACTOR = 0.25
COOLDOWN_DAYS = 14

#: Weekday multipliers (Monday first) on the organic hazard; trend is +10 % over the period.
WEEKDAY_FACTORS = (0.90, 0.90, 0.95, 1.00, 1.10, 1.25, 1.15)
TREND = 0.10


@dataclass(frozen=True)
class Phase:
    """A phase of the spring_launch plan with its planned budget per channel."""

    name: str
    start: date
    end: date
    budget: dict[str, float]


#: The plan the bundled campaign YAML states (for REFERENCE_CUSTOMERS customers).
PLAN_PHASES: tuple[Phase, ...] = (
    Phase("teaser", date(2025, 3, 3), date(2025, 3, 23), {"social": 4000, "display": 3000,
                                                          "tv": 8000}),
    Phase("launch", date(2025, 3, 24), date(2025, 4, 27),
          {"paid_search": 6000, "social": 7000, "display": 5000, "edm": 1000,
           "affiliate": 2000, "tv": 10000}),
    Phase("sustain", date(2025, 4, 28), date(2025, 5, 25),
          {"paid_search": 6000, "social": 4000, "edm": 1000, "affiliate": 3000}),
)  # fmt: skip

#: What was actually spent relative to plan (delivery over- and under-runs).
DELIVERY = {
    "paid_search": 1.05,
    "social": 1.12,
    "display": 0.85,
    "edm": 0.90,
    "affiliate": 1.20,
    "tv": 1.00,
}


@dataclass(frozen=True)
class BrandFunnel:
    """True stage-to-stage rates of a brand in the tracking survey."""

    aware: float
    consider: float  # given aware
    prefer: float  # given consider
    intent: float  # given prefer
    nps_mix: tuple[float, float, float]  # share of detractors (0-6), passives, promoters


SURVEY_WAVES = (
    ("W1", date(2025, 1, 20), "pre"),
    ("W2", date(2025, 2, 20), "pre"),
    ("W3", date(2025, 6, 10), "post"),
)
SURVEY_RESPONDENTS = 500
SURVEY_MATCHED_SHARE = 0.2  # respondents who are known customers

SURVEY_TRUTH: dict[str, dict[str, BrandFunnel]] = {
    "pre": {
        "Lumina": BrandFunnel(0.30, 0.50, 0.38, 0.60, (0.25, 0.40, 0.35)),
        "Brightly": BrandFunnel(0.62, 0.55, 0.50, 0.55, (0.20, 0.40, 0.40)),
        "Norvo": BrandFunnel(0.45, 0.40, 0.45, 0.50, (0.30, 0.40, 0.30)),
        "Castell": BrandFunnel(0.25, 0.45, 0.48, 0.55, (0.28, 0.42, 0.30)),
    },
    "post": {
        "Lumina": BrandFunnel(0.39, 0.55, 0.40, 0.62, (0.22, 0.40, 0.38)),
        "Brightly": BrandFunnel(0.62, 0.55, 0.50, 0.55, (0.20, 0.40, 0.40)),
        "Norvo": BrandFunnel(0.45, 0.40, 0.45, 0.50, (0.30, 0.40, 0.30)),
        "Castell": BrandFunnel(0.25, 0.45, 0.48, 0.55, (0.28, 0.42, 0.30)),
    },
}


@dataclass(frozen=True)
class ABVariant:
    """One arm of the EDM subject-line test and its true rates."""

    variant: str
    description: str
    open_rate: float
    click_rate: float  # given open
    conversion_rate: float  # given click


AB_TEST = {
    "test_id": "edm_subject_2025_04",
    "channel": "edm",
    "start_date": date(2025, 4, 7),
    "end_date": date(2025, 4, 13),
    "sends_per_arm": 2500,
    "variants": (
        ABVariant("A", "Your spring glow starts here", 0.200, 0.15, 0.10),
        ABVariant("B", "Dermatologist tested, naturally: meet Lumina Spring", 0.235, 0.15, 0.10),
    ),
}


@dataclass(frozen=True)
class Creative:
    """A creative the campaign ran; ``on_message`` is the truth for consistency checks."""

    channel: str
    language: str
    text: str
    on_message: bool = True


CREATIVES: tuple[Creative, ...] = (
    Creative("paid_search", "en", "Lumina clean beauty that fits your day: natural ingredients "
             "you can trust, dermatologist tested for sensitive skin."),
    Creative("social", "en", "Clean beauty that fits your day. Natural ingredients you can "
             "trust in sustainable refillable packaging. #LuminaSpring"),
    Creative("social", "zh", "纯净美妆,融入你的每一天。天然成分值得信赖,可持续的可替换包装。"),
    Creative("edm", "en", "Meet Lumina Spring: clean beauty that fits your day, dermatologist "
             "tested for sensitive skin, now in sustainable refillable packaging."),
    Creative("display", "en", "Lumina: clean beauty that fits your day. Dermatologist tested, "
             "natural ingredients."),
    Creative("content", "en", "Why natural ingredients you can trust matter: how Lumina "
             "dermatologist tested clean beauty fits your day, in refillable packaging."),
    Creative("content", "zh", "纯净美妆如何融入你的每一天:"
             "天然成分值得信赖,皮肤科医生测试适合敏感肌。"),
    Creative("affiliate", "en", "MEGA DEAL: 50% off everything with code SAVEBIG, limited time "
             "only, free gift with every order!", on_message=False),
    Creative("tv", "en", "Lumina. Clean beauty that fits your day. Natural ingredients you "
             "can trust, in sustainable refillable packaging."),
)  # fmt: skip


@dataclass
class WorldSpec:
    """Everything a world is drawn from, as one JSON-serialisable object."""

    brand: str = BRAND
    competitors: tuple[str, ...] = COMPETITORS
    period_start: date = PERIOD_START
    period_end: date = PERIOD_END
    campaign: str = CAMPAIGN
    campaign_start: date = CAMPAIGN_START
    campaign_end: date = CAMPAIGN_END
    holdout_regions: tuple[str, ...] = HOLDOUT_REGIONS
    personas: tuple[Persona, ...] = PERSONAS
    channels: dict[str, Channel] = field(default_factory=lambda: dict(CHANNEL_SPECS))
    plan_phases: tuple[Phase, ...] = PLAN_PHASES
    delivery: dict[str, float] = field(default_factory=lambda: dict(DELIVERY))

    def to_dict(self) -> dict:
        """Return the spec as plain data (dates as ISO strings)."""
        return _plain(asdict(self))


def _plain(obj):
    if isinstance(obj, dict):
        return {k: _plain(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_plain(v) for v in obj]
    if isinstance(obj, date):
        return obj.isoformat()
    return obj


@dataclass(frozen=True)
class Calendar:
    """The dates and name of a simulated campaign: its period, phases, survey waves, A/B test.

    The default is the sample's spring_launch; :func:`calendar` moves it to other dates.
    """

    campaign: str = CAMPAIGN
    period_start: date = PERIOD_START
    period_end: date = PERIOD_END
    campaign_start: date = CAMPAIGN_START
    campaign_end: date = CAMPAIGN_END
    phases: tuple[Phase, ...] = PLAN_PHASES
    survey_waves: tuple[tuple[str, date, str], ...] = SURVEY_WAVES
    ab_test: dict = field(default_factory=lambda: dict(AB_TEST))


#: Shortest campaign :func:`calendar` accepts: room for three phases and the 7-day A/B test.
MIN_CAMPAIGN_DAYS = 14


def calendar(
    campaign: str = CAMPAIGN, start: date = CAMPAIGN_START, end: date = CAMPAIGN_END
) -> Calendar:
    """Return the simulator's calendar moved to a campaign ``campaign`` from ``start`` to ``end``.

    The rule: the world keeps its 61 days of history before the campaign and its 36 days
    after it; the plan's three phases are stretched (or shrunk) in proportion to the new
    campaign length; the survey waves keep their distance to the campaign start (pre waves)
    and end (post wave); the A/B test keeps its 7 days, at the same relative position in the
    campaign. The default arguments give the sample's calendar unchanged.

    Parameters
    ----------
    campaign
        Campaign name (the ``campaign`` column of spend, touchpoints and creatives).
    start, end
        Campaign period, both included; at least :data:`MIN_CAMPAIGN_DAYS` days.

    Returns
    -------
    Calendar
        The moved calendar.

    Raises
    ------
    ParameterError
        ``end`` is fewer than :data:`MIN_CAMPAIGN_DAYS` - 1 days after ``start``.
    """
    days = (end - start).days + 1
    if days < MIN_CAMPAIGN_DAYS:
        raise ParameterError(
            f"simulate: the campaign {start.isoformat()} .. {end.isoformat()} lasts {days} "
            f"days; the simulator needs at least {MIN_CAMPAIGN_DAYS}"
        )
    base_days = (CAMPAIGN_END - CAMPAIGN_START).days + 1

    def move(day: date) -> date:
        if day < CAMPAIGN_START:
            return start - (CAMPAIGN_START - day)
        if day > CAMPAIGN_END:
            return end + (day - CAMPAIGN_END)
        offset = (day - CAMPAIGN_START).days * (days - 1) / (base_days - 1)
        return start + timedelta(days=round(offset))

    starts = [move(p.start) for p in PLAN_PHASES]
    phases = tuple(
        Phase(p.name, s, (starts[i + 1] - timedelta(days=1)) if i + 1 < len(starts) else end,
              dict(p.budget))
        for i, (p, s) in enumerate(zip(PLAN_PHASES, starts, strict=True))
    )  # fmt: skip
    ab_start = min(move(AB_TEST["start_date"]), end - timedelta(days=6))
    ab_test = dict(
        AB_TEST,
        test_id=f"edm_subject_{ab_start:%Y_%m}",  # named after the month it runs in
        start_date=ab_start,
        end_date=ab_start + timedelta(days=6),
    )
    return Calendar(
        campaign=campaign,
        period_start=move(PERIOD_START),
        period_end=move(PERIOD_END),
        campaign_start=start,
        campaign_end=end,
        phases=phases,
        survey_waves=tuple((w, move(d), kind) for w, d, kind in SURVEY_WAVES),
        ab_test=ab_test,
    )
