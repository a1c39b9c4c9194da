"""Campaign plan YAML -> validated pydantic model (situation inputs, objectives, strategy, tactics).

Every fault is reported at once, each with its YAML path: ``objectives[2].deadline: ...``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
import re
import types
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
import pandas as pd
import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    model_validator,
)
from pydantic_core import PydanticCustomError

from imclab.config import (
    BOUND_MULTIPLES,
    CAMPAIGNS_DIR,
    CHANNELS,
    INTERACTIONS,
    KPI,
    KPIS,
    LOOKBACK_DAYS,
    MEASUREMENT_WINDOW_DAYS,
    NAVIGATIONAL_CHANNELS,
    PAID_CHANNELS,
    PERSONA_TRAITS,
    POST_CAMPAIGN_WINDOW_DAYS,
    REGIONS,
    STAGES,
    TRAIT_LEVELS,
    closest_match_hint,
    get_kpi,
)
from imclab.errors import ParameterError, PlanError

MAX_PLAN_BYTES: int = 1_000_000
"""Plan files larger than this are refused before parsing."""
MAX_YAML_NODES: int = 100_000
"""Refuse documents whose aliases expand to more nodes than this (a real plan has a few hundred)."""

_SLUG = re.compile(r"[a-z0-9][a-z0-9_-]*")
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_LANG = re.compile(r"[a-z]{2,3}(-[A-Za-z0-9]+)*")
_CURRENCY = re.compile(r"[A-Z]{3}")
_NUMERIC_TRAIT = re.compile(r"\d+(\.\d+)?(\s*-\s*\d+(\.\d+)?|\+)?")
_PLAIN_KEY = re.compile(r"[A-Za-z0-9_-]+")
_TOLERANCE = 0.005  # amounts are money: equal to the cent


class PlanValidationError(PlanError):
    """A plan failed validation; ``faults`` lists ``(yaml_path, message)`` pairs.

    The message has one line per fault, each starting with the source (file path).
    """

    def __init__(self, source: str, faults: list[tuple[str, str]]) -> None:
        self.source = source
        self.faults = faults
        lines = [f"{source}: {path}: {msg}" if path else f"{source}: {msg}" for path, msg in faults]
        super().__init__("\n".join(lines))


# --------------------------------------------------------------------------------------
# Value formatting and field validators
# --------------------------------------------------------------------------------------
def _show(value: Any) -> str:
    """Render a user's value for an error message (short, unambiguous)."""
    if isinstance(value, dt.date):
        return value.isoformat()
    if value is None:
        return "null (empty)"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (int, float)):
        return repr(value)
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _num(value: float) -> str:
    """Format a number with thousands separators and no needless decimals."""
    if float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:,.4f}".rstrip("0").rstrip(".")


def _fault(message: str) -> PydanticCustomError:
    # The message travels in the context so that braces in user text are never formatted.
    return PydanticCustomError("plan", "{message}", {"message": message})


def _faults(faults: list[tuple[tuple[str | int, ...], str]]) -> PydanticCustomError:
    # Several faults found by one model validator, each with a path relative to the model.
    joined = "; ".join(msg for _, msg in faults)
    return PydanticCustomError("plan_faults", "{message}", {"message": joined, "faults": faults})


def _text(value: Any) -> Any:
    if isinstance(value, str) and not value.strip():
        raise _fault("must not be empty")
    return value


def _slug(value: str) -> str:
    if not _SLUG.fullmatch(value) or len(value) > 64:
        raise _fault(
            f"{_show(value)} is not a safe name: use 1-64 lowercase letters, digits, '_' and '-', "
            "starting with a letter or digit (no '/', '\\', '..' or spaces)"
        )
    return value


def _channel(value: str) -> str:
    if value not in CHANNELS:
        raise _fault(
            f"{_show(value)} is not a channel{closest_match_hint(value, CHANNELS)}; "
            f"channels: {', '.join(CHANNELS)}"
        )
    return value


def _kpi_name(value: str) -> str:
    if value not in KPIS:
        raise _fault(
            f"{_show(value)} is not a KPI of the catalogue{closest_match_hint(value, KPIS)}; "
            f"KPIs: {', '.join(KPIS)}"
        )
    return value


def _stage(value: str) -> str:
    if value not in STAGES:
        raise _fault(
            f"{_show(value)} is not a funnel or journey stage{closest_match_hint(value, STAGES)}; "
            f"stages: {', '.join(STAGES)}"
        )
    return value


def _region(value: str) -> str:
    if value not in REGIONS:
        raise _fault(
            f"{_show(value)} is not a region{closest_match_hint(value, REGIONS)}; "
            f"regions: {', '.join(REGIONS)}"
        )
    return value


def _pattern(regex: re.Pattern[str], expected: str) -> Any:
    def check(value: str) -> str:
        if not regex.fullmatch(value):
            raise _fault(f"{_show(value)} is not {expected}")
        return value

    return check


def _iso_date(value: Any) -> dt.date:
    if isinstance(value, dt.datetime):
        if value.time() != dt.time(0):
            raise _fault(f"{_show(value)} has a time of day; expected a date YYYY-MM-DD")
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str) and _ISO_DATE.fullmatch(value.strip()):
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError as exc:
            raise _fault(f"{_show(value)} is not a valid date ({exc})") from None
    raise _fault(f"{_show(value)} is not an ISO date (expected YYYY-MM-DD)")


def _number(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _fault(f"{_show(value)} is not a number")
    if not math.isfinite(value):
        raise _fault(f"{_show(value)} is not a finite number")
    return float(value)


def _amount(value: Any) -> float:
    number = _number(value)
    if number < 0:
        raise _fault(f"{_show(value)} is negative: amounts must be >= 0")
    return number


def _scalar_text(value: Any) -> str:
    # Persona traits may be written as numbers or booleans in YAML; compare them as text.
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float, str)):
        return str(value)
    raise _fault(f"{_show(value)} is not a single value (text, number or true/false)")


Text = Annotated[str, AfterValidator(_text)]
Slug = Annotated[str, AfterValidator(_slug)]
Channel = Annotated[str, AfterValidator(_channel)]
KpiName = Annotated[str, AfterValidator(_kpi_name)]
Stage = Annotated[str, AfterValidator(_stage)]
Region = Annotated[str, AfterValidator(_region)]
Lang = Annotated[str, AfterValidator(_pattern(_LANG, "a language code such as 'zh' or 'en'"))]
Currency = Annotated[
    str, AfterValidator(_pattern(_CURRENCY, "a 3-letter ISO 4217 code such as 'EUR'"))
]
IsoDate = Annotated[dt.date, BeforeValidator(_iso_date)]
Number = Annotated[float, BeforeValidator(_number)]
Amount = Annotated[float, BeforeValidator(_amount)]
TraitValue = Annotated[str, BeforeValidator(_scalar_text)]


def _duplicates(values: list[Any]) -> list[tuple[int, Any]]:
    """Return ``(index, value)`` of every repeat of an earlier value."""
    seen: set[Any] = set()
    repeats = []
    for i, value in enumerate(values):
        if value in seen:
            repeats.append((i, value))
        seen.add(value)
    return repeats


def _to_date(day: Any) -> dt.date:
    if isinstance(day, pd.Timestamp | dt.datetime):
        return day.date()
    if isinstance(day, dt.date):
        return day
    return dt.date.fromisoformat(str(day))


# --------------------------------------------------------------------------------------
# The model
# --------------------------------------------------------------------------------------
class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Phase(_Model):
    """A phase of the campaign (teaser, launch, sustain, ...) with its channels and budget."""

    name: Slug
    start: IsoDate
    end: IsoDate
    channels: list[Channel] = Field(min_length=1)
    budget: dict[Channel, Amount] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _check(self) -> Phase:
        faults: list[tuple[tuple[str | int, ...], str]] = []
        if self.start > self.end:
            faults.append(
                (("start",), f"{_show(self.start)} is after the phase end {_show(self.end)}")
            )
        for i, channel in _duplicates(self.channels):
            faults.append((("channels", i), f"{channel!r} is listed twice"))
        for channel in self.budget:
            if channel not in self.channels:
                faults.append(
                    (
                        ("budget", channel),
                        f"{channel!r} has a budget but is not one of this phase's channels "
                        f"({', '.join(self.channels)})",
                    )
                )
            elif channel not in PAID_CHANNELS:
                faults.append(
                    (
                        ("budget", channel),
                        f"{channel!r} is not a paid channel and cannot have a budget; "
                        f"paid channels: {', '.join(PAID_CHANNELS)}",
                    )
                )
        if faults:
            raise _faults(faults)
        return self

    @property
    def days(self) -> int:
        """Length of the phase in days (both ends included)."""
        return (self.end - self.start).days + 1

    def contains(self, day: dt.date | str) -> bool:
        """Return True when ``day`` falls within the phase (both ends included)."""
        return self.start <= _to_date(day) <= self.end


class Budget(_Model):
    """Total campaign media budget and its split by paid channel."""

    total: Amount
    by_channel: dict[Channel, Amount]

    @model_validator(mode="after")
    def _check(self) -> Budget:
        faults: list[tuple[tuple[str | int, ...], str]] = []
        for channel in self.by_channel:
            if channel not in PAID_CHANNELS:
                faults.append(
                    (
                        ("by_channel", channel),
                        f"{channel!r} is not a paid channel and cannot have a budget; "
                        f"paid channels: {', '.join(PAID_CHANNELS)}",
                    )
                )
        allocated = sum(self.by_channel.values())
        if abs(allocated - self.total) > _TOLERANCE:
            faults.append(
                (
                    ("by_channel",),
                    f"channel budgets sum to {_num(allocated)} but budget.total is "
                    f"{_num(self.total)} (difference {_num(allocated - self.total)})",
                )
            )
        if faults:
            raise _faults(faults)
        return self


class Persona(_Model):
    """A target persona described by customer traits the persona clustering can match."""

    name: Text
    description: str = ""
    traits: dict[str, TraitValue] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _check(self) -> Persona:
        faults: list[tuple[tuple[str | int, ...], str]] = []
        for trait, value in self.traits.items():
            if trait not in PERSONA_TRAITS:
                faults.append(
                    (
                        ("traits", trait),
                        f"{trait!r} is not a customer trait"
                        f"{closest_match_hint(trait, PERSONA_TRAITS)}; "
                        f"traits: {', '.join(PERSONA_TRAITS)}",
                    )
                )
                continue
            allowed = PERSONA_TRAITS[trait]
            if allowed is not None and value not in allowed:
                faults.append(
                    (
                        ("traits", trait),
                        f"{value!r} is not a value of {trait}{closest_match_hint(value, allowed)}; "
                        f"values: {', '.join(allowed)}",
                    )
                )
            elif allowed is None and not (
                value in TRAIT_LEVELS or _NUMERIC_TRAIT.fullmatch(value.strip())
            ):
                faults.append(
                    (
                        ("traits", trait),
                        f"{value!r} is not a number, a range such as '18-29' or '45+', "
                        f"or a level ({', '.join(TRAIT_LEVELS)})",
                    )
                )
        if faults:
            raise _faults(faults)
        return self


class MessageTranslation(_Model):
    """The message house in another language (parallel lists: same order as the original)."""

    core_message: Text
    pillars: list[Text] = Field(default_factory=list)
    proof_points: list[Text] = Field(default_factory=list)


class MessageHouse(_Model):
    """Core message, its supporting pillars and proof points (the message house)."""

    core_message: Text
    pillars: list[Text] = Field(min_length=1)
    proof_points: list[Text] = Field(default_factory=list)
    translations: dict[Lang, MessageTranslation] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _check(self) -> MessageHouse:
        faults: list[tuple[tuple[str | int, ...], str]] = []
        for lang, translation in self.translations.items():
            for field in ("pillars", "proof_points"):
                theirs, ours = getattr(translation, field), getattr(self, field)
                if theirs and len(theirs) != len(ours):
                    faults.append(
                        (
                            ("translations", lang, field),
                            f"{len(theirs)} {field} but message_house.{field} has {len(ours)} "
                            "(a translation lists them in the same order, or leaves them out)",
                        )
                    )
        if faults:
            raise _faults(faults)
        return self


class Objective(_Model):
    """A SMART objective: a catalogue KPI, its baseline, target and deadline.

    ``funnel_stage`` defaults to the KPI's stage; ``persona`` and ``channel`` narrow the
    population the KPI is measured on (e.g. ``open_rate`` on ``edm``). ``baseline`` may be
    ``history:<campaign>.<kpi>``: the KPI an earlier campaign reached, read from the run
    history when the plan is loaded (``baseline_from`` then says where it came from).
    """

    id: Slug
    kpi: KpiName
    description: Text
    baseline: Number
    baseline_from: str | None = None
    target: Number
    deadline: IsoDate
    funnel_stage: Stage | None = None
    persona: Text | None = None
    channel: Channel | None = None

    @model_validator(mode="before")
    @classmethod
    def _default_stage(cls, data: Any) -> Any:
        if isinstance(data, Mapping) and data.get("funnel_stage") is None:
            kpi = data.get("kpi")
            if isinstance(kpi, str) and kpi in KPIS:
                return {**data, "funnel_stage": KPIS[kpi].funnel_stage}
        return data

    @model_validator(mode="after")
    def _check(self) -> Objective:
        faults: list[tuple[tuple[str | int, ...], str]] = []
        kpi = self.kpi_definition
        bounds = {"share": (0.0, 1.0), "score": (-100.0, 100.0)}.get(kpi.unit)
        if bounds is None and kpi.unit in ("count", "currency"):
            bounds = (0.0, math.inf)
        for field in ("baseline", "target"):
            value = getattr(self, field)
            if bounds and not bounds[0] <= value <= bounds[1]:
                hint = " (write shares as fractions: 0.38, not 38)" if kpi.unit == "share" else ""
                faults.append(
                    (
                        (field,),
                        f"{_show(value)} is outside {_num(bounds[0])}..{_num(bounds[1])} for "
                        f"{kpi.name} (unit {kpi.unit}){hint}",
                    )
                )
        if not faults and not kpi.better(self.target, self.baseline):
            faults.append(
                (
                    ("target",),
                    f"{_show(self.target)} is worse than the baseline {_show(self.baseline)} for "
                    f"{kpi.name} ({kpi.direction} is better)",
                )
            )
        if faults:
            raise _faults(faults)
        return self

    @property
    def kpi_definition(self) -> KPI:
        """The catalogue definition of :attr:`kpi`."""
        return get_kpi(self.kpi)

    @property
    def direction(self) -> str:
        """``"higher"`` or ``"lower"``: which way is better for this objective's KPI."""
        return self.kpi_definition.direction

    def achieved(self, value: float) -> bool:
        """Return True when a measured ``value`` meets the target (in the KPI's direction).

        Parameters
        ----------
        value
            The measured KPI value.

        Returns
        -------
        bool
            Whether the target is met.
        """
        return self.kpi_definition.better(value, self.target)

    def progress(self, value: float) -> float:
        """Share of the planned change (baseline -> target) achieved by ``value``.

        Parameters
        ----------
        value
            The measured KPI value.

        Returns
        -------
        float
            ``(value - baseline) / (target - baseline)``: 1.0 when the target is exactly met,
            above 1 when beaten, NaN when the target equals the baseline.
        """
        planned = self.target - self.baseline
        return (value - self.baseline) / planned if planned else math.nan


class Swot(_Model):
    """Analyst-written opportunities and threats (strengths and weaknesses come from data)."""

    opportunities: list[Text] = Field(default_factory=list)
    threats: list[Text] = Field(default_factory=list)


# ---- columns: mapping a user's export onto the data dictionary -----------------------
TRANSFORMS: dict[str, str] = {
    "epoch_seconds": "seconds since 1970-01-01 (UTC) -> ISO timestamp",
    "epoch_millis": "milliseconds since 1970-01-01 (UTC) -> ISO timestamp",
    "epoch_micros": "microseconds since 1970-01-01 (UTC; GA4 event_timestamp) -> ISO timestamp",
    "yyyymmdd": "compact date 20250314 (GA4 event_date) -> 2025-03-14",
    "micros": "amount in millionths (Google Ads cost_micros) -> amount",
    "lowercase": "text -> lower case, surrounding spaces removed",
}
"""Value transforms of ``columns.<table>.transforms`` (name -> what it does)."""

_RULE_PART = re.compile(r"^\s*([^=&]+?)\s*=\s*([^&]*?)\s*$")


def _when(value: Any) -> Any:
    # "utm_source=google & utm_medium=cpc" is shorthand for {utm_source: google, utm_medium: cpc}
    if isinstance(value, str):
        parts = [part for part in value.split("&")]
        out: dict[str, str] = {}
        for part in parts:
            match = _RULE_PART.match(part)
            if not match:
                raise _fault(
                    f"{_show(value)}: cannot read {_show(part.strip())}; write conditions as "
                    "'column=value & column=value'"
                )
            out[match.group(1)] = match.group(2)
        return out
    return value


def _rule_values(value: Any) -> Any:
    if isinstance(value, (str, int, float)) and not isinstance(value, bool):
        return [str(value)]
    if isinstance(value, list):
        return [_scalar_text(v) for v in value]
    return value


RuleValues = Annotated[list[str], BeforeValidator(_rule_values)]


class ChannelRule(_Model):
    """One channel rule: when every named source column has one of its values, the channel."""

    when: Annotated[dict[str, RuleValues], BeforeValidator(_when)] = Field(min_length=1)
    channel: Channel


class ChannelRules(_Model):
    """Derive ``channel`` from source columns (e.g. utm source/medium); first match wins."""

    rules: list[ChannelRule] = Field(min_length=1)
    default: Channel | None = None


FUNNEL_KINDS: tuple[str, ...] = (*INTERACTIONS, "order")
"""Event kinds a funnel step may name: the touch interactions and ``order``."""


def _funnel_kind(value: str) -> str:
    if value not in FUNNEL_KINDS:
        raise _fault(
            f"{_show(value)} is not an event kind{closest_match_hint(value, FUNNEL_KINDS)}; "
            f"kinds: {', '.join(FUNNEL_KINDS)}"
        )
    return value


class FunnelStep(_Model):
    """A step of the analyst's funnel: the customer's next event of these kinds/channels.

    An event matches when its kind is one of ``kinds`` (all kinds when empty) and, for a
    touch, its channel is one of ``channels`` (all channels when empty); an order has no
    channel, so a step with ``channels`` matches touches only.
    """

    name: Text
    kinds: list[Annotated[str, AfterValidator(_funnel_kind)]] = Field(default_factory=list)
    channels: list[Channel] = Field(default_factory=list)

    @model_validator(mode="after")
    def _check(self) -> FunnelStep:
        if not self.kinds and not self.channels:
            raise _faults([(("kinds",), "a funnel step needs kinds or channels (or both)")])
        if self.channels and self.kinds == ["order"]:
            raise _faults(
                [(("channels",), "orders have no channel: drop channels or add touch kinds")]
            )
        return self


DEFAULT_FUNNEL: tuple[FunnelStep, ...] = (
    FunnelStep(name="reached", kinds=["impression", "click", "open", "visit"]),
    FunnelStep(name="engaged", kinds=["click", "open"]),
    FunnelStep(name="visited", kinds=["visit"]),
    FunnelStep(name="ordered", kinds=["order"]),
    FunnelStep(name="ordered again", kinds=["order"]),
)
"""The funnel when the plan declares none: reached, engaged, visited, ordered, again."""


class TableColumns(_Model):
    r"""How one table of the user's export maps onto the data dictionary (see ``data/README.md``).

    ``rename`` maps imclab column -> the user's column; ``transforms`` imclab column -> a
    :data:`TRANSFORMS` name; ``values`` imclab column -> {user value: imclab value};
    ``constants`` fills a column the export lacks; ``row_ids`` makes a key column from a
    prefix and the data row number; ``channel`` derives the channel from rules.

    How the file is written (``imclab validate`` sniffs these and proposes the lines):
    ``delimiter`` (``","`` default, ``";"``, ``"\t"`` or ``tab``, ``"|"``), ``decimal``
    (``"."`` default or ``","``: numbers such as ``1.234,50``), ``date_format`` (a strftime
    pattern for dates and timestamps that are not ISO 8601, e.g. ``"%d/%m/%Y %H:%M"``),
    ``encoding`` (``utf-8`` default; e.g. ``cp1252`` or ``latin-1`` for older Excel exports)
    and ``duplicates`` (``drop``, the default: a row that repeats an earlier row of the file
    exactly is quarantined as a duplicate, also when ``row_ids`` numbers the rows; ``keep``).
    """

    file: str | None = None
    delimiter: str | None = None
    decimal: Literal[".", ","] | None = None
    date_format: str | None = None
    encoding: str | None = None
    duplicates: Literal["drop", "keep"] = "drop"
    rename: dict[str, Text] = Field(default_factory=dict)
    transforms: dict[str, str] = Field(default_factory=dict)
    values: dict[str, dict[str, str]] = Field(default_factory=dict)
    constants: dict[str, TraitValue] = Field(default_factory=dict)
    row_ids: dict[str, str] = Field(default_factory=dict)
    channel: ChannelRules | None = None


class ColumnsSpec(_Model):
    """The plan's ``columns:`` section: one :class:`TableColumns` per table to map."""

    model_config = ConfigDict(extra="allow", frozen=True)

    @model_validator(mode="before")
    @classmethod
    def _check_tables(cls, data: Any) -> Any:
        from imclab.data.schemas import TABLES

        if not isinstance(data, Mapping):
            raise _fault(f"expected a mapping of table -> columns, found {_show(data)}")
        unknown = [str(k) for k in data if k not in TABLES]
        if unknown:
            raise _faults(
                [
                    (
                        (k,),
                        f"{k!r} is not a table{closest_match_hint(k, TABLES)}; tables: "
                        f"{', '.join(TABLES)}",
                    )
                    for k in unknown
                ]
            )
        faults: list[tuple[tuple[str | int, ...], str]] = []
        out: dict[str, TableColumns] = {}
        for table, spec in data.items():
            try:
                out[table] = TableColumns.model_validate(spec if spec is not None else {})
            except ValidationError as exc:
                faults += [((table, *loc), msg) for loc, msg in _error_faults(exc, TableColumns)]
                continue
            faults += [((table, *loc), msg) for loc, msg in _table_faults(table, out[table])]
        if faults:
            raise _faults(faults)
        return out

    @property
    def tables(self) -> dict[str, TableColumns]:
        """``{table: TableColumns}`` of the mapped tables, in plan order."""
        return dict(self.__pydantic_extra__ or {})


DELIMITER_ALIASES = {"tab": "\t", "\\t": "\t", "comma": ",", "semicolon": ";", "pipe": "|"}
"""Names a plan may give a delimiter instead of the character itself."""


def resolve_delimiter(value: str | None) -> str:
    """Return the one-character delimiter of a ``columns.<table>.delimiter`` (default ``,``)."""
    if value is None:
        return ","
    return DELIMITER_ALIASES.get(value.strip().lower(), value)


def _format_faults(spec: TableColumns) -> list[tuple[tuple[str | int, ...], str]]:
    """Check the file-format options of a table mapping (delimiter, encoding, date format)."""
    import codecs

    faults: list[tuple[tuple[str | int, ...], str]] = []
    if spec.delimiter is not None:
        delim = resolve_delimiter(spec.delimiter)
        if len(delim) != 1 or delim in '"\r\n':
            faults.append(
                (
                    ("delimiter",),
                    f"{spec.delimiter!r} is not a one-character delimiter; use ',', ';', "
                    "'\\t' (or tab) or '|'",
                )
            )
        elif spec.decimal == "," and delim == ",":
            faults.append((("decimal",), "decimal ',' needs another delimiter than ','"))
    if spec.encoding is not None:
        try:
            codecs.lookup(spec.encoding)
        except LookupError:
            faults.append(
                (
                    ("encoding",),
                    f"{spec.encoding!r} is not a text encoding Python knows; e.g. utf-8, "
                    "cp1252, latin-1, utf-16",
                )
            )
    if spec.date_format is not None:
        fmt = spec.date_format
        if not any(code in fmt for code in ("%d", "%m", "%Y", "%y", "%b", "%B")):
            faults.append(
                (
                    ("date_format",),
                    f"{fmt!r} is not a strftime date pattern; e.g. '%d/%m/%Y' or '%d.%m.%Y %H:%M'",
                )
            )
    for column, mapping in spec.values.items():
        seen: dict[str, tuple[str, str]] = {}
        for label, value in mapping.items():
            key = str(label).strip().lower()
            if key in seen and seen[key][1] != value:
                faults.append(
                    (
                        ("values", column, label),
                        f"{label!r} and {seen[key][0]!r} are the same label (values are "
                        f"compared trimmed and case-blind) but map to {value!r} and "
                        f"{seen[key][1]!r}; keep one",
                    )
                )
            seen.setdefault(key, (str(label), value))
    return faults


def _table_faults(table: str, spec: TableColumns) -> list[tuple[tuple[str | int, ...], str]]:
    """Check a table mapping against the table's columns (names, transforms, conflicts)."""
    from imclab.data.schemas import SCHEMAS

    columns = list(SCHEMAS[table].columns)
    faults: list[tuple[tuple[str | int, ...], str]] = []
    for field in ("rename", "transforms", "values", "constants", "row_ids"):
        for name in getattr(spec, field):
            if name not in columns:
                faults.append(
                    (
                        (field, name),
                        f"{name!r} is not a column of {table}{closest_match_hint(name, columns)}; "
                        f"columns: {', '.join(columns)}",
                    )
                )
    for name, transform in spec.transforms.items():
        if transform not in TRANSFORMS:
            faults.append(
                (
                    ("transforms", name),
                    f"{transform!r} is not a transform{closest_match_hint(transform, TRANSFORMS)}; "
                    f"transforms: {', '.join(TRANSFORMS)}",
                )
            )
    sources = {
        "rename": set(spec.rename),
        "constants": set(spec.constants),
        "row_ids": set(spec.row_ids),
        "channel": {"channel"} if spec.channel is not None else set(),
    }
    names = list(sources)
    for i, first in enumerate(names):
        for second in names[i + 1 :]:
            for name in sorted(sources[first] & sources[second]):
                faults.append(
                    (
                        (second, name) if second != "channel" else ("channel",),
                        f"{name!r} is set by both {first} and {second}; keep one",
                    )
                )
    if spec.channel is not None and "channel" not in columns:
        faults.append((("channel",), f"table {table} has no channel column"))
    for name, mapping in spec.values.items():
        if name == "channel":
            for label, channel in mapping.items():
                if channel not in CHANNELS:
                    faults.append(
                        (
                            ("values", "channel", label),
                            f"{channel!r} is not a channel{closest_match_hint(channel, CHANNELS)}; "
                            f"channels: {', '.join(CHANNELS)}",
                        )
                    )
    faults += _format_faults(spec)
    if spec.file is not None and (
        "/" in spec.file or "\\" in spec.file or not spec.file.endswith((".csv", ".parquet"))
    ):
        faults.append(
            (
                ("file",),
                f"{spec.file!r}: expected a file name in the data folder ending in .csv or "
                ".parquet (no folders)",
            )
        )
    return faults


class Settings(_Model):
    """Campaign settings that shape several analyses (the plan's ``settings:`` section).

    Every field left out takes the one default derived from the plan itself (never from a
    data set); :meth:`CampaignPlan.resolved_settings` gives the values every notebook uses.
    """

    review_date: IsoDate | None = None
    measurement_window_days: int = Field(
        default=MEASUREMENT_WINDOW_DAYS, ge=0, le=POST_CAMPAIGN_WINDOW_DAYS
    )
    baseline_start: IsoDate | None = None
    baseline_end: IsoDate | None = None
    lookback_days: int = Field(default=LOOKBACK_DAYS, ge=1, le=365)
    navigational_channels: list[Channel] = Field(
        default_factory=lambda: list(NAVIGATIONAL_CHANNELS)
    )
    next_budget: Amount | None = None
    bound_multiples: tuple[Number, Number] = BOUND_MULTIPLES

    @model_validator(mode="after")
    def _check(self) -> Settings:
        faults: list[tuple[tuple[str | int, ...], str]] = []
        low, high = self.bound_multiples
        if not 0 <= low <= 1 <= high:
            faults.append(
                (
                    ("bound_multiples",),
                    f"[{_num(low)}, {_num(high)}] must be [low, high] with 0 <= low <= 1 <= high "
                    "(multiples of each channel's actual spend, scaled to the next budget)",
                )
            )
        if self.next_budget is not None and self.next_budget <= 0:
            faults.append((("next_budget",), "must be more than 0"))
        if (
            self.baseline_start is not None
            and self.baseline_end is not None
            and self.baseline_start > self.baseline_end
        ):
            faults.append(
                (
                    ("baseline_start",),
                    f"{_show(self.baseline_start)} is after baseline_end "
                    f"{_show(self.baseline_end)}",
                )
            )
        for i, channel in _duplicates(self.navigational_channels):
            faults.append((("navigational_channels", i), f"{channel!r} is listed twice"))
        if faults:
            raise _faults(faults)
        return self


SETTING_NAMES: tuple[str, ...] = (
    "review_date",
    "baseline_start",
    "baseline_end",
    "lookback_days",
    "navigational_channels",
    "channel_groups",
    "next_budget",
    "bound_multiples",
)
"""Resolved campaign settings; a notebook parameter of one of these names receives it."""


@dataclasses.dataclass(frozen=True)
class ResolvedSettings:
    """The campaign settings every notebook of a run uses (see :data:`SETTING_NAMES`).

    ``review_date`` is also the run's as-of day: rows after it are not analysed.
    """

    review_date: dt.date
    baseline_start: dt.date
    baseline_end: dt.date
    lookback_days: int
    navigational_channels: tuple[str, ...]
    channel_groups: Mapping[str, str]
    next_budget: float
    bound_multiples: tuple[float, float]

    def as_params(self) -> dict[str, Any]:
        """Return the settings as notebook parameters (dates as ISO text, lists, a dict)."""
        return {
            "review_date": self.review_date.isoformat(),
            "baseline_start": self.baseline_start.isoformat(),
            "baseline_end": self.baseline_end.isoformat(),
            "lookback_days": int(self.lookback_days),
            "navigational_channels": list(self.navigational_channels),
            "channel_groups": dict(self.channel_groups),
            "next_budget": float(self.next_budget),
            "bound_multiples": [float(v) for v in self.bound_multiples],
        }


def _given(value: Any) -> bool:
    # A notebook parameter left at its empty default ("", 0, [], {}, None) means "the plan's".
    if value is None or isinstance(value, bool):
        return value is not None
    if isinstance(value, (str, list, tuple, dict, int, float)):
        return bool(value)
    return True


class CampaignPlan(_Model):
    """A validated campaign plan; see ``campaigns/README.md`` for the YAML format."""

    name: Slug
    title: Text
    brand: Text
    competitors: list[Text] = Field(default_factory=list)
    start: IsoDate
    end: IsoDate
    currency: Currency
    phases: list[Phase] = Field(min_length=1)
    budget: Budget
    target_personas: list[Persona] = Field(default_factory=list)
    message_house: MessageHouse
    objectives: list[Objective] = Field(min_length=1)
    holdout_regions: list[Region] = Field(default_factory=list)
    channel_groups: dict[Channel, Text] = Field(default_factory=dict)
    settings: Settings = Field(default_factory=Settings)
    swot: Swot = Field(default_factory=Swot)
    notebook_params: dict[Slug, dict[str, Any]] = Field(default_factory=dict)
    engine: Literal["duckdb", "spark"] = "duckdb"
    columns: ColumnsSpec | None = None
    funnel: list[FunnelStep] = Field(default_factory=list)

    @model_validator(mode="after")
    def _check(self) -> CampaignPlan:
        faults: list[tuple[tuple[str | int, ...], str]] = []
        faults += self._check_dates()
        faults += self._check_budget()
        faults += self._check_objectives()
        faults += self._check_names()
        faults += self._check_settings()
        if faults:
            raise _faults(faults)
        return self

    def _check_dates(self) -> list[tuple[tuple[str | int, ...], str]]:
        faults: list[tuple[tuple[str | int, ...], str]] = []
        if self.start > self.end:
            faults.append(
                (("start",), f"{_show(self.start)} is after the campaign end {_show(self.end)}")
            )
            return faults  # every other date check depends on a valid campaign period
        for i, phase in enumerate(self.phases):
            if phase.start < self.start:
                faults.append(
                    (
                        ("phases", i, "start"),
                        f"{_show(phase.start)} is before the campaign start {_show(self.start)}",
                    )
                )
            if phase.end > self.end:
                faults.append(
                    (
                        ("phases", i, "end"),
                        f"{_show(phase.end)} is after the campaign end {_show(self.end)}",
                    )
                )
            if i > 0:
                prev = self.phases[i - 1]
                if phase.start < prev.start:
                    faults.append(
                        (
                            ("phases", i, "start"),
                            f"{_show(phase.start)} is before the start of the previous phase "
                            f"{prev.name!r} ({_show(prev.start)}); list phases in date order",
                        )
                    )
                elif phase.start <= prev.end:
                    faults.append(
                        (
                            ("phases", i, "start"),
                            f"{_show(phase.start)} overlaps phase {prev.name!r} "
                            f"({_show(prev.start)}..{_show(prev.end)})",
                        )
                    )
        latest = self.measurement_end
        for i, objective in enumerate(self.objectives):
            if objective.deadline < self.start:
                faults.append(
                    (
                        ("objectives", i, "deadline"),
                        f"{_show(objective.deadline)} is before the campaign start "
                        f"{_show(self.start)}",
                    )
                )
            elif objective.deadline > latest:
                faults.append(
                    (
                        ("objectives", i, "deadline"),
                        f"{_show(objective.deadline)} is after the campaign end {_show(self.end)} "
                        f"plus the {POST_CAMPAIGN_WINDOW_DAYS}-day measurement window "
                        f"(latest {_show(latest)})",
                    )
                )
        return faults

    def _check_budget(self) -> list[tuple[tuple[str | int, ...], str]]:
        faults: list[tuple[tuple[str | int, ...], str]] = []
        planned: dict[str, float] = {}
        for phase in self.phases:
            for channel, amount in phase.budget.items():
                planned[channel] = planned.get(channel, 0.0) + amount
        for channel in sorted(set(planned) | set(self.budget.by_channel), key=CHANNELS.index):
            in_phases = planned.get(channel, 0.0)
            allotted = self.budget.by_channel.get(channel)
            if allotted is None:
                faults.append(
                    (
                        ("budget", "by_channel"),
                        f"{channel!r} has {_num(in_phases)} in phase budgets but no entry here",
                    )
                )
            elif abs(in_phases - allotted) > _TOLERANCE:
                faults.append(
                    (
                        ("budget", "by_channel", channel),
                        f"{channel} is budgeted {_num(allotted)} here but its phase budgets sum "
                        f"to {_num(in_phases)} (difference {_num(in_phases - allotted)})",
                    )
                )
        return faults

    def _check_objectives(self) -> list[tuple[tuple[str | int, ...], str]]:
        faults: list[tuple[tuple[str | int, ...], str]] = []
        personas = [p.name for p in self.target_personas]
        for i, objective in enumerate(self.objectives):
            if objective.persona is not None and objective.persona not in personas:
                faults.append(
                    (
                        ("objectives", i, "persona"),
                        f"{objective.persona!r} is not one of target_personas"
                        f"{closest_match_hint(objective.persona, personas)}; "
                        f"personas: {', '.join(personas) or '(none defined)'}",
                    )
                )
            if objective.channel is not None and objective.channel not in self.channels:
                faults.append(
                    (
                        ("objectives", i, "channel"),
                        f"{objective.channel!r} is not used in any phase "
                        f"(campaign channels: {', '.join(self.channels)})",
                    )
                )
        return faults

    def _check_names(self) -> list[tuple[tuple[str | int, ...], str]]:
        faults: list[tuple[tuple[str | int, ...], str]] = []
        lists = (
            ("phases", "name", [p.name for p in self.phases]),
            ("objectives", "id", [o.id for o in self.objectives]),
            ("target_personas", "name", [p.name for p in self.target_personas]),
        )
        for field, key, values in lists:
            for i, value in _duplicates(values):
                faults.append(((field, i, key), f"{value!r} is used twice"))
        for i, value in _duplicates(self.competitors):
            faults.append((("competitors", i), f"{value!r} is listed twice"))
        if self.brand in self.competitors:
            i = self.competitors.index(self.brand)
            faults.append((("competitors", i), f"{self.brand!r} is our own brand"))
        for i, value in _duplicates(self.holdout_regions):
            faults.append((("holdout_regions", i), f"{value!r} is listed twice"))
        if set(self.holdout_regions) == set(REGIONS):
            faults.append((("holdout_regions",), "every region is held out: nothing is exposed"))
        for notebook, params in self.notebook_params.items():
            for param in params:
                if not str(param).isidentifier():
                    faults.append(
                        (
                            ("notebook_params", notebook, param),
                            f"{param!r} is not a valid parameter name (a Python identifier)",
                        )
                    )
        return faults

    def _check_settings(self) -> list[tuple[tuple[str | int, ...], str]]:
        faults: list[tuple[tuple[str | int, ...], str]] = []
        st = self.settings
        if st.review_date is not None and st.review_date < self.start:
            faults.append(
                (
                    ("settings", "review_date"),
                    f"{_show(st.review_date)} is before the campaign start {_show(self.start)}",
                )
            )
        if st.baseline_end is not None and st.baseline_end >= self.start:
            faults.append(
                (
                    ("settings", "baseline_end"),
                    f"{_show(st.baseline_end)} is not before the campaign start "
                    f"{_show(self.start)}: the baseline is the period before the campaign",
                )
            )
        if st.baseline_start is not None and st.baseline_start >= self.start:
            faults.append(
                (
                    ("settings", "baseline_start"),
                    f"{_show(st.baseline_start)} is not before the campaign start "
                    f"{_show(self.start)}",
                )
            )
        return faults

    def resolved_settings(self, **overrides: Any) -> ResolvedSettings:
        """Return the campaign settings, each from ``overrides``, the plan or its default.

        Defaults (derived from the plan, never from data): ``review_date`` = campaign end +
        ``settings.measurement_window_days``; the baseline is the period of the campaign's
        length just before its start (``baseline_end`` = the day before the start);
        ``lookback_days`` = :data:`imclab.config.LOOKBACK_DAYS`; ``navigational_channels`` =
        :data:`imclab.config.NAVIGATIONAL_CHANNELS`; ``channel_groups`` = the plan's;
        ``next_budget`` = ``budget.total``; ``bound_multiples`` =
        :data:`imclab.config.BOUND_MULTIPLES`.

        Parameters
        ----------
        **overrides
            Notebook parameters named as in :data:`SETTING_NAMES`; an empty value (``""``,
            ``0``, ``[]``, ``{}``, None) means "the plan's" and is ignored.

        Returns
        -------
        ResolvedSettings
            The values every analysis of the run uses.

        Raises
        ------
        ParameterError
            An unknown name or a value that is not valid (the message names the parameter).
        """
        unknown = sorted(set(overrides) - set(SETTING_NAMES))
        if unknown:
            raise ParameterError(
                f"campaign settings: unknown name(s) {', '.join(unknown)}; "
                f"settings: {', '.join(SETTING_NAMES)}"
            )
        given = {k: v for k, v in overrides.items() if _given(v)}
        groups = given.pop("channel_groups", None)
        st = self.settings
        if given:
            try:
                st = Settings.model_validate({**st.model_dump(exclude_unset=True), **given})
            except ValidationError as exc:
                faults = [f"{format_yaml_path(tuple(e['loc']))}: {e['msg']}" for e in exc.errors()]
                raise ParameterError(
                    "notebook parameter(s) overriding the plan's settings: " + "; ".join(faults)
                ) from None
        baseline_end = st.baseline_end or self.start - dt.timedelta(days=1)
        baseline_start = st.baseline_start or baseline_end - dt.timedelta(days=self.days - 1)
        return ResolvedSettings(
            review_date=st.review_date or self.end + dt.timedelta(days=st.measurement_window_days),
            baseline_start=min(baseline_start, baseline_end),
            baseline_end=baseline_end,
            lookback_days=int(st.lookback_days),
            navigational_channels=tuple(st.navigational_channels),
            channel_groups=types.MappingProxyType(dict(groups or self.channel_groups)),
            next_budget=float(st.next_budget if st.next_budget is not None else self.budget.total),
            bound_multiples=(float(st.bound_multiples[0]), float(st.bound_multiples[1])),
        )

    # ---- helpers for notebooks and the scorecard ------------------------------------
    @property
    def funnel_steps(self) -> tuple[FunnelStep, ...]:
        """The plan's ``funnel`` steps, or :data:`DEFAULT_FUNNEL` when it declares none."""
        return tuple(self.funnel) or DEFAULT_FUNNEL

    @property
    def days(self) -> int:
        """Length of the campaign in days (both ends included)."""
        return (self.end - self.start).days + 1

    @property
    def measurement_end(self) -> dt.date:
        """Last day an objective may be measured: the end plus the post-campaign window."""
        return self.end + dt.timedelta(days=POST_CAMPAIGN_WINDOW_DAYS)

    @property
    def channels(self) -> tuple[str, ...]:
        """Every channel used in any phase, in canonical channel order."""
        used = {channel for phase in self.phases for channel in phase.channels}
        return tuple(c for c in CHANNELS if c in used)

    @property
    def paid_channels(self) -> tuple[str, ...]:
        """Channels with a budget, in canonical channel order."""
        return tuple(c for c in CHANNELS if c in self.budget.by_channel)

    @property
    def brands(self) -> tuple[str, ...]:
        """Our brand followed by the competitors (the survey's brands)."""
        return (self.brand, *self.competitors)

    def in_campaign(self, day: dt.date | str) -> bool:
        """Return True when ``day`` falls between the campaign start and end (inclusive)."""
        return self.start <= _to_date(day) <= self.end

    def phase_of(self, day: dt.date | str) -> Phase | None:
        """Return the phase that contains ``day``, or None (outside the campaign or in a gap).

        Parameters
        ----------
        day
            A date, datetime, pandas Timestamp or ISO date string.

        Returns
        -------
        Phase or None
            The containing phase.
        """
        when = _to_date(day)
        return next((phase for phase in self.phases if phase.contains(when)), None)

    def phase(self, name: str) -> Phase:
        """Return the phase called ``name`` (ParameterError with a suggestion otherwise)."""
        return _lookup({p.name: p for p in self.phases}, name, "phase")

    def objective(self, objective_id: str) -> Objective:
        """Return the objective with id ``objective_id`` (ParameterError otherwise)."""
        return _lookup({o.id: o for o in self.objectives}, objective_id, "objective")

    def persona(self, name: str) -> Persona:
        """Return the target persona called ``name`` (ParameterError otherwise)."""
        return _lookup({p.name: p for p in self.target_personas}, name, "target persona")

    def phases_frame(self) -> pd.DataFrame:
        """Return one row per phase: ``phase, start, end, days, channels, budget``.

        Returns
        -------
        pandas.DataFrame
            Phases in plan order; ``channels`` is a comma-separated string, ``budget`` the
            phase's total media budget.
        """
        return pd.DataFrame(
            [
                {
                    "phase": p.name,
                    "start": pd.Timestamp(p.start),
                    "end": pd.Timestamp(p.end),
                    "days": p.days,
                    "channels": ", ".join(c for c in CHANNELS if c in p.channels),
                    "budget": float(sum(p.budget.values())),
                }
                for p in self.phases
            ],
            columns=["phase", "start", "end", "days", "channels", "budget"],
        )

    def budget_frame(self) -> pd.DataFrame:
        """Return the planned budget in long form: ``phase, channel, budget``.

        Returns
        -------
        pandas.DataFrame
            One row per phase and budgeted channel, in plan then channel order.
        """
        rows = [
            {"phase": p.name, "channel": c, "budget": float(p.budget[c])}
            for p in self.phases
            for c in CHANNELS
            if c in p.budget
        ]
        return pd.DataFrame(rows, columns=["phase", "channel", "budget"])

    def objectives_frame(self) -> pd.DataFrame:
        """Return one row per objective with its KPI definition's tier, unit and direction.

        Returns
        -------
        pandas.DataFrame
            Columns ``id, kpi, label, tier, unit, direction, baseline, target, deadline,
            funnel_stage, persona, channel, description``.
        """
        rows = []
        for o in self.objectives:
            kpi = o.kpi_definition
            rows.append(
                {
                    "id": o.id,
                    "kpi": o.kpi,
                    "label": kpi.label,
                    "tier": kpi.tier,
                    "unit": kpi.unit,
                    "direction": kpi.direction,
                    "baseline": o.baseline,
                    "target": o.target,
                    "deadline": pd.Timestamp(o.deadline),
                    "funnel_stage": o.funnel_stage,
                    "persona": o.persona,
                    "channel": o.channel,
                    "description": o.description,
                }
            )
        return pd.DataFrame(rows, columns=list(rows[0]))


def _lookup(items: dict[str, Any], name: str, what: str) -> Any:
    if name in items:
        return items[name]
    raise ParameterError(
        f"no {what} {name!r} in the plan{closest_match_hint(name, items)}; "
        f"{what}s: {', '.join(items) or '(none)'}"
    )


# --------------------------------------------------------------------------------------
# Error formatting
# --------------------------------------------------------------------------------------
def format_yaml_path(loc: tuple[str | int, ...]) -> str:
    """Format a pydantic error location as a YAML path such as ``objectives[2].deadline``.

    Parameters
    ----------
    loc
        The location tuple (keys and list indices).

    Returns
    -------
    str
        The path; keys that are not plain words are quoted (``traits['age group']``).
    """
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part == "[key]":
            continue
        elif _PLAIN_KEY.fullmatch(str(part)):
            out += f".{part}" if out else str(part)
        else:
            out += f"[{str(part)!r}]"
    return out


def _unwrap(tp: Any) -> Any:
    """Strip Annotated and Optional from a type annotation."""
    while True:
        origin = typing.get_origin(tp)
        if origin is Annotated:
            tp = typing.get_args(tp)[0]
        elif origin in (typing.Union, types.UnionType):
            args = [a for a in typing.get_args(tp) if a is not type(None)]
            tp = args[0]
        else:
            return tp


def _model_at(
    loc: tuple[str | int, ...], root: type[BaseModel] | None = None
) -> type[BaseModel] | None:
    """Return the model class found at ``loc`` inside ``root`` (a CampaignPlan), if any."""
    tp: Any = root or CampaignPlan
    for part in loc:
        tp = _unwrap(tp)
        origin = typing.get_origin(tp)
        if isinstance(tp, type) and issubclass(tp, BaseModel):
            if not isinstance(part, str) or part not in tp.model_fields:
                return None
            tp = tp.model_fields[part].annotation
        elif origin is list:
            tp = typing.get_args(tp)[0]
        elif origin is dict:
            tp = typing.get_args(tp)[1]
        else:
            return None
    tp = _unwrap(tp)
    return tp if isinstance(tp, type) and issubclass(tp, BaseModel) else None


def _error_faults(
    exc: ValidationError, root: type[BaseModel] | None = None
) -> list[tuple[tuple[str | int, ...], str]]:
    """Turn pydantic errors into ``(loc, message)`` faults in the user's language.

    ``root`` is the model validated (default :class:`CampaignPlan`), for unknown-key hints.
    """
    faults: list[tuple[tuple[str | int, ...], str]] = []
    for err in exc.errors(include_url=False):
        loc = tuple(err["loc"])
        kind = err["type"]
        ctx = err.get("ctx") or {}
        if kind == "plan_faults":
            faults.extend((loc + tuple(rel), msg) for rel, msg in ctx["faults"])
        elif kind == "plan":
            faults.append((loc, ctx["message"]))
        elif kind == "extra_forbidden":
            model = _model_at(loc[:-1], root)
            valid = list(model.model_fields) if model else []
            faults.append(
                (
                    loc,
                    f"unknown key {str(loc[-1])!r}{closest_match_hint(loc[-1], valid)}; "
                    f"valid keys here: {', '.join(valid)}",
                )
            )
        elif kind == "missing":
            faults.append((loc, "required key is missing"))
        elif kind in ("model_type", "model_attributes_type") and not loc:
            faults.append(
                (loc, f"a plan must be a YAML mapping (key: value), found {_show(err['input'])}")
            )
        else:
            faults.append((loc, f"{err['msg']} (found {_show(err['input'])})"))
    return faults


# --------------------------------------------------------------------------------------
# YAML reading
# --------------------------------------------------------------------------------------
class _PlanLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` that keeps dates as text, so bad dates get a YAML path."""


_PlanLoader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _inspect_nodes(root: yaml.Node, source: str) -> None:
    """Refuse alias bombs and recursive aliases; report duplicate keys (YAML keeps the last)."""
    sizes: dict[int, int] = {}
    active: set[int] = set()
    duplicates: list[tuple[str, str]] = []

    def size(node: yaml.Node, path: tuple[str | int, ...]) -> int:
        key = id(node)
        if key in sizes:
            return sizes[key]
        if key in active:
            raise PlanError(
                f"{source}: {format_yaml_path(path) or 'document'}: recursive alias "
                f"(line {node.start_mark.line + 1}); plans cannot refer to themselves"
            )
        active.add(key)
        total = 1
        if isinstance(node, yaml.SequenceNode):
            for i, child in enumerate(node.value):
                total += size(child, (*path, i))
        elif isinstance(node, yaml.MappingNode):
            seen: set[str] = set()
            for key_node, value_node in node.value:
                name = key_node.value if isinstance(key_node, yaml.ScalarNode) else None
                if name is not None and name != "<<":
                    if name in seen:
                        duplicates.append(
                            (
                                format_yaml_path((*path, name)),
                                f"key {name!r} appears twice (line "
                                f"{key_node.start_mark.line + 1}); YAML would keep only the last",
                            )
                        )
                    seen.add(name)
                total += size(key_node, path) + size(value_node, (*path, name or "?"))
        if total > MAX_YAML_NODES:
            raise PlanError(
                f"{source}: refused: aliases expand the document to more than "
                f"{MAX_YAML_NODES:,} values (an alias bomb such as 'billion laughs'?); "
                "write the plan out without nested aliases"
            )
        active.discard(key)
        sizes[key] = total
        return total

    size(root, ())
    if duplicates:
        raise PlanValidationError(source, duplicates)


def _read_yaml(text: str, source: str) -> tuple[Any, yaml.Node | None]:
    """Parse YAML safely; return the data and the node tree (for line numbers)."""
    try:
        # the reader rejects control characters already while the loader is built
        loader = _PlanLoader(text)
    except yaml.YAMLError as exc:
        raise PlanError(f"{source}: not valid YAML: {exc}") from None
    try:
        node = loader.get_single_node()
        if node is None:
            return None, None
        _inspect_nodes(node, source)
        return loader.construct_document(node), node
    except yaml.YAMLError as exc:
        raise PlanError(f"{source}: not valid YAML: {exc}") from None
    except RecursionError:
        raise PlanError(f"{source}: refused: the YAML is nested too deeply") from None
    finally:
        loader.dispose()


def _line_of(root: yaml.Node | None, loc: tuple[str | int, ...]) -> int | None:
    """Return the 1-based line of the deepest node of ``loc`` found in the YAML tree."""
    if root is None:
        return None
    node = root
    for part in loc:
        nxt = None
        if isinstance(node, yaml.MappingNode) and isinstance(part, str):
            nxt = next((v for k, v in node.value if getattr(k, "value", None) == part), None)
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            nxt = node.value[part] if 0 <= part < len(node.value) else None
        if nxt is None:
            break
        node = nxt
    return node.start_mark.line + 1


def _validate(data: Any, source: str, root: yaml.Node | None = None) -> CampaignPlan:
    try:
        return CampaignPlan.model_validate(data)
    except ValidationError as exc:
        faults = []
        for loc, msg in _error_faults(exc):
            line = _line_of(root, loc)
            faults.append((format_yaml_path(loc), f"{msg} (line {line})" if line else msg))
        raise PlanValidationError(source, faults) from None


def parse_plan(mapping: Mapping[str, Any], source: str = "<string>") -> CampaignPlan:
    """Validate an already-parsed plan (a mapping as ``yaml.safe_load`` returns it).

    Parameters
    ----------
    mapping
        The plan's keys and values; dates may be ``datetime.date`` or ISO strings.
    source
        Name used at the start of every error line.

    Returns
    -------
    CampaignPlan
        The validated plan.

    Raises
    ------
    PlanValidationError
        Listing every fault with its YAML path.
    """
    return _validate(mapping, source)


def plan_path(plan: str | Path) -> Path:
    """Resolve a plan file path or a bare campaign name (``spring_launch``) to a path.

    Parameters
    ----------
    plan
        A path to a YAML file, or the name of a plan in ``campaigns/``.

    Returns
    -------
    Path
        The path (not checked for existence).
    """
    from imclab.config import project_dir

    text = str(plan)
    if isinstance(plan, str) and _SLUG.fullmatch(text) and not Path(text).exists():
        own = project_dir() / "campaigns" / f"{text}.yaml"  # the analyst's project first
        return own if own.is_file() else CAMPAIGNS_DIR / f"{text}.yaml"
    return Path(plan)


def load_plan(path: str | Path) -> CampaignPlan:
    """Read and validate a campaign plan YAML file.

    Parameters
    ----------
    path
        The plan file, or a campaign name resolved in ``campaigns/`` (see :func:`plan_path`).

    Returns
    -------
    CampaignPlan
        The validated plan.

    Raises
    ------
    PlanError
        When the file is missing, over 1 MB, not UTF-8, not YAML, an alias bomb, or
        invalid (then a :class:`PlanValidationError` listing every fault with its YAML path).
    """
    file = plan_path(path)
    source = str(path) if Path(str(path)) == file else str(file)
    if not file.is_file():
        available = sorted(p.name for p in CAMPAIGNS_DIR.glob("*.yaml"))
        raise PlanError(
            f"{source}: no such plan file; plans in {CAMPAIGNS_DIR}: "
            f"{', '.join(available) or '(none)'}"
        )
    size = file.stat().st_size
    if size > MAX_PLAN_BYTES:
        raise PlanError(
            f"{source}: refused: the file is {size:,} bytes, over the {MAX_PLAN_BYTES:,}-byte limit"
        )
    try:
        text = file.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise PlanError(f"{source}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    data, root = _read_yaml(text, source)
    return _validate(_history_baselines(data, file, source), source, root)


_HISTORY_REF = re.compile(r"history:([a-z0-9][a-z0-9_-]*)\.([a-z_]+)")


def _history_baselines(data: Any, file: Path, source: str) -> Any:
    """Replace ``baseline: history:<campaign>.<kpi>`` by the number the run history holds."""
    from imclab.config import project_dir
    from imclab.report.history import lookup

    objectives = data.get("objectives") if isinstance(data, Mapping) else None
    if not isinstance(objectives, list):
        return data
    reports = project_dir(file) / "reports"
    faults: list[tuple[str, str]] = []
    resolved = []
    for i, objective in enumerate(objectives):
        ref = objective.get("baseline") if isinstance(objective, Mapping) else None
        if not (isinstance(ref, str) and ref.strip().startswith("history:")):
            resolved.append(objective)
            continue
        match = _HISTORY_REF.fullmatch(ref.strip())
        where = f"objectives[{i}].baseline"
        if match is None:
            faults.append((where, f"{ref!r}: expected history:<campaign>.<kpi>, e.g. "
                                  "history:spring_launch.roas"))  # fmt: skip
            continue
        try:
            value = lookup(reports, match.group(1), match.group(2))
        except PlanError as exc:
            faults.append((where, str(exc)))
            continue
        resolved.append({**objective, "baseline": value, "baseline_from": ref.strip()})
    if faults:
        raise PlanValidationError(source, faults)
    return {**data, "objectives": resolved}


def split_cents(amount: float, weights: np.ndarray) -> np.ndarray:
    """Split ``amount`` by ``weights`` into whole cents that add up to it exactly.

    Largest remainders get the left-over cents (ties in order), so every share is within a
    cent of ``amount * weight / sum(weights)``.
    """
    cents = int(round(amount * 100))
    raw = cents * weights / weights.sum()
    out = np.floor(raw).astype(np.int64)
    order = np.argsort(-(raw - out), kind="stable")
    out[order[: cents - int(out.sum())]] += 1
    return out / 100.0
