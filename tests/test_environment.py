"""The descriptions of the environment (pyproject, environment.yml, the locks) agree.

pyproject.toml has four groups (core dependencies and the extras spark, lab, dev), each with
its lock ``requirements/<group>.lock``; the locks are disjoint and every group's lock pins its
requirements. Also checks the Makefile installs them, the README's make targets exist and the
nbval sanitizers behave.
"""

import re
import subprocess
import sys
import tomllib
from pathlib import Path

import nbformat
import pytest
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]
SANITIZE_CFG = ROOT / "tests" / "nbval_sanitize.cfg"
LOCKS = ROOT / "requirements"
GROUPS = ("core", "spark", "lab", "dev")
# environment.yml may ask conda (not pip) for these; everything else must come from pip.
CONDA_ONLY = {"python", "pip", "openjdk"}


# ---------------------------------------------------------------- helpers under test


def parse_requirements(lines: list[str], source: str) -> dict[str, Requirement]:
    """Map normalised package name -> Requirement; pip options such as ``-e .`` are skipped."""
    reqs: dict[str, Requirement] = {}
    for line in lines:
        text = line.split("#", 1)[0].strip()
        if not text or text.startswith("-"):
            continue
        req = Requirement(text)
        name = canonicalize_name(req.name)
        if name in reqs:
            raise ValueError(f"{source}: {req.name!r} is listed twice")
        reqs[name] = req
    return reqs


def parse_lock(text: str, source: str = "requirements/core.lock") -> dict[str, Version]:
    """Map normalised package name -> pinned version; every line must be ``name==version``."""
    pins: dict[str, Version] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        text_line = line.split("#", 1)[0].strip()
        if not text_line:
            continue
        match = re.fullmatch(r"([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;=<>!~]+)", text_line)
        if match is None:
            raise ValueError(
                f"{source} line {number}: {line!r} is not an exact 'name==version' pin"
            )
        name = canonicalize_name(match.group(1))
        if name in pins:
            raise ValueError(f"{source} line {number}: {match.group(1)!r} is pinned twice")
        pins[name] = Version(match.group(2))
    return pins


def lock_problems(
    reqs: dict[str, Requirement], pins: dict[str, Version], lock: str = "the locks"
) -> list[str]:
    """Describe each requirement that the lock does not pin, or pins outside its specifier."""
    problems = []
    for name, req in sorted(reqs.items()):
        if name not in pins:
            problems.append(f"{req.name}: not pinned in {lock}")
        elif not req.specifier.contains(pins[name], prereleases=True):
            problems.append(f"{req.name}: locked {pins[name]} does not satisfy '{req.specifier}'")
    return problems


# ---------------------------------------------------------------- loaders of the real files


def pyproject_groups() -> dict[str, dict[str, Requirement]]:
    """Requirements of pyproject.toml by group: ``core`` and each optional extra."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    groups = {"core": parse_requirements(project["dependencies"], "pyproject.toml")}
    for extra, lines in project.get("optional-dependencies", {}).items():
        groups[extra] = parse_requirements(lines, f"pyproject.toml [{extra}]")
    return groups


def pyproject_requirements() -> dict[str, Requirement]:
    merged: dict[str, Requirement] = {}
    for reqs in pyproject_groups().values():
        merged.update(reqs)
    return merged


def environment_yml() -> tuple[list[str], list[str]]:
    """Return (conda dependency strings, pip requirement strings) of environment.yml."""
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    conda, pip = [], []
    for dep in env["dependencies"]:
        if isinstance(dep, dict):
            pip.extend(dep["pip"])
        else:
            conda.append(dep)
    return conda, pip


def group_pins(group: str) -> dict[str, Version]:
    path = LOCKS / f"{group}.lock"
    return parse_lock(path.read_text(), f"requirements/{group}.lock")


def lock_pins() -> dict[str, Version]:
    """All four locks together (they are disjoint: checked below)."""
    pins: dict[str, Version] = {}
    for group in GROUPS:
        pins.update(group_pins(group))
    return pins


# ---------------------------------------------------------------- the real files agree


def test_python_is_312_or_newer_everywhere():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    conda, _ = environment_yml()
    assert env["name"] == "imclab"
    assert "python=3.12" in conda
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    spec = Requirement(f"python{pyproject['project']['requires-python']}").specifier
    assert spec.contains("3.12") and spec.contains("3.13") and not spec.contains("3.11")
    assert pyproject["tool"]["ruff"]["target-version"] == "py312"
    assert sys.version_info >= (3, 12)  # the venv the tests run in


def test_each_group_has_a_lock_and_the_locks_are_disjoint():
    assert set(pyproject_groups()) == set(GROUPS)
    assert sorted(p.stem for p in LOCKS.glob("*.lock")) == sorted(GROUPS)
    assert not (ROOT / "requirements.lock").exists()
    seen: dict[str, str] = {}
    for group in GROUPS:
        for name in group_pins(group):
            assert name not in seen, f"{name} is pinned in {seen.get(name)}.lock and {group}.lock"
            seen[name] = group


@pytest.mark.parametrize("group", GROUPS)
def test_each_lock_pins_its_group_within_the_specifiers(group):
    """A group's requirements are pinned by its own lock, or already by core.lock."""
    pins = group_pins(group) if group == "core" else {**group_pins("core"), **group_pins(group)}
    lock = f"requirements/{group}.lock" + ("" if group == "core" else " or core.lock")
    assert lock_problems(pyproject_groups()[group], pins, lock) == []


def test_core_lock_has_no_extra_and_no_dropped_package():
    """The report's install holds no Spark, Lab or test tooling, and nothing retired."""
    core = group_pins("core")
    for heavy in ("pyspark", "jupyterlab", "pytest", "nbval", "ruff", "channelattribution"):
        assert heavy not in core, f"{heavy} belongs to an extra, not to requirements/core.lock"
    for retired in ("lifetimes", "autograd", "kmodes", "imclab"):
        assert retired not in lock_pins(), f"{retired} is pinned; drop it"
    assert "pymc-marketing" in core and "papermill" in core and "nbconvert" in core


def test_makefile_installs_core_for_the_report_and_every_lock_for_the_tests():
    makefile = (ROOT / "Makefile").read_text()
    rule = re.compile(r"^(\$\(STAMP_\w+\)|[a-z][a-z_-]*):([^\n]*)\n((?:\t.*\n?)*)", re.M)
    rules = {m.group(1): (m.group(2).split(), m.group(3)) for m in rule.finditer(makefile)}
    core_deps, core_recipe = rules["$(STAMP_CORE)"]
    all_deps, all_recipe = rules["$(STAMP_ALL)"]
    assert "$(LOCKS)/core.lock" in core_deps and "-r $(LOCKS)/core.lock" in core_recipe
    for group in ("spark", "lab", "dev"):
        assert f"$(LOCKS)/{group}.lock" in all_deps and f"-r $(LOCKS)/{group}.lock" in all_recipe
        assert f"{group}.lock" not in core_recipe
    assert "$(STAMP_CORE)" in rules["report"][0]
    assert "$(STAMP_ALL)" in rules["lint"][0] and "lint" in rules["test"][0]
    ci = (ROOT / ".ci" / "run").read_text()
    assert ci.rstrip().endswith("make test")


def test_conda_section_only_holds_non_pypi_tooling():
    conda, _ = environment_yml()
    names = {re.split(r"[=<>! ]", dep, maxsplit=1)[0] for dep in conda}
    assert names <= CONDA_ONLY, f"install these through pip instead: {sorted(names - CONDA_ONLY)}"


def test_environment_yml_installs_the_four_locks_and_imclab():
    _, pip = environment_yml()
    assert pip == [f"-r requirements/{group}.lock" for group in GROUPS] + ["-e ."]


def test_locks_are_exact_pins_and_satisfy_pyproject():
    assert lock_problems(pyproject_requirements(), lock_pins()) == []


def test_installed_versions_match_the_locks():
    """Every pinned package (the whole closure, not only pyproject's names) is installed."""
    from importlib.metadata import PackageNotFoundError, version

    pins = lock_pins()
    wrong = {}
    for name in pins:
        try:
            installed = Version(version(name))
        except PackageNotFoundError:
            installed = None
        if installed != pins[name]:
            wrong[name] = (str(installed), str(pins[name]))
    assert wrong == {}, f"(installed, locked) differ; run `make install`: {wrong}"


def test_readme_make_targets_exist_in_makefile():
    readme = (ROOT / "README.md").read_text()
    targets = set(re.findall(r"^([a-z][a-z_-]*):", (ROOT / "Makefile").read_text(), re.M))
    mentioned = set(re.findall(r"`make ([a-z][a-z_-]*)", readme))
    assert {"report", "test", "lab", "notebooks", "bench", "clean"} <= mentioned
    assert mentioned <= targets, f"README mentions missing targets: {mentioned - targets}"


def test_readme_opens_with_the_two_setup_commands():
    lines = [line for line in (ROOT / "README.md").read_text().splitlines() if line.strip()]
    commands = [line.strip() for line in lines[:8] if line.strip().startswith("make ")]
    assert commands[:2] == ["make report", "make test"]


# ---------------------------------------------------------------- the helpers can fail


PYPROJECT_LIKE = ["pandas>=2.2,<3", "ibis-framework[duckdb]>=9", "PyYAML>=6"]


def test_names_are_normalised_and_extras_stripped_and_pip_options_skipped():
    reqs = parse_requirements([*PYPROJECT_LIKE, "-e .", "-r requirements/core.lock"], "x")
    assert sorted(reqs) == ["ibis-framework", "pandas", "pyyaml"]
    assert reqs["ibis-framework"].extras == {"duckdb"}
    assert sorted(parse_lock("Pandas==2.3.3\nibis_framework==12.0.0\n")) == [
        "ibis-framework",
        "pandas",
    ]


def test_lock_problems_names_unpinned_and_unsatisfied_packages():
    pins = parse_lock("pandas==3.0.1\nPyYAML==6.0.4\n")
    problems = lock_problems(parse_requirements(PYPROJECT_LIKE, "pyproject"), pins, "core.lock")
    assert problems == [
        "ibis-framework: not pinned in core.lock",
        "pandas: locked 3.0.1 does not satisfy '<3,>=2.2'",
    ]


def test_parse_lock_rejects_ranges_and_duplicates():
    with pytest.raises(ValueError, match=r"line 2: 'numpy>=2' is not an exact"):
        parse_lock("pandas==2.3.3\nnumpy>=2\n")
    with pytest.raises(ValueError, match=r"line 3: 'Pandas' is pinned twice"):
        parse_lock("pandas==2.3.3\n\nPandas==2.3.3\n")


def test_parse_requirements_rejects_duplicates():
    with pytest.raises(ValueError, match="environment.yml: 'PyYAML' is listed twice"):
        parse_requirements(["pyyaml==6.0.4", "PyYAML==6.0.4"], "environment.yml")


# ---------------------------------------------------------------- nbval sanitizers


def sanitize(text: str) -> str:
    from nbval.plugin import get_sanitize_patterns

    for regex, replace in get_sanitize_patterns(SANITIZE_CFG.read_text()):
        text = re.sub(regex, replace, text)
    return text


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("<Axes at 0x7f3a2c1d9e50>", "<Axes at 0x7f00deadbeef>"),
        ("Wall time: 1.52 s", "Wall time: 310 ms"),
        ("fit took 12.5 ms", "fit took 0.9 s"),
        ("100%|####| 5/5 [00:01<00:00, 3.2it/s]", "100%|####| 5/5 [00:03<00:00, 1.6it/s]"),
        ("wrote /tmp/pytest-of-root/pytest-7/x.csv", "wrote /tmp/tmpab12cd/x.csv"),
        ("read /work/main/data/sample/x.csv", "read /builds/ci/clone/data/sample/x.csv"),
        (
            "/a/.venv/lib/python3.12/site-packages/pandas/x.py:9",
            "/b/lib/site-packages/pandas/x.py:9",
        ),
    ],
)
def test_sanitizer_blanks_what_differs_between_runs(first, second):
    assert sanitize(first) == sanitize(second)


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("ROI 0.1234", "ROI 0.1235"),
        ("<td>5000</td>", "<td>5001</td>"),
        ("spend 2.5 k", "spend 2.6 k"),
        ("2025-03-14T10:22:31", "2025-03-14T10:22:32"),
        ("avg session 3.4 min", "avg session 3.5 min"),
        ("read data/sample/a.csv", "read data/sample/b.csv"),
        ("<Figure size 640x480 with 1 Axes>", "<Figure size 640x480 with 2 Axes>"),
    ],
)
def test_sanitizer_keeps_results(first, second):
    assert sanitize(first) != sanitize(second)


def test_nbval_runs_notebooks_with_the_project_options(tmp_path):
    """A real nbval run: sanitized addresses pass, a wrong stored result fails."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "imclab", "display_name": "imclab", "language": "python"}
    stored = {"print(object())": "<object object at 0x7fff0000aaaa>\n", "print(1 + 1)": "3\n"}
    nb.cells = [
        nbformat.v4.new_code_cell(
            source,
            execution_count=number,
            outputs=[nbformat.v4.new_output("stream", name="stdout", text=text)],
        )
        for number, (source, text) in enumerate(stored.items(), start=1)
    ]
    nbformat.write(nb, tmp_path / "check.ipynb")
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "no:cacheprovider",
            "--nbval",
            "--nbval-current-env",
            f"--nbval-sanitize-with={SANITIZE_CFG}",
            "check.ipynb",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    summary = result.stdout.strip().splitlines()[-1]
    assert "1 failed, 1 passed" in summary, result.stdout + result.stderr
    assert "check.ipynb::Cell 1" in result.stdout
