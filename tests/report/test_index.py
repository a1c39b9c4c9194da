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
    assert '<div class="value">paid_search</div><div class="label">top channel</div>' in page
    assert '<div class="value">0</div><div class="label">quarantined rows</div>' in page


def test_without_headlines_the_page_says_so(plan):
    page = render_index(plan, ENTRIES[:1], {})
    assert "No notebook recorded headline numbers." in page
