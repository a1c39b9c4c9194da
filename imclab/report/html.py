"""Export executed notebooks to self-contained HTML pages (no CDN scripts, code hidden)."""

from __future__ import annotations

from pathlib import Path

import nbformat
from jinja2 import DictLoader
from nbconvert import HTMLExporter

TEMPLATE_FILE = "imclab_report.html.j2"

# nbconvert's lab template loads require.js, MathJax, mermaid and the widget manager from
# CDNs. Report notebooks need none of them (figures are inline images, tables are HTML),
# so these blocks are emptied and the page works offline. Cost: LaTeX in Markdown cells is
# shown as source text ($x^2$) rather than typeset. Inside a report, each page links back to
# the report's index; figures shrink to the window width (laptop screens).
_TEMPLATE = """\
{%- extends 'lab/index.html.j2' -%}
{%- block html_head_js_requirejs -%}{%- endblock html_head_js_requirejs -%}
{%- block html_head_js_mathjax -%}{%- endblock html_head_js_mathjax -%}
{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}
{%- block jupyter_widgets -%}{%- endblock jupyter_widgets -%}
{%- block extra_css -%}
<style type="text/css">
nav.imclab-nav { padding: .5rem 1rem 0; font: 14px system-ui, sans-serif; }
nav.imclab-nav a { color: #1e5aa8; }
.jp-RenderedImage img { max-width: 100%; height: auto; }
@media print { nav.imclab-nav { display: none; } }
</style>
{%- endblock extra_css -%}
{%- block body_header -%}
{{ super() }}
{%- if resources.imclab_index %}
<nav class="imclab-nav"><a href="{{ resources.imclab_index | e }}">&larr; Report index</a></nav>
{%- endif %}
{%- endblock body_header -%}
"""


def html_exporter(show_code: bool = False) -> HTMLExporter:
    """Build the nbconvert exporter used for report pages.

    Parameters
    ----------
    show_code
        Keep code cells; by default only Markdown and outputs are shown, the reading
        an analyst or a marketing manager needs. Prompts (``In [3]:``) are never shown.

    Returns
    -------
    nbconvert.HTMLExporter
        A ``lab``-template exporter that loads nothing from the network.
    """
    return HTMLExporter(
        template_name="lab",
        extra_loaders=[DictLoader({TEMPLATE_FILE: _TEMPLATE})],
        template_file=TEMPLATE_FILE,
        exclude_input=not show_code,
        exclude_input_prompt=True,
        exclude_output_prompt=True,
    )


def notebook_to_html(
    nb: nbformat.NotebookNode, title: str, show_code: bool = False, index_link: str | None = None
) -> str:
    """Render an executed notebook as a standalone HTML page.

    Parameters
    ----------
    nb
        The executed (and stripped) notebook.
    title
        Page title, normally the notebook's stem.
    show_code
        Include code cells (see `html_exporter`).
    index_link
        Relative URL of the report's index; when given, the page starts with a link back.

    Returns
    -------
    str
        The HTML document (CSS inline, images embedded as data URIs).
    """
    resources = {"metadata": {"name": title}, "imclab_index": index_link or ""}
    body, _ = html_exporter(show_code).from_notebook_node(nb, resources=resources)
    return body


def write_notebook_html(
    nb: nbformat.NotebookNode,
    path: str | Path,
    show_code: bool = False,
    index_link: str | None = None,
) -> Path:
    """Write `notebook_to_html` of ``nb`` to ``path`` (UTF-8), titled by the file's stem."""
    path = Path(path)
    path.write_text(notebook_to_html(nb, path.stem, show_code, index_link), encoding="utf-8")
    return path
