"""Reports in a real browser: every page of a small run opened in headless Chromium.

Checks what a reader meets: no console errors, nothing fetched from the network, every figure
loads, the KPI tiles show the numbers the notebooks recorded (and printed), hostile plan text
shows intact and inert, the landing page prints; screenshots land in ``<report>/screenshots``.
Chromium must be installed (``make test`` installs Debian's ``chromium``): without it these
tests fail, saying how to install it.
"""

from __future__ import annotations

import json
import re

import pytest

from imclab.report.browser import BrowserError, Chromium, check_report, find_chromium
from imclab.report.runner import run_campaign

pytestmark = pytest.mark.slow

TITLE = '<script>alert("owned")</script> Spring "Launch" 春季发布 🌸'
REVIEW = {
    "objectives_met": 2,
    "objectives_total": 3,
    "roi": 0.8512,
    "roas": 1.8512,
    "cac": 42.137,
    "incremental_lift": {
        "estimate": 0.0123,
        "ci_low": 0.0051,
        "ci_high": 0.0195,
        "unit": "incremental conversions per treated customer in the campaign window",
        "relative": 0.085,
    },
    "incremental_roas": {"estimate": 0.42, "ci_low": 0.17, "ci_high": 0.67, "level": 0.95},
    "incremental_roi": {"estimate": -0.58, "ci_low": -0.83, "ci_high": -0.33, "level": 0.95},
    "lessons": [
        "[high] Objective new_customers missed: 1,310 against a target of 1,500.",
        '[low] Creative "<b>Glow</b>" ran off-message on display.',
    ],
}
FIGURE = (
    "import matplotlib.pyplot as plt\n"
    "fig, ax = plt.subplots(figsize=(4, 2.5))\n"
    "ax.bar(['search', 'social'], [3, 5])\n"
    "ax.set_title('{title}')\n"
    "plt.show()"
)


def _chromium():
    try:
        return find_chromium()
    except BrowserError as exc:
        pytest.fail(f"headless browser tests need Chromium: {exc}")


@pytest.fixture(scope="module")
def report(tmp_path_factory, write_notebook, write_plan, put_world):
    """A two-notebook run: a data audit and a review that record headlines and draw figures."""
    _chromium()
    root = tmp_path_factory.mktemp("browser")
    nbs = root / "notebooks"
    write_notebook(
        nbs / "00_data_audit.ipynb",
        [
            "from imclab.report.headlines import record_headlines\n"
            'record_headlines(report_dir, "data_audit", {"customers": 1200, "rows_quarantined": 3})'
            "\nprint('customers = 1200')",
            FIGURE.format(title="Touches by channel"),
        ],
        markdown="# Data audit\n\nWhat to look at: 客户 rows quarantined 🎯",
    )
    write_notebook(
        nbs / "05_post_campaign_review.ipynb",
        [
            "import json\nfrom imclab.report.headlines import record_headlines\n"
            f"review = json.loads({json.dumps(json.dumps(REVIEW))})\n"
            'record_headlines(report_dir, "review", review)\n'
            "print('roi =', review['roi'], '| cac =', review['cac'])",
            FIGURE.format(title="ROI by channel"),
            "import pandas as pd\n"
            "pd.DataFrame({'creative': ['<script>alert(1)</script> 春 🌸', 'say \"hi\"']})",
        ],
        markdown="# Post-campaign review",
    )
    put_world(root / "data")
    plan = write_plan(root / "campaigns" / "demo.yaml", name="demo", title=TITLE, currency="EUR")
    result = run_campaign(
        plan, notebooks_dir=nbs, data_dir=root / "data", root=root, progress_bar=False
    )
    pages = {page.path.name: page for page in check_report(result.report_dir)}
    return result.report_dir, pages


def test_every_page_opens_without_errors_requests_or_broken_images(report):
    folder, pages = report
    assert list(pages) == ["index.html", "00_data_audit.html", "05_post_campaign_review.html"]
    for page in pages.values():
        assert page.problems() == [], page.path.name
        assert page.dialogs == []  # the <script> in the title never ran


def test_every_figure_loads(report):
    _, pages = report
    for name in ("00_data_audit.html", "05_post_campaign_review.html"):
        images = pages[name].images
        assert len(images) == 1, name
        assert images[0]["src"].startswith("data:image/png;base64,")
        assert images[0]["width"] > 100 and images[0]["height"] > 50


def test_kpi_tiles_show_the_recorded_headlines(report):
    folder, pages = report
    recorded = json.loads((folder / "headlines" / "review.json").read_text(encoding="utf-8"))
    assert recorded == REVIEW
    tiles = pages["index.html"].headlines
    assert set(tiles) == {
        "objectives",
        "roi",
        "roas",
        "incremental_roas",
        "cac",
        "incremental_lift",
    }
    shown = {key: tile["text"] for key, tile in tiles.items()}
    assert shown == {
        "objectives": "2 of 3",
        "roi": "0.851",
        "roas": "1.85×",
        "incremental_roas": "0.42×",
        "cac": "42.14 EUR",
        "incremental_lift": "+0.0123",
    }
    values = {key: json.loads(tile["value"]) for key, tile in tiles.items()}
    assert values == {
        "objectives": {"objectives_met": 2, "objectives_total": 3},
        "roi": recorded["roi"],
        "roas": recorded["roas"],
        "incremental_roas": recorded["incremental_roas"],
        "cac": recorded["cac"],
        "incremental_lift": recorded["incremental_lift"],
    }
    assert "0.0051 to 0.0195" in tiles["incremental_lift"]["note"]
    assert "+85% net return" in tiles["roi"]["note"]
    assert "organic orders included" in tiles["roas"]["note"]
    assert "95% CI 0.17× to 0.67×; incremental ROI -58%" in tiles["incremental_roas"]["note"]


def test_headline_numbers_match_the_notebook_outputs(report):
    _, pages = report
    review_page = pages["05_post_campaign_review.html"].text
    match = re.search(r"roi = ([0-9.]+) \| cac = ([0-9.]+)", review_page)
    assert match, review_page[:500]
    tiles = pages["index.html"].headlines
    assert float(match[1]) == json.loads(tiles["roi"]["value"])
    assert float(match[2]) == json.loads(tiles["cac"]["value"])
    assert "customers = 1200" in pages["00_data_audit.html"].text
    index_text = pages["index.html"].text
    assert re.search(r"1,200\s+customers", index_text, flags=re.IGNORECASE)


def test_lessons_and_hostile_text_render_intact_and_inert(report):
    _, pages = report
    index = pages["index.html"]
    assert index.h1 == TITLE  # shown as text, character for character
    assert index.title.startswith(TITLE)
    assert index.scripts == 0
    assert "HIGH Objective new_customers missed: 1,310 against a target of 1,500." in index.text
    assert 'Creative "<b>Glow</b>" ran off-message on display.' in index.text
    review = pages["05_post_campaign_review.html"]
    assert "<script>alert(1)</script> 春 🌸" in review.text  # a table cell, as text
    assert 'say "hi"' in review.text
    assert "Markdown" not in pages["00_data_audit.html"].text
    assert "What to look at: 客户 rows quarantined 🎯" in pages["00_data_audit.html"].text


def test_pages_link_to_each_other_and_hide_code(report):
    folder, pages = report
    links = pages["index.html"].links
    for name in ("00_data_audit.html", "05_post_campaign_review.html"):
        assert name in links
        assert (folder / name).is_file()
        assert "index.html" in pages[name].links
        assert "record_headlines" not in pages[name].text  # code cells hidden
    assert "Not available" not in pages["index.html"].text  # every tile has its number


def test_screenshots_and_printout_are_saved(report):
    folder, pages = report
    shots = folder / "screenshots"
    assert sorted(p.name for p in shots.iterdir()) == [
        "00_data_audit.png",
        "05_post_campaign_review.png",
        "index.pdf",
        "index.png",
    ]
    for page in pages.values():
        png = page.screenshot.read_bytes()
        assert png.startswith(b"\x89PNG\r\n\x1a\n")
        width, height = int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")
        assert width == 1366 and height >= 768  # a laptop-wide, full-page capture
    pdf = (shots / "index.pdf").read_bytes()
    assert pdf.startswith(b"%PDF-")
    assert len(re.findall(rb"/Type\s*/Page\b", pdf)) >= 1


def test_the_checker_reports_what_is_broken(tmp_path):
    # A page that does everything the report must not: the checker has to see it all.
    bad = tmp_path / "bad.html"
    bad.write_text(
        "<!DOCTYPE html><html><head><title>bad</title></head><body><h1>bad</h1>"
        '<img src="missing.png" alt="gone">'
        '<img src="http://127.0.0.1:9/remote.png" alt="remote">'
        "<script>console.error('boom'); alert('hi'); undefined_function();</script>"
        "<pre>{'rows_read': 12, 'roi': 1.5}</pre><table><tr><td>share</td><td>NaN</td></tr>"
        "</table></body></html>",
        encoding="utf-8",
    )
    with Chromium(_chromium()) as browser:
        page = browser.check_page(bad)
    assert "boom" in page.console_errors
    assert any("undefined_function is not defined" in m for m in page.console_errors)
    assert page.dialogs == ["hi"]
    assert page.external_requests == ["http://127.0.0.1:9/remote.png"]
    assert [img["alt"] for img in page.broken_images] == ["gone", "remote"]
    problems = page.problems()
    assert "bad.html: console error: boom" in problems  # events arrive in any order
    assert "bad.html: image did not load: missing.png" in problems
    assert any(
        p.startswith("bad.html: shows a raw Python dict: \"{'rows_read': ") for p in problems
    )
    assert any(p.startswith("bad.html: shows NaN") for p in problems)


def test_missing_chromium_fails_with_install_instructions(monkeypatch, tmp_path):
    monkeypatch.delenv("IMCLAB_CHROMIUM", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(BrowserError, match=r"no Chromium found .*apt-get install -y chromium"):
        find_chromium()
    monkeypatch.setenv("IMCLAB_CHROMIUM", "no-such-browser")
    with pytest.raises(BrowserError, match="IMCLAB_CHROMIUM='no-such-browser' is not an exec"):
        find_chromium()
