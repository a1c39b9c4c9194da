"""The report landing page: a post-mortem a manager can read without opening a notebook.

Campaign and dates, KPI tiles (objectives met, ROI, ROAS, CAC, incremental lift), lessons
learned, links to each notebook's page, then the plan's details and every headline number.
Every piece of text that comes from a plan, the data or a notebook's headlines is escaped
with `html.escape` (attributes too); the page is self-contained and carries no timestamp.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from html import escape
from pathlib import Path
from typing import Any, Literal
from urllib.parse import quote

from imclab.report.headlines import Headline, format_headline, headline, read_headlines

Status = Literal["ok", "skipped", "failed", "not run"]
STATUSES: tuple[str, ...] = ("ok", "skipped", "failed", "not run")

REVIEW_SECTION = "review"
"""Headline section whose numbers fill the KPI tiles and the lessons list."""

TILE_KEYS: frozenset[str] = frozenset(
    {
        "objectives_met",
        "objectives_total",
        "roi",
        "roas",
        "cac",
        "incremental_lift",
        "incremental_roi",
        "incremental_roas",
        "lessons",
    }
)
"""Review headlines shown as tiles or lessons (not repeated in the detail section)."""

SECTION_TITLES: dict[str, str] = {
    "data_audit": "Data audit",
    "situation": "Situation analysis",
    "personas": "Personas",
    "attribution": "Channel attribution",
    "marketing_mix": "Marketing-mix model",
    "review": "Post-campaign review",
    "planning": "Next campaign",
}
"""Headline sections in suite order, with the titles the page shows."""

SECTION_NOTEBOOKS: dict[str, str] = {
    "data_audit": "data_audit",
    "situation": "situation_analysis",
    "personas": "persona_clustering",
    "attribution": "channel_attribution",
    "marketing_mix": "marketing_mix",
    "review": "post_campaign_review",
    "planning": "plan_next_campaign",
}
"""Headline section to the notebook (name without its number) that records it."""

NOTEBOOK_SUMMARIES: dict[str, str] = {
    "data_audit": "Can the data be trusted? Rows loaded and quarantined, coverage, gaps.",
    "situation_analysis": "Where we started (SOSTAC S): sales, share of voice, brand funnel, SWOT.",
    "persona_clustering": "Who we reached: customer segments as persona cards.",
    "channel_attribution": "Which touchpoints earned the conversions: heuristic, Markov, Shapley.",
    "post_campaign_review": "Did it work? Objectives scorecard, ROI, holdout lift, lessons.",
    "marketing_mix": "What did the money cause? ROAS with intervals, holdout-calibrated, budget.",
    "channel_integration": "Do the channels work together? Overlap, frequency, synergy, funnel.",
    "plan_next_campaign": "What next? SMART targets with their odds, channel and phase split.",
}
"""What each suite notebook answers (by name without its number), for the notebook list."""


@dataclass(frozen=True)
class NotebookEntry:
    """One notebook's line on the index page.

    Attributes
    ----------
    name
        Notebook stem, e.g. ``"00_data_audit"``.
    status
        ``"ok"``, ``"skipped"`` (the data lacks what its analysis needs: ``message`` says
        what), ``"failed"`` or ``"not run"``.
    html
        File name of its HTML page inside the report folder, or None when there is none.
    message
        Failure summary shown under a failed notebook; why a skipped one was skipped.
    """

    name: str
    status: Status
    html: str | None = None
    message: str = ""


_CSS = """
:root { --ink: #1f2933; --muted: #52606d; --line: #d9e2ec; --tile: #f5f7fa;
        --ok: #18794e; --failed: #b42318; --skipped: #6b7280; --accent: #1e5aa8; }
* { box-sizing: border-box; }
body { font-family: system-ui, -apple-system, "Segoe UI", "PingFang SC", "Microsoft YaHei",
       "Noto Sans CJK SC", sans-serif; color: var(--ink); margin: 0 auto; max-width: 72rem;
       padding: 1.5rem 2rem 3rem; line-height: 1.45; }
h1 { font-size: 1.8rem; margin: 0 0 .25rem; }
h2 { font-size: 1.25rem; margin: 2rem 0 .75rem; border-bottom: 2px solid var(--line);
     padding-bottom: .25rem; }
h3 { font-size: 1rem; margin: 1.25rem 0 .5rem; color: var(--muted); }
.subtitle { color: var(--muted); margin: 0 0 1rem; }
.banner { padding: .6rem 1rem; border-radius: .4rem; margin: 1rem 0; font-weight: 600; }
.banner.ok { background: #e6f4ea; color: var(--ok); }
.banner.failed { background: #fdecea; color: var(--failed); }
.banner.partial { background: #f3f4f6; color: var(--skipped); }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: .25rem 1.25rem;
           margin: 0; }
dl.facts dt { color: var(--muted); }
dl.facts dd { margin: 0; }
table { border-collapse: collapse; width: 100%; margin: .25rem 0 1rem; font-size: .95rem; }
th, td { text-align: left; padding: .35rem .6rem; border-bottom: 1px solid var(--line);
         vertical-align: top; }
th { background: var(--tile); font-weight: 600; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
.tiles { display: grid; grid-template-columns: repeat(auto-fill, minmax(11rem, 1fr));
         gap: .75rem; }
.tile { background: var(--tile); border: 1px solid var(--line); border-radius: .5rem;
        padding: .75rem .9rem; }
.tile.wide { grid-column: 1 / -1; }
.tile .value { font-size: 1.35rem; font-weight: 650; font-variant-numeric: tabular-nums;
               overflow-wrap: break-word; }
.tile .label { color: var(--muted); font-size: .85rem; overflow-wrap: normal; }
#history tr.this td { font-weight: 650; }
.status { display: inline-block; padding: .05rem .55rem; border-radius: 1rem;
          font-size: .85rem; font-weight: 600; color: #fff; }
span.status-ok { background: var(--ok); }
span.status-failed { background: var(--failed); }
span.status-not-run, span.status-skipped { background: var(--skipped); }
p.skip-note { margin: .35rem 0 0; color: var(--muted); font-size: .9rem; }
tr.status-failed td { background: #fffafa; }
pre.failure { white-space: pre-wrap; background: #fdecea; padding: .5rem .75rem;
              border-radius: .3rem; font-size: .85rem; margin: .35rem 0 0; }
.tile.kpi { border-top: 4px solid var(--line); }
.tile.kpi.good { border-top-color: var(--ok); }
.tile.kpi.warn { border-top-color: #b7791f; }
.tile.kpi.bad { border-top-color: var(--failed); }
.tile.kpi .value { font-size: 1.6rem; }
.tile.kpi.span2 { grid-column: span 2; }
.tile.kpi.missing .value { color: var(--skipped); }
.tile .note { color: var(--muted); font-size: .8rem; margin-top: .3rem; }
.kpis { grid-template-columns: repeat(auto-fill, minmax(13rem, 1fr)); }
nav.contents { display: flex; flex-wrap: wrap; gap: .35rem 1.1rem; font-size: .9rem;
               margin: .5rem 0 0; }
ol.lessons { padding-left: 1.4rem; margin: 0; }
ol.lessons li { margin: .35rem 0; }
.severity { display: inline-block; min-width: 4.2rem; text-align: center; padding: 0 .4rem;
            border-radius: .3rem; font-size: .75rem; font-weight: 700; text-transform: uppercase;
            color: #fff; background: var(--skipped); }
.severity-high { background: var(--failed); }
.severity-medium { background: #b7791f; }
a { color: var(--accent); }
.empty { color: var(--muted); font-style: italic; }
footer { margin-top: 2.5rem; color: var(--muted); font-size: .85rem; }
@media print {
  body { max-width: none; padding: 0; font-size: 10.5pt; }
  a { color: inherit; text-decoration: none; }
  .tile, table, tr, section { break-inside: avoid; }
  nav.contents { display: none; }
  .banner, .tile, th, .status, .severity { -webkit-print-color-adjust: exact;
                                           print-color-adjust: exact; }
  .tiles.kpis { grid-template-columns: repeat(3, 1fr); }
  h2 { break-after: avoid; }
}
"""


def render_index(
    plan: Any,
    notebooks: Sequence[NotebookEntry],
    headlines: Mapping[str, Mapping[str, Any]] | None = None,
    details: Mapping[str, str] | None = None,
    history: Any = None,
) -> str:
    """Render the report's ``index.html``.

    Parameters
    ----------
    plan
        The campaign plan (`imclab.plan.CampaignPlan`): title, name, brand, start, end,
        currency, budget, objectives are shown.
    notebooks
        Every notebook of the suite with its status, in run order.
    headlines
        Section name to headline mapping (see `imclab.report.headlines.read_headlines`).
    details
        Extra "how this report was made" facts (label to text), e.g. plan file and data
        folder, shown as given (escaped).
    history
        The run history (:func:`imclab.report.history.read_history`): with earlier
        campaigns in it, the page compares this campaign with them.

    Returns
    -------
    str
        A self-contained HTML5 document (inline CSS, no scripts, no timestamp).

    Notes
    -----
    The KPI tiles read the ``review`` section (keys of
    `imclab.review.lessons.review_headlines`): ``objectives_met``, ``objectives_total``,
    ``roi``, ``roas`` (catalogue KPIs: all revenue in the window, organic orders included,
    over campaign media; labelled so), ``cac``, ``incremental_lift`` (``estimate``,
    ``ci_low``, ``ci_high``, optional ``unit``, ``relative`` and ``level``),
    ``incremental_roas`` and ``incremental_roi`` (holdout incremental revenue over campaign
    media, same keys; one tile) and ``lessons``. A tile
    whose number is absent (``--only`` run, failed notebook) says why instead of showing
    a number. Each tile carries ``data-headline`` (the key) and, when a number is shown,
    ``data-value`` (the recorded value as JSON) so tests can check what is displayed.
    """
    title = _text(getattr(plan, "title", None) or plan.name)
    headlines = headlines or {}
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{title} · post-campaign report</title>",
        f"<style>{_CSS}</style>",
        "</head>",
        "<body>",
        "<header>",
        f"<h1>{title}</h1>",
        f'<p class="subtitle">{_subtitle(plan)}</p>',
        _banner(notebooks),
        _CONTENTS,
        "</header>",
        "<main>",
        _results_section(plan, headlines, notebooks),
        _lessons_section(headlines, notebooks),
        _history_section(plan, history),
        _notebooks_section(notebooks),
        _campaign_section(plan, details or {}),
        _objectives_section(plan),
        _headlines_section(_detail_headlines(headlines), getattr(plan, "currency", "") or ""),
        "</main>",
        "<footer>Generated by imclab run. Each notebook page holds the full analysis;"
        " this page collects its headline numbers.</footer>",
        "</body>",
        "</html>",
    ]
    return "\n".join(parts) + "\n"


def write_index(
    plan: Any,
    notebooks: Sequence[NotebookEntry],
    report_dir: str | Path,
    details: Mapping[str, str] | None = None,
    history: Any = None,
) -> Path:
    """Write ``report_dir/index.html`` with the headlines recorded in ``report_dir``.

    Parameters
    ----------
    plan, notebooks, details, history
        See `render_index`.
    report_dir
        The report folder; its ``headlines/*.json`` files are read.

    Returns
    -------
    Path
        The written ``index.html``.
    """
    path = Path(report_dir) / "index.html"
    page = render_index(plan, notebooks, read_headlines(report_dir), details, history)
    path.write_text(page, encoding="utf-8")
    return path


# ----------------------------------------------------------------------------------------
# Sections
# ----------------------------------------------------------------------------------------
def _subtitle(plan: Any) -> str:
    bits = [
        _text(getattr(plan, "brand", "")),
        f"<code>{_text(plan.name)}</code>",
        f"{_text(_fmt(getattr(plan, 'start', None)))} – {_text(_fmt(getattr(plan, 'end', None)))}",
    ]
    return " · ".join(b for b in bits if b)


def _banner(notebooks: Sequence[NotebookEntry]) -> str:
    failed = [nb.name for nb in notebooks if nb.status == "failed"]
    not_run = [nb.name for nb in notebooks if nb.status == "not run"]
    if failed:
        return (
            f'<div class="banner failed">Incomplete report: notebook {_text(", ".join(failed))}'
            " failed; later notebooks were not run.</div>"
        )
    if not_run:
        return (
            '<div class="banner partial">Partial report: '
            f"{len(notebooks) - len(not_run)} of {len(notebooks)} notebooks were run.</div>"
        )
    skipped = [nb.name for nb in notebooks if nb.status == "skipped"]
    if skipped:
        return (
            f'<div class="banner ok">Complete report: {len(notebooks) - len(skipped)} of '
            f"{len(notebooks)} notebooks ran; {_text(', '.join(skipped))} skipped (the data "
            "lacks what they analyse: their lines below say what to add).</div>"
        )
    return f'<div class="banner ok">Complete report: all {len(notebooks)} notebooks ran.</div>'


_CONTENTS = (
    '<nav class="contents" aria-label="Contents"><a href="#results">Results</a>'
    '<a href="#lessons">Lessons learned</a><a href="#history">Earlier campaigns</a>'
    '<a href="#notebooks">Notebook reports</a>'
    '<a href="#campaign">Campaign</a><a href="#objectives">Objectives</a>'
    '<a href="#headlines">All headline numbers</a></nav>'
)


def _history_section(plan: Any, history: Any) -> str:
    """Show this campaign beside the earlier ones of the run history (same KPI definitions)."""
    from imclab.report.history import compare_campaigns

    head = '<section id="history">\n<h2>Earlier campaigns</h2>\n'
    if history is None or len(history) == 0 or set(history["campaign"]) <= {plan.name}:
        return (
            head + '<p class="empty">No earlier campaign in the run history yet: each complete '
            "imclab run stores its numbers in reports/history.parquet, and the next campaign's "
            "report compares itself with them here.</p>\n</section>"
        )
    table = compare_campaigns(history)
    shown = [c for c in table.columns if c not in ("campaign", "title", "start", "end", "currency")]
    units = {"budget": "currency", "roi": "ratio", "roas": "ratio", "cac": "currency",
             "conversions": "count"}  # fmt: skip
    labels = {"budget": "Budget", "objectives met": "Objectives met", "roi": "ROI",
              "roas": "ROAS", "cac": "Cost per new customer",
              "conversions": "Orders in the campaign period"}  # fmt: skip
    header = "".join(f'<th class="num">{_text(labels.get(c, c))}</th>' for c in shown)
    rows = []
    for record in table.to_dict("records"):
        cells = "".join(
            f'<td class="num">'
            f"{_text(format_headline(record[c], units.get(c, 'text'), record['currency']))}</td>"  # type: ignore[arg-type]
            for c in shown
        )
        mark = ' class="this"' if record["campaign"] == plan.name else ""
        rows.append(
            f"<tr{mark}><td>{_text(record['title'])}</td>"
            f"<td>{_text(record['start'])} – {_text(record['end'])}</td>{cells}</tr>"
        )
    return (
        head + "<p>KPIs of every campaign in the run history, measured with the same "
        "definitions; this campaign in bold.</p>\n<table>\n<thead><tr><th>Campaign</th>"
        f"<th>Dates</th>{header}</tr></thead>\n<tbody>\n"
        + "\n".join(rows)
        + "\n</tbody>\n</table>\n</section>"
    )


def _short_name(stem: str) -> str:
    head, _, tail = stem.partition("_")
    return tail if head.isdigit() and tail else stem


def _section_title(section: Any) -> str:
    return SECTION_TITLES.get(str(section), _label(section))


def _why_missing(section: str, notebooks: Sequence[NotebookEntry]) -> str:
    """Say why a section's headlines are absent: its notebook was not run, failed, or is silent."""
    short = SECTION_NOTEBOOKS.get(section, section)
    entry = next((nb for nb in notebooks if _short_name(nb.name) == short), None)
    if entry is None:
        return f"no {short} notebook in this report"
    if entry.status == "not run":
        return f"{entry.name} was not run for this report"
    if entry.status == "failed":
        return f"{entry.name} failed before recording it"
    if entry.status == "skipped":
        return f"{entry.name} was skipped (its page says what the data lacks)"
    return f"{entry.name} did not record it"


def _json_attr(value: Any) -> str:
    return _attr(json.dumps(value, sort_keys=True, ensure_ascii=False, default=str))


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float, Decimal)):
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def _signed(value: float) -> str:
    return ("+" if value > 0 else "") + _fmt(value)


def _kpi_tile(
    key: str, label: str, value: str | None, note: str, recorded: Any = None, tone: str = ""
) -> str:
    """One KPI tile; ``value`` None renders the "not available" tile with ``note`` as reason."""
    if value is None:
        return (
            f'<div class="tile kpi missing" data-headline="{_attr(key)}">'
            f'<div class="value">—</div><div class="label">{_text(label)}</div>'
            f'<div class="note">Not available: {_text(note)}.</div></div>'
        )
    css = f"tile kpi {tone}".strip()
    return (
        f'<div class="{css}" data-headline="{_attr(key)}" data-value="{_json_attr(recorded)}">'
        f'<div class="value">{_text(value)}</div><div class="label">{_text(label)}</div>'
        f'<div class="note">{_text(note)}</div></div>'
    )


def _kpi_label(name: str, fallback: str) -> str:
    try:
        from imclab.config import get_kpi

        return get_kpi(name).label
    except Exception:  # noqa: BLE001 - an unknown KPI only loses its long label
        return fallback


def _results_section(
    plan: Any, headlines: Mapping[str, Any], notebooks: Sequence[NotebookEntry]
) -> str:
    review = headlines.get(REVIEW_SECTION)
    review = review if isinstance(review, Mapping) else {}
    why = _why_missing(REVIEW_SECTION, notebooks)
    reviewed = REVIEW_SECTION in headlines
    currency = getattr(plan, "currency", "") or ""
    tiles = []

    met, total = review.get("objectives_met"), review.get("objectives_total")
    planned = len(list(getattr(plan, "objectives", None) or []))
    if isinstance(met, int) and isinstance(total, int) and not isinstance(met, bool):
        tone = "good" if met == total else ("bad" if met == 0 else "warn")
        tiles.append(
            _kpi_tile(
                "objectives",
                "Objectives met",
                f"{met} of {total}",
                f"{total - met} missed or not scorable" if met < total else "every objective met",
                {"objectives_met": met, "objectives_total": total},
                tone,
            )
        )
    else:
        tiles.append(_kpi_tile("objectives", "Objectives met", None, f"{why} ({planned} planned)"))

    roi = _number(review.get("roi"))
    tiles.append(
        _kpi_tile(
            "roi",
            "ROI (all revenue / campaign media)",
            None if roi is None else _fmt(roi),
            why
            if roi is None
            else f"(all revenue − cost) / cost: {roi:+.0%} net return on campaign media spend, "
            "organic orders included (not incremental)",
            review.get("roi"),
            "" if roi is None else ("good" if roi > 0 else "bad"),
        )
    )
    roas = _number(review.get("roas"))
    tiles.append(
        _kpi_tile(
            "roas",
            "ROAS (all revenue / campaign media)",
            None if roas is None else f"{_fmt(roas)}×",
            why
            if roas is None
            else "all revenue in the window per unit of campaign media spend, organic orders "
            "included (not incremental)",
            review.get("roas"),
        )
    )
    tiles.append(
        _incremental_tile(
            review.get("incremental_roas"), review.get("incremental_roi"), why, reviewed
        )
    )
    cac = _number(review.get("cac"))
    tiles.append(
        _kpi_tile(
            "cac",
            _kpi_label("cac", "CAC"),
            None if cac is None else _money(cac, currency),
            why if cac is None else "campaign media spend per new customer",
            review.get("cac"),
        )
    )
    if reviewed and not isinstance(review.get("incremental_lift"), Mapping):
        why = (
            "the review compared no holdout regions (its Incrementality section says why)"
            if getattr(plan, "holdout_regions", None)
            else "the plan lists no holdout regions to compare with"
        )
    tiles.append(_lift_tile(review.get("incremental_lift"), why))
    return (
        '<section id="results">\n<h2>Results at a glance</h2>\n<div class="tiles kpis">\n'
        + "\n".join(tiles)
        + "\n</div>\n</section>"
    )


def _incremental_tile(roas: Any, roi: Any, why: str, reviewed: bool) -> str:
    """Incremental ROAS from the holdout (revenue the campaign caused / its media spend)."""
    label = "Incremental ROAS (holdout)"
    if not isinstance(roas, Mapping):
        reason = (
            "no holdout estimate, campaign spend or order value to compute it from"
            if reviewed
            else why
        )
        return _kpi_tile("incremental_roas", label, None, reason)
    estimate = _number(roas.get("estimate"))
    if estimate is None:
        return _kpi_tile("incremental_roas", label, None, "the holdout estimate is undefined")
    low, high = _number(roas.get("ci_low")), _number(roas.get("ci_high"))
    level = _number(roas.get("level"))
    interval = f"{level:.0%} CI" if level is not None else "confidence interval"
    bits = []
    if low is not None and high is not None:
        bits.append(f"{interval} {_fmt(low)}× to {_fmt(high)}×")
    roi_est = _number(roi.get("estimate")) if isinstance(roi, Mapping) else None
    if roi_est is not None:
        bits.append(f"incremental ROI {roi_est:+.0%}")
    if roas.get("unit"):
        bits.append(str(roas["unit"]))
    tone = "warn"
    if low is not None and high is not None:
        tone = "good" if low > 1 else ("bad" if high < 1 else "warn")
    return _kpi_tile(
        "incremental_roas", label, f"{_fmt(estimate)}×", "; ".join(bits), dict(roas), tone
    )


def _lift_tile(lift: Any, why: str) -> str:
    label = "Incremental lift (holdout regions)"
    if not isinstance(lift, Mapping):
        return _kpi_tile("incremental_lift", label, None, why)
    estimate = _number(lift.get("estimate"))
    if estimate is None:
        return _kpi_tile("incremental_lift", label, None, "the holdout estimate is undefined")
    low, high = _number(lift.get("ci_low")), _number(lift.get("ci_high"))
    level = _number(lift.get("level"))
    interval = f"{level:.0%} CI" if level is not None else "confidence interval"
    bits = []
    if low is not None and high is not None:
        bits.append(f"{interval} {_fmt(low)} to {_fmt(high)}")
    relative = _number(lift.get("relative"))
    if relative is not None:
        bits.append(f"{relative:+.1%} relative to the holdout")
    if lift.get("unit"):
        bits.append(str(lift["unit"]))
    significant = low is not None and high is not None and (low > 0 or high < 0)
    tone = ("good" if estimate > 0 else "bad") if significant else "warn"
    return _kpi_tile(
        "incremental_lift", label, _signed(estimate), "; ".join(bits), dict(lift), f"{tone} span2"
    )


_LESSON = re.compile(r"^\[(?P<severity>high|medium|low)\]\s*(?P<text>.*)$", re.S)


def _lessons_section(headlines: Mapping[str, Any], notebooks: Sequence[NotebookEntry]) -> str:
    review = headlines.get(REVIEW_SECTION)
    lessons = review.get("lessons") if isinstance(review, Mapping) else None
    html = ['<section id="lessons">', "<h2>Lessons learned</h2>"]
    if lessons is None:
        why = _why_missing(REVIEW_SECTION, notebooks)
        html.append(f'<p class="empty">No lessons in this report: {_text(why)}.</p>')
    elif not lessons:
        html.append('<p class="empty">The review found nothing to flag.</p>')
    else:
        items = []
        for lesson in lessons if isinstance(lessons, (list, tuple)) else [lessons]:
            if isinstance(lesson, Mapping):
                severity = str(lesson.get("severity", ""))
                text = str(lesson.get("finding", "") or _fmt(lesson))
            else:
                match = _LESSON.match(str(lesson))
                severity, text = (match["severity"], match["text"]) if match else ("", str(lesson))
            badge = (
                f'<span class="severity severity-{_attr(severity)}">{_text(severity)}</span> '
                if severity in ("high", "medium", "low")
                else ""
            )
            items.append(
                f'<li class="lesson">{badge}<span class="finding">{_text(text)}</span></li>'
            )
        html.append('<ol class="lessons">\n' + "\n".join(items) + "\n</ol>")
    html.append("</section>")
    return "\n".join(html)


def _detail_headlines(headlines: Mapping[str, Any]) -> dict[str, Any]:
    """Headlines for the detail section: suite order, without what the tiles already show."""
    order = {name: i for i, name in enumerate(SECTION_TITLES)}
    out: dict[str, Any] = {}
    for section in sorted(headlines, key=lambda s: (order.get(str(s), len(order)), str(s))):
        values = headlines[section]
        if section == REVIEW_SECTION and isinstance(values, Mapping):
            values = {k: v for k, v in values.items() if k not in TILE_KEYS}
            if not values:
                continue
        out[section] = values
    return out


def _campaign_section(plan: Any, details: Mapping[str, str]) -> str:
    currency = getattr(plan, "currency", "") or ""
    budget = getattr(plan, "budget", None)
    total = getattr(budget, "total", None)
    facts = {
        "Campaign": getattr(plan, "title", None) or plan.name,
        "Plan name": plan.name,
        "Brand": getattr(plan, "brand", ""),
        "Period": f"{_fmt(getattr(plan, 'start', None))} to {_fmt(getattr(plan, 'end', None))}",
        "Total budget": _money(total, currency),
        **details,
    }
    rows = "\n".join(f"<dt>{_text(k)}</dt><dd>{_text(v)}</dd>" for k, v in facts.items())
    html = [f'<section id="campaign">\n<h2>Campaign</h2>\n<dl class="facts">\n{rows}\n</dl>']
    by_channel = dict(getattr(budget, "by_channel", None) or {})
    if by_channel:
        body = []
        for channel, amount in by_channel.items():
            share = _share(amount, total)
            body.append(
                f"<tr><td>{_text(_channel_label(channel))}</td>"
                f'<td class="num">{_text(_money(amount, currency))}</td>'
                f'<td class="num">{_text(share)}</td></tr>'
            )
        html.append(
            "<h3>Budget by channel</h3>\n<table>\n<thead><tr><th>Channel</th>"
            '<th class="num">Budget</th><th class="num">Share</th></tr></thead>\n<tbody>\n'
            + "\n".join(body)
            + "\n</tbody>\n</table>"
        )
    html.append("</section>")
    return "\n".join(html)


def _objectives_section(plan: Any) -> str:
    objectives = list(getattr(plan, "objectives", None) or [])
    if not objectives:
        return (
            '<section id="objectives">\n<h2>Objectives</h2>\n'
            '<p class="empty">The plan states no objectives.</p>\n</section>'
        )
    head = (
        "<tr><th>ID</th><th>KPI</th><th>Description</th><th>Funnel stage</th>"
        '<th class="num">Baseline</th><th class="num">Target</th><th>Deadline</th></tr>'
    )
    rows = []
    for obj in objectives:
        cells = [
            _text(_fmt(getattr(obj, "id", None))),
            f"<code>{_text(_fmt(getattr(obj, 'kpi', None)))}</code>",
            _text(_fmt(getattr(obj, "description", None))),
            _text(_fmt(getattr(obj, "funnel_stage", None))),
        ]
        nums = [_text(_fmt(getattr(obj, f, None))) for f in ("baseline", "target")]
        rows.append(
            "<tr>"
            + "".join(f"<td>{c}</td>" for c in cells)
            + "".join(f'<td class="num">{c}</td>' for c in nums)
            + f"<td>{_text(_fmt(getattr(obj, 'deadline', None)))}</td></tr>"
        )
    return (
        '<section id="objectives">\n<h2>Objectives</h2>\n<table>\n<thead>'
        + head
        + "</thead>\n<tbody>\n"
        + "\n".join(rows)
        + "\n</tbody>\n</table>\n</section>"
    )


def _headlines_section(headlines: Mapping[str, Mapping[str, Any]], currency: str = "") -> str:
    """Every headline with its label and unit: numbers as tiles, names and sentences as text."""
    html = ['<section id="headlines">', "<h2>All headline numbers</h2>"]
    if not headlines:
        html.append('<p class="empty">No notebook recorded headline numbers.</p>')
    for section, values in headlines.items():
        title = _text(_section_title(section))
        html.append(f'<h3 id="{_attr("headlines-" + str(section))}">{title}</h3>')
        if not isinstance(values, Mapping):
            values = {"value": values}
        tiles, texts, absent = [], [], []
        for key, value in values.items():
            spec = headline(str(section), str(key), value)
            if value is None or (isinstance(value, (list, tuple, Mapping)) and not value):
                if spec.unit != "list":
                    absent.append(spec.label)
                    continue
            if isinstance(value, Mapping) or (
                isinstance(value, (list, tuple)) and value and isinstance(value[0], Mapping)
            ):
                tiles.append(_tile(spec, value, currency))
            elif spec.unit in ("text", "list") or isinstance(value, str):
                shown = (
                    "".join(f"<li>{_text(v)}</li>" for v in value)
                    if isinstance(value, (list, tuple)) and spec.unit == "text"
                    else _text(format_headline(value, spec.unit, currency))
                )
                body = f"<ul>{shown}</ul>" if shown.startswith("<li>") else shown
                texts.append(f"<dt>{_text(spec.label)}</dt><dd>{body}</dd>")
            else:
                tiles.append(_tile(spec, value, currency))
        if tiles:
            html.append('<div class="tiles">\n' + "\n".join(tiles) + "\n</div>")
        if texts:
            html.append('<dl class="facts">' + "".join(texts) + "</dl>")
        if absent:
            html.append(
                f'<p class="empty">Not available (no data for them): {_text(", ".join(absent))}</p>'
            )
    html.append("</section>")
    return "\n".join(html)


def _tile(spec: Headline, value: Any, currency: str) -> str:
    label = f'<div class="label">{_text(spec.label)}</div>'
    if isinstance(value, Mapping):
        return f'<div class="tile wide">{label}{_mapping_table(value, spec, currency)}</div>'
    if isinstance(value, (list, tuple)) and value and all(isinstance(v, Mapping) for v in value):
        return f'<div class="tile wide">{label}{_records_table(value)}</div>'
    shown = format_headline(value, spec.unit, currency)
    return f'<div class="tile"><div class="value">{_text(shown)}</div>{label}</div>'


def _mapping_table(values: Mapping[str, Any], spec: Headline, currency: str) -> str:
    if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values.values()):
        rows = "".join(
            f"<tr><td>{_text(_channel_label(str(k)))}</td>"
            f'<td class="num">{_text(format_headline(v, spec.unit, currency))}</td></tr>'
            for k, v in values.items()
        )
    else:  # an estimate with its interval and notes: each part in its own words
        rows = "".join(
            f"<tr><td>{_text(_label(k))}</td><td>{_text(_fmt(v))}</td></tr>"
            for k, v in values.items()
        )
    return f"<table><tbody>{rows}</tbody></table>"


def _records_table(records: Sequence[Mapping[str, Any]]) -> str:
    columns: list[str] = []
    for record in records:
        columns.extend(k for k in record if k not in columns)
    head = "".join(f"<th>{_text(_label(c))}</th>" for c in columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{_text(_fmt(r.get(c)))}</td>" for c in columns) + "</tr>"
        for r in records
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _notebooks_section(notebooks: Sequence[NotebookEntry]) -> str:
    rows = []
    for nb in notebooks:
        if nb.status not in STATUSES:
            raise ValueError(f"notebook {nb.name}: unknown status {nb.status!r}")
        name = _text(nb.name)
        link = f'<a href="{_attr(quote(nb.html))}">{name}</a>' if nb.html else name
        css = "status-" + nb.status.replace(" ", "-")
        message = f'<pre class="failure">{_text(nb.message)}</pre>' if nb.message else ""
        if nb.status == "skipped":
            note = nb.message.removeprefix("**Skipped.** ")
            message = f'<p class="skip-note">{_text(note)}</p>' if note else ""
        summary = NOTEBOOK_SUMMARIES.get(_short_name(nb.name), "")
        rows.append(
            f'<tr class="{css}"><td>{link}{message}</td>'
            f'<td><span class="status {css}">{_text(nb.status)}</span></td>'
            f"<td>{_text(summary)}</td></tr>"
        )
    return (
        '<section id="notebooks">\n<h2>Notebook reports</h2>\n<table>\n<thead><tr>'
        "<th>Notebook</th><th>Status</th><th>What it answers</th></tr></thead>\n<tbody>\n"
        + "\n".join(rows)
        + "\n</tbody>\n</table>\n</section>"
    )


# ----------------------------------------------------------------------------------------
# Formatting
# ----------------------------------------------------------------------------------------
def _text(value: Any) -> str:
    return escape(str(value), quote=True)


_attr = _text  # attribute values are always double-quoted; escape() quotes both kinds


def _label(key: Any) -> str:
    text = str(key)
    return text.replace("_", " ") if text.isascii() else text


def _channel_label(channel: str) -> str:
    try:
        from imclab.config import CHANNEL_LABELS
    except ImportError:  # pragma: no cover - config is part of the package
        return str(channel)
    return CHANNEL_LABELS.get(channel, str(channel))


def _fmt(value: Any) -> str:
    """Format a value for display: thousands separators, short decimals, ISO dates."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, Decimal):
        value = float(value)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if math.isnan(value):
            return "n/a"
        if math.isinf(value):
            return "∞" if value > 0 else "-∞"
        if value == int(value) and abs(value) < 1e15:
            return f"{int(value):,}"
        if abs(value) >= 1000:
            return f"{value:,.0f}"
        if abs(value) >= 1:
            return f"{value:,.2f}".rstrip("0").rstrip(".")
        return f"{value:.3g}"
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, (list, tuple)):
        return ", ".join(_fmt(v) for v in value)
    if isinstance(value, Mapping):
        return ", ".join(f"{_label(k)}: {_fmt(v)}" for k, v in value.items())
    return str(value)


def _money(amount: Any, currency: str) -> str:
    if amount is None:
        return "—"
    number = _number(amount)
    if number is not None and number != int(number):
        return f"{number:,.2f} {currency}".strip()  # cents, never rounded to whole units
    return f"{_fmt(amount)} {currency}".strip()


def _share(amount: Any, total: Any) -> str:
    try:
        return f"{float(amount) / float(total):.1%}"
    except (TypeError, ValueError, ZeroDivisionError):
        return "—"
