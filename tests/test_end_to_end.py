"""End to end: `imclab run` on the bundled sample builds the whole report.

Runs every notebook of the suite with papermill on data/sample (about a minute), then
checks the index and each notebook's HTML page exist, report success, and show the
headline numbers the notebooks recorded.
"""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def report(sample_report) -> Path:
    return sample_report


def _notebooks(repo_root: Path) -> list[str]:
    return sorted(p.stem for p in (repo_root / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def _text(path: Path) -> str:
    return html.unescape(re.sub(r"<[^>]+>", " ", path.read_text(encoding="utf-8")))


def test_every_notebook_has_an_executed_copy_and_a_page(report, repo_root):
    names = _notebooks(repo_root)
    assert len(names) >= 4
    for name in names:
        nb = json.loads((report / f"{name}.ipynb").read_text(encoding="utf-8"))
        outputs = [o for c in nb["cells"] if c["cell_type"] == "code" for o in c["outputs"]]
        assert not [o for o in outputs if o["output_type"] == "error"], name
        stderr = [o["text"] for o in outputs if o.get("name") == "stderr"]
        assert not [t for t in stderr if "Traceback" in "".join(t)], name
        page = (report / f"{name}.html").read_text(encoding="utf-8")
        draws = "plt.show()" in (repo_root / "notebooks" / f"{name}.py").read_text("utf-8")
        if draws:  # a notebook that draws shows its figures on its page
            assert page.count("<img") >= 1, f"{name}.html shows no figure"
    index = (report / "index.html").read_text(encoding="utf-8")
    for name in names:
        assert f'href="{name}.html"' in index
    assert 'class="banner ok"' in index
    assert 'class="status status-failed"' not in index
    assert 'class="status status-not-run"' not in index


def test_index_shows_the_recorded_headlines(report):
    headlines = {
        p.stem: json.loads(p.read_text(encoding="utf-8"))
        for p in sorted((report / "headlines").glob("*.json"))
    }
    assert {"data_audit", "review"} <= set(headlines)
    index = _text(report / "index.html")
    audit = headlines["data_audit"]
    assert audit["rows_quarantined"] == 10  # the ten documented faults of the sample
    assert f"{audit['rows_read']:,}" in index
    review = headlines["review"]
    assert f"{review['objectives_met']} of {review['objectives_total']}" in index
    assert f"{review['roi']:.2f}" in index
    lift = review["incremental_lift"]
    assert f"{lift['estimate']:+.3f}" in index
    for lesson in review["lessons"]:
        # lessons are recorded as "[severity] text" and shown with a severity badge
        assert lesson.split("] ", 1)[1] in index


def test_every_headline_reads_as_words_with_a_unit(report):
    """A reader sees labels, units and formats, never internal keys or raw reprs."""
    from imclab.report.headlines import HEADLINES

    recorded = {
        p.stem: json.loads(p.read_text(encoding="utf-8"))
        for p in sorted((report / "headlines").glob("*.json"))
    }
    for section, values in recorded.items():
        missing = sorted(set(values) - set(HEADLINES.get(section, {})))
        assert not missing, f"{section}: add a label and unit to HEADLINES for {missing}"
    page = (report / "index.html").read_text(encoding="utf-8")
    detail = _text(report / "index.html")
    detail = detail[detail.index("All headline numbers") :]
    for key in ("rows_read", "smart_letters_failed", "best_model_mae", "k reason"):
        assert key not in detail
    assert "{'" not in detail and "NaN" not in detail and " nan " not in detail
    assert "100.0 %" in detail  # every touchpoint of the sample has a customer
    # sentences are text, not big number tiles
    values = re.findall(r'<div class="value">(.*?)</div>', page)
    assert all(len(html.unescape(v)) <= 24 for v in values), values


def test_quarantine_file_lists_every_refused_row(report, sample_dir):
    import pandas as pd

    quarantine = pd.read_csv(report / "quarantine.csv")
    faults = pd.read_csv(sample_dir / "truth" / "faults.csv")
    assert len(quarantine) == len(faults)
    assert set(zip(quarantine["file"], quarantine["row"], strict=True)) == {
        (f"{t}.csv", r) for t, r in zip(faults["table"], faults["row"], strict=True)
    }


def test_saved_notebooks_hold_no_machine_paths_or_timestamps(report, repo_root):
    for nb in report.glob("*.ipynb"):
        text = nb.read_text(encoding="utf-8")
        assert str(repo_root) not in text, f"{nb.name} leaks the checkout path"
        assert str(report) not in text, f"{nb.name} leaks the report path"
        assert '"start_time"' not in text and '"end_time"' not in text


def test_later_notebooks_get_the_persona_labels_of_the_run(report):
    import pandas as pd

    labels = pd.read_csv(report / "personas.csv")
    assert len(labels) == 5000 and labels["customer_id"].is_unique
    for name in ("03_channel_attribution", "05_post_campaign_review"):
        nb = json.loads((report / f"{name}.ipynb").read_text(encoding="utf-8"))
        tags = [c["metadata"].get("tags", []) for c in nb["cells"]]
        injected = nb["cells"][next(i for i, t in enumerate(tags) if "injected-parameters" in t)]
        source = "".join(injected["source"])
        assert "persona_file" in source and "personas.csv" in source, name


def test_every_notebook_read_the_runs_snapshot_shown_as_the_users_data(report):
    assert not (report / ".snapshot").exists()  # the validated copy is not published
    for nb in sorted(report.glob("*.ipynb")):
        text = nb.read_text(encoding="utf-8")
        assert 'data_dir = \\"data/sample\\"' in text, nb.name
        assert ".snapshot" not in text, nb.name


def test_the_committed_curves_are_what_the_run_of_notebook_04_writes(report):
    """``data/sample_derived/mmm_curves.csv``, which the committed run of notebook 07 reads, is
    notebook 04's output on the sample today: the sample's run writes the same curves (after a
    change, ``python -m imclab.report.regenerate --derived`` rewrites the committed file)."""
    import pandas as pd

    from imclab.config import SAMPLE_DERIVED_DIR
    from imclab.report.runner import MMM_FILE

    committed = pd.read_csv(SAMPLE_DERIVED_DIR / MMM_FILE)
    pd.testing.assert_frame_equal(pd.read_csv(report / MMM_FILE), committed, rtol=1e-6)
