"""Hostile input: markup, quotes, CJK and emoji in plans and data; unsafe names; YAML bombs; giants.

Text must reach the reader intact and inert (escaped, never executed); unsafe campaign names,
alias bombs, Python-object YAML tags and oversized files are refused with a message naming
the fault, before anything is written.
"""

from __future__ import annotations

import csv
import re
import time
from pathlib import Path

import nbformat
import pytest
import yaml
from bs4 import BeautifulSoup

from imclab import config
from imclab import plan as plan_module
from imclab.cli import main
from imclab.data import load_world
from imclab.errors import PlanError
from imclab.plan import MAX_PLAN_BYTES, load_plan
from imclab.simulate import simulate_world

REPO = Path(__file__).resolve().parents[1]
HOSTILE = (
    '<script>alert("xss")</script> \'quoted\' & "double" 春季发布 🌸🚀 <img src=x onerror=alert(1)>'
)
PARAMETERS = (
    'campaign_file: str = "../campaigns/demo.yaml"  # plan\n'
    'data_dir: str = "../data/sample"  # data\n'
    'report_dir: str = ""  # report folder\n'
)
SHOW_CREATIVES = (
    "from imclab.data import load_world\n"
    "from imclab.report.headlines import record_headlines\n"
    "world = load_world(data_dir, tables=['creatives'], as_of='2025-12-31')\n"
    "text = world.creatives.loc[world.creatives.creative_id == 'CR666', 'text'].item()\n"
    "record_headlines(report_dir, 'data_audit', {'hostile creative': text})\n"
    "print(text)\n"
    "import pandas as pd\n"
    "pd.set_option('display.max_colwidth', None)  # show the whole text in the table\n"
    "world.creatives[['creative_id', 'text']]"
)


def _plan_dict(**changes) -> dict:
    plan = yaml.safe_load((REPO / "campaigns" / "spring_launch.yaml").read_text(encoding="utf-8"))
    plan.update(changes)
    return plan


def _write_yaml(path: Path, data: dict) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


@pytest.fixture
def project(tmp_path, monkeypatch):
    """A repository-like folder: one notebook showing the creatives, a plan, a world."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "imclab", "display_name": "imclab", "language": "python"}
    params = nbformat.v4.new_code_cell(PARAMETERS)
    params.metadata["tags"] = ["parameters"]
    nb.cells = [
        nbformat.v4.new_markdown_cell("# Creatives\n\nThe creative texts as written."),
        params,
        nbformat.v4.new_code_cell(SHOW_CREATIVES),
    ]
    (tmp_path / "notebooks").mkdir()
    nbformat.write(nb, tmp_path / "notebooks" / "00_data_audit.ipynb")
    world = tmp_path / "data" / "sample"
    simulate_world(world, seed=3, n_customers=150)  # imclab run validates the world first
    with (world / "creatives.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["creative_id", "channel", "campaign", "language", "text"])
        writer.writerow(["CR001", "social", "spring_launch", "en", "Clean beauty, refillable."])
        writer.writerow(["CR666", "display", "spring_launch", "zh", HOSTILE])
    monkeypatch.setattr(config, "REPO_ROOT", tmp_path)
    monkeypatch.setattr(config, "NOTEBOOKS_DIR", tmp_path / "notebooks")
    monkeypatch.setattr(config, "SAMPLE_DATA_DIR", world)
    monkeypatch.setattr(plan_module, "CAMPAIGNS_DIR", tmp_path / "campaigns")
    return tmp_path


def _visible_text(page: str) -> str:
    soup = BeautifulSoup(page, "html.parser")
    for hidden in soup(["style", "script", "title"]):
        hidden.decompose()
    return soup.get_text()


def _assert_inert(page: str) -> None:
    soup = BeautifulSoup(page, "html.parser")
    assert all("alert" not in (s.string or "") for s in soup.find_all("script"))
    assert soup.find_all("img", attrs={"onerror": True}) == []
    assert '<script>alert("xss")' not in page and "<img src=x" not in page


def test_hostile_title_and_creative_text_render_escaped_and_intact(project, capsys):
    _write_yaml(project / "campaigns" / "demo.yaml", _plan_dict(name="demo", title=HOSTILE))
    assert main(["run", "demo"]) == 0, capsys.readouterr().err
    report = project / "reports" / "demo"

    index = (report / "index.html").read_text(encoding="utf-8")
    _assert_inert(index)
    soup = BeautifulSoup(index, "html.parser")
    assert soup.h1.get_text() == HOSTILE  # the title, character for character
    assert soup.title.get_text().startswith(HOSTILE)
    label = soup.find("dt", string="Hostile creative")  # text headlines are shown as text
    assert label.find_next_sibling("dd").get_text() == HOSTILE  # the creative text, intact

    page = (report / "00_data_audit.html").read_text(encoding="utf-8")
    _assert_inert(page)
    text = _visible_text(page)
    assert text.count(HOSTILE) == 2  # printed, and in the table
    executed = nbformat.read(report / "00_data_audit.ipynb", as_version=4)
    assert executed.cells[-1].outputs[0].text == HOSTILE + "\n"


@pytest.mark.parametrize(
    "name",
    ["../escape", "..", "a/b", "a\\b", "/etc", "spring launch", "Spring", "x" * 65, ""],
)
def test_unsafe_campaign_names_are_refused_by_imclab_run(project, capsys, name):
    plan = _write_yaml(project / "campaigns" / "bad.yaml", _plan_dict(name=name))
    assert main(["run", str(plan)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"imclab: error: {plan}: ")
    assert re.search(r"\bname: .*(not a safe name|must not be empty)", err), err
    assert "Traceback" not in err
    assert not (project / "reports").exists()
    assert sorted(p.name for p in project.iterdir()) == [
        "campaigns",
        "data",
        "notebooks",
    ]  # nothing was written beside the project either


BILLION_LAUGHS = """\
name: demo
a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]
b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]
c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]
d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]
e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]
f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e]
g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f]
h: &h [*g, *g, *g, *g, *g, *g, *g, *g, *g]
i: &i [*h, *h, *h, *h, *h, *h, *h, *h, *h]
"""


def test_yaml_alias_bomb_is_refused_quickly(project, capsys):
    plan = project / "campaigns" / "bomb.yaml"
    plan.parent.mkdir(parents=True, exist_ok=True)
    plan.write_text(BILLION_LAUGHS, encoding="utf-8")  # 9**9 = 387 million strings if expanded
    started = time.perf_counter()
    assert main(["run", str(plan)]) == 2
    assert time.perf_counter() - started < 10
    err = capsys.readouterr().err
    assert err.startswith(f"imclab: error: {plan}: refused: aliases expand the document to more")
    assert "alias bomb" in err
    assert not (project / "reports").exists()


def test_recursive_alias_is_refused(tmp_path):
    plan = tmp_path / "loop.yaml"
    plan.write_text("name: demo\nphases: &p\n  - *p\n", encoding="utf-8")
    with pytest.raises(PlanError, match=r"loop\.yaml: phases\[0\]: recursive alias \(line 2\)"):
        load_plan(plan)


def test_python_object_tags_are_refused_and_never_run(tmp_path):
    marker = tmp_path / "owned"
    plan = tmp_path / "evil.yaml"
    plan.write_text(f'name: !!python/object/apply:os.system ["touch {marker}"]\n', encoding="utf-8")
    with pytest.raises(PlanError, match=r"evil\.yaml: not valid YAML: .*python/object/apply"):
        load_plan(plan)
    assert not marker.exists()


def test_plan_over_one_megabyte_is_refused(project, capsys):
    plan = _write_yaml(project / "campaigns" / "huge.yaml", _plan_dict(title="x" * 1_200_000))
    size = plan.stat().st_size
    assert main(["run", str(plan)]) == 2
    assert capsys.readouterr().err == (
        f"imclab: error: {plan}: refused: the file is {size:,} bytes, over the "
        f"{MAX_PLAN_BYTES:,}-byte limit\n"
    )


def test_only_safe_yaml_loading_in_the_package():
    offenders = []
    unsafe = re.compile(
        r"yaml\.(load|unsafe_load|full_load|load_all)\(|Loader=yaml\.(Loader|Full|Unsafe)"
    )
    for path in sorted((REPO / "imclab").rglob("*.py")):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if unsafe.search(line):
                offenders.append(f"{path.relative_to(REPO)}:{number}: {line.strip()}")
    assert offenders == []


# ----------------------------------------------------------------------------------------
# A 100 MB creative text
# ----------------------------------------------------------------------------------------
BIG = 100 * 1024 * 1024


def _giant_creatives(folder: Path, quoted: bool, size: int = BIG) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "creatives.csv"
    cell = '"' + "x" * size + '"' if quoted else "x" * size
    with path.open("w", encoding="utf-8") as handle:
        handle.write("creative_id,channel,campaign,language,text\n")
        handle.write("CR001,social,spring_launch,en,Clean beauty\n")
        handle.write(f"CR002,display,spring_launch,en,{cell}\n")
        handle.write("CR003,tv,spring_launch,en,Refill and glow\n")
    return path


@pytest.mark.parametrize("quoted", [False, True], ids=["unquoted", "quoted"])
def test_a_3mb_creative_text_is_quarantined_as_too_long(tmp_path, quoted):
    path = _giant_creatives(tmp_path / "world", quoted=quoted, size=3_000_000)
    world = load_world(path.parent, tables=["creatives"])
    table = world.report.tables["creatives"]
    assert (table.rows_read, table.rows_loaded, table.rows_quarantined) == (3, 2, 1)
    assert world.quarantine[["row", "reason"]].values.tolist() == [
        [2, "record too long (over 1,000,000 bytes)"]
    ]


@pytest.mark.parametrize("quoted", [False, True], ids=["unquoted", "quoted"])
def test_a_100mb_creative_text_is_refused_with_a_clear_reason(tmp_path, quoted):
    path = _giant_creatives(tmp_path / "world", quoted=quoted)
    try:
        world = load_world(path.parent, tables=["creatives"])
    finally:
        path.unlink()
    table = world.report.tables["creatives"]
    assert table.rows_read == 3  # every data row in the file is accounted for
    assert table.rows_loaded + table.rows_quarantined == 3
    assert world.quarantine["row"].tolist() == [2]
    assert world.creatives["creative_id"].tolist() == ["CR001", "CR003"]
    assert world.quarantine["reason"].item() == "record too long (over 1,000,000 bytes)"
    value = str(world.quarantine["value"].item())
    assert "CR001" not in value and len(value) < 10_000  # the quarantine holds no 100 MB copy
    assert any("104,857,6" in m and "creatives.csv" in m for m in world.report.messages)
