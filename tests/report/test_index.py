"""Index page: campaign facts, objectives, headline tiles, notebook statuses, escaping."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from imclab.config import CHANNEL_LABELS
from imclab.plan import load_plan
from imclab.report.headlines import record_headlines
from imclab.report.index import NotebookEntry, render_index, write_index

ENTRIES = [
    NotebookEntry("00_data_audit", "ok", "00_data_audit.html"),
    NotebookEntry("01_situation_analysis", "failed", "01_situation_analysis.html", "boom <b>"),
    NotebookEntry("02_persona_clustering", "not run"),
]


@pytest.fixture(scope="module")
def plan(repo_root):
    return load_plan(repo_root / "campaigns" / "spring_launch.yaml")


def test_campaign_facts_budget_and_objectives(plan):
    budget = plan.budget.model_copy(
        update={"total": 60000.0, "by_channel": {"paid_search": 12000.0, "tv": 48000.0}}
    )
    controlled = plan.model_copy(
        update={
            "title": "Spring",
            "start": dt.date(2025, 3, 3),
            "end": dt.date(2025, 5, 25),
            "currency": "EUR",
            "budget": budget,
        }
    )
    page = render_index(controlled, ENTRIES[:1])
    assert "<h1>Spring</h1>" in page
    assert "<dt>Period</dt><dd>2025-03-03 to 2025-05-25</dd>" in page
    assert "<dt>Total budget</dt><dd>60,000 EUR</dd>" in page
    search, tv = CHANNEL_LABELS["paid_search"], CHANNEL_LABELS["tv"]
    assert f'<tr><td>{search}</td><td class="num">12,000 EUR</td><td class="num">20.0%</td>' in page
    assert f'<tr><td>{tv}</td><td class="num">48,000 EUR</td><td class="num">80.0%</td>' in page
    rows = re.findall(r"<tr><td>([a-z0-9_]+)</td><td><code>([a-z_]+)</code>", page)
    assert rows == [(o.id, o.kpi) for o in plan.objectives]
    roas = plan.objectives[0].model_copy(
        update={"baseline": 2.4, "target": 3.0, "deadline": dt.date(2025, 5, 25)}
    )
    page = render_index(plan.model_copy(update={"objectives": [roas]}), ENTRIES[:1])
    assert '<td class="num">2.4</td><td class="num">3</td><td>2025-05-25</td></tr>' in page


def test_statuses_links_and_banner(plan):
    page = render_index(plan, ENTRIES)
    assert '<a href="00_data_audit.html">00_data_audit</a>' in page
    assert '<a href="01_situation_analysis.html">01_situation_analysis</a>' in page
    assert "<td>02_persona_clustering</td>" in page  # not run: no page, no link
    assert '<span class="status status-failed">failed</span>' in page
    assert '<span class="status status-not-run">not run</span>' in page
    assert '<pre class="failure">boom &lt;b&gt;</pre>' in page
    assert "notebook 01_situation_analysis failed; later notebooks were not run" in page
    partial = render_index(plan, [ENTRIES[0], ENTRIES[2]])
    assert "Partial report: 1 of 2 notebooks were run." in partial
    assert "Complete report: all 1 notebooks ran." in render_index(plan, ENTRIES[:1])


def test_a_skipped_notebook_says_why_and_the_report_is_complete(plan):
    why = "**Skipped.** The data has no orders <none>, so this notebook is skipped: add them."
    entries = [ENTRIES[0], NotebookEntry("04_marketing_mix", "skipped", "04.html", why)]
    page = render_index(plan, entries)
    assert '<span class="status status-skipped">skipped</span>' in page
    assert '<p class="skip-note">The data has no orders &lt;none&gt;, so this notebook' in page
    assert "Complete report: 1 of 2 notebooks ran; 04_marketing_mix skipped" in page
    assert 'class="banner ok"' in page and "failure" not in page.split("</style>")[1]
    # a headline tile of a skipped notebook says so, not that it failed or did not run
    review = render_index(plan, [NotebookEntry("05_post_campaign_review", "skipped", None, why)])
    assert "Not available: 05_post_campaign_review was skipped (its page says what the" in review


def test_unknown_status_is_refused(plan):
    with pytest.raises(ValueError, match="00_x: unknown status 'done'"):
        render_index(plan, [NotebookEntry("00_x", "done")])  # type: ignore[arg-type]


def test_all_plan_and_headline_text_is_escaped_and_unicode_kept(plan):
    hostile = plan.model_copy(
        update={"title": "<script>alert(1)</script> 春季 🌸", "brand": 'Lumi"na & <Co>'}
    )
    headlines = {
        "audit<x>": {
            "<img src=x onerror=alert(1)>": "<b>bold</b>",
            "客户数": 5000,
            "by_channel": {"<i>tv</i>": 0.5},
            "rows": [{"name": "<u>a</u>", "value": 1.5}],
        }
    }
    entry = NotebookEntry('00_"quoted"<nb>', "ok", '00_"quoted"<nb>.html')
    page = render_index(hostile, [entry], headlines, {"Data <dir>": "x & y"})
    assert "<script" not in page
    assert "<img" not in page
    assert "<b>bold" not in page and "<i>tv" not in page and "<u>a" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt; 春季 🌸" in page
    assert "Lumi&quot;na &amp; &lt;Co&gt;" in page
    assert '<h3 id="headlines-audit&lt;x&gt;">audit&lt;x&gt;</h3>' in page
    assert '<div class="value">5,000</div><div class="label">客户数</div>' in page
    assert "<td>&lt;u&gt;a&lt;/u&gt;</td><td>1.5</td>" in page
    assert '<a href="00_%22quoted%22%3Cnb%3E.html">00_&quot;quoted&quot;&lt;nb&gt;</a>' in page
    assert "<dt>Data &lt;dir&gt;</dt><dd>x &amp; y</dd>" in page


def test_self_contained_printable_and_without_timestamp(plan):
    page = render_index(plan, ENTRIES, {"audit": {"customers": 5000}})
    assert page.startswith("<!DOCTYPE html>")
    assert "http://" not in page and "https://" not in page
    assert "<script" not in page and "<link" not in page
    assert "@media print" in page
    assert dt.date.today().isoformat() not in page
    assert re.search(r"\d\d:\d\d:\d\d", page) is None
    assert render_index(plan, ENTRIES, {"audit": {"customers": 5000}}) == page


def test_write_index_reads_recorded_headlines(plan, tmp_path):
    record_headlines(tmp_path, "data_audit", {"customers": 5000, "quarantined_rows": 0})
    record_headlines(tmp_path, "attribution", {"top_channel": "paid_search"})
    path = write_index(plan, ENTRIES[:1], tmp_path)
    assert path == tmp_path / "index.html"
    page = path.read_text(encoding="utf-8")
    sections = re.findall(r'<h3 id="headlines-([a-z_]+)">', page)
    assert sections == ["data_audit", "attribution"]  # suite order, not alphabetical
    # names are text, numbers tiles; an unlisted key reads as words
    assert "<dt>Top channel</dt><dd>paid_search</dd>" in page
    assert '<div class="value">0</div><div class="label">Quarantined rows</div>' in page


def test_headlines_get_their_label_unit_and_format(plan):
    headlines = {
        "data_audit": {"touchpoint_match_rate": 1.0, "rows_read": 123456,
                       "missing_optional_tables": [], "quarantine_by_table": {"touchpoints": 7}},
        "situation": {"baseline_median_cpa": 12.5, "revenue_trend_change": -0.0001,
                      "biggest_funnel_leak": None},
        "personas": {"k_reason": "k = 5: the most reproducible number of personas"},
    }  # fmt: skip
    page = render_index(plan, ENTRIES, headlines)
    detail = page[page.index('<section id="headlines">') :]
    assert '<div class="value">100.0 %</div><div class="label">Touchpoints matched' in detail
    assert '<div class="value">123,456</div><div class="label">Rows read</div>' in detail
    assert '<div class="value">12.50 EUR</div>' in detail
    assert '<div class="value">0.0 %</div><div class="label">Revenue trend change' in detail
    assert "-0.0" not in detail
    assert "<dt>Optional tables not provided</dt><dd>none</dd>" in detail
    assert "<td>Touchpoints</td>" in detail or "<td>touchpoints</td>" in detail
    # a sentence is text, not a number tile; a figure without data is named, not shown
    assert "<dt>Why this number of personas</dt><dd>k = 5: the most" in detail
    assert "Not available (no data for them): Biggest brand-funnel leak" in detail


def test_without_headlines_the_page_says_so(plan):
    page = render_index(plan, ENTRIES[:1], {})
    assert "No notebook recorded headline numbers." in page


# ----------------------------------------------------------------------------------------
# Landing page: KPI tiles and lessons from the review's headlines
# ----------------------------------------------------------------------------------------
SUITE = [
    NotebookEntry("00_data_audit", "ok", "00_data_audit.html"),
    NotebookEntry("03_channel_attribution", "ok", "03_channel_attribution.html"),
    NotebookEntry("05_post_campaign_review", "ok", "05_post_campaign_review.html"),
]
REVIEW = {
    "objectives_met": 1,
    "objectives_total": 4,
    "roi": -0.25,
    "roas": 0.75,
    "cac": 1234.5,
    "incremental_lift": {"estimate": -0.002, "ci_low": -0.01, "ci_high": 0.006, "level": 0.9},
    "incremental_roas": {
        "estimate": 0.3,
        "ci_low": -0.5,
        "ci_high": 1.1,
        "level": 0.9,
        "unit": "holdout DiD x AOV over campaign media",
    },
    "incremental_roi": {"estimate": -0.7, "ci_low": -1.5, "ci_high": 0.1, "level": 0.9},
    "lessons": ["[medium] Display ROI was 0.42.", "no severity <i>here</i>"],
    "extra_number": 7,
}


def _tiles(page):
    found = re.findall(
        r'<div class="tile kpi ?([a-z0-9 ]*)" data-headline="([a-z_]+)" data-value="([^"]*)">'
        r'<div class="value">(.*?)</div><div class="label">(.*?)</div>'
        r'<div class="note">(.*?)</div>',
        page,
    )
    return {key: {"css": css, "value": value, "text": text, "note": note} for
            css, key, value, text, _label, note in found}  # fmt: skip


def test_kpi_tiles_from_the_review(plan):
    page = render_index(plan.model_copy(update={"currency": "EUR"}), SUITE, {"review": REVIEW})
    tiles = _tiles(page)
    assert list(tiles) == ["objectives", "roi", "roas", "incremental_roas", "cac",
                           "incremental_lift"]  # fmt: skip
    assert tiles["objectives"]["text"] == "1 of 4"
    assert tiles["objectives"]["note"] == "3 missed or not scorable"
    assert tiles["objectives"]["css"] == "warn"
    assert tiles["objectives"]["value"] == (
        "{&quot;objectives_met&quot;: 1, &quot;objectives_total&quot;: 4}"
    )
    assert (tiles["roi"]["text"], tiles["roi"]["css"]) == ("-0.25", "bad")
    assert tiles["roi"]["note"] == (
        "(all revenue − cost) / cost: -25% net return on campaign media spend, organic orders "
        "included (not incremental)"
    )
    assert tiles["roas"]["text"] == "0.75×"
    labels = dict(re.findall(r'data-headline="([a-z_]+)".*?<div class="label">(.*?)</div>', page))
    assert labels["roi"] == "ROI (all revenue / campaign media)"
    assert labels["roas"] == "ROAS (all revenue / campaign media)"
    assert labels["incremental_roas"] == "Incremental ROAS (holdout)"
    inc = tiles["incremental_roas"]
    assert (inc["text"], inc["css"]) == ("0.3×", "warn")  # the interval straddles 1
    assert inc["note"] == (
        "90% CI -0.5× to 1.1×; incremental ROI -70%; holdout DiD x AOV over campaign media"
    )
    assert tiles["cac"]["text"] == "1,234.50 EUR"
    lift = tiles["incremental_lift"]
    assert lift["text"] == "-0.002"
    assert lift["note"] == "90% CI -0.01 to 0.006"
    assert lift["css"] == "warn span2"  # the interval straddles 0: not significant
    # lessons: severity badge parsed, text escaped, order kept
    items = re.findall(r'<li class="lesson">(.*?)</li>', page)
    assert items == [
        '<span class="severity severity-medium">medium</span> '
        '<span class="finding">Display ROI was 0.42.</span>',
        '<span class="finding">no severity &lt;i&gt;here&lt;/i&gt;</span>',
    ]
    # the tile keys are not repeated below; other review numbers are
    detail = page[page.index('<section id="headlines">') :]
    assert "Extra number" in detail and "Objectives met" not in detail and "Lessons" not in detail
    assert page.index('id="results"') < page.index('id="lessons"') < page.index('id="notebooks"')
    assert page.index('id="notebooks"') < page.index('id="campaign"')


def test_tiles_say_why_a_number_is_missing(plan):
    # --only 00: the review was not run, so no tile may show a number (or a stale one).
    only_audit = [SUITE[0], NotebookEntry("05_post_campaign_review", "not run")]
    page = render_index(plan, only_audit, {"data_audit": {"customers": 5000}})
    tiles = _tiles(page)  # tiles showing a number
    missing = re.findall(
        r'<div class="tile kpi missing" data-headline="([a-z_]+)"><div class="value">—</div>'
        r'<div class="label">.*?</div><div class="note">Not available: (.*?)\.</div>',
        page,
    )
    assert tiles == {}
    reason = "05_post_campaign_review was not run for this report"
    n = len(plan.objectives)
    assert missing == [
        ("objectives", f"{reason} ({n} planned)"),
        ("roi", reason),
        ("roas", reason),
        ("incremental_roas", reason),
        ("cac", reason),
        ("incremental_lift", reason),
    ]
    assert f"No lessons in this report: {reason}." in page
    assert "data-value" not in page
    failed = [SUITE[0], NotebookEntry("05_post_campaign_review", "failed", None, "boom")]
    assert "05_post_campaign_review failed before recording it" in render_index(plan, failed, {})
    assert "no post_campaign_review notebook in this report" in render_index(plan, SUITE[:1], {})


def test_partial_review_headlines_keep_the_other_tiles(plan):
    review = {"roi": 1.5, "roas": None, "cac": float("nan"), "incremental_lift": None,
              "lessons": []}  # fmt: skip
    page = render_index(plan, SUITE, {"review": review})
    tiles = _tiles(page)
    assert list(tiles) == ["roi"]
    assert tiles["roi"]["css"] == "good"
    assert "Not available: 05_post_campaign_review did not record it" in page  # roas, cac
    # the plan keeps regions dark: the review says why it compared none (e.g. no campaign spend)
    assert "Not available: the review compared no holdout regions (its Incrementality" in page
    no_holdout = render_index(
        plan.model_copy(update={"holdout_regions": []}), SUITE, {"review": review}
    )
    assert "Not available: the plan lists no holdout regions to compare with." in no_holdout
    assert (
        "Not available: no holdout estimate, campaign spend or order value to compute it from."
    ) in page
    assert "The review found nothing to flag." in page


def test_notebook_list_says_what_each_notebook_answers(plan):
    page = render_index(plan, SUITE + [NotebookEntry("07_custom", "ok", "07_custom.html")])
    rows = re.findall(r'<tr class="status-ok"><td>.*?</td><td>.*?</td><td>(.*?)</td></tr>', page)
    assert rows[0].startswith("Can the data be trusted?")
    assert rows[2].startswith("Did it work?")
    assert rows[3] == ""  # a notebook outside the suite has no summary
