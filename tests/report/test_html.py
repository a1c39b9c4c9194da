"""Notebook pages: code hidden unless asked, no prompts, nothing loaded from a CDN."""

from __future__ import annotations

import re

import nbformat
import pytest

from imclab.report.html import notebook_to_html, write_notebook_html

CODE_MARKER = "# code-marker-b81c"


@pytest.fixture
def executed():
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "imclab", "display_name": "imclab", "language": "python"}
    code = nbformat.v4.new_code_cell(f"{CODE_MARKER}\nprint('hi')\ndf", execution_count=3)
    code.outputs = [
        nbformat.v4.new_output("stream", name="stdout", text="客户 42 🎉\n"),
        nbformat.v4.new_output(
            "execute_result",
            data={"text/html": "<table><tr><td>cell-value-17</td></tr></table>"},
            execution_count=3,
        ),
    ]
    nb.cells = [nbformat.v4.new_markdown_cell("# Persona cards\n\nWhat to look at: $x^2$"), code]
    return nb


def test_code_hidden_by_default_outputs_and_markdown_kept(executed):
    page = notebook_to_html(executed, "02_persona_clustering")
    assert CODE_MARKER not in page
    assert "客户 42 🎉" in page
    assert "<td>cell-value-17</td>" in page
    assert "What to look at" in page
    assert "<title>02_persona_clustering</title>" in page


def test_show_code_keeps_code_but_never_prompts(executed):
    shown = notebook_to_html(executed, "x", show_code=True)
    assert CODE_MARKER in shown
    for page in (shown, notebook_to_html(executed, "x")):
        body = re.sub(r"<style.*?</style>", "", page, flags=re.S)  # CSS mentions prompts
        assert "In&nbsp;[" not in body and "Out[" not in body
        assert "jp-InputPrompt" not in body and "[3]" not in body


def test_pages_load_nothing_from_the_network(executed):
    page = notebook_to_html(executed, "x", show_code=True)
    external = re.findall(r'(?:src|href)\s*=\s*["\']?(?:https?:)?//', page)
    assert external == []
    assert "<script src" not in page
    assert "mathjax" not in page.lower() or "cdnjs" not in page


def test_rendering_is_deterministic(executed, tmp_path):
    path = write_notebook_html(executed, tmp_path / "03_channel_attribution.html")
    again = notebook_to_html(executed, "03_channel_attribution")
    assert path.read_text(encoding="utf-8") == again


def test_report_pages_link_back_to_the_index(executed):
    page = notebook_to_html(executed, "x", index_link="index.html")
    assert '<nav class="imclab-nav"><a href="index.html">← Report index</a></nav>' in page
    assert page.index('imclab-nav"><a') < page.index("Persona cards")
    assert 'imclab-nav"><a' not in notebook_to_html(executed, "x")  # outside a report
    hostile = notebook_to_html(executed, "x", index_link='a"><script>x</script>')
    assert "<script>x</script>" not in hostile
    assert "a\"&gt;&lt;script&gt;x&lt;/script&gt;'>← Report index" in hostile
    assert "@media print { nav.imclab-nav { display: none; } }" in page
