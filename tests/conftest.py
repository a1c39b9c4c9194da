"""Shared fixtures: the bundled sample world and a small simulated world."""

from __future__ import annotations

from pathlib import Path

import matplotlib
import pytest

matplotlib.use("Agg")

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def repo_root() -> Path:
    """The repository root."""
    return REPO


@pytest.fixture(scope="session")
def sample_dir() -> Path:
    """The committed sample world (5,000 customers, seed 20250301)."""
    return REPO / "data" / "sample"


@pytest.fixture(scope="session")
def small_world(tmp_path_factory) -> Path:
    """A small simulated world (1,200 customers in 3 chunks, seed 7) with ground truth."""
    from imclab.simulate import simulate_world

    return simulate_world(
        tmp_path_factory.mktemp("small_world"), seed=7, n_customers=1200, chunk_size=500
    )


@pytest.fixture(scope="session")
def regenerated_sample(tmp_path_factory) -> Path:
    """`imclab simulate` with the sample's seed, size and faults, once per session: the folder
    it wrote (expected to hold data/sample byte for byte; the command's exit code is asserted
    here)."""
    from imclab.cli import main

    out = tmp_path_factory.mktemp("regenerated") / "sample"
    args = ["simulate", "--seed", "20250301", "--customers", "5000", "--faults", "--out", str(out)]
    assert main(args) == 0
    return out


@pytest.fixture(scope="session")
def seed99_world(tmp_path_factory):
    """An unseen simulated world: seed 99, 10,000 customers (with ground truth), shared by
    the persona and marketing-mix tests."""
    from imclab.simulate import simulate_world

    return simulate_world(tmp_path_factory.mktemp("seed99_world"), seed=99, n_customers=10_000)


@pytest.fixture(scope="session")
def sample_report(tmp_path_factory) -> Path:
    """`imclab run` of the sample plan on data/sample: the report folder (one run per session,
    shared by the end-to-end tests and the scenario matrix)."""
    from imclab.cli import main

    out = tmp_path_factory.mktemp("e2e") / "spring_launch"
    code = main(["run", str(REPO / "campaigns" / "spring_launch.yaml"), "--out", str(out)])
    assert code == 0
    return out


class EngineTables(dict):
    """Table name -> Ibis table of one DuckDB database; ``returned`` holds the row count of
    every result the database handed back (a whole event table must never come back)."""

    returned: list[int]


@pytest.fixture(scope="session")
def duckdb_tables():
    """Factory: ``duckdb_tables(touchpoints=frame, ...)`` puts pandas frames in a DuckDB
    database and returns them as Ibis tables (typed columns, no categoricals), the way a
    warehouse world hands them to the analysis functions."""
    import warnings

    import ibis

    from imclab.engine import to_ibis

    def make(**frames) -> EngineTables:
        con = ibis.duckdb.connect()
        with warnings.catch_warnings():  # ibis 12 calls a method duckdb 2.0 deprecates
            warnings.simplefilter("ignore", DeprecationWarning)
            tables = EngineTables(
                {n: con.create_table(n, to_ibis(f, n), temp=True) for n, f in frames.items()}
            )
        tables.returned = []
        execute = con.execute

        def spy(expr, *args, **kwargs):
            out = execute(expr, *args, **kwargs)
            tables.returned.append(len(out) if hasattr(out, "__len__") else 1)
            return out

        con.execute = spy
        return tables

    return make
