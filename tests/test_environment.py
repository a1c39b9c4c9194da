"""The three descriptions of the environment (pyproject, environment.yml, lock) agree.

Also checks the README's make targets exist and the nbval sanitizers behave.
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


def parse_lock(text: str, source: str = "requirements.lock") -> dict[str, Version]:
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


def name_differences(
    left: dict[str, Requirement], right: dict[str, Requirement]
) -> tuple[list[str], list[str]]:
    """Return (names only in left, names only in right), sorted."""
    return sorted(left.keys() - right.keys()), sorted(right.keys() - left.keys())


def lock_problems(reqs: dict[str, Requirement], pins: dict[str, Version]) -> list[str]:
    """Describe each requirement that the lock does not pin, or pins outside its specifier."""
    problems = []
    for name, req in sorted(reqs.items()):
        if name not in pins:
            problems.append(f"{req.name}: not pinned in requirements.lock")
        elif not req.specifier.contains(pins[name], prereleases=True):
            problems.append(f"{req.name}: locked {pins[name]} does not satisfy '{req.specifier}'")
    return problems


# ---------------------------------------------------------------- loaders of the real files


def pyproject_requirements() -> dict[str, Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    lines = list(project["dependencies"])
    for extra in project.get("optional-dependencies", {}).values():
        lines.extend(extra)
    return parse_requirements(lines, "pyproject.toml")


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


def lock_pins() -> dict[str, Version]:
    return parse_lock((ROOT / "requirements.lock").read_text())


# ---------------------------------------------------------------- the real files agree


def test_environment_yml_is_the_imclab_conda_env_on_python_311():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    conda, _ = environment_yml()
    assert env["name"] == "imclab"
    assert "python=3.11" in conda
    requires_python = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"][
        "requires-python"
    ]
    assert Requirement(f"python{requires_python}").specifier.contains("3.11")


def test_conda_section_only_holds_non_pypi_tooling():
    conda, _ = environment_yml()
    names = {re.split(r"[=<>! ]", dep, maxsplit=1)[0] for dep in conda}
    assert names <= CONDA_ONLY, f"install these through pip instead: {sorted(names - CONDA_ONLY)}"


def test_pyproject_and_environment_yml_list_the_same_packages():
    _, pip = environment_yml()
    only_pyproject, only_env = name_differences(
        pyproject_requirements(), parse_requirements(pip, "environment.yml")
    )
    assert only_pyproject == [], f"add to environment.yml: {only_pyproject}"
    assert only_env == [], f"add to pyproject.toml: {only_env}"


def test_lock_is_exact_pins_and_satisfies_pyproject():
    assert lock_problems(pyproject_requirements(), lock_pins()) == []


def test_lock_satisfies_environment_yml():
    _, pip = environment_yml()
    assert lock_problems(parse_requirements(pip, "environment.yml"), lock_pins()) == []


def test_installed_versions_match_the_lock():
    from importlib.metadata import PackageNotFoundError, version

    pins = lock_pins()
    wrong = {}
    for name in pyproject_requirements():
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


def test_names_are_normalised_and_extras_stripped():
    env_like = ["Pandas==2.3.3", "ibis_framework==12.0.0", "pyyaml==6.0.4", "-e ."]
    assert name_differences(
        parse_requirements(PYPROJECT_LIKE, "pyproject"), parse_requirements(env_like, "env")
    ) == ([], [])


def test_name_differences_reports_both_sides():
    env_like = ["pandas==2.3.3", "pyyaml", "polars==1.0"]
    assert name_differences(
        parse_requirements(PYPROJECT_LIKE, "pyproject"), parse_requirements(env_like, "env")
    ) == (["ibis-framework"], ["polars"])


def test_lock_problems_names_unpinned_and_unsatisfied_packages():
    pins = parse_lock("pandas==3.0.1\nPyYAML==6.0.4\n")
    problems = lock_problems(parse_requirements(PYPROJECT_LIKE, "pyproject"), pins)
    assert problems == [
        "ibis-framework: not pinned in requirements.lock",
        "pandas: locked 3.0.1 does not satisfy '<3,>=2.2'",
    ]


def test_parse_lock_rejects_ranges_and_duplicates():
    with pytest.raises(ValueError, match=r"line 2: 'numpy>=2' is not an exact"):
        parse_lock("pandas==2.3.3\nnumpy>=2\n")
    with pytest.raises(ValueError, match=r"line 3: 'Pandas' is pinned twice"):
        parse_lock("pandas==2.3.3\n\nPandas==2.3.3\n")


def test_parse_requirements_rejects_duplicates():
    with pytest.raises(ValueError, match="environment.yml: 'Lifetimes' is listed twice"):
        parse_requirements(["lifetimes==0.11.3", "Lifetimes==0.11.3"], "environment.yml")


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
            "/a/.venv/lib/python3.11/site-packages/pandas/x.py:9",
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
