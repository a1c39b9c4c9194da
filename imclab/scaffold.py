"""``imclab init``: a commented campaign plan template and empty CSV templates for a user's data.

The plan template is valid as written (example values to replace); the CSV templates carry the
header row of each table of the data dictionary (taken from the pandera schemas).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from pathlib import Path

from imclab.config import project_dir
from imclab.data.schemas import OPTIONAL_TABLES, SCHEMAS, TABLES
from imclab.errors import ParameterError

__all__ = ["InitResult", "csv_header", "init_campaign", "plan_template"]

_MAX_NAME = 64

PLAN_TEMPLATE = """\
# Campaign plan for {name}. Replace the example values below with your campaign's.
# Format and rules: campaigns/README.md. Check it with:
#   imclab validate {data_dir} --campaign {plan_file}
# Dates are YYYY-MM-DD; amounts are plain numbers in `currency`; channel ids are those of
# data/README.md: paid_search, seo, social, edm, display, content, affiliate, tv, direct
# (paid ones: paid_search, social, edm, display, affiliate, tv).

# The name is the report folder (reports/{name}/) and must equal the `campaign` column of
# touchpoints.csv and spend.csv for the campaign's rows.
name: {name}
title: {title}                   # shown on the report's index page
brand: Our Brand                 # as it appears in survey.csv's `brand` column
competitors: [Competitor A]      # other brands in survey.csv (may be [])
start: 2025-03-03                # first day of the campaign
end: 2025-05-25                  # last day of the campaign
currency: EUR                    # ISO 4217 code of every amount

# Phases in date order, inside start..end, not overlapping. A phase's budget may only name
# its own paid channels; the phase budgets of a channel must add up to budget.by_channel.
phases:
  - name: launch
    start: 2025-03-03
    end: 2025-04-13
    channels: [paid_search, social, edm, seo]
    budget: {{paid_search: 6000, social: 8000, edm: 1000}}
  - name: sustain
    start: 2025-04-14
    end: 2025-05-25
    channels: [paid_search, social, seo]
    budget: {{paid_search: 5000, social: 5000}}

budget:
  total: 25000                   # = the sum of by_channel
  by_channel: {{paid_search: 11000, social: 13000, edm: 1000}}

# Who the campaign is for; traits use customers.csv columns (age as "18-29" or "45+").
target_personas:
  - name: young urban shoppers
    description: Under-30 city dwellers who shop on their phones.
    traits: {{age: "18-29", city_tier: tier1, device: mobile}}

# The message house: one core message, its pillars and the proofs behind them.
message_house:
  core_message: One sentence that says why to choose us
  pillars:
    - first reason to believe
    - second reason to believe
  proof_points:
    - a fact that proves the first pillar

# SMART objectives: a KPI of the catalogue (imclab/config.py, KPIS), its baseline, target and
# deadline (at most 60 days after `end`). Shares are fractions: 0.38, not 38.
objectives:
  - id: campaign_revenue
    kpi: revenue
    description: Take revenue in the campaign weeks from 100,000 to 130,000
    baseline: 100000
    target: 130000
    deadline: 2025-05-25
  - id: awareness_lift
    kpi: awareness
    description: Lift aided awareness from 30% to 35%
    baseline: 0.30
    target: 0.35
    deadline: 2025-06-15
    persona: young urban shoppers

holdout_regions: []              # regions kept dark to measure the lift (e.g. [west])
channel_groups: {{}}               # attribute channels as groups, e.g. {{display: paid media}}

# Settings shared by several analyses. Every one may be left out: its default is derived from
# this plan (campaigns/README.md, "Settings"). A notebook parameter still overrides one.
settings: {{}}
# settings:                      # uncomment a line to change a default (shown: what it means)
#   review_date: 2025-06-29      # day of the review and the run's as-of day (default: `end`
#                                # plus measurement_window_days)
#   measurement_window_days: 35  # days from `end` to the default review date
#   baseline_start: 2024-12-09   # default: as many days as the campaign, just before `start`
#   baseline_end: 2025-03-02     # default: the day before `start`
#   lookback_days: 30            # an order is credited to touches this many days before it
#   navigational_channels: [direct]  # channels that only navigate to an order
#   next_budget: 60000           # budget the optimiser allocates (default: budget.total)
#   bound_multiples: [0.5, 2.0]  # optimiser: each channel within these x its actual spend,
#                                # the actual mix first scaled to next_budget

swot:                            # the analyst's half of the SWOT (data gives S and W)
  opportunities: []
  threats: []

# per-notebook parameters, e.g. {{03_channel_attribution: {{bootstrap_samples: 200}}}}
notebook_params: {{}}
engine: duckdb                   # duckdb, or spark for very large event logs

# Your exports use other column names or channel labels? Map them here instead of editing
# the files (README "Use your own data"). Example for a GA4 BigQuery export flattened to CSV:
# columns:
#   touchpoints:
#     file: ga4_events.csv                  # your file in the data folder
#     rename: {{timestamp: event_timestamp, customer_id: user_pseudo_id, interaction: event_name}}
#     # transforms: epoch_seconds, epoch_millis, epoch_micros, yyyymmdd, micros, lowercase
#     transforms: {{timestamp: epoch_micros}}
#     values:
#       interaction: {{page_view: visit, session_start: visit, click: click}}
#     constants: {{campaign: {name}, cost: 0}}
#     row_ids: {{event_id: ga4-}}             # event_id = prefix + the row number in your file
#     channel:                              # first matching rule wins; values compare case-blind
#       rules:
#         - when: traffic_source.source=google & traffic_source.medium=cpc
#           channel: paid_search
#         - when: {{traffic_source.medium: organic}}
#           channel: seo
#         - when: {{traffic_source.medium: email}}
#           channel: edm
#       default: direct
"""


def _check_name(name: str) -> str:
    from imclab.plan import _SLUG

    if not _SLUG.fullmatch(name) or len(name) > _MAX_NAME:
        raise ParameterError(
            f"campaign name {name!r} is not a safe name: use 1-{_MAX_NAME} lowercase letters, "
            "digits, '_' and '-', starting with a letter or digit (e.g. summer_sale_2025)"
        )
    return name


def _display(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def plan_template(name: str, data_dir: str = "data/NAME", plan_file: str = "") -> str:
    """Return the commented plan template for campaign ``name`` (valid YAML, a valid plan).

    Parameters
    ----------
    name
        Campaign name (a slug: lowercase letters, digits, ``_`` and ``-``).
    data_dir, plan_file
        Paths shown in the template's ``imclab validate`` hint.

    Returns
    -------
    str
        The YAML text.
    """
    _check_name(name)
    title = name.replace("_", " ").replace("-", " ").title()
    return PLAN_TEMPLATE.format(
        name=name,
        title=title,
        data_dir=data_dir,
        plan_file=plan_file or f"campaigns/{name}.yaml",
    )


def csv_header(table: str) -> str:
    """Return the header line (with newline) of a table's CSV file, from its pandera schema.

    Parameters
    ----------
    table
        A table of the data dictionary (``touchpoints``).

    Returns
    -------
    str
        E.g. ``order_id,customer_id,timestamp,revenue`` and a newline.
    """
    if table not in SCHEMAS:
        raise ParameterError(f"unknown table {table!r}; tables: {', '.join(TABLES)}")
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerow(list(SCHEMAS[table].columns))
    return buffer.getvalue()


@dataclass
class InitResult:
    """What :func:`init_campaign` wrote.

    Attributes
    ----------
    plan_file
        The plan template written.
    data_dir
        The data folder.
    written, kept
        CSV templates written, and existing files left untouched.
    guide
        The short guide printed by ``imclab init`` (next commands).
    """

    plan_file: Path
    data_dir: Path
    written: list[Path] = field(default_factory=list)
    kept: list[Path] = field(default_factory=list)
    guide: str = ""


def init_campaign(
    name: str, data_dir: str | Path | None = None, campaigns_dir: str | Path | None = None
) -> InitResult:
    """Write ``campaigns/NAME.yaml`` and empty CSV templates into the data folder.

    Parameters
    ----------
    name
        Campaign name (validated like a plan's ``name``).
    data_dir
        Folder for the CSV templates (created); default ``data/NAME`` in the project.
    campaigns_dir
        Folder of the plan; default the project's ``campaigns/``.

    Returns
    -------
    InitResult
        The files written and the guide text.

    Raises
    ------
    ParameterError
        The name is not a safe name, or the plan file already exists (never overwritten).
    """
    _check_name(name)
    project = project_dir()
    campaigns = Path(campaigns_dir) if campaigns_dir is not None else project / "campaigns"
    data = Path(data_dir) if data_dir is not None else project / "data" / name
    plan_file = campaigns / f"{name}.yaml"
    if plan_file.exists():
        raise ParameterError(
            f"{_display(plan_file)} already exists; imclab init never overwrites a plan "
            "(choose another name or edit that file)"
        )
    if data.exists() and not data.is_dir():
        raise ParameterError(f"{_display(data)} exists and is not a folder")
    campaigns.mkdir(parents=True, exist_ok=True)
    data.mkdir(parents=True, exist_ok=True)
    shown_data, shown_plan = _display(data), _display(plan_file)
    with plan_file.open("x", encoding="utf-8") as handle:  # "x": fail rather than overwrite
        handle.write(plan_template(name, shown_data, shown_plan))
    result = InitResult(plan_file=plan_file, data_dir=data)
    for table in TABLES:
        existing = [data / f"{table}.{ext}" for ext in ("csv", "parquet")]
        found = [p for p in existing if p.exists()]
        if found:
            result.kept.extend(found)
            continue
        target = data / f"{table}.csv"
        target.write_text(csv_header(table), encoding="utf-8")
        result.written.append(target)
    optional = ", ".join(f"{t}.csv" for t in OPTIONAL_TABLES)
    lines = [
        f"Wrote {shown_plan} (a commented plan template: replace the example values).",
        f"CSV templates in {shown_data}/: "
        + (", ".join(p.name for p in result.written) or "(none: the files exist)")
        + (f"; kept your existing {', '.join(p.name for p in result.kept)}" if result.kept else ""),
        "",
        "Next steps:",
        f"  1. Fill the CSV files in {shown_data}/ with your exports (columns and rules: "
        f"data/README.md; {optional} are optional: delete them if you have none),",
        "     or keep your own file and column names and map them in the plan's columns: section.",
        f"  2. Edit {shown_plan}: dates, phases, budget, personas, message house, objectives.",
        f"  3. Check data and plan:  imclab validate {shown_data} --campaign {shown_plan}",
        f"  4. Build the report:     imclab run {shown_plan} --data {shown_data}",
        "  5. Explore interactively: make lab",
    ]
    result.guide = "\n".join(lines)
    return result
