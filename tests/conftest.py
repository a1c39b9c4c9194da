"""Shared fixtures (the bundled sample world, small simulated worlds, the sample's run) and
how the suite is shared between pytest-xdist workers (`make test` runs two)."""

from __future__ import annotations

from pathlib import Path

import matplotlib
import pytest

matplotlib.use("Agg")

REPO = Path(__file__).resolve().parents[1]

# -- parallel runs (`pytest -n 2 --dist loadgroup`, as `make test` runs the suite) --------------
# A worker runs whole groups. A group keeps together the tests that share an expensive
# session fixture (built once per worker that needs it) or a notebook's cells (nbval runs
# them in order): a test folder (its conftest fixtures), a top-level test file, a notebook,
# and the named groups below. Groups go out heaviest first (the order below), so that no long
# group is left alone at the end; the others follow in collection order.
# (The groups are read from the test ids by the scheduler below, not from `xdist_group`
# marks: pytest 9.2 builds a node id from its parts, so pytest-xdist 3.8 can no longer append
# a mark's group to it.)
SAMPLE_RUN = "sample run"  # `sample_report`: the sample's `imclab run` (about 100 s)
HEAVY_FIRST = (
    SAMPLE_RUN,
    "scenario autumn_big_world_tenth_budget",
    "tests/spark",  # one JVM and Spark session for all Spark tests
    "scenario no_holdout_no_optional_tables",
    "tests/report",
    "scenario no_orders",
    "tests/personas",
    "tests/mmm",
    "tests/review",
)


def worker_group(nodeid: str) -> str:
    """The worker group of a test, from its id (see above)."""
    path, _, name = nodeid.partition("::")
    if path == "tests/test_end_to_end.py":
        return SAMPLE_RUN
    if path == "tests/test_scenarios.py":  # one group per scenario run; the sample's own run
        scenario = name.partition("[")[2].removesuffix("]")  # and its next campaign together
        alone = scenario not in ("", "sample", "next_campaign")
        return f"scenario {scenario}" if alone else SAMPLE_RUN
    parts = path.split("/")
    return "/".join(parts[:2]) if parts[0] == "tests" and len(parts) > 2 else path


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Put the heavy groups first (a stable sort, after pytest has ordered the tests by their
    parametrized fixtures: each group keeps its order)."""
    rank = {name: i for i, name in enumerate(HEAVY_FIRST)}
    items.sort(key=lambda item: rank.get(worker_group(item.nodeid), len(rank)))


@pytest.hookimpl(optionalhook=True)  # a pytest-xdist hook: unknown when xdist is not loaded
def pytest_xdist_make_scheduler(config: pytest.Config, log):
    """``--dist loadgroup``: whole groups of :func:`worker_group` to a worker, in order."""
    if config.getvalue("dist") != "loadgroup":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class GroupScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return worker_group(nodeid)

    return GroupScheduling(config, log)


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
